/*
 * The message model: names of enumerations, defaults of parameter structs,
 * buffers and ids. Nothing here touches JSON.
 */
#include "sb_proto.h"

#include <stdlib.h>
#include <string.h>

/* Indexed by sb_method; the wire names of the methods. */
static const char *const method_names[SB_METHOD_COUNT] = {
    [SB_METHOD_HELLO] = "hello", [SB_METHOD_SPAWN] = "spawn",
    [SB_METHOD_WAIT] = "wait",   [SB_METHOD_KILL] = "kill",
    [SB_METHOD_LIST] = "list",   [SB_METHOD_STATS] = "stats",
    [SB_METHOD_PING] = "ping",
};

const char *sb_method_name(sb_method m) {
  /* The enum may be signed or unsigned depending on the compiler, so compare
   * as int to catch values on both sides of the range. */
  if ((int)m < 0 || (int)m >= (int)SB_METHOD_COUNT) return NULL;
  return method_names[m];
}

int sb_method_from_name(const char *name, sb_method *out) {
  if (name == NULL || out == NULL) return SB_E_METHOD_NOT_FOUND;
  for (int i = 0; i < (int)SB_METHOD_COUNT; i++) {
    if (strcmp(method_names[i], name) == 0) {
      *out = (sb_method)i;
      return 0;
    }
  }
  return SB_E_METHOD_NOT_FOUND;
}

const char *sb_transfer_name(sb_transfer t) {
  switch (t) {
  case SB_TRANSFER_AUTO: return "auto";
  case SB_TRANSFER_PULL: return "pull";
  case SB_TRANSFER_PUSH: return "push";
  }
  return NULL;
}

const char *sb_lifetime_name(sb_lifetime l) {
  switch (l) {
  case SB_LIFETIME_BROKER: return "broker";
  case SB_LIFETIME_DETACHED: return "detached";
  case SB_LIFETIME_CONNECTION: return "connection";
  }
  return NULL;
}

void sb_spawn_params_init(sb_spawn_params *p) {
  if (p == NULL) return;
  memset(p, 0, sizeof *p);
  /* memset leaves pointers all-bits-zero, which is NULL on every platform we
   * build for; fds are the one field whose default is not zero. */
  for (size_t i = 0; i < SB_LIMIT_HANDLES; i++) p->handles[i].fd = -1;
  p->lifetime = SB_LIFETIME_BROKER;
}

void sb_wait_params_init(sb_wait_params *p) {
  if (p == NULL) return;
  memset(p, 0, sizeof *p);
  p->timeout_ms = -1;
}

void sb_kill_params_init(sb_kill_params *p) {
  if (p == NULL) return;
  memset(p, 0, sizeof *p);
  p->exit_code = 1;
}

void sb_buf_free(sb_buf *b) {
  if (b == NULL) return;
  free(b->data);
  b->data = NULL;
  b->len = 0;
}

void sb_id_set_number(sb_id *id, uint64_t n) {
  if (id == NULL) return;
  /* Clear the unused member too, so two equal ids are equal byte for byte. */
  memset(id, 0, sizeof *id);
  id->kind = SB_ID_NUMBER;
  id->number = n;
}

int sb_id_set_string(sb_id *id, const char *s) {
  if (id == NULL || s == NULL) return SB_E_INVALID_ARGUMENT;
  size_t n = strlen(s);
  if (n > SB_LIMIT_ID_BYTES) return SB_E_INVALID_ARGUMENT;
  memset(id, 0, sizeof *id);
  id->kind = SB_ID_STRING;
  memcpy(id->string, s, n + 1);
  return 0;
}

bool sb_id_equal(const sb_id *a, const sb_id *b) {
  if (a == NULL || b == NULL) return a == b;
  if (a->kind != b->kind) return false;
  switch (a->kind) {
  case SB_ID_NULL: return true;
  case SB_ID_NUMBER: return a->number == b->number;
  case SB_ID_STRING:
    /* Bounded, in case a caller filled the array without a terminator. */
    return strncmp(a->string, b->string, sizeof a->string) == 0;
  }
  return false;
}

void sb_request_init(sb_request *req, sb_method method, uint64_t id) {
  memset(req, 0, sizeof *req);
  sb_id_set_number(&req->id, id);
  req->method = method;
  switch (method) {
    case SB_METHOD_SPAWN: sb_spawn_params_init(&req->params.spawn); break;
    case SB_METHOD_WAIT: sb_wait_params_init(&req->params.wait); break;
    case SB_METHOD_KILL: sb_kill_params_init(&req->params.kill); break;
    default: break;
  }
}
