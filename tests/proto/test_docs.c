/*
 * docs/protocol.md against the code: the error table row for row, the limits
 * table value for value, and the example session frame for frame (every
 * frame decodes, and encoding what was decoded gives back the very bytes in
 * the document).
 *
 * The document is found relative to this source file's path as the compiler
 * saw it, which works natively, under Wine (the build machine's root is drive
 * Z:, the current drive of a test run from the build tree) and on Windows.
 */
#include "sb_proto.h"
#include "sb_test.h"

#define DOC_MAX (1024 * 1024)

/* Reads docs/protocol.md into a NUL-terminated malloc'd string, or NULL. */
static char *read_doc(void) {
  static const char rel[] = "../../docs/protocol.md";
  const char *file = __FILE__;
  size_t dir = 0;
  for (size_t i = 0; file[i] != '\0'; i++) {
    if (file[i] == '/' || file[i] == '\\') dir = i + 1;
  }
  char path[4096];
  if (dir + sizeof rel > sizeof path) return NULL;
  memcpy(path, file, dir);
  memcpy(path + dir, rel, sizeof rel);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot open %s\n", path);
    return NULL;
  }
  char *text = malloc(DOC_MAX + 1);
  size_t n = text ? fread(text, 1, DOC_MAX, f) : 0;
  fclose(f);
  if (text != NULL) text[n] = '\0';
  return text;
}


/* The text between the heading line `heading` and the next "\n## ". */
static char *section(char *doc, const char *heading) {
  char *start = strstr(doc, heading);
  if (start == NULL) return NULL;
  char *end = strstr(start + strlen(heading), "\n## ");
  if (end != NULL) *end = '\0';
  return start;
}

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
  return n;
}

SB_TEST(error_table_matches_sb_errors_h) {
  char *doc = read_doc();
  REQUIRE(doc != NULL);
  char *errors = section(doc, "\n## Errors\n");
  REQUIRE(errors != NULL);
  size_t rows = 0;
  for (const char *p = errors; (p = strstr(p, "\n| `")) != NULL; p++) rows++;
  CHECK_INT(rows, SB_ERROR_COUNT);
  for (int e = -1; e >= -SB_ERROR_COUNT; e--) {
    char row[512];
    snprintf(row, sizeof row, "\n| `%s` | %d | %s | ", sb_err_name(e), sb_err_rpc_code(e),
             sb_err_message(e));
    if (count(errors, row) != 1) SB__FAIL("no single row starting with%s", row);
  }
  free(doc);
}

SB_TEST(stats_table_matches_the_counters) {
  char *doc = read_doc();
  REQUIRE(doc != NULL);
  char *stats = strstr(doc, "\n### stats\n");
  REQUIRE(stats != NULL);
  char *end = strstr(stats + 1, "\n### ");
  if (end != NULL) *end = '\0';
  size_t rows = 0, want = 0;
  for (const char *p = stats; (p = strstr(p, "\n| `")) != NULL; p++) rows++;
#define SB__STATS_ROW(name, doc)                                        \
  want++;                                                             \
  if (count(stats, "\n| `" #name "` | " doc " |\n") != 1)              \
    SB__FAIL("no single row | `%s` | %s |", #name, doc);
  SB_STATS_COUNTERS(SB__STATS_ROW)
#undef SB__STATS_ROW
  CHECK_INT(rows, want);
  free(doc);
}

SB_TEST(limits_table_matches_sb_limits_h) {
  char *doc = read_doc();
  REQUIRE(doc != NULL);
  char *limits = section(doc, "\n## Limits\n");
  REQUIRE(limits != NULL);
  static const struct {
    const char *name;
    double value;
  } expected[] = {
#define L(name) {#name, (double)(name)}
      L(SB_PROTOCOL_VERSION_MIN), L(SB_PROTOCOL_VERSION_MAX), L(SB_LIMIT_FRAME_BYTES),
      L(SB_LIMIT_NESTING), L(SB_LIMIT_STRING_BYTES), L(SB_LIMIT_ENV_NAME_BYTES),
      L(SB_LIMIT_PATH_BYTES), L(SB_LIMIT_NAME_BYTES), L(SB_LIMIT_ID_BYTES), L(SB_LIMIT_ID_MAX),
      L(SB_LIMIT_ARGS), L(SB_LIMIT_ENV), L(SB_LIMIT_HANDLES), L(SB_LIMIT_FD_MAX),
      L(SB_LIMIT_HANDLE_VALUE_MAX), L(SB_PSEUDO_HANDLE_MIN), L(SB_LIMIT_WAIT_TIMEOUT_MS),
      L(SB_LIMIT_JOB_MEMORY_MIN), L(SB_LIMIT_JOB_MEMORY_MAX), L(SB_LIMIT_JOB_CPU_MS_MAX),
      L(SB_LIMIT_JOB_PROCESSES_MAX), L(SB_LIMIT_LIST_CHILDREN), L(SB_LIMIT_REPLY_FRAME_BYTES),
#undef L
  };
  size_t rows = 0;
  for (const char *p = limits; (p = strstr(p, "\n| `SB_")) != NULL; p++) rows++;
  CHECK_INT(rows, sizeof expected / sizeof expected[0]);
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
    /* The value, then a space: either the cell ends or a gloss follows. */
    char row[256];
    snprintf(row, sizeof row, "\n| `%s` | %.0f ", expected[i].name, expected[i].value);
    if (count(limits, row) != 1)
      SB__FAIL("no single row for %s = %.0f", expected[i].name, expected[i].value);
  }
  free(doc);
}

/* Re-encodes a request decoded from `frame` and compares the bytes. */
static void check_request_frame(const char *frame, size_t len, sb_method *method, sb_id *id,
                                sb_decode_error *derr) {
  sb_request req;
  int rc = sb_decode_request(frame, len, &req, derr);
  *id = derr->id;
  if (rc != 0) return; /* the next broker frame must be the matching error */
  *method = req.method;
  *id = req.id;
  sb_buf b;
  rc = sb_encode_request(&req, &b, NULL);
  CHECK_INT(rc, 0);
  if (rc == 0 && (b.len - 1 != len || memcmp(b.data, frame, len) != 0))
    SB__FAIL("re-encoding gives\n  %.*s\nnot\n  %.*s", (int)b.len - 1, b.data, (int)len, frame);
  sb_buf_free(&b);
  sb_request_free(&req);
}

static void check_broker_frame(const char *frame, size_t len, sb_method method, const sb_id *id,
                               const sb_decode_error *derr) {
  int refused = derr->err;
  sb_incoming in;
  int rc = sb_decode_incoming(frame, len, &in);
  if (rc != 0) {
    SB__FAIL("does not decode (%s): %.*s", sb_err_name(rc), (int)len, frame);
    return;
  }
  sb_buf b = {NULL, 0};
  switch (in.kind) {
  case SB_INCOMING_EVENT: rc = sb_encode_exit_event(&in.exit, &b); break;
  case SB_INCOMING_ERROR:
    CHECK(sb_id_equal(&in.id, id));
    if (refused != 0) {
      /* A refusal in the document is the decoder's, word for word. */
      CHECK_INT(in.error.err, refused);
      CHECK_STR(in.error.detail, derr->detail[0] ? derr->detail : NULL);
      CHECK_STR(in.error.path, derr->path[0] ? derr->path : NULL);
    }
    rc = sb_encode_error(&in.id, in.error.err, in.error.detail, in.error.path, &b);
    break;
  case SB_INCOMING_RESULT: {
    CHECK(sb_id_equal(&in.id, id));
    CHECK_INT(refused, 0);
    sb_result res;
    rc = sb_decode_result(&in, method, &res);
    if (rc == 0) {
      rc = sb_encode_result(&in.id, &res, &b);
      sb_result_free(&res);
    }
    break;
  }
  }
  CHECK_INT(rc, 0);
  if (rc == 0 && (b.len - 1 != len || memcmp(b.data, frame, len) != 0))
    SB__FAIL("re-encoding gives\n  %.*s\nnot\n  %.*s", (int)b.len - 1, b.data, (int)len, frame);
  sb_buf_free(&b);
  sb_incoming_free(&in);
}

SB_TEST(example_session_is_what_the_encoders_write) {
  char *doc = read_doc();
  REQUIRE(doc != NULL);
  char *session = section(doc, "\n## Example session\n");
  REQUIRE(session != NULL);
  static const char client_mark[] = "*client \xE2\x86\x92 broker:*\n\n```json\n";
  static const char broker_mark[] = "*broker \xE2\x86\x92 client:*\n\n```json\n";
  sb_method method = SB_METHOD_COUNT;
  sb_id id;
  memset(&id, 0, sizeof id);
  sb_decode_error derr;
  memset(&derr, 0, sizeof derr);
  size_t frames = 0, requests = 0, refusals = 0;
  for (char *p = session;;) {
    char *c = strstr(p, client_mark), *b = strstr(p, broker_mark);
    if (c == NULL && b == NULL) break;
    bool from_client = c != NULL && (b == NULL || c < b);
    char *frame = from_client ? c + sizeof client_mark - 1 : b + sizeof broker_mark - 1;
    char *end = strstr(frame, "\n```");
    REQUIRE(end != NULL);
    size_t len = (size_t)(end - frame);
    frames++;
    if (from_client) {
      requests++;
      check_request_frame(frame, len, &method, &id, &derr);
      if (derr.err != 0) refusals++;
    } else {
      check_broker_frame(frame, len, method, &id, &derr);
    }
    p = end;
  }
  CHECK_INT(frames, 21);
  CHECK_INT(requests, 10);
  CHECK_INT(refusals, 3);
  /* The session ends with an unparseable frame and the connection closing. */
  CHECK(sb_err_closes_connection(derr.err));
  free(doc);
}

SB_TEST_MAIN(SB_CASE(error_table_matches_sb_errors_h), SB_CASE(stats_table_matches_the_counters), SB_CASE(limits_table_matches_sb_limits_h),
             SB_CASE(example_session_is_what_the_encoders_write))
