/*
 * broker/cmdline.c natively: every line it builds from the arguments that
 * break naive quoting splits back into exactly them under both splitters'
 * rules (tests/support/sb_argv_split.c), and the model itself splits the
 * corners where the splitters differ as documented. The Wine tests
 * (tests/e2e/test_cmdline.c) check the exact output, the limits, and real
 * children.
 */
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "sb_argv_split.h"
#include "sb_nasty_args.h"
#include "sb_test.h"

/* Splits the UTF-8 line by rules and checks the result is want[0..n). */
static void check_model(const char *line, sbt_split_rules rules, const char *const *want,
                        size_t n) {
  sb__wchar *w = NULL;
  char **argv = NULL;
  size_t argc = 0;
  REQUIRE(sb__utf8_to_wide(line, &w) == 0);
  CHECK_INT(sbt_argv_split(w, rules, &argv, &argc), 0);
  CHECK_INT(argc, n);
  for (size_t i = 0; i < argc && i < n; i++) CHECK_STR(argv[i], want[i]);
  sbt_argv_free(argv, argc);
  free(w);
}

SB_TEST(model_splits_where_both_splitters_agree) {
  static const char *const plain[] = {"C:\\p q.exe", "a", "b c", "d\"e", "f\\\\", "", "g\\h"};
  static const char *const backslashes[] = {"p", "\\\"", "\\\\", "\\\\\\\""};
  for (int r = 0; r < 2; r++) {
    check_model("\"C:\\p q.exe\" a \"b c\" d\\\"e \"f\\\\\\\\\" \"\"  g\\h  ", (sbt_split_rules)r,
                plain, 7);
    check_model("p \\\\\\\" \\\\\\\\\"\" \"\\\\\\\\\\\\\\\"\"", (sbt_split_rules)r, backslashes, 4);
  }
}

SB_TEST(model_splits_the_corners_where_they_differ) {
  /* After argv[0]'s closing quote the shell starts argv[1]; the C runtime
   * carries on with argv[0]. */
  static const char *const shell_glued[] = {"p", "x", "y"};
  static const char *const crt_glued[] = {"px", "y"};
  /* "" inside quotes: a literal '"' that ends the quoting for the shell,
   * one that keeps it for the C runtime. */
  static const char *const shell_pair[] = {"p", "a\"", "b"};
  static const char *const crt_pair[] = {"p", "a\" b"};
  check_model("\"p\"x y", SBT_SPLIT_SHELL, shell_glued, 3);
  check_model("\"p\"x y", SBT_SPLIT_CRT, crt_glued, 2);
  check_model("p \"a\"\" b", SBT_SPLIT_SHELL, shell_pair, 3);
  check_model("p \"a\"\" b", SBT_SPLIT_CRT, crt_pair, 2);
}

/* Builds the line and checks both rule sets give back program and args. */
static void check_roundtrip(const char *program, const char *const *args, size_t n) {
  sb__wchar *line = NULL;
  REQUIRE(sb__cmdline_build(program, args, n, &line) == 0);
  for (int r = 0; r < 2; r++) {
    char **argv = NULL;
    size_t argc = 0;
    CHECK_INT(sbt_argv_split(line, (sbt_split_rules)r, &argv, &argc), 0);
    CHECK_INT(argc, n + 1);
    for (size_t i = 0; i < argc && i <= n; i++) CHECK_STR(argv[i], i ? args[i - 1] : program);
    sbt_argv_free(argv, argc);
  }
  free(line);
}

SB_TEST(builder_roundtrips_through_both_splitters) {
  const char *rev[NNASTY];
  for (size_t i = 0; i < NNASTY; i++) {
    const char *pair[2] = {nasty[i], "next"};
    rev[i] = nasty[NNASTY - 1 - i];
    check_roundtrip("C:\\p.exe", &nasty[i], 1);
    check_roundtrip("C:\\p.exe", pair, 2);
  }
  check_roundtrip("C:\\dir with space\\", nasty, NNASTY);
  check_roundtrip("\\\\server\\share\\t\xC3\xA4st\tx \xF0\x9F\x98\x80.exe", rev, NNASTY);
}

SB_TEST_MAIN(SB_CASE(model_splits_where_both_splitters_agree),
             SB_CASE(model_splits_the_corners_where_they_differ),
             SB_CASE(builder_roundtrips_through_both_splitters))
