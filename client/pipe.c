/*
 * Opening the broker's named pipe as a client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

int sb__pipe_full_name(const char *name, char *out, size_t cap) {
  int n;
  if (name == NULL) name = SB_CLIENT_DEFAULT_PIPE;
  if (name[0] == '\0') return SB_E_INVALID_ARGUMENT;
  if (strncmp(name, "\\\\", 2) == 0)
    n = snprintf(out, cap, "%s", name);
  else
    n = snprintf(out, cap, "\\\\.\\pipe\\%s", name);
  return n < 0 || (size_t)n >= cap ? SB_E_INVALID_ARGUMENT : 0;
}

int sb__pipe_open(uint64_t owner, const char *name_utf8, const sb__deadline *dl, HANDLE *out) {
  wchar_t *name = sb__utf8_to_wide(name_utf8);
  int rc = 0;

  *out = INVALID_HANDLE_VALUE;
  if (name == NULL) {
    sb__last_error_local(owner, SB_E_INVALID_ARGUMENT, "the pipe name is not valid UTF-8");
    return SB_E_INVALID_ARGUMENT;
  }
  for (;;) {
    DWORD e, left;
    /*
     * GENERIC_READ | FILE_WRITE_DATA rather than GENERIC_WRITE: on a pipe
     * FILE_APPEND_DATA is the same bit as FILE_CREATE_PIPE_INSTANCE, which a
     * hardened broker DACL rightly denies to clients; asking for
     * GENERIC_WRITE (which includes it) would then fail with access denied.
     * The SQOS flags state the impersonation level explicitly: the broker
     * must impersonate the client to act with its identity, and
     * SECURITY_IMPERSONATION is exactly that much (not delegation).
     * FILE_FLAG_OVERLAPPED lets every read and write have a timeout.
     */
    HANDLE h = CreateFileW(name, GENERIC_READ | FILE_WRITE_DATA, 0, NULL, OPEN_EXISTING,
                           FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IMPERSONATION,
                           NULL);
    if (h != INVALID_HANDLE_VALUE) {
      *out = h;
      break;
    }
    e = GetLastError();
    if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND || e == ERROR_BAD_PATHNAME) {
      rc = SB_E_CLOSED;
      sb__last_error_local(owner, rc, "no broker is listening on %s", name_utf8);
      break;
    }
    if (e == ERROR_ACCESS_DENIED) {
      rc = SB_E_ACCESS_DENIED;
      sb__last_error_local(owner, rc, "the pipe %s refused this user", name_utf8);
      break;
    }
    if (e != ERROR_PIPE_BUSY) {
      rc = SB_E_IO;
      sb__last_error_local(owner, rc, "cannot open %s (Windows error %lu)", name_utf8, e);
      break;
    }
    /* Every instance is connected to some client right now. WaitNamedPipe
     * returns when one is free; another client may take it first, so the
     * loop tries again. Its timeout 0 would mean "the pipe's default", so a
     * finite wait is at least 1 ms. */
    left = sb__deadline_left(dl);
    if (left == 0) {
      rc = SB_E_TIMEOUT;
      sb__last_error_local(owner, rc, "every instance of %s stayed busy", name_utf8);
      break;
    }
    if (!WaitNamedPipeW(name, left == INFINITE ? NMPWAIT_WAIT_FOREVER : left)) {
      e = GetLastError();
      if (e == ERROR_FILE_NOT_FOUND) {
        rc = SB_E_CLOSED;
        sb__last_error_local(owner, rc, "no broker is listening on %s", name_utf8);
        break;
      }
      /* ERROR_SEM_TIMEOUT: the deadline check above ends the loop. Any
       * other failure is retried after a pause rather than in a busy loop. */
      if (e != ERROR_SEM_TIMEOUT) Sleep(10);
    }
  }
  free(name);
  return rc;
}
