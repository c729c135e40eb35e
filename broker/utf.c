#include "utf.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "sb_errors.h"

int sb__utf8_to_wide(const char *s, wchar_t **out) {
  wchar_t *buf = NULL;
  size_t len;
  int n, rc;

  if (out == NULL) return SB_E_INVALID_ARGUMENT;
  *out = NULL;
  if (s == NULL) return SB_E_INVALID_ARGUMENT;
  len = strlen(s);
  /* The API counts in int; passing the length explicitly (with its NUL)
   * instead of -1 keeps a string over INT_MAX from being cut short. */
  if (len >= (size_t)INT_MAX) return SB_E_INVALID_ARGUMENT;
  /* MB_ERR_INVALID_CHARS makes invalid UTF-8 (including encoded surrogates
   * and overlong forms) an error instead of a silent U+FFFD. */
  n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)len + 1, NULL, 0);
  if (n <= 0) {
    rc = GetLastError() == ERROR_NOT_ENOUGH_MEMORY ? SB_E_NOMEM : SB_E_INVALID_ARGUMENT;
    goto done;
  }
  buf = malloc((size_t)n * sizeof *buf);
  if (buf == NULL) {
    rc = SB_E_NOMEM;
    goto done;
  }
  if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)len + 1, buf, n) != n) {
    rc = SB_E_INVALID_ARGUMENT;
    goto done;
  }
  *out = buf;
  buf = NULL;
  rc = 0;
done:
  free(buf);
  return rc;
}

int sb__wide_to_utf8(const wchar_t *s, char **out) {
  char *buf = NULL;
  size_t len;
  int n, rc;

  if (out == NULL) return SB_E_INVALID_ARGUMENT;
  *out = NULL;
  if (s == NULL) return SB_E_INVALID_ARGUMENT;
  len = wcslen(s);
  if (len >= (size_t)INT_MAX) return SB_E_INVALID_ARGUMENT;
  /* WC_ERR_INVALID_CHARS turns a lone surrogate into an error; without it
   * Windows writes U+FFFD and the result no longer names the same thing. The
   * default-char arguments must be NULL for CP_UTF8. */
  n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, s, (int)len + 1, NULL, 0, NULL, NULL);
  if (n <= 0) {
    rc = GetLastError() == ERROR_NOT_ENOUGH_MEMORY ? SB_E_NOMEM : SB_E_INVALID_ARGUMENT;
    goto done;
  }
  buf = malloc((size_t)n);
  if (buf == NULL) {
    rc = SB_E_NOMEM;
    goto done;
  }
  if (WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, s, (int)len + 1, buf, n, NULL,
                          NULL) != n) {
    rc = SB_E_INVALID_ARGUMENT;
    goto done;
  }
  *out = buf;
  buf = NULL;
  rc = 0;
done:
  free(buf);
  return rc;
}
