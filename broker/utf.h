/*
 * UTF-8 <-> UTF-16 conversion for the broker.
 *
 * The wire protocol is UTF-8 and every Windows API the broker calls takes
 * UTF-16, so each string of a request crosses this boundary once. Both
 * directions are strict: input that is not well-formed (invalid UTF-8, or a
 * lone surrogate in UTF-16) is refused instead of being replaced with U+FFFD,
 * so a child can never receive a different argument than the client sent.
 *
 * The conversion is portable C, not MultiByteToWideChar, so that it and the
 * modules built on it (cmdline.c, envblock.c, child_strings.c) build natively
 * too, where sanitizers and libFuzzer run. tests/e2e/test_cmdline.c checks
 * under Wine that it agrees with MultiByteToWideChar and WideCharToMultiByte.
 */
#ifndef SB_BROKER_UTF_H
#define SB_BROKER_UTF_H

#include <stddef.h>
#include <stdint.h>

/* One UTF-16 code unit. On Windows it is wchar_t, so strings pass to the W
 * APIs unchanged; elsewhere wchar_t has 32 bits, and a 16-bit type keeps the
 * natively built code computing exactly what it computes on Windows. */
#ifdef _WIN32
#include <wchar.h>
typedef wchar_t sb__wchar;
#else
typedef uint16_t sb__wchar;
#endif

/* The number of units before the terminating NUL, as wcslen on Windows. */
size_t sb__wlen(const sb__wchar *s);

/* Converts the NUL-terminated UTF-8 string s to a malloc'd, NUL-terminated
 * UTF-16 string in *out (free it with free()). Returns 0, SB_E_NOMEM, or
 * SB_E_INVALID_ARGUMENT when s is NULL, not valid UTF-8 (overlong forms,
 * encoded surrogates, code points above U+10FFFF, stray or missing
 * continuation bytes), or INT_MAX bytes or longer. *out is NULL on failure. */
int sb__utf8_to_wide(const char *s, sb__wchar **out);

/* Converts the NUL-terminated UTF-16 string s to a malloc'd, NUL-terminated
 * UTF-8 string in *out (free it with free()). Returns 0, SB_E_NOMEM, or
 * SB_E_INVALID_ARGUMENT when s is NULL, holds a lone surrogate, or is INT_MAX
 * units or longer. *out is NULL on failure. */
int sb__wide_to_utf8(const sb__wchar *s, char **out);

#endif
