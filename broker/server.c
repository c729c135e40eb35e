#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "log.h"
#include "sb_frame.h"

/* libuv reads into buffers we lend it; 4 KiB keeps a slow client cheap while
 * a 64 KiB frame still needs only 16 reads. */
#define SB__READ_CHUNK 4096

typedef struct sb__conn {
  uv_pipe_t pipe; /* first: libuv hands back &pipe as the handle */
  sb__server *srv;
  sb_frame_reader reader;
  sb__session session;
  char readbuf[SB__READ_CHUNK];
  int closing;   /* uv_close was called */
  int refusing;  /* a fatal error reply is queued; read nothing more */
} sb__conn;

typedef struct sb__write {
  uv_write_t req;
  sb_buf buf;
  int close_after; /* the reply ends the connection */
} sb__write;

static void on_conn_closed(uv_handle_t *h) {
  sb__conn *c = (sb__conn *)h;
  c->srv->stats.connections_current--;
  sb_frame_reader_free(&c->reader);
  free(c);
}

static void conn_close(sb__conn *c) {
  if (c->closing) return;
  c->closing = 1;
  uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

static void on_written(uv_write_t *req, int status) {
  sb__write *w = (sb__write *)req;
  sb__conn *c = (sb__conn *)req->handle;
  if (status < 0 || w->close_after) conn_close(c);
  sb_buf_free(&w->buf);
  free(w);
}

/* Queues one reply frame; takes ownership of *buf. */
static int conn_send(sb__conn *c, sb_buf *buf, int close_after) {
  sb__write *w = calloc(1, sizeof *w);
  uv_buf_t b;
  if (w == NULL) {
    sb_buf_free(buf);
    return SB_E_NOMEM;
  }
  w->buf = *buf;
  w->close_after = close_after;
  memset(buf, 0, sizeof *buf);
  b = uv_buf_init(w->buf.data, (unsigned)w->buf.len);
  if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_written) != 0) {
    sb_buf_free(&w->buf);
    free(w);
    return SB_E_IO;
  }
  return 0;
}

/* Sends an error reply for a frame that could not be used; errors that leave
 * the stream without a trustworthy frame boundary also end the connection. */
static void conn_refuse(sb__conn *c, const sb_decode_error *derr) {
  sb_buf reply = {0};
  int close_after = sb_err_closes_connection(derr->err);

  c->srv->stats.errors_total++;
  sb__log(SB_LOG_DEBUG, "refused frame: %s %s %s", sb_err_name(derr->err),
          derr->path, derr->detail);
  if (close_after) {
    c->refusing = 1;
    uv_read_stop((uv_stream_t *)&c->pipe);
  }
  if (sb_encode_error(&derr->id, derr->err, derr->detail, derr->path, &reply) != 0 ||
      conn_send(c, &reply, close_after) != 0)
    conn_close(c);
}

static void conn_frame(sb__conn *c, const char *frame, size_t len) {
  sb_request req;
  sb_decode_error derr;
  sb_buf reply = {0};

  if (sb_decode_request(frame, len, &req, &derr) != 0) {
    conn_refuse(c, &derr);
    return;
  }
  if (sb__dispatch(c->srv, &c->session, &req, &reply) != 0 ||
      conn_send(c, &reply, 0) != 0)
    conn_close(c);
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
  sb__log(SB_LOG_DEBUG, "client connected");
}

int sb__server_start(sb__server *srv, uv_loop_t *loop, const char *pipe_name) {
  int rc;
  memset(srv, 0, sizeof *srv);
  srv->loop = loop;
  srv->started_ms = uv_now(loop);
  snprintf(srv->pipe_name, sizeof srv->pipe_name, "%s", pipe_name);
  if (uv_pipe_init(loop, &srv->listener, 0) != 0) return SB_E_INTERNAL;
  srv->listener.data = srv;
  rc = uv_pipe_bind(&srv->listener, pipe_name);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&srv->listener, 16, on_connection);
  if (rc != 0) {
    sb__log(SB_LOG_ERROR, "cannot listen on %s: %s", pipe_name, uv_strerror(rc));
    uv_close((uv_handle_t *)&srv->listener, NULL);
    return SB_E_IO;
  }
  sb__log(SB_LOG_INFO, "listening on %s", pipe_name);
  return 0;
}

static void close_connection_walk(uv_handle_t *h, void *arg) {
  (void)arg;
  if (h->type == UV_NAMED_PIPE && h->data == (void *)h && !uv_is_closing(h))
    conn_close((sb__conn *)h);
}

void sb__server_stop(sb__server *srv) {
  if (!uv_is_closing((uv_handle_t *)&srv->listener))
    uv_close((uv_handle_t *)&srv->listener, NULL);
  uv_walk(srv->loop, close_connection_walk, NULL);
}
