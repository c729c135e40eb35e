/*
 * sb_decode_request: the broker's strict reading of one request frame.
 *
 * Every rule of docs/protocol.md about a request is enforced here, before the
 * broker touches any handle, so that the rest of the broker can trust the
 * struct it gets. The order of the checks is part of the contract, because
 * the first failure is the one reported:
 *   1. frame size, UTF-8, JSON grammar, nesting (the frame as a whole);
 *   2. the envelope: an object; the id (read first, so that every later error
 *      can be answered with it); then the envelope keys, jsonrpc, method;
 *   3. the params object: its keys (unknown, duplicate, missing, in document
 *      order), then each value in the order of the parameter struct, then the
 *      rules that relate one field to another.
 *
 * Strings in the result point into the cJSON tree, which the request owns
 * together with the args and env arrays (struct request_owned).
 */
#include <stdlib.h>
#include <string.h>

#include "json_strict.h"
#include "sb_proto.h"

/* What a decoded request owns; sb__owned points to one of these. The arrays
 * are kept here, without const, so that freeing them needs no cast. */
typedef struct request_owned {
  cJSON *root;
  const char **args;
  const char **env;
} request_owned;

/* ------------------------------------------------------------------------ */
/* Rules that do not depend on JSON (declared in json_strict.h).            */

const char *sb__handle_value_problem(int64_t v) {
  switch (v) {
  case 0: return "is the null handle";
  case -1: return "is INVALID_HANDLE_VALUE, which is also the pseudo handle of the current process";
  case -2: return "is a pseudo handle (the current thread)";
  case -3: return "is a pseudo handle (the current session)";
  case -4: return "is a pseudo handle (the current process token)";
  case -5: return "is a pseudo handle (the current thread token)";
  case -6: return "is a pseudo handle (the current thread's effective token)";
  default: break;
  }
  if (v < 0 && v >= SB_PSEUDO_HANDLE_MIN) return "is a reserved pseudo handle value";
  if (v < 0) return "is negative";
  if (v > SB_LIMIT_HANDLE_VALUE_MAX)
    return "is above the largest possible handle value (0x3FFFFFC)";
  if (v % 4 != 0) return "is not a multiple of 4, which every handle value is";
  return NULL;
}

bool sb__handle_name_valid(const char *name) {
  if (name == NULL) return false;
  size_t n = strlen(name);
  if (n == 0 || n > SB_LIMIT_NAME_BYTES) return false;
  for (size_t i = 0; i < n; i++) {
    char ch = name[i];
    bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_' ||
              (i > 0 && ((ch >= '0' && ch <= '9') || ch == '.' || ch == '-'));
    if (!ok) return false;
  }
  return true;
}

const char *sb__env_name_problem(const char *name, size_t n) {
  if (n == 0) return "the variable name is empty";
  if (memchr(name, '=', n) != NULL) return "the variable name contains '='";
  if (n > SB_LIMIT_ENV_NAME_BYTES) return "the variable name is longer than 255 bytes";
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Small pieces                                                             */

/* ASCII case-insensitive comparison of two byte ranges, the way Windows
 * compares environment variable names for the characters we can fold. */
static int env_name_cmp(const char *a, size_t an, const char *b, size_t bn) {
  size_t n = an < bn ? an : bn;
  for (size_t i = 0; i < n; i++) {
    int x = (unsigned char)a[i], y = (unsigned char)b[i];
    if (x >= 'a' && x <= 'z') x -= 'a' - 'A';
    if (y >= 'a' && y <= 'z') y -= 'a' - 'A';
    if (x != y) return x < y ? -1 : 1;
  }
  return an < bn ? -1 : an > bn ? 1 : 0;
}

/* The length of the NAME part of an env entry that has passed checks. */
static size_t env_name_len(const char *entry) { return (size_t)(strchr(entry, '=') - entry); }

/* Finds a handle by a name given as a byte range (for "{handle:NAME}"). */
static int find_handle_n(const sb_spawn_params *p, const char *name, size_t n) {
  for (size_t i = 0; i < p->nhandles && i < SB_LIMIT_HANDLES; i++) {
    const char *h = p->handles[i].name;
    if (h != NULL && strlen(h) == n && memcmp(h, name, n) == 0) return (int)i;
  }
  return -1;
}

int sb_spawn_find_handle(const sb_spawn_params *p, const char *name) {
  if (p == NULL || name == NULL) return -1;
  return find_handle_n(p, name, strlen(name));
}

/* A "no limit" for sb__json_string when a later rule bounds the length with
 * a more specific error. */
#define ANY_LENGTH ((size_t)-1)

/* ------------------------------------------------------------------------ */
/* hello                                                                    */

static int decode_hello(sb__jctx *c, const cJSON *params, sb_hello_params *p) {
  static const sb__jfield fields[] = {{"protocol", true}, {"client", false}, {"transfer", false}};
  static const char *const transfers[] = {"auto", "pull", "push"};
  const cJSON *f[3];
  int rc = sb__json_object(c, params, NULL, fields, 3, f, 0);
  if (rc != 0) return rc;

  memset(p, 0, sizeof *p);
  p->transfer = SB_TRANSFER_AUTO;
  /* Any version is read here; whether the broker speaks it is its decision
   * (UnsupportedProtocol), made with the connection's state at hand. */
  rc = sb__json_u32(c, f[0], "protocol", 1, 2147483647u, &p->protocol);
  if (rc == 0 && f[1] != NULL)
    rc = sb__json_string(c, f[1], "client", SB_LIMIT_NAME_BYTES, false, &p->client);
  if (rc == 0 && f[2] != NULL) {
    int t;
    rc = sb__json_enum(c, f[2], "transfer", transfers, 3, &t);
    if (rc == 0) p->transfer = (sb_transfer)t;
  }
  return rc;
}

/* ------------------------------------------------------------------------ */
/* spawn                                                                    */

enum {
  F_PROGRAM, F_ARGS, F_CWD, F_ENV, F_CLEAR_ENV, F_HANDLES, F_STDIN, F_STDOUT, F_STDERR,
  F_HANDLES_ENV, F_EXPAND_HANDLES, F_LIFETIME, F_LIMITS, F_NOTIFY_EXIT, F_COUNT
};

static const sb__jfield spawn_fields[F_COUNT] = {
    [F_PROGRAM] = {"program", true},       [F_ARGS] = {"args", false},
    [F_CWD] = {"cwd", false},              [F_ENV] = {"env", false},
    [F_CLEAR_ENV] = {"clear_env", false},  [F_HANDLES] = {"handles", false},
    [F_STDIN] = {"stdin", false},          [F_STDOUT] = {"stdout", false},
    [F_STDERR] = {"stderr", false},        [F_HANDLES_ENV] = {"handles_env", false},
    [F_EXPAND_HANDLES] = {"expand_handles", false},
    [F_LIFETIME] = {"lifetime", false},    [F_LIMITS] = {"limits", false},
    [F_NOTIFY_EXIT] = {"notify_exit", false},
};

/* Reads an array of strings into a malloc'd array sized by its validated
 * length; each string at most max_bytes. */
static int decode_string_array(sb__jctx *c, const cJSON *v, const char *key, size_t max_items,
                               const char ***out, size_t *count) {
  size_t n;
  int rc = sb__json_array(c, v, key, max_items, SB_E_TOO_MANY_ITEMS, &n);
  if (rc != 0 || n == 0) return rc;
  const char **items = malloc(n * sizeof *items);
  if (items == NULL) return sb__jfail_at(c, key, SB_E_NOMEM, "out of memory");
  size_t mark = sb__jpath_key(c, key), i = 0;
  for (const cJSON *item = v->child; item != NULL && rc == 0; item = item->next, i++) {
    size_t m = sb__jpath_index(c, i);
    rc = sb__json_string(c, item, NULL, SB_LIMIT_STRING_BYTES, false, &items[i]);
    sb__jpath_restore(c, m);
  }
  sb__jpath_restore(c, mark);
  if (rc != 0) {
    free(items);
    return rc;
  }
  *out = items;
  *count = n;
  return 0;
}

/* One env entry's position, for finding repeated names by sorting. */
typedef struct env_slot {
  const char *name;
  size_t len;
  size_t index;
} env_slot;

static int env_slot_cmp(const void *a, const void *b) {
  const env_slot *x = a, *y = b;
  int r = env_name_cmp(x->name, x->len, y->name, y->len);
  if (r != 0) return r;
  return x->index < y->index ? -1 : x->index > y->index;
}

static int check_env(sb__jctx *c, const char *const *env, size_t n) {
  env_slot *slots = NULL;
  size_t mark = sb__jpath_key(c, "env");
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    const char *eq = strchr(env[i], '=');
    const char *why = eq ? sb__env_name_problem(env[i], (size_t)(eq - env[i]))
                         : "the entry has no '=' (use NAME=VALUE)";
    if (why != NULL) {
      size_t m = sb__jpath_index(c, i);
      rc = sb__jfail(c, SB_E_INVALID_ENV_ENTRY, "\"%s\": %s", env[i], why);
      sb__jpath_restore(c, m);
    }
  }
  if (rc != 0 || n < 2) goto done;

  /* Sorting finds repeated names in O(n log n); the entry reported is the
   * first one, in request order, whose name an earlier entry already set. */
  slots = malloc(n * sizeof *slots);
  if (slots == NULL) {
    rc = sb__jfail(c, SB_E_NOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    slots[i].name = env[i];
    slots[i].len = env_name_len(env[i]);
    slots[i].index = i;
  }
  qsort(slots, n, sizeof *slots, env_slot_cmp);
  size_t dup = n, first = 0;
  for (size_t i = 1; i < n; i++) {
    if (env_name_cmp(slots[i - 1].name, slots[i - 1].len, slots[i].name, slots[i].len) == 0 &&
        slots[i].index < dup) {
      dup = slots[i].index;
      first = slots[i - 1].index;
    }
  }
  if (dup < n) {
    size_t m = sb__jpath_index(c, dup);
    rc = sb__jfail(c, SB_E_DUPLICATE_ENV_NAME,
                   "the variable %.*s is already set by env[%lu] (names are compared "
                   "ignoring case, as Windows does)",
                   (int)env_name_len(env[dup]), env[dup], (unsigned long)first);
    sb__jpath_restore(c, m);
  }
done:
  free(slots);
  sb__jpath_restore(c, mark);
  return rc;
}

static int decode_handle_value(sb__jctx *c, const cJSON *v, int64_t *out) {
  if (!cJSON_IsNumber(v))
    return sb__jfail_at(c, "value", SB_E_INVALID_HANDLE_VALUE,
                        "a handle value must be an integer, not %s", sb__json_type_name(v));
  /* Doubles far outside the plausible range are judged by their sign alone,
   * so that converting them to int64_t can never overflow. */
  double d = v->valuedouble;
  const char *why;
  if (d > (double)SB_LIMIT_HANDLE_VALUE_MAX)
    why = sb__handle_value_problem((int64_t)SB_LIMIT_HANDLE_VALUE_MAX + 4);
  else if (d < -1e15)
    why = sb__handle_value_problem(INT64_MIN);
  else if ((double)(int64_t)d != d)
    why = "is not an integer";
  else
    why = sb__handle_value_problem((int64_t)d);
  if (why != NULL)
    return sb__jfail_at(c, "value", SB_E_INVALID_HANDLE_VALUE, "%.17g %s", d, why);
  *out = (int64_t)d;
  return 0;
}

static int decode_handle(sb__jctx *c, const cJSON *item, sb_spawn_params *p, size_t i) {
  static const sb__jfield fields[] = {{"name", true}, {"value", true}, {"fd", false}};
  const cJSON *f[3];
  sb_handle_spec *h = &p->handles[i];
  int rc = sb__json_object(c, item, NULL, fields, 3, f, 0);
  if (rc == 0) rc = sb__json_string(c, f[0], "name", ANY_LENGTH, false, &h->name);
  if (rc == 0 && !sb__handle_name_valid(h->name))
    rc = sb__jfail_at(c, "name", SB_E_INVALID_NAME,
                      "\"%s\" is not a handle name: use 1 to 64 of A-Z a-z 0-9 _ . -, "
                      "starting with a letter or _",
                      h->name);
  if (rc == 0) rc = decode_handle_value(c, f[1], &h->value);
  if (rc == 0 && f[2] != NULL) {
    double fd;
    rc = sb__json_int(c, f[2], "fd", 3, SB_LIMIT_FD_MAX, &fd);
    if (rc == 0) h->fd = (int)fd;
  }
  for (size_t j = 0; j < i && rc == 0; j++) {
    const sb_handle_spec *o = &p->handles[j];
    if (strcmp(o->name, h->name) == 0)
      rc = sb__jfail_at(c, "name", SB_E_DUPLICATE_HANDLE_NAME,
                        "handles[%lu] already has the name \"%s\"", (unsigned long)j, h->name);
  }
  for (size_t j = 0; j < i && rc == 0; j++) {
    if (p->handles[j].value == h->value)
      rc = sb__jfail_at(c, "value", SB_E_DUPLICATE_HANDLE_VALUE,
                        "handles[%lu] already passes the handle %.0f", (unsigned long)j,
                        (double)h->value);
  }
  for (size_t j = 0; j < i && rc == 0 && h->fd != -1; j++) {
    if (p->handles[j].fd == h->fd)
      rc = sb__jfail_at(c, "fd", SB_E_DUPLICATE_FD, "handles[%lu] already asks for fd %d",
                        (unsigned long)j, h->fd);
  }
  return rc;
}

static int decode_handles(sb__jctx *c, const cJSON *v, sb_spawn_params *p) {
  size_t n;
  int rc = sb__json_array(c, v, "handles", SB_LIMIT_HANDLES, SB_E_TOO_MANY_HANDLES, &n);
  if (rc != 0) return rc;
  size_t mark = sb__jpath_key(c, "handles"), i = 0;
  for (const cJSON *item = v->child; item != NULL && rc == 0; item = item->next, i++) {
    size_t m = sb__jpath_index(c, i);
    rc = decode_handle(c, item, p, i);
    sb__jpath_restore(c, m);
    /* Counted only once valid, so find_handle_n never sees a half-read one. */
    if (rc == 0) p->nhandles = i + 1;
  }
  sb__jpath_restore(c, mark);
  return rc;
}

static int decode_std(sb__jctx *c, const cJSON *v, const char *key, sb_spawn_params *p,
                      const char **out) {
  int rc = sb__json_string(c, v, key, ANY_LENGTH, false, out);
  if (rc == 0 && sb_spawn_find_handle(p, *out) < 0)
    rc = sb__jfail_at(c, key, SB_E_UNKNOWN_HANDLE_NAME,
                      "no handle called \"%s\" is declared in params.handles", *out);
  return rc;
}

static int decode_handles_env(sb__jctx *c, const cJSON *v, sb_spawn_params *p) {
  const char *name;
  int rc = sb__json_string(c, v, "handles_env", ANY_LENGTH, false, &name);
  if (rc != 0) return rc;
  const char *why = sb__env_name_problem(name, strlen(name));
  if (why != NULL) return sb__jfail_at(c, "handles_env", SB_E_INVALID_NAME, "%s", why);
  /* The broker sets this variable itself; a value from env as well would
   * leave it to chance which one the child sees. */
  for (size_t i = 0; i < p->nenv; i++) {
    if (env_name_cmp(p->env[i], env_name_len(p->env[i]), name, strlen(name)) == 0)
      return sb__jfail_at(c, "handles_env", SB_E_DUPLICATE_ENV_NAME,
                          "env[%lu] already sets %s (names are compared ignoring case)",
                          (unsigned long)i, name);
  }
  p->handles_env = name;
  return 0;
}

/* With expand_handles, every "{handle:NAME}" in args must name a declared
 * handle, so that the broker never has to guess what to substitute. */
static int check_placeholders(sb__jctx *c, const sb_spawn_params *p) {
  static const char prefix[] = "{handle:";
  size_t mark = sb__jpath_key(c, "args");
  int rc = 0;
  for (size_t i = 0; i < p->nargs && rc == 0; i++) {
    const char *s = p->args[i];
    const char *at;
    while (rc == 0 && (at = strstr(s, prefix)) != NULL) {
      const char *name = at + sizeof prefix - 1;
      const char *close = strchr(name, '}');
      size_t m = sb__jpath_index(c, i);
      if (close == NULL)
        rc = sb__jfail(c, SB_E_INVALID_NAME, "\"{handle:\" has no closing '}'");
      else if (close == name)
        rc = sb__jfail(c, SB_E_INVALID_NAME, "\"{handle:}\" names no handle");
      else if (find_handle_n(p, name, (size_t)(close - name)) < 0)
        rc = sb__jfail(c, SB_E_UNKNOWN_HANDLE_NAME,
                       "{handle:%.*s} names no handle declared in params.handles",
                       (int)(close - name), name);
      sb__jpath_restore(c, m);
      s = close ? close + 1 : s + strlen(s);
    }
  }
  sb__jpath_restore(c, mark);
  return rc;
}

static int decode_limits(sb__jctx *c, const cJSON *v, sb_job_limits *l) {
  static const sb__jfield fields[] = {
      {"memory_bytes", false}, {"cpu_time_ms", false}, {"processes", false}};
  const cJSON *f[3];
  int rc = sb__json_object(c, v, "limits", fields, 3, f, 0);
  if (rc != 0) return rc;
  size_t mark = sb__jpath_key(c, "limits");
  if (f[0] != NULL)
    rc = sb__json_u64(c, f[0], "memory_bytes", SB_LIMIT_JOB_MEMORY_MIN, SB_LIMIT_JOB_MEMORY_MAX,
                      &l->memory_bytes);
  if (rc == 0 && f[1] != NULL)
    rc = sb__json_u64(c, f[1], "cpu_time_ms", 1, SB_LIMIT_JOB_CPU_MS_MAX, &l->cpu_time_ms);
  if (rc == 0 && f[2] != NULL)
    rc = sb__json_u32(c, f[2], "processes", 1, SB_LIMIT_JOB_PROCESSES_MAX, &l->processes);
  sb__jpath_restore(c, mark);
  return rc;
}

static int decode_spawn(sb__jctx *c, const cJSON *params, sb_spawn_params *p,
                        request_owned *owned) {
  static const char *const lifetimes[] = {"broker", "detached", "connection"};
  static const char *const std_keys[3] = {"stdin", "stdout", "stderr"};
  const cJSON *f[F_COUNT];
  int rc = sb__json_object(c, params, NULL, spawn_fields, F_COUNT, f, 0);
  if (rc != 0) return rc;

  sb_spawn_params_init(p);
  rc = sb__json_string(c, f[F_PROGRAM], "program", SB_LIMIT_PATH_BYTES, true, &p->program);
  if (rc == 0 && f[F_ARGS] != NULL) {
    rc = decode_string_array(c, f[F_ARGS], "args", SB_LIMIT_ARGS, &owned->args, &p->nargs);
    p->args = owned->args;
  }
  if (rc == 0 && f[F_CWD] != NULL)
    rc = sb__json_string(c, f[F_CWD], "cwd", SB_LIMIT_PATH_BYTES, true, &p->cwd);
  if (rc == 0 && f[F_ENV] != NULL) {
    rc = decode_string_array(c, f[F_ENV], "env", SB_LIMIT_ENV, &owned->env, &p->nenv);
    p->env = owned->env;
    if (rc == 0) rc = check_env(c, p->env, p->nenv);
  }
  if (rc == 0 && f[F_CLEAR_ENV] != NULL)
    rc = sb__json_bool(c, f[F_CLEAR_ENV], "clear_env", &p->clear_env);
  if (rc == 0 && f[F_HANDLES] != NULL) rc = decode_handles(c, f[F_HANDLES], p);
  for (int i = 0; i < 3 && rc == 0; i++) {
    if (f[F_STDIN + i] != NULL)
      rc = decode_std(c, f[F_STDIN + i], std_keys[i], p, &p->std_names[i]);
  }
  if (rc == 0 && f[F_HANDLES_ENV] != NULL) rc = decode_handles_env(c, f[F_HANDLES_ENV], p);
  if (rc == 0 && f[F_EXPAND_HANDLES] != NULL)
    rc = sb__json_bool(c, f[F_EXPAND_HANDLES], "expand_handles", &p->expand_handles);
  if (rc == 0 && p->expand_handles) rc = check_placeholders(c, p);
  if (rc == 0 && f[F_LIFETIME] != NULL) {
    int l;
    rc = sb__json_enum(c, f[F_LIFETIME], "lifetime", lifetimes, 3, &l);
    if (rc == 0) p->lifetime = (sb_lifetime)l;
  }
  if (rc == 0 && f[F_LIMITS] != NULL) rc = decode_limits(c, f[F_LIMITS], &p->limits);
  if (rc == 0 && f[F_NOTIFY_EXIT] != NULL)
    rc = sb__json_bool(c, f[F_NOTIFY_EXIT], "notify_exit", &p->notify_exit);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* wait, kill                                                               */

static int decode_wait(sb__jctx *c, const cJSON *params, sb_wait_params *p) {
  static const sb__jfield fields[] = {{"pid", true}, {"timeout_ms", false}};
  const cJSON *f[2];
  int rc = sb__json_object(c, params, NULL, fields, 2, f, 0);
  if (rc != 0) return rc;
  sb_wait_params_init(p);
  rc = sb__json_u32(c, f[0], "pid", 1, UINT32_MAX, &p->pid);
  if (rc == 0 && f[1] != NULL) {
    double t;
    rc = sb__json_int(c, f[1], "timeout_ms", 0, SB_LIMIT_WAIT_TIMEOUT_MS, &t);
    if (rc == 0) p->timeout_ms = (int64_t)t;
  }
  return rc;
}

static int decode_kill(sb__jctx *c, const cJSON *params, sb_kill_params *p) {
  static const sb__jfield fields[] = {{"pid", true}, {"exit_code", false}};
  const cJSON *f[2];
  int rc = sb__json_object(c, params, NULL, fields, 2, f, 0);
  if (rc != 0) return rc;
  sb_kill_params_init(p);
  rc = sb__json_u32(c, f[0], "pid", 1, UINT32_MAX, &p->pid);
  if (rc == 0 && f[1] != NULL)
    rc = sb__json_u32(c, f[1], "exit_code", 0, UINT32_MAX, &p->exit_code);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* The envelope                                                             */

static int decode_params(sb__jctx *c, const cJSON *params, sb_request *req,
                         request_owned *owned) {
  size_t mark = sb__jpath_key(c, "params");
  int rc = 0;
  if (params != NULL && !cJSON_IsObject(params)) {
    rc = sb__jfail(c, SB_E_INVALID_PARAMS, "params must be an object, not %s",
                   sb__json_type_name(params));
    goto done;
  }
  if (params == NULL && req->method != SB_METHOD_LIST && req->method != SB_METHOD_STATS &&
      req->method != SB_METHOD_PING) {
    rc = sb__jfail(c, SB_E_MISSING_KEY, "%s requires params", sb_method_name(req->method));
    goto done;
  }
  switch (req->method) {
  case SB_METHOD_HELLO: rc = decode_hello(c, params, &req->params.hello); break;
  case SB_METHOD_SPAWN: rc = decode_spawn(c, params, &req->params.spawn, owned); break;
  case SB_METHOD_WAIT: rc = decode_wait(c, params, &req->params.wait); break;
  case SB_METHOD_KILL: rc = decode_kill(c, params, &req->params.kill); break;
  case SB_METHOD_LIST:
  case SB_METHOD_STATS:
  case SB_METHOD_PING:
    /* No parameters: absent or {} only, so a typo is never silently ignored. */
    if (params != NULL) rc = sb__json_object(c, params, NULL, NULL, 0, NULL, 0);
    break;
  case SB_METHOD_COUNT:
    rc = sb__jfail(c, SB_E_INTERNAL, "no such method");
    break;
  }
done:
  sb__jpath_restore(c, mark);
  return rc;
}

/* Every envelope problem is InvalidRequest, whatever helper found it; the
 * detail and path still say what was wrong. */
static int envelope_error(sb__jctx *c, int rc) {
  if (rc != SB_E_NOMEM && rc != SB_E_INTERNAL) {
    c->err->err = SB_E_INVALID_REQUEST;
    rc = SB_E_INVALID_REQUEST;
  }
  return rc;
}

/* Reads the id before anything else in the envelope, so that the broker can
 * answer later envelope errors with it. An id key that appears twice is left
 * for the key walk to refuse, and the reply then carries a null id. */
static int read_id_first(sb__jctx *c, const cJSON *root, sb_id *id) {
  const cJSON *found = NULL;
  for (const cJSON *m = root->child; m != NULL; m = m->next) {
    if (m->string != NULL && strcmp(m->string, "id") == 0 && !(m->type & SB__JSON_KEY_HAS_NUL)) {
      if (found != NULL) return 0;
      found = m;
    }
  }
  if (found == NULL)
    return sb__jfail_at(c, "id", SB_E_INVALID_REQUEST,
                        "the request has no id; notifications are not accepted because "
                        "every request gets a reply");
  int rc = sb__json_id(c, found, false, id);
  if (rc == 0) c->err->id = *id;
  return rc;
}

static int decode_envelope(sb__jctx *c, const cJSON *root, sb_request *req,
                           request_owned *owned) {
  static const sb__jfield fields[] = {
      {"jsonrpc", true}, {"id", true}, {"method", true}, {"params", false}};
  const cJSON *f[4];
  const char *s;

  if (cJSON_IsArray(root))
    return sb__jfail(c, SB_E_BATCH_NOT_SUPPORTED,
                     "batch requests (a JSON array) are not supported; send one request per line");
  if (!cJSON_IsObject(root))
    return sb__jfail(c, SB_E_INVALID_REQUEST, "a request must be a JSON object, not %s",
                     sb__json_type_name(root));
  int rc = read_id_first(c, root, &req->id);
  if (rc != 0) return rc;
  rc = sb__json_object(c, root, NULL, fields, 4, f, 0);
  if (rc != 0) return envelope_error(c, rc);
  rc = sb__json_string(c, f[0], "jsonrpc", 16, false, &s);
  if (rc != 0) return envelope_error(c, rc);
  if (strcmp(s, "2.0") != 0)
    return sb__jfail_at(c, "jsonrpc", SB_E_INVALID_REQUEST, "jsonrpc must be \"2.0\", not \"%s\"",
                        s);
  rc = sb__json_string(c, f[2], "method", SB_LIMIT_NAME_BYTES, false, &s);
  if (rc != 0) return envelope_error(c, rc);
  if (sb_method_from_name(s, &req->method) != 0)
    return sb__jfail_at(c, "method", SB_E_METHOD_NOT_FOUND, "there is no method \"%s\"", s);
  return decode_params(c, f[3], req, owned);
}

static void free_owned(request_owned *owned) {
  if (owned == NULL) return;
  free(owned->args);
  free(owned->env);
  cJSON_Delete(owned->root);
  free(owned);
}

int sb_decode_request(const char *frame, size_t len, sb_request *out, sb_decode_error *derr) {
  sb_decode_error scratch;
  sb__jctx c;
  sb__jctx_init(&c, derr != NULL ? derr : &scratch);
  request_owned *owned = NULL;
  int rc;

  if (out != NULL) memset(out, 0, sizeof *out);
  if (out == NULL || frame == NULL) {
    rc = sb__jfail(&c, SB_E_INVALID_ARGUMENT, "no frame or no request to fill");
    goto fail;
  }
  if (len > SB_LIMIT_FRAME_BYTES) {
    rc = sb__jfail(&c, SB_E_FRAME_TOO_LARGE, "the frame is %lu bytes; at most %lu are allowed",
                   (unsigned long)len, (unsigned long)SB_LIMIT_FRAME_BYTES);
    goto fail;
  }
  owned = calloc(1, sizeof *owned);
  if (owned == NULL) {
    rc = sb__jfail(&c, SB_E_NOMEM, "out of memory");
    goto fail;
  }
  rc = sb__json_parse(&c, frame, len, SB_LIMIT_NESTING, &owned->root);
  if (rc != 0) goto fail;
  rc = decode_envelope(&c, owned->root, out, owned);
  if (rc != 0) goto fail;
  out->sb__owned = owned;
  return 0;

fail:
  free_owned(owned);
  if (out != NULL) memset(out, 0, sizeof *out);
  c.err->err = rc;
  return rc;
}

void sb_request_free(sb_request *req) {
  if (req == NULL || req->sb__owned == NULL) return;
  free_owned(req->sb__owned);
  memset(req, 0, sizeof *req);
}
