/*
 * A very small test harness shared by every C test program.
 *
 * A test file defines cases with SB_TEST(name) { ... }, lists them once with
 * SB_TEST_MAIN(SB_CASE(name), ...), and is run as
 *     prog            run every case
 *     prog NAME       run one case (ctest registers one test per case)
 *     prog --list     print the case names
 * CMake finds the cases by scanning the source for "SB_TEST(" at the start of
 * a line, so a case that is defined but not listed fails loudly when run.
 *
 * Checks record a failure and carry on within the case, so one run shows every
 * broken expectation; the process exits non-zero if any check failed.
 */
#ifndef SB_TEST_H
#define SB_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sb_test_case {
  const char *name;
  void (*fn)(void);
} sb_test_case;

static int sb_test_failures;
static const char *sb_test_current;

#define SB_TEST(name) static void name(void)
#define SB_CASE(name) { #name, name }

#define SB__FAIL(...)                                                      \
  do {                                                                    \
    sb_test_failures++;                                                   \
    fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, sb_test_current);  \
    fprintf(stderr, __VA_ARGS__);                                         \
    fputc('\n', stderr);                                                  \
  } while (0)

#define CHECK(cond)                                                        \
  do {                                                                    \
    if (!(cond)) SB__FAIL("check failed: %s", #cond);                     \
  } while (0)

#define CHECK_INT(actual, expected)                                        \
  do {                                                                    \
    long long sb__a = (long long)(actual), sb__e = (long long)(expected); \
    if (sb__a != sb__e)                                                   \
      SB__FAIL("%s == %lld, expected %s == %lld", #actual, sb__a,         \
               #expected, sb__e);                                         \
  } while (0)

#define CHECK_STR(actual, expected)                                        \
  do {                                                                    \
    const char *sb__a = (actual), *sb__e = (expected);                    \
    if (sb__a == NULL || sb__e == NULL ? sb__a != sb__e                   \
                                       : strcmp(sb__a, sb__e) != 0)       \
      SB__FAIL("%s == \"%s\", expected \"%s\"", #actual,                  \
               sb__a ? sb__a : "(null)", sb__e ? sb__e : "(null)");       \
  } while (0)

/* Stops the current case when a precondition for the rest of it fails. */
#define REQUIRE(cond)                                                      \
  do {                                                                    \
    if (!(cond)) {                                                        \
      SB__FAIL("requirement failed: %s", #cond);                          \
      return;                                                             \
    }                                                                     \
  } while (0)

static int sb_test_run(const sb_test_case *cases, size_t n, int argc,
                       char **argv) {
  size_t ran = 0, failed_cases = 0;
  if (argc > 1 && strcmp(argv[1], "--list") == 0) {
    for (size_t i = 0; i < n; i++) printf("%s\n", cases[i].name);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (argc > 1 && strcmp(argv[1], cases[i].name) != 0) continue;
    int before = sb_test_failures;
    sb_test_current = cases[i].name;
    cases[i].fn();
    ran++;
    if (sb_test_failures != before) failed_cases++;
    printf("%s %s\n", sb_test_failures != before ? "FAIL" : "ok  ", cases[i].name);
  }
  if (ran == 0) {
    fprintf(stderr, "no test case called %s\n", argc > 1 ? argv[1] : "(any)");
    return 2;
  }
  printf("%zu passed, %zu failed\n", ran - failed_cases, failed_cases);
  fflush(stdout);
  return failed_cases ? 1 : 0;
}

#define SB_TEST_MAIN(...)                                                  \
  int main(int argc, char **argv) {                                       \
    static const sb_test_case sb__cases[] = {__VA_ARGS__};                \
    return sb_test_run(sb__cases, sizeof sb__cases / sizeof sb__cases[0], \
                       argc, argv);                                       \
  }

#endif
