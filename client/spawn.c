/*
 * sb_client_spawn: one spawn per connection at a time, in pull or push
 * transfer mode.
 */
#include <string.h>

#include "client_internal.h"

static bool slot_free(const sb_client *c, const void *arg) {
  (void)arg;
  return !c->spawning;
}

/* Waits for the connection's spawn slot (the broker runs one spawn per
 * connection and would answer a second one Busy). The wait reads the pipe
 * when nobody else does: the slot may be held by a late spawn reply that
 * is still to be read. */
static int take_spawn_slot(sb_client *c, const sb__deadline *dl) {
  int rc;
  EnterCriticalSection(&c->lock);
  rc = sb__pump_locked(c, dl, slot_free, NULL);
  if (rc == SB_E_TIMEOUT) {
    sb__last_error_local(c->serial, rc, "another spawn on this connection took too long");
  } else {
    /* On a broken connection the spawn goes ahead only to fail with the
     * connection's error, like any other call. */
    c->spawning = true;
    rc = 0;
  }
  LeaveCriticalSection(&c->lock);
  return rc;
}

/* Gives the slot back, unless the spawn went out and timed out: then the
 * broker still works on it, and its late reply gives the slot back. */
static void give_spawn_slot(sb_client *c, bool late) {
  EnterCriticalSection(&c->lock);
  if (!late) {
    c->spawning = false;
    sb__wake_locked(c);
  }
  LeaveCriticalSection(&c->lock);
}

/* Copies the result and points each handle's name at the caller's own
 * string for it: the broker answers in request order with the same names. */
static int take_result(sb_client *c, const sb_spawn_params *p, const sb_spawn_result *r,
                       sb_spawn_result *out) {
  if (r->nhandles != p->nhandles) goto bad;
  out->pid = r->pid;
  out->nhandles = r->nhandles;
  for (size_t i = 0; i < r->nhandles; i++) {
    if (strcmp(r->handles[i].name, p->handles[i].name) != 0) goto bad;
    out->handles[i].name = p->handles[i].name;
    out->handles[i].value = r->handles[i].value;
  }
  return 0;
bad:
  memset(out, 0, sizeof *out);
  sb__last_error_local(c->serial, SB_E_BAD_REPLY,
                       "the spawn result does not list the request's handles in order");
  return SB_E_BAD_REPLY;
}

/* After a failed push-mode spawn: closes the copies in the broker that are
 * still the client's (the rule is in spawn_push.c). */
static void push_cleanup(sb_client *c, const sb__pending *pend, const int64_t *remote,
                         size_t n) {
  if (pend->sent) {
    /* Only the broker's own error reply to this request says what became
     * of the handles. A timeout or a lost connection after the request went
     * out leaves it unknown: the copies are then left in the broker, because
     * closing a value the broker has already closed could close whatever it
     * opened under the same value since. */
    if (!pend->done || pend->err != 0 || pend->in.kind != SB_INCOMING_ERROR) return;
    if (!sb__push_left_with_client(pend->in.error.rpc_code, pend->in.error.err)) return;
  }
  sb__push_close(c, remote, n);
}

static int spawn_in_slot(sb_client *c, const sb_spawn_params *p, sb_spawn_result *out,
                         const sb__deadline *dl, bool *late) {
  sb_request req;
  sb_result res;
  sb__pending pend;
  int64_t remote[SB_LIMIT_HANDLES];
  bool push = c->hello.transfer == SB_TRANSFER_PUSH && p->nhandles > 0;
  int rc;

  sb_request_init(&req, SB_METHOD_SPAWN, 0);
  req.params.spawn = *p;
  if (push) {
    sb_buf check = {0};
    /* Validate with the caller's own values before anything is duplicated:
     * a pseudo handle such as -1 must never reach DuplicateHandle, where it
     * would become a full-access handle to this process inside the broker. */
    rc = sb__encode(c, &req, &check);
    sb_buf_free(&check);
    if (rc != 0) return rc;
    rc = sb__push_handles(c, p, remote);
    if (rc != 0) return rc;
    for (size_t i = 0; i < p->nhandles; i++) req.params.spawn.handles[i].value = remote[i];
  }
  rc = sb__request(c, &req, dl, &res, &pend);
  if (rc == 0) rc = take_result(c, p, &res.u.spawn, out);
  /* A result that does not fit the request still means the broker spawned
   * and took the handles over; only failed requests are cleaned up. */
  if (rc != 0 && push && !(pend.done && pend.err == 0 && pend.in.kind == SB_INCOMING_RESULT))
    push_cleanup(c, &pend, remote, p->nhandles);
  *late = pend.late;
  sb_result_free(&res);
  sb__pending_free(&pend);
  return rc;
}

int sb_client_spawn(sb_client *c, const sb_spawn_params *p, sb_spawn_result *out) {
  sb__deadline dl;
  bool late = false;
  int rc;
  if (out != NULL) memset(out, 0, sizeof *out);
  if (c == NULL || p == NULL || out == NULL) {
    sb__last_error_local(c != NULL ? c->serial : 0, SB_E_INVALID_ARGUMENT,
                         "sb_client_spawn needs a client, params and out");
    return SB_E_INVALID_ARGUMENT;
  }
  dl = sb__deadline_in(sb__call_timeout(c));
  rc = take_spawn_slot(c, &dl);
  if (rc != 0) return rc;
  rc = spawn_in_slot(c, p, out, &dl, &late);
  give_spawn_slot(c, late);
  return rc;
}
