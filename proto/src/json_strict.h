/*
 * Strict JSON for the protocol decoders (internal to proto/).
 *
 * cJSON is a lenient parser: it accepts leading zeros, a trailing "1.", raw
 * control characters in strings, any byte below 0x21 as whitespace, a UTF-8
 * byte-order mark, invalid UTF-8, numbers that overflow to infinity, and it
 * silently cuts a string short at an escaped \u0000. Its object lookups are
 * case-insensitive and its valueint saturates. None of that may reach the
 * broker, so every frame goes through these helpers:
 *
 *  1. sb__json_prescan() checks the raw bytes before cJSON sees them: strict
 *     UTF-8, the exact RFC 8259 grammar, no raw control characters in
 *     strings, no lone surrogate escapes, and bounded nesting.
 *  2. sb__json_parse() runs the prescan, lets cJSON build the tree, rejects
 *     non-finite numbers, and marks every string (key or value) that held an
 *     escaped NUL, which cJSON's tree can no longer show.
 *  3. The extraction helpers read that tree strictly: exact-case keys,
 *     duplicate, unknown and missing keys, JSON types, integers by range and
 *     integrality from valuedouble only, and string length, NUL and UTF-8.
 *
 * Failures are described in an sb_decode_error (code, path, one sentence of
 * detail), which the request decoder hands to the broker as it is and the
 * reply decoder only uses to pick its return code. No function here keeps
 * state between calls, so they may run on many threads at once.
 */
#ifndef SB_JSON_STRICT_H
#define SB_JSON_STRICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sb_proto.h"

#if defined(__GNUC__) && defined(__MINGW_PRINTF_FORMAT)
#define SB__PRINTF_LIKE(fmt, args) __attribute__((format(__MINGW_PRINTF_FORMAT, fmt, args)))
#elif defined(__GNUC__)
#define SB__PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SB__PRINTF_LIKE(fmt, args)
#endif

/*
 * Flags sb__json_parse() adds to cJSON's `type` field. cJSON itself only
 * looks at the low byte of `type` (cJSON_IsString() and friends mask it with
 * 0xFF) plus the cJSON_IsReference and cJSON_StringIsConst bits, so these
 * higher bits travel with the node without changing how cJSON treats it.
 * They exist because cJSON stores "a\u0000b" as the C string "a", and only
 * the raw frame still shows that the NUL was there.
 */
#define SB__JSON_VALUE_HAS_NUL 0x1000 /* the string value held \u0000 */
#define SB__JSON_KEY_HAS_NUL 0x2000   /* the member's key held \u0000 */

/* ------------------------------------------------------------------------ */
/* UTF-8                                                                    */

/*
 * True when s[0..n) is strict UTF-8: shortest form only, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence. A raw 0x00
 * byte counts as valid here (it is U+0000); callers reject it separately.
 * When false and bad_at is not NULL, *bad_at is the offset of the first byte
 * of the offending sequence and *why (if not NULL) a short phrase.
 */
bool sb__utf8_valid(const char *s, size_t n, size_t *bad_at, const char **why);

/* Copies src into dst[0..size) (size >= 1), truncating at a UTF-8 character
 * boundary so the copy stays valid UTF-8 when src is. Escapes nothing. */
void sb__copy_text(char *dst, size_t size, const char *src);

/* ------------------------------------------------------------------------ */
/* Errors and paths                                                         */

/*
 * The state of one decode: where it is in the message (a path such as
 * "params.handles[2]") and where failures are described. `err` must not be
 * NULL; a decoder that has no caller-supplied sb_decode_error uses a local
 * one.
 */
typedef struct sb__jctx {
  sb_decode_error *err;
  char path[sizeof(((sb_decode_error *)0)->path)];
  size_t path_len;
} sb__jctx;

/* Starts a decode: clears *err (id null, empty path and detail) and the
 * path. */
void sb__jctx_init(sb__jctx *c, sb_decode_error *err);

/* Appends ".key" (just "key" at the top level) or "[index]" to the current
 * path and returns the previous length, for sb__jpath_restore. A path that
 * no longer fits is cut at a character boundary. */
size_t sb__jpath_key(sb__jctx *c, const char *key);
size_t sb__jpath_index(sb__jctx *c, size_t index);
void sb__jpath_restore(sb__jctx *c, size_t len);

/* Records a failure: err, the current path, and a detail formatted like
 * printf (cut at a character boundary if long; user text is copied as it
 * is, the encoder escapes it). Returns err, so callers can write
 * `return sb__jfail(c, SB_E_X, "...")`. A NULL fmt leaves the detail empty. */
int sb__jfail(sb__jctx *c, int err, const char *fmt, ...) SB__PRINTF_LIKE(3, 4);

/* Like sb__jfail, for a member `key` of the current object (key may be NULL
 * for the current path itself). The path is left as it was. */
int sb__jfail_at(sb__jctx *c, const char *key, int err, const char *fmt, ...)
    SB__PRINTF_LIKE(4, 5);

/* The JSON type of v as a word for messages: "a string", "null", ... */
const char *sb__json_type_name(const cJSON *v);

/* ------------------------------------------------------------------------ */
/* Scanning and parsing                                                     */

/*
 * Checks a raw frame before any parser sees it. In order:
 *  - the whole frame is strict UTF-8                      -> SB_E_INVALID_UTF8
 *  - the frame is exactly one RFC 8259 JSON value with only JSON whitespace
 *    (space, tab, CR, LF) around it; no raw byte below 0x20 inside strings,
 *    no raw 0x00 anywhere, only the defined escapes        -> SB_E_PARSE
 *  - \uD800..\uDFFF escapes form valid pairs               -> SB_E_INVALID_UTF8
 *  - arrays and objects nest at most max_depth deep (the outermost value is
 *    depth 1; max_depth is small, the scanner recurses once per level)
 *                                                          -> SB_E_NESTING_TOO_DEEP
 * The first problem in byte order wins within the grammar pass. On success,
 * *has_nul_escape (if not NULL) tells whether any string holds \u0000.
 * Failures are recorded in c with an empty path and a detail giving the byte
 * offset.
 */
int sb__json_prescan(sb__jctx *c, const char *text, size_t len, int max_depth,
                     bool *has_nul_escape);

/*
 * Prescans text, then parses it with cJSON into *out (the caller frees it
 * with cJSON_Delete). Numbers that overflow a double (1e999) are
 * SB_E_PARSE. Every string that held \u0000 is marked with
 * SB__JSON_VALUE_HAS_NUL or SB__JSON_KEY_HAS_NUL; the extraction helpers
 * below reject such strings.
 *
 * cJSON is called with require_null_terminated = false (with a length that
 * excludes the terminator, cJSON 1.7.15 always fails otherwise) and the end
 * of the value is checked here. Once the prescan has accepted the text, a
 * cJSON failure can only mean it ran out of memory: SB_E_NOMEM.
 */
int sb__json_parse(sb__jctx *c, const char *text, size_t len, int max_depth, cJSON **out);

/* ------------------------------------------------------------------------ */
/* Reading values. Each helper takes the value and, for the path in errors,  */
/* the key it was found under (NULL when the current path already names it). */

/* Integer in [min, max], judged on valuedouble alone (valueint saturates):
 * SB_E_WRONG_TYPE if v is not a number, SB_E_NOT_AN_INTEGER if it has a
 * fractional part, SB_E_OUT_OF_RANGE outside the range. Integral doubles
 * count as integers however they were written (3.0, 3e0, -0 is 0). */
int sb__json_int(sb__jctx *c, const cJSON *v, const char *key, double min, double max,
                 double *out);
/* The same, converted: min and max must lie in the target type's range. */
int sb__json_u32(sb__jctx *c, const cJSON *v, const char *key, uint32_t min, uint32_t max,
                 uint32_t *out);
int sb__json_u64(sb__jctx *c, const cJSON *v, const char *key, double min, double max,
                 uint64_t *out);

/* String, checked in this order: SB_E_WRONG_TYPE, SB_E_STRING_HAS_NUL,
 * SB_E_INVALID_UTF8 (defence in depth; the prescan already ensures it),
 * SB_E_STRING_TOO_LONG (more than max_bytes bytes of UTF-8), and, when
 * non_empty, SB_E_EMPTY_STRING. *out points into the tree. */
int sb__json_string(sb__jctx *c, const cJSON *v, const char *key, size_t max_bytes,
                    bool non_empty, const char **out);

/* True or false, else SB_E_WRONG_TYPE. */
int sb__json_bool(sb__jctx *c, const cJSON *v, const char *key, bool *out);

/* A string equal (case-sensitively) to one of names[0..n): *out is its
 * index. SB_E_UNKNOWN_VALUE lists the allowed values in the detail. */
int sb__json_enum(sb__jctx *c, const cJSON *v, const char *key, const char *const *names,
                  size_t n, int *out);

/* An array of at most max_items items: *count is its length. More items
 * give too_many_err (e.g. SB_E_TOO_MANY_ITEMS), counted no further than
 * max_items + 1. Not an array: SB_E_WRONG_TYPE. */
int sb__json_array(sb__jctx *c, const cJSON *v, const char *key, size_t max_items,
                   int too_many_err, size_t *count);

/* One known member of an object. */
typedef struct sb__jfield {
  const char *key;
  bool required;
} sb__jfield;

/* Unknown keys are skipped instead of refused (replies: newer brokers may
 * add fields). Duplicates of known keys are still refused. */
#define SB__JSON_ALLOW_UNKNOWN 1u

/*
 * Walks the members of object v (SB_E_WRONG_TYPE if v is not an object) in
 * document order and sets found[i] to the member whose key is exactly
 * fields[i].key, or NULL. Never uses cJSON_GetObjectItem, which ignores case.
 * A key that held \u0000 is SB_E_STRING_HAS_NUL; a key seen twice is
 * SB_E_DUPLICATE_KEY; a key not in fields is SB_E_UNKNOWN_KEY (the detail
 * hints that keys are case-sensitive when only the case differs) unless
 * SB__JSON_ALLOW_UNKNOWN; then a required field that is absent is
 * SB_E_MISSING_KEY. Errors name the key in the path. When `key` is not NULL
 * it is pushed onto the path while walking, and popped again.
 */
int sb__json_object(sb__jctx *c, const cJSON *v, const char *key, const sb__jfield *fields,
                    size_t nfields, const cJSON **found, unsigned flags);

/* A JSON-RPC id: an integer in [0, SB_LIMIT_ID_MAX], a string of 1 to
 * SB_LIMIT_ID_BYTES bytes, or, when allow_null, null. Any other value is
 * SB_E_INVALID_REQUEST with a detail saying why (callers remap as needed). */
int sb__json_id(sb__jctx *c, const cJSON *v, bool allow_null, sb_id *out);

/* ------------------------------------------------------------------------ */
/* Request rules that do not depend on JSON (decode_request.c), shared so   */
/* that every caller applies the very same checks.                          */

/*
 * NULL when v is a plausible handle value for DuplicateHandle in the pull or
 * push model: positive, a multiple of 4, at most SB_LIMIT_HANDLE_VALUE_MAX.
 * Otherwise a phrase to follow the value in a sentence, e.g. "is a pseudo
 * handle (the current thread)" for -2.
 */
const char *sb__handle_value_problem(int64_t v);

/* True for [A-Za-z_][A-Za-z0-9_.-]* of 1..SB_LIMIT_NAME_BYTES bytes. */
bool sb__handle_name_valid(const char *name);

/* NULL when name[0..n) is an acceptable environment variable name
 * (non-empty, no '=', at most SB_LIMIT_ENV_NAME_BYTES bytes), else why not. */
const char *sb__env_name_problem(const char *name, size_t n);

#endif
