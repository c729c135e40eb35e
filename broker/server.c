#include "server.h"

#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "children.h"
#include "dispatch.h"
#include "fault.h"
#include "idents.h"
#include "listener.h"
#include "log.h"
#include "registry.h"
#include "stage.h"

typedef struct sb__write {
  uv_write_t req;
  sb_buf buf;
  bool close_after; /* the reply ends the connection */
} sb__write;

bool sb__conn_open(const sb__conn *c) { return !c->closing; }

void sb__conn_ref(sb__conn *c) { c->refs++; }

void sb__conn_unref(sb__conn *c) {
  if (--c->refs > 0) return;
  sb_frame_reader_free(&c->reader);
  if (c->session.client_process != NULL) {
    /* Closed first, then disowned: registry.h says why. */
    CloseHandle(c->session.client_process);
    sb__registry_disown(c->session.client_process);
  }
  sb__identity_free(&c->session.identity);
  free(c);
}

static void on_conn_closed(uv_handle_t *h) {
  sb__conn *c = (sb__conn *)h;
  sb__conn_unref(c);
}

static void on_timer_closed(uv_handle_t *h) { sb__conn_unref(h->data); }

static void conn_close(sb__conn *c) {
  HANDLE pipe = c->pipe.handle;
  if (c->closing) return;
  c->closing = true;
  c->srv->stats.connections_current--;
  sb__children_conn_closed(c->srv, c);
  if (c->session.ident != NULL) {
    sb__idents_detach(c->session.ident);
    c->session.ident = NULL;
  }
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->timer, on_timer_closed);
  /* uv_close closes the pipe handle at once (libuv's close_pipe), so the
   * value is disowned after it is closed, as registry.h asks. */
  uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
  sb__registry_disown(pipe);
}

/* ------------------------------------------------------------------------ */
/* Timers: idle timeout, request deadline, closing grace                    */

static void on_conn_timer(uv_timer_t *t);

static void timer_start(sb__conn *c, sb__conn_timer what, uint32_t ms) {
  c->timer_for = what;
  uv_timer_start(&c->timer, on_conn_timer, ms, 0);
}

/* Restarts the idle countdown: called when a frame arrived or a reply or
 * event went out, unless a frame is being received (its deadline runs) or
 * the connection is on its way out. */
static void idle_restart(sb__conn *c) {
  if (c->closing || c->refusing || c->timer_for != SB__TIMER_IDLE) return;
  timer_start(c, SB__TIMER_IDLE, c->srv->cfg.s.idle_timeout_ms);
}

/* After input was read: a frame that is not whole yet runs against its
 * deadline, counted from its first byte (from this read when the previous
 * frame ended in it); otherwise the connection idles from its last frame. */
static void timers_after_read(sb__conn *c, bool frame_done) {
  if (c->closing || c->refusing) return;
  if (sb_frame_reader_pending(&c->reader) > 0) {
    if (c->timer_for != SB__TIMER_DEADLINE || frame_done)
      timer_start(c, SB__TIMER_DEADLINE, c->srv->cfg.s.request_deadline_ms);
  } else if (frame_done || c->timer_for == SB__TIMER_DEADLINE) {
    timer_start(c, SB__TIMER_IDLE, c->srv->cfg.s.idle_timeout_ms);
  }
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */

static void on_written(uv_write_t *req, int status) {
  sb__write *w = (sb__write *)req;
  sb__conn *c = (sb__conn *)req->handle;
  if (status < 0 || w->close_after) conn_close(c);
  sb_buf_free(&w->buf);
  free(w);
}

/* Queues buf; 0, or SB_E_CLOSED when it cannot go out (the connection is
 * closed then). */
static int conn_write(sb__conn *c, sb_buf *buf, bool close_after) {
  sb__write *w;
  uv_buf_t b;
  if (c->closing) {
    sb_buf_free(buf);
    return SB_E_CLOSED;
  }
  w = calloc(1, sizeof *w);
  if (w == NULL) {
    sb_buf_free(buf);
    conn_close(c);
    return SB_E_CLOSED;
  }
  w->buf = *buf;
  w->close_after = close_after;
  memset(buf, 0, sizeof *buf);
  b = uv_buf_init(w->buf.data, (unsigned)w->buf.len);
  if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_written) != 0) {
    sb_buf_free(&w->buf);
    free(w);
    conn_close(c);
    return SB_E_CLOSED;
  }
  idle_restart(c);
  return 0;
}

int sb__conn_send(sb__conn *c, sb_buf *buf) { return conn_write(c, buf, false); }

int sb__conn_send_reply(sb__conn *c, sb_buf *buf) {
  if (sb__fault_fires(SB__FAULT_REPLY)) {
    sb_buf_free(buf);
    conn_close(c);
    return SB_E_CLOSED;
  }
  return conn_write(c, buf, false);
}

void sb__conn_send_error(sb__conn *c, const sb_id *id, int err, const char *detail,
                         const char *path) {
  sb_buf reply = {0};
  c->srv->stats.errors_total++;
  if (sb_encode_error(id, err, detail, path, &reply) != 0) {
    conn_close(c);
    return;
  }
  conn_write(c, &reply, false);
}

/* Sends a last error reply and ends the connection once it is written. A
 * client that does not read it gets limits.request_deadline_ms before the
 * connection is closed anyway, so a full pipe cannot keep it open. */
static void conn_end(sb__conn *c, const sb_id *id, int err, const char *detail,
                     const char *path) {
  sb_buf reply = {0};
  if (c->closing || c->refusing) return;
  c->refusing = true;
  uv_read_stop((uv_stream_t *)&c->pipe);
  timer_start(c, SB__TIMER_CLOSING, c->srv->cfg.s.request_deadline_ms);
  if (sb_encode_error(id, err, detail, path, &reply) != 0) {
    conn_close(c);
    return;
  }
  conn_write(c, &reply, true);
}

/* Ends the connection with LimitReached (id null: it answers no request). */
static void conn_end_limit(sb__conn *c, const char *detail) {
  sb_id none;
  memset(&none, 0, sizeof none);
  none.kind = SB_ID_NULL;
  conn_end(c, &none, SB_E_LIMIT_REACHED, detail, NULL);
}

static void on_conn_timer(uv_timer_t *t) {
  sb__conn *c = t->data;
  sb__server *srv = c->srv;
  char detail[160];

  if (c->closing) return;
  switch (c->timer_for) {
    case SB__TIMER_DEADLINE:
      srv->stats.limit_request_deadlines++;
      sb__log(SB_LOG_WARN,
              "closing the connection of pid %lu: limits.request_deadline_ms (%u) passed with "
              "a frame still incomplete (%lu bytes)",
              (unsigned long)c->peer_pid, (unsigned)srv->cfg.s.request_deadline_ms,
              (unsigned long)sb_frame_reader_pending(&c->reader));
      snprintf(detail, sizeof detail,
               "limits.request_deadline_ms: a frame must arrive whole within %u ms of its "
               "first byte",
               (unsigned)srv->cfg.s.request_deadline_ms);
      conn_end_limit(c, detail);
      break;
    case SB__TIMER_IDLE:
      /* Something in flight is not idleness: check again one period on. */
      if (c->spawn_in_flight || sb__children_conn_busy(srv, c)) {
        timer_start(c, SB__TIMER_IDLE, srv->cfg.s.idle_timeout_ms);
        break;
      }
      srv->stats.limit_idle_timeouts++;
      sb__log(SB_LOG_WARN,
              "closing the connection of pid %lu: limits.idle_timeout_ms (%u) passed with "
              "nothing in flight and no frame",
              (unsigned long)c->peer_pid, (unsigned)srv->cfg.s.idle_timeout_ms);
      snprintf(detail, sizeof detail,
               "limits.idle_timeout_ms: the connection was idle for %u ms",
               (unsigned)srv->cfg.s.idle_timeout_ms);
      conn_end_limit(c, detail);
      break;
    case SB__TIMER_CLOSING:
      srv->stats.limit_request_deadlines++;
      sb__log(SB_LOG_WARN,
              "closing the connection of pid %lu: its client did not read the last reply "
              "within limits.request_deadline_ms (%u)",
              (unsigned long)c->peer_pid, (unsigned)srv->cfg.s.request_deadline_ms);
      conn_close(c);
      break;
  }
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */

/* Answers a frame that could not be used; errors that leave the stream
 * without a trustworthy frame boundary also end the connection. */
static void conn_refuse(sb__conn *c, const sb_decode_error *derr) {
  sb__log(SB_LOG_DEBUG, "refused frame: %s %s %s", sb_err_name(derr->err), derr->path,
          derr->detail);
  if (sb_err_closes_connection(derr->err)) {
    c->srv->stats.errors_total++;
    conn_end(c, &derr->id, derr->err, derr->detail, derr->path);
    return;
  }
  sb__conn_send_error(c, &derr->id, derr->err, derr->detail, derr->path);
}

static void conn_frame(sb__conn *c, const char *frame, size_t len) {
  sb_request req;
  sb_decode_error derr;

  /* A spawn's first stage starts here (stage.h). */
  c->frame_at = sb__stage_now();
  if (sb_decode_request(frame, len, &req, &derr) != 0) {
    conn_refuse(c, &derr);
    return;
  }
  c->srv->stats.requests_total++;
  /* The dispatcher may keep the request (a spawn runs on a worker thread);
   * it then clears req.sb__owned and this free does nothing. */
  sb__dispatch(c, &req);
  sb_request_free(&req);
}

/* The reader refused its input: the frame passed limits.frame_bytes. */
static void conn_frame_too_large(sb__conn *c, int rc) {
  sb__server *srv = c->srv;
  sb_decode_error derr;
  memset(&derr, 0, sizeof derr);
  derr.err = rc;
  derr.id.kind = SB_ID_NULL;
  if (rc == SB_E_FRAME_TOO_LARGE) {
    srv->stats.limit_frame_bytes++;
    sb__log(SB_LOG_WARN,
            "closing the connection of pid %lu: a frame passed limits.frame_bytes (%u)",
            (unsigned long)c->peer_pid, (unsigned)srv->cfg.s.max_frame_bytes);
    snprintf(derr.detail, sizeof derr.detail,
             "limits.frame_bytes: a frame may hold at most %u bytes before its newline",
             (unsigned)srv->cfg.s.max_frame_bytes);
  }
  conn_refuse(c, &derr);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  sb__conn *c = (sb__conn *)h;
  (void)suggested;
  *buf = uv_buf_init(c->readbuf, sizeof c->readbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  sb__conn *c = (sb__conn *)s;
  const char *p = buf->base;
  size_t left;
  bool frame_done = false;

  if (nread < 0) {
    conn_close(c);
    return;
  }
  left = (size_t)nread;
  while (left > 0 && !c->closing && !c->refusing) {
    size_t used = 0, flen = 0;
    const char *frame = NULL;
    int rc = sb_frame_reader_feed(&c->reader, p, left, &used, &frame, &flen);
    if (rc != 0) {
      conn_frame_too_large(c, rc);
      return;
    }
    p += used;
    left -= used;
    if (frame != NULL) {
      frame_done = true;
      conn_frame(c, frame, flen);
    }
  }
  timers_after_read(c, frame_done);
}

/* ------------------------------------------------------------------------ */
/* Accepting                                                                */

/* Refuses a connected instance that never became a connection. */
static void refuse_instance(sb__server *srv, HANDLE pipe, int err, const char *detail) {
  sb_buf reply = {0};
  sb_id none;
  memset(&none, 0, sizeof none);
  none.kind = SB_ID_NULL;
  if (sb_encode_error(&none, err, detail, NULL, &reply) == 0)
    sb__listener_refuse(srv->listener, pipe, reply.data, reply.len);
  else
    sb__listener_close_instance(pipe);
  sb_buf_free(&reply);
}

/* A client connected (listener.h): the loop thread now owns the instance. */
static void on_connection(void *arg, HANDLE pipe) {
  sb__server *srv = arg;
  sb__conn *c;
  ULONG pid = 0;
  int fd;

  GetNamedPipeClientProcessId(pipe, &pid);
  if (srv->stopping) {
    refuse_instance(srv, pipe, SB_E_SHUTTING_DOWN, NULL);
    return;
  }
  if (srv->stats.connections_current >= srv->cfg.s.max_connections) {
    char detail[128];
    srv->stats.limit_connections++;
    sb__log(SB_LOG_WARN, "refused a connection of pid %lu: limits.connections (%u) are open",
            (unsigned long)pid, (unsigned)srv->cfg.s.max_connections);
    snprintf(detail, sizeof detail, "limits.connections: %u connections are open",
             (unsigned)srv->cfg.s.max_connections);
    refuse_instance(srv, pipe, SB_E_LIMIT_REACHED, detail);
    return;
  }
  c = calloc(1, sizeof *c);
  if (c == NULL || uv_pipe_init(srv->loop, &c->pipe, 0) != 0) {
    free(c);
    sb__log(SB_LOG_ERROR, "no memory for a connection of pid %lu", (unsigned long)pid);
    refuse_instance(srv, pipe, SB_E_NOMEM, NULL);
    return;
  }
  c->srv = srv;
  c->refs = 2; /* the connection and its timer, each released by its close */
  c->peer_pid = pid;
  /* A process created after this moment cannot be the one that connected
   * (the pid-reuse check of identity.c). */
  GetSystemTimeAsFileTime(&c->session.connected_at);
  /* Marks the handle as a connection for sb__server_stop's walk. */
  c->pipe.data = c;
  uv_timer_init(srv->loop, &c->timer);
  c->timer.data = c;
  srv->stats.connections_current++;
  srv->stats.connections_total++;
  /* uv_pipe_open takes a C runtime descriptor, not a HANDLE: the instance
   * gets one, which libuv closes (and with it the instance) in uv_close.
   * libuv 1.44.2 accepts a server end connected outside libuv: it only
   * sets byte read mode, reads the handle's access (both directions here)
   * and attaches it to the loop's completion port (docs/wine.md). */
  fd = _open_osfhandle((intptr_t)pipe, _O_BINARY);
  if (fd < 0) {
    sb__log(SB_LOG_ERROR, "no C runtime descriptor is left for a connection of pid %lu",
            (unsigned long)pid);
    refuse_instance(srv, pipe, SB_E_INTERNAL, "the broker has no file descriptor left");
    conn_close(c);
    return;
  }
  if (uv_pipe_open(&c->pipe, fd) != 0) {
    sb__log(SB_LOG_ERROR, "libuv cannot take the connection of pid %lu", (unsigned long)pid);
    _close(fd); /* closes the instance */
    sb__registry_disown(pipe);
    conn_close(c);
    return;
  }
  if (sb_frame_reader_init(&c->reader, srv->cfg.s.max_frame_bytes) != 0 ||
      uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) != 0) {
    conn_close(c);
    return;
  }
  timer_start(c, SB__TIMER_IDLE, srv->cfg.s.idle_timeout_ms);
  sb__log(SB_LOG_DEBUG, "client pid %lu connected", (unsigned long)pid);
}

int sb__server_start(sb__server *srv, uv_loop_t *loop, const sb__broker_config *cfg) {
  int rc;
  memset(srv, 0, sizeof *srv);
  srv->loop = loop;
  srv->cfg = *cfg;
  srv->started_ms = uv_now(loop);
  rc = sb__helpers_create(cfg->helper_path, cfg->s.pool_max_helpers, &srv->helpers);
  if (rc != 0) {
    sb__log(SB_LOG_ERROR, "cannot set up the helper pool: %s", sb_err_message(rc));
    return rc;
  }
  sb__registry_own(sb__helpers_job(srv->helpers));
  /* Push-mode requests name values in the broker's own table, so every
   * handle the broker holds must be known as its own: what it has now (std
   * handles, the current directory, the console), and below, what it opens
   * later. The pipe instances are registered as they are made. */
  rc = sb__registry_own_all_current();
  if (rc != 0) {
    sb__log(SB_LOG_ERROR, "cannot read the broker's own handle table");
    goto fail_pool;
  }
  rc = sb__children_init(srv);
  if (rc != 0) goto fail_pool;
  rc = sb__listener_start(loop, cfg->s.pipe, sb__clients_effective(cfg->s.clients, cfg->service),
                          on_connection, srv, &srv->listener);
  if (rc != 0) goto fail_children;
  sb__log(SB_LOG_DEBUG, "pipe security descriptor %s", sb__listener_sddl(srv->listener));
  /* A console broker serves only its own user, so that identity's pool is
   * made and warmed now; a service learns its identities from clients. */
  if (!cfg->service) {
    sb__identity self;
    sb__ident *e;
    if (sb__identity_of_self(&self) == 0 && sb__idents_pin(srv, &self, &e) == 0)
      sb__dispatch_fill_pool(e);
  }
  sb__log(SB_LOG_INFO, "listening on %s (transfer %s, warm helpers %u, max %u)",
          cfg->s.pipe, sb_transfer_name(cfg->s.transfer), (unsigned)cfg->s.pool_warm,
          (unsigned)cfg->s.pool_max_helpers);
  return 0;

fail_children:
  sb__children_shutdown(srv);
fail_pool:
  sb__helpers_destroy(srv->helpers);
  srv->helpers = NULL;
  return rc;
}

static void close_connection_walk(uv_handle_t *h, void *arg) {
  (void)arg;
  if (h->type == UV_NAMED_PIPE && h->data == (void *)h && !uv_is_closing(h))
    conn_close((sb__conn *)h);
}

/* The end of a graceful stop: nothing is in flight any more (or what is was
 * cut off). Replies already handed to a pipe stay readable by the client
 * after the close; a client that stopped reading loses what did not fit. */
static void stop_finish(sb__server *srv) {
  srv->stop_finished = true;
  if (srv->drain_timer_on) uv_close((uv_handle_t *)&srv->drain_timer, NULL);
  srv->drain_timer_on = false;
  uv_walk(srv->loop, close_connection_walk, NULL);
  /* Broker children die with their jobs, detached ones run on. */
  sb__children_shutdown(srv);
  /* Pools nothing uses end now, the rest when their work ends. */
  sb__idents_shutdown(srv);
  /* The listener goes last: until now the pipe name stayed the broker's,
   * so no other process could take it while the broker was still
   * answering (SECURITY-NOTES T6, T14). */
  sb__listener_stop(srv->listener);
  srv->listener = NULL;
  if (srv->on_stopped != NULL) srv->on_stopped(srv);
  /* A cut-off spawn's work request keeps the loop alive for as long as its
   * worker thread is stuck, so the loop is told to end now. */
  if (srv->spawns_cut_off > 0) uv_stop(srv->loop);
}

static void on_drain_deadline(uv_timer_t *t) {
  sb__server *srv = t->data;
  sb__log(SB_LOG_WARN, "stop: %u spawn(s) still in flight after stop.drain_ms (%u ms); "
          "cutting them off", (unsigned)srv->spawns_in_flight, (unsigned)srv->cfg.s.stop_drain_ms);
  sb__dispatch_cut_off(srv);
  /* Spawns cancelled before they started still get their done callback,
   * and with it sb__server_spawn_finished. */
  if (srv->spawns_in_flight == 0 && !srv->stop_finished) stop_finish(srv);
}

/* The listener stays open while the stop drains: a client that connects
 * meanwhile is served, and its spawns are refused with ShuttingDown
 * (dispatch.c), which tells it more than a closed pipe would; and the
 * pipe name is never free while the broker runs (stop_finish). */
void sb__server_stop(sb__server *srv, sb__server_stopped_cb on_stopped) {
  if (srv->stopping) return;
  srv->stopping = true;
  srv->on_stopped = on_stopped;
  if (srv->spawns_in_flight == 0) {
    stop_finish(srv);
    return;
  }
  sb__log(SB_LOG_INFO, "stop: waiting up to %u ms (stop.drain_ms) for %u spawn(s) in flight",
          (unsigned)srv->cfg.s.stop_drain_ms, (unsigned)srv->spawns_in_flight);
  if (uv_timer_init(srv->loop, &srv->drain_timer) != 0) {
    /* Without a timer the bound cannot be kept: give up on them now. */
    sb__dispatch_cut_off(srv);
    if (srv->spawns_in_flight == 0) stop_finish(srv);
    return;
  }
  srv->drain_timer.data = srv;
  srv->drain_timer_on = true;
  uv_timer_start(&srv->drain_timer, on_drain_deadline, srv->cfg.s.stop_drain_ms, 0);
}

void sb__server_spawn_finished(sb__server *srv) {
  if (srv->stopping && !srv->stop_finished && srv->spawns_in_flight == 0) stop_finish(srv);
}
