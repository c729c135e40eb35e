#include "self_stats.h"

#include <stdlib.h>
#include <windows.h>

uint64_t sb__self_cpu_us(void) {
  FILETIME created, ended, kernel, user;
  if (!GetProcessTimes(GetCurrentProcess(), &created, &ended, &kernel, &user)) return 0;
  /* FILETIMEs count 100 ns. */
  return ((((uint64_t)kernel.dwHighDateTime << 32) | kernel.dwLowDateTime) +
          (((uint64_t)user.dwHighDateTime << 32) | user.dwLowDateTime)) / 10;
}

static uint64_t busy_bytes(HANDLE heap) {
  PROCESS_HEAP_ENTRY e;
  uint64_t n = 0;
  if (!HeapLock(heap)) return 0;
  e.lpData = NULL;
  while (HeapWalk(heap, &e))
    if (e.wFlags & PROCESS_HEAP_ENTRY_BUSY) n += e.cbData;
  HeapUnlock(heap);
  return n;
}

uint64_t sb__self_heap_bytes(void) {
  HANDLE *heaps = NULL;
  DWORD n = GetProcessHeaps(0, NULL), got;
  uint64_t total = 0;
  /* Heaps may be made between the two calls: room for a few more, and a
   * second count that does not fit is taken as a failure. */
  if (n == 0) return 0;
  heaps = calloc((size_t)n + 8, sizeof *heaps);
  if (heaps == NULL) return 0;
  got = GetProcessHeaps(n + 8, heaps);
  if (got == 0 || got > n + 8) goto done;
  for (DWORD i = 0; i < got; i++) total += busy_bytes(heaps[i]);
done:
  free(heaps);
  return total;
}
