/*
 * sb_encode_request: the client's side of every request.
 *
 * Wire keys are the C field names of sb_proto.h. Optional keys that hold
 * their default are left out so frames stay small; the broker's decoder fills
 * the same defaults back in (sb_*_params_init).
 */
#include <stddef.h>

#include "encode_util.h"
#include "sb_proto.h"

static int add_string_array(cJSON *obj, const char *key,
                            const char *const *items, size_t n) {
  if (n == 0) return 0;
  if (items == NULL) return SB_E_INVALID_ARGUMENT;
  cJSON *arr;
  int rc = sb__enc_add_array(obj, key, &arr);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (items[i] == NULL) return SB_E_INVALID_ARGUMENT;
    rc = sb__enc_append(arr, cJSON_CreateString(items[i]));
  }
  return rc;
}

static int encode_hello(cJSON *params, const sb_hello_params *p) {
  int rc = sb__enc_add_u64(params, "protocol", p->protocol);
  if (rc == 0 && p->client != NULL) rc = sb__enc_add_string(params, "client", p->client);
  if (rc == 0 && p->transfer != SB_TRANSFER_AUTO) {
    const char *name = sb_transfer_name(p->transfer);
    rc = name ? sb__enc_add_string(params, "transfer", name) : SB_E_INVALID_ARGUMENT;
  }
  return rc;
}

static int encode_handle(cJSON *arr, const sb_handle_spec *h) {
  cJSON *obj = cJSON_CreateObject();
  int rc = sb__enc_append(arr, obj);
  if (rc == 0) rc = sb__enc_add_string(obj, "name", h->name);
  if (rc == 0) rc = sb__enc_add_i64(obj, "value", h->value);
  if (rc == 0 && h->fd != -1) rc = sb__enc_add_i64(obj, "fd", h->fd);
  return rc;
}

static int encode_limits(cJSON *params, const sb_job_limits *l) {
  if (l->memory_bytes == 0 && l->cpu_time_ms == 0 && l->processes == 0) return 0;
  cJSON *obj;
  int rc = sb__enc_add_object(params, "limits", &obj);
  if (rc == 0 && l->memory_bytes != 0) rc = sb__enc_add_u64(obj, "memory_bytes", l->memory_bytes);
  if (rc == 0 && l->cpu_time_ms != 0) rc = sb__enc_add_u64(obj, "cpu_time_ms", l->cpu_time_ms);
  if (rc == 0 && l->processes != 0) rc = sb__enc_add_u64(obj, "processes", l->processes);
  return rc;
}

static int encode_spawn(cJSON *params, const sb_spawn_params *p) {
  static const char *const std_keys[3] = {"stdin", "stdout", "stderr"};
  /* The struct cannot hold more handles than this, so reading past it would
   * be out of bounds; the broker answers a longer list the same way. */
  if (p->nhandles > SB_LIMIT_HANDLES) return SB_E_TOO_MANY_HANDLES;

  int rc = sb__enc_add_string(params, "program", p->program);
  if (rc == 0) rc = add_string_array(params, "args", p->args, p->nargs);
  if (rc == 0 && p->cwd != NULL) rc = sb__enc_add_string(params, "cwd", p->cwd);
  if (rc == 0) rc = add_string_array(params, "env", p->env, p->nenv);
  if (rc == 0 && p->clear_env) rc = sb__enc_add_bool(params, "clear_env", true);
  if (rc == 0 && p->nhandles > 0) {
    cJSON *arr;
    rc = sb__enc_add_array(params, "handles", &arr);
    for (size_t i = 0; rc == 0 && i < p->nhandles; i++) rc = encode_handle(arr, &p->handles[i]);
  }
  for (int i = 0; rc == 0 && i < 3; i++) {
    if (p->std_names[i] != NULL) rc = sb__enc_add_string(params, std_keys[i], p->std_names[i]);
  }
  if (rc == 0 && p->handles_env != NULL)
    rc = sb__enc_add_string(params, "handles_env", p->handles_env);
  if (rc == 0 && p->expand_handles) rc = sb__enc_add_bool(params, "expand_handles", true);
  if (rc == 0 && p->lifetime != SB_LIFETIME_BROKER) {
    const char *name = sb_lifetime_name(p->lifetime);
    rc = name ? sb__enc_add_string(params, "lifetime", name) : SB_E_INVALID_ARGUMENT;
  }
  if (rc == 0) rc = encode_limits(params, &p->limits);
  if (rc == 0 && p->notify_exit) rc = sb__enc_add_bool(params, "notify_exit", true);
  return rc;
}

static int encode_wait(cJSON *params, const sb_wait_params *p) {
  int rc = sb__enc_add_u64(params, "pid", p->pid);
  if (rc == 0 && p->timeout_ms != -1) rc = sb__enc_add_i64(params, "timeout_ms", p->timeout_ms);
  return rc;
}

static int encode_kill(cJSON *params, const sb_kill_params *p) {
  int rc = sb__enc_add_u64(params, "pid", p->pid);
  if (rc == 0 && p->exit_code != 1) rc = sb__enc_add_u64(params, "exit_code", p->exit_code);
  return rc;
}

static int encode_params(cJSON *root, const sb_request *req) {
  cJSON *params;
  int rc;
  switch (req->method) {
  case SB_METHOD_LIST:
  case SB_METHOD_STATS:
  case SB_METHOD_PING:
    return 0; /* these take no parameters and send no "params" key */
  case SB_METHOD_HELLO:
    rc = sb__enc_add_object(root, "params", &params);
    return rc ? rc : encode_hello(params, &req->params.hello);
  case SB_METHOD_SPAWN:
    rc = sb__enc_add_object(root, "params", &params);
    return rc ? rc : encode_spawn(params, &req->params.spawn);
  case SB_METHOD_WAIT:
    rc = sb__enc_add_object(root, "params", &params);
    return rc ? rc : encode_wait(params, &req->params.wait);
  case SB_METHOD_KILL:
    rc = sb__enc_add_object(root, "params", &params);
    return rc ? rc : encode_kill(params, &req->params.kill);
  case SB_METHOD_COUNT:
    break;
  }
  return SB_E_INVALID_ARGUMENT;
}

int sb_encode_request(const sb_request *req, sb_buf *out) {
  if (out != NULL) {
    out->data = NULL;
    out->len = 0;
  }
  if (req == NULL || out == NULL) return SB_E_INVALID_ARGUMENT;
  const char *method = sb_method_name(req->method);
  if (method == NULL) return SB_E_INVALID_ARGUMENT;

  cJSON *root = NULL;
  sb_buf buf = {NULL, 0};
  int rc = sb__enc_envelope(&root);
  if (rc != 0) goto done;
  rc = sb__enc_add_id(root, &req->id);
  if (rc != 0) goto done;
  rc = sb__enc_add_string(root, "method", method);
  if (rc != 0) goto done;
  rc = encode_params(root, req);
  if (rc != 0) goto done;
  rc = sb__enc_finish(root, &buf);
  if (rc != 0) goto done;

  /* The frame is checked by the broker's own decoder before it leaves: the
   * rules live in one place (decode_request.c), and a client must never send
   * what the broker would refuse. The caller gets the very error code the
   * broker would have replied with. */
  sb_request check;
  rc = sb_decode_request(buf.data, buf.len - 1, &check, NULL);
  if (rc != 0) goto done;
  sb_request_free(&check);

  *out = buf;
  buf.data = NULL;
done:
  sb_buf_free(&buf);
  cJSON_Delete(root);
  return rc;
}
