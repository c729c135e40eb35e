/*
 * broker/child_strings.c and broker/request_limits.c natively: what a spawn
 * computes from its request before any system call, and the errors it
 * answers with. The environment's name comparison is the native stand-in
 * (tests/support/sb_env_name_native.c); the Windows one is tested under
 * Wine in tests/e2e/test_envblock.c.
 */
#include <stdlib.h>
#include <string.h>

#include "child_strings.h"
#include "request_limits.h"
#include "sb_errors.h"
#include "sb_test.h"

/* The entries of an environment block as one UTF-8 string, "|" between. */
static char *block_text(const sb__wchar *block) {
  size_t cap = 1, len = 0;
  char *all = calloc(1, 1);
  for (const sb__wchar *e = block; all != NULL && *e != 0; e += sb__wlen(e) + 1) {
    char *s = NULL, *grown;
    if (sb__wide_to_utf8(e, &s) != 0) break;
    cap += strlen(s) + 1;
    grown = realloc(all, cap);
    if (grown != NULL) {
      all = grown;
      len += (size_t)sprintf(all + len, "%s%s", len ? "|" : "", s);
    }
    free(s);
  }
  return all;
}

SB_TEST(builds_the_expanded_command_line_and_the_environment) {
  static const char *const args[] = {"--in={handle:in}", "{handle:out} x"};
  static const char *const env[] = {"b=2", "A=1"};
  static const sb__wchar base[] = {'a', '=', '0', 0, '=', 'C', ':', '=', 'C', ':', '\\', 0,
                                   'Z', '=', 'z', 0, 0};
  sb_spawn_params p;
  sb_spawn_result r;
  sb__child_strings out;
  char path[64], detail[192], *line = NULL, *text;
  sb_spawn_params_init(&p);
  memset(&r, 0, sizeof r);
  p.program = "C:\\p.exe";
  p.args = args;
  p.nargs = 2;
  p.env = env;
  p.nenv = 2;
  p.expand_handles = true;
  p.handles_env = "SB_HANDLES";
  r.nhandles = 2;
  r.handles[0] = (sb_child_handle){"in", 136};
  r.handles[1] = (sb_child_handle){"out", 140};
  REQUIRE(sb__child_strings_build(&p, &r, base, &out, path, sizeof path, detail, sizeof detail) ==
          0);
  CHECK_INT(sb__wide_to_utf8(out.cmdline, &line), 0);
  CHECK_STR(line, "\"C:\\p.exe\" --in=136 \"140 x\"");
  text = block_text(out.env);
  /* The base's "a" gives way to the request's "A"; "=C:" is kept, first. */
  CHECK_STR(text, "=C:=C:\\|A=1|b=2|SB_HANDLES=in=136;out=140|Z=z");
  CHECK_INT(out.env_chars, strlen(text) + 2);
  free(text);
  free(line);
  sb__child_strings_free(&out);
  CHECK(out.cmdline == NULL && out.env == NULL);
}

SB_TEST(answers_with_the_error_and_where) {
  static const char *const env[] = {"\xC3\x84PFEL=1", "\xC3\xA4pfel=2"};
  sb_spawn_params p;
  sb_spawn_result r;
  sb__child_strings out;
  char path[64], detail[192];
  sb_spawn_params_init(&p);
  memset(&r, 0, sizeof r);
  p.program = "C:\\a\"b.exe";
  CHECK_INT(sb__child_strings_build(&p, &r, NULL, &out, path, sizeof path, detail, sizeof detail),
            SB_E_EXECUTABLE_NOT_FOUND);
  CHECK_STR(path, "params.program");
  CHECK(out.cmdline == NULL && out.env == NULL);
  /* Names the ASCII-only decoder lets through, equal to Windows. */
  p.program = "p";
  p.env = env;
  p.nenv = 2;
  CHECK_INT(sb__child_strings_build(&p, &r, NULL, &out, path, sizeof path, detail, sizeof detail),
            SB_E_DUPLICATE_ENV_NAME);
  CHECK_STR(path, "params.env");
  CHECK(out.cmdline == NULL && out.env == NULL);
}

SB_TEST(request_limits_count_handles) {
  sb_spawn_params p;
  sb__settings s;
  char detail[192] = "";
  sb_spawn_params_init(&p);
  memset(&s, 0, sizeof s);
  s.max_handles = 2;
  p.nhandles = 2;
  CHECK_INT(sb__request_limits_check(&p, &s, detail, sizeof detail), 0);
  p.nhandles = 3;
  CHECK_INT(sb__request_limits_check(&p, &s, detail, sizeof detail), SB_E_TOO_MANY_HANDLES);
  CHECK_STR(detail, "limits.handles_per_request: 3 handles, at most 2");
}

SB_TEST_MAIN(SB_CASE(builds_the_expanded_command_line_and_the_environment),
             SB_CASE(answers_with_the_error_and_where), SB_CASE(request_limits_count_handles))
