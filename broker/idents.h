/*
 * What the broker keeps for each client identity (identity.h): its helper
 * pool, the token its helpers run with, and the counts that the
 * per-identity limits bound. Loop thread only.
 *
 * An entry lives while the identity has a connection, work in flight
 * (a spawn, a pool refill) or a tracked child. Its pool is made at the
 * first use and ended pool.idle_ms after the identity's last connection and
 * work are gone, so an identity that comes back soon finds warm helpers and
 * one that left does not keep processes alive.
 */
#ifndef SB_BROKER_IDENTS_H
#define SB_BROKER_IDENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "identity.h"
#include "pool.h"

typedef struct sb__server sb__server;

typedef struct sb__ident {
  sb__server *srv;
  char key[SB__IDENTITY_KEY_BYTES];
  char user_sid[SB__SID_TEXT_BYTES];
  HANDLE token;         /* primary token for its helpers, or NULL (console) */
  sb__pool *pool;       /* NULL until needed, and again once idle */
  uint32_t connections; /* greeted connections */
  uint32_t work;        /* spawns and refills in flight */
  uint32_t spawns;      /* spawns in flight (also counted in work) */
  uint32_t children;    /* tracked children */
  bool pinned;          /* the pool stays until shutdown (the console broker's own) */
  uv_timer_t idle;      /* ends the pool pool.idle_ms after the last use */
  struct sb__ident *next;
} sb__ident;

/* Finds or makes the entry for id and counts one more connection. */
int sb__idents_attach(sb__server *srv, const sb__identity *id, sb__ident **out);
/* Makes (or finds) the entry for id and keeps its pool until shutdown:
 * a console broker's own identity, the only one it serves, has warm
 * helpers from the start. */
int sb__idents_pin(sb__server *srv, const sb__identity *id, sb__ident **out);
/* A connection of the entry closed. */
void sb__idents_detach(sb__ident *e);

/* The entry's pool, made now if needed. NULL on failure (logged). */
sb__pool *sb__idents_pool(sb__ident *e);

/* Work that uses the pool off the loop thread: begin before queueing it,
 * end in its completion callback. */
void sb__idents_work_begin(sb__ident *e);
void sb__idents_work_end(sb__ident *e);

/* A child of the identity started or was forgotten. */
void sb__idents_child_added(sb__ident *e);
void sb__idents_child_gone(sb__ident *e);

/* Idle and busy helpers of every pool. */
void sb__idents_pool_stats(sb__server *srv, uint64_t *idle, uint64_t *busy);
/* How many identities have an entry (tests, stats). */
size_t sb__idents_count(sb__server *srv);

/* The broker is stopping: pools that nothing uses end now, and the rest as
 * soon as their work ends. */
void sb__idents_shutdown(sb__server *srv);

#endif
