#include "idents.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"

static void on_idle(uv_timer_t *t);

static bool pool_in_use(const sb__ident *e) {
  return e->pinned || e->connections > 0 || e->work > 0;
}

static void entry_closed(uv_handle_t *h) {
  sb__ident *e = h->data;
  if (e->token != NULL) CloseHandle(e->token);
  free(e);
}

/* Unlinks and frees an entry nothing refers to any more. */
static void entry_free(sb__ident *e) {
  sb__ident **pp;
  for (pp = &e->srv->idents; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == e) {
      *pp = e->next;
      break;
    }
  }
  uv_close((uv_handle_t *)&e->idle, entry_closed);
}

static void end_pool(sb__ident *e) {
  if (e->pool != NULL) {
    sb__log(SB_LOG_DEBUG, "ending the helper pool of %s", e->key);
    sb__pool_destroy(e->pool);
    e->pool = NULL;
  }
}

/* Whatever is no longer needed goes: the pool once nothing uses it, the
 * entry once nothing refers to it. */
static void settle(sb__ident *e) {
  if (pool_in_use(e)) return;
  if (e->pool != NULL && !e->srv->stopping && e->srv->cfg.s.pool_idle_ms > 0) {
    if (!uv_is_active((uv_handle_t *)&e->idle))
      uv_timer_start(&e->idle, on_idle, e->srv->cfg.s.pool_idle_ms, 0);
    return;
  }
  end_pool(e);
  if (e->children == 0) entry_free(e);
}

static void on_idle(uv_timer_t *t) {
  sb__ident *e = t->data;
  if (pool_in_use(e)) return;
  end_pool(e);
  if (e->children == 0) entry_free(e);
}

static int find_or_make(sb__server *srv, const sb__identity *id, sb__ident **out) {
  sb__ident *e;
  for (e = srv->idents; e != NULL; e = e->next) {
    if (strcmp(e->key, id->key) == 0) {
      uv_timer_stop(&e->idle);
      *out = e;
      return 0;
    }
  }
  e = calloc(1, sizeof *e);
  if (e == NULL) return SB_E_NOMEM;
  e->srv = srv;
  memcpy(e->key, id->key, sizeof e->key);
  memcpy(e->user_sid, id->user_sid, sizeof e->user_sid);
  if (id->primary != NULL && !DuplicateHandle(GetCurrentProcess(), id->primary,
                                              GetCurrentProcess(), &e->token, 0, FALSE,
                                              DUPLICATE_SAME_ACCESS)) {
    free(e);
    return SB_E_INTERNAL;
  }
  if (uv_timer_init(srv->loop, &e->idle) != 0) {
    if (e->token != NULL) CloseHandle(e->token);
    free(e);
    return SB_E_INTERNAL;
  }
  e->idle.data = e;
  e->next = srv->idents;
  srv->idents = e;
  *out = e;
  return 0;
}

int sb__idents_attach(sb__server *srv, const sb__identity *id, sb__ident **out) {
  int rc = find_or_make(srv, id, out);
  if (rc == 0) (*out)->connections++;
  return rc;
}

int sb__idents_pin(sb__server *srv, const sb__identity *id, sb__ident **out) {
  int rc = find_or_make(srv, id, out);
  if (rc == 0) (*out)->pinned = true;
  return rc;
}

void sb__idents_detach(sb__ident *e) {
  e->connections--;
  settle(e);
}

sb__pool *sb__idents_pool(sb__ident *e) {
  sb__pool_config pc;
  const sb__settings *s = &e->srv->cfg.s;
  if (e->pool != NULL) return e->pool;
  pc.warm = s->pool_warm;
  pc.max = s->pool_max_helpers_per_identity;
  pc.recycle_after = s->pool_recycle;
  if (sb__pool_create(e->srv->helpers, e->token, &pc, &e->pool) != 0) {
    sb__log(SB_LOG_ERROR, "cannot make a helper pool for %s", e->key);
    e->pool = NULL;
  }
  return e->pool;
}

void sb__idents_work_begin(sb__ident *e) {
  uv_timer_stop(&e->idle);
  e->work++;
}

void sb__idents_work_end(sb__ident *e) {
  e->work--;
  settle(e);
}

void sb__idents_child_added(sb__ident *e) { e->children++; }

void sb__idents_child_gone(sb__ident *e) {
  e->children--;
  if (e->children == 0 && e->pool == NULL && !pool_in_use(e)) entry_free(e);
}

void sb__idents_pool_stats(sb__server *srv, uint64_t *idle, uint64_t *busy) {
  *idle = *busy = 0;
  for (sb__ident *e = srv->idents; e != NULL; e = e->next) {
    sb__pool_stats ps;
    if (e->pool == NULL) continue;
    sb__pool_get_stats(e->pool, &ps);
    *idle += ps.idle;
    *busy += ps.busy;
  }
}

size_t sb__idents_count(sb__server *srv) {
  size_t n = 0;
  for (sb__ident *e = srv->idents; e != NULL; e = e->next) n++;
  return n;
}

void sb__idents_shutdown(sb__server *srv) {
  sb__ident *e = srv->idents, *next;
  for (; e != NULL; e = next) {
    next = e->next;
    e->pinned = false;
    uv_timer_stop(&e->idle);
    settle(e);
  }
}
