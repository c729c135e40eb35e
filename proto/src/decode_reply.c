/*
 * The client's reading of what the broker sends: results, errors and events.
 *
 * The envelope is checked as strictly as the broker checks requests, and so
 * are the types of every known field, but unknown keys inside results, events
 * and error.data are skipped: a newer broker may add fields, and an older
 * client must keep working. Anything malformed is SB_E_BAD_REPLY; the
 * specific reason is not kept, since the client cannot act on it.
 */
#include <stdlib.h>
#include <string.h>

#include "json_strict.h"
#include "sb_proto.h"

/* The largest doubles below 2^63 and 2^64: integral values up to these
 * convert to int64_t and uint64_t without overflow. */
#define I64_MAX_DOUBLE 9223372036854774784.0
#define U64_MAX_DOUBLE 18446744073709549568.0

/* Everything the peer got wrong is a bad reply; running out of memory is
 * still our own failure. */
static int bad_reply(int rc) {
  return rc == 0 || rc == SB_E_NOMEM || rc == SB_E_INVALID_ARGUMENT ? rc : SB_E_BAD_REPLY;
}

/* The member of obj whose key is exactly `key` (never case-insensitive). */
static const cJSON *member(const cJSON *obj, const char *key) {
  for (const cJSON *m = obj ? obj->child : NULL; m != NULL; m = m->next) {
    if (m->string != NULL && strcmp(m->string, key) == 0 && !(m->type & SB__JSON_KEY_HAS_NUL))
      return m;
  }
  return NULL;
}

static int reply_string(sb__jctx *c, const cJSON *v, const char *key, const char **out) {
  return sb__json_string(c, v, key, (size_t)-1, false, out);
}

static int reply_u32(sb__jctx *c, const cJSON *v, const char *key, uint32_t *out) {
  return sb__json_u32(c, v, key, 0, UINT32_MAX, out);
}

static int reply_u64(sb__jctx *c, const cJSON *v, const char *key, uint64_t *out) {
  return sb__json_u64(c, v, key, 0, U64_MAX_DOUBLE, out);
}

/* ------------------------------------------------------------------------ */
/* Results                                                                  */

static int decode_exit_info(sb__jctx *c, const cJSON *v, sb_exit_info *e) {
  static const sb__jfield fields[] = {
      {"pid", true},           {"exit_code", true},     {"wall_ms", true},
      {"cpu_user_us", true},   {"cpu_kernel_us", true}, {"peak_memory_bytes", true}};
  const cJSON *f[6];
  int rc = sb__json_object(c, v, NULL, fields, 6, f, SB__JSON_ALLOW_UNKNOWN);
  if (rc == 0) rc = reply_u32(c, f[0], "pid", &e->pid);
  if (rc == 0) rc = reply_u32(c, f[1], "exit_code", &e->exit_code);
  if (rc == 0) rc = reply_u64(c, f[2], "wall_ms", &e->wall_ms);
  if (rc == 0) rc = reply_u64(c, f[3], "cpu_user_us", &e->cpu_user_us);
  if (rc == 0) rc = reply_u64(c, f[4], "cpu_kernel_us", &e->cpu_kernel_us);
  if (rc == 0) rc = reply_u64(c, f[5], "peak_memory_bytes", &e->peak_memory_bytes);
  return rc;
}

static int decode_hello_result(sb__jctx *c, const cJSON *v, sb_hello_result *h) {
  static const sb__jfield fields[] = {
      {"protocol", true},        {"broker_version", true}, {"pid", true},
      {"transfer", true},        {"max_frame_bytes", true}, {"max_handles", true},
      {"max_args", true},        {"max_env", true}};
  /* Only the two modes a connection can actually use; "auto" is a request. */
  static const char *const transfers[] = {"pull", "push"};
  const cJSON *f[8];
  int t = 0;
  int rc = sb__json_object(c, v, NULL, fields, 8, f, SB__JSON_ALLOW_UNKNOWN);
  if (rc == 0) rc = reply_u32(c, f[0], "protocol", &h->protocol);
  if (rc == 0) rc = reply_string(c, f[1], "broker_version", &h->broker_version);
  if (rc == 0) rc = reply_u32(c, f[2], "pid", &h->pid);
  if (rc == 0) rc = sb__json_enum(c, f[3], "transfer", transfers, 2, &t);
  if (rc == 0) h->transfer = t == 0 ? SB_TRANSFER_PULL : SB_TRANSFER_PUSH;
  if (rc == 0) rc = reply_u32(c, f[4], "max_frame_bytes", &h->max_frame_bytes);
  if (rc == 0) rc = reply_u32(c, f[5], "max_handles", &h->max_handles);
  if (rc == 0) rc = reply_u32(c, f[6], "max_args", &h->max_args);
  if (rc == 0) rc = reply_u32(c, f[7], "max_env", &h->max_env);
  return rc;
}

static int decode_child_handle(sb__jctx *c, const cJSON *v, sb_child_handle *h) {
  static const sb__jfield fields[] = {{"name", true}, {"value", true}};
  const cJSON *f[2];
  double d = 0;
  int rc = sb__json_object(c, v, NULL, fields, 2, f, SB__JSON_ALLOW_UNKNOWN);
  if (rc == 0) rc = reply_string(c, f[0], "name", &h->name);
  if (rc == 0) rc = sb__json_int(c, f[1], "value", -I64_MAX_DOUBLE, I64_MAX_DOUBLE, &d);
  if (rc == 0) h->value = (int64_t)d;
  return rc;
}

static int decode_spawn_result(sb__jctx *c, const cJSON *v, sb_spawn_result *s) {
  static const sb__jfield fields[] = {{"pid", true}, {"handles", true}};
  const cJSON *f[2];
  size_t n = 0, i = 0;
  int rc = sb__json_object(c, v, NULL, fields, 2, f, SB__JSON_ALLOW_UNKNOWN);
  if (rc == 0) rc = reply_u32(c, f[0], "pid", &s->pid);
  if (rc == 0) rc = sb__json_array(c, f[1], "handles", SB_LIMIT_HANDLES, SB_E_BAD_REPLY, &n);
  for (const cJSON *item = rc == 0 ? f[1]->child : NULL; item != NULL && rc == 0;
       item = item->next, i++)
    rc = decode_child_handle(c, item, &s->handles[i]);
  if (rc == 0) s->nhandles = n;
  return rc;
}

static int decode_kill_result(sb__jctx *c, const cJSON *v, sb_kill_result *k) {
  static const sb__jfield fields[] = {{"pid", true}, {"killed", true}};
  const cJSON *f[2];
  int rc = sb__json_object(c, v, NULL, fields, 2, f, SB__JSON_ALLOW_UNKNOWN);
  if (rc == 0) rc = reply_u32(c, f[0], "pid", &k->pid);
  if (rc == 0) rc = sb__json_bool(c, f[1], "killed", &k->killed);
  return rc;
}

static int decode_child_info(sb__jctx *c, const cJSON *v, sb_child_info *ch) {
  static const sb__jfield fields[] = {
      {"pid", true},     {"program", true},    {"lifetime", true},
      {"running", true}, {"exit_code", false}};
  static const char *const lifetimes[] = {"broker", "detached", "connection"};
  const cJSON *f[5];
  int l = 0;
  int rc = sb__json_object(c, v, NULL, fields, 5, f, SB__JSON_ALLOW_UNKNOWN);
  if (rc == 0) rc = reply_u32(c, f[0], "pid", &ch->pid);
  if (rc == 0) rc = reply_string(c, f[1], "program", &ch->program);
  if (rc == 0) rc = sb__json_enum(c, f[2], "lifetime", lifetimes, 3, &l);
  if (rc == 0) ch->lifetime = (sb_lifetime)l;
  if (rc == 0) rc = sb__json_bool(c, f[3], "running", &ch->running);
  ch->exit_code = 0;
  if (rc == 0 && f[4] != NULL) {
    /* A running child has no exit code; one that claims both is malformed. */
    if (ch->running) return SB_E_BAD_REPLY;
    rc = reply_u32(c, f[4], "exit_code", &ch->exit_code);
  }
  return rc;
}

static int decode_list_result(sb__jctx *c, const cJSON *v, sb_list_result *l, void **owned) {
  static const sb__jfield fields[] = {{"children", true}};
  const cJSON *f[1];
  size_t n = 0, i = 0;
  int rc = sb__json_object(c, v, NULL, fields, 1, f, SB__JSON_ALLOW_UNKNOWN);
  if (rc == 0)
    rc = sb__json_array(c, f[0], "children", SB_LIMIT_LIST_CHILDREN, SB_E_BAD_REPLY, &n);
  if (rc != 0 || n == 0) return rc;
  /* Sized by the count just validated against SB_LIMIT_LIST_CHILDREN. */
  sb_child_info *children = calloc(n, sizeof *children);
  if (children == NULL) return SB_E_NOMEM;
  for (const cJSON *item = f[0]->child; item != NULL && rc == 0; item = item->next, i++)
    rc = decode_child_info(c, item, &children[i]);
  if (rc != 0) {
    free(children);
    return rc;
  }
  l->children = children;
  l->nchildren = n;
  *owned = children;
  return 0;
}

static int decode_stats_result(sb__jctx *c, const cJSON *v, sb_stats_result *s) {
  /* Every counter is optional: a broker older or newer than this client may
   * not know all of them, and 0 is the honest "not reported". */
#define SB__STAT_FIELD(name, doc) {#name, false},
#define SB__STAT_SLOT(name, doc) &s->name,
  static const sb__jfield fields[] = {SB_STATS_COUNTERS(SB__STAT_FIELD)};
  uint64_t *const slots[] = {SB_STATS_COUNTERS(SB__STAT_SLOT)};
#undef SB__STAT_FIELD
#undef SB__STAT_SLOT
  enum { N = sizeof fields / sizeof fields[0] };
  const cJSON *f[N];
  int rc = sb__json_object(c, v, NULL, fields, N, f, SB__JSON_ALLOW_UNKNOWN);
  for (size_t i = 0; i < N && rc == 0; i++) {
    *slots[i] = 0;
    if (f[i] != NULL) rc = reply_u64(c, f[i], fields[i].key, slots[i]);
  }
  return rc;
}

static int decode_ping_result(sb__jctx *c, const cJSON *v) {
  static const sb__jfield fields[] = {{"pong", true}};
  const cJSON *f[1];
  bool pong = false;
  int rc = sb__json_object(c, v, NULL, fields, 1, f, SB__JSON_ALLOW_UNKNOWN);
  if (rc == 0) rc = sb__json_bool(c, f[0], "pong", &pong);
  if (rc == 0 && !pong) rc = SB_E_BAD_REPLY;
  return rc;
}

int sb_decode_result(const sb_incoming *in, sb_method method, sb_result *out) {
  if (out != NULL) memset(out, 0, sizeof *out);
  if (in == NULL || out == NULL || in->kind != SB_INCOMING_RESULT || in->sb__owned == NULL ||
      sb_method_name(method) == NULL)
    return SB_E_INVALID_ARGUMENT;
  out->method = method;

  sb_decode_error scratch;
  sb__jctx c;
  sb__jctx_init(&c, &scratch);
  const cJSON *v = member(in->sb__owned, "result");
  void *owned = NULL;
  int rc;
  switch (method) {
  case SB_METHOD_HELLO: rc = decode_hello_result(&c, v, &out->u.hello); break;
  case SB_METHOD_SPAWN: rc = decode_spawn_result(&c, v, &out->u.spawn); break;
  case SB_METHOD_WAIT: rc = decode_exit_info(&c, v, &out->u.wait); break;
  case SB_METHOD_KILL: rc = decode_kill_result(&c, v, &out->u.kill); break;
  case SB_METHOD_LIST: rc = decode_list_result(&c, v, &out->u.list, &owned); break;
  case SB_METHOD_STATS: rc = decode_stats_result(&c, v, &out->u.stats); break;
  case SB_METHOD_PING: rc = decode_ping_result(&c, v); break;
  default: rc = SB_E_INVALID_ARGUMENT; break;
  }
  if (rc != 0) {
    free(owned);
    memset(out, 0, sizeof *out);
    return bad_reply(rc);
  }
  out->sb__owned = owned;
  return 0;
}

void sb_result_free(sb_result *res) {
  if (res == NULL) return;
  free(res->sb__owned);
  memset(res, 0, sizeof *res);
}

/* ------------------------------------------------------------------------ */
/* The envelope                                                             */

static int decode_error_object(sb__jctx *c, const cJSON *v, sb_rpc_error *e) {
  /* The error object itself is JSON-RPC's and closed; error.data is ours and
   * open to additions. */
  static const sb__jfield fields[] = {{"code", true}, {"message", true}, {"data", false}};
  static const sb__jfield data_fields[] = {{"name", false}, {"detail", false}, {"path", false}};
  const cJSON *f[3], *d[3];
  double code = 0;
  int rc = sb__json_object(c, v, NULL, fields, 3, f, 0);
  if (rc == 0) rc = sb__json_int(c, f[0], "code", -2147483648.0, 2147483647.0, &code);
  if (rc == 0) rc = reply_string(c, f[1], "message", &e->message);
  if (rc == 0 && f[2] != NULL) {
    rc = sb__json_object(c, f[2], NULL, data_fields, 3, d, SB__JSON_ALLOW_UNKNOWN);
    if (rc == 0 && d[0] != NULL) rc = reply_string(c, d[0], "name", &e->name);
    if (rc == 0 && d[1] != NULL) rc = reply_string(c, d[1], "detail", &e->detail);
    if (rc == 0 && d[2] != NULL) rc = reply_string(c, d[2], "path", &e->path);
  }
  if (rc != 0) return rc;
  e->rpc_code = (int)code;
  e->err = sb_err_from_name(e->name);
  /* A name newer than this client (or none) still fails the call; the
   * caller keeps the name itself for display. */
  if (e->err == 0) e->err = SB_E_INTERNAL;
  return 0;
}

static int decode_envelope(sb__jctx *c, const cJSON *root, sb_incoming *out) {
  enum { K_JSONRPC, K_ID, K_RESULT, K_ERROR, K_METHOD, K_PARAMS, K_COUNT };
  static const sb__jfield fields[K_COUNT] = {
      [K_JSONRPC] = {"jsonrpc", true}, [K_ID] = {"id", false},
      [K_RESULT] = {"result", false},  [K_ERROR] = {"error", false},
      [K_METHOD] = {"method", false},  [K_PARAMS] = {"params", false}};
  const cJSON *f[K_COUNT];
  const char *s;
  int rc = sb__json_object(c, root, NULL, fields, K_COUNT, f, 0);
  if (rc == 0) rc = sb__json_string(c, f[K_JSONRPC], "jsonrpc", 16, false, &s);
  if (rc != 0) return rc;
  if (strcmp(s, "2.0") != 0) return SB_E_BAD_REPLY;

  if (f[K_RESULT] != NULL) {
    if (f[K_ID] == NULL || f[K_ERROR] != NULL || f[K_METHOD] != NULL || f[K_PARAMS] != NULL)
      return SB_E_BAD_REPLY;
    out->kind = SB_INCOMING_RESULT;
    return sb__json_id(c, f[K_ID], false, &out->id);
  }
  if (f[K_ERROR] != NULL) {
    if (f[K_ID] == NULL || f[K_METHOD] != NULL || f[K_PARAMS] != NULL) return SB_E_BAD_REPLY;
    out->kind = SB_INCOMING_ERROR;
    rc = sb__json_id(c, f[K_ID], true, &out->id); /* null after an unparseable frame */
    if (rc == 0) rc = decode_error_object(c, f[K_ERROR], &out->error);
    return rc;
  }
  if (f[K_METHOD] != NULL) {
    /* A notification: no id. The broker sends no requests to clients. */
    if (f[K_ID] != NULL) return SB_E_BAD_REPLY;
    rc = sb__json_string(c, f[K_METHOD], "method", SB_LIMIT_NAME_BYTES, false, &s);
    if (rc != 0) return rc;
    out->kind = SB_INCOMING_EVENT;
    if (strcmp(s, "exit") == 0) {
      out->event = SB_EVENT_EXIT;
      return decode_exit_info(c, f[K_PARAMS], &out->exit);
    }
    return SB_E_BAD_REPLY;
  }
  return SB_E_BAD_REPLY;
}

int sb_decode_incoming(const char *frame, size_t len, sb_incoming *out) {
  if (out != NULL) memset(out, 0, sizeof *out);
  if (out == NULL || frame == NULL) return SB_E_INVALID_ARGUMENT;

  sb_decode_error scratch;
  sb__jctx c;
  sb__jctx_init(&c, &scratch);
  cJSON *root = NULL;
  /* No size limit here: the client's frame reader bounds what it accepts,
   * and a long list result may legitimately exceed SB_LIMIT_FRAME_BYTES. */
  int rc = sb__json_parse(&c, frame, len, SB_LIMIT_NESTING, &root);
  if (rc == 0) rc = decode_envelope(&c, root, out);
  if (rc != 0) {
    cJSON_Delete(root);
    memset(out, 0, sizeof *out);
    return bad_reply(rc);
  }
  out->sb__owned = root;
  return 0;
}

void sb_incoming_free(sb_incoming *in) {
  if (in == NULL) return;
  cJSON_Delete(in->sb__owned);
  memset(in, 0, sizeof *in);
}
