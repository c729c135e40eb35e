/*
 * The broker's side of the wire: results, errors and the exit event.
 *
 * Everything written here must be readable by any JSON decoder, so the
 * finished text is checked to be valid UTF-8 before it is handed out (cJSON
 * copies bytes of 0x80 and above through unchanged). Strings that come from
 * the broker's own state (ids, program paths) are refused when invalid; the
 * free-form detail and path of an error are repaired instead, because an
 * error reply must always be sendable.
 */
#include <stdlib.h>
#include <string.h>

#include "encode_util.h"
#include "json_strict.h"
#include "sb_proto.h"

/* 2^53 - 1: the largest integer a double holds exactly. Most JSON decoders
 * (cJSON among them, and JavaScript by definition) read numbers into
 * doubles, so a larger counter would arrive as some nearby value; a
 * saturated one at least never goes backwards or wraps. */
#define SB_COUNTER_MAX UINT64_C(9007199254740991)

static int add_counter(cJSON *obj, const char *key, uint64_t v) {
  return sb__enc_add_u64(obj, key, v > SB_COUNTER_MAX ? SB_COUNTER_MAX : v);
}

/* Sets *fixed to s when it is valid UTF-8; otherwise to a malloc'd copy in
 * which every byte that does not start a well-formed sequence became U+FFFD,
 * which the caller frees through *owned. The rules of "valid" are the
 * decoder's own (sb__utf8_valid), so what we repair is what it would refuse. */
static int utf8_repair(const char *s, const char **fixed, char **owned) {
  *fixed = s;
  *owned = NULL;
  if (s == NULL) return 0;
  size_t n = strlen(s), bad;
  if (sb__utf8_valid(s, n, &bad, NULL)) return 0;
  /* Each input byte becomes at most the three bytes of U+FFFD. */
  if (n > (SIZE_MAX - 1) / 3) return SB_E_NOMEM;
  char *copy = malloc(3 * n + 1);
  if (copy == NULL) return SB_E_NOMEM;
  size_t i = 0, o = 0;
  for (;;) {
    /* s[i..i+bad) is valid; s[i+bad] starts no well-formed sequence. */
    memcpy(copy + o, s + i, bad);
    o += bad;
    i += bad;
    if (i == n) break;
    memcpy(copy + o, "\xEF\xBF\xBD", 3);
    o += 3;
    i++;
    if (sb__utf8_valid(s + i, n - i, &bad, NULL)) bad = n - i;
  }
  copy[o] = '\0';
  *fixed = copy;
  *owned = copy;
  return 0;
}

/* Prints root and refuses output that is not valid UTF-8. */
static int finish(const cJSON *root, sb_buf *out) {
  int rc = sb__enc_finish(root, out);
  if (rc == 0 && !sb__utf8_valid(out->data, out->len, NULL, NULL)) {
    sb_buf_free(out);
    rc = SB_E_INVALID_ARGUMENT;
  }
  return rc;
}

static int add_exit_info(cJSON *obj, const sb_exit_info *e) {
  int rc = sb__enc_add_u64(obj, "pid", e->pid);
  if (rc == 0) rc = sb__enc_add_u64(obj, "exit_code", e->exit_code);
  if (rc == 0) rc = add_counter(obj, "wall_ms", e->wall_ms);
  if (rc == 0) rc = add_counter(obj, "cpu_user_us", e->cpu_user_us);
  if (rc == 0) rc = add_counter(obj, "cpu_kernel_us", e->cpu_kernel_us);
  if (rc == 0) rc = add_counter(obj, "peak_memory_bytes", e->peak_memory_bytes);
  return rc;
}

static int add_hello(cJSON *obj, const sb_hello_result *h) {
  /* AUTO is a request, not an answer: the broker must say what it chose. */
  if (h->transfer != SB_TRANSFER_PULL && h->transfer != SB_TRANSFER_PUSH)
    return SB_E_INVALID_ARGUMENT;
  int rc = sb__enc_add_u64(obj, "protocol", h->protocol);
  if (rc == 0) rc = sb__enc_add_string(obj, "broker_version", h->broker_version);
  if (rc == 0) rc = sb__enc_add_u64(obj, "pid", h->pid);
  if (rc == 0) rc = sb__enc_add_string(obj, "transfer", sb_transfer_name(h->transfer));
  if (rc == 0) rc = sb__enc_add_u64(obj, "max_frame_bytes", h->max_frame_bytes);
  if (rc == 0) rc = sb__enc_add_u64(obj, "max_handles", h->max_handles);
  if (rc == 0) rc = sb__enc_add_u64(obj, "max_args", h->max_args);
  if (rc == 0) rc = sb__enc_add_u64(obj, "max_env", h->max_env);
  return rc;
}

static int add_spawn(cJSON *obj, const sb_spawn_result *s) {
  if (s->nhandles > SB_LIMIT_HANDLES) return SB_E_INVALID_ARGUMENT;
  cJSON *arr;
  int rc = sb__enc_add_u64(obj, "pid", s->pid);
  if (rc == 0) rc = sb__enc_add_array(obj, "handles", &arr);
  for (size_t i = 0; rc == 0 && i < s->nhandles; i++) {
    cJSON *h = cJSON_CreateObject();
    rc = sb__enc_append(arr, h);
    if (rc == 0) rc = sb__enc_add_string(h, "name", s->handles[i].name);
    if (rc == 0) rc = sb__enc_add_i64(h, "value", s->handles[i].value);
  }
  return rc;
}

static int add_child(cJSON *arr, const sb_child_info *c) {
  const char *lifetime = sb_lifetime_name(c->lifetime);
  if (lifetime == NULL) return SB_E_INVALID_ARGUMENT;
  cJSON *obj = cJSON_CreateObject();
  int rc = sb__enc_append(arr, obj);
  if (rc == 0) rc = sb__enc_add_u64(obj, "pid", c->pid);
  if (rc == 0) rc = sb__enc_add_string(obj, "program", c->program);
  if (rc == 0) rc = sb__enc_add_string(obj, "lifetime", lifetime);
  if (rc == 0) rc = sb__enc_add_bool(obj, "running", c->running);
  /* A running child has no exit code yet; leaving the key out says so. */
  if (rc == 0 && !c->running) rc = sb__enc_add_u64(obj, "exit_code", c->exit_code);
  return rc;
}

static int add_list(cJSON *obj, const sb_list_result *l) {
  if (l->nchildren > SB_LIMIT_LIST_CHILDREN || (l->nchildren > 0 && l->children == NULL))
    return SB_E_INVALID_ARGUMENT;
  cJSON *arr;
  int rc = sb__enc_add_array(obj, "children", &arr);
  for (size_t i = 0; rc == 0 && i < l->nchildren; i++) rc = add_child(arr, &l->children[i]);
  return rc;
}

static int add_stats(cJSON *obj, const sb_stats_result *s) {
  int rc = 0;
#define SB__ADD_STAT(name, doc) \
  if (rc == 0) rc = add_counter(obj, #name, s->name);
  SB_STATS_COUNTERS(SB__ADD_STAT)
#undef SB__ADD_STAT
  return rc;
}

static int add_result(cJSON *obj, const sb_result *res) {
  switch (res->method) {
  case SB_METHOD_HELLO: return add_hello(obj, &res->u.hello);
  case SB_METHOD_SPAWN: return add_spawn(obj, &res->u.spawn);
  case SB_METHOD_WAIT: return add_exit_info(obj, &res->u.wait);
  case SB_METHOD_KILL: {
    int rc = sb__enc_add_u64(obj, "pid", res->u.kill.pid);
    return rc ? rc : sb__enc_add_bool(obj, "killed", res->u.kill.killed);
  }
  case SB_METHOD_LIST: return add_list(obj, &res->u.list);
  case SB_METHOD_STATS: return add_stats(obj, &res->u.stats);
  case SB_METHOD_PING: return sb__enc_add_bool(obj, "pong", true);
  case SB_METHOD_COUNT: break;
  }
  return SB_E_INVALID_ARGUMENT;
}

/* Ids in replies echo ids the decoder accepted; a number past 2^53 - 1
 * could not be read back exactly, so such an id is a caller's mistake. */
static bool reply_id_ok(const sb_id *id) {
  return id->kind != SB_ID_NUMBER || id->number <= (uint64_t)SB_LIMIT_ID_MAX;
}

static void clear_buf(sb_buf *out) {
  if (out != NULL) {
    out->data = NULL;
    out->len = 0;
  }
}

int sb_encode_result(const sb_id *id, const sb_result *res, sb_buf *out) {
  clear_buf(out);
  /* A result always answers a request, so it always has that request's id;
   * only errors about unreadable frames carry a null id. */
  if (id == NULL || id->kind == SB_ID_NULL || !reply_id_ok(id) || res == NULL || out == NULL)
    return SB_E_INVALID_ARGUMENT;
  cJSON *root = NULL, *result;
  int rc = sb__enc_envelope(&root);
  if (rc == 0) rc = sb__enc_add_id(root, id);
  if (rc == 0) rc = sb__enc_add_object(root, "result", &result);
  if (rc == 0) rc = add_result(result, res);
  if (rc == 0) rc = finish(root, out);
  cJSON_Delete(root);
  return rc;
}

int sb_encode_error(const sb_id *id, int err, const char *detail,
                    const char *path, sb_buf *out) {
  clear_buf(out);
  if (out == NULL || !sb_err_is_known(err) || (id != NULL && !reply_id_ok(id)))
    return SB_E_INVALID_ARGUMENT;
  cJSON *root = NULL, *error, *data;
  char *detail_owned = NULL, *path_owned = NULL;
  int rc = utf8_repair(detail, &detail, &detail_owned);
  if (rc != 0) goto done;
  rc = utf8_repair(path, &path, &path_owned);
  if (rc != 0) goto done;

  rc = sb__enc_envelope(&root);
  if (rc != 0) goto done;
  /* No id at all is treated like a null id: the request's could not be read. */
  if (id == NULL || id->kind == SB_ID_NULL) rc = sb__enc_add(root, "id", cJSON_CreateNull());
  else rc = sb__enc_add_id(root, id);
  if (rc != 0) goto done;
  rc = sb__enc_add_object(root, "error", &error);
  if (rc == 0) rc = sb__enc_add_i64(error, "code", sb_err_rpc_code(err));
  if (rc == 0) rc = sb__enc_add_string(error, "message", sb_err_message(err));
  if (rc == 0) rc = sb__enc_add_object(error, "data", &data);
  if (rc == 0) rc = sb__enc_add_string(data, "name", sb_err_name(err));
  if (rc == 0 && detail != NULL && detail[0] != '\0') rc = sb__enc_add_string(data, "detail", detail);
  if (rc == 0 && path != NULL && path[0] != '\0') rc = sb__enc_add_string(data, "path", path);
  if (rc == 0) rc = finish(root, out);
done:
  cJSON_Delete(root);
  free(detail_owned);
  free(path_owned);
  return rc;
}

int sb_encode_exit_event(const sb_exit_info *exit, sb_buf *out) {
  clear_buf(out);
  if (exit == NULL || out == NULL) return SB_E_INVALID_ARGUMENT;
  cJSON *root = NULL, *params;
  int rc = sb__enc_envelope(&root);
  if (rc == 0) rc = sb__enc_add_string(root, "method", "exit");
  if (rc == 0) rc = sb__enc_add_object(root, "params", &params);
  if (rc == 0) rc = add_exit_info(params, exit);
  if (rc == 0) rc = finish(root, out);
  cJSON_Delete(root);
  return rc;
}
