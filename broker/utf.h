/*
 * UTF-8 <-> UTF-16 conversion for the broker.
 *
 * The wire protocol is UTF-8 and every Windows API the broker calls takes
 * UTF-16, so each string of a request crosses this boundary once. Both
 * directions are strict: input that is not well-formed (invalid UTF-8, or a
 * lone surrogate in UTF-16) is refused instead of being replaced with U+FFFD,
 * so a child can never receive a different argument than the client sent.
 */
#ifndef SB_BROKER_UTF_H
#define SB_BROKER_UTF_H

#include <wchar.h>

/* Converts the NUL-terminated UTF-8 string s to a malloc'd, NUL-terminated
 * UTF-16 string in *out (free it with free()). Returns 0, SB_E_NOMEM, or
 * SB_E_INVALID_ARGUMENT when s is NULL, not valid UTF-8, or too long for the
 * conversion API (over INT_MAX bytes). *out is NULL on failure. */
int sb__utf8_to_wide(const char *s, wchar_t **out);

/* Converts the NUL-terminated UTF-16 string s to a malloc'd, NUL-terminated
 * UTF-8 string in *out (free it with free()). Returns 0, SB_E_NOMEM, or
 * SB_E_INVALID_ARGUMENT when s is NULL, holds a lone surrogate, or is too
 * long for the conversion API. *out is NULL on failure. */
int sb__wide_to_utf8(const wchar_t *s, char **out);

#endif
