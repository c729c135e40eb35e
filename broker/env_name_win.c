#include "env_name.h"

#include <windows.h>

int sb__env_name_cmp(const sb__wchar *a, size_t alen, const sb__wchar *b, size_t blen) {
  int r = CompareStringOrdinal(a, (int)alen, b, (int)blen, TRUE);
  /* CSTR_LESS_THAN, CSTR_EQUAL, CSTR_GREATER_THAN are 1, 2, 3; 0 (an error)
   * cannot happen with valid lengths and sorts first. */
  return r - CSTR_EQUAL;
}
