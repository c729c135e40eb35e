/*
 * How Windows compares environment variable names: ordinal (code unit by
 * code unit, no locale) after upper-casing each unit with the system's
 * table, which is CompareStringOrdinal with bIgnoreCase. envblock.c sorts and
 * matches names with it.
 *
 * The Windows build links env_name_win.c, which asks the system. The table
 * is the system's own and is not portable, so native builds (unit tests and
 * the fuzz target) link a stand-in from tests/support/ instead; envblock.c
 * itself is the same code in both.
 */
#ifndef SB_BROKER_ENV_NAME_H
#define SB_BROKER_ENV_NAME_H

#include <stddef.h>

#include "utf.h"

/* Negative, 0 or positive as a[0..alen) sorts before, equal to or after
 * b[0..blen). Both lengths are at most INT_MAX. */
int sb__env_name_cmp(const sb__wchar *a, size_t alen, const sb__wchar *b, size_t blen);

#endif
