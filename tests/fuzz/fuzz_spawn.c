/*
 * libFuzzer target: bytes -> validated spawn request -> the broker's own
 * handling of it before any system call (broker/child_strings.c,
 * request_limits.c, cmdline.c, envblock.c, utf.c), natively.
 *
 * The first byte picks what the broker would bring to the request (the
 * limits.handles_per_request setting, whether a base environment exists,
 * which values the handles get in the child); the rest is one frame. For
 * every spawn request the decoder accepts, the target traps
 * (__builtin_trap) when an invariant breaks:
 *  - the broker refuses too many handles exactly when the setting says so;
 *  - every string of the request converts to UTF-16 and back unchanged, and
 *    on the raw input bytes the converter accepts exactly what the decoder's
 *    own UTF-8 check accepts;
 *  - the command line is built unless the program holds a '"' (then the
 *    answer is ExecutableNotFound) or it is longer than Windows allows (then
 *    CommandLineTooLong, at exactly the length the quoting rules give); a
 *    built line is that long, and splits back into the program and the
 *    expanded arguments under CommandLineToArgvW's and the C runtime's rules;
 *  - placeholders expand (the decoder checked them) to the child's values;
 *  - the environment block ends in two NULs, holds exactly the request's
 *    entries, the handles variable and the base entries they do not
 *    replace, sorted by name as Windows compares names, no two names equal;
 *    or it is refused with the error the entries call for.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child_strings.h"
#include "cmdline.h"
#include "env_name.h"
#include "envblock.h"
#include "json_strict.h"
#include "request_limits.h"
#include "sb_argv_split.h"
#include "sb_proto.h"
#include "utf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)             \
  do {                          \
    if (!(cond)) __builtin_trap(); \
  } while (0)

/* A base environment as Windows gives one: drive entries first, mixed case,
 * a name a request may replace. */
static const char *const base_entries[] = {
    "=C:=C:\\work", "=ExitCode=00000000", "ComSpec=C:\\Windows\\system32\\cmd.exe",
    "Path=C:\\Windows;C:\\bin", "SystemRoot=C:\\Windows", "TEMP=C:\\Temp", "\xC3\x84pfel=base",
};
#define NBASE (sizeof base_entries / sizeof base_entries[0])

static sb__wchar *base_block(void) {
  static sb__wchar block[512];
  static bool made;
  size_t at = 0;
  if (made) return block;
  for (size_t i = 0; i < NBASE; i++) {
    sb__wchar *w = NULL;
    CHECK(sb__utf8_to_wide(base_entries[i], &w) == 0);
    memcpy(block + at, w, (sb__wlen(w) + 1) * sizeof *w);
    at += sb__wlen(w) + 1;
    free(w);
  }
  block[at] = 0;
  made = true;
  return block;
}

/* UTF-8 -> UTF-16 -> UTF-8 gives back s; the UTF-16 length in *units. */
static void check_utf_roundtrip(const char *s, size_t *units) {
  sb__wchar *w = NULL;
  char *back = NULL;
  CHECK(sb__utf8_to_wide(s, &w) == 0);
  CHECK(sb__wide_to_utf8(w, &back) == 0);
  CHECK(strcmp(back, s) == 0);
  if (units != NULL) *units = sb__wlen(w);
  free(back);
  free(w);
}

/* The raw input, as UTF-8 up to its first NUL and as UTF-16 units: the
 * converter agrees with the decoder's UTF-8 check, and what converts comes
 * back unchanged. */
static void check_raw_utf(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  sb__wchar *w = malloc((size / 2 + 1) * sizeof *w), *again = NULL;
  sb__wchar *units = NULL;
  char *utf8 = NULL;
  CHECK(s != NULL && w != NULL);
  memcpy(s, data, size);
  s[size] = '\0';
  if (sb__utf8_to_wide(s, &units) == 0) {
    CHECK(sb__utf8_valid(s, strlen(s), NULL, NULL));
    check_utf_roundtrip(s, NULL);
  } else {
    CHECK(!sb__utf8_valid(s, strlen(s), NULL, NULL));
  }
  free(units);
  for (size_t i = 0; i < size / 2; i++) w[i] = (sb__wchar)(data[2 * i] | data[2 * i + 1] << 8);
  w[size / 2] = 0;
  if (sb__wide_to_utf8(w, &utf8) == 0) {
    CHECK(sb__utf8_to_wide(utf8, &again) == 0);
    CHECK(sb__wlen(again) == sb__wlen(w) && memcmp(again, w, sb__wlen(w) * sizeof *w) == 0);
  }
  free(again);
  free(utf8);
  free(w);
  free(s);
}

/* The length cmdline.c's rules give an argument after argv[0], with its
 * leading space; units in UTF-16. */
static size_t quoted_length(const char *arg) {
  sb__wchar *w = NULL;
  size_t n, len, slashes = 0;
  bool quote = false;
  CHECK(sb__utf8_to_wide(arg, &w) == 0);
  n = sb__wlen(w);
  len = 1 + n;
  for (size_t i = 0; i < n; i++)
    if (w[i] == ' ' || w[i] == '\t' || w[i] == '\n' || w[i] == '\v' || w[i] == '"') quote = true;
  if (n == 0 || quote) {
    len += 2;
    /* Each '"' gets a backslash and doubles the run before it; so does the
     * closing quote. */
    for (size_t i = 0; i <= n; i++) {
      if (i < n && w[i] == '\\') {
        slashes++;
        continue;
      }
      if (i == n || w[i] == '"') len += slashes + (i < n);
      slashes = 0;
    }
  }
  free(w);
  return len;
}

/* rc is what sb__child_strings_build answered; the line is built again
 * from the expanded arguments, so that it is checked even when the
 * environment then failed. */
static void check_cmdline(const sb_spawn_params *p, char **args, int rc) {
  size_t want = 2, units = 0;
  sb__wchar *line = NULL;
  int built = sb__cmdline_build(p->program, (const char *const *)args, p->nargs, &line);
  check_utf_roundtrip(p->program, &units);
  want += units;
  for (size_t i = 0; i < p->nargs; i++) want += quoted_length(args[i]);
  if (strchr(p->program, '"') != NULL) {
    CHECK(built == SB_E_INVALID_ARGUMENT && rc == SB_E_EXECUTABLE_NOT_FOUND);
    return;
  }
  if (want + 1 > SB__CMDLINE_MAX_CHARS) {
    CHECK(built == SB_E_COMMAND_LINE_TOO_LONG && rc == SB_E_COMMAND_LINE_TOO_LONG);
    return;
  }
  CHECK(built == 0 && rc != SB_E_EXECUTABLE_NOT_FOUND && rc != SB_E_COMMAND_LINE_TOO_LONG);
  CHECK(sb__wlen(line) == want);
  for (int r = 0; r < 2; r++) {
    char **argv = NULL;
    size_t argc = 0;
    CHECK(sbt_argv_split(line, (sbt_split_rules)r, &argv, &argc) == 0);
    CHECK(argc == p->nargs + 1);
    CHECK(strcmp(argv[0], p->program) == 0);
    for (size_t i = 0; i < p->nargs; i++) CHECK(strcmp(argv[i + 1], args[i]) == 0);
    sbt_argv_free(argv, argc);
  }
  free(line);
}

/* One variable the block must hold: its text, and its name's length. */
typedef struct wanted {
  const sb__wchar *text;
  sb__wchar *owned; /* text, when converted here */
  size_t name_len;
  bool replaced; /* a base entry the request sets again */
} wanted;

static size_t name_length(const sb__wchar *s) {
  /* A name starting with '=' (drive entries) runs to the second '='. */
  size_t i = 1;
  while (s[i] != 0 && s[i] != '=') i++;
  return i;
}

static bool same_name(const wanted *a, const wanted *b) {
  return sb__env_name_cmp(a->text, a->name_len, b->text, b->name_len) == 0;
}

/* What the block must be, given the request's variables (entries and the
 * handles variable) and the base, and what it is or why it was refused. */
static void check_env(const sb_spawn_params *p, const char *henv, const sb__wchar *base,
                      const sb__wchar *block, size_t chars, int rc) {
  size_t nset = p->nenv + (p->handles_env != NULL), nbase = 0, nreplaced = 0, total = 1;
  size_t found = 0;
  wanted *set = calloc(nset + 1, sizeof *set), *kept = calloc(NBASE + 1, sizeof *kept);
  bool too_big_value = false, dup = false;
  const sb__wchar *e, *prev = NULL;
  CHECK(set != NULL && kept != NULL);
  for (size_t i = 0; i < nset; i++) {
    char *text = NULL;
    const char *entry = i < p->nenv ? p->env[i] : NULL;
    if (entry == NULL) {
      size_t n = strlen(p->handles_env) + strlen(henv) + 2;
      text = malloc(n);
      CHECK(text != NULL);
      snprintf(text, n, "%s=%s", p->handles_env, henv);
      entry = text;
    }
    CHECK(sb__utf8_to_wide(entry, &set[i].owned) == 0);
    set[i].text = set[i].owned;
    set[i].name_len = name_length(set[i].text);
    CHECK(set[i].text[set[i].name_len] == '=' && set[i].name_len > 0 && set[i].text[0] != '=');
    if (sb__wlen(set[i].text) - set[i].name_len - 1 > SB__ENV_VALUE_MAX_CHARS)
      too_big_value = true;
    for (size_t k = 0; k < i; k++)
      if (same_name(&set[k], &set[i])) dup = true;
    total += sb__wlen(set[i].text) + 1;
    free(text);
  }
  for (e = base; e != NULL && *e != 0; e += sb__wlen(e) + 1) {
    kept[nbase].text = e;
    kept[nbase].name_len = name_length(e);
    for (size_t i = 0; i < nset; i++)
      if (same_name(&kept[nbase], &set[i])) kept[nbase].replaced = true;
    if (kept[nbase].replaced)
      nreplaced++;
    else
      total += sb__wlen(e) + 1;
    nbase++;
  }
  if (too_big_value || dup) {
    /* Values are measured before names are compared. */
    CHECK(rc == (too_big_value ? SB_E_ENVIRONMENT_TOO_LARGE : SB_E_DUPLICATE_ENV_NAME));
  } else if ((total < 2 ? 2 : total) > SB__ENV_BLOCK_MAX_CHARS) {
    CHECK(rc == SB_E_ENVIRONMENT_TOO_LARGE);
  } else {
    CHECK(rc == 0 && block != NULL);
    CHECK(chars == (total < 2 ? 2 : total));
    CHECK(block[chars - 1] == 0 && block[chars - 2] == 0);
    /* Every entry is one the block must hold, in order; together they are
     * all of them. */
    for (e = block; *e != 0; e += sb__wlen(e) + 1) {
      bool known = false;
      CHECK((size_t)(e - block) < chars);
      if (prev != NULL) CHECK(sb__env_name_cmp(prev, name_length(prev), e, name_length(e)) <= 0);
      prev = e;
      for (size_t i = 0; i < nset && !known; i++)
        known = sb__wlen(set[i].text) == sb__wlen(e) &&
                memcmp(set[i].text, e, sb__wlen(e) * sizeof *e) == 0;
      for (size_t i = 0; i < nbase && !known; i++)
        known = !kept[i].replaced && sb__wlen(kept[i].text) == sb__wlen(e) &&
                memcmp(kept[i].text, e, sb__wlen(e) * sizeof *e) == 0;
      CHECK(known);
      found++;
    }
    CHECK(found == nset + nbase - nreplaced);
  }
  for (size_t i = 0; i < nset; i++) free(set[i].owned);
  free(set);
  free(kept);
}

/* The broker's handling of one accepted spawn request. */
static void check_spawn(const sb_spawn_params *p, uint8_t knobs) {
  sb__settings settings;
  sb_spawn_result handles;
  sb__child_strings out;
  char path[64], detail[192];
  char **args;
  const sb__wchar *base = knobs & 0x10 ? base_block() : NULL;
  char henv[1 + SB_LIMIT_HANDLES * (SB_LIMIT_NAME_BYTES + 24)] = "";
  int rc;

  /* limits.handles_per_request may be anything from 1 to 16. */
  memset(&settings, 0, sizeof settings);
  settings.max_handles = (uint32_t)(knobs & 0x0F) + 1;
  rc = sb__request_limits_check(p, &settings, detail, sizeof detail);
  CHECK(rc == (p->nhandles > settings.max_handles ? SB_E_TOO_MANY_HANDLES : 0));

  /* The values the handles have in the child: what the client sent, or
   * values a helper could give them (multiples of 4, up to the largest). */
  memset(&handles, 0, sizeof handles);
  handles.nhandles = p->nhandles;
  for (size_t i = 0; i < p->nhandles; i++) {
    handles.handles[i].name = p->handles[i].name;
    handles.handles[i].value =
        knobs & 0x20 ? p->handles[i].value : (int64_t)(SB_LIMIT_HANDLE_VALUE_MAX - 4 * i);
  }

  if (p->cwd != NULL) check_utf_roundtrip(p->cwd, NULL);
  args = calloc(p->nargs + 1, sizeof *args);
  CHECK(args != NULL);
  for (size_t i = 0; i < p->nargs; i++) {
    const char *names[SB_LIMIT_HANDLES];
    int64_t values[SB_LIMIT_HANDLES];
    check_utf_roundtrip(p->args[i], NULL);
    for (size_t k = 0; k < handles.nhandles; k++) {
      names[k] = handles.handles[k].name;
      values[k] = handles.handles[k].value;
    }
    /* The decoder checked the placeholders, so expansion cannot fail. */
    if (p->expand_handles) {
      CHECK(sb__expand_handles(p->args[i], names, values, handles.nhandles, &args[i]) == 0);
    } else {
      size_t n = strlen(p->args[i]) + 1;
      args[i] = malloc(n);
      CHECK(args[i] != NULL);
      memcpy(args[i], p->args[i], n);
    }
  }
  for (size_t i = 0; i < handles.nhandles; i++) {
    size_t len = strlen(henv);
    snprintf(henv + len, sizeof henv - len, "%s%s=%lld", i ? ";" : "", handles.handles[i].name,
             (long long)handles.handles[i].value);
  }

  rc = sb__child_strings_build(p, &handles, base, &out, path, sizeof path, detail, sizeof detail);
  /* Errors the decoder should have caught first are disagreements. */
  CHECK(rc != SB_E_UNKNOWN_HANDLE_NAME && rc != SB_E_INVALID_NAME &&
        rc != SB_E_INVALID_ARGUMENT && rc != SB_E_INVALID_ENV_ENTRY);
  CHECK(rc != 0 || (out.cmdline != NULL && out.env != NULL));
  CHECK(rc == 0 || (out.cmdline == NULL && out.env == NULL && path[0] != '\0'));
  CHECK(sb__utf8_valid(detail, strlen(detail), NULL, NULL));
  check_cmdline(p, args, rc);
  if (rc == 0 || rc == SB_E_ENVIRONMENT_TOO_LARGE || rc == SB_E_DUPLICATE_ENV_NAME)
    check_env(p, henv, base, out.env, out.env_chars, rc);
  sb__child_strings_free(&out);
  for (size_t i = 0; i < p->nargs; i++) free(args[i]);
  free(args);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sb_request req;
  uint8_t knobs = 0;
  check_raw_utf(data, size);
  if (size > 0) {
    knobs = data[0];
    data++;
    size--;
  }
  if (sb_decode_request((const char *)data, size, &req, NULL) != 0) return 0;
  if (req.method == SB_METHOD_SPAWN) check_spawn(&req.params.spawn, knobs);
  sb_request_free(&req);
  return 0;
}
