/*
 * broker/utf.c, the strict UTF-8 <-> UTF-16 conversion, natively and under
 * Wine. tests/e2e/test_cmdline.c checks under Wine that it agrees with
 * MultiByteToWideChar and WideCharToMultiByte on every short input.
 */
#include <stdlib.h>
#include <string.h>

#include "sb_errors.h"
#include "sb_test.h"
#include "utf.h"

SB_TEST(utf8_to_wide_converts) {
  sb__wchar *w = NULL;
  static const sb__wchar expect[] = {'a', 0x00FC, 0x65E5, 0xD83D, 0xDE00, 0};
  CHECK_INT(sb__utf8_to_wide("a\xC3\xBC\xE6\x97\xA5\xF0\x9F\x98\x80", &w), 0);
  REQUIRE(w != NULL);
  CHECK_INT(sb__wlen(w), 5);
  CHECK(memcmp(w, expect, sizeof expect) == 0);
  free(w);
  w = NULL;
  CHECK_INT(sb__utf8_to_wide("", &w), 0);
  REQUIRE(w != NULL);
  CHECK_INT(w[0], 0);
  free(w);
}

SB_TEST(utf8_to_wide_converts_the_edges_of_each_length) {
  static const struct {
    const char *utf8;
    sb__wchar units[3];
  } cases[] = {
      {"\x7F", {0x7F, 0}},
      {"\xC2\x80", {0x80, 0}},
      {"\xDF\xBF", {0x7FF, 0}},
      {"\xE0\xA0\x80", {0x800, 0}},
      {"\xED\x9F\xBF", {0xD7FF, 0}},
      {"\xEE\x80\x80", {0xE000, 0}},
      {"\xEF\xBF\xBF", {0xFFFF, 0}},
      {"\xF0\x90\x80\x80", {0xD800, 0xDC00, 0}},
      {"\xF4\x8F\xBF\xBF", {0xDBFF, 0xDFFF, 0}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    sb__wchar *w = NULL;
    char *back = NULL;
    CHECK_INT(sb__utf8_to_wide(cases[i].utf8, &w), 0);
    if (w == NULL) continue;
    CHECK(memcmp(w, cases[i].units, (sb__wlen(cases[i].units) + 1) * sizeof *w) == 0);
    CHECK_INT(sb__wide_to_utf8(w, &back), 0);
    CHECK_STR(back, cases[i].utf8);
    free(back);
    free(w);
  }
}

SB_TEST(utf8_to_wide_rejects_invalid) {
  static const char *const bad[] = {
      "\xC0\x80",         /* overlong NUL */
      "\xC1\xBF",         /* overlong */
      "\xE0\x80\xAF",     /* overlong '/' */
      "\xF0\x8F\xBF\xBF", /* overlong U+FFFF */
      "\x80",             /* lone continuation byte */
      "ok\xE2\x82",       /* truncated sequence */
      "\xF0\x9F\x98",     /* truncated at the end */
      "\xED\xA0\x80",     /* an encoded surrogate (CESU-8) */
      "\xF4\x90\x80\x80", /* above U+10FFFF */
      "\xF5\x80\x80\x80",
      "\xFF",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    sb__wchar *w = (sb__wchar *)1;
    int rc = sb__utf8_to_wide(bad[i], &w);
    if (rc != SB_E_INVALID_ARGUMENT) fprintf(stderr, "  input %zu accepted\n", i);
    CHECK_INT(rc, SB_E_INVALID_ARGUMENT);
    CHECK(w == NULL);
    if (rc == 0) free(w);
  }
  {
    sb__wchar *w = NULL;
    CHECK_INT(sb__utf8_to_wide(NULL, &w), SB_E_INVALID_ARGUMENT);
    CHECK_INT(sb__utf8_to_wide("x", NULL), SB_E_INVALID_ARGUMENT);
  }
}

SB_TEST(wide_to_utf8_converts_and_rejects_lone_surrogates) {
  static const sb__wchar good[] = {'a', 0x00FC, 0xD83D, 0xDE00, 0};
  static const sb__wchar high[] = {'a', 0xD83D, 'b', 0};
  static const sb__wchar low[] = {0xDE00, 0};
  static const sb__wchar at_end[] = {'x', 0xD83D, 0};
  static const sb__wchar empty[] = {0};
  char *s = NULL;
  CHECK_INT(sb__wide_to_utf8(good, &s), 0);
  CHECK_STR(s, "a\xC3\xBC\xF0\x9F\x98\x80");
  free(s);
  s = (char *)1;
  CHECK_INT(sb__wide_to_utf8(high, &s), SB_E_INVALID_ARGUMENT);
  CHECK(s == NULL);
  CHECK_INT(sb__wide_to_utf8(low, &s), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb__wide_to_utf8(at_end, &s), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb__wide_to_utf8(NULL, &s), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb__wide_to_utf8(empty, &s), 0);
  CHECK_STR(s, "");
  free(s);
}

SB_TEST_MAIN(SB_CASE(utf8_to_wide_converts), SB_CASE(utf8_to_wide_converts_the_edges_of_each_length),
             SB_CASE(utf8_to_wide_rejects_invalid),
             SB_CASE(wide_to_utf8_converts_and_rejects_lone_surrogates))
