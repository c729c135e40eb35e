#include "child_strings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "envblock.h"
#include "sb_errors.h"

/* Records where and why the build failed, and returns err. */
static int fail(int err, char *path, size_t path_cap, const char *where, char *detail,
                size_t detail_cap, const char *why) {
  snprintf(path, path_cap, "%s", where != NULL ? where : "");
  snprintf(detail, detail_cap, "%s", why != NULL ? why : "");
  return err;
}

static void free_args(char **args, size_t n) {
  if (args == NULL) return;
  for (size_t i = 0; i < n; i++) free(args[i]);
  free(args);
}

static char *dup_string(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d != NULL) memcpy(d, s, n);
  return d;
}

/* The argument list with "{handle:NAME}" replaced, when asked for. */
static int expand_args(const sb_spawn_params *p, const sb_spawn_result *r, char ***out) {
  const char *names[SB_LIMIT_HANDLES];
  int64_t values[SB_LIMIT_HANDLES];
  char **args = calloc(p->nargs + 1, sizeof *args);
  int rc = 0;

  if (args == NULL) return SB_E_NOMEM;
  for (size_t i = 0; i < r->nhandles; i++) {
    names[i] = r->handles[i].name;
    values[i] = r->handles[i].value;
  }
  for (size_t i = 0; i < p->nargs && rc == 0; i++) {
    if (p->expand_handles)
      rc = sb__expand_handles(p->args[i], names, values, r->nhandles, &args[i]);
    else
      args[i] = dup_string(p->args[i]), rc = args[i] ? 0 : SB_E_NOMEM;
  }
  if (rc != 0) {
    free_args(args, p->nargs);
    return rc;
  }
  *out = args;
  return 0;
}

/* "name=value;name=value" for handles_env, values in decimal. */
static int handles_env_value(const sb_spawn_result *r, char **out) {
  size_t cap = 1 + r->nhandles * (SB_LIMIT_NAME_BYTES + 24);
  char *s = malloc(cap);
  size_t len = 0;
  if (s == NULL) return SB_E_NOMEM;
  s[0] = '\0';
  for (size_t i = 0; i < r->nhandles; i++)
    len += (size_t)snprintf(s + len, cap - len, "%s%s=%lld", i ? ";" : "",
                            r->handles[i].name, (long long)r->handles[i].value);
  *out = s;
  return 0;
}

int sb__child_strings_build(const sb_spawn_params *p, const sb_spawn_result *handles,
                            const sb__wchar *base_env, sb__child_strings *out, char *path,
                            size_t path_cap, char *detail, size_t detail_cap) {
  char **args = NULL, *henv = NULL;
  int rc;

  memset(out, 0, sizeof *out);
  rc = expand_args(p, handles, &args);
  if (rc != 0) {
    fail(rc, path, path_cap, "params.args", detail, detail_cap,
         rc == SB_E_NOMEM ? NULL : "a handle placeholder is invalid");
    goto done;
  }
  rc = sb__cmdline_build(p->program, (const char *const *)args, p->nargs, &out->cmdline);
  if (rc == SB_E_INVALID_ARGUMENT) {
    /* Only a program path with a '"' cannot be written as argv[0]; no such
     * file can exist on Windows, where '"' is not allowed in names. */
    rc = fail(SB_E_EXECUTABLE_NOT_FOUND, path, path_cap, "params.program", detail, detail_cap,
              "a program path cannot contain a double quote");
    goto done;
  }
  if (rc != 0) {
    fail(rc, path, path_cap, "params.args", detail, detail_cap,
         rc == SB_E_COMMAND_LINE_TOO_LONG ? "the command line is longer than 32767 characters"
                                          : NULL);
    goto done;
  }
  if (p->handles_env != NULL && handles_env_value(handles, &henv) != 0) {
    rc = fail(SB_E_NOMEM, path, path_cap, NULL, detail, detail_cap, NULL);
    goto done;
  }
  rc = sb__envblock_build(base_env, p->env, p->nenv, p->handles_env, henv, &out->env,
                          &out->env_chars);
  if (rc != 0) {
    fail(rc, path, path_cap, "params.env", detail, detail_cap,
         rc == SB_E_ENVIRONMENT_TOO_LARGE ? "the environment block is too large"
                                          : "the environment cannot be built");
    goto done;
  }
  rc = 0;
done:
  if (rc != 0) sb__child_strings_free(out);
  free(henv);
  free_args(args, p->nargs);
  return rc;
}

void sb__child_strings_free(sb__child_strings *s) {
  free(s->cmdline);
  free(s->env);
  memset(s, 0, sizeof *s);
}
