/*
 * Every limit of sb_limits.h that the decoders enforce, at its value
 * (accepted) and one past it (refused by name and path). The frames are
 * built here, byte by byte, from the limits themselves, so a changed limit
 * moves its test along with it.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "json_strict.h"
#include "sb_proto.h"
#include "sb_test.h"

/* ------------------------------------------------------------------------ */
/* A growable frame                                                         */

typedef struct frame {
  char *d;
  size_t n, cap;
  bool failed;
} frame;

static void grow(frame *f, size_t more) {
  if (f->failed || f->n + more + 1 <= f->cap) return;
  size_t cap = f->cap ? f->cap : 256;
  while (cap < f->n + more + 1) cap *= 2;
  char *d = realloc(f->d, cap);
  if (d == NULL) {
    f->failed = true;
    return;
  }
  f->d = d;
  f->cap = cap;
}

static void put(frame *f, const char *fmt, ...) SB__PRINTF_LIKE(2, 3);
static void put(frame *f, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    f->failed = true;
    return;
  }
  grow(f, (size_t)n);
  if (f->failed) return;
  va_start(ap, fmt);
  vsnprintf(f->d + f->n, f->cap - f->n, fmt, ap);
  va_end(ap);
  f->n += (size_t)n;
}

static void put_rep(frame *f, char ch, size_t count) {
  grow(f, count);
  if (f->failed) return;
  memset(f->d + f->n, ch, count);
  f->n += count;
  f->d[f->n] = '\0';
}

static void frame_free(frame *f) {
  free(f->d);
  memset(f, 0, sizeof *f);
}

/* Starts {"jsonrpc":"2.0","id":1,"method":M,"params":{ */
static void start(frame *f, const char *method) {
  memset(f, 0, sizeof *f);
  put(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":{", method);
}

/* A spawn frame whose params are `prefix`, then `count` copies of `ch`
 * inside a string, then `suffix`. */
static void spawn_rep(frame *f, const char *prefix, char ch, size_t count, const char *suffix) {
  start(f, "spawn");
  put(f, "%s", prefix);
  put_rep(f, ch, count);
  put(f, "%s}}", suffix);
}

static int decode_frame(frame *f, sb_request *req, sb_decode_error *e) {
  if (f->failed) return SB_E_NOMEM;
  int rc = sb_decode_request(f->d, f->n, req, e);
  if (rc != 0)
    fprintf(stderr, "  decode: %s at \"%s\": %s\n", sb_err_name(rc), e->path, e->detail);
  return rc;
}

/* The frame decodes; it is then freed. */
#define EXPECT_OK(f)                                                        \
  do {                                                                      \
    sb_request r_;                                                          \
    sb_decode_error e_;                                                     \
    REQUIRE(!(f)->failed);                                                  \
    int rc_ = decode_frame((f), &r_, &e_);                                  \
    CHECK_STR(rc_ == 0 ? "ok" : sb_err_name(rc_), "ok");                    \
    if (rc_ == 0) sb_request_free(&r_);                                     \
    frame_free(f);                                                          \
  } while (0)

/* The frame is refused with want_name at want_path; it is then freed. */
#define EXPECT_ERR(f, want_name, want_path)                                 \
  do {                                                                      \
    sb_request r_;                                                          \
    sb_decode_error e_;                                                     \
    REQUIRE(!(f)->failed);                                                  \
    int rc_ = sb_decode_request((f)->d, (f)->n, &r_, &e_);                  \
    CHECK_STR(rc_ == 0 ? "(accepted)" : sb_err_name(rc_), (want_name));     \
    CHECK_STR(e_.path, (want_path));                                        \
    CHECK(r_.sb__owned == NULL);                                            \
    if (rc_ == 0) sb_request_free(&r_);                                     \
    frame_free(f);                                                          \
  } while (0)

/* ------------------------------------------------------------------------ */
/* The frame as a whole                                                     */

SB_TEST(frame_bytes) {
  frame f;
  const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
  memset(&f, 0, sizeof f);
  put(&f, "%s", ping);
  put_rep(&f, ' ', SB_LIMIT_FRAME_BYTES - strlen(ping));
  CHECK_INT(f.n, SB_LIMIT_FRAME_BYTES);
  EXPECT_OK(&f);

  memset(&f, 0, sizeof f);
  put(&f, "%s", ping);
  put_rep(&f, ' ', SB_LIMIT_FRAME_BYTES + 1 - strlen(ping));
  CHECK_INT(f.n, SB_LIMIT_FRAME_BYTES + 1);
  EXPECT_ERR(&f, "FrameTooLarge", "");

  /* The same with the bytes in a string: a useful frame at the limit. */
  spawn_rep(&f, "\"program\":\"p\",\"args\":[\"", 'a', 0, "\"]");
  size_t overhead = f.n;
  frame_free(&f);
  size_t fill = SB_LIMIT_FRAME_BYTES - overhead; /* over two args: each <= STRING_BYTES */
  start(&f, "spawn");
  put(&f, "\"program\":\"p\",\"args\":[\"");
  put_rep(&f, 'a', fill / 2);
  put(&f, "\",\"");
  put_rep(&f, 'b', fill - fill / 2 - 3);
  put(&f, "\"]}}");
  CHECK_INT(f.n, SB_LIMIT_FRAME_BYTES);
  EXPECT_OK(&f);
}

/* Depth of nested arrays and objects: the envelope is depth 1. */
SB_TEST(nesting) {
  /* The scanner itself: SB_LIMIT_NESTING levels, then one more. */
  for (int depth = SB_LIMIT_NESTING; depth <= SB_LIMIT_NESTING + 1; depth++) {
    char text[64] = "";
    for (int i = 0; i < depth; i++) strcat(text, i % 2 ? "{\"k\":" : "[");
    strcat(text, "0");
    for (int i = depth - 1; i >= 0; i--) strcat(text, i % 2 ? "}" : "]");
    sb_decode_error e;
    sb__jctx c;
    sb__jctx_init(&c, &e);
    bool nul = true;
    int rc = sb__json_prescan(&c, text, strlen(text), SB_LIMIT_NESTING, &nul);
    if (depth == SB_LIMIT_NESTING) {
      CHECK_INT(rc, 0);
      CHECK(!nul);
    } else {
      CHECK_STR(sb_err_name(rc), "NestingTooDeep");
    }
  }

  /* Through the request decoder: params.args holds the inner arrays. At the
   * limit the frame parses and is refused for its shape; one deeper, for
   * its depth. */
  frame f;
  start(&f, "spawn"); /* depth 2 */
  put(&f, "\"program\":\"p\",\"args\":");
  for (int i = 3; i <= SB_LIMIT_NESTING; i++) put(&f, "[");
  for (int i = 3; i <= SB_LIMIT_NESTING; i++) put(&f, "]");
  put(&f, "}}");
  EXPECT_ERR(&f, "WrongType", "params.args[0]");

  start(&f, "spawn");
  put(&f, "\"program\":\"p\",\"args\":");
  for (int i = 3; i <= SB_LIMIT_NESTING + 1; i++) put(&f, "[");
  for (int i = 3; i <= SB_LIMIT_NESTING + 1; i++) put(&f, "]");
  put(&f, "}}");
  EXPECT_ERR(&f, "NestingTooDeep", "");

  /* Objects count the same as arrays, also under unknown keys. */
  start(&f, "ping");
  for (int i = 3; i <= SB_LIMIT_NESTING + 1; i++) put(&f, "\"k\":{");
  for (int i = 3; i <= SB_LIMIT_NESTING + 1; i++) put(&f, "}");
  put(&f, "}}");
  EXPECT_ERR(&f, "NestingTooDeep", "");
}

/* ------------------------------------------------------------------------ */
/* Strings                                                                  */

SB_TEST(string_bytes) {
  frame f;
  spawn_rep(&f, "\"program\":\"p\",\"args\":[\"", 'a', SB_LIMIT_STRING_BYTES, "\"]");
  EXPECT_OK(&f);
  spawn_rep(&f, "\"program\":\"p\",\"args\":[\"x\",\"", 'a', SB_LIMIT_STRING_BYTES + 1, "\"]");
  EXPECT_ERR(&f, "StringTooLong", "params.args[1]");
  spawn_rep(&f, "\"program\":\"p\",\"env\":[\"A=", 'v', SB_LIMIT_STRING_BYTES - 2, "\"]");
  EXPECT_OK(&f);
  spawn_rep(&f, "\"program\":\"p\",\"env\":[\"A=", 'v', SB_LIMIT_STRING_BYTES - 1, "\"]");
  EXPECT_ERR(&f, "StringTooLong", "params.env[0]");
  /* Bytes, not characters: 2-byte characters reach the limit at half. */
  start(&f, "spawn");
  put(&f, "\"program\":\"p\",\"args\":[\"");
  for (int i = 0; i < SB_LIMIT_STRING_BYTES / 2; i++) put(&f, "\xC3\xA9");
  put(&f, "a\"]}}");
  EXPECT_OK(&f);
  start(&f, "spawn");
  put(&f, "\"program\":\"p\",\"args\":[\"");
  for (int i = 0; i < SB_LIMIT_STRING_BYTES / 2 + 1; i++) put(&f, "\xC3\xA9");
  put(&f, "\"]}}");
  EXPECT_ERR(&f, "StringTooLong", "params.args[0]");
  /* The limit applies to the decoded string: 6000 escapes are 36000 bytes
   * of frame but 12000 bytes of string. */
  sb_request req;
  sb_decode_error e;
  start(&f, "spawn");
  put(&f, "\"program\":\"p\",\"args\":[\"");
  for (int i = 0; i < 6000; i++) put(&f, "\\u00e9");
  put(&f, "\"]}}");
  CHECK(f.n > SB_LIMIT_STRING_BYTES);
  REQUIRE(decode_frame(&f, &req, &e) == 0);
  CHECK_INT(strlen(req.params.spawn.args[0]), 12000);
  sb_request_free(&req);
  frame_free(&f);
}

SB_TEST(path_bytes) {
  frame f;
  spawn_rep(&f, "\"program\":\"", 'p', SB_LIMIT_PATH_BYTES, "\"");
  EXPECT_OK(&f);
  spawn_rep(&f, "\"program\":\"", 'p', SB_LIMIT_PATH_BYTES + 1, "\"");
  EXPECT_ERR(&f, "StringTooLong", "params.program");
  spawn_rep(&f, "\"program\":\"p\",\"cwd\":\"", 'c', SB_LIMIT_PATH_BYTES, "\"");
  EXPECT_OK(&f);
  spawn_rep(&f, "\"program\":\"p\",\"cwd\":\"", 'c', SB_LIMIT_PATH_BYTES + 1, "\"");
  EXPECT_ERR(&f, "StringTooLong", "params.cwd");
}

SB_TEST(env_name_bytes) {
  frame f;
  spawn_rep(&f, "\"program\":\"p\",\"env\":[\"", 'N', SB_LIMIT_ENV_NAME_BYTES, "=v\"]");
  EXPECT_OK(&f);
  spawn_rep(&f, "\"program\":\"p\",\"env\":[\"A=1\",\"", 'N', SB_LIMIT_ENV_NAME_BYTES + 1,
            "=v\"]");
  EXPECT_ERR(&f, "InvalidEnvEntry", "params.env[1]");
  spawn_rep(&f, "\"program\":\"p\",\"handles_env\":\"", 'N', SB_LIMIT_ENV_NAME_BYTES, "\"");
  EXPECT_OK(&f);
  spawn_rep(&f, "\"program\":\"p\",\"handles_env\":\"", 'N', SB_LIMIT_ENV_NAME_BYTES + 1, "\"");
  EXPECT_ERR(&f, "InvalidName", "params.handles_env");
}

SB_TEST(name_bytes) {
  frame f;
  spawn_rep(&f, "\"program\":\"p\",\"handles\":[{\"value\":4,\"name\":\"", 'h',
            SB_LIMIT_NAME_BYTES, "\"}]");
  EXPECT_OK(&f);
  spawn_rep(&f, "\"program\":\"p\",\"handles\":[{\"value\":4,\"name\":\"", 'h',
            SB_LIMIT_NAME_BYTES + 1, "\"}]");
  EXPECT_ERR(&f, "InvalidName", "params.handles[0].name");

  start(&f, "hello");
  put(&f, "\"protocol\":1,\"client\":\"");
  put_rep(&f, 'c', SB_LIMIT_NAME_BYTES);
  put(&f, "\"}}");
  EXPECT_OK(&f);
  start(&f, "hello");
  put(&f, "\"protocol\":1,\"client\":\"");
  put_rep(&f, 'c', SB_LIMIT_NAME_BYTES + 1);
  put(&f, "\"}}");
  EXPECT_ERR(&f, "StringTooLong", "params.client");

  /* A method name at the limit is merely unknown; past it, the envelope is
   * invalid. */
  memset(&f, 0, sizeof f);
  put(&f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"");
  put_rep(&f, 'm', SB_LIMIT_NAME_BYTES);
  put(&f, "\"}");
  EXPECT_ERR(&f, "MethodNotFound", "method");
  memset(&f, 0, sizeof f);
  put(&f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"");
  put_rep(&f, 'm', SB_LIMIT_NAME_BYTES + 1);
  put(&f, "\"}");
  EXPECT_ERR(&f, "InvalidRequest", "method");
}

SB_TEST(id_bytes_and_max) {
  frame f;
  sb_request req;
  sb_decode_error e;
  memset(&f, 0, sizeof f);
  put(&f, "{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":\"");
  put_rep(&f, 'i', SB_LIMIT_ID_BYTES);
  put(&f, "\"}");
  REQUIRE(decode_frame(&f, &req, &e) == 0);
  CHECK_INT(strlen(req.id.string), SB_LIMIT_ID_BYTES);
  sb_request_free(&req);
  frame_free(&f);
  put(&f, "{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":\"");
  put_rep(&f, 'i', SB_LIMIT_ID_BYTES + 1);
  put(&f, "\"}");
  EXPECT_ERR(&f, "InvalidRequest", "id");

  put(&f, "{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":%.0f}", SB_LIMIT_ID_MAX);
  REQUIRE(decode_frame(&f, &req, &e) == 0);
  CHECK(req.id.number == (uint64_t)SB_LIMIT_ID_MAX);
  sb_request_free(&req);
  frame_free(&f);
  put(&f, "{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":%.0f}", SB_LIMIT_ID_MAX + 1);
  EXPECT_ERR(&f, "InvalidRequest", "id");
}

/* ------------------------------------------------------------------------ */
/* Counts                                                                   */

static void spawn_list(frame *f, const char *key, size_t count) {
  start(f, "spawn");
  put(f, "\"program\":\"p\",\"%s\":[", key);
  for (size_t i = 0; i < count; i++) {
    if (strcmp(key, "env") == 0)
      put(f, "%s\"V%lu=\"", i ? "," : "", (unsigned long)i);
    else
      put(f, "%s\"\"", i ? "," : "");
  }
  put(f, "]}}");
}

SB_TEST(args_count) {
  frame f;
  sb_request req;
  sb_decode_error e;
  spawn_list(&f, "args", SB_LIMIT_ARGS);
  REQUIRE(decode_frame(&f, &req, &e) == 0);
  CHECK_INT(req.params.spawn.nargs, SB_LIMIT_ARGS);
  CHECK_STR(req.params.spawn.args[SB_LIMIT_ARGS - 1], "");
  sb_request_free(&req);
  frame_free(&f);
  spawn_list(&f, "args", SB_LIMIT_ARGS + 1);
  EXPECT_ERR(&f, "TooManyItems", "params.args");
}

SB_TEST(env_count) {
  frame f;
  sb_request req;
  sb_decode_error e;
  spawn_list(&f, "env", SB_LIMIT_ENV);
  REQUIRE(decode_frame(&f, &req, &e) == 0);
  CHECK_INT(req.params.spawn.nenv, SB_LIMIT_ENV);
  sb_request_free(&req);
  frame_free(&f);
  spawn_list(&f, "env", SB_LIMIT_ENV + 1);
  EXPECT_ERR(&f, "TooManyItems", "params.env");

  /* A full list whose last entry repeats an early name, in another case. */
  start(&f, "spawn");
  put(&f, "\"program\":\"p\",\"env\":[");
  for (int i = 0; i < SB_LIMIT_ENV - 1; i++) put(&f, "%s\"name%d=1\"", i ? "," : "", i);
  put(&f, ",\"NAME7=2\"]}}");
  EXPECT_ERR(&f, "DuplicateEnvName", "params.env[1023]");
}

static void spawn_handles(frame *f, int count, int fd_of_last) {
  start(f, "spawn");
  put(f, "\"program\":\"p\",\"handles\":[");
  for (int i = 0; i < count; i++) {
    put(f, "%s{\"name\":\"h%d\",\"value\":%d", i ? "," : "", i, 4 * (i + 1));
    if (i == count - 1 && fd_of_last > 0) put(f, ",\"fd\":%d", fd_of_last);
    put(f, "}");
  }
  put(f, "],\"stdin\":\"h%d\"}}", count - 1);
}

SB_TEST(handles_count) {
  frame f;
  sb_request req;
  sb_decode_error e;
  spawn_handles(&f, SB_LIMIT_HANDLES, 0);
  REQUIRE(decode_frame(&f, &req, &e) == 0);
  CHECK_INT(req.params.spawn.nhandles, SB_LIMIT_HANDLES);
  CHECK_INT(req.params.spawn.handles[SB_LIMIT_HANDLES - 1].value, 4 * SB_LIMIT_HANDLES);
  CHECK_INT(sb_spawn_find_handle(&req.params.spawn, "h15"), SB_LIMIT_HANDLES - 1);
  sb_request_free(&req);
  frame_free(&f);
  spawn_handles(&f, SB_LIMIT_HANDLES + 1, 0);
  EXPECT_ERR(&f, "TooManyHandles", "params.handles");
}

SB_TEST(fd_range) {
  frame f;
  spawn_handles(&f, 1, SB_LIMIT_FD_MAX);
  EXPECT_OK(&f);
  spawn_handles(&f, 1, SB_LIMIT_FD_MAX + 1);
  EXPECT_ERR(&f, "OutOfRange", "params.handles[0].fd");
  spawn_handles(&f, 2, 3);
  EXPECT_OK(&f);
  spawn_handles(&f, 2, 2);
  EXPECT_ERR(&f, "OutOfRange", "params.handles[1].fd");
}

/* ------------------------------------------------------------------------ */
/* Numbers                                                                  */

/* A spawn with one handle whose value is `value`. */
static int handle_value(const char *value, sb_decode_error *e, int64_t *out) {
  frame f;
  start(&f, "spawn");
  put(&f, "\"program\":\"p\",\"handles\":[{\"name\":\"a\",\"value\":%s}]}}", value);
  sb_request req;
  int rc = f.failed ? SB_E_NOMEM : sb_decode_request(f.d, f.n, &req, e);
  if (rc == 0) {
    *out = req.params.spawn.handles[0].value;
    sb_request_free(&req);
  }
  frame_free(&f);
  return rc;
}

SB_TEST(handle_value_range) {
  sb_decode_error e;
  int64_t v = 0;
  char text[32];
  snprintf(text, sizeof text, "%ld", (long)SB_LIMIT_HANDLE_VALUE_MAX);
  CHECK_INT(handle_value(text, &e, &v), 0);
  CHECK_INT(v, SB_LIMIT_HANDLE_VALUE_MAX);
  /* One past, as a handle value: the next multiple of 4. */
  snprintf(text, sizeof text, "%ld", (long)SB_LIMIT_HANDLE_VALUE_MAX + 4);
  CHECK_STR(sb_err_name(handle_value(text, &e, &v)), "InvalidHandleValue");
  CHECK_STR(e.path, "params.handles[0].value");
  CHECK(strstr(e.detail, "above the largest") != NULL);
  snprintf(text, sizeof text, "%ld", (long)SB_LIMIT_HANDLE_VALUE_MAX + 1);
  CHECK_STR(sb_err_name(handle_value(text, &e, &v)), "InvalidHandleValue");
  CHECK_INT(handle_value("4", &e, &v), 0);
  CHECK_INT(v, 4);

  /* The most negative pseudo handle, and one past it (still refused, as a
   * plain negative value). */
  snprintf(text, sizeof text, "%d", SB_PSEUDO_HANDLE_MIN);
  CHECK_STR(sb_err_name(handle_value(text, &e, &v)), "InvalidHandleValue");
  CHECK(strstr(e.detail, "pseudo handle") != NULL);
  snprintf(text, sizeof text, "%d", SB_PSEUDO_HANDLE_MIN - 1);
  CHECK_STR(sb_err_name(handle_value(text, &e, &v)), "InvalidHandleValue");
  CHECK(strstr(e.detail, "is negative") != NULL);
}

/* One number-valued parameter at `good` (accepted) and `bad` (refused with
 * OutOfRange at `path`). */
static void range_case(const char *method, const char *prefix, const char *suffix, double good,
                       double bad, const char *path) {
  frame f;
  start(&f, method);
  put(&f, "%s%.0f%s}}", prefix, good, suffix);
  EXPECT_OK(&f);
  start(&f, method);
  put(&f, "%s%.0f%s}}", prefix, bad, suffix);
  EXPECT_ERR(&f, "OutOfRange", path);
}

SB_TEST(wait_timeout) {
  range_case("wait", "\"pid\":1,\"timeout_ms\":", "", SB_LIMIT_WAIT_TIMEOUT_MS,
             SB_LIMIT_WAIT_TIMEOUT_MS + 1.0, "params.timeout_ms");
  range_case("wait", "\"pid\":1,\"timeout_ms\":", "", 0, -1, "params.timeout_ms");
}

SB_TEST(job_limits) {
  const char *pre = "\"program\":\"p\",\"limits\":{\"memory_bytes\":";
  range_case("spawn", pre, "}", SB_LIMIT_JOB_MEMORY_MIN, SB_LIMIT_JOB_MEMORY_MIN - 1,
             "params.limits.memory_bytes");
  range_case("spawn", pre, "}", SB_LIMIT_JOB_MEMORY_MAX, SB_LIMIT_JOB_MEMORY_MAX + 1,
             "params.limits.memory_bytes");
  pre = "\"program\":\"p\",\"limits\":{\"cpu_time_ms\":";
  range_case("spawn", pre, "}", SB_LIMIT_JOB_CPU_MS_MAX, SB_LIMIT_JOB_CPU_MS_MAX + 1,
             "params.limits.cpu_time_ms");
  range_case("spawn", pre, "}", 1, 0, "params.limits.cpu_time_ms");
  pre = "\"program\":\"p\",\"limits\":{\"processes\":";
  range_case("spawn", pre, "}", SB_LIMIT_JOB_PROCESSES_MAX, SB_LIMIT_JOB_PROCESSES_MAX + 1.0,
             "params.limits.processes");
  range_case("spawn", pre, "}", 1, 0, "params.limits.processes");

  /* The values arrive exactly, even above 2^32. */
  frame f;
  sb_request req;
  sb_decode_error e;
  start(&f, "spawn");
  put(&f, "\"program\":\"p\",\"limits\":{\"memory_bytes\":%.0f,\"cpu_time_ms\":%.0f}}}",
      SB_LIMIT_JOB_MEMORY_MAX, SB_LIMIT_JOB_CPU_MS_MAX);
  REQUIRE(decode_frame(&f, &req, &e) == 0);
  CHECK(req.params.spawn.limits.memory_bytes == 70368744177664ull);
  CHECK(req.params.spawn.limits.cpu_time_ms == 31536000000ull);
  sb_request_free(&req);
  frame_free(&f);
}

SB_TEST(pid_and_codes) {
  range_case("wait", "\"pid\":", "", 4294967295.0, 4294967296.0, "params.pid");
  range_case("kill", "\"pid\":", "", 1, 0, "params.pid");
  range_case("kill", "\"pid\":1,\"exit_code\":", "", 4294967295.0, 4294967296.0,
             "params.exit_code");
  range_case("hello", "\"protocol\":", "", 2147483647.0, 2147483648.0, "params.protocol");
  range_case("hello", "\"protocol\":", "", SB_PROTOCOL_VERSION_MIN, SB_PROTOCOL_VERSION_MIN - 1,
             "params.protocol");
}

/* ------------------------------------------------------------------------ */
/* Replies                                                                  */

static void list_result(frame *f, int count) {
  memset(f, 0, sizeof *f);
  put(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"children\":[");
  for (int i = 0; i < count; i++)
    put(f, "%s{\"pid\":%d,\"program\":\"c%d.exe\",\"lifetime\":\"broker\",\"running\":true}",
        i ? "," : "", i + 1, i);
  put(f, "]}}");
}

SB_TEST(list_children) {
  frame f;
  sb_incoming in;
  sb_result res;
  list_result(&f, SB_LIMIT_LIST_CHILDREN);
  REQUIRE(!f.failed);
  CHECK(f.n > SB_LIMIT_FRAME_BYTES); /* replies are not bound by the request limit */
  REQUIRE(sb_decode_incoming(f.d, f.n, &in) == 0);
  REQUIRE(sb_decode_result(&in, SB_METHOD_LIST, &res) == 0);
  CHECK_INT(res.u.list.nchildren, SB_LIMIT_LIST_CHILDREN);
  CHECK_INT(res.u.list.children[SB_LIMIT_LIST_CHILDREN - 1].pid, SB_LIMIT_LIST_CHILDREN);
  {
    char last[32];
    snprintf(last, sizeof last, "c%d.exe", SB_LIMIT_LIST_CHILDREN - 1);
    CHECK_STR(res.u.list.children[SB_LIMIT_LIST_CHILDREN - 1].program, last);
  }
  sb_result_free(&res);
  sb_incoming_free(&in);
  frame_free(&f);

  list_result(&f, SB_LIMIT_LIST_CHILDREN + 1);
  REQUIRE(!f.failed);
  REQUIRE(sb_decode_incoming(f.d, f.n, &in) == 0);
  CHECK_STR(sb_err_name(sb_decode_result(&in, SB_METHOD_LIST, &res)), "BadReply");
  CHECK(res.sb__owned == NULL);
  sb_incoming_free(&in);
  frame_free(&f);
}

SB_TEST_MAIN(SB_CASE(frame_bytes), SB_CASE(nesting), SB_CASE(string_bytes), SB_CASE(path_bytes),
             SB_CASE(env_name_bytes), SB_CASE(name_bytes), SB_CASE(id_bytes_and_max),
             SB_CASE(args_count), SB_CASE(env_count), SB_CASE(handles_count), SB_CASE(fd_range),
             SB_CASE(handle_value_range), SB_CASE(wait_timeout), SB_CASE(job_limits),
             SB_CASE(pid_and_codes), SB_CASE(list_children))
