#include "dispatch.h"

#include <stdio.h>
#include <string.h>

static int reply_error(sb__server *srv, const sb_id *id, int err,
                       const char *detail, sb_buf *reply) {
  srv->stats.errors_total++;
  return sb_encode_error(id, err, detail, NULL, reply);
}

static int do_hello(sb__server *srv, sb__session *s, const sb_request *req,
                    sb_buf *reply) {
  const sb_hello_params *p = &req->params.hello;
  sb_result res;
  char detail[96];

  if (s->greeted)
    return reply_error(srv, &req->id, SB_E_ALREADY_GREETED, NULL, reply);
  if (p->protocol < SB_PROTOCOL_VERSION_MIN || p->protocol > SB_PROTOCOL_VERSION_MAX) {
    snprintf(detail, sizeof detail, "this broker speaks protocol %d to %d",
             SB_PROTOCOL_VERSION_MIN, SB_PROTOCOL_VERSION_MAX);
    return reply_error(srv, &req->id, SB_E_UNSUPPORTED_PROTOCOL, detail, reply);
  }
  /* Handle transfer arrives with the spawn method; until then only the
   * default mode exists, and asking for push is refused rather than ignored. */
  if (p->transfer == SB_TRANSFER_PUSH)
    return reply_error(srv, &req->id, SB_E_TRANSFER_UNAVAILABLE,
                       "this build supports pull only", reply);

  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_HELLO;
  res.u.hello.protocol = p->protocol;
  res.u.hello.broker_version = SB_VERSION;
  res.u.hello.pid = (uint32_t)uv_os_getpid();
  res.u.hello.transfer = SB_TRANSFER_PULL;
  res.u.hello.max_frame_bytes = SB_LIMIT_FRAME_BYTES;
  res.u.hello.max_handles = SB_LIMIT_HANDLES;
  res.u.hello.max_args = SB_LIMIT_ARGS;
  res.u.hello.max_env = SB_LIMIT_ENV;
  s->greeted = true;
  s->protocol = p->protocol;
  return sb_encode_result(&req->id, &res, reply);
}

int sb__dispatch(sb__server *srv, sb__session *s, const sb_request *req,
                 sb_buf *reply) {
  sb_result res;

  srv->stats.requests_total++;
  memset(&res, 0, sizeof res);
  res.method = req->method;

  if (req->method == SB_METHOD_HELLO) return do_hello(srv, s, req, reply);
  /* ping works before hello so a monitor can probe liveness cheaply. */
  if (req->method == SB_METHOD_PING) return sb_encode_result(&req->id, &res, reply);
  if (!s->greeted) return reply_error(srv, &req->id, SB_E_HELLO_REQUIRED, NULL, reply);

  switch (req->method) {
    case SB_METHOD_STATS:
      res.u.stats = srv->stats;
      res.u.stats.uptime_ms = uv_now(srv->loop) - srv->started_ms;
      return sb_encode_result(&req->id, &res, reply);
    default:
      /* Spawning lands with the helper pool; until then the methods are
       * refused by name rather than silently ignored. */
      return reply_error(srv, &req->id, SB_E_METHOD_NOT_FOUND,
                         "this build of the broker does not spawn yet", reply);
  }
}
