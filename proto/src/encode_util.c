/*
 * Building blocks shared by the request and the reply encoders
 * (encode_util.h).
 */
#include "encode_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sb__enc_add(cJSON *obj, const char *key, cJSON *item) {
  if (item == NULL) return SB_E_NOMEM;
  /* The constant-key form stores the literal's pointer instead of copying it,
   * so attaching cannot fail for lack of memory; it fails only on misuse. */
  if (!cJSON_AddItemToObjectCS(obj, key, item)) {
    cJSON_Delete(item);
    return SB_E_INTERNAL;
  }
  return 0;
}

int sb__enc_append(cJSON *arr, cJSON *item) {
  if (item == NULL) return SB_E_NOMEM;
  if (!cJSON_AddItemToArray(arr, item)) {
    cJSON_Delete(item);
    return SB_E_INTERNAL;
  }
  return 0;
}

int sb__enc_add_string(cJSON *obj, const char *key, const char *s) {
  if (s == NULL) return SB_E_INVALID_ARGUMENT;
  return sb__enc_add(obj, key, cJSON_CreateString(s));
}

int sb__enc_add_bool(cJSON *obj, const char *key, bool b) {
  return sb__enc_add(obj, key, cJSON_CreateBool(b));
}

cJSON *sb__enc_u64(uint64_t v) {
  /* 20 digits hold UINT64_MAX. */
  char text[24];
  snprintf(text, sizeof text, "%" PRIu64, v);
  return cJSON_CreateRaw(text);
}

int sb__enc_add_u64(cJSON *obj, const char *key, uint64_t v) {
  return sb__enc_add(obj, key, sb__enc_u64(v));
}

int sb__enc_add_i64(cJSON *obj, const char *key, int64_t v) {
  /* A sign and 19 digits hold INT64_MIN. */
  char text[24];
  snprintf(text, sizeof text, "%" PRId64, v);
  return sb__enc_add(obj, key, cJSON_CreateRaw(text));
}

int sb__enc_add_object(cJSON *obj, const char *key, cJSON **out) {
  cJSON *item = cJSON_CreateObject();
  int rc = sb__enc_add(obj, key, item);
  *out = rc == 0 ? item : NULL;
  return rc;
}

int sb__enc_add_array(cJSON *obj, const char *key, cJSON **out) {
  cJSON *item = cJSON_CreateArray();
  int rc = sb__enc_add(obj, key, item);
  *out = rc == 0 ? item : NULL;
  return rc;
}

int sb__enc_add_id(cJSON *obj, const sb_id *id) {
  if (id == NULL) return SB_E_INVALID_ARGUMENT;
  switch (id->kind) {
  case SB_ID_NULL: return sb__enc_add(obj, "id", cJSON_CreateNull());
  case SB_ID_NUMBER: return sb__enc_add_u64(obj, "id", id->number);
  case SB_ID_STRING:
    if (memchr(id->string, '\0', sizeof id->string) == NULL)
      return SB_E_INVALID_ARGUMENT;
    return sb__enc_add_string(obj, "id", id->string);
  }
  return SB_E_INVALID_ARGUMENT;
}

int sb__enc_envelope(cJSON **out) {
  *out = cJSON_CreateObject();
  if (*out == NULL) return SB_E_NOMEM;
  int rc = sb__enc_add_string(*out, "jsonrpc", "2.0");
  if (rc != 0) {
    cJSON_Delete(*out);
    *out = NULL;
  }
  return rc;
}

int sb__enc_finish(const cJSON *root, sb_buf *out) {
  /* Unformatted printing escapes every control character, '\n' included,
   * so the text is one line and the newline we add is the frame's end. */
  char *text = cJSON_PrintUnformatted(root);
  if (text == NULL) return SB_E_NOMEM;
  size_t n = strlen(text);
  /* Our own allocation, because sb_buf_free releases with free() and cJSON's
   * allocator is whatever cJSON_InitHooks installed. */
  char *data = malloc(n + 2);
  if (data == NULL) {
    cJSON_free(text);
    return SB_E_NOMEM;
  }
  memcpy(data, text, n);
  data[n] = '\n';
  data[n + 1] = '\0';
  cJSON_free(text);
  out->data = data;
  out->len = n + 1;
  return 0;
}
