/*
 * The connection engine: writes request frames, reads the broker's frames,
 * matches replies to waiting requests by id, and queues events.
 *
 * There is no background thread. A thread that waits for something (its
 * reply, an event, the writer slot) either takes the reader role, if no
 * other thread holds it, and reads the pipe itself, or sleeps on the
 * condition variable until the current reader has delivered new frames.
 * Whatever a reader reads is delivered to whoever it belongs to, so replies
 * for other threads and events are never lost; a reader whose own wait is
 * over hands the role on. This is the "leader/followers" pattern; it keeps
 * the library's promise of blocking calls on the caller's own thread.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "client_internal.h"

/* ------------------------------------------------------------------------ */
/* Setup                                                                    */

int sb__engine_init(sb_client *c) {
  InitializeCriticalSection(&c->lock);
  InitializeConditionVariable(&c->cv);
  c->next_id = 1;
  /* Manual-reset events: ReadFile and WriteFile reset them when an operation
   * starts, and they stay signalled once it has completed, so a waiter that
   * arrives late still sees the completion. */
  c->rov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  c->wov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  c->wake = CreateEventW(NULL, FALSE, FALSE, NULL);
  c->rbuf = malloc(SB__READ_CHUNK);
  if (c->rov.hEvent == NULL || c->wov.hEvent == NULL || c->wake == NULL || c->rbuf == NULL)
    return SB_E_NOMEM;
  return sb_frame_reader_init(&c->reader, SB_LIMIT_REPLY_FRAME_BYTES);
}

void sb__engine_free(sb_client *c) {
  sb__event *ev = c->ev_head;
  if (c->read_posted) {
    DWORD n;
    /* The OVERLAPPED and the buffer belong to c, which is about to be freed:
     * the read must be finished (here: cancelled) before that. */
    CancelIoEx(c->pipe, &c->rov);
    GetOverlappedResult(c->pipe, &c->rov, &n, TRUE);
    c->read_posted = false;
  }
  while (ev != NULL) {
    sb__event *next = ev->next;
    free(ev);
    ev = next;
  }
  c->ev_head = c->ev_tail = NULL;
  if (c->rov.hEvent != NULL) CloseHandle(c->rov.hEvent);
  if (c->wov.hEvent != NULL) CloseHandle(c->wov.hEvent);
  if (c->wake != NULL) CloseHandle(c->wake);
  sb_frame_reader_free(&c->reader);
  free(c->rbuf);
  free(c->broken_frame);
  DeleteCriticalSection(&c->lock);
}

uint64_t sb__next_id(sb_client *c) {
  uint64_t id;
  EnterCriticalSection(&c->lock);
  id = c->next_id++;
  LeaveCriticalSection(&c->lock);
  return id;
}

void sb__pending_init(sb__pending *p, uint64_t id) {
  memset(p, 0, sizeof *p);
  p->id = id;
}

void sb__pending_free(sb__pending *p) {
  sb_incoming_free(&p->in);
  free(p->raw);
  p->raw = NULL;
}

/* ------------------------------------------------------------------------ */
/* Failure of the whole connection                                          */

static void complete_all_locked(sb_client *c) {
  /* A reader blocked on the posted read would otherwise sleep on until the
   * broker happens to write again (a writer can break the connection while
   * the pipe itself still works). Cancelling completes the read; its reader
   * then sees the connection broken. */
  if (c->read_posted) CancelIoEx(c->pipe, &c->rov);
  for (sb__pending *p = c->pending; p != NULL; p = p->next) {
    if (p->done) continue;
    p->done = true;
    p->err = c->broken;
  }
  WakeAllConditionVariable(&c->cv);
}

void sb__break_locked(sb_client *c, int err, const char *fmt, ...) {
  va_list ap;
  char detail[400];
  if (c->broken != 0) return;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  c->broken = err;
  sb__errrec_local(&c->broken_rec, err, "%s", detail);
  complete_all_locked(c);
}

/* The broker answered with id null: it could not read one of the frames
 * sent on this connection, and it closes the connection after this reply
 * (docs/protocol.md, "Errors"). Which request it was cannot be known, so
 * every waiting call fails with that error, and call_raw shows the frame. */
static void break_with_reply_locked(sb_client *c, const sb_rpc_error *e, const char *frame,
                                    size_t len) {
  if (c->broken != 0) return;
  c->broken = e->err;
  sb__errrec_set(&c->broken_rec, e);
  c->broken_frame = malloc(len + 1);
  if (c->broken_frame != NULL) {
    memcpy(c->broken_frame, frame, len);
    c->broken_frame[len] = '\0';
  }
  complete_all_locked(c);
}

static bool broker_closed(DWORD e) {
  return e == ERROR_BROKEN_PIPE || e == ERROR_PIPE_NOT_CONNECTED || e == ERROR_NO_DATA ||
         e == ERROR_HANDLE_EOF;
}

static void break_for_windows_error_locked(sb_client *c, const char *what, DWORD e) {
  if (broker_closed(e))
    sb__break_locked(c, SB_E_CLOSED, "the broker closed the connection");
  else
    sb__break_locked(c, SB_E_IO, "%s on the pipe failed (Windows error %lu)", what, e);
}

/* The thread's last error for a call that failed because the connection
 * did; also hands call_raw the frame that ended it. */
static int fail_broken_locked(sb_client *c, sb__pending *p) {
  sb__last_error_set(c->serial, &c->broken_rec.e);
  if (p != NULL && p->want_raw && c->broken_frame != NULL && p->raw == NULL)
    p->raw = sb__strdup(c->broken_frame);
  return c->broken;
}

/* ------------------------------------------------------------------------ */
/* Incoming frames                                                          */

/* Whether frame is a notification with a method this library does not know.
 * New events do not change the protocol version (docs/protocol.md,
 * "Versioning"), so a client must skip them; sb_decode_incoming reports them
 * as malformed, so they are recognised here. */
static bool is_unknown_event(const char *frame, size_t len) {
  cJSON *root = cJSON_ParseWithLength(frame, len);
  const cJSON *method = cJSON_GetObjectItemCaseSensitive(root, "method");
  const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "jsonrpc");
  bool unknown = cJSON_IsObject(root) && cJSON_IsString(method) && cJSON_IsString(version) &&
                 strcmp(version->valuestring, "2.0") == 0 &&
                 !cJSON_HasObjectItem(root, "id") && strcmp(method->valuestring, "exit") != 0;
  cJSON_Delete(root);
  return unknown;
}

static void on_event_locked(sb_client *c, const sb_incoming *in) {
  sb__event *ev = malloc(sizeof *ev);
  if (ev == NULL) {
    /* Dropping an event silently would make a waiter hang; failing the
     * connection is the honest outcome. */
    sb__break_locked(c, SB_E_NOMEM, "no memory to queue an event");
    return;
  }
  ev->next = NULL;
  ev->exit = in->exit;
  if (c->ev_tail != NULL)
    c->ev_tail->next = ev;
  else
    c->ev_head = ev;
  c->ev_tail = ev;
}

static void on_frame_locked(sb_client *c, const char *frame, size_t len) {
  sb_incoming in;
  sb__pending *p;

  if (sb_decode_incoming(frame, len, &in) != 0) {
    if (!is_unknown_event(frame, len))
      sb__break_locked(c, SB_E_BAD_REPLY,
                       "the broker sent a frame that is neither a valid reply nor an event");
    return;
  }
  if (in.kind == SB_INCOMING_EVENT) {
    on_event_locked(c, &in);
    sb_incoming_free(&in);
    return;
  }
  if (in.kind == SB_INCOMING_ERROR && in.id.kind == SB_ID_NULL) {
    break_with_reply_locked(c, &in.error, frame, len);
    sb_incoming_free(&in);
    return;
  }
  for (p = c->pending; p != NULL; p = p->next) {
    if (!p->done && in.id.kind == SB_ID_NUMBER && in.id.number == p->id) break;
  }
  if (p == NULL) {
    /* A late reply to a call that gave up waiting. A late spawn's reply
     * means the broker is done with it: the next spawn may go. */
    if (c->late_spawn_id != 0 && in.id.kind == SB_ID_NUMBER && in.id.number == c->late_spawn_id) {
      c->late_spawn_id = 0;
      c->spawning = false;
    }
    sb_incoming_free(&in);
    return;
  }
  if (p->want_raw) {
    p->raw = malloc(len + 1);
    if (p->raw == NULL) {
      sb_incoming_free(&in);
      p->done = true;
      p->err = SB_E_NOMEM;
      return;
    }
    memcpy(p->raw, frame, len);
    p->raw[len] = '\0';
  }
  p->in = in;
  p->err = 0;
  p->done = true;
}

static void feed_locked(sb_client *c, const char *data, size_t len) {
  while (len > 0 && c->broken == 0) {
    size_t used = 0, flen = 0;
    const char *frame = NULL;
    int rc = sb_frame_reader_feed(&c->reader, data, len, &used, &frame, &flen);
    if (rc != 0) {
      if (rc == SB_E_NOMEM)
        sb__break_locked(c, rc, "no memory for a frame from the broker");
      else
        sb__break_locked(c, SB_E_BAD_REPLY, "the broker sent a frame longer than %d bytes",
                         SB_LIMIT_REPLY_FRAME_BYTES);
      return;
    }
    data += used;
    len -= used;
    if (frame != NULL) on_frame_locked(c, frame, flen);
  }
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */

void sb__wake_locked(sb_client *c) {
  WakeAllConditionVariable(&c->cv);
  SetEvent(c->wake);
}

/* One read of the pipe, waiting at most `left` ms, by the reader-role
 * holder. Leaves the lock while it blocks. */
static void read_once_locked(sb_client *c, DWORD left) {
  HANDLE events[2];
  DWORD n = 0, w;
  if (!c->read_posted) {
    HANDLE ev = c->rov.hEvent;
    memset(&c->rov, 0, sizeof c->rov);
    c->rov.hEvent = ev;
    /* With an overlapped handle the byte count comes from
     * GetOverlappedResult, never from ReadFile itself. */
    if (!ReadFile(c->pipe, c->rbuf, SB__READ_CHUNK, NULL, &c->rov)) {
      DWORD e = GetLastError();
      if (e != ERROR_IO_PENDING) {
        break_for_windows_error_locked(c, "ReadFile", e);
        return;
      }
    }
    c->read_posted = true;
  }
  events[0] = c->rov.hEvent;
  events[1] = c->wake;
  LeaveCriticalSection(&c->lock);
  w = WaitForMultipleObjects(2, events, FALSE, left);
  EnterCriticalSection(&c->lock);
  /* Timed out, or woken to look at its condition again: the read stays
   * posted for the next reader either way. */
  if (w == WAIT_TIMEOUT || w == WAIT_OBJECT_0 + 1) return;
  if (w != WAIT_OBJECT_0) {
    sb__break_locked(c, SB_E_IO, "waiting for the pipe failed (Windows error %lu)",
                     GetLastError());
    return;
  }
  c->read_posted = false;
  if (!GetOverlappedResult(c->pipe, &c->rov, &n, FALSE)) {
    DWORD e = GetLastError();
    /* ERROR_MORE_DATA only means a message-mode pipe split a message; the
     * bytes read are good and the rest comes with the next read. */
    if (e != ERROR_MORE_DATA) {
      break_for_windows_error_locked(c, "ReadFile", e);
      return;
    }
  }
  feed_locked(c, c->rbuf, n);
}

/* A write found the pipe closed. A broker that refuses a connection (it
 * is stopping, or at limits.connections) writes its reason and closes its
 * end at once, and under load that can happen before the client's first
 * write: the reason is still in the pipe, and reading it tells the caller
 * why (ShuttingDown, LimitReached) instead of only "closed". Reads what
 * the broker left, unless another thread is reading already (it will find
 * the same frames). */
static void take_in_parting_words_locked(sb_client *c) {
  if (c->reading) return;
  c->reading = true;
  /* The frames are already there, or there are none: the read completes
   * at once either way; the bound only guards against a pipe that is
   * not closed after all. */
  for (int i = 0; i < 4 && c->broken == 0; i++) read_once_locked(c, 100);
  c->reading = false;
  WakeAllConditionVariable(&c->cv);
}

int sb__pump_locked(sb_client *c, const sb__deadline *dl, sb__ready_fn ready,
                    const void *arg) {
  bool looked = false;
  for (;;) {
    DWORD left;
    if (ready(c, arg)) return 0;
    if (c->broken != 0) return c->broken;
    left = sb__deadline_left(dl);
    if (left == 0) {
      /* A zero timeout still takes in whatever has already arrived, once. */
      if (looked || c->reading) return SB_E_TIMEOUT;
      looked = true;
    }
    if (c->reading) {
      SleepConditionVariableCS(&c->cv, &c->lock, left);
      continue;
    }
    c->reading = true;
    read_once_locked(c, left);
    c->reading = false;
    /* New frames may complete other threads' calls, and the reader role is
     * free again for whoever still waits. */
    WakeAllConditionVariable(&c->cv);
  }
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */

/* Writes a whole frame. Returns 0, or a failure with the thread's last
 * error set; a frame cut short breaks the connection, because the broker
 * could no longer find where the next one starts. */
static int write_locked(sb_client *c, const char *data, size_t len, const sb__deadline *dl) {
  size_t done = 0;
  DWORD e = 0;
  int rc = 0;

  while (c->writing && c->broken == 0) {
    DWORD left = sb__deadline_left(dl);
    if (left == 0) {
      sb__last_error_local(c->serial, SB_E_TIMEOUT,
                           "another thread's request kept the pipe busy for too long");
      return SB_E_TIMEOUT;
    }
    SleepConditionVariableCS(&c->cv, &c->lock, left);
  }
  if (c->broken != 0) return fail_broken_locked(c, NULL);
  c->writing = true;
  LeaveCriticalSection(&c->lock);
  while (done < len && rc == 0) {
    HANDLE ev = c->wov.hEvent;
    DWORD put = 0, chunk = len - done > 0x40000000 ? 0x40000000 : (DWORD)(len - done);
    bool timed_out = false;
    memset(&c->wov, 0, sizeof c->wov);
    c->wov.hEvent = ev;
    if (!WriteFile(c->pipe, data + done, chunk, NULL, &c->wov)) {
      e = GetLastError();
      if (e != ERROR_IO_PENDING) {
        rc = SB_E_IO;
        break;
      }
    }
    if (WaitForSingleObject(ev, sb__deadline_left(dl)) != WAIT_OBJECT_0) {
      /* The broker does not read (its pipe buffer is full). Cancel, then
       * wait for the cancellation: the write may still have completed, in
       * full or in part, in the meantime. */
      CancelIoEx(c->pipe, &c->wov);
      timed_out = true;
    }
    if (GetOverlappedResult(c->pipe, &c->wov, &put, TRUE)) {
      done += put;
    } else {
      e = GetLastError();
      done += put;
      rc = e == ERROR_OPERATION_ABORTED && timed_out ? SB_E_TIMEOUT : SB_E_IO;
    }
    if (rc == 0 && timed_out && done < len) rc = SB_E_TIMEOUT;
  }
  EnterCriticalSection(&c->lock);
  c->writing = false;
  WakeAllConditionVariable(&c->cv);
  if (rc == 0) return 0;
  if (rc == SB_E_TIMEOUT && done == 0) {
    sb__last_error_local(c->serial, rc, "the broker did not take the request in time");
    return rc;
  }
  if (rc == SB_E_TIMEOUT)
    sb__break_locked(c, SB_E_TIMEOUT, "the broker stopped reading in the middle of a request");
  else if (broker_closed(e))
    take_in_parting_words_locked(c);
  if (c->broken == 0) break_for_windows_error_locked(c, "WriteFile", e);
  return fail_broken_locked(c, NULL);
}

/* ------------------------------------------------------------------------ */
/* Calls and events                                                         */

static bool pending_done(const sb_client *c, const void *arg) {
  (void)c;
  return ((const sb__pending *)arg)->done;
}

static void unlink_locked(sb_client *c, const sb__pending *p) {
  for (sb__pending **pp = &c->pending; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == p) {
      *pp = p->next;
      return;
    }
  }
}

int sb__roundtrip(sb_client *c, sb__pending *p, const char *frame, size_t len,
                  const sb__deadline *dl) {
  int rc;
  EnterCriticalSection(&c->lock);
  if (c->broken != 0) {
    rc = fail_broken_locked(c, p);
    LeaveCriticalSection(&c->lock);
    return rc;
  }
  /* Registered before the frame goes out, so a reply that comes back at
   * once always finds its request. */
  p->next = c->pending;
  c->pending = p;
  rc = write_locked(c, frame, len, dl);
  if (rc == 0) {
    p->sent = true;
    rc = sb__pump_locked(c, dl, pending_done, p);
  }
  unlink_locked(c, p);
  if (p->done) {
    if (p->err != 0) {
      rc = p->err == c->broken ? fail_broken_locked(c, p) : p->err;
      if (rc == SB_E_NOMEM) sb__last_error_local(c->serial, rc, "no memory for the reply");
    } else if (p->in.kind == SB_INCOMING_ERROR) {
      sb__last_error_set(c->serial, &p->in.error);
      rc = p->in.error.err;
    } else {
      rc = 0;
    }
  } else if (rc == SB_E_TIMEOUT && p->sent) {
    sb__last_error_local(c->serial, rc, "no reply from the broker in time");
    if (p->spawn) {
      /* Registered before the lock is left, so the reply cannot slip past
       * unnoticed; the caller leaves the slot taken. */
      c->late_spawn_id = p->id;
      p->late = true;
    }
  } else if (rc != 0 && rc == c->broken) {
    rc = fail_broken_locked(c, p);
  }
  LeaveCriticalSection(&c->lock);
  return rc;
}

static bool event_queued(const sb_client *c, const void *arg) {
  (void)arg;
  return c->ev_head != NULL;
}

int sb__next_event(sb_client *c, const sb__deadline *dl, sb_exit_info *out) {
  int rc;
  EnterCriticalSection(&c->lock);
  rc = sb__pump_locked(c, dl, event_queued, NULL);
  if (rc == 0) {
    sb__event *ev = c->ev_head;
    c->ev_head = ev->next;
    if (c->ev_head == NULL) c->ev_tail = NULL;
    *out = ev->exit;
    free(ev);
  } else if (rc == SB_E_TIMEOUT) {
    sb__last_error_local(c->serial, rc, "no event arrived in time");
  } else {
    rc = fail_broken_locked(c, NULL);
  }
  LeaveCriticalSection(&c->lock);
  return rc;
}
