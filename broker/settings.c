#include "settings.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "sb_errors.h"

#define SB__DEFAULT_PIPE "\\\\.\\pipe\\spawnbroker"

/* Nesting of a config file: the object and one level of groups. */
#define SB__SETTINGS_MAX_DEPTH 2

typedef enum kind { K_UINT, K_PIPE, K_PATH, K_TRANSFER, K_CLIENTS, K_LEVEL, K_BOOL } kind;

typedef struct row {
  sb__setting_info info;
  kind kind;
  size_t offset; /* of the field in sb__settings */
  uint32_t min, max, def;
} row;

#define SB__STR(x) #x
#define SB__UINT_ROW(field, name, flag, def, min, max, doc)                                \
  {{name, flag, "integer", SB__STR(def), SB__STR(min) "-" SB__STR(max), doc},             \
   K_UINT, offsetof(sb__settings, field), min, max, def},

static const row sb__rows[] = {
    {{"pipe", "--pipe", "string", "\"" SB__DEFAULT_PIPE "\"", "255 bytes",
      "the pipe to serve; a bare name goes under \\\\.\\pipe\\"},
     K_PIPE, offsetof(sb__settings, pipe), 0, 0, 0},
    {{"transfer", "--transfer", "auto, pull or push", "\"auto\"", "",
      "how clients' handles reach the broker: auto (pull, push for a client the broker "
      "cannot open), or pull or push for every client"},
     K_TRANSFER, offsetof(sb__settings, transfer), 0, 0, 0},
    {{"clients", "--clients", "auto, interactive, authenticated or owner", "\"auto\"", "",
      "who may connect besides SYSTEM, Administrators and the broker's own user: auto (owner "
      "in console mode, interactive as a service), interactive users, every authenticated "
      "user, or nobody else (owner)"},
     K_CLIENTS, offsetof(sb__settings, clients), 0, 0, 0},
    SB__UINT_SETTINGS(SB__UINT_ROW)
    {{"log.level", "--log-level", "error, warn, info or debug", "\"info\"", "", "log detail"},
     K_LEVEL, offsetof(sb__settings, log_level), 0, 0, 0},
    {{"log.file", "--log-file", "string", "\"\"", "1023 bytes",
      "the log file; empty: none in console mode, %ProgramData%\\spawnbroker\\NAME.log in "
      "service mode (NAME: the service's name)"},
     K_PATH, offsetof(sb__settings, log_file), 0, 0, 0},
    {{"log.event_log", NULL, "bool", "true", "",
      "service mode also reports start, stop and errors to the Windows Event Log"},
     K_BOOL, offsetof(sb__settings, event_log), 0, 0, 0},
};

#define SB__NROWS (sizeof sb__rows / sizeof sb__rows[0])

#if defined(__MINGW_PRINTF_FORMAT)
#define SB__FAILF_FORMAT __attribute__((format(__MINGW_PRINTF_FORMAT, 4, 5)))
#elif defined(__GNUC__)
#define SB__FAILF_FORMAT __attribute__((format(printf, 4, 5)))
#else
#define SB__FAILF_FORMAT
#endif

static int failf(char *err, size_t cap, int rc, const char *fmt, ...) SB__FAILF_FORMAT;

static int failf(char *err, size_t cap, int rc, const char *fmt, ...) {
  va_list ap;
  if (cap > 0) {
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
  }
  return rc;
}

static const row *find_row(const char *name) {
  for (size_t i = 0; i < SB__NROWS; i++)
    if (strcmp(sb__rows[i].info.name, name) == 0) return &sb__rows[i];
  return NULL;
}

void sb__settings_init(sb__settings *s) {
  memset(s, 0, sizeof *s);
#define SB__SETTING_DEFAULT(field, name, flag, def, min, max, doc) s->field = def;
  SB__UINT_SETTINGS(SB__SETTING_DEFAULT)
#undef SB__SETTING_DEFAULT
  snprintf(s->pipe, sizeof s->pipe, "%s", SB__DEFAULT_PIPE);
  s->transfer = SB_TRANSFER_AUTO;
  s->clients = SB__CLIENTS_AUTO;
  s->log_level = SB_LOG_INFO;
  s->event_log = true;
}

static const char *const sb__transfer_names[] = {"auto", "pull", "push"};
/* In sb__clients order. */
static const char *const sb__clients_names[] = {"interactive", "authenticated", "owner", "auto"};

sb__clients sb__clients_effective(sb__clients setting, bool service) {
  if (setting != SB__CLIENTS_AUTO) return setting;
  return service ? SB__CLIENTS_INTERACTIVE : SB__CLIENTS_OWNER;
}

static int enum_from(const char *text, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (strcmp(text, names[i]) == 0) return i;
  return -1;
}

/* Strict decimal: digits only, no sign, no spaces, no overflow. */
static int parse_uint(const char *text, uint32_t *out) {
  unsigned long long v = 0;
  if (*text == '\0') return SB_E_WRONG_TYPE;
  for (const char *p = text; *p; p++) {
    if (*p < '0' || *p > '9') return SB_E_WRONG_TYPE;
    v = v * 10 + (unsigned)(*p - '0');
    if (v > UINT32_MAX) return SB_E_OUT_OF_RANGE;
  }
  *out = (uint32_t)v;
  return 0;
}

static int put_uint(sb__settings *s, const row *r, uint32_t v, char *err, size_t cap) {
  if (v < r->min || v > r->max)
    return failf(err, cap, SB_E_OUT_OF_RANGE, "%s must be between %u and %u, not %u",
                 r->info.name, (unsigned)r->min, (unsigned)r->max, (unsigned)v);
  *(uint32_t *)(void *)((char *)s + r->offset) = v;
  return 0;
}

/* Applies a textual value to the row's field (strings and enums, and
 * integers from the command line). */
static int put_text(sb__settings *s, const row *r, const char *text, char *err, size_t cap) {
  char *field = (char *)s + r->offset;
  int i;
  uint32_t v;
  switch (r->kind) {
    case K_UINT:
      i = parse_uint(text, &v);
      if (i == SB_E_OUT_OF_RANGE)
        return failf(err, cap, i, "%s must be between %u and %u", r->info.name,
                     (unsigned)r->min, (unsigned)r->max);
      if (i != 0)
        return failf(err, cap, i, "%s needs a whole number, not \"%s\"", r->info.name, text);
      return put_uint(s, r, v, err, cap);
    case K_PIPE: {
      int n;
      if (*text == '\0') return failf(err, cap, SB_E_EMPTY_STRING, "pipe must not be empty");
      /* A bare name is shorthand for \\.\pipe\name. */
      n = strncmp(text, "\\\\", 2) == 0 ? snprintf(s->pipe, sizeof s->pipe, "%s", text)
                                       : snprintf(s->pipe, sizeof s->pipe, "\\\\.\\pipe\\%s", text);
      if (n < 0 || (size_t)n >= sizeof s->pipe)
        return failf(err, cap, SB_E_STRING_TOO_LONG, "pipe is longer than %u bytes",
                     (unsigned)sizeof s->pipe - 1);
      return 0;
    }
    case K_PATH:
      if (strlen(text) >= sizeof s->log_file)
        return failf(err, cap, SB_E_STRING_TOO_LONG, "%s is longer than %u bytes",
                     r->info.name, (unsigned)sizeof s->log_file - 1);
      snprintf(s->log_file, sizeof s->log_file, "%s", text);
      return 0;
    case K_TRANSFER:
      i = enum_from(text, sb__transfer_names, 3);
      if (i < 0) break;
      s->transfer = (sb_transfer)i;
      return 0;
    case K_CLIENTS:
      i = enum_from(text, sb__clients_names, 4);
      if (i < 0) break;
      s->clients = (sb__clients)i;
      return 0;
    case K_LEVEL: {
      sb__log_level level;
      if (sb__log_level_from_name(text, &level) != 0) break;
      s->log_level = (int)level;
      return 0;
    }
    case K_BOOL:
      if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
        *(bool *)(void *)field = text[0] == 't';
        return 0;
      }
      break;
  }
  return failf(err, cap, SB_E_UNKNOWN_VALUE, "%s cannot be \"%s\" (%s)", r->info.name, text,
               r->info.type);
}

int sb__settings_set(sb__settings *s, const char *name, const char *value, char *err,
                     size_t cap) {
  const row *r = find_row(name);
  if (r == NULL) return failf(err, cap, SB_E_UNKNOWN_KEY, "there is no setting \"%s\"", name);
  return put_text(s, r, value, err, cap);
}

const char *sb__settings_flag_name(const char *flag) {
  for (size_t i = 0; i < SB__NROWS; i++)
    if (sb__rows[i].info.flag != NULL && strcmp(sb__rows[i].info.flag, flag) == 0)
      return sb__rows[i].info.name;
  return NULL;
}

/* One value of the config file. */
static int load_value(sb__settings *s, const row *r, const cJSON *v, char *err, size_t cap) {
  if (r->kind == K_UINT) {
    double d;
    if (!cJSON_IsNumber(v))
      return failf(err, cap, SB_E_WRONG_TYPE, "%s must be a number", r->info.name);
    /* cJSON saturates valueint; the double is what was written. */
    d = v->valuedouble;
    if (d != floor(d))
      return failf(err, cap, SB_E_NOT_AN_INTEGER, "%s must be a whole number", r->info.name);
    if (d < 0 || d > 4294967295.0)
      return failf(err, cap, SB_E_OUT_OF_RANGE, "%s must be between %u and %u", r->info.name,
                   (unsigned)r->min, (unsigned)r->max);
    return put_uint(s, r, (uint32_t)d, err, cap);
  }
  if (r->kind == K_BOOL) {
    if (!cJSON_IsBool(v))
      return failf(err, cap, SB_E_WRONG_TYPE, "%s must be true or false", r->info.name);
    *(bool *)(void *)((char *)s + r->offset) = cJSON_IsTrue(v) != 0;
    return 0;
  }
  if (!cJSON_IsString(v))
    return failf(err, cap, SB_E_WRONG_TYPE, "%s must be a string", r->info.name);
  return put_text(s, r, v->valuestring, err, cap);
}

/* Walks one object, `prefix` being the dotted name of the group it is. */
static int load_object(sb__settings *s, const cJSON *obj, const char *prefix, int depth,
                       bool *seen, char *err, size_t cap) {
  for (const cJSON *it = obj->child; it != NULL; it = it->next) {
    char name[128];
    const row *r;
    int n = snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", it->string);
    if (n < 0 || (size_t)n >= sizeof name)
      return failf(err, cap, SB_E_UNKNOWN_KEY, "there is no setting \"%.60s...\"", name);
    if (cJSON_IsObject(it)) {
      int rc;
      /* A group is known when some setting's name starts with it. */
      bool known = false;
      for (size_t i = 0; i < SB__NROWS && !known; i++)
        known = strncmp(sb__rows[i].info.name, name, (size_t)n) == 0 &&
                sb__rows[i].info.name[n] == '.';
      if (!known || depth + 1 > SB__SETTINGS_MAX_DEPTH)
        return failf(err, cap, SB_E_UNKNOWN_KEY, "there is no group of settings \"%s\"", name);
      rc = load_object(s, it, name, depth + 1, seen, err, cap);
      if (rc != 0) return rc;
      continue;
    }
    r = find_row(name);
    if (r == NULL) return failf(err, cap, SB_E_UNKNOWN_KEY, "there is no setting \"%s\"", name);
    /* cJSON keeps both copies of a repeated key; the second would win
     * silently, which is how a typo'd edit goes unnoticed. */
    if (seen[r - sb__rows])
      return failf(err, cap, SB_E_DUPLICATE_KEY, "%s is set twice", name);
    seen[r - sb__rows] = true;
    {
      int rc = load_value(s, r, it, err, cap);
      if (rc != 0) return rc;
    }
  }
  return 0;
}

int sb__settings_load(sb__settings *s, const char *json, size_t len, char *err, size_t cap) {
  bool seen[SB__NROWS] = {false};
  const char *end = NULL;
  cJSON *root;
  int rc;

  if (memchr(json, '\0', len) != NULL)
    return failf(err, cap, SB_E_PARSE, "the config file contains a NUL byte");
  root = cJSON_ParseWithLengthOpts(json, len, &end, false);
  if (root == NULL) {
    size_t at = end != NULL && end >= json ? (size_t)(end - json) : 0;
    return failf(err, cap, SB_E_PARSE, "the config file is not valid JSON (near byte %zu)", at);
  }
  /* Only white space may follow the object. */
  for (const char *p = end; p < json + len; p++) {
    if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
      cJSON_Delete(root);
      return failf(err, cap, SB_E_PARSE, "the config file has text after its object");
    }
  }
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return failf(err, cap, SB_E_WRONG_TYPE, "the config file must hold one JSON object");
  }
  rc = load_object(s, root, "", 1, seen, err, cap);
  cJSON_Delete(root);
  return rc;
}

int sb__settings_check(const sb__settings *s, char *err, size_t cap) {
  /* A per-identity maximum above the global one is not an error (the
   * global one caps it); warm helpers that could never all exist are. */
  uint32_t per = s->pool_max_helpers_per_identity < s->pool_max_helpers
                     ? s->pool_max_helpers_per_identity
                     : s->pool_max_helpers;
  if (s->pool_warm > per)
    return failf(err, cap, SB_E_OUT_OF_RANGE,
                 "pool.warm (%u) cannot exceed the helpers one identity may have (%u: "
                 "pool.max_helpers_per_identity, at most pool.max_helpers)",
                 (unsigned)s->pool_warm, (unsigned)per);
  return 0;
}

/* Adds name = item to root, creating the group objects on the way. */
static int add_path(cJSON *root, const char *name, cJSON *item) {
  const char *dot = strchr(name, '.');
  cJSON *group;
  char head[64];
  if (item == NULL) return SB_E_NOMEM;
  if (dot == NULL) return cJSON_AddItemToObject(root, name, item) ? 0 : SB_E_NOMEM;
  snprintf(head, sizeof head, "%.*s", (int)(dot - name), name);
  group = cJSON_GetObjectItemCaseSensitive(root, head);
  if (group == NULL) group = cJSON_AddObjectToObject(root, head);
  if (group == NULL) {
    cJSON_Delete(item);
    return SB_E_NOMEM;
  }
  return add_path(group, dot + 1, item);
}

int sb__settings_to_json(const sb__settings *s, char **out) {
  cJSON *root = cJSON_CreateObject();
  int rc = root != NULL ? 0 : SB_E_NOMEM;
  for (size_t i = 0; i < SB__NROWS && rc == 0; i++) {
    const row *r = &sb__rows[i];
    const char *field = (const char *)s + r->offset;
    cJSON *item = NULL;
    switch (r->kind) {
      case K_UINT: item = cJSON_CreateNumber(*(const uint32_t *)(const void *)field); break;
      case K_PIPE: item = cJSON_CreateString(s->pipe); break;
      case K_PATH: item = cJSON_CreateString(s->log_file); break;
      case K_TRANSFER: item = cJSON_CreateString(sb__transfer_names[s->transfer]); break;
      case K_CLIENTS: item = cJSON_CreateString(sb__clients_names[s->clients]); break;
      case K_LEVEL:
        item = cJSON_CreateString(sb__log_level_name((sb__log_level)s->log_level));
        break;
      case K_BOOL: item = cJSON_CreateBool(*(const bool *)(const void *)field); break;
    }
    rc = add_path(root, r->info.name, item);
  }
  if (rc == 0) {
    *out = cJSON_Print(root);
    if (*out == NULL) rc = SB_E_NOMEM;
  }
  cJSON_Delete(root);
  return rc;
}

size_t sb__settings_count(void) { return SB__NROWS; }

const sb__setting_info *sb__settings_info(size_t i) {
  return i < SB__NROWS ? &sb__rows[i].info : NULL;
}
