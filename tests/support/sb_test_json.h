/* Writing JSON in C string literals: J("{'a':1}") is {"a":1}. */
#ifndef SB_TEST_JSON_H
#define SB_TEST_JSON_H

#include <stddef.h>

/* Returns src with every ' turned into ", in one of a few rotating buffers
 * so that a test may hold several frames at once. */
static inline const char *J(const char *src) {
  static char bufs[4][8192];
  static int next;
  char *b = bufs[next++ % 4];
  size_t i = 0;
  for (; src[i] != '\0' && i + 1 < sizeof bufs[0]; i++) b[i] = src[i] == '\'' ? '"' : src[i];
  b[i] = '\0';
  return b;
}

#endif
