/*
 * The native stand-in for broker/env_name_win.c (see broker/env_name.h).
 *
 * Windows upper-cases each unit with its own table before an ordinal
 * comparison. That table is not available here, so this one folds the
 * ranges the tests and seeds use: ASCII, Latin-1 and basic Cyrillic. It is,
 * like the real one, a per-unit mapping followed by an ordinal comparison,
 * so it orders names totally and envblock.c cannot tell the difference;
 * the real table is tested under Wine (tests/e2e/test_envblock.c).
 */
#include "env_name.h"

static unsigned upper(sb__wchar c) {
  if (c >= 'a' && c <= 'z') return c - 0x20u;
  /* à..þ but not ÷, and ÿ, whose capital lies outside Latin-1. */
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 0x20u;
  if (c == 0xFF) return 0x178;
  /* а..я and ѐ..џ. */
  if (c >= 0x430 && c <= 0x44F) return c - 0x20u;
  if (c >= 0x450 && c <= 0x45F) return c - 0x50u;
  return c;
}

int sb__env_name_cmp(const sb__wchar *a, size_t alen, const sb__wchar *b, size_t blen) {
  for (size_t i = 0; i < alen && i < blen; i++) {
    unsigned x = upper(a[i]), y = upper(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return alen < blen ? -1 : alen > blen;
}
