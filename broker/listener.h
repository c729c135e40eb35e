/*
 * The broker's listening pipe instances (docs/security.md, "Pipe").
 *
 * The broker creates every instance of its pipe itself with
 * CreateNamedPipeW, not with uv_pipe_bind, which gives each instance a NULL
 * security descriptor (the default one: Everyone may read, creator owner
 * full control) and accepts remote clients. Every instance has the
 * descriptor of pipe_sd.h and PIPE_REJECT_REMOTE_CLIENTS; the first one is
 * made with FILE_FLAG_FIRST_PIPE_INSTANCE and a count of the name's
 * instances, so a broker never joins a pipe somebody else already serves.
 *
 * A thread of its own accepts clients: SB__LISTEN_BACKLOG instances wait
 * in overlapped ConnectNamedPipe calls, and the thread waits for their
 * events. libuv cannot do this wait for us: its loop's completion port only
 * dispatches libuv's own requests, and uv_pipe_bind is the only way it
 * creates server instances. When a client connects, the thread first
 * creates and arms the replacement instance, so the name never lacks a
 * listening instance, and only then hands the connected one to the loop
 * thread, one at a time: it waits until the loop has taken it before it
 * looks at the next. Clients that connect meanwhile are held by the other
 * listening instances, and when all of them are taken, new clients see
 * ERROR_PIPE_BUSY and wait in WaitNamedPipe; so nothing queues up in the
 * broker's memory however fast clients connect.
 *
 * Every handle made here is registered as the broker's own (registry.h)
 * as soon as it exists, and disowned only after it is closed.
 */
#ifndef SB_BROKER_LISTENER_H
#define SB_BROKER_LISTENER_H

#include <stddef.h>
#include <uv.h>
#include <windows.h>

#include "settings.h"

/* Instances waiting for a client at any time, as libuv's default. */
#define SB__LISTEN_BACKLOG 4
/* Each instance's in and out buffers, from nonpaged pool. A reply larger
 * than this simply waits for the client to read; the refusal written
 * without libuv (sb__listener_refuse) always fits. */
#define SB__PIPE_BUFFER_BYTES 4096
/* How soon the accept thread tries again to create an instance that could
 * not be created. */
#define SB__LISTEN_RETRY_MS 1000

typedef struct sb__listener sb__listener;

/* Called on the loop thread with a connected instance, which the callee
 * then owns: it stays registered as the broker's own until the callee has
 * closed it and disowned it (or handed it to sb__listener_close_instance or
 * sb__listener_refuse). */
typedef void (*sb__accept_cb)(void *arg, HANDLE pipe);

/*
 * Creates the pipe `name` (UTF-8, \\.\pipe\...) for `clients` (resolved,
 * never AUTO) and starts accepting. Refuses, with SB_E_ACCESS_DENIED and an
 * error in the log, a name that already exists: on Windows
 * FILE_FLAG_FIRST_PIPE_INSTANCE fails then; Wine does not enforce that flag,
 * so the name's instance count is checked too (docs/wine.md). Other failures
 * are logged and returned as SB_E_IO or SB_E_NOMEM.
 */
int sb__listener_start(uv_loop_t *loop, const char *name, sb__clients clients, sb__accept_cb cb,
                       void *arg, sb__listener **out);

/* Stops accepting and closes every instance not handed over yet. The
 * memory goes once the loop has closed the listener's async handle. Loop
 * thread; l may be NULL. */
void sb__listener_stop(sb__listener *l);

/* The SDDL of the pipe's security descriptor, for the log. */
const char *sb__listener_sddl(const sb__listener *l);

/* Closes a connected instance that was handed over and never given to
 * libuv, then disowns it. */
void sb__listener_close_instance(HANDLE pipe);

/* Writes `frame` to a connected instance that was never given to libuv
 * and closes it: a refusal that costs no C runtime descriptor and no
 * memory. The write fits the instance's out buffer, so it completes at
 * once; if it did not, it is cancelled rather than waited for, so the loop
 * thread never blocks on a client. The client reads the frame, then the
 * end of the stream. Loop thread. */
void sb__listener_refuse(sb__listener *l, HANDLE pipe, const char *frame, size_t len);

#endif
