/*
 * Encode, then decode with the other side's decoder, and compare field by
 * field: every request kind (with every optional field set, and with none),
 * every result kind and the exit event, including the largest values the
 * wire carries. Also: the request encoder refuses what the broker would,
 * with the broker's path and detail.
 */
#include "sb_proto.h"
#include "sb_test.h"

static sb_request request(sb_method m, uint64_t id) {
  sb_request r;
  sb_request_init(&r, m, id);
  return r;
}

/* Encodes *in, decodes it as the broker would into *out. */
static int request_round_trip(const sb_request *in, sb_request *out) {
  sb_buf b;
  int rc = sb_encode_request(in, &b, NULL);
  if (rc != 0) return rc;
  sb_decode_error derr;
  rc = sb_decode_request(b.data, b.len - 1, out, &derr);
  if (rc != 0) SB__FAIL("decode: %s at %s: %s", sb_err_name(rc), derr.path, derr.detail);
  sb_buf_free(&b);
  return rc;
}

static void check_strings(const char *const *a, size_t na, const char *const *b, size_t nb,
                          const char *what) {
  if (na != nb) {
    SB__FAIL("%s: %zu entries, expected %zu", what, nb, na);
    return;
  }
  for (size_t i = 0; i < na; i++) {
    if (strcmp(a[i], b[i]) != 0) SB__FAIL("%s[%zu] == \"%s\", expected \"%s\"", what, i, b[i], a[i]);
  }
}

static void check_spawn_equal(const sb_spawn_params *e, const sb_spawn_params *g) {
  CHECK_STR(g->program, e->program);
  check_strings(e->args, e->nargs, g->args, g->nargs, "args");
  CHECK_STR(g->cwd, e->cwd);
  check_strings(e->env, e->nenv, g->env, g->nenv, "env");
  CHECK(g->clear_env == e->clear_env);
  CHECK_INT(g->nhandles, e->nhandles);
  for (size_t i = 0; i < e->nhandles && i < g->nhandles; i++) {
    CHECK_STR(g->handles[i].name, e->handles[i].name);
    CHECK_INT(g->handles[i].value, e->handles[i].value);
    CHECK_INT(g->handles[i].fd, e->handles[i].fd);
  }
  for (int i = 0; i < 3; i++) CHECK_STR(g->std_names[i], e->std_names[i]);
  CHECK_STR(g->handles_env, e->handles_env);
  CHECK(g->expand_handles == e->expand_handles);
  CHECK_INT(g->lifetime, e->lifetime);
  CHECK_INT(g->limits.memory_bytes, e->limits.memory_bytes);
  CHECK_INT(g->limits.cpu_time_ms, e->limits.cpu_time_ms);
  CHECK_INT(g->limits.processes, e->limits.processes);
  CHECK(g->notify_exit == e->notify_exit);
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */

SB_TEST(hello_round_trips) {
  sb_request r = request(SB_METHOD_HELLO, 0), got;
  r.params.hello.protocol = SB_PROTOCOL_VERSION;
  REQUIRE(request_round_trip(&r, &got) == 0);
  CHECK_INT(got.method, SB_METHOD_HELLO);
  CHECK(sb_id_equal(&got.id, &r.id));
  CHECK_INT(got.params.hello.protocol, 1);
  CHECK(got.params.hello.client == NULL);
  CHECK_INT(got.params.hello.transfer, SB_TRANSFER_AUTO);
  sb_request_free(&got);

  char longest_id[SB_LIMIT_ID_BYTES + 1];
  memset(longest_id, 'i', SB_LIMIT_ID_BYTES);
  longest_id[SB_LIMIT_ID_BYTES] = '\0';
  REQUIRE(sb_id_set_string(&r.id, longest_id) == 0);
  r.params.hello.client = "caf\xC3\xA9 \xF0\x9F\x98\x80 client";
  r.params.hello.transfer = SB_TRANSFER_PUSH;
  REQUIRE(request_round_trip(&r, &got) == 0);
  CHECK_INT(got.id.kind, SB_ID_STRING);
  CHECK_STR(got.id.string, longest_id);
  CHECK_STR(got.params.hello.client, r.params.hello.client);
  CHECK_INT(got.params.hello.transfer, SB_TRANSFER_PUSH);
  sb_request_free(&got);

  r.params.hello.transfer = SB_TRANSFER_PULL;
  REQUIRE(request_round_trip(&r, &got) == 0);
  CHECK_INT(got.params.hello.transfer, SB_TRANSFER_PULL);
  sb_request_free(&got);
}

SB_TEST(parameterless_requests_round_trip) {
  const sb_method ms[] = {SB_METHOD_LIST, SB_METHOD_STATS, SB_METHOD_PING};
  for (size_t i = 0; i < 3; i++) {
    sb_request r = request(ms[i], 9007199254740991u), got;
    REQUIRE(request_round_trip(&r, &got) == 0);
    CHECK_INT(got.method, ms[i]);
    CHECK_INT(got.id.kind, SB_ID_NUMBER);
    CHECK_INT(got.id.number, 9007199254740991u);
    sb_request_free(&got);
  }
}

SB_TEST(wait_and_kill_round_trip) {
  sb_request r = request(SB_METHOD_WAIT, 1), got;
  r.params.wait.pid = 4294967295u;
  REQUIRE(request_round_trip(&r, &got) == 0);
  CHECK_INT(got.params.wait.pid, 4294967295u);
  CHECK_INT(got.params.wait.timeout_ms, -1);
  sb_request_free(&got);
  const int64_t timeouts[] = {0, 1, SB_LIMIT_WAIT_TIMEOUT_MS};
  for (size_t i = 0; i < 3; i++) {
    r.params.wait.timeout_ms = timeouts[i];
    REQUIRE(request_round_trip(&r, &got) == 0);
    CHECK_INT(got.params.wait.timeout_ms, timeouts[i]);
    sb_request_free(&got);
  }

  r = request(SB_METHOD_KILL, 2);
  r.params.kill.pid = 4;
  REQUIRE(request_round_trip(&r, &got) == 0);
  CHECK_INT(got.method, SB_METHOD_KILL);
  CHECK_INT(got.params.kill.pid, 4);
  CHECK_INT(got.params.kill.exit_code, 1);
  sb_request_free(&got);
  const uint32_t codes[] = {0, 2, 4294967295u};
  for (size_t i = 0; i < 3; i++) {
    r.params.kill.exit_code = codes[i];
    REQUIRE(request_round_trip(&r, &got) == 0);
    CHECK_INT(got.params.kill.exit_code, codes[i]);
    sb_request_free(&got);
  }
}

SB_TEST(spawn_with_no_optional_fields_round_trips) {
  sb_request r = request(SB_METHOD_SPAWN, 3), got;
  r.params.spawn.program = "x.exe";
  REQUIRE(request_round_trip(&r, &got) == 0);
  CHECK_INT(got.method, SB_METHOD_SPAWN);
  check_spawn_equal(&r.params.spawn, &got.params.spawn);
  CHECK(got.params.spawn.nhandles == 0);
  CHECK_INT(got.params.spawn.handles[0].fd, -1);
  sb_request_free(&got);
}

SB_TEST(spawn_with_every_field_round_trips) {
  static const char *const args[] = {"/c", "", "two words", "quote\"and\\slash",
                                     "{handle:h0}", "\xE2\x82\xAC"};
  static const char *const env[] = {"A=1", "EMPTY=", "PATH=C:\\bin;D:\\bin"};
  static char names[SB_LIMIT_HANDLES][8];
  sb_request r = request(SB_METHOD_SPAWN, 4), got;
  sb_spawn_params *p = &r.params.spawn;
  p->program = "C:\\Program Files\\tool.exe";
  p->args = args;
  p->nargs = sizeof args / sizeof args[0];
  p->cwd = "D:\\work dir";
  p->env = env;
  p->nenv = sizeof env / sizeof env[0];
  p->clear_env = true;
  for (size_t i = 0; i < SB_LIMIT_HANDLES; i++) {
    snprintf(names[i], sizeof names[i], "h%zu", i);
    p->handles[i].name = names[i];
    p->handles[i].value = (int64_t)(4 * (i + 1));
    p->handles[i].fd = i < 3 ? (int)(3 + i) : -1;
  }
  p->handles[SB_LIMIT_HANDLES - 1].value = SB_LIMIT_HANDLE_VALUE_MAX;
  p->handles[SB_LIMIT_HANDLES - 2].fd = SB_LIMIT_FD_MAX;
  p->nhandles = SB_LIMIT_HANDLES;
  p->std_names[SB_STDIN] = "h3";
  p->std_names[SB_STDOUT] = "h4";
  p->std_names[SB_STDERR] = "h4";
  p->handles_env = "SB_HANDLES";
  p->expand_handles = true;
  p->lifetime = SB_LIFETIME_CONNECTION;
  p->limits.memory_bytes = (uint64_t)SB_LIMIT_JOB_MEMORY_MAX;
  p->limits.cpu_time_ms = (uint64_t)SB_LIMIT_JOB_CPU_MS_MAX;
  p->limits.processes = SB_LIMIT_JOB_PROCESSES_MAX;
  p->notify_exit = true;
  REQUIRE(request_round_trip(&r, &got) == 0);
  check_spawn_equal(p, &got.params.spawn);
  sb_request_free(&got);

  p->lifetime = SB_LIFETIME_DETACHED;
  p->limits.memory_bytes = (uint64_t)SB_LIMIT_JOB_MEMORY_MIN;
  p->limits.cpu_time_ms = 0;
  p->limits.processes = 1;
  REQUIRE(request_round_trip(&r, &got) == 0);
  check_spawn_equal(p, &got.params.spawn);
  sb_request_free(&got);
}

SB_TEST(encoder_refuses_what_the_broker_refuses) {
  sb_request r = request(SB_METHOD_SPAWN, 5);
  sb_spawn_params *p = &r.params.spawn;
  sb_buf b = {NULL, 0};
  p->program = "x.exe";
  p->handles[0] = (sb_handle_spec){"a", 0, -1};
  p->nhandles = 1;
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_INVALID_HANDLE_VALUE);
  CHECK(b.data == NULL);
  p->handles[0].value = -2; /* the current thread's pseudo handle */
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_INVALID_HANDLE_VALUE);
  p->handles[0].value = 6; /* not a multiple of 4 */
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_INVALID_HANDLE_VALUE);
  p->handles[0].value = SB_LIMIT_HANDLE_VALUE_MAX + 4;
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_INVALID_HANDLE_VALUE);
  p->handles[0].value = 8;
  p->handles[1] = (sb_handle_spec){"a", 12, -1};
  p->nhandles = 2;
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_DUPLICATE_HANDLE_NAME);
  p->handles[1] = (sb_handle_spec){"b", 8, -1};
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_DUPLICATE_HANDLE_VALUE);
  p->handles[1] = (sb_handle_spec){"b", 12, -1};
  p->std_names[SB_STDOUT] = "c";
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_UNKNOWN_HANDLE_NAME);
  p->std_names[SB_STDOUT] = "b";
  p->handles[0].fd = 2; /* fds 0-2 are the standard streams */
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_OUT_OF_RANGE);
  p->handles[0].fd = 5;
  p->handles[1].fd = 5;
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_DUPLICATE_FD);
  p->handles[1].fd = -1;
  p->handles[1].name = "1bad";
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_INVALID_NAME);
  p->handles[1].name = "b";
  /* More handles than the limit never reach the wire. */
  p->nhandles = SB_LIMIT_HANDLES + 1;
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_TOO_MANY_HANDLES);
  p->nhandles = 2;
  p->program = "";
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_EMPTY_STRING);
  p->program = "x.exe";
  static const char *const env[] = {"NOEQUALS"};
  p->env = env;
  p->nenv = 1;
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_INVALID_ENV_ENTRY);
  p->nenv = 0;
  p->limits.processes = SB_LIMIT_JOB_PROCESSES_MAX + 1;
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_OUT_OF_RANGE);
  p->limits.processes = 0;
  /* Everything fixed: now it goes through. */
  CHECK_INT(sb_encode_request(&r, &b, NULL), 0);
  sb_buf_free(&b);

  /* A request needs an id: null is only for replies to unreadable frames. */
  r = request(SB_METHOD_PING, 1);
  memset(&r.id, 0, sizeof r.id);
  CHECK(sb_encode_request(&r, &b, NULL) != 0);
  CHECK(b.data == NULL);
  sb_id_set_number(&r.id, 9007199254740992u);
  CHECK(sb_encode_request(&r, &b, NULL) != 0);

  r = request(SB_METHOD_WAIT, 1);
  r.params.wait.timeout_ms = (int64_t)SB_LIMIT_WAIT_TIMEOUT_MS + 1;
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_OUT_OF_RANGE);
  r.params.wait.timeout_ms = -2;
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_OUT_OF_RANGE);

  r = request(SB_METHOD_HELLO, 1);
  r.params.hello.protocol = 1;
  r.params.hello.client = "bad \xFF utf8";
  CHECK_INT(sb_encode_request(&r, &b, NULL), SB_E_INVALID_UTF8);
}

/* The refusal of a request the encoder built is the one the broker gives
 * for the same frame: code, id, path and detail. */
static void check_refused_like_the_broker(const sb_request *r, const char *frame) {
  sb_buf b = {NULL, 0};
  sb_decode_error mine, broker;
  sb_request scratch;
  int rc = sb_encode_request(r, &b, &mine);
  CHECK(rc != 0);
  CHECK(b.data == NULL);
  CHECK_INT(sb_decode_request(frame, strlen(frame), &scratch, &broker), rc);
  CHECK_INT(mine.err, rc);
  CHECK(sb_id_equal(&mine.id, &broker.id));
  CHECK(broker.path[0] != '\0' && broker.detail[0] != '\0');
  CHECK_STR(mine.path, broker.path);
  CHECK_STR(mine.detail, broker.detail);
}

SB_TEST(encoder_refusals_carry_the_path_and_detail) {
  sb_request r = request(SB_METHOD_SPAWN, 5);
  sb_spawn_params *p = &r.params.spawn;
  sb_decode_error d;
  sb_buf b = {NULL, 0};
  static const char *const env[] = {"A=1", "NOEQUALS"};
  const char *args[] = {"a", NULL};

  /* Refused by the decoder the encoder runs. */
  p->program = "x.exe";
  p->env = env;
  p->nenv = 2;
  check_refused_like_the_broker(
      &r, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"spawn\",\"params\":{\"program\":\"x.exe\","
          "\"env\":[\"A=1\",\"NOEQUALS\"]}}");
  p->nenv = 0;
  p->handles[0] = (sb_handle_spec){"a", 8, -1};
  p->handles[1] = (sb_handle_spec){"b", -1, -1};
  p->nhandles = 2;
  check_refused_like_the_broker(
      &r, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"spawn\",\"params\":{\"program\":\"x.exe\","
          "\"handles\":[{\"name\":\"a\",\"value\":8},{\"name\":\"b\",\"value\":-1}]}}");
  CHECK_INT(sb_encode_request(&r, &b, &d), SB_E_INVALID_HANDLE_VALUE);
  CHECK_STR(d.path, "params.handles[1].value");

  /* Refused while encoding, for what the wire cannot even carry: the path
   * of the field and why. */
  p->handles[1].value = 12;
  p->handles[1].name = NULL;
  CHECK_INT(sb_encode_request(&r, &b, &d), SB_E_INVALID_ARGUMENT);
  CHECK_STR(d.path, "params.handles[1].name");
  CHECK_STR(d.detail, "the string is NULL");
  CHECK_INT(d.err, SB_E_INVALID_ARGUMENT);
  CHECK(d.id.kind == SB_ID_NUMBER && d.id.number == 5);
  p->handles[1].name = "b";
  p->nhandles = SB_LIMIT_HANDLES + 1;
  CHECK_INT(sb_encode_request(&r, &b, &d), SB_E_TOO_MANY_HANDLES);
  CHECK_STR(d.path, "params.handles");
  CHECK(d.detail[0] != '\0');
  p->nhandles = 2;
  p->args = args;
  p->nargs = 2;
  CHECK_INT(sb_encode_request(&r, &b, &d), SB_E_INVALID_ARGUMENT);
  CHECK_STR(d.path, "params.args[1]");
  p->nargs = 1;
  p->lifetime = (sb_lifetime)99;
  CHECK_INT(sb_encode_request(&r, &b, &d), SB_E_INVALID_ARGUMENT);
  CHECK_STR(d.path, "params.lifetime");
  p->lifetime = SB_LIFETIME_BROKER;
  p->program = NULL;
  CHECK_INT(sb_encode_request(&r, &b, &d), SB_E_INVALID_ARGUMENT);
  CHECK_STR(d.path, "params.program");
  p->program = "x.exe";
  r.method = SB_METHOD_COUNT;
  CHECK_INT(sb_encode_request(&r, &b, &d), SB_E_INVALID_ARGUMENT);
  CHECK_STR(d.path, "method");
  r.method = SB_METHOD_SPAWN;

  /* A request that goes through leaves derr cleared. */
  CHECK_INT(sb_encode_request(&r, &b, &d), 0);
  CHECK_INT(d.err, 0);
  CHECK_STR(d.path, "");
  CHECK_STR(d.detail, "");
  sb_buf_free(&b);
  CHECK_INT(sb_encode_request(NULL, &b, &d), SB_E_INVALID_ARGUMENT);
  CHECK_INT(d.err, SB_E_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------------ */
/* Results and the exit event                                               */

/* Encodes res as the reply to id, decodes it as the client would. *in must be
 * freed after *out. */
static int result_round_trip(const sb_result *res, sb_incoming *in, sb_result *out) {
  sb_id id;
  sb_id_set_number(&id, 77);
  sb_buf b;
  int rc = sb_encode_result(&id, res, &b);
  if (rc != 0) {
    SB__FAIL("encode: %s", sb_err_name(rc));
    return rc;
  }
  rc = sb_decode_incoming(b.data, b.len - 1, in);
  sb_buf_free(&b);
  if (rc != 0) {
    SB__FAIL("decode_incoming: %s", sb_err_name(rc));
    return rc;
  }
  if (in->kind != SB_INCOMING_RESULT || !sb_id_equal(&in->id, &id)) {
    SB__FAIL("not a result for id 77");
    sb_incoming_free(in);
    return -1;
  }
  rc = sb_decode_result(in, res->method, out);
  if (rc != 0) {
    SB__FAIL("decode_result: %s", sb_err_name(rc));
    sb_incoming_free(in);
  }
  return rc;
}

static void check_exit_equal(const sb_exit_info *e, const sb_exit_info *g) {
  CHECK_INT(g->pid, e->pid);
  CHECK_INT(g->exit_code, e->exit_code);
  CHECK_INT(g->wall_ms, e->wall_ms);
  CHECK_INT(g->cpu_user_us, e->cpu_user_us);
  CHECK_INT(g->cpu_kernel_us, e->cpu_kernel_us);
  CHECK_INT(g->peak_memory_bytes, e->peak_memory_bytes);
}

SB_TEST(hello_result_round_trips) {
  sb_result res, got;
  sb_incoming in;
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_HELLO;
  res.u.hello = (sb_hello_result){SB_PROTOCOL_VERSION, "0.1.0-dev+\xC3\xA9", 4294967295u,
                                  SB_TRANSFER_PUSH, SB_LIMIT_FRAME_BYTES, SB_LIMIT_HANDLES,
                                  SB_LIMIT_ARGS, 4294967295u};
  REQUIRE(result_round_trip(&res, &in, &got) == 0);
  CHECK_INT(got.method, SB_METHOD_HELLO);
  CHECK_INT(got.u.hello.protocol, 1);
  CHECK_STR(got.u.hello.broker_version, "0.1.0-dev+\xC3\xA9");
  CHECK_INT(got.u.hello.pid, 4294967295u);
  CHECK_INT(got.u.hello.transfer, SB_TRANSFER_PUSH);
  CHECK_INT(got.u.hello.max_frame_bytes, SB_LIMIT_FRAME_BYTES);
  CHECK_INT(got.u.hello.max_handles, SB_LIMIT_HANDLES);
  CHECK_INT(got.u.hello.max_args, SB_LIMIT_ARGS);
  CHECK_INT(got.u.hello.max_env, 4294967295u);
  sb_result_free(&got);
  sb_incoming_free(&in);
}

SB_TEST(spawn_result_round_trips) {
  sb_result res, got;
  sb_incoming in;
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_SPAWN;
  res.u.spawn.pid = 4294967295u;
  static char names[SB_LIMIT_HANDLES][8];
  for (size_t i = 0; i < SB_LIMIT_HANDLES; i++) {
    snprintf(names[i], sizeof names[i], "n%zu", i);
    res.u.spawn.handles[i] = (sb_child_handle){names[i], (int64_t)(0x100 + 4 * i)};
  }
  res.u.spawn.handles[0].value = SB_LIMIT_HANDLE_VALUE_MAX;
  res.u.spawn.nhandles = SB_LIMIT_HANDLES;
  REQUIRE(result_round_trip(&res, &in, &got) == 0);
  CHECK_INT(got.u.spawn.pid, 4294967295u);
  CHECK_INT(got.u.spawn.nhandles, SB_LIMIT_HANDLES);
  for (size_t i = 0; i < SB_LIMIT_HANDLES && i < got.u.spawn.nhandles; i++) {
    CHECK_STR(got.u.spawn.handles[i].name, names[i]);
    CHECK_INT(got.u.spawn.handles[i].value, res.u.spawn.handles[i].value);
  }
  sb_result_free(&got);
  sb_incoming_free(&in);

  res.u.spawn.nhandles = 0;
  res.u.spawn.pid = 8;
  REQUIRE(result_round_trip(&res, &in, &got) == 0);
  CHECK_INT(got.u.spawn.pid, 8);
  CHECK_INT(got.u.spawn.nhandles, 0);
  sb_result_free(&got);
  sb_incoming_free(&in);
}

SB_TEST(wait_result_round_trips_at_the_extremes) {
  sb_result res, got;
  sb_incoming in;
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_WAIT;
  res.u.wait = (sb_exit_info){4294967295u, 4294967295u, 9007199254740991u, 9007199254740991u,
                              9007199254740991u, 9007199254740991u};
  REQUIRE(result_round_trip(&res, &in, &got) == 0);
  check_exit_equal(&res.u.wait, &got.u.wait);
  sb_result_free(&got);
  sb_incoming_free(&in);

  /* Past 2^53 - 1 the counters saturate instead of losing digits. */
  res.u.wait = (sb_exit_info){1, 0, UINT64_MAX, 9007199254740992u, 0, 1};
  REQUIRE(result_round_trip(&res, &in, &got) == 0);
  CHECK_INT(got.u.wait.wall_ms, 9007199254740991u);
  CHECK_INT(got.u.wait.cpu_user_us, 9007199254740991u);
  CHECK_INT(got.u.wait.cpu_kernel_us, 0);
  CHECK_INT(got.u.wait.peak_memory_bytes, 1);
  CHECK_INT(got.u.wait.exit_code, 0);
  sb_result_free(&got);
  sb_incoming_free(&in);
}

SB_TEST(kill_and_ping_results_round_trip) {
  sb_result res, got;
  sb_incoming in;
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_KILL;
  res.u.kill = (sb_kill_result){4294967295u, true};
  REQUIRE(result_round_trip(&res, &in, &got) == 0);
  CHECK_INT(got.u.kill.pid, 4294967295u);
  CHECK(got.u.kill.killed);
  sb_result_free(&got);
  sb_incoming_free(&in);
  res.u.kill = (sb_kill_result){12, false};
  REQUIRE(result_round_trip(&res, &in, &got) == 0);
  CHECK_INT(got.u.kill.pid, 12);
  CHECK(!got.u.kill.killed);
  sb_result_free(&got);
  sb_incoming_free(&in);

  res.method = SB_METHOD_PING;
  REQUIRE(result_round_trip(&res, &in, &got) == 0);
  CHECK_INT(got.method, SB_METHOD_PING);
  sb_result_free(&got);
  sb_incoming_free(&in);
}

SB_TEST(list_result_round_trips) {
  sb_result res, got;
  sb_incoming in;
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_LIST;
  REQUIRE(result_round_trip(&res, &in, &got) == 0);
  CHECK_INT(got.u.list.nchildren, 0);
  sb_result_free(&got);
  sb_incoming_free(&in);

  sb_child_info kids[3] = {
      {4294967295u, "C:\\a b\\\xE2\x82\xAC.exe", SB_LIFETIME_BROKER, true, 0},
      {8, "b.exe", SB_LIFETIME_DETACHED, false, 4294967295u},
      {12, "c.exe", SB_LIFETIME_CONNECTION, false, 0},
  };
  res.u.list.children = kids;
  res.u.list.nchildren = 3;
  REQUIRE(result_round_trip(&res, &in, &got) == 0);
  REQUIRE(got.u.list.nchildren == 3);
  for (size_t i = 0; i < 3; i++) {
    CHECK_INT(got.u.list.children[i].pid, kids[i].pid);
    CHECK_STR(got.u.list.children[i].program, kids[i].program);
    CHECK_INT(got.u.list.children[i].lifetime, kids[i].lifetime);
    CHECK(got.u.list.children[i].running == kids[i].running);
    if (!kids[i].running) CHECK_INT(got.u.list.children[i].exit_code, kids[i].exit_code);
  }
  sb_result_free(&got);
  sb_incoming_free(&in);
}

SB_TEST(list_result_of_the_largest_size_round_trips) {
  sb_child_info *kids = calloc(SB_LIMIT_LIST_CHILDREN, sizeof *kids);
  REQUIRE(kids != NULL);
  for (size_t i = 0; i < SB_LIMIT_LIST_CHILDREN; i++)
    kids[i] = (sb_child_info){(uint32_t)(1000 + i), "p.exe", SB_LIFETIME_BROKER, i % 2 == 0,
                              (uint32_t)i};
  sb_result res, got;
  sb_incoming in;
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_LIST;
  res.u.list.children = kids;
  res.u.list.nchildren = SB_LIMIT_LIST_CHILDREN;
  if (result_round_trip(&res, &in, &got) == 0) {
    CHECK_INT(got.u.list.nchildren, SB_LIMIT_LIST_CHILDREN);
    if (got.u.list.nchildren == SB_LIMIT_LIST_CHILDREN) {
      CHECK_INT(got.u.list.children[(SB_LIMIT_LIST_CHILDREN - 1)].pid, 1000 + (SB_LIMIT_LIST_CHILDREN - 1));
      CHECK(!got.u.list.children[(SB_LIMIT_LIST_CHILDREN - 1)].running);
      CHECK_INT(got.u.list.children[(SB_LIMIT_LIST_CHILDREN - 1)].exit_code, (SB_LIMIT_LIST_CHILDREN - 1));
    }
    sb_result_free(&got);
    sb_incoming_free(&in);
  }
  free(kids);
}

SB_TEST(stats_result_round_trips) {
  sb_result res, got;
  sb_incoming in;
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_STATS;
  res.u.stats = (sb_stats_result){.uptime_ms = 9007199254740991u,
                                  .connections_current = 1,
                                  .connections_total = 2,
                                  .requests_total = 3,
                                  .errors_total = 4,
                                  .spawns_ok = 5,
                                  .spawns_failed = 6,
                                  .children_running = 7,
                                  .helpers_idle = 8,
                                  .helpers_busy = 9,
                                  .helpers_created = 10,
                                  .helpers_retired = UINT64_MAX,
                                  .limit_helpers = 12,
                                  .limit_idle_timeouts = 13};
  REQUIRE(result_round_trip(&res, &in, &got) == 0);
  const sb_stats_result *s = &got.u.stats;
  CHECK_INT(s->uptime_ms, 9007199254740991u);
  CHECK_INT(s->connections_current, 1);
  CHECK_INT(s->connections_total, 2);
  CHECK_INT(s->requests_total, 3);
  CHECK_INT(s->errors_total, 4);
  CHECK_INT(s->spawns_ok, 5);
  CHECK_INT(s->spawns_failed, 6);
  CHECK_INT(s->children_running, 7);
  CHECK_INT(s->helpers_idle, 8);
  CHECK_INT(s->helpers_busy, 9);
  CHECK_INT(s->helpers_created, 10);
  CHECK_INT(s->helpers_retired, 9007199254740991u);
  CHECK_INT(s->limit_helpers, 12);
  CHECK_INT(s->limit_idle_timeouts, 13);
  CHECK_INT(s->limit_connections, 0);
  sb_result_free(&got);
  sb_incoming_free(&in);
}

SB_TEST(exit_event_round_trips) {
  const sb_exit_info cases[] = {
      {4294967295u, 4294967295u, 9007199254740991u, 9007199254740991u, 9007199254740991u,
       9007199254740991u},
      {4, 0, 0, 0, 0, 0},
      {4242, 3221225477u /* STATUS_ACCESS_VIOLATION */, 1500, 31250, 15625, 2785280},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    sb_buf b;
    REQUIRE(sb_encode_exit_event(&cases[i], &b) == 0);
    sb_incoming in;
    int rc = sb_decode_incoming(b.data, b.len - 1, &in);
    sb_buf_free(&b);
    CHECK_INT(rc, 0);
    if (rc != 0) continue;
    CHECK_INT(in.kind, SB_INCOMING_EVENT);
    CHECK_INT(in.event, SB_EVENT_EXIT);
    check_exit_equal(&cases[i], &in.exit);
    sb_incoming_free(&in);
  }
}

SB_TEST_MAIN(SB_CASE(hello_round_trips), SB_CASE(parameterless_requests_round_trip),
             SB_CASE(wait_and_kill_round_trip), SB_CASE(spawn_with_no_optional_fields_round_trips),
             SB_CASE(spawn_with_every_field_round_trips),
             SB_CASE(encoder_refuses_what_the_broker_refuses),
             SB_CASE(encoder_refusals_carry_the_path_and_detail), SB_CASE(hello_result_round_trips),
             SB_CASE(spawn_result_round_trips), SB_CASE(wait_result_round_trips_at_the_extremes),
             SB_CASE(kill_and_ping_results_round_trip), SB_CASE(list_result_round_trips),
             SB_CASE(list_result_of_the_largest_size_round_trips),
             SB_CASE(stats_result_round_trips), SB_CASE(exit_event_round_trips))
