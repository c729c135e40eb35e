#include "dispatch.h"

#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "children.h"
#include "log.h"
#include "registry.h"
#include "spawn.h"
#include "transfer.h"
#ifdef SB_TEST_HOOKS
#include "test_gate.h"
#endif

struct sb__spawn_work {
  uv_work_t work;
  sb__conn *conn; /* referenced */
  sb_request req; /* owned */
  sb__spawn_job job;
  sb__spawn_work *next; /* in srv->spawns until done */
  bool cut_off;         /* answered at the drain bound (sb__dispatch_cut_off) */
};

static void send_result(sb__conn *c, const sb_id *id, const sb_result *res) {
  sb_buf buf = {0};
  if (sb_encode_result(id, res, &buf) == 0)
    sb__conn_send(c, &buf);
  else
    sb__conn_send_error(c, id, SB_E_NOMEM, NULL, NULL);
}

/* The user SID of the client process, as text: children belong to the user
 * who asked for them, so `spawnctl kill` from another connection of the
 * same user works and nobody else's does. */
static int client_owner(HANDLE process, char *out, size_t cap) {
  HANDLE token = NULL;
  union {
    TOKEN_USER user;
    unsigned char bytes[256];
  } info;
  DWORD len = 0;
  char *sid = NULL;
  int rc = SB_E_ACCESS_DENIED;

  if (!OpenProcessToken(process, TOKEN_QUERY, &token)) return rc;
  if (GetTokenInformation(token, TokenUser, &info, sizeof info, &len) &&
      ConvertSidToStringSidA(info.user.User.Sid, &sid)) {
    snprintf(out, cap, "%s", sid);
    LocalFree(sid);
    rc = 0;
  }
  CloseHandle(token);
  return rc;
}

/* Settles who the client is and how its handles will travel. Pull needs the
 * client process opened for PROCESS_DUP_HANDLE; when that is refused (an
 * elevated client and an unelevated broker) "auto" falls back to push. */
static int identify_client(sb__conn *c, sb_transfer wanted, char *detail, size_t cap) {
  sb__session *s = &c->session;
  sb_transfer mode = c->srv->cfg.s.transfer != SB_TRANSFER_AUTO ? c->srv->cfg.s.transfer : wanted;
  HANDLE process;
  ULONG pid = 0;

  if (c->srv->cfg.s.transfer != SB_TRANSFER_AUTO && wanted != SB_TRANSFER_AUTO &&
      wanted != c->srv->cfg.s.transfer) {
    snprintf(detail, cap, "this broker uses %s transfer only",
             sb_transfer_name(c->srv->cfg.s.transfer));
    return SB_E_TRANSFER_UNAVAILABLE;
  }
  if (!GetNamedPipeClientProcessId(c->pipe.handle, &pid)) {
    snprintf(detail, cap, "the client's process id is unknown");
    return SB_E_ACCESS_DENIED;
  }
  process = OpenProcess(PROCESS_DUP_HANDLE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
  if (process == NULL) {
    if (mode == SB_TRANSFER_PULL) {
      snprintf(detail, cap, "the broker cannot open the client for pull transfer");
      return SB_E_TRANSFER_UNAVAILABLE;
    }
    mode = SB_TRANSFER_PUSH;
    process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
  }
  if (mode == SB_TRANSFER_AUTO) mode = SB_TRANSFER_PULL;
  if (process == NULL || client_owner(process, s->owner, sizeof s->owner) != 0) {
    if (process != NULL) CloseHandle(process);
    snprintf(detail, cap, "the client's identity cannot be read");
    return SB_E_ACCESS_DENIED;
  }
  s->client_pid = pid;
  s->transfer = mode;
  if (mode == SB_TRANSFER_PULL) {
    s->client_process = process;
    sb__registry_own(process);
  } else {
    CloseHandle(process);
  }
  return 0;
}

static void do_hello(sb__conn *c, const sb_request *req) {
  const sb_hello_params *p = &req->params.hello;
  sb__session *s = &c->session;
  sb_result res;
  char detail[128];
  int rc;

  if (s->greeted) {
    sb__conn_send_error(c, &req->id, SB_E_ALREADY_GREETED, NULL, NULL);
    return;
  }
  if (p->protocol < SB_PROTOCOL_VERSION_MIN || p->protocol > SB_PROTOCOL_VERSION_MAX) {
    snprintf(detail, sizeof detail, "this broker speaks protocol %d to %d",
             SB_PROTOCOL_VERSION_MIN, SB_PROTOCOL_VERSION_MAX);
    sb__conn_send_error(c, &req->id, SB_E_UNSUPPORTED_PROTOCOL, detail, "params.protocol");
    return;
  }
  detail[0] = '\0';
  rc = identify_client(c, p->transfer, detail, sizeof detail);
  if (rc != 0) {
    sb__conn_send_error(c, &req->id, rc, detail, NULL);
    return;
  }
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_HELLO;
  res.u.hello.protocol = p->protocol;
  res.u.hello.broker_version = SB_VERSION;
  res.u.hello.pid = (uint32_t)GetCurrentProcessId();
  res.u.hello.transfer = s->transfer;
  res.u.hello.max_frame_bytes = SB_LIMIT_FRAME_BYTES;
  res.u.hello.max_handles = SB_LIMIT_HANDLES;
  res.u.hello.max_args = SB_LIMIT_ARGS;
  res.u.hello.max_env = SB_LIMIT_ENV;
  s->greeted = true;
  s->protocol = p->protocol;
  sb__log(SB_LOG_DEBUG, "hello from pid %lu (%s transfer)", s->client_pid,
          sb_transfer_name(s->transfer));
  send_result(c, &req->id, &res);
}

static void spawn_work(uv_work_t *w) {
  sb__spawn_work *sw = w->data;
#ifdef SB_TEST_HOOKS
  /* Tests hold a spawn here to have one in flight when a stop begins. */
  sb__test_gate_pass();
#endif
  sb__spawn_run(&sw->job);
}

static void fill_work(uv_work_t *w) { sb__pool_fill(w->data); }

static void fill_done(uv_work_t *w, int status) {
  (void)status;
  free(w);
}

void sb__dispatch_fill_pool(sb__server *srv) {
  /* Helpers are created on a worker thread, after the reply that used one
   * went out, so no request waits for the pool to be topped up. */
  uv_work_t *w = malloc(sizeof *w);
  if (w == NULL) return;
  w->data = srv->pool;
  if (uv_queue_work(srv->loop, w, fill_work, fill_done) != 0) free(w);
}

static void unlink_spawn(sb__server *srv, sb__spawn_work *sw) {
  for (sb__spawn_work **pp = &srv->spawns; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == sw) {
      *pp = sw->next;
      break;
    }
  }
  if (sw->cut_off)
    srv->spawns_cut_off--;
  else
    srv->spawns_in_flight--;
}

/* A spawn given up on at the drain bound finished after all: its client
 * already has its answer, so nothing it made may live on. */
static void discard_late_spawn(sb__spawn_job *j) {
  if (j->err != 0) return;
  if (j->job != NULL) {
    TerminateJobObject(j->job, 1);
    CloseHandle(j->job);
  }
  TerminateProcess(j->process, 1);
  CloseHandle(j->process);
}

static void spawn_done(uv_work_t *w, int status) {
  sb__spawn_work *sw = w->data;
  sb__conn *c = sw->conn;
  sb__server *srv = c->srv;
  sb__spawn_job *j = &sw->job;

  unlink_spawn(srv, sw);
  c->spawn_in_flight = false;
  if (status == UV_ECANCELED) {
    /* Cancelled before it started (sb__dispatch_cut_off): refused as on
     * arrival, so pushed copies stay the client's to close. */
    sb__conn_send_error(c, &sw->req.id, SB_E_SHUTTING_DOWN, "the broker stopped before this "
                        "spawn started", NULL);
  } else if (sw->cut_off) {
    discard_late_spawn(j);
  } else if (j->err != 0) {
    srv->stats.spawns_failed++;
    sb__log(SB_LOG_DEBUG, "spawn of %s failed: %s %s", sw->req.params.spawn.program,
            sb_err_name(j->err), j->detail);
    sb__conn_send_error(c, &sw->req.id, j->err, j->detail, j->path);
  } else if (!sb__conn_open(c) && sw->req.params.spawn.lifetime == SB_LIFETIME_CONNECTION) {
    /* The client left while its child was being made: a connection child
     * dies with the connection it never got to see. */
    if (j->job != NULL) CloseHandle(j->job);
    TerminateProcess(j->process, 1);
    CloseHandle(j->process);
    srv->stats.spawns_failed++;
  } else if (sb__children_add(srv, c, j->process, j->job, j->pid, &sw->req.params.spawn) != 0) {
    srv->stats.spawns_failed++;
    sb__conn_send_error(c, &sw->req.id, SB_E_INTERNAL, "the child cannot be tracked", NULL);
  } else {
    sb_result res;
    srv->stats.spawns_ok++;
    memset(&res, 0, sizeof res);
    res.method = SB_METHOD_SPAWN;
    res.u.spawn = j->result;
    send_result(c, &sw->req.id, &res);
  }
  sb_request_free(&sw->req);
  sb__conn_unref(c);
  free(sw);
  if (!srv->stopping)
    sb__dispatch_fill_pool(srv);
  else
    sb__server_spawn_finished(srv);
}

void sb__dispatch_cut_off(sb__server *srv) {
  for (sb__spawn_work *sw = srv->spawns; sw != NULL; sw = sw->next) {
    if (sw->cut_off) continue;
    /* Not started yet: its done callback comes with UV_ECANCELED. */
    if (uv_cancel((uv_req_t *)&sw->work) == 0) continue;
    sw->cut_off = true;
    srv->spawns_in_flight--;
    srv->spawns_cut_off++;
    srv->stats.spawns_failed++;
    sb__log(SB_LOG_WARN, "stop: gave up on the spawn of %s (stop.drain_ms passed)",
            sw->req.params.spawn.program);
    sb__conn_send_error(sw->conn, &sw->req.id, SB_E_SPAWN_FAILED,
                        "the broker stopped before this spawn finished (stop.drain_ms)", NULL);
  }
}

static void do_spawn(sb__conn *c, sb_request *req) {
  sb__spawn_work *sw;

  if (c->srv->stopping) {
    sb__conn_send_error(c, &req->id, SB_E_SHUTTING_DOWN, NULL, NULL);
    return;
  }
  if (c->spawn_in_flight) {
    sb__conn_send_error(c, &req->id, SB_E_BUSY, "one spawn per connection at a time", NULL);
    return;
  }
  sw = calloc(1, sizeof *sw);
  if (sw == NULL) {
    /* Taken on but not run: pushed copies are still the broker's to close. */
    if (c->session.transfer == SB_TRANSFER_PUSH) sb__transfer_push_discard(&req->params.spawn);
    sb__conn_send_error(c, &req->id, SB_E_NOMEM, NULL, NULL);
    return;
  }
  sw->req = *req;
  req->sb__owned = NULL; /* the work item owns the request now */
  sw->conn = c;
  sw->work.data = sw;
  sw->job.params = &sw->req.params.spawn;
  sw->job.mode = c->session.transfer;
  sw->job.client_process = c->session.client_process;
  sw->job.pool = c->srv->pool;
  sb__conn_ref(c);
  c->spawn_in_flight = true;
  if (uv_queue_work(c->srv->loop, &sw->work, spawn_work, spawn_done) != 0) {
    c->spawn_in_flight = false;
    if (sw->job.mode == SB_TRANSFER_PUSH) sb__transfer_push_discard(&sw->req.params.spawn);
    sb__conn_send_error(c, &sw->req.id, SB_E_INTERNAL, "no worker thread", NULL);
    sb_request_free(&sw->req);
    sb__conn_unref(c);
    free(sw);
    return;
  }
  /* Counted until its done callback, so a stop can wait for it. */
  sw->next = c->srv->spawns;
  c->srv->spawns = sw;
  c->srv->spawns_in_flight++;
}

void sb__dispatch(sb__conn *c, sb_request *req) {
  sb__server *srv = c->srv;
  sb_result res;

  memset(&res, 0, sizeof res);
  res.method = req->method;

  if (req->method == SB_METHOD_HELLO) {
    do_hello(c, req);
    return;
  }
  /* ping works before hello so a monitor can probe liveness cheaply. */
  if (req->method == SB_METHOD_PING) {
    send_result(c, &req->id, &res);
    return;
  }
  if (!c->session.greeted) {
    sb__conn_send_error(c, &req->id, SB_E_HELLO_REQUIRED, NULL, NULL);
    return;
  }
  switch (req->method) {
    case SB_METHOD_SPAWN:
      do_spawn(c, req);
      break;
    case SB_METHOD_WAIT:
      sb__children_wait(srv, c, req);
      break;
    case SB_METHOD_KILL:
      sb__children_kill(srv, c, req);
      break;
    case SB_METHOD_LIST:
      sb__children_list(srv, c, req);
      break;
    case SB_METHOD_STATS: {
      sb__pool_stats ps;
      sb__pool_get_stats(srv->pool, &ps);
      res.u.stats = srv->stats;
      res.u.stats.uptime_ms = uv_now(srv->loop) - srv->started_ms;
      res.u.stats.helpers_idle = ps.idle;
      res.u.stats.helpers_busy = ps.busy;
      res.u.stats.helpers_created = ps.created;
      res.u.stats.helpers_retired = ps.retired;
      send_result(c, &req->id, &res);
      break;
    }
    default:
      sb__conn_send_error(c, &req->id, SB_E_METHOD_NOT_FOUND, NULL, NULL);
      break;
  }
}
