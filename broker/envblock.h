/*
 * The environment block of a child: the base environment with the request's
 * "NAME=VALUE" entries on top, in the form CreateProcessW takes with
 * CREATE_UNICODE_ENVIRONMENT.
 *
 * A Windows environment block is a run of "NAME=VALUE\0" strings ended by one
 * more '\0'. Windows expects it sorted by name, case-insensitively, in
 * ordinal (not locale) order: GetEnvironmentVariable and SetEnvironmentVariable
 * in the child search it that way, and CreateProcess documents the order as a
 * requirement. Names are compared the way Windows compares them,
 * ignoring case across all of Unicode (CompareStringOrdinal with
 * bIgnoreCase), not only ASCII as the protocol decoder does.
 *
 * Limits:
 * - A value (from the request or the handles variable) may be at most
 *   SB__ENV_VALUE_MAX_CHARS UTF-16 units: Windows documents 32767 characters
 *   as the largest environment variable.
 * - The whole block may be at most SB__ENV_BLOCK_MAX_CHARS UTF-16 units,
 *   counting every '\0' including the final one. Windows documents no limit
 *   for the block passed to CreateProcess (the old 32767-character limit
 *   ended with Windows Vista), so this one is ours: 1 Mi units (2 MiB) is 32
 *   times the largest variable, far above a real environment (typically a few
 *   thousand units), yet bounds what one request
 *   can make the broker allocate and copy into a child.
 * Values already in the base come from Windows itself and are not held to
 * the value limit; they do count towards the block limit.
 */
#ifndef SB_BROKER_ENVBLOCK_H
#define SB_BROKER_ENVBLOCK_H

#include <stddef.h>
#include "utf.h"

/* The largest value of one variable, in UTF-16 units without the NUL. */
#define SB__ENV_VALUE_MAX_CHARS 32767
/* The largest block, in UTF-16 units including every NUL. */
#define SB__ENV_BLOCK_MAX_CHARS (1024 * 1024)

/*
 * Builds the block in a malloc'd buffer *out (free it with free()) of
 * *out_chars UTF-16 units, both NULs at the end included (out_chars may be
 * NULL). An empty block is two NULs.
 *
 * base: a block as GetEnvironmentStringsW or CreateEnvironmentBlock return
 * it, or NULL for an empty base (clear_env). Its entries are kept as they are
 * unless the request sets a variable of the same name. Entries whose name
 * begins with '=' (the per-drive current directories such as "=C:=C:\dir",
 * and "=ExitCode") are the C runtime's and cmd.exe's bookkeeping: their name
 * runs to the second '=', no request name can match them (request names have
 * no '='), so they are always kept unchanged.
 *
 * entries: the request's "NAME=VALUE" strings (UTF-8). Each replaces a base
 * variable of the same name; the request's spelling of the name is used.
 *
 * extra_name, extra_value: the handles_env variable (both NULL when there is
 * none), set after the entries. Like an entry, it replaces a base variable.
 *
 * Returns 0 or one of these (the strings are checked first, then the values'
 * sizes, then the names, then the finished block):
 * - SB_E_INVALID_ARGUMENT: out is NULL, entries is NULL with nentries > 0,
 *   only one of extra_name and extra_value is given, or a string is not
 *   valid UTF-8;
 * - SB_E_INVALID_ENV_ENTRY: an entry has no '=' or an empty name;
 * - SB_E_INVALID_NAME: extra_name is empty or contains '=';
 * - SB_E_ENVIRONMENT_TOO_LARGE: a value of an entry or of the extra variable
 *   is over SB__ENV_VALUE_MAX_CHARS, or a single base entry is over
 *   SB__ENV_BLOCK_MAX_CHARS;
 * - SB_E_DUPLICATE_ENV_NAME: two entries, or an entry and extra_name, name
 *   the same variable under Windows's comparison (e.g. "ÄPFEL" and "äpfel",
 *   which the ASCII-only decoder lets through);
 * - SB_E_ENVIRONMENT_TOO_LARGE: the finished block would be over
 *   SB__ENV_BLOCK_MAX_CHARS;
 * - SB_E_NOMEM.
 * *out is NULL and *out_chars 0 on failure.
 */
int sb__envblock_build(const sb__wchar *base, const char *const *entries, size_t nentries,
                       const char *extra_name, const char *extra_value, sb__wchar **out,
                       size_t *out_chars);

#endif
