/*
 * Helper pools: suspended spawnbroker-helper.exe processes, leased
 * exclusively, one spawn at a time each.
 *
 * There is one pool per client identity (identity.h): a helper is created
 * with that identity's token and never serves another identity, because a
 * child inherits its parent's job, session and device map, and a helper's
 * handle table briefly holds its client's handles (SECURITY-NOTES T4).
 * Every pool shares one sb__helpers: the broker's kill-on-close helper job
 * that every helper is created in, and the budget of helpers alive at once
 * across all pools (pool.max_helpers).
 *
 * Thread-safe: leases and returns happen on worker threads. A pool's lock
 * guards only its lists, never a CreateProcess of a child, so spawns
 * through different helpers run fully in parallel.
 */
#ifndef SB_BROKER_POOL_H
#define SB_BROKER_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <windows.h>

typedef struct sb__helper {
  HANDLE process;
  HANDLE thread;
  DWORD pid;
  uint32_t uses;
  struct sb__helper *next;
} sb__helper;

typedef struct sb__pool_config {
  uint32_t warm;          /* idle helpers kept ready */
  uint32_t max;           /* helpers alive at once in this pool, leased or idle */
  uint32_t recycle_after; /* spawns before a helper is replaced */
} sb__pool_config;

typedef struct sb__pool_stats {
  uint64_t idle, busy, created, retired;
} sb__pool_stats;

typedef struct sb__helpers sb__helpers;
typedef struct sb__pool sb__pool;

/* Creates the helper job. helper_path is the full path of
 * spawnbroker-helper.exe; max bounds the helpers of all pools together. */
int sb__helpers_create(const wchar_t *helper_path, uint32_t max, sb__helpers **out);
/* Closes the helper job, which kills every helper of every pool. Call once
 * no pool is used any more; pools must be destroyed first. */
void sb__helpers_destroy(sb__helpers *hs);
/* The helper job, for the registry and tests. */
HANDLE sb__helpers_job(sb__helpers *hs);
/* Helpers alive, created and retired, all pools together; idle and busy
 * are summed by the caller over its pools. */
void sb__helpers_get_stats(sb__helpers *hs, sb__pool_stats *out);

/* Creates a pool whose helpers run with `token` (a primary token, which the
 * pool duplicates; NULL: the broker's own). Helpers are created lazily or
 * by sb__pool_fill. */
int sb__pool_create(sb__helpers *hs, HANDLE token, const sb__pool_config *cfg, sb__pool **out);
/* Ends the pool's idle helpers and frees it. No lease may be out. */
void sb__pool_destroy(sb__pool *pool);

/* Leases an idle helper, creating one if none is idle and both the pool's
 * and the global maximum allow. A helper found dead is discarded and
 * replaced. SB_E_HELPER_UNAVAILABLE when a maximum is reached. */
int sb__pool_lease(sb__pool *pool, sb__helper **out);
/* Returns a helper. `clean` says every handle moved into it was verifiably
 * closed; an unclean, dead or worn-out helper is retired, never reused. */
void sb__pool_return(sb__pool *pool, sb__helper *h, bool clean);
/* Creates helpers until `warm` are idle (call from a worker thread). */
void sb__pool_fill(sb__pool *pool);
/* Whether sb__pool_fill would have anything to do now: fewer than `warm`
 * helpers idle or being made. A hint, read without creating anything, so
 * the loop need not wake a worker after every spawn of a full pool. */
bool sb__pool_wants_fill(sb__pool *pool);

/* This pool's idle and busy helpers. */
void sb__pool_get_stats(sb__pool *pool, sb__pool_stats *out);

#endif
