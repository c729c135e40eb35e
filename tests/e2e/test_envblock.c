/*
 * Unit tests of broker/envblock.c, run under Wine: the order Windows expects,
 * overrides by name ignoring case as Windows does, the hidden "=C:" entries,
 * the handles variable, duplicates, and the limits at and one past their
 * value. The last cases hand a built block to CreateProcessW and read back,
 * through argv_echo.exe, what the child's GetEnvironmentStringsW sees.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

#include <cjson/cJSON.h>

#include "envblock.h"
#include "sb_errors.h"
#include "sb_test.h"
#include "sb_win_test.h"
#include "utf.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

/* Checks that block (n units) holds exactly the strings of expect, in order,
 * each with its NUL, and the final NUL; an empty list means two NULs. */
static void check_block(const wchar_t *block, size_t n, const wchar_t *const *expect) {
  size_t want = 1, k = 0;
  const wchar_t *p = block;
  for (size_t i = 0; expect[i] != NULL; i++) want += wcslen(expect[i]) + 1;
  if (want < 2) want = 2;
  CHECK_INT(n, want);
  if (block == NULL || n != want) return;
  for (; *p != L'\0'; p += wcslen(p) + 1, k++) {
    if (expect[k] == NULL || wcscmp(p, expect[k]) != 0) {
      char *got = NULL;
      sb__wide_to_utf8(p, &got);
      SB__FAIL("entry %zu is \"%s\"", k, got ? got : "?");
      free(got);
      return;
    }
  }
  CHECK(expect[k] == NULL);
  /* The block ends right after the last string: one NUL, or two if empty. */
  CHECK_INT(p - block + 1 == (ptrdiff_t)n || (k == 0 && n == 2 && block[1] == L'\0'), 1);
}

/* Builds and checks in one go; the expected list ends with NULL. */
static void check_build(const wchar_t *base, const char *const *entries, size_t n,
                        const char *xname, const char *xvalue, const wchar_t *const *expect) {
  wchar_t *block = (wchar_t *)1;
  size_t chars = 99;
  int rc = sb__envblock_build(base, entries, n, xname, xvalue, &block, &chars);
  CHECK_INT(rc, 0);
  if (rc != 0) return;
  check_block(block, chars, expect);
  free(block);
}

/* Expects the build to fail with rc, leaving *out NULL and chars 0. */
static void check_fails(const wchar_t *base, const char *const *entries, size_t n,
                        const char *xname, const char *xvalue, int rc) {
  wchar_t *block = (wchar_t *)1;
  size_t chars = 99;
  CHECK_INT(sb__envblock_build(base, entries, n, xname, xvalue, &block, &chars), rc);
  CHECK(block == NULL);
  CHECK_INT(chars, 0);
}

/* A base block of exactly `total` units (total >= 9), made of entries
 * "Vnnnnn=xxx..." whose values stay under the variable limit. */
static wchar_t *make_base(size_t total) {
  wchar_t *b = malloc(total * sizeof *b), *w = b;
  size_t left = total - 1; /* the block's final NUL */
  int k = 0;
  if (b == NULL) return NULL;
  while (left > 0) {
    /* An entry is "V%05d=" (7 units) + value + NUL; keep each remainder
     * large enough for one more entry. */
    size_t take = left;
    if (take > 32007) take = left - 32007 >= 8 ? 32007 : left / 2;
    swprintf(w, 8, L"V%05d=", k++);
    for (size_t i = 7; i < take - 1; i++) w[i] = L'x';
    w[take - 1] = L'\0';
    w += take;
    left -= take;
  }
  *w = L'\0';
  return b;
}

/* ------------------------------------------------------------------------ */
/* Shape and order                                                          */

SB_TEST(envblock_empty) {
  static const wchar_t *const none[] = {NULL};
  wchar_t *block = NULL;
  size_t chars = 0;
  CHECK_INT(sb__envblock_build(NULL, NULL, 0, NULL, NULL, &block, &chars), 0);
  REQUIRE(block != NULL);
  CHECK_INT(chars, 2);
  CHECK(block[0] == L'\0' && block[1] == L'\0');
  free(block);
  /* An empty base block (just its terminator) is the same. */
  check_build(L"\0", NULL, 0, NULL, NULL, none);
  /* out_chars is optional. */
  block = NULL;
  CHECK_INT(sb__envblock_build(NULL, NULL, 0, NULL, NULL, &block, NULL), 0);
  free(block);
}

SB_TEST(envblock_sorted) {
  /* Upper-cased ordinal order: "A" < "AB" < "A_B" ('B' is 0x42, '_' 0x5F)
   * < "B" < "_U"; a name that is a prefix of another comes first. Values
   * never take part ("A1=" after "A=" regardless of the '1' < '='). */
  static const char *const entries[] = {"b=2", "A1=0", "_u=3", "a_b=4", "ab=5", "A=1"};
  static const wchar_t *const expect[] = {L"A=1",   L"A1=0", L"ab=5", L"a_b=4",
                                          L"b=2",   L"_u=3", NULL};
  check_build(NULL, entries, 6, NULL, NULL, expect);
}

SB_TEST(envblock_sorts_unsorted_base) {
  /* The base is re-sorted too, whatever order it came in. */
  static const wchar_t *const expect[] = {L"a=1", L"M=2", L"z=3", NULL};
  check_build(L"z=3\0a=1\0M=2\0", NULL, 0, NULL, NULL, expect);
}

SB_TEST(envblock_overrides_base_ignoring_case) {
  static const char *const entries[] = {"PATH=C:\\new", "temp=T2"};
  static const wchar_t *const expect[] = {L"PATH=C:\\new", L"SystemRoot=C:\\windows",
                                          L"temp=T2", L"windir=w", NULL};
  check_build(L"Path=C:\\x\0SystemRoot=C:\\windows\0TEMP=t\0windir=w\0", entries, 2, NULL,
              NULL, expect);
}

SB_TEST(envblock_overrides_non_ascii_case) {
  /* Windows folds case beyond ASCII: "ÄPFEL" and "äpfel" are one variable. */
  static const char *const entries[] = {"\xC3\xA4pfel=2", "\xD0\xB6=k"}; /* äpfel, ж */
  static const wchar_t *const expect[] = {L"Z=z", L"\x00E4pfel=2", L"\x0436=k", NULL};
  check_build(L"\x00C4PFEL=1\0\x0416=K\0Z=z\0", entries, 2, NULL, NULL, expect);
}

SB_TEST(envblock_keeps_drive_entries) {
  /* "=C:" entries: the name runs to the second '='; they sort before
   * letters ('=' is 0x3D) and no request variable can replace them; "C:" is
   * a different variable. */
  static const char *const entries[] = {"C:=x", "B=2"};
  static const wchar_t *const expect[] = {L"=C:=C:\\dir", L"=D:=D:\\", L"=ExitCode=00000001",
                                          L"A=1",         L"B=2",      L"C:=x",
                                          NULL};
  check_build(L"A=1\0=ExitCode=00000001\0=D:=D:\\\0=C:=C:\\dir\0", entries, 2, NULL, NULL,
              expect);
  /* Even with clear_env-like bases holding nothing else. */
  {
    static const wchar_t *const only[] = {L"=C:=C:\\", NULL};
    check_build(L"=C:=C:\\\0", NULL, 0, NULL, NULL, only);
  }
}

SB_TEST(envblock_extra_variable) {
  static const char *const entries[] = {"A=1", "Z=26"};
  {
    static const wchar_t *const expect[] = {L"A=1", L"SB_HANDLES=in=136;log=140", L"Z=26",
                                            NULL};
    check_build(NULL, entries, 2, "SB_HANDLES", "in=136;log=140", expect);
  }
  {
    /* It replaces a base variable of the same name, ignoring case. */
    static const wchar_t *const expect[] = {L"A=1", L"sb_handles=", L"X=1", L"Z=26", NULL};
    check_build(L"SB_HANDLES=stale\0X=1\0", entries, 2, "sb_handles", "", expect);
  }
  {
    /* Alone, on an empty base. */
    static const wchar_t *const expect[] = {L"H=\x00FC", NULL};
    check_build(NULL, NULL, 0, "H", "\xC3\xBC", expect);
  }
}

/* ------------------------------------------------------------------------ */
/* Refusals                                                                 */

SB_TEST(envblock_duplicates) {
  static const char *const ascii[] = {"A=1", "x=0", "a=2"};
  static const char *const exact[] = {"Same=1", "Same=1"};
  static const char *const umlaut[] = {"\xC3\x84=1", "\xC3\xA4=2"};           /* Ä, ä */
  static const char *const sigma[] = {"x\xCE\xA3y=1", "X\xCF\x83Y=2"};        /* Σ, σ */
  static const char *const cyr[] = {"\xD0\x96\xD0\xB8=1", "\xD0\xB6\xD0\x98=2"}; /* Жи, жИ */
  static const char *const one[] = {"\xC3\xA4pfel=1"};
  check_fails(NULL, ascii, 3, NULL, NULL, SB_E_DUPLICATE_ENV_NAME);
  check_fails(NULL, exact, 2, NULL, NULL, SB_E_DUPLICATE_ENV_NAME);
  check_fails(NULL, umlaut, 2, NULL, NULL, SB_E_DUPLICATE_ENV_NAME);
  check_fails(NULL, sigma, 2, NULL, NULL, SB_E_DUPLICATE_ENV_NAME);
  check_fails(L"B=1\0", cyr, 2, NULL, NULL, SB_E_DUPLICATE_ENV_NAME);
  /* The handles variable counts as one more request variable. */
  check_fails(NULL, one, 1, "\xC3\x84PFEL", "x", SB_E_DUPLICATE_ENV_NAME);
  check_fails(NULL, ascii + 1, 1, "X", "y", SB_E_DUPLICATE_ENV_NAME);
  /* Duplicates inside the base are Windows's business and are kept. */
  {
    static const wchar_t *const expect[] = {L"a=1", L"A=2", NULL};
    check_build(L"a=1\0A=2\0", NULL, 0, NULL, NULL, expect);
  }
}

SB_TEST(envblock_invalid_input) {
  static const char *const no_eq[] = {"NOEQ"};
  static const char *const empty_name[] = {"=x"};
  static const char *const bad_utf8[] = {"A=\xC3("};
  static const char *const with_null[] = {"A=1", NULL};
  static const char *const good[] = {"A=1"};
  check_fails(NULL, no_eq, 1, NULL, NULL, SB_E_INVALID_ENV_ENTRY);
  check_fails(NULL, empty_name, 1, NULL, NULL, SB_E_INVALID_ENV_ENTRY);
  check_fails(NULL, bad_utf8, 1, NULL, NULL, SB_E_INVALID_ARGUMENT);
  check_fails(NULL, with_null, 2, NULL, NULL, SB_E_INVALID_ARGUMENT);
  check_fails(NULL, NULL, 1, NULL, NULL, SB_E_INVALID_ARGUMENT);
  check_fails(NULL, good, 1, "H", NULL, SB_E_INVALID_ARGUMENT);
  check_fails(NULL, good, 1, NULL, "v", SB_E_INVALID_ARGUMENT);
  check_fails(NULL, good, 1, "", "v", SB_E_INVALID_NAME);
  check_fails(NULL, good, 1, "H=1", "v", SB_E_INVALID_NAME);
  check_fails(NULL, good, 1, "H", "\xFF", SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb__envblock_build(NULL, good, 1, NULL, NULL, NULL, NULL), SB_E_INVALID_ARGUMENT);
  /* A value may hold '=' and anything else but NUL. */
  {
    static const char *const eqs[] = {"A==b=c", "B= spaces and\ttabs "};
    static const wchar_t *const expect[] = {L"A==b=c", L"B= spaces and\ttabs ", NULL};
    check_build(NULL, eqs, 2, NULL, NULL, expect);
  }
}

/* ------------------------------------------------------------------------ */
/* Limits                                                                   */

/* "V=" + a value of `units` UTF-16 units, as UTF-8: x's, or emoji (2 units
 * each) and one x when `emoji` and units is odd. */
static char *var_with_value(const char *name, size_t units, bool emoji) {
  size_t nlen = strlen(name);
  char *s = malloc(nlen + 1 + units * 2 + 2), *w;
  if (s == NULL) return NULL;
  memcpy(s, name, nlen);
  w = s + nlen;
  *w++ = '=';
  for (size_t i = 0; i < units; i++) {
    if (emoji && units - i >= 2) {
      memcpy(w, "\xF0\x9F\x98\x80", 4);
      w += 4;
      i++;
    } else {
      *w++ = 'x';
    }
  }
  *w = '\0';
  return s;
}

SB_TEST(envblock_value_limit) {
  char *at = var_with_value("V", SB__ENV_VALUE_MAX_CHARS, false);
  char *past = var_with_value("V", SB__ENV_VALUE_MAX_CHARS + 1, false);
  char *eat = var_with_value("V", SB__ENV_VALUE_MAX_CHARS, true);
  char *epast = var_with_value("V", SB__ENV_VALUE_MAX_CHARS + 1, true);
  wchar_t *block = NULL;
  size_t chars = 0;
  REQUIRE(at != NULL && past != NULL && eat != NULL && epast != NULL);
  CHECK_INT(SB__ENV_VALUE_MAX_CHARS, 32767);
  CHECK_INT(sb__envblock_build(NULL, (const char *const *)&at, 1, NULL, NULL, &block, &chars),
            0);
  CHECK_INT(chars, 2 + SB__ENV_VALUE_MAX_CHARS + 1 + 1);
  free(block);
  check_fails(NULL, (const char *const *)&past, 1, NULL, NULL, SB_E_ENVIRONMENT_TOO_LARGE);
  /* Counted in UTF-16 units: 16383 emoji and an x are 32767 units. */
  block = NULL;
  CHECK_INT(sb__envblock_build(NULL, (const char *const *)&eat, 1, NULL, NULL, &block, &chars),
            0);
  CHECK_INT(chars, 2 + SB__ENV_VALUE_MAX_CHARS + 1 + 1);
  free(block);
  check_fails(NULL, (const char *const *)&epast, 1, NULL, NULL, SB_E_ENVIRONMENT_TOO_LARGE);
  /* The handles variable has the same limit. */
  block = NULL;
  CHECK_INT(sb__envblock_build(NULL, NULL, 0, "V", at + 2, &block, &chars), 0);
  CHECK_INT(chars, 2 + SB__ENV_VALUE_MAX_CHARS + 1 + 1);
  free(block);
  check_fails(NULL, NULL, 0, "V", past + 2, SB_E_ENVIRONMENT_TOO_LARGE);
  free(at);
  free(past);
  free(eat);
  free(epast);
}

SB_TEST(envblock_block_limit) {
  wchar_t *at = make_base(SB__ENV_BLOCK_MAX_CHARS);
  wchar_t *past = make_base(SB__ENV_BLOCK_MAX_CHARS + 1);
  wchar_t *block = NULL;
  size_t chars = 0;
  REQUIRE(at != NULL && past != NULL);
  CHECK_INT(SB__ENV_BLOCK_MAX_CHARS, 1048576);
  CHECK_INT(sb__envblock_build(at, NULL, 0, NULL, NULL, &block, &chars), 0);
  CHECK_INT(chars, SB__ENV_BLOCK_MAX_CHARS);
  CHECK(block != NULL && memcmp(block, at, chars * sizeof *block) == 0);
  free(block);
  check_fails(past, NULL, 0, NULL, NULL, SB_E_ENVIRONMENT_TOO_LARGE);
  {
    /* The finished block counts, not the base: replacing V00000's value by
     * one unit shorter brings the base one past the limit back to it... */
    const wchar_t *first = past;
    size_t vlen = wcslen(first) - 7;
    char *shorter = var_with_value("v00000", vlen - 1, false);
    char *same = var_with_value("v00000", vlen, false);
    char *added = NULL;
    REQUIRE(shorter != NULL && same != NULL);
    block = NULL;
    CHECK_INT(sb__envblock_build(past, (const char *const *)&shorter, 1, NULL, NULL, &block,
                                 &chars),
              0);
    CHECK_INT(chars, SB__ENV_BLOCK_MAX_CHARS);
    free(block);
    check_fails(past, (const char *const *)&same, 1, NULL, NULL, SB_E_ENVIRONMENT_TOO_LARGE);
    /* ...and one new variable ("W=" and its NUL, 3 units) on a base 3 under
     * the limit fits exactly, while the handles variable tips it over. */
    free(at);
    at = make_base(SB__ENV_BLOCK_MAX_CHARS - 3);
    REQUIRE(at != NULL);
    added = var_with_value("W", 0, false);
    REQUIRE(added != NULL);
    block = NULL;
    CHECK_INT(sb__envblock_build(at, (const char *const *)&added, 1, NULL, NULL, &block, &chars),
              0);
    CHECK_INT(chars, SB__ENV_BLOCK_MAX_CHARS);
    free(block);
    check_fails(at, (const char *const *)&added, 1, "H", "", SB_E_ENVIRONMENT_TOO_LARGE);
    free(added);
    free(shorter);
    free(same);
  }
  free(at);
  free(past);
}

/* ------------------------------------------------------------------------ */
/* A real child                                                             */

/* Starts argv_echo.exe with env (CREATE_UNICODE_ENVIRONMENT) and returns the
 * "env" entries it reports, in order, as a NULL-terminated malloc'd array of
 * UTF-8 strings. */
static char **child_env(wchar_t *env, size_t *count) {
  wchar_t app[MAX_PATH], cmd[MAX_PATH + 2];
  char *buf = NULL, **list = NULL;
  size_t n = 0;
  DWORD code = 1;

  *count = 0;
  if (sbt_exe_path(L"argv_echo.exe", app, MAX_PATH) != 0) return NULL;
  _snwprintf(cmd, MAX_PATH + 2, L"\"%ls\"", app);
  cmd[MAX_PATH + 1] = L'\0';
  if (sbt_run_collect(app, cmd, env, &buf, &code) != 0) return NULL;
  CHECK_INT(code, 0);
  list = calloc(strlen(buf) / 2 + 2, sizeof *list); /* every line is at least 2 bytes */
  if (list == NULL) goto done;
  for (char *line = buf, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
    cJSON *o, *src, *entry;
    *nl = '\0';
    o = cJSON_Parse(line);
    src = cJSON_GetObjectItemCaseSensitive(o, "source");
    entry = cJSON_GetObjectItemCaseSensitive(o, "entry");
    if (cJSON_IsString(src) && strcmp(src->valuestring, "env") == 0 && cJSON_IsString(entry)) {
      size_t m = strlen(entry->valuestring) + 1;
      list[n] = malloc(m);
      if (list[n] != NULL) memcpy(list[n++], entry->valuestring, m);
    }
    cJSON_Delete(o);
  }
  *count = n;
done:
  free(buf);
  return list;
}

/* Wine (8.0, measured) gives every new process its own bookkeeping
 * variables whatever block CreateProcessW was passed: it drops SystemDrive,
 * SystemRoot and WINEDATADIR, WINEHOMEDIR, WINECONFIGDIR, WINEDLLDIR0,
 * WINELOADER, WINEUSERNAME, WINEDLLOVERRIDES, WINEUSERLOCALE from the block
 * and appends its current values after the last entry, out of sorted order,
 * even to an empty block. Windows passes the block as it is. Under Wine the
 * comparison therefore leaves out SystemDrive, SystemRoot and every name
 * beginning with "WINE", on both sides. */
static bool under_wine(void) { return sbt_under_wine() != 0; }

static bool wine_managed(const char *entry) {
  static const char *const exact[] = {"SystemDrive=", "SystemRoot="};
  if (!under_wine()) return false;
  for (size_t i = 0; i < 2; i++)
    if (_strnicmp(entry, exact[i], strlen(exact[i])) == 0) return true;
  return _strnicmp(entry, "WINE", 4) == 0;
}

static void free_list(char **list, size_t n) {
  if (list == NULL) return;
  for (size_t i = 0; i < n; i++) free(list[i]);
  free(list);
}

/* The block built on this process's environment is what the child sees,
 * entry for entry and in the same order. */
SB_TEST(envblock_child_sees_block) {
  static const char *const entries[] = {"SB_TEST_X=\xC3\xA4 \xF0\x9F\x98\x80", "path=C:\\only"};
  wchar_t *base = GetEnvironmentStringsW();
  wchar_t *block = NULL;
  size_t chars = 0, n = 0, k = 0;
  char **seen = NULL;
  REQUIRE(base != NULL);
  CHECK_INT(sb__envblock_build(base, entries, 2, "SB_HANDLES", "in=4;out=8", &block, &chars), 0);
  FreeEnvironmentStringsW(base);
  REQUIRE(block != NULL);
  seen = child_env(block, &n);
  REQUIRE(seen != NULL);
  for (const wchar_t *p = block; *p != L'\0'; p += wcslen(p) + 1) {
    char *want = NULL;
    REQUIRE(sb__wide_to_utf8(p, &want) == 0);
    if (!wine_managed(want)) {
      while (k < n && wine_managed(seen[k])) k++;
      if (k >= n)
        SB__FAIL("the child lacks \"%s\"", want);
      else if (strcmp(seen[k], want) != 0)
        SB__FAIL("entry %zu: the child has \"%s\", the block \"%s\"", k, seen[k], want);
      k++;
    }
    free(want);
  }
  while (k < n && wine_managed(seen[k])) k++;
  CHECK_INT(k, n);
  {
    bool has_x = false, has_h = false, has_path = false;
    for (size_t i = 0; i < n; i++) {
      has_x |= strcmp(seen[i], entries[0]) == 0;
      has_h |= strcmp(seen[i], "SB_HANDLES=in=4;out=8") == 0;
      has_path |= strcmp(seen[i], "path=C:\\only") == 0;
    }
    CHECK(has_x && has_h && has_path);
  }
  free_list(seen, n);
  free(block);
}

/* clear_env: the child starts with the variables of the request only. */
SB_TEST(envblock_child_clear_env) {
  static const char *const entries[] = {"ONLY=1"};
  wchar_t *block = NULL;
  size_t chars = 0, n = 0;
  char **seen = NULL;
  CHECK_INT(sb__envblock_build(NULL, entries, 1, "H", "x=1", &block, &chars), 0);
  REQUIRE(block != NULL);
  seen = child_env(block, &n);
  REQUIRE(seen != NULL);
  {
    const char *kept[8];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
      if (!wine_managed(seen[i]) && m < 8) kept[m++] = seen[i];
    CHECK_INT(m, 2);
    if (m == 2) {
      CHECK_STR(kept[0], "H=x=1");
      CHECK_STR(kept[1], "ONLY=1");
    }
    /* Under Wine the two come first, Wine's own after them. */
    if (n >= 2) {
      CHECK_STR(seen[0], "H=x=1");
      CHECK_STR(seen[1], "ONLY=1");
    }
    if (sb_test_failures)
      for (size_t i = 0; i < n; i++) fprintf(stderr, "  child: %s\n", seen[i]);
  }
  free_list(seen, n);
  free(block);
}

SB_TEST_MAIN(SB_CASE(envblock_empty), SB_CASE(envblock_sorted),
             SB_CASE(envblock_sorts_unsorted_base), SB_CASE(envblock_overrides_base_ignoring_case),
             SB_CASE(envblock_overrides_non_ascii_case), SB_CASE(envblock_keeps_drive_entries),
             SB_CASE(envblock_extra_variable), SB_CASE(envblock_duplicates),
             SB_CASE(envblock_invalid_input), SB_CASE(envblock_value_limit),
             SB_CASE(envblock_block_limit), SB_CASE(envblock_child_sees_block),
             SB_CASE(envblock_child_clear_env))
