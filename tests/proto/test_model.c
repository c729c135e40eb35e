/*
 * The message model: enumeration names, parameter defaults, buffers, ids.
 */
#include "sb_proto.h"
#include "sb_test.h"

SB_TEST(method_names) {
  static const char *const names[] = {"hello", "spawn", "wait", "kill", "list", "stats", "ping"};
  CHECK_INT(SB_METHOD_COUNT, 7);
  for (int i = 0; i < (int)SB_METHOD_COUNT; i++) {
    CHECK_STR(sb_method_name((sb_method)i), names[i]);
    sb_method m = SB_METHOD_COUNT;
    CHECK_INT(sb_method_from_name(names[i], &m), 0);
    CHECK_INT(m, i);
  }
  CHECK(sb_method_name(SB_METHOD_COUNT) == NULL);
  CHECK(sb_method_name((sb_method)-1) == NULL);
  sb_method m = SB_METHOD_PING;
  CHECK_INT(sb_method_from_name("Hello", &m), SB_E_METHOD_NOT_FOUND);
  CHECK_INT(sb_method_from_name("hello ", &m), SB_E_METHOD_NOT_FOUND);
  CHECK_INT(sb_method_from_name("hell", &m), SB_E_METHOD_NOT_FOUND);
  CHECK_INT(sb_method_from_name("", &m), SB_E_METHOD_NOT_FOUND);
  CHECK_INT(sb_method_from_name("exit", &m), SB_E_METHOD_NOT_FOUND); /* an event, not a method */
  CHECK_INT(sb_method_from_name(NULL, &m), SB_E_METHOD_NOT_FOUND);
  CHECK_INT(m, SB_METHOD_PING); /* untouched on failure */
}

SB_TEST(transfer_and_lifetime_names) {
  CHECK_STR(sb_transfer_name(SB_TRANSFER_AUTO), "auto");
  CHECK_STR(sb_transfer_name(SB_TRANSFER_PULL), "pull");
  CHECK_STR(sb_transfer_name(SB_TRANSFER_PUSH), "push");
  CHECK(sb_transfer_name((sb_transfer)3) == NULL);
  CHECK_STR(sb_lifetime_name(SB_LIFETIME_BROKER), "broker");
  CHECK_STR(sb_lifetime_name(SB_LIFETIME_DETACHED), "detached");
  CHECK_STR(sb_lifetime_name(SB_LIFETIME_CONNECTION), "connection");
  CHECK(sb_lifetime_name((sb_lifetime)3) == NULL);
  CHECK(sb_lifetime_name((sb_lifetime)-1) == NULL);
}

SB_TEST(parameter_defaults) {
  sb_spawn_params p;
  memset(&p, 0x5A, sizeof p);
  sb_spawn_params_init(&p);
  CHECK(p.program == NULL && p.args == NULL && p.cwd == NULL && p.env == NULL);
  CHECK_INT(p.nargs, 0);
  CHECK_INT(p.nenv, 0);
  CHECK(!p.clear_env && !p.expand_handles && !p.notify_exit);
  CHECK_INT(p.nhandles, 0);
  for (size_t i = 0; i < SB_LIMIT_HANDLES; i++) {
    CHECK(p.handles[i].name == NULL);
    CHECK_INT(p.handles[i].value, 0);
    CHECK_INT(p.handles[i].fd, -1);
  }
  for (int i = 0; i < 3; i++) CHECK(p.std_names[i] == NULL);
  CHECK(p.handles_env == NULL);
  CHECK_INT(p.lifetime, SB_LIFETIME_BROKER);
  CHECK_INT(p.limits.memory_bytes, 0);
  CHECK_INT(p.limits.cpu_time_ms, 0);
  CHECK_INT(p.limits.processes, 0);

  sb_wait_params w;
  memset(&w, 0x5A, sizeof w);
  sb_wait_params_init(&w);
  CHECK_INT(w.pid, 0);
  CHECK_INT(w.timeout_ms, -1);

  sb_kill_params k;
  memset(&k, 0x5A, sizeof k);
  sb_kill_params_init(&k);
  CHECK_INT(k.pid, 0);
  CHECK_INT(k.exit_code, 1);
}

SB_TEST(request_init_applies_each_methods_defaults) {
  sb_request r;
  sb_request_init(&r, SB_METHOD_WAIT, 42);
  CHECK_INT(r.id.kind, SB_ID_NUMBER);
  CHECK_INT(r.id.number, 42);
  CHECK_INT(r.method, SB_METHOD_WAIT);
  CHECK_INT(r.params.wait.timeout_ms, -1);
  CHECK(r.sb__owned == NULL);
  sb_request_init(&r, SB_METHOD_KILL, 1);
  CHECK_INT(r.params.kill.exit_code, 1);
  sb_request_init(&r, SB_METHOD_SPAWN, 2);
  CHECK_INT(r.params.spawn.lifetime, SB_LIFETIME_BROKER);
  CHECK_INT(r.params.spawn.handles[SB_LIMIT_HANDLES - 1].fd, -1);
  CHECK(r.params.spawn.program == NULL);
}

SB_TEST(buf_free) {
  sb_buf b = {malloc(4), 3};
  REQUIRE(b.data != NULL);
  sb_buf_free(&b);
  CHECK(b.data == NULL);
  CHECK_INT(b.len, 0);
  sb_buf_free(&b); /* twice is harmless */
  sb_buf_free(NULL);
}

SB_TEST(ids) {
  sb_id a, b;
  memset(&a, 0x5A, sizeof a);
  sb_id_set_number(&a, 9007199254740991u);
  CHECK_INT(a.kind, SB_ID_NUMBER);
  CHECK_INT(a.number, 9007199254740991u);
  sb_id_set_number(&b, 9007199254740991u);
  CHECK(sb_id_equal(&a, &b));
  sb_id_set_number(&b, 9007199254740990u);
  CHECK(!sb_id_equal(&a, &b));

  char longest[SB_LIMIT_ID_BYTES + 2];
  memset(longest, 'x', sizeof longest);
  longest[SB_LIMIT_ID_BYTES] = '\0';
  CHECK_INT(sb_id_set_string(&a, longest), 0);
  CHECK_INT(a.kind, SB_ID_STRING);
  CHECK_STR(a.string, longest);
  longest[SB_LIMIT_ID_BYTES] = 'x';
  longest[SB_LIMIT_ID_BYTES + 1] = '\0';
  CHECK_INT(sb_id_set_string(&b, longest), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb_id_set_string(&b, NULL), SB_E_INVALID_ARGUMENT);

  CHECK_INT(sb_id_set_string(&a, "7"), 0);
  sb_id_set_number(&b, 7);
  CHECK(!sb_id_equal(&a, &b)); /* "7" and 7 are different ids */
  CHECK_INT(sb_id_set_string(&b, "7"), 0);
  CHECK(sb_id_equal(&a, &b));
  CHECK_INT(sb_id_set_string(&b, "7 "), 0);
  CHECK(!sb_id_equal(&a, &b));

  sb_id n1, n2;
  memset(&n1, 0, sizeof n1);
  memset(&n2, 0, sizeof n2);
  n2.number = 5; /* ignored for null ids */
  CHECK(sb_id_equal(&n1, &n2));
  CHECK(!sb_id_equal(&n1, &a));
  CHECK(sb_id_equal(NULL, NULL));
  CHECK(!sb_id_equal(&n1, NULL));
}

SB_TEST_MAIN(SB_CASE(method_names), SB_CASE(request_init_applies_each_methods_defaults), SB_CASE(transfer_and_lifetime_names),
             SB_CASE(parameter_defaults), SB_CASE(buf_free), SB_CASE(ids))
