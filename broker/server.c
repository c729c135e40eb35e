#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "children.h"
#include "dispatch.h"
#include "log.h"
#include "registry.h"

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
    sb__registry_disown(c->session.client_process);
    CloseHandle(c->session.client_process);
  }
  free(c);
}

static void on_conn_closed(uv_handle_t *h) {
  sb__conn *c = (sb__conn *)h;
  sb__conn_unref(c);
}

static void conn_close(sb__conn *c) {
  if (c->closing) return;
  c->closing = true;
  c->srv->stats.connections_current--;
  sb__registry_disown(c->pipe.handle);
  sb__children_conn_closed(c->srv, c);
  uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

static void on_written(uv_write_t *req, int status) {
  sb__write *w = (sb__write *)req;
  sb__conn *c = (sb__conn *)req->handle;
  if (status < 0 || w->close_after) conn_close(c);
  sb_buf_free(&w->buf);
  free(w);
}

static void conn_write(sb__conn *c, sb_buf *buf, bool close_after) {
  sb__write *w;
  uv_buf_t b;
  if (c->closing) {
    sb_buf_free(buf);
    return;
  }
  w = calloc(1, sizeof *w);
  if (w == NULL) {
    sb_buf_free(buf);
    conn_close(c);
    return;
  }
  w->buf = *buf;
  w->close_after = close_after;
  memset(buf, 0, sizeof *buf);
  b = uv_buf_init(w->buf.data, (unsigned)w->buf.len);
  if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_written) != 0) {
    sb_buf_free(&w->buf);
    free(w);
    conn_close(c);
  }
}

void sb__conn_send(sb__conn *c, sb_buf *buf) { conn_write(c, buf, false); }

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

/* Sends an error reply for a frame that could not be used; errors that leave
 * the stream without a trustworthy frame boundary also end the connection. */
static void conn_refuse(sb__conn *c, const sb_decode_error *derr) {
  sb_buf reply = {0};
  bool close_after = sb_err_closes_connection(derr->err);

  c->srv->stats.errors_total++;
  sb__log(SB_LOG_DEBUG, "refused frame: %s %s %s", sb_err_name(derr->err), derr->path,
          derr->detail);
  if (close_after) {
    c->refusing = true;
    uv_read_stop((uv_stream_t *)&c->pipe);
  }
  if (sb_encode_error(&derr->id, derr->err, derr->detail, derr->path, &reply) != 0) {
    conn_close(c);
    return;
  }
  conn_write(c, &reply, close_after);
}

static void conn_frame(sb__conn *c, const char *frame, size_t len) {
  sb_request req;
  sb_decode_error derr;

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

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  sb__conn *c = (sb__conn *)h;
  (void)suggested;
  *buf = uv_buf_init(c->readbuf, sizeof c->readbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  sb__conn *c = (sb__conn *)s;
  const char *p = buf->base;
  size_t left;

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
      sb_decode_error derr;
      memset(&derr, 0, sizeof derr);
      derr.err = rc;
      derr.id.kind = SB_ID_NULL;
      conn_refuse(c, &derr);
      return;
    }
    p += used;
    left -= used;
    if (frame != NULL) conn_frame(c, frame, flen);
  }
}

/* Registers the listener's pending pipe instances (libuv keeps several
 * accept instances open and replaces each one it accepts) as the broker's
 * own, for push-mode checks. Called at start and after every accept; the
 * instance libuv creates inside uv_accept is unregistered until then, a
 * window that goes away when the broker creates its own instances. */
static void register_listener_instances(sb__server *srv) {
  for (int i = 0; i < srv->listener.pipe.serv.pending_instances; i++)
    sb__registry_own(srv->listener.pipe.serv.accept_reqs[i].pipeHandle);
}

static void on_connection(uv_stream_t *listener, int status) {
  sb__server *srv = listener->data;
  sb__conn *c;

  if (status < 0) {
    sb__log(SB_LOG_WARN, "accept failed: %s", uv_strerror(status));
    return;
  }
  c = calloc(1, sizeof *c);
  if (c == NULL) return;
  c->srv = srv;
  c->refs = 1;
  if (uv_pipe_init(srv->loop, &c->pipe, 0) != 0) {
    free(c);
    return;
  }
  /* Marks the handle as a connection for sb__server_stop's walk. */
  c->pipe.data = c;
  srv->stats.connections_current++;
  srv->stats.connections_total++;
  if (sb_frame_reader_init(&c->reader, SB_LIMIT_FRAME_BYTES) != 0 ||
      uv_accept(listener, (uv_stream_t *)&c->pipe) != 0 ||
      uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) != 0) {
    conn_close(c);
    return;
  }
  /* The connection's pipe is a File handle in the broker's table, exactly
   * the kind a push request could name to steal another client's session. */
  sb__registry_own(c->pipe.handle);
  register_listener_instances(srv);
  sb__log(SB_LOG_DEBUG, "client connected");
}

int sb__server_start(sb__server *srv, uv_loop_t *loop, const sb__broker_config *cfg) {
  int rc;
  memset(srv, 0, sizeof *srv);
  srv->loop = loop;
  srv->cfg = *cfg;
  srv->started_ms = uv_now(loop);
  {
    sb__pool_config pc;
    pc.warm = cfg->s.pool_warm;
    pc.max = cfg->s.pool_max_helpers;
    pc.recycle_after = cfg->s.pool_recycle;
    rc = sb__pool_create(cfg->helper_path, &pc, &srv->pool);
  }
  if (rc != 0) {
    sb__log(SB_LOG_ERROR, "cannot set up the helper pool: %s", sb_err_message(rc));
    return rc;
  }
  sb__registry_own(sb__pool_job(srv->pool));
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
  if (uv_pipe_init(loop, &srv->listener, 0) != 0) {
    rc = SB_E_INTERNAL;
    goto fail_children;
  }
  srv->listener.data = srv;
  rc = uv_pipe_bind(&srv->listener, cfg->s.pipe);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&srv->listener, 16, on_connection);
  if (rc != 0) {
    sb__log(SB_LOG_ERROR, "cannot listen on %s: %s", cfg->s.pipe, uv_strerror(rc));
    uv_close((uv_handle_t *)&srv->listener, NULL);
    rc = SB_E_IO;
    goto fail_children;
  }
  register_listener_instances(srv);
  sb__dispatch_fill_pool(srv);
  sb__log(SB_LOG_INFO, "listening on %s (transfer %s, warm helpers %u, max %u)",
          cfg->s.pipe, sb_transfer_name(cfg->s.transfer), (unsigned)cfg->s.pool_warm,
          (unsigned)cfg->s.pool_max_helpers);
  return 0;

fail_children:
  sb__children_shutdown(srv);
fail_pool:
  sb__pool_destroy(srv->pool);
  srv->pool = NULL;
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
  /* The listener goes last: until now the pipe name stayed the broker's,
   * so no other process could take it while the broker was still
   * answering (SECURITY-NOTES T6, T14). */
  if (!uv_is_closing((uv_handle_t *)&srv->listener))
    uv_close((uv_handle_t *)&srv->listener, NULL);
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
