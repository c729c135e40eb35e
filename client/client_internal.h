/*
 * The inside of spawnclient: the connection object and the functions its
 * files share. Not installed; callers use spawnclient.h.
 *
 * Locking: c->lock (a critical section) guards every field below that
 * changes after connect. Functions named *_locked are called with it held;
 * they may leave it while they block on the pipe and take it back before
 * they return.
 */
#ifndef SB_CLIENT_INTERNAL_H
#define SB_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h> /* __MINGW_PRINTF_FORMAT */

#include <windows.h>

#include "sb_frame.h"
#include "spawnclient.h"

#ifndef SB_VERSION
#define SB_VERSION "0.0.0"
#endif

/* printf-style checking. mingw's ANSI stdio (which the build selects) follows
 * the C99 rules, which gcc calls gnu_printf there. */
#if defined(__MINGW_PRINTF_FORMAT)
#define SB__PRINTF(f, a) __attribute__((format(__MINGW_PRINTF_FORMAT, f, a)))
#elif defined(__GNUC__)
#define SB__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SB__PRINTF(f, a)
#endif

/* Bytes asked for per ReadFile: a whole reply usually fits, and a 32 MiB
 * list result still needs only a few hundred reads. */
#define SB__READ_CHUNK 65536

/* ------------------------------------------------------------------------ */
/* Error records (error.c)                                                  */

/* An sb_rpc_error whose strings live in the record itself. */
typedef struct sb__errrec {
  sb_rpc_error e; /* name/message point into the buffers; detail/path too or NULL */
  char name[96];
  char message[256];
  char detail[512];
  char path[160];
} sb__errrec;

/* Copies src into r, truncating long strings at a UTF-8 boundary. */
void sb__errrec_set(sb__errrec *r, const sb_rpc_error *src);
/* A local failure: name and message from the error table, detail formatted
 * from fmt (NULL for none). */
void sb__errrec_local(sb__errrec *r, int err, const char *fmt, ...)
    SB__PRINTF(3, 4);

/* The calling thread's last error, tagged with the connection it belongs to
 * (owner: the connection's serial, 0 for a failed connect). */
void sb__last_error_set(uint64_t owner, const sb_rpc_error *e);
void sb__last_error_local(uint64_t owner, int err, const char *fmt, ...)
    SB__PRINTF(3, 4);
/* Moves the thread's record from one owner to another (connect failures are
 * recorded against the connection, then handed to "no connection"). */
void sb__last_error_retag(uint64_t from, uint64_t to);

/* ------------------------------------------------------------------------ */
/* Deadlines                                                                */

typedef struct sb__deadline {
  bool infinite;
  ULONGLONG end; /* GetTickCount64() value */
} sb__deadline;

sb__deadline sb__deadline_in(uint32_t ms);
/* Milliseconds left (INFINITE for an infinite deadline, 0 once passed). */
DWORD sb__deadline_left(const sb__deadline *d);
/* ms + extra, saturating at SB_CLIENT_INFINITE. */
uint32_t sb__add_timeouts(uint32_t ms, uint32_t extra);

/* ------------------------------------------------------------------------ */
/* The connection                                                           */

/* One request waiting for its reply. Lives on the caller's stack. */
typedef struct sb__pending {
  struct sb__pending *next;
  uint64_t id;
  bool want_raw; /* keep a copy of the reply frame (call_raw) */
  bool spawn;    /* a spawn: it holds the connection's spawn slot */
  bool sent;     /* the whole request frame was written */
  bool done;
  bool late;     /* a spawn that timed out after it was sent: its reply,
                    whenever it comes, gives the spawn slot back */
  int err;         /* when done: 0 for a reply in `in`, else the failure */
  sb_incoming in;  /* the reply (a result or an error) when err == 0 */
  char *raw;       /* copy of the reply frame when want_raw, else NULL */
} sb__pending;

typedef struct sb__event {
  struct sb__event *next;
  sb_exit_info exit;
} sb__event;

struct sb_client {
  uint64_t serial; /* tags this connection's errors in the thread's record */
  HANDLE pipe;
  char pipe_name[512]; /* UTF-8 */
  uint32_t call_timeout_ms;

  CRITICAL_SECTION lock;
  CONDITION_VARIABLE cv; /* signalled whenever a reply, event or role changes */

  /* Reading: one thread at a time holds the reader role. The overlapped read
   * stays posted across calls: a reader whose own timeout passes leaves it
   * in flight for the next reader rather than cancelling it, so no byte is
   * ever lost to a cancellation race. */
  bool reading;
  bool read_posted;
  HANDLE wake; /* auto-reset: set when the reader must look at its
                  condition again without a frame (the spawn slot came
                  free) */
  OVERLAPPED rov;
  sb_frame_reader reader;
  char *rbuf; /* SB__READ_CHUNK bytes */

  /* Writing: one frame at a time, so frames never interleave. */
  bool writing;
  OVERLAPPED wov;

  /* The spawn slot: taken while a spawn is in flight on this connection.
   * A spawn whose caller stopped waiting is still in flight at the broker,
   * which would answer the next one Busy, so the slot then stays taken
   * until the late reply (late_spawn_id) arrives. */
  bool spawning;
  uint64_t late_spawn_id;
  uint64_t next_id;
  sb__pending *pending;
  sb__event *ev_head, *ev_tail;

  /* Once the connection is unusable: the code every call then fails with,
   * its description, and the frame of an id-null error reply if that was
   * the cause (so call_raw can show it). */
  int broken;
  sb__errrec broken_rec;
  char *broken_frame;

  sb_hello_result hello;
  char broker_version[65];
  HANDLE broker_process; /* push mode only: PROCESS_DUP_HANDLE on the broker */
  ULONG server_pid;      /* the pipe's server once sb__server_check passed, else 0 */
};

/* The current per-call reply timeout (spawnclient.c). */
uint32_t sb__call_timeout(sb_client *c);

/* Opens the pipe (pipe.c). name_utf8 is already the full \\...\pipe\x name. */
int sb__pipe_open(uint64_t owner, const char *name_utf8, const sb__deadline *dl, HANDLE *out);
/* The full pipe name for a user-given one (NULL, bare, or \\-prefixed). */
int sb__pipe_full_name(const char *name, char *out, size_t cap);

/* The engine (engine.c). */
int sb__engine_init(sb_client *c);
void sb__engine_free(sb_client *c);
/* A fresh request id. */
uint64_t sb__next_id(sb_client *c);
/* Sends frame (a request with p->id) and waits until its reply arrives, the
 * deadline passes or the connection fails. On 0 the reply is in p->in (a
 * result: the caller decodes it) or, for an error reply, the error's code is
 * returned with the thread's last error set; p->raw is set when asked for.
 * The caller frees p with sb__pending_free. Takes and releases the lock. */
int sb__roundtrip(sb_client *c, sb__pending *p, const char *frame, size_t len,
                  const sb__deadline *dl);
void sb__pending_init(sb__pending *p, uint64_t id);
void sb__pending_free(sb__pending *p);
/* Waits for the next queued event. */
int sb__next_event(sb_client *c, const sb__deadline *dl, sb_exit_info *out);
/* Waits until ready(c, arg) holds, reading the pipe when no other thread
 * does. Returns 0, SB_E_TIMEOUT, or the connection's failure. Lock held. */
typedef bool (*sb__ready_fn)(const sb_client *c, const void *arg);
int sb__pump_locked(sb_client *c, const sb__deadline *dl, sb__ready_fn ready, const void *arg);
/* Tells every waiter, the reader included, that some condition changed.
 * Lock held. */
void sb__wake_locked(sb_client *c);
/* Makes the connection unusable with err (first cause wins) and wakes
 * every waiter. Lock held. */
void sb__break_locked(sb_client *c, int err, const char *fmt, ...)
    SB__PRINTF(3, 4);

/* Encodes req; when the encoder refuses it (as the broker would), records
 * the refusal with its path and detail as the thread's last error (calls.c). */
int sb__encode(sb_client *c, const sb_request *req, sb_buf *out);
/* Sends a request built from req (whose id is set here) and decodes its
 * result as req->method's (calls.c). */
int sb__request(sb_client *c, sb_request *req, const sb__deadline *dl, sb_result *res,
                sb__pending *p);

/* The pipe's server (server_check.c). */
/* Converts a SID in text form (S-1-5-18) into out (cap bytes); 0 or
 * SB_E_INVALID_ARGUMENT. */
int sb__server_sid_parse(const char *text, void *out, size_t cap);
/* Checks the user the pipe's server process runs as: pinned (a SID from
 * sb__server_sid_parse) when not NULL, else LocalSystem or this process's
 * own user. 0 and c->server_pid set, or SB_E_ACCESS_DENIED / SB_E_IO with
 * the thread's last error saying why. */
int sb__server_check(sb_client *c, void *pinned);

/* Push mode (spawn_push.c). */
int sb__push_prepare(sb_client *c); /* at connect: verify and open the broker */
int sb__push_handles(sb_client *c, const sb_spawn_params *p, int64_t *remote);
/* Closes remote[0..n) in the broker again. */
void sb__push_close(sb_client *c, const int64_t *remote, size_t n);
/* Whether the broker's error reply (its JSON-RPC code and table code) means
 * it did not process the request, so the pushed handles are still the
 * client's to close. */
bool sb__push_left_with_client(int rpc_code, int err);

/* Small helpers (util.c). */
wchar_t *sb__utf8_to_wide(const char *s);
char *sb__strdup(const char *s);

#endif
