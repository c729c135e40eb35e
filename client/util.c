/*
 * Small helpers of the client library: deadlines and string conversions.
 */
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

sb__deadline sb__deadline_in(uint32_t ms) {
  sb__deadline d;
  d.infinite = ms == SB_CLIENT_INFINITE;
  /* GetTickCount64 does not wrap (it would take 500 million years), unlike
   * GetTickCount, which wraps after 49.7 days. */
  d.end = d.infinite ? 0 : GetTickCount64() + ms;
  return d;
}

DWORD sb__deadline_left(const sb__deadline *d) {
  ULONGLONG now;
  if (d->infinite) return INFINITE;
  now = GetTickCount64();
  if (now >= d->end) return 0;
  /* A finite wait must never turn into INFINITE by accident. */
  return d->end - now >= INFINITE ? INFINITE - 1 : (DWORD)(d->end - now);
}

uint32_t sb__add_timeouts(uint32_t ms, uint32_t extra) {
  if (ms == SB_CLIENT_INFINITE || extra == SB_CLIENT_INFINITE) return SB_CLIENT_INFINITE;
  return ms > SB_CLIENT_INFINITE - 1 - extra ? SB_CLIENT_INFINITE - 1 : ms + extra;
}

wchar_t *sb__utf8_to_wide(const char *s) {
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
  wchar_t *w;
  if (n <= 0) return NULL;
  w = malloc((size_t)n * sizeof *w);
  if (w == NULL) return NULL;
  if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
    free(w);
    return NULL;
  }
  return w;
}

char *sb__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d != NULL) memcpy(d, s, n);
  return d;
}
