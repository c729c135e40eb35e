#include "pool.h"

#include <stdlib.h>
#include <wchar.h>

#include "attrs.h"
#include "createproc.h"
#include "fault.h"
#include "job.h"
#include "log.h"
#include "registry.h"
#include "sb_errors.h"

struct sb__helpers {
  HANDLE job;
  HANDLE nul; /* the NUL device, non-inheritable: the helpers' std handles */
  wchar_t *helper_path;
  LONG max;            /* pool.max_helpers */
  volatile LONG alive; /* helpers alive or being created, all pools */
  volatile LONG64 created, retired;
};

struct sb__pool {
  sb__helpers *hs;
  HANDLE token; /* NULL: the broker's own */
  SRWLOCK lock;
  sb__pool_config cfg;
  sb__helper *idle;   /* singly linked */
  uint32_t nidle;
  uint32_t nbusy;
  uint32_t ncreating; /* helpers sb__pool_fill is creating right now */
  CONDITION_VARIABLE filled; /* signalled when a helper becomes idle or a slot frees */
};

/* Takes one slot of the global budget, or says there is none. */
static bool budget_take(sb__helpers *hs) {
  for (;;) {
    LONG n = hs->alive;
    if (n >= hs->max) return false;
    if (InterlockedCompareExchange(&hs->alive, n + 1, n) == n) return true;
  }
}

static void budget_give(sb__helpers *hs) { InterlockedDecrement(&hs->alive); }

static void helper_destroy(sb__pool *pool, sb__helper *h) {
  /* Terminating is redundant with the job for a healthy pool but makes a
   * retired helper disappear now rather than at broker exit. */
  TerminateProcess(h->process, 0);
  /* Closed first, then disowned (registry.h says why). */
  CloseHandle(h->thread);
  CloseHandle(h->process);
  sb__registry_disown(h->thread);
  sb__registry_disown(h->process);
  free(h);
  budget_give(pool->hs);
}

/* A helper runs as its identity (service mode: the client's primary
 * token, in the client's Windows session), so that the children it parents
 * get the client's session, and a helper that cannot be opened by one
 * client cannot serve another. */
static BOOL create_process(sb__pool *pool, wchar_t *cmd, DWORD flags, STARTUPINFOEXW *si,
                           PROCESS_INFORMATION *pi) {
  return sb__create_process(pool->token, pool->hs->helper_path, cmd, FALSE, flags, NULL, NULL,
                            &si->StartupInfo, pi);
}

/* Creates one suspended helper inside the helper job, with the pool's
 * token when it has one. Runs without the pool lock: process creation is
 * the slow part of the pool. */
static int helper_create(sb__pool *pool, sb__helper **out) {
  sb__helpers *hs = pool->hs;
  STARTUPINFOEXW si;
  PROCESS_INFORMATION pi;
  sb__attrs attrs;
  DWORD flags = CREATE_SUSPENDED | DETACHED_PROCESS | EXTENDED_STARTUPINFO_PRESENT;
  sb__helper *h = calloc(1, sizeof *h);
  wchar_t cmd[] = L"spawnbroker-helper";
  int rc;

  if (h == NULL) return SB_E_NOMEM;
  /* In the helper job from its creation (attrs.h): a broker killed while
   * it creates a helper leaves no suspended helper behind. */
  rc = sb__attrs_build(&attrs, NULL, NULL, 0, &hs->job);
  if (rc != 0) {
    sb__log(SB_LOG_ERROR, "cannot build a helper's attribute list: error %lu", attrs.error);
    free(h);
    return SB_E_HELPER_UNAVAILABLE;
  }
  ZeroMemory(&si, sizeof si);
  si.StartupInfo.cb = sizeof si;
  si.lpAttributeList = attrs.list;
  /* The helper must start with an empty handle table that only our
   * DuplicateHandle calls fill: no handle is inherited, and
   * DETACHED_PROCESS with explicitly empty std handles keeps it off the
   * broker's console. Without that, the console's std handles are
   * duplicated into it as inheritable handles (Wine does so even with
   * bInheritHandles FALSE), and a child that names no stdin would then
   * receive the helper's. CREATE_BREAKAWAY_FROM_JOB keeps the helper out of
   * any job the broker itself runs in (a service host's, a test runner's);
   * where that job forbids breakaway we retry without it. */
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = si.StartupInfo.hStdOutput = si.StartupInfo.hStdError = hs->nul;
  if (!create_process(pool, cmd, flags | CREATE_BREAKAWAY_FROM_JOB, &si, &pi) &&
      !create_process(pool, cmd, flags, &si, &pi)) {
    sb__log(SB_LOG_ERROR, "cannot create a helper: error %lu", GetLastError());
    sb__attrs_free(&attrs);
    free(h);
    return SB_E_HELPER_UNAVAILABLE;
  }
  /* Without the job list attribute: assigned while still suspended, so the
   * helper is never outside the job while it could run. */
  if (!attrs.job_listed && !AssignProcessToJobObject(hs->job, pi.hProcess)) {
    sb__log(SB_LOG_ERROR, "cannot put a helper in the helper job: error %lu",
            GetLastError());
    TerminateProcess(pi.hProcess, 0);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    sb__attrs_free(&attrs);
    free(h);
    return SB_E_HELPER_UNAVAILABLE;
  }
  sb__attrs_free(&attrs);
  /* A push request must never name a helper (registry.h). */
  sb__registry_own(pi.hProcess);
  sb__registry_own(pi.hThread);
  h->process = pi.hProcess;
  h->thread = pi.hThread;
  h->pid = pi.dwProcessId;
  *out = h;
  return 0;
}

int sb__helpers_create(const wchar_t *helper_path, uint32_t max, sb__helpers **out) {
  sb__helpers *hs = calloc(1, sizeof *hs);
  int rc;
  if (hs == NULL) return SB_E_NOMEM;
  hs->max = (LONG)max;
  hs->helper_path = _wcsdup(helper_path);
  if (hs->helper_path == NULL) {
    free(hs);
    return SB_E_NOMEM;
  }
  rc = sb__job_create_helper_job(&hs->job);
  if (rc != 0) {
    free(hs->helper_path);
    free(hs);
    return rc;
  }
  hs->nul = CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                        NULL, OPEN_EXISTING, 0, NULL);
  if (hs->nul == INVALID_HANDLE_VALUE) hs->nul = NULL;
  *out = hs;
  return 0;
}

void sb__helpers_destroy(sb__helpers *hs) {
  if (hs == NULL) return;
  CloseHandle(hs->job);
  if (hs->nul != NULL) CloseHandle(hs->nul);
  free(hs->helper_path);
  free(hs);
}

HANDLE sb__helpers_job(sb__helpers *hs) { return hs->job; }

void sb__helpers_get_stats(sb__helpers *hs, sb__pool_stats *out) {
  out->idle = out->busy = 0;
  out->created = (uint64_t)InterlockedCompareExchange64(&hs->created, 0, 0);
  out->retired = (uint64_t)InterlockedCompareExchange64(&hs->retired, 0, 0);
}

int sb__pool_create(sb__helpers *hs, HANDLE token, const sb__pool_config *cfg,
                    sb__pool **out) {
  sb__pool *pool = calloc(1, sizeof *pool);
  if (pool == NULL) return SB_E_NOMEM;
  pool->hs = hs;
  InitializeSRWLock(&pool->lock);
  InitializeConditionVariable(&pool->filled);
  pool->cfg = *cfg;
  if (token != NULL && !DuplicateHandle(GetCurrentProcess(), token, GetCurrentProcess(),
                                        &pool->token, 0, FALSE, DUPLICATE_SAME_ACCESS)) {
    free(pool);
    return SB_E_INTERNAL;
  }
  *out = pool;
  return 0;
}

void sb__pool_destroy(sb__pool *pool) {
  sb__helper *h, *next;
  if (pool == NULL) return;
  for (h = pool->idle; h != NULL; h = next) {
    next = h->next;
    InterlockedIncrement64(&pool->hs->retired);
    helper_destroy(pool, h);
  }
  if (pool->token != NULL) CloseHandle(pool->token);
  free(pool);
}

static bool helper_alive(const sb__helper *h) {
  return WaitForSingleObject(h->process, 0) == WAIT_TIMEOUT;
}

/* Whether one more helper may be made: the pool's maximum and the global
 * budget, which is taken here. Lock held. */
static bool slot_free(sb__pool *pool) {
  return pool->nidle + pool->nbusy + pool->ncreating < pool->cfg.max && budget_take(pool->hs);
}

int sb__pool_lease(sb__pool *pool, sb__helper **out) {
  sb__helper *h = NULL;
  int rc;

  if (sb__fault_fires(SB__FAULT_LEASE)) return SB_E_HELPER_UNAVAILABLE;

  for (;;) {
    AcquireSRWLockExclusive(&pool->lock);
    h = pool->idle;
    if (h != NULL) {
      pool->idle = h->next;
      pool->nidle--;
      pool->nbusy++;
    } else if (slot_free(pool)) {
      pool->nbusy++; /* reserve the slot before creating outside the lock */
    } else if (pool->ncreating > 0) {
      /* Every slot is taken, but a refill is about to make a helper idle:
       * wait for it rather than refuse the spawn. */
      SleepConditionVariableSRW(&pool->filled, &pool->lock, 10000, 0);
      ReleaseSRWLockExclusive(&pool->lock);
      continue;
    } else {
      ReleaseSRWLockExclusive(&pool->lock);
      return SB_E_HELPER_UNAVAILABLE;
    }
    ReleaseSRWLockExclusive(&pool->lock);

    if (h == NULL) break;
    /* A helper killed from outside is noticed here, before any handle is
     * moved into it, and replaced. */
    if (helper_alive(h)) {
      h->next = NULL;
      *out = h;
      return 0;
    }
    sb__log(SB_LOG_WARN, "helper %lu died while idle; replacing it", h->pid);
    sb__pool_return(pool, h, false);
  }

  rc = helper_create(pool, &h);
  AcquireSRWLockExclusive(&pool->lock);
  pool->nbusy -= rc != 0;
  ReleaseSRWLockExclusive(&pool->lock);
  if (rc != 0) {
    budget_give(pool->hs);
    WakeAllConditionVariable(&pool->filled);
    return rc;
  }
  InterlockedIncrement64(&pool->hs->created);
  *out = h;
  return 0;
}

void sb__pool_return(sb__pool *pool, sb__helper *h, bool clean) {
  bool keep;
  h->uses++;
  keep = clean && h->uses < pool->cfg.recycle_after && helper_alive(h);
  AcquireSRWLockExclusive(&pool->lock);
  pool->nbusy--;
  if (keep) {
    h->next = pool->idle;
    pool->idle = h;
    pool->nidle++;
  }
  ReleaseSRWLockExclusive(&pool->lock);
  if (!keep) {
    InterlockedIncrement64(&pool->hs->retired);
    helper_destroy(pool, h);
  }
  /* A lease may be waiting for a slot: an idle helper or a freed one. */
  WakeAllConditionVariable(&pool->filled);
}

/* Fewer than `warm` helpers idle or being made (under the pool's lock). */
static bool below_warm(const sb__pool *pool) {
  return pool->nidle + pool->ncreating < pool->cfg.warm;
}

void sb__pool_fill(sb__pool *pool) {
  for (;;) {
    sb__helper *h;
    bool want;
    AcquireSRWLockExclusive(&pool->lock);
    want = below_warm(pool) && slot_free(pool);
    if (want) pool->ncreating++; /* reserve, as in lease */
    ReleaseSRWLockExclusive(&pool->lock);
    if (!want) return;
    if (helper_create(pool, &h) != 0) {
      AcquireSRWLockExclusive(&pool->lock);
      pool->ncreating--;
      ReleaseSRWLockExclusive(&pool->lock);
      budget_give(pool->hs);
      WakeAllConditionVariable(&pool->filled);
      return;
    }
    InterlockedIncrement64(&pool->hs->created);
    AcquireSRWLockExclusive(&pool->lock);
    pool->ncreating--;
    h->next = pool->idle;
    pool->idle = h;
    pool->nidle++;
    ReleaseSRWLockExclusive(&pool->lock);
    WakeAllConditionVariable(&pool->filled);
  }
}

bool sb__pool_wants_fill(sb__pool *pool) {
  bool want;
  AcquireSRWLockShared(&pool->lock);
  want = below_warm(pool);
  ReleaseSRWLockShared(&pool->lock);
  return want;
}

void sb__pool_get_stats(sb__pool *pool, sb__pool_stats *out) {
  AcquireSRWLockShared(&pool->lock);
  out->idle = pool->nidle;
  out->busy = pool->nbusy;
  out->created = out->retired = 0;
  ReleaseSRWLockShared(&pool->lock);
}
