#include "utf.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sb_errors.h"

size_t sb__wlen(const sb__wchar *s) {
  size_t n = 0;
  while (s[n] != 0) n++;
  return n;
}

/* The code point of the UTF-8 sequence at s, and its length in *len; or -1
 * when the sequence is not well-formed. The ranges of the second byte are the
 * ones of the Unicode standard's table of well-formed sequences (3.9, table
 * 3-7): they exclude overlong forms, surrogates and anything past U+10FFFF in
 * one check, so no decoded value needs a second look. */
static long decode_one(const unsigned char *s, size_t *len) {
  unsigned char b = s[0];
  unsigned char lo = 0x80, hi = 0xBF;
  long cp;
  size_t n;
  if (b < 0x80) {
    *len = 1;
    return b;
  }
  if (b >= 0xC2 && b <= 0xDF) {
    n = 2;
    cp = b & 0x1F;
  } else if (b >= 0xE0 && b <= 0xEF) {
    n = 3;
    cp = b & 0x0F;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    n = 4;
    cp = b & 0x07;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    return -1;
  }
  /* A NUL ends the string, and is not a continuation byte, so a truncated
   * sequence is caught here without reading past the terminator. */
  if (s[1] < lo || s[1] > hi) return -1;
  cp = (cp << 6) | (s[1] & 0x3F);
  for (size_t i = 2; i < n; i++) {
    if (s[i] < 0x80 || s[i] > 0xBF) return -1;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  *len = n;
  return cp;
}

int sb__utf8_to_wide(const char *s, sb__wchar **out) {
  const unsigned char *p = (const unsigned char *)s;
  sb__wchar *buf, *w, *shrunk;
  size_t len;

  if (out == NULL) return SB_E_INVALID_ARGUMENT;
  *out = NULL;
  if (s == NULL) return SB_E_INVALID_ARGUMENT;
  len = strlen(s);
  /* The bound Win32's conversion API had (it counts in int); kept so that
   * every converted length still fits the int the string APIs take. */
  if (len >= (size_t)INT_MAX) return SB_E_INVALID_ARGUMENT;
  /* Never more units than bytes: a 4-byte sequence makes 2 units. */
  buf = malloc((len + 1) * sizeof *buf);
  if (buf == NULL) return SB_E_NOMEM;
  w = buf;
  while (*p != 0) {
    size_t n = 0;
    long cp = decode_one(p, &n);
    if (cp < 0) {
      free(buf);
      return SB_E_INVALID_ARGUMENT;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      *w++ = (sb__wchar)(0xD800 + (cp >> 10));
      *w++ = (sb__wchar)(0xDC00 + (cp & 0x3FF));
    } else {
      *w++ = (sb__wchar)cp;
    }
    p += n;
  }
  *w++ = 0;
  /* Give back what the buffer was oversized by: every sequence of two or
   * more bytes makes fewer units than bytes. */
  shrunk = realloc(buf, (size_t)(w - buf) * sizeof *buf);
  *out = shrunk != NULL ? shrunk : buf;
  return 0;
}

int sb__wide_to_utf8(const sb__wchar *s, char **out) {
  unsigned char *buf, *w;
  char *shrunk;
  size_t len;

  if (out == NULL) return SB_E_INVALID_ARGUMENT;
  *out = NULL;
  if (s == NULL) return SB_E_INVALID_ARGUMENT;
  len = sb__wlen(s);
  if (len >= (size_t)INT_MAX) return SB_E_INVALID_ARGUMENT;
  /* At most 3 bytes a unit: a pair of 2 units makes 4 bytes. */
  buf = malloc(len * 3 + 1);
  if (buf == NULL) return SB_E_NOMEM;
  w = buf;
  for (size_t i = 0; i < len; i++) {
    unsigned long cp = s[i];
    if (cp >= 0xD800 && cp <= 0xDBFF && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned long)s[i + 1] - 0xDC00);
      i++;
    } else if (cp >= 0xD800 && cp <= 0xDFFF) {
      /* A high surrogate without its low half, or a low one on its own. */
      free(buf);
      return SB_E_INVALID_ARGUMENT;
    }
    if (cp < 0x80) {
      *w++ = (unsigned char)cp;
    } else if (cp < 0x800) {
      *w++ = (unsigned char)(0xC0 | (cp >> 6));
      *w++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      *w++ = (unsigned char)(0xE0 | (cp >> 12));
      *w++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
      *w++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else {
      *w++ = (unsigned char)(0xF0 | (cp >> 18));
      *w++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
      *w++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
      *w++ = (unsigned char)(0x80 | (cp & 0x3F));
    }
  }
  *w++ = 0;
  shrunk = realloc(buf, (size_t)(w - buf));
  *out = shrunk != NULL ? shrunk : (char *)buf;
  return 0;
}
