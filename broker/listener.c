#include "listener.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pipe_sd.h"
#include "pipe_sddl.h"
#include "registry.h"
#include "sb_errors.h"
#include "utf.h"

typedef struct sb__slot {
  HANDLE pipe;         /* INVALID_HANDLE_VALUE while the slot is empty */
  OVERLAPPED ov;       /* its ConnectNamedPipe; ov.hEvent lives as long as the listener */
  bool connected_now;  /* ConnectNamedPipe said ERROR_PIPE_CONNECTED */
} sb__slot;

struct sb__listener {
  wchar_t *name;
  PSECURITY_DESCRIPTOR sd;
  SECURITY_ATTRIBUTES sa;
  char sddl[SB__PIPE_SDDL_MAX];
  sb__slot slots[SB__LISTEN_BACKLOG];
  HANDLE stop;     /* manual reset: set once, by sb__listener_stop */
  HANDLE taken;    /* auto reset: the loop took the handed-over instance */
  HANDLE refusal;  /* manual reset: the event of sb__listener_refuse's write */
  HANDLE thread;
  SRWLOCK lock;
  HANDLE handoff;  /* a connected instance the loop has not taken yet, or NULL */
  uv_async_t async;
  bool async_ready;
  sb__accept_cb cb;
  void *arg;
};

/* Closes a handle of the broker's own and only then disowns it
 * (registry.h says why in that order). */
static void close_own(HANDLE h) {
  if (h == NULL || h == INVALID_HANDLE_VALUE) return;
  CloseHandle(h);
  sb__registry_disown(h);
}

static HANDLE own_event(BOOL manual) {
  HANDLE e = CreateEventW(NULL, manual, FALSE, NULL);
  sb__registry_own(e);
  return e;
}

static HANDLE create_instance(sb__listener *l, bool first) {
  DWORD open = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED;
  HANDLE h;
  if (first) open |= FILE_FLAG_FIRST_PIPE_INSTANCE;
  /* Byte mode: the protocol is newline-framed, so message boundaries would
   * add nothing. Unlimited instances: limits.connections is the broker's
   * own, logged and counted; the pipe's maximum would only make clients
   * wait in WaitNamedPipe without a word. */
  h = CreateNamedPipeW(l->name, open,
                       PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                       PIPE_UNLIMITED_INSTANCES, SB__PIPE_BUFFER_BYTES, SB__PIPE_BUFFER_BYTES, 0,
                       &l->sa);
  if (h != INVALID_HANDLE_VALUE) sb__registry_own(h);
  return h;
}

/* Starts waiting for a client on a slot that holds an instance. */
static int arm(sb__slot *s) {
  for (int tries = 0; tries < 2; tries++) {
    HANDLE ev = s->ov.hEvent;
    DWORD err;
    memset(&s->ov, 0, sizeof s->ov);
    s->ov.hEvent = ev;
    ResetEvent(ev);
    s->connected_now = false;
    if (ConnectNamedPipe(s->pipe, &s->ov)) {
      /* Overlapped calls report completion through the event; this is
       * only defensive. */
      s->connected_now = true;
      SetEvent(ev);
      return 0;
    }
    err = GetLastError();
    if (err == ERROR_IO_PENDING) return 0;
    if (err == ERROR_PIPE_CONNECTED) {
      /* A client connected between CreateNamedPipe or the last disconnect
       * and this call; the event is not set in that case (measured under
       * Wine, documented for Windows), so set it for the accept loop. */
      s->connected_now = true;
      SetEvent(ev);
      return 0;
    }
    if (err != ERROR_NO_DATA) return SB_E_IO;
    /* A client connected and closed again before the call: reset the
     * instance and listen once more. */
    DisconnectNamedPipe(s->pipe);
  }
  return SB_E_IO;
}

/* Gives a slot a fresh, armed instance; an empty slot on failure. */
static void refill(sb__listener *l, sb__slot *s) {
  s->pipe = create_instance(l, false);
  if (s->pipe == INVALID_HANDLE_VALUE) {
    sb__log(SB_LOG_WARN, "cannot create a pipe instance (Windows error %lu); trying again in %u ms",
            GetLastError(), (unsigned)SB__LISTEN_RETRY_MS);
    return;
  }
  if (arm(s) != 0) {
    sb__log(SB_LOG_WARN, "cannot listen on a new pipe instance (Windows error %lu)",
            GetLastError());
    close_own(s->pipe);
    s->pipe = INVALID_HANDLE_VALUE;
  }
}

/* Ends a slot's pending connect and closes its instance. The OVERLAPPED
 * must outlive the call it belongs to, so the cancellation is waited for
 * (CancelIoEx works on a pending ConnectNamedPipe under Wine too). */
static void empty_slot(sb__slot *s) {
  DWORD n;
  if (s->pipe == INVALID_HANDLE_VALUE) return;
  CancelIoEx(s->pipe, &s->ov);
  GetOverlappedResult(s->pipe, &s->ov, &n, TRUE);
  close_own(s->pipe);
  s->pipe = INVALID_HANDLE_VALUE;
}

/* Hands a connected instance to the loop and waits until it took it (or
 * the listener stops, which then closes it). */
static void hand_over(sb__listener *l, HANDLE pipe) {
  HANDLE waits[2];
  AcquireSRWLockExclusive(&l->lock);
  l->handoff = pipe;
  ReleaseSRWLockExclusive(&l->lock);
  uv_async_send(&l->async);
  waits[0] = l->stop;
  waits[1] = l->taken;
  WaitForMultipleObjects(2, waits, FALSE, INFINITE);
}

static void on_slot_signalled(sb__listener *l, sb__slot *s) {
  DWORD n;
  HANDLE connected;
  if (!s->connected_now && !GetOverlappedResult(s->pipe, &s->ov, &n, FALSE)) {
    /* The client went away before the connection was complete, or the
     * instance broke: reuse it if it can listen again, else replace it. */
    DisconnectNamedPipe(s->pipe);
    if (arm(s) != 0) {
      close_own(s->pipe);
      refill(l, s);
    }
    return;
  }
  connected = s->pipe;
  /* The replacement exists and listens before the connected instance
   * leaves this thread: the name is never free while the broker runs. */
  refill(l, s);
  hand_over(l, connected);
}

static DWORD WINAPI accept_thread(void *arg) {
  sb__listener *l = arg;
  size_t first = 0;
  for (;;) {
    HANDLE waits[1 + SB__LISTEN_BACKLOG];
    sb__slot *which[1 + SB__LISTEN_BACKLOG];
    DWORD n = 0, r;
    bool missing = false;
    waits[n++] = l->stop;
    /* WaitForMultipleObjects reports the first signalled handle in the
     * array, so the slots take turns at the front: under a flood of
     * connects, a client in the last slot is not passed over for ever. */
    for (size_t k = 0; k < SB__LISTEN_BACKLOG; k++) {
      sb__slot *s = &l->slots[(first + k) % SB__LISTEN_BACKLOG];
      if (s->pipe == INVALID_HANDLE_VALUE) {
        missing = true;
        continue;
      }
      which[n] = s;
      waits[n++] = s->ov.hEvent;
    }
    r = WaitForMultipleObjects(n, waits, FALSE, missing ? SB__LISTEN_RETRY_MS : INFINITE);
    if (r == WAIT_OBJECT_0) break;
    if (r > WAIT_OBJECT_0 && r < WAIT_OBJECT_0 + n) {
      first = (size_t)(which[r - WAIT_OBJECT_0] - l->slots) + 1;
      on_slot_signalled(l, which[r - WAIT_OBJECT_0]);
    } else if (r == WAIT_TIMEOUT) {
      for (size_t i = 0; i < SB__LISTEN_BACKLOG; i++)
        if (l->slots[i].pipe == INVALID_HANDLE_VALUE) refill(l, &l->slots[i]);
    } else {
      /* Cannot happen with valid handles; never spin on it. */
      sb__log(SB_LOG_ERROR, "the accept thread cannot wait (Windows error %lu)", GetLastError());
      if (WaitForSingleObject(l->stop, SB__LISTEN_RETRY_MS) == WAIT_OBJECT_0) break;
    }
  }
  for (size_t i = 0; i < SB__LISTEN_BACKLOG; i++) empty_slot(&l->slots[i]);
  return 0;
}

static void on_async(uv_async_t *a) {
  sb__listener *l = a->data;
  HANDLE pipe;
  AcquireSRWLockExclusive(&l->lock);
  pipe = l->handoff;
  l->handoff = NULL;
  ReleaseSRWLockExclusive(&l->lock);
  if (pipe == NULL) return;
  SetEvent(l->taken);
  l->cb(l->arg, pipe);
}

static void listener_free(sb__listener *l) {
  for (size_t i = 0; i < SB__LISTEN_BACKLOG; i++) close_own(l->slots[i].ov.hEvent);
  close_own(l->stop);
  close_own(l->taken);
  close_own(l->refusal);
  close_own(l->thread);
  if (l->sd != NULL) LocalFree(l->sd);
  free(l->name);
  free(l);
}

static void on_async_closed(uv_handle_t *h) { listener_free(h->data); }

/* The name's instances right now, ours included; 0 if unknown. */
static DWORD instance_count(HANDLE pipe) {
  DWORD state = 0, count = 0;
  if (!GetNamedPipeHandleStateW(pipe, &state, &count, NULL, NULL, NULL, 0)) return 0;
  return count;
}

/* Creates the first instance, and refuses a name somebody else serves. */
static int create_first(sb__listener *l, const char *name) {
  sb__slot *s = &l->slots[0];
  DWORD count;
  s->pipe = create_instance(l, true);
  if (s->pipe == INVALID_HANDLE_VALUE) {
    DWORD e = GetLastError();
    /* ERROR_ACCESS_DENIED is Windows' answer for FILE_FLAG_FIRST_PIPE_INSTANCE
     * on an existing name; Wine says ERROR_PIPE_BUSY when the existing pipe
     * has no instance left to spare. */
    if (e == ERROR_ACCESS_DENIED || e == ERROR_PIPE_BUSY) {
      sb__log(SB_LOG_ERROR,
              "the pipe %s already exists: another broker or another program serves it "
              "(Windows error %lu); refusing to start",
              name, e);
      return SB_E_ACCESS_DENIED;
    }
    sb__log(SB_LOG_ERROR, "cannot create the pipe %s (Windows error %lu)", name, e);
    return SB_E_IO;
  }
  /* Wine 8 does not enforce FILE_FLAG_FIRST_PIPE_INSTANCE (docs/wine.md):
   * the call above succeeds next to somebody else's instances. Both Windows
   * and Wine count every instance of the name, so a first instance that is
   * not alone joined an existing pipe. */
  count = instance_count(s->pipe);
  if (count != 1) {
    sb__log(SB_LOG_ERROR,
            "the pipe %s already exists: another broker or another program serves it "
            "(%lu instances besides this one's); refusing to start",
            name, count > 0 ? (unsigned long)(count - 1) : 0UL);
    close_own(s->pipe);
    s->pipe = INVALID_HANDLE_VALUE;
    return SB_E_ACCESS_DENIED;
  }
  return 0;
}

int sb__listener_start(uv_loop_t *loop, const char *name, sb__clients clients, sb__accept_cb cb,
                       void *arg, sb__listener **out) {
  sb__listener *l = calloc(1, sizeof *l);
  int rc;

  *out = NULL;
  if (l == NULL) return SB_E_NOMEM;
  InitializeSRWLock(&l->lock);
  l->cb = cb;
  l->arg = arg;
  for (size_t i = 0; i < SB__LISTEN_BACKLOG; i++) l->slots[i].pipe = INVALID_HANDLE_VALUE;
  rc = sb__utf8_to_wide(name, &l->name);
  if (rc != 0) {
    sb__log(SB_LOG_ERROR, "the pipe name %s is not valid UTF-8", name);
    goto fail;
  }
  rc = sb__pipe_sd_create(clients, &l->sd, l->sddl, sizeof l->sddl);
  if (rc != 0) goto fail;
  l->sa.nLength = sizeof l->sa;
  l->sa.lpSecurityDescriptor = l->sd;
  l->sa.bInheritHandle = FALSE;
  l->stop = own_event(TRUE);
  l->taken = own_event(FALSE);
  l->refusal = own_event(TRUE);
  rc = l->stop != NULL && l->taken != NULL && l->refusal != NULL ? 0 : SB_E_NOMEM;
  for (size_t i = 0; i < SB__LISTEN_BACKLOG && rc == 0; i++) {
    l->slots[i].ov.hEvent = own_event(TRUE);
    if (l->slots[i].ov.hEvent == NULL) rc = SB_E_NOMEM;
  }
  if (rc != 0) {
    sb__log(SB_LOG_ERROR, "cannot create the listener's events (Windows error %lu)",
            GetLastError());
    goto fail;
  }
  rc = create_first(l, name);
  if (rc != 0) goto fail;
  for (size_t i = 1; i < SB__LISTEN_BACKLOG && rc == 0; i++) {
    l->slots[i].pipe = create_instance(l, false);
    if (l->slots[i].pipe == INVALID_HANDLE_VALUE) rc = SB_E_IO;
  }
  for (size_t i = 0; i < SB__LISTEN_BACKLOG && rc == 0; i++) rc = arm(&l->slots[i]);
  if (rc != 0) {
    sb__log(SB_LOG_ERROR, "cannot listen on the pipe %s (Windows error %lu)", name,
            GetLastError());
    goto fail;
  }
  if (uv_async_init(loop, &l->async, on_async) != 0) {
    rc = SB_E_INTERNAL;
    goto fail;
  }
  l->async.data = l;
  l->async_ready = true;
  l->thread = CreateThread(NULL, 0, accept_thread, l, 0, NULL);
  if (l->thread == NULL) {
    sb__log(SB_LOG_ERROR, "cannot start the accept thread (Windows error %lu)", GetLastError());
    for (size_t i = 0; i < SB__LISTEN_BACKLOG; i++) empty_slot(&l->slots[i]);
    uv_close((uv_handle_t *)&l->async, on_async_closed);
    return SB_E_INTERNAL;
  }
  sb__registry_own(l->thread);
  *out = l;
  return 0;

fail:
  for (size_t i = 0; i < SB__LISTEN_BACKLOG; i++) empty_slot(&l->slots[i]);
  listener_free(l);
  return rc;
}

void sb__listener_stop(sb__listener *l) {
  HANDLE left;
  if (l == NULL) return;
  SetEvent(l->stop);
  /* The thread only ever waits on events that include stop, so it ends
   * promptly; it closes the listening instances itself. */
  WaitForSingleObject(l->thread, INFINITE);
  AcquireSRWLockExclusive(&l->lock);
  left = l->handoff;
  l->handoff = NULL;
  ReleaseSRWLockExclusive(&l->lock);
  sb__listener_close_instance(left);
  uv_close((uv_handle_t *)&l->async, on_async_closed);
}

const char *sb__listener_sddl(const sb__listener *l) { return l->sddl; }

void sb__listener_close_instance(HANDLE pipe) { close_own(pipe); }

void sb__listener_refuse(sb__listener *l, HANDLE pipe, const char *frame, size_t len) {
  OVERLAPPED ov;
  DWORD n;
  memset(&ov, 0, sizeof ov);
  ov.hEvent = l->refusal;
  ResetEvent(ov.hEvent);
  if (WriteFile(pipe, frame, (DWORD)len, NULL, &ov)) {
    GetOverlappedResult(pipe, &ov, &n, FALSE);
  } else if (GetLastError() == ERROR_IO_PENDING) {
    /* Never expected: a fresh instance's out buffer is empty. If it
     * happens, the refusal is dropped rather than waited for. */
    CancelIoEx(pipe, &ov);
    GetOverlappedResult(pipe, &ov, &n, TRUE);
  }
  close_own(pipe);
}
