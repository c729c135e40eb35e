/*
 * The encoders, byte for byte: what each message looks like on the wire, what
 * is left out when it holds its default, exact integers, escaping, and the
 * arguments the encoders refuse. Also: every error of the table encodes and
 * decodes back to the same name and code.
 */
#include "sb_proto.h"
#include "sb_test.h"

/* Checks that b holds exactly `expected` followed by the frame's newline and
 * a NUL, and frees it. */
#define CHECK_FRAME(rc_expr, b, expected)                                    \
  do {                                                                      \
    int rc__ = (rc_expr);                                                   \
    CHECK_INT(rc__, 0);                                                     \
    if (rc__ == 0) check_frame_(&(b), (expected), __LINE__);                \
    sb_buf_free(&(b));                                                      \
  } while (0)

static void check_frame_(const sb_buf *b, const char *expected, int line) {
  size_t n = strlen(expected);
  if (b->data == NULL) {
    SB__FAIL("line %d: no data", line);
    return;
  }
  if (b->len != n + 1 || memcmp(b->data, expected, n) != 0 || b->data[n] != '\n' ||
      b->data[n + 1] != '\0')
    SB__FAIL("line %d:\n  got      %.*s\n  expected %s\\n", line, (int)b->len, b->data, expected);
  if (memchr(b->data, '\n', b->len - 1) != NULL) SB__FAIL("line %d: a raw newline inside", line);
}

static sb_request request(sb_method m, uint64_t id) {
  sb_request r;
  sb_request_init(&r, m, id);
  return r;
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */

SB_TEST(request_hello) {
  sb_buf b;
  sb_request r = request(SB_METHOD_HELLO, 1);
  r.params.hello.protocol = SB_PROTOCOL_VERSION;
  CHECK_FRAME(sb_encode_request(&r, &b, NULL), b,
              "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\",\"params\":{\"protocol\":1}}");
  r.params.hello.client = "build-tool/2.1";
  r.params.hello.transfer = SB_TRANSFER_PUSH;
  CHECK_INT(sb_id_set_string(&r.id, "h-1"), 0);
  CHECK_FRAME(sb_encode_request(&r, &b, NULL), b,
              "{\"jsonrpc\":\"2.0\",\"id\":\"h-1\",\"method\":\"hello\",\"params\":"
              "{\"protocol\":1,\"client\":\"build-tool/2.1\",\"transfer\":\"push\"}}");
  r.params.hello.transfer = SB_TRANSFER_PULL;
  r.params.hello.client = NULL;
  CHECK_FRAME(sb_encode_request(&r, &b, NULL), b,
              "{\"jsonrpc\":\"2.0\",\"id\":\"h-1\",\"method\":\"hello\",\"params\":"
              "{\"protocol\":1,\"transfer\":\"pull\"}}");
}

SB_TEST(request_without_params) {
  sb_buf b;
  sb_request r = request(SB_METHOD_PING, 0);
  CHECK_FRAME(sb_encode_request(&r, &b, NULL), b, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"ping\"}");
  r = request(SB_METHOD_LIST, 12);
  CHECK_FRAME(sb_encode_request(&r, &b, NULL), b, "{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"list\"}");
  r = request(SB_METHOD_STATS, 9007199254740991u);
  CHECK_FRAME(sb_encode_request(&r, &b, NULL), b,
              "{\"jsonrpc\":\"2.0\",\"id\":9007199254740991,\"method\":\"stats\"}");
}

SB_TEST(request_wait_and_kill) {
  sb_buf b;
  sb_request r = request(SB_METHOD_WAIT, 5);
  r.params.wait.pid = 4321;
  CHECK_FRAME(sb_encode_request(&r, &b, NULL), b,
              "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"wait\",\"params\":{\"pid\":4321}}");
  r.params.wait.timeout_ms = 0;
  CHECK_FRAME(sb_encode_request(&r, &b, NULL), b,
              "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"wait\",\"params\":{\"pid\":4321,\"timeout_ms\":0}}");
  r.params.wait.timeout_ms = SB_LIMIT_WAIT_TIMEOUT_MS;
  CHECK_FRAME(sb_encode_request(&r, &b, NULL), b,
              "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"wait\",\"params\":{\"pid\":4321,\"timeout_ms\":2147483647}}");

  r = request(SB_METHOD_KILL, 6);
  r.params.kill.pid = 4294967295u;
  CHECK_FRAME(sb_encode_request(&r, &b, NULL), b,
              "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"kill\",\"params\":{\"pid\":4294967295}}");
  r.params.kill.exit_code = 0;
  CHECK_FRAME(sb_encode_request(&r, &b, NULL), b,
              "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"kill\",\"params\":{\"pid\":4294967295,\"exit_code\":0}}");
  r.params.kill.exit_code = 4294967295u;
  CHECK_FRAME(sb_encode_request(&r, &b, NULL), b,
              "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"kill\",\"params\":{\"pid\":4294967295,\"exit_code\":4294967295}}");
}

SB_TEST(request_spawn_minimal) {
  sb_buf b;
  sb_request r = request(SB_METHOD_SPAWN, 3);
  r.params.spawn.program = "cmd.exe";
  CHECK_FRAME(sb_encode_request(&r, &b, NULL), b,
              "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"spawn\",\"params\":{\"program\":\"cmd.exe\"}}");
}

SB_TEST(request_spawn_full) {
  sb_buf b;
  sb_request r = request(SB_METHOD_SPAWN, 4);
  sb_spawn_params *p = &r.params.spawn;
  static const char *const args[] = {"/c", "echo \"hi\"\tthere", "{handle:log}"};
  static const char *const env[] = {"A=1", "PATH=C:\\bin"};
  p->program = "C:\\Windows\\System32\\cmd.exe";
  p->args = args;
  p->nargs = 3;
  p->cwd = "C:\\work";
  p->env = env;
  p->nenv = 2;
  p->clear_env = true;
  p->handles[0] = (sb_handle_spec){"in", 0x1a4, -1};
  p->handles[1] = (sb_handle_spec){"log", 8, 3};
  p->nhandles = 2;
  p->std_names[SB_STDIN] = "in";
  p->std_names[SB_STDOUT] = "log";
  p->std_names[SB_STDERR] = "log";
  p->handles_env = "SB_HANDLES";
  p->expand_handles = true;
  p->lifetime = SB_LIFETIME_CONNECTION;
  p->limits.memory_bytes = 1048576;
  p->limits.cpu_time_ms = 60000;
  p->limits.processes = 8;
  p->notify_exit = true;
  CHECK_FRAME(sb_encode_request(&r, &b, NULL), b,
              "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"spawn\",\"params\":{"
              "\"program\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\","
              "\"args\":[\"/c\",\"echo \\\"hi\\\"\\tthere\",\"{handle:log}\"],"
              "\"cwd\":\"C:\\\\work\",\"env\":[\"A=1\",\"PATH=C:\\\\bin\"],\"clear_env\":true,"
              "\"handles\":[{\"name\":\"in\",\"value\":420},{\"name\":\"log\",\"value\":8,\"fd\":3}],"
              "\"stdin\":\"in\",\"stdout\":\"log\",\"stderr\":\"log\",\"handles_env\":\"SB_HANDLES\","
              "\"expand_handles\":true,\"lifetime\":\"connection\","
              "\"limits\":{\"memory_bytes\":1048576,\"cpu_time_ms\":60000,\"processes\":8},"
              "\"notify_exit\":true}}");
  /* Only the non-zero limits are sent; the detached lifetime is spelled out. */
  p->limits.memory_bytes = 0;
  p->limits.processes = 0;
  p->lifetime = SB_LIFETIME_DETACHED;
  p->clear_env = false;
  p->expand_handles = false;
  p->notify_exit = false;
  p->std_names[SB_STDIN] = NULL;
  p->std_names[SB_STDOUT] = NULL;
  p->handles_env = NULL;
  p->nargs = 0;
  p->nenv = 0;
  p->cwd = NULL;
  CHECK_FRAME(sb_encode_request(&r, &b, NULL), b,
              "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"spawn\",\"params\":{"
              "\"program\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\","
              "\"handles\":[{\"name\":\"in\",\"value\":420},{\"name\":\"log\",\"value\":8,\"fd\":3}],"
              "\"stderr\":\"log\",\"lifetime\":\"detached\",\"limits\":{\"cpu_time_ms\":60000}}}");
}

SB_TEST(request_bad_arguments) {
  sb_buf b = {(char *)"x", 1};
  sb_request r = request(SB_METHOD_PING, 1);
  CHECK_INT(sb_encode_request(NULL, &b, NULL), SB_E_INVALID_ARGUMENT);
  CHECK(b.data == NULL);
  CHECK_INT(sb_encode_request(&r, NULL, NULL), SB_E_INVALID_ARGUMENT);
  r.method = SB_METHOD_COUNT;
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_INVALID_ARGUMENT);
  r.method = (sb_method)-1;
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_INVALID_ARGUMENT);
  r.method = SB_METHOD_PING;
  r.id.kind = (sb_id_kind)7;
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_INVALID_ARGUMENT);

  r = request(SB_METHOD_SPAWN, 1);
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_INVALID_ARGUMENT); /* program NULL */
  r.params.spawn.program = "x.exe";
  r.params.spawn.nargs = 1; /* args NULL */
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_INVALID_ARGUMENT);
  static const char *const holes[] = {"a", NULL};
  r.params.spawn.args = holes;
  r.params.spawn.nargs = 2;
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_INVALID_ARGUMENT);
  r.params.spawn.nargs = 0;
  r.params.spawn.lifetime = (sb_lifetime)9;
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_INVALID_ARGUMENT);
  r.params.spawn.lifetime = SB_LIFETIME_BROKER;
  r.params.spawn.nhandles = SB_LIMIT_HANDLES + 1;
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_TOO_MANY_HANDLES);
  CHECK(b.data == NULL);

  r = request(SB_METHOD_HELLO, 1);
  r.params.hello.protocol = 1;
  r.params.hello.transfer = (sb_transfer)3;
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------------ */
/* Results                                                                  */

SB_TEST(result_hello) {
  sb_buf b;
  sb_id id;
  sb_id_set_number(&id, 1);
  sb_result res;
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_HELLO;
  res.u.hello = (sb_hello_result){1, "0.1.0", 1234, SB_TRANSFER_PULL, 65536, 16, 1024, 1024};
  CHECK_FRAME(sb_encode_result(&id, &res, &b), b,
              "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"protocol\":1,\"broker_version\":\"0.1.0\","
              "\"pid\":1234,\"transfer\":\"pull\",\"max_frame_bytes\":65536,\"max_handles\":16,"
              "\"max_args\":1024,\"max_env\":1024}}");
  res.u.hello.transfer = SB_TRANSFER_AUTO; /* not an answer */
  CHECK_INT(sb_encode_result(&id, &res, &b), SB_E_INVALID_ARGUMENT);
  CHECK(b.data == NULL);
  res.u.hello.transfer = SB_TRANSFER_PUSH;
  res.u.hello.broker_version = NULL;
  CHECK_INT(sb_encode_result(&id, &res, &b), SB_E_INVALID_ARGUMENT);
}

SB_TEST(result_spawn_wait_kill_ping) {
  sb_buf b;
  sb_id id;
  CHECK_INT(sb_id_set_string(&id, "s"), 0);
  sb_result res;
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_SPAWN;
  res.u.spawn.pid = 777;
  res.u.spawn.handles[0] = (sb_child_handle){"in", 0x44};
  res.u.spawn.handles[1] = (sb_child_handle){"log", 0x3FFFFFC};
  res.u.spawn.nhandles = 2;
  CHECK_FRAME(sb_encode_result(&id, &res, &b), b,
              "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"result\":{\"pid\":777,\"handles\":"
              "[{\"name\":\"in\",\"value\":68},{\"name\":\"log\",\"value\":67108860}]}}");
  res.u.spawn.nhandles = 0;
  CHECK_FRAME(sb_encode_result(&id, &res, &b), b,
              "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"result\":{\"pid\":777,\"handles\":[]}}");
  res.u.spawn.nhandles = SB_LIMIT_HANDLES + 1;
  CHECK_INT(sb_encode_result(&id, &res, &b), SB_E_INVALID_ARGUMENT);

  res.method = SB_METHOD_WAIT;
  res.u.wait = (sb_exit_info){777, 4294967295u, 12, 15625, 0, 1048576};
  CHECK_FRAME(sb_encode_result(&id, &res, &b), b,
              "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"result\":{\"pid\":777,\"exit_code\":4294967295,"
              "\"wall_ms\":12,\"cpu_user_us\":15625,\"cpu_kernel_us\":0,\"peak_memory_bytes\":1048576}}");

  res.method = SB_METHOD_KILL;
  res.u.kill = (sb_kill_result){777, true};
  CHECK_FRAME(sb_encode_result(&id, &res, &b), b,
              "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"result\":{\"pid\":777,\"killed\":true}}");
  res.u.kill.killed = false;
  CHECK_FRAME(sb_encode_result(&id, &res, &b), b,
              "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"result\":{\"pid\":777,\"killed\":false}}");

  res.method = SB_METHOD_PING;
  CHECK_FRAME(sb_encode_result(&id, &res, &b), b,
              "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"result\":{\"pong\":true}}");
}

SB_TEST(result_list) {
  sb_buf b;
  sb_id id;
  sb_id_set_number(&id, 2);
  sb_child_info kids[2] = {
      {10, "C:\\a.exe", SB_LIFETIME_BROKER, true, 99},
      {11, "b.exe", SB_LIFETIME_DETACHED, false, 3},
  };
  sb_result res;
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_LIST;
  res.u.list.children = kids;
  res.u.list.nchildren = 2;
  CHECK_FRAME(sb_encode_result(&id, &res, &b), b,
              "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"children\":["
              "{\"pid\":10,\"program\":\"C:\\\\a.exe\",\"lifetime\":\"broker\",\"running\":true},"
              "{\"pid\":11,\"program\":\"b.exe\",\"lifetime\":\"detached\",\"running\":false,\"exit_code\":3}]}}");
  res.u.list.nchildren = 0;
  res.u.list.children = NULL;
  CHECK_FRAME(sb_encode_result(&id, &res, &b), b,
              "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"children\":[]}}");
  res.u.list.nchildren = 1;
  CHECK_INT(sb_encode_result(&id, &res, &b), SB_E_INVALID_ARGUMENT); /* children NULL */
  res.u.list.children = kids;
  kids[0].lifetime = (sb_lifetime)5;
  CHECK_INT(sb_encode_result(&id, &res, &b), SB_E_INVALID_ARGUMENT);
  kids[0].lifetime = SB_LIFETIME_CONNECTION;
  kids[0].program = "bad\xC0\xAF.exe"; /* an overlong '/' */
  CHECK_INT(sb_encode_result(&id, &res, &b), SB_E_INVALID_ARGUMENT);
  CHECK(b.data == NULL);
  kids[0].program = NULL;
  CHECK_INT(sb_encode_result(&id, &res, &b), SB_E_INVALID_ARGUMENT);
  res.u.list.nchildren = SB_LIMIT_LIST_CHILDREN + 1;
  CHECK_INT(sb_encode_result(&id, &res, &b), SB_E_INVALID_ARGUMENT);
}

SB_TEST(result_stats_clamps_counters) {
  sb_buf b;
  sb_id id;
  sb_id_set_number(&id, 8);
  sb_result res;
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_STATS;
  res.u.stats = (sb_stats_result){.uptime_ms = UINT64_MAX,
                                  .connections_current = 1,
                                  .connections_total = 2,
                                  .requests_total = 3,
                                  .errors_total = 4,
                                  .spawns_ok = 5,
                                  .spawns_failed = 6,
                                  .children_running = 7,
                                  .helpers_idle = 8,
                                  .helpers_busy = 9,
                                  .helpers_created = 9007199254740991u,
                                  .helpers_retired = 9007199254740992u,
                                  .limit_connections = 10,
                                  .limit_request_deadlines = 11,
                                  .spawn_create_us = 12};
  CHECK_FRAME(sb_encode_result(&id, &res, &b), b,
              "{\"jsonrpc\":\"2.0\",\"id\":8,\"result\":{\"uptime_ms\":9007199254740991,"
              "\"cpu_us\":0,\"heap_bytes\":0,\"connections_current\":1,\"connections_total\":2,\"requests_total\":3,"
              "\"errors_total\":4,\"spawns_ok\":5,\"spawns_failed\":6,\"children_running\":7,"
              "\"helpers_idle\":8,\"helpers_busy\":9,\"helpers_created\":9007199254740991,"
              "\"helpers_retired\":9007199254740991,\"limit_connections\":10,"
              "\"limit_connections_per_identity\":0,\"limit_spawns_in_flight\":0,"
              "\"limit_children\":0,\"limit_helpers\":0,\"limit_handles\":0,"
              "\"limit_frame_bytes\":0,\"limit_idle_timeouts\":0,"
              "\"limit_request_deadlines\":11,\"spawn_decode_us\":0,\"spawn_queue_us\":0,"
              "\"spawn_prepare_us\":0,\"spawn_lease_us\":0,\"spawn_transfer_us\":0,"
              "\"spawn_create_us\":12,\"spawn_close_us\":0,\"spawn_reply_us\":0}}");
}

SB_TEST(result_bad_arguments) {
  sb_buf b = {(char *)"x", 1};
  sb_id id;
  sb_result res;
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_PING;
  memset(&id, 0, sizeof id); /* a null id: results always answer a request */
  CHECK_INT(sb_encode_result(&id, &res, &b), SB_E_INVALID_ARGUMENT);
  CHECK(b.data == NULL);
  CHECK_INT(sb_encode_result(NULL, &res, &b), SB_E_INVALID_ARGUMENT);
  sb_id_set_number(&id, 9007199254740992u); /* not exact in a double */
  CHECK_INT(sb_encode_result(&id, &res, &b), SB_E_INVALID_ARGUMENT);
  sb_id_set_number(&id, 1);
  CHECK_INT(sb_encode_result(&id, NULL, &b), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb_encode_result(&id, &res, NULL), SB_E_INVALID_ARGUMENT);
  res.method = SB_METHOD_COUNT;
  CHECK_INT(sb_encode_result(&id, &res, &b), SB_E_INVALID_ARGUMENT);
  /* A string id must end inside its array, and be valid UTF-8. */
  res.method = SB_METHOD_PING;
  id.kind = SB_ID_STRING;
  memset(id.string, 'a', sizeof id.string);
  CHECK_INT(sb_encode_result(&id, &res, &b), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb_id_set_string(&id, "\xFF"), 0);
  CHECK_INT(sb_encode_result(&id, &res, &b), SB_E_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------------ */
/* Errors and events                                                        */

SB_TEST(error_replies) {
  sb_buf b;
  sb_id id;
  sb_id_set_number(&id, 7);
  CHECK_FRAME(sb_encode_error(&id, SB_E_HANDLE_NOT_FOUND, "handle 0x1a4 is not open in the client",
                              "params.handles[0].value", &b),
              b,
              "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32010,\"message\":\"a handle value "
              "is not open in the client\",\"data\":{\"name\":\"HandleNotFound\",\"detail\":\"handle "
              "0x1a4 is not open in the client\",\"path\":\"params.handles[0].value\"}}}");
  CHECK_FRAME(sb_encode_error(&id, SB_E_METHOD_NOT_FOUND, NULL, "", &b), b,
              "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32601,\"message\":\"no such method\","
              "\"data\":{\"name\":\"MethodNotFound\"}}}");
  CHECK_FRAME(sb_encode_error(&id, SB_E_UNKNOWN_KEY, "", "params.Program", &b), b,
              "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32602,\"message\":\"unknown key\","
              "\"data\":{\"name\":\"UnknownKey\",\"path\":\"params.Program\"}}}");
  CHECK_INT(sb_id_set_string(&id, "x\"y"), 0);
  CHECK_FRAME(sb_encode_error(&id, SB_E_BUSY, "line1\nline2\x01", NULL, &b), b,
              "{\"jsonrpc\":\"2.0\",\"id\":\"x\\\"y\",\"error\":{\"code\":-32006,\"message\":\"another "
              "request of this connection is still running\",\"data\":{\"name\":\"Busy\","
              "\"detail\":\"line1\\nline2\\u0001\"}}}");
}

SB_TEST(error_reply_with_null_id) {
  sb_buf b;
  sb_id id;
  memset(&id, 0, sizeof id);
  CHECK_FRAME(sb_encode_error(&id, SB_E_PARSE, "unexpected '}' at byte 9", NULL, &b), b,
              "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"the frame is "
              "not valid JSON\",\"data\":{\"name\":\"ParseError\",\"detail\":\"unexpected '}' at byte 9\"}}}");
  CHECK_FRAME(sb_encode_error(NULL, SB_E_FRAME_TOO_LARGE, NULL, NULL, &b), b,
              "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"the frame "
              "exceeds the size limit\",\"data\":{\"name\":\"FrameTooLarge\"}}}");
}

SB_TEST(error_reply_repairs_invalid_utf8) {
  sb_buf b;
  sb_id id;
  sb_id_set_number(&id, 1);
  /* A stray continuation byte, a truncated sequence, a surrogate, then a
   * valid "é" which must survive. */
  CHECK_FRAME(sb_encode_error(&id, SB_E_SPAWN_FAILED, "a\x80" "b\xE2\x82" "c\xED\xA0\x80" "d\xC3\xA9",
                              "p\xFF", &b),
              b,
              "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32019,\"message\":\"the process "
              "could not be created\",\"data\":{\"name\":\"SpawnFailed\",\"detail\":\"a\xEF\xBF\xBD"
              "b\xEF\xBF\xBD\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "d\xC3\xA9\","
              "\"path\":\"p\xEF\xBF\xBD\"}}}");
}

SB_TEST(error_reply_refuses_unknown_codes) {
  sb_buf b = {(char *)"x", 1};
  sb_id id;
  sb_id_set_number(&id, 1);
  CHECK_INT(sb_encode_error(&id, SB_OK, NULL, NULL, &b), SB_E_INVALID_ARGUMENT);
  CHECK(b.data == NULL);
  CHECK_INT(sb_encode_error(&id, 5, NULL, NULL, &b), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb_encode_error(&id, -SB_ERROR_COUNT - 1, NULL, NULL, &b), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb_encode_error(&id, SB_E_PARSE, NULL, NULL, NULL), SB_E_INVALID_ARGUMENT);
}

SB_TEST(exit_event) {
  sb_buf b;
  sb_exit_info e = {4242, 0, 1500, 31250, 15625, 2785280};
  CHECK_FRAME(sb_encode_exit_event(&e, &b), b,
              "{\"jsonrpc\":\"2.0\",\"method\":\"exit\",\"params\":{\"pid\":4242,\"exit_code\":0,"
              "\"wall_ms\":1500,\"cpu_user_us\":31250,\"cpu_kernel_us\":15625,\"peak_memory_bytes\":2785280}}");
  e = (sb_exit_info){4294967295u, 4294967295u, UINT64_MAX, 9007199254740991u, 9007199254740992u, 0};
  CHECK_FRAME(sb_encode_exit_event(&e, &b), b,
              "{\"jsonrpc\":\"2.0\",\"method\":\"exit\",\"params\":{\"pid\":4294967295,"
              "\"exit_code\":4294967295,\"wall_ms\":9007199254740991,\"cpu_user_us\":9007199254740991,"
              "\"cpu_kernel_us\":9007199254740991,\"peak_memory_bytes\":0}}");
  CHECK_INT(sb_encode_exit_event(NULL, &b), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb_encode_exit_event(&e, NULL), SB_E_INVALID_ARGUMENT);
}

/* Every name of the table can reach a client: encoded by the broker, decoded
 * by the client to the same code, name, message, detail and path. */
SB_TEST(every_error_reaches_the_client) {
  for (int e = -1; e >= -SB_ERROR_COUNT; e--) {
    sb_id id;
    sb_id_set_number(&id, (uint64_t)-e);
    sb_buf b;
    int rc = sb_encode_error(&id, e, "some detail", "params.x", &b);
    if (rc != 0) {
      SB__FAIL("%s does not encode: %d", sb_err_name(e), rc);
      continue;
    }
    sb_incoming in;
    rc = sb_decode_incoming(b.data, b.len - 1, &in);
    if (rc != 0) {
      SB__FAIL("%s does not decode: %s", sb_err_name(e), sb_err_name(rc));
      sb_buf_free(&b);
      continue;
    }
    CHECK_INT(in.kind, SB_INCOMING_ERROR);
    CHECK(sb_id_equal(&in.id, &id));
    CHECK_INT(in.error.err, e);
    CHECK_INT(in.error.rpc_code, sb_err_rpc_code(e));
    CHECK_STR(in.error.name, sb_err_name(e));
    CHECK_STR(in.error.message, sb_err_message(e));
    CHECK_STR(in.error.detail, "some detail");
    CHECK_STR(in.error.path, "params.x");
    sb_incoming_free(&in);
    sb_buf_free(&b);
  }
}

SB_TEST_MAIN(SB_CASE(request_hello), SB_CASE(request_without_params), SB_CASE(request_wait_and_kill),
             SB_CASE(request_spawn_minimal), SB_CASE(request_spawn_full),
             SB_CASE(request_bad_arguments), SB_CASE(result_hello),
             SB_CASE(result_spawn_wait_kill_ping), SB_CASE(result_list),
             SB_CASE(result_stats_clamps_counters), SB_CASE(result_bad_arguments),
             SB_CASE(error_replies), SB_CASE(error_reply_with_null_id),
             SB_CASE(error_reply_repairs_invalid_utf8), SB_CASE(error_reply_refuses_unknown_codes),
             SB_CASE(exit_event), SB_CASE(every_error_reaches_the_client))
