#include "registry.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sb_errors.h"

/* The broker holds a few hundred handles at most, so a plain array with a
 * linear search is fast enough and obviously correct. The owned set is a
 * multiset (a value may appear more than once, see registry.h); the claimed
 * set never holds a value twice. */
typedef struct sb__hset {
  uintptr_t *v;
  size_t n, cap;
} sb__hset;

static SRWLOCK sb__reg_lock = SRWLOCK_INIT;
static sb__hset sb__owned, sb__claimed;

static ptrdiff_t hset_find(const sb__hset *s, uintptr_t x) {
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i] == x) return (ptrdiff_t)i;
  return -1;
}

static int hset_add(sb__hset *s, uintptr_t x) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    uintptr_t *v = realloc(s->v, cap * sizeof *v);
    if (v == NULL) return SB_E_NOMEM;
    s->v = v;
    s->cap = cap;
  }
  s->v[s->n++] = x;
  return 0;
}

static void hset_remove(sb__hset *s, uintptr_t x) {
  ptrdiff_t i = hset_find(s, x);
  if (i >= 0) s->v[i] = s->v[--s->n];
}

void sb__registry_own(HANDLE h) {
  if (h == NULL || h == INVALID_HANDLE_VALUE) return;
  AcquireSRWLockExclusive(&sb__reg_lock);
  /* Out of memory here only weakens push-mode checks for this value; the
   * broker refuses push requests rather than run without the registry. */
  (void)hset_add(&sb__owned, (uintptr_t)h);
  ReleaseSRWLockExclusive(&sb__reg_lock);
}

void sb__registry_disown(HANDLE h) {
  AcquireSRWLockExclusive(&sb__reg_lock);
  hset_remove(&sb__owned, (uintptr_t)h);
  ReleaseSRWLockExclusive(&sb__reg_lock);
}

int sb__registry_owns(HANDLE h) {
  int owned;
  AcquireSRWLockShared(&sb__reg_lock);
  owned = hset_find(&sb__owned, (uintptr_t)h) >= 0;
  ReleaseSRWLockShared(&sb__reg_lock);
  return owned;
}

int sb__registry_claim(HANDLE h) {
  int rc;
  AcquireSRWLockExclusive(&sb__reg_lock);
  if (hset_find(&sb__owned, (uintptr_t)h) >= 0)
    rc = SB_E_HANDLE_OWNED_BY_BROKER;
  else if (hset_find(&sb__claimed, (uintptr_t)h) >= 0)
    rc = SB_E_HANDLE_CLAIMED;
  else
    rc = hset_add(&sb__claimed, (uintptr_t)h);
  ReleaseSRWLockExclusive(&sb__reg_lock);
  return rc;
}

void sb__registry_unclaim(HANDLE h) {
  AcquireSRWLockExclusive(&sb__reg_lock);
  hset_remove(&sb__claimed, (uintptr_t)h);
  ReleaseSRWLockExclusive(&sb__reg_lock);
}

int sb__registry_own_all_current(void) {
  /* Probes every plausible handle value of our own table rather than
   * listing the system's handles: Wine 8's wineserver crashes when the
   * system list is read while any process is starting with an empty table
   * (docs/wine.md), which at broker start-up is likely (Wine's own services
   * start then). A fresh process holds a few dozen handles with small
   * values; 0x10000 covers them with a wide margin. */
  for (uintptr_t v = 4; v < 0x10000; v += 4) {
    DWORD flags;
    if (GetHandleInformation((HANDLE)v, &flags)) sb__registry_own((HANDLE)v);
  }
  return 0;
}
