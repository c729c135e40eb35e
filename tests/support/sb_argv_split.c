#include "sb_argv_split.h"

#include <stdbool.h>
#include <stdlib.h>

#include "sb_errors.h"

static bool is_blank(sb__wchar c) { return c == ' ' || c == '\t'; }

/* Appends the argument out[0..n) (NUL-terminated in place) to the list. */
static int push(char ***argv, size_t *argc, sb__wchar *out, size_t n) {
  char **grown, *s = NULL;
  int rc;
  out[n] = 0;
  if ((rc = sb__wide_to_utf8(out, &s)) != 0) return rc;
  grown = realloc(*argv, (*argc + 1) * sizeof *grown);
  if (grown == NULL) {
    free(s);
    return SB_E_NOMEM;
  }
  *argv = grown;
  grown[(*argc)++] = s;
  return 0;
}

/* argv[0], where nothing is escaped. The C runtime reads up to white space
 * outside quotes, each '"' switching quoting on or off. The shell reads a
 * line that starts with '"' up to the next '"', and any other up to white
 * space, taking quotes in it literally. */
static const sb__wchar *split_program(const sb__wchar *p, sbt_split_rules rules, sb__wchar *out,
                                      size_t *n) {
  bool quoted = false;
  *n = 0;
  if (rules == SBT_SPLIT_SHELL && *p == '"') {
    for (p++; *p != 0 && *p != '"'; p++) out[(*n)++] = *p;
    return *p == '"' ? p + 1 : p;
  }
  for (; *p != 0; p++) {
    if (rules == SBT_SPLIT_CRT && *p == '"') {
      quoted = !quoted;
      continue;
    }
    if (!quoted && is_blank(*p)) break;
    out[(*n)++] = *p;
  }
  return p;
}

/* One later argument, starting at a non-blank unit. */
static const sb__wchar *split_arg(const sb__wchar *p, sbt_split_rules rules, sb__wchar *out,
                                  size_t *n) {
  bool quoted = false;
  *n = 0;
  while (*p != 0 && (quoted || !is_blank(*p))) {
    size_t slashes = 0;
    while (p[slashes] == '\\') slashes++;
    if (p[slashes] != '"') {
      /* Backslashes not before a quote, or any other unit: literal. */
      for (size_t i = 0; i < slashes; i++) out[(*n)++] = '\\';
      p += slashes;
      if (slashes == 0) out[(*n)++] = *p++;
      continue;
    }
    for (size_t i = 0; i < slashes / 2; i++) out[(*n)++] = '\\';
    p += slashes;
    if (slashes % 2 == 1) {
      out[(*n)++] = '"';
      p++;
    } else if (quoted && p[1] == '"') {
      out[(*n)++] = '"';
      p += 2;
      if (rules == SBT_SPLIT_SHELL) quoted = false;
    } else {
      quoted = !quoted;
      p++;
    }
  }
  return p;
}

int sbt_argv_split(const sb__wchar *line, sbt_split_rules rules, char ***argv, size_t *argc) {
  /* No argument is longer than the line. */
  sb__wchar *out = malloc((sb__wlen(line) + 1) * sizeof *out);
  const sb__wchar *p = line;
  size_t n;
  int rc;

  *argv = NULL;
  *argc = 0;
  if (out == NULL) return SB_E_NOMEM;
  p = split_program(p, rules, out, &n);
  if ((rc = push(argv, argc, out, n)) != 0) goto done;
  for (;;) {
    while (is_blank(*p)) p++;
    if (*p == 0) break;
    p = split_arg(p, rules, out, &n);
    if ((rc = push(argv, argc, out, n)) != 0) goto done;
  }
done:
  free(out);
  if (rc != 0) {
    sbt_argv_free(*argv, *argc);
    *argv = NULL;
    *argc = 0;
  }
  return rc;
}

void sbt_argv_free(char **argv, size_t argc) {
  if (argv == NULL) return;
  for (size_t i = 0; i < argc; i++) free(argv[i]);
  free(argv);
}
