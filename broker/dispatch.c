#include "dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "children.h"
#include "hello.h"
#include "idents.h"
#include "log.h"
#include "registry.h"
#include "request_limits.h"
#include "self_stats.h"
#include "spawn.h"
#include "transfer.h"
#ifdef SB_TEST_HOOKS
#include "test_gate.h"
#endif

struct sb__spawn_work {
  uv_work_t work;
  sb__conn *conn;   /* referenced */
  sb__ident *ident; /* its work counts the spawn */
  sb_request req;   /* owned */
  sb__spawn_job job;
  sb__spawn_work *next; /* in srv->spawns until done */
  bool cut_off;         /* answered at the drain bound (sb__dispatch_cut_off) */
};

void sb__dispatch_send_result(sb__conn *c, const sb_id *id, const sb_result *res) {
  sb_buf buf = {0};
  if (sb_encode_result(id, res, &buf) == 0)
    sb__conn_send(c, &buf);
  else
    sb__conn_send_error(c, id, SB_E_NOMEM, NULL, NULL);
}

static void spawn_work(uv_work_t *w) {
  sb__spawn_work *sw = w->data;
  sb__stage_mark(&sw->job.clock, SB__STAGE_QUEUE);
#ifdef SB_TEST_HOOKS
  /* Tests hold a spawn here to have one in flight when a stop begins. */
  sb__test_gate_pass();
#endif
  sb__spawn_run(&sw->job);
}

typedef struct sb__fill_work {
  uv_work_t work;
  sb__ident *ident;
  sb__pool *pool;
} sb__fill_work;

static void fill_work(uv_work_t *w) {
  sb__fill_work *fw = w->data;
  sb__pool_fill(fw->pool);
}

static void fill_done(uv_work_t *w, int status) {
  sb__fill_work *fw = w->data;
  (void)status;
  sb__idents_work_end(fw->ident);
  free(fw);
}

void sb__dispatch_fill_pool(sb__ident *e) {
  /* Helpers are created on a worker thread, after the reply that used one
   * went out, so no request waits for the pool to be topped up. */
  sb__fill_work *fw;
  sb__pool *pool;
  if (e == NULL || e->srv->stopping) return;
  pool = sb__idents_pool(e);
  /* A full pool, the usual case after a spawn: nothing to make, and no
   * worker to wake while the new child starts up. */
  if (pool == NULL || !sb__pool_wants_fill(pool)) return;
  fw = calloc(1, sizeof *fw);
  if (fw == NULL) return;
  fw->ident = e;
  fw->pool = pool;
  fw->work.data = fw;
  sb__idents_work_begin(e);
  if (uv_queue_work(e->srv->loop, &fw->work, fill_work, fill_done) != 0) {
    sb__idents_work_end(e);
    free(fw);
  }
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
  sb__ident *e = sw->ident;

  unlink_spawn(srv, sw);
  c->spawn_in_flight = false;
  e->spawns--;
  if (status == UV_ECANCELED) {
    /* Cancelled before it started (sb__dispatch_cut_off): refused as on
     * arrival, so pushed copies stay the client's to close. */
    sb__conn_send_error(c, &sw->req.id, SB_E_SHUTTING_DOWN, "the broker stopped before this "
                        "spawn started", NULL);
  } else if (sw->cut_off) {
    discard_late_spawn(j);
  } else if (j->err != 0) {
    srv->stats.spawns_failed++;
    if (j->err == SB_E_HELPER_UNAVAILABLE) srv->stats.limit_helpers++;
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
  } else if (sb__children_add(srv, c, e, j->process, j->job, j->pid, &sw->req.params.spawn) !=
             0) {
    srv->stats.spawns_failed++;
    sb__conn_send_error(c, &sw->req.id, SB_E_INTERNAL, "the child cannot be tracked", NULL);
  } else {
    sb_result res;
    sb_buf buf = {0};
    memset(&res, 0, sizeof res);
    res.method = SB_METHOD_SPAWN;
    res.u.spawn = j->result;
    /* A child whose client cannot be told about it is not left running:
     * nobody would know its pid, and nothing of the client's would wait
     * for it. Its whole job ends; the exit watch then forgets it. */
    if (sb_encode_result(&sw->req.id, &res, &buf) != 0 || sb__conn_send_reply(c, &buf) != 0) {
      sb_buf_free(&buf);
      sb__children_kill_new(srv, j->pid);
      srv->stats.spawns_failed++;
    } else {
      srv->stats.spawns_ok++;
      sb__stage_mark(&j->clock, SB__STAGE_REPLY);
      sb__stage_add(&j->clock, &srv->stats);
    }
  }
  sb_request_free(&sw->req);
  sb__conn_unref(c);
  free(sw);
  if (!srv->stopping) sb__dispatch_fill_pool(e);
  sb__idents_work_end(e);
  if (srv->stopping) sb__server_spawn_finished(srv);
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

/* Whether the identity may start one more spawn: limits that concern what
 * it has running, not this request's shape. */
static int check_identity_limits(sb__conn *c, const sb_spawn_params *p, char *detail,
                                 size_t cap) {
  sb__server *srv = c->srv;
  const sb__settings *s = &srv->cfg.s;
  sb__ident *e = c->session.ident;
  int rc = sb__request_limits_check(p, s, detail, cap);
  if (rc != 0) {
    srv->stats.limit_handles++;
    return rc;
  }
  if (e->spawns >= s->max_spawns_per_identity) {
    srv->stats.limit_spawns_in_flight++;
    sb__log(SB_LOG_WARN, "limits.spawns_in_flight_per_identity (%u) reached for %s",
            (unsigned)s->max_spawns_per_identity, e->user_sid);
    snprintf(detail, cap, "limits.spawns_in_flight_per_identity: %u spawns of this identity "
             "are running", (unsigned)s->max_spawns_per_identity);
    return SB_E_LIMIT_REACHED;
  }
  /* Spawns in flight count too: each may add a child. */
  if (e->children + e->spawns >= s->max_children_per_identity) {
    srv->stats.limit_children++;
    sb__log(SB_LOG_WARN, "limits.children_per_identity (%u) reached for %s",
            (unsigned)s->max_children_per_identity, e->user_sid);
    snprintf(detail, cap, "limits.children_per_identity: this identity has %u children the "
             "broker tracks", (unsigned)s->max_children_per_identity);
    return SB_E_LIMIT_REACHED;
  }
  return 0;
}

static void do_spawn(sb__conn *c, sb_request *req) {
  sb__spawn_work *sw;
  sb__ident *e = c->session.ident;
  sb__pool *pool;
  char detail[192];
  int rc;

  if (c->srv->stopping) {
    sb__conn_send_error(c, &req->id, SB_E_SHUTTING_DOWN, NULL, NULL);
    return;
  }
  if (c->spawn_in_flight) {
    sb__conn_send_error(c, &req->id, SB_E_BUSY, "one spawn per connection at a time", NULL);
    return;
  }
  rc = check_identity_limits(c, &req->params.spawn, detail, sizeof detail);
  pool = rc == 0 ? sb__idents_pool(e) : NULL;
  if (rc == 0 && pool == NULL) {
    rc = SB_E_HELPER_UNAVAILABLE;
    snprintf(detail, sizeof detail, "the helper pool of this identity cannot be made");
  }
  sw = rc == 0 ? calloc(1, sizeof *sw) : NULL;
  if (rc != 0 || sw == NULL) {
    /* Taken on but not run: pushed copies are the broker's to close, unless
     * the error is one after which the client closes them itself. */
    int err = rc != 0 ? rc : SB_E_NOMEM;
    if (c->session.transfer == SB_TRANSFER_PUSH &&
        !sb_err_push_stays_with_client(sb_err_rpc_code(err), err))
      sb__transfer_push_discard(&req->params.spawn);
    if (rc != 0) {
      c->srv->stats.spawns_failed++;
      sb__conn_send_error(c, &req->id, rc, detail, NULL);
      return;
    }
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
  sw->job.pool = pool;
  sw->job.token = c->session.identity.primary;
  sw->job.service = c->srv->cfg.service;
  sw->job.test_delay_ms = c->srv->cfg.test_spawn_delay_ms;
  sb__stage_start(&sw->job.clock, c->frame_at);
  sw->ident = e;
  sb__conn_ref(c);
  c->spawn_in_flight = true;
  e->spawns++;
  sb__idents_work_begin(e);
  sb__stage_mark(&sw->job.clock, SB__STAGE_DECODE);
  if (uv_queue_work(c->srv->loop, &sw->work, spawn_work, spawn_done) != 0) {
    c->spawn_in_flight = false;
    e->spawns--;
    sb__idents_work_end(e);
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
    sb__hello(c, req);
    return;
  }
  /* ping works before hello so a monitor can probe liveness cheaply. */
  if (req->method == SB_METHOD_PING) {
    sb__dispatch_send_result(c, &req->id, &res);
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
      sb__helpers_get_stats(srv->helpers, &ps);
      res.u.stats = srv->stats;
      res.u.stats.uptime_ms = uv_now(srv->loop) - srv->started_ms;
      res.u.stats.cpu_us = sb__self_cpu_us();
      res.u.stats.heap_bytes = sb__self_heap_bytes();
      sb__idents_pool_stats(srv, &res.u.stats.helpers_idle, &res.u.stats.helpers_busy);
      res.u.stats.helpers_created = ps.created;
      res.u.stats.helpers_retired = ps.retired;
      sb__dispatch_send_result(c, &req->id, &res);
      break;
    }
    default:
      sb__conn_send_error(c, &req->id, SB_E_METHOD_NOT_FOUND, NULL, NULL);
      break;
  }
}
