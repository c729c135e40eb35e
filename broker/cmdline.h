/*
 * The command line of a child: from the request's program and args (UTF-8)
 * to the one UTF-16 string CreateProcessW takes.
 *
 * Windows passes a process one string, not an argv array; the child splits
 * it again, with CommandLineToArgvW or with its C runtime's startup code
 * (MSVC, UCRT and mingw-w64 all use the same rules). sb__cmdline_build
 * quotes each argument so that both splitters give back exactly the
 * arguments of the request.
 */
#ifndef SB_BROKER_CMDLINE_H
#define SB_BROKER_CMDLINE_H

#include <stddef.h>
#include <stdint.h>
#include "utf.h"

/* The longest command line CreateProcessW accepts, in UTF-16 code units,
 * including the terminating NUL (documented for lpCommandLine). Windows
 * refuses a longer one; Wine 8.0 (measured) starts the child anyway with the
 * line silently cut to 32766 units, so the check has to happen here. */
#define SB__CMDLINE_MAX_CHARS 32767

/*
 * Builds "program arg1 arg2 ..." as a malloc'd UTF-16 string in *out (free it
 * with free()); the buffer is writable, as CreateProcessW requires.
 *
 * argv[0] is the program, always in double quotes; it is split by different
 * rules than the other arguments (everything up to the next '"', with no
 * backslash escapes), so a program containing '"' cannot be passed and an
 * empty one names nothing. Every other argument is written as is when it
 * needs no quoting, and otherwise in double quotes with backslashes doubled
 * before a '"' and before the closing quote, and each '"' written as \".
 *
 * Returns 0; SB_E_INVALID_ARGUMENT for a NULL, empty or '"'-containing
 * program, a NULL argument, or a string that is not valid UTF-8;
 * SB_E_COMMAND_LINE_TOO_LONG when the result would exceed
 * SB__CMDLINE_MAX_CHARS units with its NUL; SB_E_NOMEM. *out is NULL on
 * failure.
 */
int sb__cmdline_build(const char *program, const char *const *args, size_t nargs,
                      sb__wchar **out);

/*
 * Replaces every "{handle:NAME}" in arg with values[i] in decimal, where
 * names[i] is NAME (compared exactly, as the decoder does), and returns the
 * result as a malloc'd UTF-8 string in *out. Placeholders are found as the
 * decoder finds them: from "{handle:" to the next '}', scanning on after it;
 * text from a substituted value is never scanned again.
 *
 * The decoder has already checked every placeholder; should one still be
 * wrong, nothing is guessed: SB_E_INVALID_NAME for an unclosed "{handle:" or
 * an empty name, SB_E_UNKNOWN_HANDLE_NAME for a name not in names. Also
 * SB_E_INVALID_ARGUMENT (NULL arg or out, or NULL names/values with n > 0)
 * and SB_E_NOMEM. *out is NULL on failure.
 */
int sb__expand_handles(const char *arg, const char *const *names, const int64_t *values,
                       size_t n, char **out);

#endif
