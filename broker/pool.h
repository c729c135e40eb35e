/*
 * The helper pool: suspended spawnbroker-helper.exe processes in the helper
 * job, leased exclusively, one spawn at a time each.
 *
 * Thread-safe: leases and returns happen on worker threads. The pool's own
 * mutex guards only its lists, never a CreateProcess of a child, so spawns
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
  uint32_t warm;        /* idle helpers kept ready */
  uint32_t max;         /* helpers alive at once, leased or idle */
  uint32_t recycle_after; /* spawns before a helper is replaced */
} sb__pool_config;

#define SB__POOL_WARM_DEFAULT 2
#define SB__POOL_MAX_DEFAULT 64
#define SB__POOL_RECYCLE_DEFAULT 100

typedef struct sb__pool_stats {
  uint64_t idle, busy, created, retired;
} sb__pool_stats;

typedef struct sb__pool sb__pool;

/* Creates the helper job and the pool; helpers are created lazily or by
 * sb__pool_fill. helper_path is the full path of spawnbroker-helper.exe. */
int sb__pool_create(const wchar_t *helper_path, const sb__pool_config *cfg,
                    sb__pool **out);
/* Closes the helper job, which kills every helper, and frees the pool. */
void sb__pool_destroy(sb__pool *pool);

/* Leases an idle helper, creating one if none is idle and the maximum allows.
 * A helper found dead is discarded and replaced. SB_E_HELPER_UNAVAILABLE
 * when the maximum is reached. */
int sb__pool_lease(sb__pool *pool, sb__helper **out);
/* Returns a helper. `clean` says every handle moved into it was verifiably
 * closed; an unclean, dead or worn-out helper is retired, never reused. */
void sb__pool_return(sb__pool *pool, sb__helper *h, bool clean);
/* Creates helpers until `warm` are idle (call from a worker thread). */
void sb__pool_fill(sb__pool *pool);

void sb__pool_get_stats(sb__pool *pool, sb__pool_stats *out);
/* The helper job, for tests and diagnostics. */
HANDLE sb__pool_job(sb__pool *pool);

#endif
