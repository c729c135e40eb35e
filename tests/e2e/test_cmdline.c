/*
 * Unit tests of broker/utf.c and broker/cmdline.c, run under Wine.
 *
 * The command line builder is judged by the splitters that will read its
 * output: CommandLineToArgvW in this process, and the C runtime start-up
 * code of a real child (argv_echo.exe, which reports its argv as JSON).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>
#include <shellapi.h>

#include <cjson/cJSON.h>

#include "cmdline.h"
#include "sb_argv_split.h"
#include "sb_errors.h"
#include "sb_nasty_args.h"
#include "sb_test.h"
#include "sb_win_test.h"
#include "utf.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d != NULL) memcpy(d, s, n);
  return d;
}

/* UTF-8 of a wide string, or NULL (the tests then fail a REQUIRE). */
static char *to_utf8(const wchar_t *w) {
  char *s = NULL;
  return sb__wide_to_utf8(w, &s) == 0 ? s : NULL;
}

/* What argv_echo.exe reported. */
typedef struct report {
  long crt_argc, shell_argc;
  char *crt[1100], *shell[1100];
  size_t ncrt, nshell;
  char *cmdline;
  size_t nenv;
  int bad_lines;
} report;

static void report_free(report *r) {
  for (size_t i = 0; i < r->ncrt; i++) free(r->crt[i]);
  for (size_t i = 0; i < r->nshell; i++) free(r->shell[i]);
  free(r->cmdline);
  memset(r, 0, sizeof *r);
}

/* Reads argv_echo's JSON lines; every line must be one of the known kinds,
 * and argument lines must come in index order. */
static void report_parse(char *out, report *r) {
  memset(r, 0, sizeof *r);
  r->crt_argc = r->shell_argc = -1;
  for (char *line = out; *line != '\0';) {
    char *nl = strchr(line, '\n');
    cJSON *o, *src, *idx, *arg, *argc_item, *cl;
    if (nl == NULL) {
      r->bad_lines++; /* every line ends in '\n' */
      break;
    }
    *nl = '\0';
    o = cJSON_Parse(line);
    src = cJSON_GetObjectItemCaseSensitive(o, "source");
    idx = cJSON_GetObjectItemCaseSensitive(o, "index");
    arg = cJSON_GetObjectItemCaseSensitive(o, "arg");
    argc_item = cJSON_GetObjectItemCaseSensitive(o, "argc");
    cl = cJSON_GetObjectItemCaseSensitive(o, "cmdline");
    if (!cJSON_IsString(src)) {
      r->bad_lines++;
    } else if (strcmp(src->valuestring, "env") == 0) {
      r->nenv++;
    } else if (strcmp(src->valuestring, "GetCommandLineW") == 0 && cJSON_IsString(cl)) {
      free(r->cmdline);
      r->cmdline = dup_str(cl->valuestring);
    } else {
      bool crt = strcmp(src->valuestring, "crt") == 0;
      bool shell = strcmp(src->valuestring, "CommandLineToArgvW") == 0;
      char **list = crt ? r->crt : r->shell;
      size_t *n = crt ? &r->ncrt : &r->nshell;
      if (!crt && !shell) {
        r->bad_lines++;
      } else if (cJSON_IsNumber(argc_item)) {
        *(crt ? &r->crt_argc : &r->shell_argc) = (long)argc_item->valuedouble;
      } else if (cJSON_IsNumber(idx) && cJSON_IsString(arg) && *n < 1100 &&
                 idx->valuedouble == (double)*n) {
        list[(*n)++] = dup_str(arg->valuestring);
      } else {
        r->bad_lines++;
      }
    }
    cJSON_Delete(o);
    line = nl + 1;
  }
}

/* Builds the command line, then checks that CommandLineToArgvW splits it
 * back into program and args exactly. Returns the line (or NULL). */
static wchar_t *check_split(const char *program, const char *const *args, size_t n) {
  wchar_t *cmd = NULL, **argv = NULL;
  int argc = 0, before = sb_test_failures;
  int rc = sb__cmdline_build(program, args, n, &cmd);
  CHECK_INT(rc, 0);
  if (rc != 0) return NULL;
  argv = CommandLineToArgvW(cmd, &argc);
  CHECK(argv != NULL);
  if (argv == NULL) goto done;
  CHECK_INT(argc, (long long)n + 1);
  for (int i = 0; i < argc && (size_t)i <= n; i++) {
    char *got = to_utf8(argv[i]);
    CHECK_STR(got, i == 0 ? program : args[i - 1]);
    free(got);
  }
  /* The portable model of these rules, which the native tests and the fuzz
   * target trust, splits the line as CommandLineToArgvW does. */
  {
    char **model = NULL;
    size_t nmodel = 0;
    CHECK_INT(sbt_argv_split(cmd, SBT_SPLIT_SHELL, &model, &nmodel), 0);
    CHECK_INT(nmodel, argc);
    for (size_t i = 0; i < nmodel && i < (size_t)argc; i++) {
      char *got = to_utf8(argv[i]);
      CHECK_STR(model[i], got);
      free(got);
    }
    sbt_argv_free(model, nmodel);
  }
done:
  if (argv != NULL) LocalFree(argv);
  if (sb_test_failures != before) {
    char *line = to_utf8(cmd);
    fprintf(stderr, "  command line: %s\n", line ? line : "(not UTF-16)");
    free(line);
  }
  return cmd;
}

/* Starts `app` with the command line built from program and args, and checks
 * that both of the child's splitters report exactly them. */
static void check_child(const wchar_t *app, const char *program, const char *const *args,
                        size_t n) {
  wchar_t *cmd = NULL;
  char *out = NULL, *expect_cmdline = NULL;
  DWORD code;
  report r;
  memset(&r, 0, sizeof r);
  if (sb__cmdline_build(program, args, n, &cmd) != 0) {
    CHECK(!"the command line could not be built");
    return;
  }
  expect_cmdline = to_utf8(cmd);
  CHECK_INT(sbt_run_collect(app, cmd, NULL, &out, &code), 0);
  if (out == NULL) goto done;
  CHECK_INT(code, 0);
  report_parse(out, &r);
  CHECK_INT(r.bad_lines, 0);
  CHECK_INT(r.crt_argc, (long long)n + 1);
  CHECK_INT(r.ncrt, (long long)n + 1);
  CHECK_INT(r.shell_argc, (long long)n + 1);
  CHECK_INT(r.nshell, (long long)n + 1);
  CHECK_STR(r.cmdline, expect_cmdline);
  for (size_t i = 0; i <= n && i < r.ncrt; i++) CHECK_STR(r.crt[i], i ? args[i - 1] : program);
  for (size_t i = 0; i <= n && i < r.nshell; i++)
    CHECK_STR(r.shell[i], i ? args[i - 1] : program);
done:
  report_free(&r);
  free(out);
  free(expect_cmdline);
  free(cmd);
}

/* The full path of argv_echo.exe, in UTF-16 and UTF-8. */
static int echo_path(wchar_t *w, size_t cap, char **utf8) {
  if (sbt_exe_path(L"argv_echo.exe", w, cap) != 0) return -1;
  *utf8 = to_utf8(w);
  return *utf8 ? 0 : -1;
}

/* A string of `n` copies of `unit` (a UTF-8 sequence), malloc'd. */
static char *repeat(const char *unit, size_t n) {
  size_t u = strlen(unit);
  char *s = malloc(u * n + 1);
  if (s == NULL) return NULL;
  for (size_t i = 0; i < n; i++) memcpy(s + i * u, unit, u);
  s[u * n] = '\0';
  return s;
}


/* Long arguments, built once: plain, with spaces and quotes, and with long
 * backslash runs before quotes and at the end. */
static const char *long_args[4];
static char *long_store[4];

static int make_long_args(void) {
  if (long_store[0] != NULL) return 0;
  long_store[0] = repeat("x", 5000);
  long_store[1] = repeat("a \"\\", 700);        /* 2800 bytes, every kind mixed */
  long_store[2] = repeat("\\\\\\\"", 300);      /* 3 backslashes + quote, x300 */
  long_store[3] = repeat("d\\ 😀\\", 400);      /* ends in a backslash */
  for (int i = 0; i < 4; i++) {
    if (long_store[i] == NULL) return -1;
    long_args[i] = long_store[i];
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* utf.c against Windows's own conversion                                   */

/* utf.c converts by itself, so that it builds natively (tests/broker/
 * test_utf.c has its cases); the broker used MultiByteToWideChar and
 * WideCharToMultiByte before, and must still accept, refuse and produce
 * exactly what they do. */

/* Compares both conversions of the n bytes at s (n <= 4, no NUL). */
static void compare_utf8(const unsigned char *s, size_t n) {
  char in[5];
  wchar_t mine_ok[8], *mine = NULL;
  int theirs = 0, rc;
  memcpy(in, s, n);
  in[n] = '\0';
  rc = sb__utf8_to_wide(in, &mine);
  theirs = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, in, (int)n + 1, mine_ok, 8);
  if ((rc == 0) != (theirs > 0) ||
      (rc == 0 && ((size_t)theirs != wcslen(mine) + 1 ||
                   memcmp(mine, mine_ok, (size_t)theirs * sizeof *mine) != 0)))
    SB__FAIL("%zu bytes %02x %02x %02x %02x: ours %d, Windows %d", n, s[0], n > 1 ? s[1] : 0,
             n > 2 ? s[2] : 0, n > 3 ? s[3] : 0, rc, theirs);
  free(mine);
}

SB_TEST(utf8_to_wide_agrees_with_windows) {
  /* Every string of one and two bytes, every three-byte string that starts
   * a multi-byte sequence, and four-byte ones over the lead bytes with
   * second bytes of every value and the edge values of continuation bytes:
   * overlong forms, surrogates, values past U+10FFFF and truncations. */
  static const unsigned char edge[] = {0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0};
  unsigned char s[4];
  int before = sb_test_failures;
  for (unsigned a = 1; a < 256 && sb_test_failures == before; a++) {
    s[0] = (unsigned char)a;
    compare_utf8(s, 1);
    for (unsigned b = 1; b < 256; b++) {
      s[1] = (unsigned char)b;
      compare_utf8(s, 2);
      if (a < 0xC0) continue;
      for (size_t c = 0; c < sizeof edge; c++) {
        s[2] = edge[c];
        compare_utf8(s, 3);
        if (a < 0xF0) continue;
        for (size_t d = 0; d < sizeof edge; d++) {
          s[3] = edge[d];
          compare_utf8(s, 4);
        }
      }
    }
  }
}

/* Compares both conversions of the units at w (n <= 2, no NUL). */
static void compare_wide(const wchar_t *w, size_t n) {
  wchar_t in[3];
  char *mine = NULL, theirs_out[8];
  int theirs, rc;
  memcpy(in, w, n * sizeof *w);
  in[n] = L'\0';
  rc = sb__wide_to_utf8(in, &mine);
  theirs = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, in, (int)n + 1, theirs_out, 8,
                               NULL, NULL);
  if ((rc == 0) != (theirs > 0) ||
      (rc == 0 && ((size_t)theirs != strlen(mine) + 1 || memcmp(mine, theirs_out, (size_t)theirs) != 0)))
    SB__FAIL("units %04x %04x: ours %d, Windows %d", (unsigned)w[0], n > 1 ? (unsigned)w[1] : 0,
             rc, theirs);
  free(mine);
}

SB_TEST(wide_to_utf8_agrees_with_windows) {
  /* Every unit alone, and after a high surrogate, a low one and a letter. */
  static const wchar_t lead[] = {0xD800, 0xDBFF, 0xDC00, L'a'};
  wchar_t w[2];
  int before = sb_test_failures;
  for (unsigned u = 1; u <= 0xFFFF && sb_test_failures == before; u++) {
    w[0] = (wchar_t)u;
    compare_wide(w, 1);
    for (size_t i = 0; i < sizeof lead / sizeof lead[0]; i++) {
      w[0] = lead[i];
      w[1] = (wchar_t)u;
      compare_wide(w, 2);
    }
  }
}

/* ------------------------------------------------------------------------ */
/* sb__cmdline_build: exact output                                           */

SB_TEST(cmdline_quotes_exactly) {
  static const struct {
    const char *arg;
    const wchar_t *line;
  } cases[] = {
      {"plain", L"\"p\" plain"},
      {"", L"\"p\" \"\""},
      {"a b", L"\"p\" \"a b\""},
      {"a\tb", L"\"p\" \"a\tb\""},
      {"a\nb", L"\"p\" \"a\nb\""},
      {"a\vb", L"\"p\" \"a\vb\""},
      {"a\\b", L"\"p\" a\\b"},            /* backslashes alone are literal */
      {"a\\", L"\"p\" a\\"},              /* ...even at the end, unquoted */
      {"\\\\server\\share", L"\"p\" \\\\server\\share"},
      {"a b\\", L"\"p\" \"a b\\\\\""},    /* doubled before the closing quote */
      {"a b\\\\", L"\"p\" \"a b\\\\\\\\\""},
      {"\"", L"\"p\" \"\\\"\""},
      {"a\"b", L"\"p\" \"a\\\"b\""},
      {"a\\\"b", L"\"p\" \"a\\\\\\\"b\""}, /* 1 backslash + quote -> 3 + quote */
      {"a\\\\\"b", L"\"p\" \"a\\\\\\\\\\\"b\""},
      {"%PATH%", L"\"p\" %PATH%"},
      {"^&|<>", L"\"p\" ^&|<>"},
      {"\xF0\x9F\x98\x80", L"\"p\" \xD83D\xDE00"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    wchar_t *cmd = NULL;
    const char *args[1] = {cases[i].arg};
    CHECK_INT(sb__cmdline_build("p", args, 1, &cmd), 0);
    if (cmd == NULL) continue;
    if (wcscmp(cmd, cases[i].line) != 0) {
      char *got = to_utf8(cmd), *want = to_utf8(cases[i].line);
      SB__FAIL("case %zu: got [%s], expected [%s]", i, got ? got : "?", want ? want : "?");
      free(got);
      free(want);
    }
    free(cmd);
  }
  {
    wchar_t *cmd = NULL;
    const char *args[3] = {"x", "", "y z"};
    CHECK_INT(sb__cmdline_build("C:\\dir x\\prog.exe", args, 3, &cmd), 0);
    REQUIRE(cmd != NULL);
    CHECK(wcscmp(cmd, L"\"C:\\dir x\\prog.exe\" x \"\" \"y z\"") == 0);
    free(cmd);
    cmd = NULL;
    CHECK_INT(sb__cmdline_build("prog", NULL, 0, &cmd), 0);
    REQUIRE(cmd != NULL);
    CHECK(wcscmp(cmd, L"\"prog\"") == 0);
    free(cmd);
  }
}

SB_TEST(cmdline_program_rules) {
  wchar_t *cmd = (wchar_t *)1;
  const char *args[1] = {"a"};
  /* A '"' in argv[0] cannot be written: argv[0] has no escapes. */
  CHECK_INT(sb__cmdline_build("C:\\a\"b.exe", args, 1, &cmd), SB_E_INVALID_ARGUMENT);
  CHECK(cmd == NULL);
  CHECK_INT(sb__cmdline_build("\"", NULL, 0, &cmd), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb__cmdline_build("", NULL, 0, &cmd), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb__cmdline_build(NULL, NULL, 0, &cmd), SB_E_INVALID_ARGUMENT);
  /* A backslash at the end of argv[0] needs no doubling, unlike in args. */
  cmd = check_split("C:\\dir with space\\", args, 1);
  CHECK(cmd != NULL && wcscmp(cmd, L"\"C:\\dir with space\\\" a") == 0);
  free(cmd);
  cmd = check_split("\\\\server\\share\\t\xC3\xA4st\tx 😀.exe", args, 1);
  free(cmd);
}

SB_TEST(cmdline_rejects_bad_input) {
  wchar_t *cmd = (wchar_t *)1;
  const char *with_null[2] = {"a", NULL};
  const char *bad_utf8[1] = {"\xC3("};
  CHECK_INT(sb__cmdline_build("p", NULL, 1, &cmd), SB_E_INVALID_ARGUMENT);
  CHECK(cmd == NULL);
  CHECK_INT(sb__cmdline_build("p", with_null, 2, &cmd), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb__cmdline_build("p", bad_utf8, 1, &cmd), SB_E_INVALID_ARGUMENT);
  CHECK(cmd == NULL);
  CHECK_INT(sb__cmdline_build("\xFFp", NULL, 0, &cmd), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb__cmdline_build("p", NULL, 0, NULL), SB_E_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------------ */
/* Round trips                                                               */

SB_TEST(cmdline_roundtrip_commandlinetoargvw) {
  const char *all[NNASTY + 4], *rev[NNASTY + 4];
  size_t n = 0;
  REQUIRE(make_long_args() == 0);
  for (size_t i = 0; i < NNASTY; i++) all[n++] = nasty[i];
  for (size_t i = 0; i < 4; i++) all[n++] = long_args[i];
  for (size_t i = 0; i < n; i++) rev[i] = all[n - 1 - i];
  /* Each argument alone (so it ends the line) and followed by another. */
  for (size_t i = 0; i < n; i++) {
    const char *pair[2] = {all[i], "next"};
    free(check_split("C:\\p.exe", &all[i], 1));
    free(check_split("C:\\p.exe", pair, 2));
  }
  free(check_split("C:\\p.exe", all, n));
  free(check_split("C:\\p.exe", rev, n));
}

SB_TEST(cmdline_roundtrip_child_crt) {
  wchar_t app[MAX_PATH];
  char *program = NULL;
  const char *all[NNASTY + 4], *rev[NNASTY + 4];
  size_t n = 0;
  REQUIRE(make_long_args() == 0);
  REQUIRE(echo_path(app, MAX_PATH, &program) == 0);
  for (size_t i = 0; i < NNASTY; i++) all[n++] = nasty[i];
  for (size_t i = 0; i < 4; i++) all[n++] = long_args[i];
  for (size_t i = 0; i < n; i++) rev[i] = all[n - 1 - i];
  check_child(app, program, NULL, 0);
  check_child(app, program, all, n);
  check_child(app, program, rev, n);
  free(program);
}

/* A program path with spaces and non-ASCII characters, the case that quoting
 * argv[0] exists for. */
SB_TEST(cmdline_roundtrip_child_program_with_space) {
  wchar_t src[MAX_PATH], tmp[MAX_PATH], dir[MAX_PATH], exe[MAX_PATH];
  char *program = NULL;
  const char *args[3] = {"a b", "c\\\"d", "\\\\x\\"};
  REQUIRE(sbt_exe_path(L"argv_echo.exe", src, MAX_PATH) == 0);
  REQUIRE(GetTempPathW(MAX_PATH, tmp) > 0);
  _snwprintf(dir, MAX_PATH, L"%lssb cmdline \x00E4 \xD83D\xDE00 %lu", tmp,
             (unsigned long)GetCurrentProcessId());
  dir[MAX_PATH - 1] = L'\0';
  _snwprintf(exe, MAX_PATH, L"%ls\\argv echo \x00FC.exe", dir);
  exe[MAX_PATH - 1] = L'\0';
  REQUIRE(CreateDirectoryW(dir, NULL) || GetLastError() == ERROR_ALREADY_EXISTS);
  if (!CopyFileW(src, exe, FALSE)) {
    CHECK(!"argv_echo.exe could not be copied");
    goto done;
  }
  program = to_utf8(exe);
  if (program == NULL) goto done;
  check_child(exe, program, args, 3);
done:
  free(program);
  DeleteFileW(exe);
  RemoveDirectoryW(dir);
}

/* ------------------------------------------------------------------------ */
/* The 32767-unit limit                                                      */

/* Builds "p" + args and checks the result against the limit: at the limit
 * the line is exactly SB__CMDLINE_MAX_CHARS - 1 units, one past it fails. */
static void check_limit(const char *program, const char *const *args, size_t n,
                        bool expect_fit) {
  wchar_t *cmd = (wchar_t *)1;
  int rc = sb__cmdline_build(program, args, n, &cmd);
  if (expect_fit) {
    CHECK_INT(rc, 0);
    REQUIRE(cmd != NULL);
    CHECK_INT(wcslen(cmd), SB__CMDLINE_MAX_CHARS - 1);
    free(cmd);
    free(check_split(program, args, n));
  } else {
    CHECK_INT(rc, SB_E_COMMAND_LINE_TOO_LONG);
    CHECK(cmd == NULL);
  }
}

SB_TEST(cmdline_limit_plain) {
  /* "p" is 3 units, the space 1, the NUL 1: the argument gets the rest. */
  char *at = repeat("a", SB__CMDLINE_MAX_CHARS - 5);
  char *past = repeat("a", SB__CMDLINE_MAX_CHARS - 4);
  REQUIRE(at != NULL && past != NULL);
  CHECK_INT(SB__CMDLINE_MAX_CHARS, 32767);
  check_limit("p", (const char *const *)&at, 1, true);
  check_limit("p", (const char *const *)&past, 1, false);
  /* The program counts too. */
  {
    char *prog = repeat("b", SB__CMDLINE_MAX_CHARS - 3);
    wchar_t *cmd = NULL;
    REQUIRE(prog != NULL);
    CHECK_INT(sb__cmdline_build(prog, NULL, 0, &cmd), 0);
    CHECK(cmd != NULL && wcslen(cmd) == SB__CMDLINE_MAX_CHARS - 1);
    free(cmd);
    free(prog);
    prog = repeat("b", SB__CMDLINE_MAX_CHARS - 2);
    REQUIRE(prog != NULL);
    CHECK_INT(sb__cmdline_build(prog, NULL, 0, &cmd), SB_E_COMMAND_LINE_TOO_LONG);
    free(prog);
  }
  free(at);
  free(past);
}

SB_TEST(cmdline_limit_counts_utf16_units) {
  /* An emoji is 4 UTF-8 bytes but 2 UTF-16 units; the limit is in units.
   * 3 + 1 + 2k + 1 = 32767 gives k = 16381. */
  char *at = repeat("\xF0\x9F\x98\x80", 16381);
  char *past = repeat("\xF0\x9F\x98\x80", 16381);
  char *odd;
  REQUIRE(at != NULL && past != NULL);
  check_limit("p", (const char *const *)&at, 1, true);
  /* One more unit: an 'x' after the emoji. */
  odd = malloc(strlen(past) + 2);
  REQUIRE(odd != NULL);
  strcpy(odd, past);
  strcat(odd, "x");
  check_limit("p", (const char *const *)&odd, 1, false);
  free(at);
  free(past);
  free(odd);
}

SB_TEST(cmdline_limit_counts_escapes) {
  /* "a b" + m backslashes is written "a b" + 2m backslashes in quotes:
   * 3 + 1 + (1 + 3 + 2m + 1) + 1 = 32767 gives m = 16378.5, so use an extra
   * plain character: "a bx" + 16378 backslashes = 3+1+1+4+32756+1+1 = 32767. */
  char *run = repeat("\\", 16378);
  char *at = NULL, *past = NULL;
  REQUIRE(run != NULL);
  at = malloc(strlen(run) + 6);
  past = malloc(strlen(run) + 7);
  REQUIRE(at != NULL && past != NULL);
  sprintf(at, "a bx%s", run);
  sprintf(past, "a bxy%s", run);
  check_limit("p", (const char *const *)&at, 1, true);
  check_limit("p", (const char *const *)&past, 1, false);
  /* A '"' costs 2 units (\"): 3 + 1 + 1 + 2q + 1 + 1 = 32767 with q = 16380;
   * one more plain character is one past. */
  free(at);
  free(past);
  at = repeat("\"", 16380);
  past = malloc(16380 + 2);
  REQUIRE(at != NULL && past != NULL);
  sprintf(past, "%sx", at);
  check_limit("p", (const char *const *)&at, 1, true);
  check_limit("p", (const char *const *)&past, 1, false);
  free(at);
  free(past);
  free(run);
}

SB_TEST(cmdline_limit_many_args) {
  /* 1024 arguments (the protocol's most) of 27 units, each with its
   * separating space: 3 + 1024 * 28 = 28675, plus one of 4090 with its space
   * and the NUL makes 32767. */
  const char *args[1025];
  char *item = repeat("z", 27), *last = repeat("y", 4090), *longer = repeat("y", 4091);
  REQUIRE(item != NULL && last != NULL && longer != NULL);
  for (size_t i = 0; i < 1024; i++) args[i] = item;
  args[1024] = last;
  check_limit("p", args, 1025, true);
  args[1024] = longer;
  check_limit("p", args, 1025, false);
  /* Empty arguments cost 3 units each ( ""), which is the worst case of
   * expansion for an empty string. */
  {
    wchar_t *cmd = NULL;
    for (size_t i = 0; i < 1024; i++) args[i] = "";
    CHECK_INT(sb__cmdline_build("p", args, 1024, &cmd), 0);
    CHECK(cmd != NULL && wcslen(cmd) == 3 + 1024 * 3);
    free(cmd);
  }
  free(item);
  free(last);
  free(longer);
}

/* The line at the limit is one CreateProcessW accepts, and the child's
 * splitters give the argument back whole. */
SB_TEST(cmdline_limit_child_accepts_max) {
  wchar_t app[MAX_PATH];
  char *program = NULL, *arg = NULL;
  wchar_t *cmd = NULL;
  size_t plen;
  REQUIRE(echo_path(app, MAX_PATH, &program) == 0);
  plen = wcslen(app);
  /* '"' + path + '"' + ' ' + arg + NUL = 32767. */
  arg = repeat("q", SB__CMDLINE_MAX_CHARS - plen - 4);
  REQUIRE(arg != NULL);
  CHECK_INT(sb__cmdline_build(program, (const char *const *)&arg, 1, &cmd), 0);
  REQUIRE(cmd != NULL);
  CHECK_INT(wcslen(cmd), SB__CMDLINE_MAX_CHARS - 1);
  free(cmd);
  check_child(app, program, (const char *const *)&arg, 1);
  free(arg);
  free(program);
}

/* Why the limit must be enforced before CreateProcessW: a line one unit
 * longer never reaches the child intact. Windows refuses it
 * (CreateProcessW fails); Wine 8.0 (measured) starts the child anyway with
 * the line silently cut to 32766 units, so the last argument would arrive
 * shortened. Either outcome passes; an intact line would not. */
SB_TEST(cmdline_past_limit_never_arrives_intact) {
  wchar_t app[MAX_PATH];
  char *program = NULL, *arg = NULL, *out = NULL, *sent = NULL;
  wchar_t *cmd = NULL, *longer = NULL;
  size_t plen, len;
  DWORD code;
  int rc;
  report r;
  memset(&r, 0, sizeof r);
  REQUIRE(echo_path(app, MAX_PATH, &program) == 0);
  plen = wcslen(app);
  arg = repeat("q", SB__CMDLINE_MAX_CHARS - plen - 4);
  REQUIRE(arg != NULL);
  CHECK_INT(sb__cmdline_build(program, (const char *const *)&arg, 1, &cmd), 0);
  if (cmd == NULL) goto done;
  /* The builder refuses one more unit, so add it by hand. */
  len = wcslen(cmd);
  longer = malloc((len + 2) * sizeof *longer);
  if (longer == NULL) goto done;
  memcpy(longer, cmd, len * sizeof *longer);
  longer[len] = L'q';
  longer[len + 1] = L'\0';
  sent = to_utf8(longer);
  rc = sbt_run_collect(app, longer, NULL, &out, &code);
  if (rc == SB_E_SPAWN_FAILED) goto done; /* Windows */
  CHECK_INT(rc, 0);
  if (out == NULL) goto done;
  report_parse(out, &r);
  CHECK(r.cmdline != NULL && sent != NULL);
  if (r.cmdline == NULL || sent == NULL) goto done;
  CHECK(strcmp(r.cmdline, sent) != 0);
  CHECK(r.nshell == 2 && strlen(r.shell[1]) < strlen(arg) + 1);
done:
  report_free(&r);
  free(out);
  free(sent);
  free(longer);
  free(cmd);
  free(arg);
  free(program);
}

/* ------------------------------------------------------------------------ */
/* sb__expand_handles                                                        */

static const char *const hnames[] = {"in", "log", "a.b-c_d", "min", "max"};
static const int64_t hvalues[] = {136, 140, 0, INT64_MIN, INT64_MAX};

static void check_expand(const char *arg, const char *expect) {
  char *out = NULL;
  int rc = sb__expand_handles(arg, hnames, hvalues, 5, &out);
  CHECK_INT(rc, 0);
  CHECK_STR(out, expect);
  CHECK(out != arg);
  free(out);
}

SB_TEST(expand_handles_replaces) {
  check_expand("{handle:in}", "136");
  check_expand("--log={handle:log},{handle:in}", "--log=140,136");
  check_expand("{handle:in}{handle:in}", "136136");
  check_expand("{handle:a.b-c_d}", "0");
  check_expand("x{handle:min}y", "x-9223372036854775808y");
  check_expand("{handle:max}", "9223372036854775807");
  check_expand("{{handle:log}}", "{140}");
  check_expand("no placeholder", "no placeholder");
  check_expand("", "");
  check_expand("{handle in} {Handle:in} {handle-in} handle:in}", "{handle in} {Handle:in} {handle-in} handle:in}");
}

SB_TEST(expand_handles_rejects) {
  static const struct {
    const char *arg;
    int rc;
  } cases[] = {
      {"{handle:IN}", SB_E_UNKNOWN_HANDLE_NAME}, /* names are case-sensitive */
      {"{handle:x}", SB_E_UNKNOWN_HANDLE_NAME},
      {"ok {handle:in} then {handle:nope}", SB_E_UNKNOWN_HANDLE_NAME},
      {"{handle:{handle:in}}", SB_E_UNKNOWN_HANDLE_NAME}, /* NAME is "{handle:in" */
      {"{handle:in", SB_E_INVALID_NAME},
      {"{handle:in} {handle:", SB_E_INVALID_NAME},
      {"{handle:}", SB_E_INVALID_NAME},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *out = (char *)1;
    CHECK_INT(sb__expand_handles(cases[i].arg, hnames, hvalues, 5, &out), cases[i].rc);
    CHECK(out == NULL);
  }
  {
    char *out = NULL;
    /* No handles at all: text without placeholders still comes back. */
    CHECK_INT(sb__expand_handles("plain", NULL, NULL, 0, &out), 0);
    CHECK_STR(out, "plain");
    free(out);
    out = NULL;
    CHECK_INT(sb__expand_handles("{handle:in}", NULL, NULL, 0, &out), SB_E_UNKNOWN_HANDLE_NAME);
    CHECK_INT(sb__expand_handles(NULL, hnames, hvalues, 5, &out), SB_E_INVALID_ARGUMENT);
    CHECK_INT(sb__expand_handles("x", NULL, hvalues, 5, &out), SB_E_INVALID_ARGUMENT);
    CHECK_INT(sb__expand_handles("x", hnames, hvalues, 5, NULL), SB_E_INVALID_ARGUMENT);
  }
}

SB_TEST_MAIN(SB_CASE(utf8_to_wide_agrees_with_windows),
             SB_CASE(wide_to_utf8_agrees_with_windows),
             SB_CASE(cmdline_quotes_exactly), SB_CASE(cmdline_program_rules),
             SB_CASE(cmdline_rejects_bad_input), SB_CASE(cmdline_roundtrip_commandlinetoargvw),
             SB_CASE(cmdline_roundtrip_child_crt),
             SB_CASE(cmdline_roundtrip_child_program_with_space), SB_CASE(cmdline_limit_plain),
             SB_CASE(cmdline_limit_counts_utf16_units), SB_CASE(cmdline_limit_counts_escapes),
             SB_CASE(cmdline_limit_many_args), SB_CASE(cmdline_limit_child_accepts_max),
             SB_CASE(cmdline_past_limit_never_arrives_intact),
             SB_CASE(expand_handles_replaces), SB_CASE(expand_handles_rejects))
