#include "sb_child_report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb_errors.h"

/* Reads an integral JSON number in [lo, hi]. cJSON keeps numbers as doubles
 * and saturates valueint, so the double is checked, never valueint. */
static int get_int(const cJSON *obj, const char *key, double lo, double hi, int64_t *out) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
  double d;
  if (!cJSON_IsNumber(item)) return SB_E_BAD_REPLY;
  d = item->valuedouble;
  if (!(d >= lo && d <= hi) || floor(d) != d) return SB_E_BAD_REPLY;
  *out = (int64_t)d;
  return 0;
}

static char *dup_str(const char *s) {
  size_t len = strlen(s);
  char *copy = malloc(len + 1);
  if (copy != NULL) memcpy(copy, s, len + 1);
  return copy;
}

/* Handle values fit in 32 bits on every Windows (they are documented to be
 * sign-extendable 32-bit values), so 2^32 bounds them; -1 is
 * INVALID_HANDLE_VALUE in the std object. */
#define SBT_MAX_HANDLE 4294967295.0

static int parse_handles(const cJSON *arr, sbt_child_report *out) {
  size_t n, i = 0;
  const cJSON *item;
  if (!cJSON_IsArray(arr)) return SB_E_BAD_REPLY;
  n = (size_t)cJSON_GetArraySize(arr);
  if (n == 0) return 0;
  out->handles = calloc(n, sizeof *out->handles);
  if (out->handles == NULL) return SB_E_NOMEM;
  cJSON_ArrayForEach(item, arr) {
    sbt_child_handle *h = &out->handles[i];
    const cJSON *type, *inh;
    int64_t v;
    if (!cJSON_IsObject(item)) return SB_E_BAD_REPLY;
    type = cJSON_GetObjectItemCaseSensitive(item, "type");
    inh = cJSON_GetObjectItemCaseSensitive(item, "inheritable");
    if (get_int(item, "value", 0, SBT_MAX_HANDLE, &v) != 0) return SB_E_BAD_REPLY;
    h->value = (uint64_t)v;
    if (get_int(item, "access", 0, 4294967295.0, &v) != 0) return SB_E_BAD_REPLY;
    h->access = (uint32_t)v;
    if (!cJSON_IsBool(inh)) return SB_E_BAD_REPLY;
    h->inheritable = cJSON_IsTrue(inh);
    if (!cJSON_IsString(type) || strlen(type->valuestring) >= sizeof h->type)
      return SB_E_BAD_REPLY;
    strcpy(h->type, type->valuestring);
    i++;
    out->handle_count = i;
  }
  return 0;
}

static int parse_argv(const cJSON *arr, sbt_child_report *out) {
  size_t n;
  const cJSON *item;
  if (!cJSON_IsArray(arr)) return SB_E_BAD_REPLY;
  n = (size_t)cJSON_GetArraySize(arr);
  if (n == 0) return 0;
  out->argv = calloc(n, sizeof *out->argv);
  if (out->argv == NULL) return SB_E_NOMEM;
  cJSON_ArrayForEach(item, arr) {
    if (!cJSON_IsString(item)) return SB_E_BAD_REPLY;
    out->argv[out->argc] = dup_str(item->valuestring);
    if (out->argv[out->argc] == NULL) return SB_E_NOMEM;
    out->argc++;
  }
  return 0;
}

int sbt_child_report_parse(const char *json, sbt_child_report *out) {
  cJSON *root = NULL;
  const cJSON *std, *env, *cmdline;
  int64_t v;
  int rc = SB_E_BAD_REPLY;

  if (json == NULL || out == NULL) return SB_E_INVALID_ARGUMENT;
  memset(out, 0, sizeof *out);
  root = cJSON_Parse(json);
  if (root == NULL) return SB_E_PARSE;
  if (!cJSON_IsObject(root)) goto fail;
  if (get_int(root, "pid", 0, 4294967295.0, &v) != 0) goto fail;
  out->pid = (uint32_t)v;
  if (get_int(root, "parent_pid", 0, 4294967295.0, &v) != 0) goto fail;
  out->parent_pid = (uint32_t)v;
  rc = parse_handles(cJSON_GetObjectItemCaseSensitive(root, "handles"), out);
  if (rc != 0) goto fail;
  rc = SB_E_BAD_REPLY;
  std = cJSON_GetObjectItemCaseSensitive(root, "std");
  if (!cJSON_IsObject(std)) goto fail;
  if (get_int(std, "in", -1, SBT_MAX_HANDLE, &out->std_in) != 0) goto fail;
  if (get_int(std, "out", -1, SBT_MAX_HANDLE, &out->std_out) != 0) goto fail;
  if (get_int(std, "err", -1, SBT_MAX_HANDLE, &out->std_err) != 0) goto fail;
  env = cJSON_GetObjectItemCaseSensitive(root, "env_handles");
  if (cJSON_IsString(env)) {
    out->env_handles = dup_str(env->valuestring);
    if (out->env_handles == NULL) {
      rc = SB_E_NOMEM;
      goto fail;
    }
  } else if (env != NULL && !cJSON_IsNull(env)) {
    goto fail;
  }
  rc = parse_argv(cJSON_GetObjectItemCaseSensitive(root, "argv"), out);
  if (rc != 0) goto fail;
  rc = SB_E_BAD_REPLY;
  cmdline = cJSON_GetObjectItemCaseSensitive(root, "cmdline");
  if (cJSON_IsString(cmdline)) {
    out->cmdline = dup_str(cmdline->valuestring);
    if (out->cmdline == NULL) {
      rc = SB_E_NOMEM;
      goto fail;
    }
  } else if (cmdline != NULL) {
    goto fail;
  }
  cJSON_Delete(root);
  return 0;
fail:
  cJSON_Delete(root);
  sbt_child_report_free(out);
  return rc;
}

void sbt_child_report_free(sbt_child_report *r) {
  if (r == NULL) return;
  free(r->handles);
  free(r->env_handles);
  for (size_t i = 0; i < r->argc; i++) free(r->argv[i]);
  free(r->argv);
  free(r->cmdline);
  memset(r, 0, sizeof *r);
}

const sbt_child_handle *sbt_child_report_find(const sbt_child_report *r, uint64_t value) {
  for (size_t i = 0; i < r->handle_count; i++)
    if (r->handles[i].value == value) return &r->handles[i];
  return NULL;
}

size_t sbt_child_report_inheritable_count(const sbt_child_report *r) {
  size_t n = 0;
  for (size_t i = 0; i < r->handle_count; i++)
    if (r->handles[i].inheritable) n++;
  return n;
}

static bool is_expected(uint64_t value, const uint64_t *expected, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (expected[i] == value) return true;
  return false;
}

bool sbt_child_report_matches(const sbt_child_report *r, const sbt_child_report *baseline,
                              const uint64_t *expected, size_t n_expected, char *why,
                              size_t why_cap) {
  char scratch[8];
  bool *used = NULL, ok = false;

  if (why == NULL || why_cap == 0) {
    why = scratch;
    why_cap = sizeof scratch;
  }
  why[0] = '\0';
  if (r == NULL || (expected == NULL && n_expected > 0)) {
    snprintf(why, why_cap, "invalid arguments");
    return false;
  }
  for (size_t i = 0; i < n_expected; i++) {
    const sbt_child_handle *h = sbt_child_report_find(r, expected[i]);
    if (h == NULL) {
      snprintf(why, why_cap, "expected handle %llu is missing", (unsigned long long)expected[i]);
      return false;
    }
    if (!h->inheritable) {
      snprintf(why, why_cap, "expected handle %llu (%s) is not inheritable",
               (unsigned long long)expected[i], h->type);
      return false;
    }
  }
  for (size_t i = 0; i < r->handle_count; i++) {
    const sbt_child_handle *h = &r->handles[i];
    if (h->inheritable && !is_expected(h->value, expected, n_expected)) {
      snprintf(why, why_cap, "unexpected inheritable handle %llu (%s, access %#x)",
               (unsigned long long)h->value, h->type, (unsigned)h->access);
      return false;
    }
  }
  if (baseline == NULL) return true;
  if (baseline->handle_count > 0) {
    used = calloc(baseline->handle_count, sizeof *used);
    if (used == NULL) {
      snprintf(why, why_cap, "out of memory");
      return false;
    }
  }
  for (size_t i = 0; i < r->handle_count; i++) {
    const sbt_child_handle *h = &r->handles[i];
    bool matched = false;
    if (h->inheritable) continue;
    for (size_t j = 0; j < baseline->handle_count && !matched; j++) {
      const sbt_child_handle *b = &baseline->handles[j];
      /* The baseline's inheritable handles are what it was given (its
       * stdout, say), not what the runtime opens: they never match. */
      if (used[j] || b->inheritable || b->access != h->access || strcmp(b->type, h->type) != 0) continue;
      used[j] = true;
      matched = true;
    }
    if (!matched) {
      snprintf(why, why_cap, "handle %llu (%s, access %#x) is not in the baseline",
               (unsigned long long)h->value, h->type, (unsigned)h->access);
      goto done;
    }
  }
  ok = true;
done:
  free(used);
  return ok;
}
