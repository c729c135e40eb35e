/*
 * Building blocks shared by the request and the reply encoders.
 *
 * Every helper that attaches an item takes ownership of it, also on failure,
 * so a caller only ever deletes its root object. Keys must be string literals:
 * they are attached without a copy (cJSON's "constant key" form), which keeps
 * the number of allocations that can fail down to the values themselves.
 *
 * Integers never go through cJSON's double printing (which uses %g and loses
 * digits past 2^53); they are printed exactly in decimal and attached as raw
 * JSON text.
 */
#ifndef SB_ENCODE_UTIL_H
#define SB_ENCODE_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sb_proto.h"

/* Attaches item (which may be NULL after a failed allocation) to obj. */
int sb__enc_add(cJSON *obj, const char *key, cJSON *item);
/* Appends item (which may be NULL after a failed allocation) to arr. */
int sb__enc_append(cJSON *arr, cJSON *item);

int sb__enc_add_string(cJSON *obj, const char *key, const char *s);
int sb__enc_add_bool(cJSON *obj, const char *key, bool b);
int sb__enc_add_u64(cJSON *obj, const char *key, uint64_t v);
int sb__enc_add_i64(cJSON *obj, const char *key, int64_t v);
/* An unsigned integer as an exact decimal JSON number, ready to attach. */
cJSON *sb__enc_u64(uint64_t v);

/* Creates an empty object or array, attaches it under key and returns it
 * through *out (borrowed: obj owns it). */
int sb__enc_add_object(cJSON *obj, const char *key, cJSON **out);
int sb__enc_add_array(cJSON *obj, const char *key, cJSON **out);

/* Adds "id": a number, a string or null. SB_E_INVALID_ARGUMENT for an id
 * whose kind is unknown or whose string has no terminator in its array. */
int sb__enc_add_id(cJSON *obj, const sb_id *id);

/* Creates the envelope {"jsonrpc":"2.0"} that every message starts with. */
int sb__enc_envelope(cJSON **out);

/* Prints root as one compact line followed by '\n' into out (malloc'd,
 * NUL-terminated after the newline). Does not delete root. */
int sb__enc_finish(const cJSON *root, sb_buf *out);

#endif
