/*
 * Push transfer: the client duplicates its handles into the broker and sends
 * the values they have there (docs/protocol.md, "Handles"). Used only when
 * the broker says so in hello, i.e. when it cannot open the client itself.
 *
 * Ownership of a pushed copy (the contract docs/protocol.md must state).
 * The client creates it, so the client owns it until the broker starts to
 * process the spawn request, i.e. once the request passed validation and
 * was not refused on arrival. From then on the broker owns every pushed
 * value of the request and closes it on every path, success or failure
 * (moving it into the helper is one way of closing it), except a value it
 * refuses as its own (HandleOwnedByBroker) or as another request's
 * (HandleClaimed), which it leaves alone because it is not the client's.
 * So the client:
 *   - closes every copy if the request never reached the broker in full;
 *   - closes every copy after an error the broker gives without processing
 *     the request (sb__push_left_with_client);
 *   - leaves them after any other error, a timeout, or a lost connection:
 *     the broker has closed them or will, and closing a value again could
 *     close whatever the broker has opened under the same value since. A
 *     copy leaked into the broker is the lesser harm.
 */
#include <stdio.h>
#include <string.h>

#include "client_internal.h"

int sb__push_prepare(sb_client *c) {
  ULONG server = 0, again = 0;
  DWORD avail = 0;

  /* Handles are about to be given to process hello.pid: make sure that is
   * the process at the other end of this pipe, not whatever a squatter or a
   * proxy claims. */
  if (!GetNamedPipeServerProcessId(c->pipe, &server)) {
    sb__last_error_local(c->serial, SB_E_IO,
                         "cannot ask the pipe for its server process (Windows error %lu)",
                         GetLastError());
    return SB_E_IO;
  }
  if (server != c->hello.pid) {
    sb__last_error_local(c->serial, SB_E_BAD_REPLY,
                         "hello names process %lu, but the pipe is served by process %lu; "
                         "no handle is pushed into it",
                         (unsigned long)c->hello.pid, (unsigned long)server);
    return SB_E_BAD_REPLY;
  }
  c->broker_process = OpenProcess(PROCESS_DUP_HANDLE, FALSE, server);
  if (c->broker_process == NULL) {
    sb__last_error_local(c->serial, SB_E_ACCESS_DENIED,
                         "cannot open the broker (process %lu) to push handles into it "
                         "(Windows error %lu)",
                         (unsigned long)server, GetLastError());
    return SB_E_ACCESS_DENIED;
  }
  /* A pid names a process only while it lives. The pipe still being
   * connected after the open proves the server process is still alive, so
   * the process just opened is that server and not a later one that reused
   * its pid. */
  if (!PeekNamedPipe(c->pipe, NULL, 0, NULL, &avail, NULL) ||
      !GetNamedPipeServerProcessId(c->pipe, &again) || again != server) {
    CloseHandle(c->broker_process);
    c->broker_process = NULL;
    sb__last_error_local(c->serial, SB_E_CLOSED,
                         "the broker went away while the connection was set up");
    return SB_E_CLOSED;
  }
  return 0;
}

void sb__push_close(sb_client *c, const int64_t *remote, size_t n) {
  for (size_t i = 0; i < n; i++) {
    HANDLE back = NULL;
    /*
     * Closing a handle inside another process takes DuplicateHandle with
     * DUPLICATE_CLOSE_SOURCE. Its documented "close only" form passes NULL
     * as the target process, but Wine 8 fails that call with error 6 and
     * leaves the handle open (docs/wine.md), so the copy is moved back into
     * this process instead and closed here, which works the same on Windows
     * and Wine. It stays best effort: Windows closes the source even when
     * DuplicateHandle fails, so a failure is not retried (a retry could
     * close whatever the broker opened under that value since), and a copy
     * that cannot be closed stays in the broker until it exits.
     */
    if (DuplicateHandle(c->broker_process, (HANDLE)(intptr_t)remote[i], GetCurrentProcess(),
                        &back, 0, FALSE, DUPLICATE_CLOSE_SOURCE | DUPLICATE_SAME_ACCESS))
      CloseHandle(back);
  }
}

int sb__push_handles(sb_client *c, const sb_spawn_params *p, int64_t *remote) {
  for (size_t i = 0; i < p->nhandles; i++) {
    HANDLE out = NULL;
    /* Never inheritable in the broker (no process that runs code may hold
     * an inheritable copy), and never more access than the caller has. */
    if (!DuplicateHandle(GetCurrentProcess(), (HANDLE)(intptr_t)p->handles[i].value,
                         c->broker_process, &out, 0, FALSE, DUPLICATE_SAME_ACCESS)) {
      DWORD e = GetLastError();
      sb_rpc_error err;
      char detail[160], path[64];
      sb__push_close(c, remote, i);
      memset(&err, 0, sizeof err);
      err.err = e == ERROR_INVALID_HANDLE ? SB_E_HANDLE_NOT_FOUND
                : e == ERROR_ACCESS_DENIED ? SB_E_ACCESS_DENIED
                                           : SB_E_IO;
      err.rpc_code = sb_err_rpc_code(err.err);
      err.name = sb_err_name(err.err);
      err.message = sb_err_message(err.err);
      snprintf(detail, sizeof detail,
               "cannot push handle %lld into the broker (Windows error %lu)",
               (long long)p->handles[i].value, e);
      snprintf(path, sizeof path, "params.handles[%zu].value", i);
      err.detail = detail;
      err.path = path;
      sb__last_error_set(c->serial, &err);
      return err.err;
    }
    remote[i] = (int64_t)(intptr_t)out;
  }
  return 0;
}

bool sb__push_left_with_client(int rpc_code, int err) {
  return sb_err_push_stays_with_client(rpc_code, err);
}
