/*
 * spawnclient: the C client library of spawnbroker (Windows only).
 *
 * A blocking API over one named-pipe connection to the broker. Every call
 * runs on the caller's thread and blocks it until the reply arrives or the
 * call's timeout passes; the library starts no threads and imposes no event
 * loop. The wire contract is docs/protocol.md.
 *
 *   sb_client *c;
 *   if (sb_client_connect(NULL, 5000, &c) != 0) { ... sb_client_last_error(NULL) ... }
 *   sb_spawn_params p;
 *   sb_spawn_params_init(&p);
 *   p.program = "C:\\tools\\worker.exe";
 *   p.handles[0] = (sb_handle_spec){"log", (int64_t)(intptr_t)log_handle, -1};
 *   p.nhandles = 1;
 *   p.std_names[SB_STDOUT] = "log";
 *   sb_spawn_result r;
 *   sb_exit_info e;
 *   if (sb_client_spawn(c, &p, &r) == 0 && sb_client_wait(c, r.pid, SB_CLIENT_INFINITE, &e) == 0)
 *     printf("exit code %u\n", e.exit_code);
 *   sb_client_close(c);
 *
 * Errors. Every function that can fail returns 0 or a negative code from
 * sb_errors.h. When the broker answered with an error, the code is that
 * error's (SB_E_EXECUTABLE_NOT_FOUND, SB_E_NO_SUCH_CHILD, ...; SB_E_INTERNAL
 * for an error name this library does not know). Local failures have their
 * own codes: SB_E_TIMEOUT (no reply in time), SB_E_CLOSED (no broker, or the
 * connection ended), SB_E_IO, SB_E_BAD_REPLY, SB_E_NOMEM,
 * SB_E_INVALID_ARGUMENT, and the request-validation codes when the library
 * refused to send a request the broker would refuse. sb_client_last_error()
 * describes the failure in words either way; a request refused locally is
 * described as the broker would have described it, with the path of the
 * bad field (e.g. "params.env[1]") and the detail.
 *
 * Threads. One sb_client may be used by several threads at once: requests
 * from different threads are pipelined on the one connection and each reply
 * is matched to its request by id, whatever order the broker answers in.
 * Spawns are serialised per connection (the broker runs one spawn per
 * connection at a time and answers a second one Busy, so the library makes
 * the second caller wait instead). A spawn that timed out after it was sent
 * is still running at the broker: the next spawn on that connection waits
 * until its late reply has arrived (and may itself time out waiting).
 * sb_client_close() must be the last call on a connection and must not
 * overlap any other call on it.
 * sb_client_last_error() is kept per thread, like GetLastError().
 *
 * Timeouts are in milliseconds; SB_CLIENT_INFINITE waits forever, 0 does not
 * wait at all.
 *
 * Strings are UTF-8 everywhere.
 */
#ifndef SPAWNCLIENT_H
#define SPAWNCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "sb_proto.h"

/* The pipe a broker listens on unless configured otherwise. */
#define SB_CLIENT_DEFAULT_PIPE "\\\\.\\pipe\\spawnbroker"
/* A timeout that never passes. */
#define SB_CLIENT_INFINITE UINT32_MAX

typedef struct sb_client sb_client;

typedef struct sb_client_options {
  /* hello.client: a free-form name for the broker's logs, at most 64 bytes.
   * Default "spawnclient/<version>"; NULL sends none. */
  const char *client_name;
  /* How handles reach the broker. SB_TRANSFER_AUTO (the default) lets the
   * broker choose; PULL or PUSH asks for that mode, and the broker refuses
   * the connection (SB_E_TRANSFER_UNAVAILABLE) when it cannot use it. */
  sb_transfer transfer;
  /* How long each call waits for its reply (sb_client_wait adds its own
   * timeout to this). Default SB_CLIENT_INFINITE. */
  uint32_t call_timeout_ms;
  /* The user the broker must run as, as a SID in text form: "S-1-5-18" for
   * a broker running as LocalSystem, or a service account's SID. Default
   * NULL.
   *
   * The library checks the user of the pipe's server process (its token;
   * when the token cannot be read, as a non-administrator cannot read a
   * LocalSystem service's, the pipe's owner, which the broker makes its own
   * user) before it sends the server anything that matters:
   *   - with server_sid set: before it sends anything at all, in any
   *     transfer mode; the server must run as exactly that user;
   *   - without it: before it sends anything when the transfer asked for is
   *     push, and before it pushes any handle when the broker offers push;
   *     the server must run as LocalSystem or as this process's own user.
   *     In pull mode the broker takes handles itself, and only a process
   *     with the right to open this one could, so nothing is checked.
   * In push mode the library also checks that hello.pid is the pipe's
   * server process. A server that fails a check gets nothing more and the
   * connect fails with SB_E_ACCESS_DENIED (SB_E_BAD_REPLY for a wrong
   * hello.pid). */
  const char *server_sid;
} sb_client_options;

/* Fills *o with the defaults. */
void sb_client_options_init(sb_client_options *o);

/*
 * Connects to the broker and greets it with hello.
 *
 * pipe_name: NULL for SB_CLIENT_DEFAULT_PIPE; a name starting with "\\" is
 * used as it is; any other name is placed under \\.\pipe\.
 * timeout_ms bounds the whole connect: waiting for a free pipe instance
 * (ERROR_PIPE_BUSY) and the hello exchange.
 *
 * Returns 0 and *out, or:
 *   SB_E_CLOSED   no broker listens on that pipe (returned at once);
 *   SB_E_TIMEOUT  every pipe instance stayed busy, or hello was not answered;
 *   SB_E_ACCESS_DENIED  the pipe refused this user; the pipe's server runs
 *                 as a user this client does not trust (server_sid above);
 *                 or, in push mode, the broker process cannot be opened for
 *                 handle duplication;
 *   SB_E_INVALID_ARGUMENT  o->server_sid is not a SID (nothing was opened);
 *   SB_E_BAD_REPLY  a malformed reply, or a push-mode hello whose pid is not
 *                 the pipe server's process;
 *   the broker's error for a refused hello (SB_E_UNSUPPORTED_PROTOCOL,
 *   SB_E_TRANSFER_UNAVAILABLE, ...), or for the connection itself
 *   (SB_E_SHUTTING_DOWN while it stops, SB_E_LIMIT_REACHED at
 *   limits.connections), even when it closed the pipe before the hello
 *   was written.
 * On failure *out is NULL and sb_client_last_error(NULL) describes why.
 */
int sb_client_connect(const char *pipe_name, uint32_t timeout_ms, sb_client **out);
/* The same with options; o may be NULL for the defaults. */
int sb_client_connect_ex(const char *pipe_name, uint32_t timeout_ms,
                         const sb_client_options *o, sb_client **out);

/* Closes the connection and frees everything. c may be NULL. Children with
 * the "connection" lifetime die with the connection; queued events are
 * dropped. */
void sb_client_close(sb_client *c);

/* The broker's hello result: protocol, broker_version, the broker's pid, the
 * transfer mode of this connection, and its limits. Valid until close. */
const sb_hello_result *sb_client_hello_result(const sb_client *c);

/* The full pipe name connected to, in UTF-8. Valid until close. */
const char *sb_client_pipe_name(const sb_client *c);

/* Changes the per-call reply timeout (sb_client_options.call_timeout_ms). */
void sb_client_set_call_timeout(sb_client *c, uint32_t call_timeout_ms);

/*
 * Spawns a child.
 *
 * p->handles[i].value are handle values of the CALLER's own handle table,
 * e.g. (int64_t)(intptr_t)h. In pull mode the broker duplicates them from
 * the caller. In push mode (only when the hello result says push) the
 * library first duplicates each one into the broker process and sends the
 * broker's values. Once the broker processes the request those copies are
 * the broker's, which closes them whatever the outcome; if the request
 * never reached the broker, or the broker refused it without processing it
 * (a request-validation error, HelloRequired, Busy or ShuttingDown), the
 * library closes them in the broker again. The caller's own handles are
 * never closed or changed; the caller may close them as soon as this
 * returns.
 *
 * On success out->pid is the child and out->handles[i] gives each handle's
 * value in the child, in request order; out->handles[i].name points to the
 * name string of the matching entry of p, so it lives as long as p does.
 *
 * The call timeout bounds the whole call, the wait for the connection's
 * spawn slot included. After SB_E_TIMEOUT the broker may still create the
 * child; its pid then only shows in sb_client_list (a "connection"
 * lifetime child still dies with the connection).
 */
int sb_client_spawn(sb_client *c, const sb_spawn_params *p, sb_spawn_result *out);

/* Waits until child pid exits. timeout_ms is the broker-side wait
 * (SB_CLIENT_INFINITE: forever, 0: only look, at most 2147483647);
 * SB_E_TIMEOUT when it passes. */
int sb_client_wait(sb_client *c, uint32_t pid, uint32_t timeout_ms, sb_exit_info *out);

/* Terminates child pid with exit_code. out may be NULL; out->killed is false
 * when the child had already exited. */
int sb_client_kill(sb_client *c, uint32_t pid, uint32_t exit_code, sb_kill_result *out);

/* The children this client spawned. Free *out with sb_client_list_free. */
int sb_client_list(sb_client *c, sb_list_result *out);
void sb_client_list_free(sb_list_result *l);

/* The broker's counters. */
int sb_client_stats(sb_client *c, sb_stats_result *out);

/* A round trip that does nothing. */
int sb_client_ping(sb_client *c);

/*
 * Sends method with params_json (NULL: no params) as they are, without the
 * library's validation, for debugging and for methods newer than this
 * library. params_json must be one JSON value; raw line breaks outside
 * strings are sent as spaces so that the request stays one frame.
 *
 * *reply_json receives the whole reply frame (a result or an error) as the
 * broker sent it, NUL-terminated; free it with sb_client_free. Returns 0 for
 * a result, the error's code for an error reply (*reply_json is set then
 * too), or a local failure code with *reply_json NULL. A params_json the
 * broker cannot parse makes it answer ParseError and close the connection.
 */
int sb_client_call_raw(sb_client *c, const char *method, const char *params_json,
                       char **reply_json);

/* Frees memory the library handed out (sb_client_call_raw's reply). */
void sb_client_free(void *p);

/*
 * The next event of this connection: today only the "exit" of a child
 * spawned with notify_exit. Events that arrive while other calls wait for
 * their replies are queued, never lost, and come out in arrival order.
 * Queued events stay until fetched or until close (a few dozen bytes each;
 * only children spawned with notify_exit send one, once).
 * Returns 0 and *out, SB_E_TIMEOUT when none arrived within timeout_ms (0
 * only looks at what has arrived), or, once the connection has ended and
 * the queue is empty, the error that ended it (SB_E_CLOSED when the broker
 * closed it).
 */
int sb_client_next_event(sb_client *c, uint32_t timeout_ms, sb_exit_info *out);

/*
 * Why the calling thread's most recent failed call on c failed: the broker's
 * error reply (name, message, and detail and path when it sent them), the
 * same for a request the library refused to send because the broker would
 * refuse it, or a description of a local failure (name and message from the
 * error table, detail in words, e.g. the Windows error). c == NULL gives the calling
 * thread's last failed sb_client_connect. NULL when that thread has no
 * failure on c. Successful calls leave it unchanged. The strings are copies
 * (long ones truncated) owned by the thread and stay valid until that
 * thread's next failing call on any connection.
 */
const sb_rpc_error *sb_client_last_error(const sb_client *c);

#ifdef __cplusplus
}
#endif

#endif
