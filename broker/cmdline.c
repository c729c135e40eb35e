#include "cmdline.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb_errors.h"
#include "utf.h"

/* A command line under construction in a buffer of SB__CMDLINE_MAX_CHARS
 * units. Writing into a buffer of the final limit means the length check and
 * the writing are one and the same, and nothing can overflow on the way. */
typedef struct cmdline_buf {
  sb__wchar *p;
  size_t len; /* units written, without a NUL */
} cmdline_buf;

/* Appends `count` copies of `ch`, leaving room for the terminating NUL. */
static int put(cmdline_buf *b, sb__wchar ch, size_t count) {
  if (count > SB__CMDLINE_MAX_CHARS - 1 - b->len) return SB_E_COMMAND_LINE_TOO_LONG;
  for (size_t i = 0; i < count; i++) b->p[b->len++] = ch;
  return 0;
}

/* Whether an argument must be quoted. Both splitters end an unquoted
 * argument at a space or a tab; newline and vertical tab are quoted too,
 * because some splitters (and people reading logs) treat them as white
 * space. An empty argument only exists as "". A '"' could be escaped without
 * quotes, but quoting keeps one rule for every '"'. */
static bool needs_quotes(const sb__wchar *a) {
  if (*a == '\0') return true;
  for (; *a; a++)
    if (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\v' || *a == '"') return true;
  return false;
}

/* Appends one argument after argv[0] by the rules both CommandLineToArgvW
 * and the C runtime apply: backslashes are literal except in a run that ends
 * at a '"', where 2n backslashes give n and the quote is syntax, and 2n+1
 * give n and a literal '"'.
 *
 * A '"' inside the argument is always written as \", never as "" inside
 * quotes: the splitters disagree about "" (C runtimes before and after
 * Visual C++ 2008 differ, and under Wine 8.0 its msvcrt and its
 * CommandLineToArgvW split "a""b" "c" differently, measured), while \" means
 * the same to all of them. The only "" written is an empty argument, which is
 * always followed by a space or the end of the line. */
static int put_arg(cmdline_buf *b, const sb__wchar *a) {
  int rc;
  if (!needs_quotes(a)) {
    /* Without a '"' in the argument, no backslash precedes one, so every
     * backslash stands for itself. */
    for (; *a; a++)
      if ((rc = put(b, *a, 1)) != 0) return rc;
    return 0;
  }
  if ((rc = put(b, '"', 1)) != 0) return rc;
  for (;;) {
    size_t slashes = 0;
    while (*a == '\\') {
      slashes++;
      a++;
    }
    if (*a == '\0') {
      /* The closing quote follows: double the run so that it stays literal
       * and the quote still closes ("C:\dir\" would otherwise end in \"). */
      if ((rc = put(b, '\\', slashes * 2)) != 0) return rc;
      break;
    }
    if (*a == '"') {
      if ((rc = put(b, '\\', slashes * 2 + 1)) != 0) return rc;
    } else if ((rc = put(b, '\\', slashes)) != 0) {
      return rc;
    }
    if ((rc = put(b, *a, 1)) != 0) return rc;
    a++;
  }
  return put(b, '"', 1);
}

int sb__cmdline_build(const char *program, const char *const *args, size_t nargs,
                      sb__wchar **out) {
  cmdline_buf b = {NULL, 0};
  sb__wchar *w = NULL, *shrunk;
  int rc;

  if (out == NULL) return SB_E_INVALID_ARGUMENT;
  *out = NULL;
  if (program == NULL || program[0] == '\0' || (nargs > 0 && args == NULL))
    return SB_E_INVALID_ARGUMENT;
  /* CommandLineToArgvW and the C runtime read a quoted argv[0] up to the next
   * '"' without any escapes (so that "C:\dir\prog.exe" needs no doubling), so
   * a '"' inside the program cannot be written in any form. Windows file
   * names cannot contain '"' either. */
  if (strchr(program, '"') != NULL) return SB_E_INVALID_ARGUMENT;
  for (size_t i = 0; i < nargs; i++)
    if (args[i] == NULL) return SB_E_INVALID_ARGUMENT;

  b.p = malloc(SB__CMDLINE_MAX_CHARS * sizeof *b.p);
  if (b.p == NULL) return SB_E_NOMEM;

  /* The program is always quoted: unquoted, argv[0] would end at the first
   * space, and CreateProcessW given a NULL application name would even try
   * "C:\Program" first. */
  if ((rc = sb__utf8_to_wide(program, &w)) != 0) goto done;
  if ((rc = put(&b, '"', 1)) != 0) goto done;
  for (const sb__wchar *c = w; *c; c++)
    if ((rc = put(&b, *c, 1)) != 0) goto done;
  if ((rc = put(&b, '"', 1)) != 0) goto done;
  free(w);
  w = NULL;

  for (size_t i = 0; i < nargs; i++) {
    if ((rc = sb__utf8_to_wide(args[i], &w)) != 0) goto done;
    /* The space matters after argv[0] too: with a '"' right after the
     * program's closing quote, Wine's msvcrt carries on with argv[0] while
     * CommandLineToArgvW starts argv[1] (measured). */
    if ((rc = put(&b, ' ', 1)) != 0) goto done;
    if ((rc = put_arg(&b, w)) != 0) goto done;
    free(w);
    w = NULL;
  }
  b.p[b.len] = '\0';

  /* Give back what the usual short command line does not need. */
  shrunk = realloc(b.p, (b.len + 1) * sizeof *b.p);
  if (shrunk != NULL) b.p = shrunk;
  *out = b.p;
  b.p = NULL;
  rc = 0;
done:
  free(w);
  free(b.p);
  return rc;
}

/* The same scan as the decoder's check_placeholders (proto/src/
 * decode_request.c): a placeholder runs from "{handle:" to the next '}'. */
static const char sb__placeholder[] = "{handle:";
#define SB__PLACEHOLDER_LEN (sizeof sb__placeholder - 1)

/* The index in names of the NAME of a placeholder starting at `at`, and
 * where the placeholder ends; or a negative code. */
static int find_placeholder(const char *at, const char *const *names, size_t n,
                            size_t *index, const char **end) {
  const char *name = at + SB__PLACEHOLDER_LEN;
  const char *close = strchr(name, '}');
  size_t len;
  if (close == NULL || close == name) return SB_E_INVALID_NAME;
  len = (size_t)(close - name);
  for (size_t i = 0; i < n; i++) {
    if (names[i] != NULL && strlen(names[i]) == len && memcmp(names[i], name, len) == 0) {
      *index = i;
      *end = close + 1;
      return 0;
    }
  }
  return SB_E_UNKNOWN_HANDLE_NAME;
}

int sb__expand_handles(const char *arg, const char *const *names, const int64_t *values,
                       size_t n, char **out) {
  /* Room for any int64 in decimal with its sign and a NUL. */
  char digits[24];
  char *buf = NULL, *w;
  const char *s, *at, *end;
  size_t total = 0, index = 0;
  int rc;

  if (out == NULL) return SB_E_INVALID_ARGUMENT;
  *out = NULL;
  if (arg == NULL || (n > 0 && (names == NULL || values == NULL))) return SB_E_INVALID_ARGUMENT;

  /* First pass: check every placeholder and measure the result. A
   * placeholder is at least 10 bytes and a value at most 20, so the result
   * is at most twice the input and cannot overflow a size_t. */
  for (s = arg; (at = strstr(s, sb__placeholder)) != NULL; s = end) {
    if ((rc = find_placeholder(at, names, n, &index, &end)) != 0) return rc;
    total += (size_t)(at - s) + (size_t)snprintf(digits, sizeof digits, "%" PRId64, values[index]);
  }
  total += strlen(s);

  buf = malloc(total + 1);
  if (buf == NULL) return SB_E_NOMEM;
  w = buf;
  for (s = arg; (at = strstr(s, sb__placeholder)) != NULL; s = end) {
    int k;
    if ((rc = find_placeholder(at, names, n, &index, &end)) != 0) goto done;
    memcpy(w, s, (size_t)(at - s));
    w += at - s;
    k = snprintf(digits, sizeof digits, "%" PRId64, values[index]);
    memcpy(w, digits, (size_t)k);
    w += k;
  }
  memcpy(w, s, strlen(s) + 1);
  *out = buf;
  buf = NULL;
  rc = 0;
done:
  free(buf);
  return rc;
}
