/*
 * sb_encode_request: the client's side of every request.
 *
 * Wire keys are the C field names of sb_proto.h. Optional keys that hold
 * their default are left out so frames stay small; the broker's decoder fills
 * the same defaults back in (sb_*_params_init).
 *
 * A refusal is described the way the decoder describes one (code, path such
 * as "params.handles[1].name", a sentence of detail), through the decoder's
 * own path tracking (json_strict.h), so a caller can say which field was
 * wrong whichever of the two found it.
 */
#include <stddef.h>

#include "encode_util.h"
#include "json_strict.h"
#include "sb_proto.h"

/* What the helpers below refuse: a string the struct leaves NULL where the
 * wire needs one, and an enum value outside its range. */
static int null_string(sb__jctx *c, const char *key) {
  return sb__jfail_at(c, key, SB_E_INVALID_ARGUMENT, "the string is NULL");
}

static int add_string(sb__jctx *c, cJSON *obj, const char *key, const char *s) {
  return s == NULL ? null_string(c, key) : sb__enc_add_string(obj, key, s);
}

static int add_string_array(sb__jctx *c, cJSON *obj, const char *key,
                            const char *const *items, size_t n) {
  if (n == 0) return 0;
  if (items == NULL)
    return sb__jfail_at(c, key, SB_E_INVALID_ARGUMENT, "the array is NULL but has %lu items",
                        (unsigned long)n);
  cJSON *arr;
  int rc = sb__enc_add_array(obj, key, &arr);
  size_t mark = sb__jpath_key(c, key);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (items[i] == NULL) {
      size_t at = sb__jpath_index(c, i);
      rc = sb__jfail(c, SB_E_INVALID_ARGUMENT, "the string is NULL");
      sb__jpath_restore(c, at);
    } else {
      rc = sb__enc_append(arr, cJSON_CreateString(items[i]));
    }
  }
  sb__jpath_restore(c, mark);
  return rc;
}

static int add_enum(sb__jctx *c, cJSON *obj, const char *key, const char *name, int value) {
  if (name == NULL)
    return sb__jfail_at(c, key, SB_E_INVALID_ARGUMENT, "%d is not one of its values", value);
  return sb__enc_add_string(obj, key, name);
}

static int encode_hello(sb__jctx *c, cJSON *params, const sb_hello_params *p) {
  int rc = sb__enc_add_u64(params, "protocol", p->protocol);
  if (rc == 0 && p->client != NULL) rc = sb__enc_add_string(params, "client", p->client);
  if (rc == 0 && p->transfer != SB_TRANSFER_AUTO)
    rc = add_enum(c, params, "transfer", sb_transfer_name(p->transfer), (int)p->transfer);
  return rc;
}

static int encode_handle(sb__jctx *c, cJSON *arr, const sb_handle_spec *h) {
  cJSON *obj = cJSON_CreateObject();
  int rc = sb__enc_append(arr, obj);
  if (rc == 0) rc = add_string(c, obj, "name", h->name);
  if (rc == 0) rc = sb__enc_add_i64(obj, "value", h->value);
  if (rc == 0 && h->fd != -1) rc = sb__enc_add_i64(obj, "fd", h->fd);
  return rc;
}

static int encode_handles(sb__jctx *c, cJSON *params, const sb_spawn_params *p) {
  cJSON *arr;
  int rc;
  if (p->nhandles == 0) return 0;
  /* The struct cannot hold more handles than this, so reading past it would
   * be out of bounds; the broker answers a longer list the same way. */
  if (p->nhandles > SB_LIMIT_HANDLES)
    return sb__jfail_at(c, "handles", SB_E_TOO_MANY_HANDLES,
                        "%lu items; %lu is the limit", (unsigned long)p->nhandles,
                        (unsigned long)SB_LIMIT_HANDLES);
  rc = sb__enc_add_array(params, "handles", &arr);
  size_t mark = sb__jpath_key(c, "handles");
  for (size_t i = 0; rc == 0 && i < p->nhandles; i++) {
    size_t at = sb__jpath_index(c, i);
    rc = encode_handle(c, arr, &p->handles[i]);
    sb__jpath_restore(c, at);
  }
  sb__jpath_restore(c, mark);
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

static int encode_spawn(sb__jctx *c, cJSON *params, const sb_spawn_params *p) {
  static const char *const std_keys[3] = {"stdin", "stdout", "stderr"};
  int rc = add_string(c, params, "program", p->program);
  if (rc == 0) rc = add_string_array(c, params, "args", p->args, p->nargs);
  if (rc == 0 && p->cwd != NULL) rc = sb__enc_add_string(params, "cwd", p->cwd);
  if (rc == 0) rc = add_string_array(c, params, "env", p->env, p->nenv);
  if (rc == 0 && p->clear_env) rc = sb__enc_add_bool(params, "clear_env", true);
  if (rc == 0) rc = encode_handles(c, params, p);
  for (int i = 0; rc == 0 && i < 3; i++) {
    if (p->std_names[i] != NULL) rc = sb__enc_add_string(params, std_keys[i], p->std_names[i]);
  }
  if (rc == 0 && p->handles_env != NULL)
    rc = sb__enc_add_string(params, "handles_env", p->handles_env);
  if (rc == 0 && p->expand_handles) rc = sb__enc_add_bool(params, "expand_handles", true);
  if (rc == 0 && p->lifetime != SB_LIFETIME_BROKER)
    rc = add_enum(c, params, "lifetime", sb_lifetime_name(p->lifetime), (int)p->lifetime);
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

static int encode_params(sb__jctx *c, cJSON *root, const sb_request *req) {
  cJSON *params;
  int rc;
  if (req->method == SB_METHOD_LIST || req->method == SB_METHOD_STATS ||
      req->method == SB_METHOD_PING)
    return 0; /* these take no parameters and send no "params" key */
  rc = sb__enc_add_object(root, "params", &params);
  if (rc != 0) return rc;
  size_t mark = sb__jpath_key(c, "params");
  switch (req->method) {
  case SB_METHOD_HELLO: rc = encode_hello(c, params, &req->params.hello); break;
  case SB_METHOD_SPAWN: rc = encode_spawn(c, params, &req->params.spawn); break;
  case SB_METHOD_WAIT: rc = encode_wait(params, &req->params.wait); break;
  case SB_METHOD_KILL: rc = encode_kill(params, &req->params.kill); break;
  default: rc = SB_E_INVALID_ARGUMENT; break; /* sb_encode_request checked the method */
  }
  sb__jpath_restore(c, mark);
  return rc;
}

int sb_encode_request(const sb_request *req, sb_buf *out, sb_decode_error *derr) {
  sb_decode_error scratch;
  sb__jctx c;
  cJSON *root = NULL;
  sb_buf buf = {NULL, 0};
  const char *method;
  int rc;

  sb__jctx_init(&c, derr != NULL ? derr : &scratch);
  if (out != NULL) {
    out->data = NULL;
    out->len = 0;
  }
  if (req == NULL || out == NULL) {
    rc = sb__jfail(&c, SB_E_INVALID_ARGUMENT, "no request, or no buffer to fill");
    goto done;
  }
  method = sb_method_name(req->method);
  if (method == NULL) {
    rc = sb__jfail_at(&c, "method", SB_E_INVALID_ARGUMENT, "%d is not a method",
                      (int)req->method);
    goto done;
  }
  rc = sb__enc_envelope(&root);
  if (rc == 0) {
    rc = sb__enc_add_id(root, &req->id);
    if (rc == SB_E_INVALID_ARGUMENT)
      sb__jfail_at(&c, "id", rc, "the id is neither a number, a string nor null");
  }
  if (rc != 0) goto done;
  c.err->id = req->id;
  rc = sb__enc_add_string(root, "method", method);
  if (rc == 0) rc = encode_params(&c, root, req);
  if (rc == 0) rc = sb__enc_finish(root, &buf);
  if (rc != 0) goto done;

  /* The frame is checked by the broker's own decoder before it leaves: the
   * rules live in one place (decode_request.c), and a client must never send
   * what the broker would refuse. The caller gets the very error code, path
   * and detail the broker would have replied with. */
  sb_request check;
  rc = sb_decode_request(buf.data, buf.len - 1, &check, c.err);
  if (rc != 0) goto done;
  sb_request_free(&check);

  *out = buf;
  buf.data = NULL;
done:
  /* Failures below the helpers (out of memory, a cJSON misuse) come back
   * without a description; they still get their code. */
  c.err->err = rc;
  sb_buf_free(&buf);
  cJSON_Delete(root);
  return rc;
}
