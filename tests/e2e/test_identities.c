/*
 * Helpers pooled per identity and the per-identity limits, end to end.
 *
 * Wine has one user, so the test build of the broker is started with
 * --test-identity-by-client yes: clients that give different hello.client
 * names are different identities, exactly as two users (or two logon
 * sessions) would be. --test-spawn-delay-ms holds each leased helper for a
 * while, so spawns can be in flight at will.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "sb_test.h"
#include "spawn_fixture.h"

static int start(sbt_broker *b, const wchar_t *extra) {
  wchar_t args[512];
  _snwprintf(args, 512, L"--test-identity-by-client yes %ls", extra);
  args[511] = L'\0';
  return sbt_broker_start_exe(b, L"spawnbroker-test.exe", args);
}

static sb_client *connect_as(const sbt_broker *b, const char *name) {
  sb_client_options o;
  sb_client *c = NULL;
  int rc;
  sb_client_options_init(&o);
  o.client_name = name;
  rc = sb_client_connect_ex(b->pipe_utf8, 20000, &o, &c);
  if (rc != 0) fprintf(stderr, "connect as %s: %s\n", name, sb_err_name(rc));
  return rc == 0 ? c : NULL;
}

static bool in(const DWORD *set, size_t n, DWORD x) {
  for (size_t i = 0; i < n; i++)
    if (set[i] == x) return true;
  return false;
}

SB_TEST(helpers_never_serve_two_identities) {
  sbt_broker b;
  sb_client *alice, *bob;
  DWORD a[6], z[6];
  REQUIRE(start(&b, L"--warm 2") == 0);
  alice = connect_as(&b, "alice");
  bob = connect_as(&b, "bob");
  REQUIRE(alice != NULL && bob != NULL);
  /* Interleaved, so both pools are in use at the same time. */
  for (int i = 0; i < 6; i++) {
    a[i] = sbt_spawn_helper_pid(alice);
    z[i] = sbt_spawn_helper_pid(bob);
    CHECK(a[i] != 0 && z[i] != 0);
  }
  for (int i = 0; i < 6; i++) {
    if (in(z, 6, a[i])) SB__FAIL("helper %lu served both alice and bob", (unsigned long)a[i]);
  }
  sb_client_close(alice);
  sb_client_close(bob);
  sbt_broker_stop(&b);
}

typedef struct spawn_call {
  sb_client *c;
  int rc;
  HANDLE thread;
} spawn_call;

static DWORD WINAPI spawn_thread(void *arg) {
  spawn_call *sc = arg;
  sb_spawn_params p;
  sb_spawn_result res;
  const char *args[] = {"exit", "0"};
  sbt_child_params(&p, args, 2);
  sc->rc = sb_client_spawn(sc->c, &p, &res);
  return 0;
}

static void spawn_async(spawn_call *sc, sb_client *c) {
  sc->c = c;
  sc->rc = 1;
  sc->thread = CreateThread(NULL, 0, spawn_thread, sc, 0, NULL);
}

static int spawn_join(spawn_call *sc) {
  WaitForSingleObject(sc->thread, 60000);
  CloseHandle(sc->thread);
  return sc->rc;
}

/* Waits until the broker reports `busy` helpers leased (spawns holding
 * one, thanks to the delay hook). */
static bool wait_busy(sb_client *c, uint64_t busy) {
  for (int i = 0; i < 200; i++) {
    sb_stats_result st;
    if (sb_client_stats(c, &st) == 0 && st.helpers_busy >= busy) return true;
    Sleep(25);
  }
  return false;
}

static int spawn_exit0(sb_client *c) {
  spawn_call sc;
  spawn_async(&sc, c);
  return spawn_join(&sc);
}

SB_TEST(helpers_per_identity_at_the_limit_and_one_past) {
  sbt_broker b;
  sb_client *a1, *a2, *bob, *watch;
  spawn_call first;
  sb_stats_result st;
  REQUIRE(start(&b, L"--warm 0 --set pool.max_helpers_per_identity=1 --test-spawn-delay-ms 1500") ==
          0);
  a1 = connect_as(&b, "alice");
  a2 = connect_as(&b, "alice");
  bob = connect_as(&b, "bob");
  watch = connect_as(&b, "watch");
  REQUIRE(a1 && a2 && bob && watch);
  /* At the limit: alice's one helper is leased by a spawn in flight. */
  spawn_async(&first, a1);
  REQUIRE(wait_busy(watch, 1));
  /* One past it: alice's second spawn finds no helper; bob has his own. */
  CHECK_INT(spawn_exit0(a2), SB_E_HELPER_UNAVAILABLE);
  CHECK_INT(spawn_exit0(bob), 0);
  CHECK_INT(spawn_join(&first), 0);
  /* Once it is back, alice spawns again. */
  CHECK_INT(spawn_exit0(a2), 0);
  REQUIRE(sb_client_stats(watch, &st) == 0);
  CHECK_INT(st.limit_helpers, 1);
  sb_client_close(a1);
  sb_client_close(a2);
  sb_client_close(bob);
  sb_client_close(watch);
  sbt_broker_stop(&b);
}

SB_TEST(global_helper_limit_holds_across_identities) {
  sbt_broker b;
  sb_client *alice, *bob, *carol, *watch;
  spawn_call sa, sb;
  sb_stats_result st;
  REQUIRE(start(&b, L"--warm 0 --max-helpers 2 --test-spawn-delay-ms 1500") == 0);
  alice = connect_as(&b, "alice");
  bob = connect_as(&b, "bob");
  carol = connect_as(&b, "carol");
  watch = connect_as(&b, "watch");
  REQUIRE(alice && bob && carol && watch);
  spawn_async(&sa, alice);
  spawn_async(&sb, bob);
  REQUIRE(wait_busy(watch, 2));
  /* Two helpers alive in all: a third identity gets none. */
  CHECK_INT(spawn_exit0(carol), SB_E_HELPER_UNAVAILABLE);
  CHECK_INT(spawn_join(&sa), 0);
  CHECK_INT(spawn_join(&sb), 0);
  REQUIRE(sb_client_stats(watch, &st) == 0);
  CHECK_INT(st.limit_helpers, 1);
  sb_client_close(alice);
  sb_client_close(bob);
  sb_client_close(carol);
  sb_client_close(watch);
  sbt_broker_stop(&b);
}

SB_TEST(connections_per_identity_at_the_limit_and_one_past) {
  sbt_broker b;
  sb_client *a[3] = {NULL, NULL, NULL}, *bob, *again;
  sb_stats_result st;
  REQUIRE(start(&b, L"--set limits.connections_per_identity=2") == 0);
  a[0] = connect_as(&b, "alice");
  a[1] = connect_as(&b, "alice");
  REQUIRE(a[0] && a[1]);
  /* The third is refused at hello, naming the limit. */
  {
    sb_client_options o;
    sb_client_options_init(&o);
    o.client_name = "alice";
    CHECK_INT(sb_client_connect_ex(b.pipe_utf8, 20000, &o, &a[2]), SB_E_LIMIT_REACHED);
  }
  if (sb_client_last_error(NULL) == NULL ||
      strstr(sb_client_last_error(NULL)->detail ? sb_client_last_error(NULL)->detail : "",
             "limits.connections_per_identity") == NULL)
    SB__FAIL("the refusal does not name the limit");
  /* Another identity is not affected. */
  bob = connect_as(&b, "bob");
  CHECK(bob != NULL);
  /* A slot of alice's frees when one of her connections closes. */
  sb_client_close(a[0]);
  again = NULL;
  for (int i = 0; i < 100 && again == NULL; i++) {
    sb_client_options o;
    sb_client_options_init(&o);
    o.client_name = "alice";
    if (sb_client_connect_ex(b.pipe_utf8, 20000, &o, &again) != 0) Sleep(50);
  }
  CHECK(again != NULL);
  REQUIRE(sb_client_stats(bob, &st) == 0);
  CHECK(st.limit_connections_per_identity >= 1);
  sb_client_close(again);
  sb_client_close(a[1]);
  sb_client_close(bob);
  sbt_broker_stop(&b);
}

SB_TEST(spawns_in_flight_per_identity_at_the_limit_and_one_past) {
  sbt_broker b;
  sb_client *a[3], *bob, *watch;
  spawn_call s0, s1;
  sb_stats_result st;
  REQUIRE(start(&b, L"--set limits.spawns_in_flight_per_identity=2 --test-spawn-delay-ms 1500") ==
          0);
  for (int i = 0; i < 3; i++) a[i] = connect_as(&b, "alice");
  bob = connect_as(&b, "bob");
  watch = connect_as(&b, "watch");
  REQUIRE(a[0] && a[1] && a[2] && bob && watch);
  spawn_async(&s0, a[0]);
  spawn_async(&s1, a[1]);
  REQUIRE(wait_busy(watch, 2));
  CHECK_INT(spawn_exit0(a[2]), SB_E_LIMIT_REACHED);
  CHECK_INT(spawn_exit0(bob), 0);
  CHECK_INT(spawn_join(&s0), 0);
  CHECK_INT(spawn_join(&s1), 0);
  CHECK_INT(spawn_exit0(a[2]), 0);
  REQUIRE(sb_client_stats(watch, &st) == 0);
  CHECK_INT(st.limit_spawns_in_flight, 1);
  for (int i = 0; i < 3; i++) sb_client_close(a[i]);
  sb_client_close(bob);
  sb_client_close(watch);
  sbt_broker_stop(&b);
}

/* Spawns `sb_child sleep 60000` with the broker lifetime; its pid or 0. */
static DWORD spawn_sleeper(sb_client *c, int *rc) {
  sb_spawn_params p;
  sb_spawn_result res;
  const char *args[] = {"sleep", "60000"};
  sbt_child_params(&p, args, 2);
  *rc = sb_client_spawn(c, &p, &res);
  return *rc == 0 ? res.pid : 0;
}

SB_TEST(children_per_identity_at_the_limit_and_one_past) {
  sbt_broker b;
  sb_client *alice, *bob;
  DWORD kids[2];
  sb_exit_info ex;
  sb_stats_result st;
  int rc;
  REQUIRE(start(&b, L"--set limits.children_per_identity=2") == 0);
  alice = connect_as(&b, "alice");
  bob = connect_as(&b, "bob");
  REQUIRE(alice && bob);
  kids[0] = spawn_sleeper(alice, &rc);
  kids[1] = spawn_sleeper(alice, &rc);
  REQUIRE(kids[0] != 0 && kids[1] != 0);
  spawn_sleeper(alice, &rc);
  CHECK_INT(rc, SB_E_LIMIT_REACHED);
  /* bob has children of his own to count. */
  {
    DWORD k = spawn_sleeper(bob, &rc);
    CHECK_INT(rc, 0);
    if (k != 0) {
      sb_client_kill(bob, k, 0, NULL);
      sb_client_wait(bob, k, 20000, &ex);
    }
  }
  /* A child that was waited for no longer counts. */
  REQUIRE(sb_client_kill(alice, kids[0], 0, NULL) == 0);
  REQUIRE(sb_client_wait(alice, kids[0], 20000, &ex) == 0);
  kids[0] = spawn_sleeper(alice, &rc);
  CHECK_INT(rc, 0);
  REQUIRE(sb_client_stats(bob, &st) == 0);
  CHECK_INT(st.limit_children, 1);
  for (int i = 0; i < 2; i++) {
    if (kids[i] == 0) continue;
    sb_client_kill(alice, kids[i], 0, NULL);
    sb_client_wait(alice, kids[i], 20000, &ex);
  }
  sb_client_close(alice);
  sb_client_close(bob);
  sbt_broker_stop(&b);
}

SB_TEST(handles_per_request_at_the_limit_and_one_past) {
  sbt_broker b;
  sb_client *c;
  sb_spawn_params p;
  sb_spawn_result res;
  sbt_child_report rep;
  sb_stats_result st;
  HANDLE ev[3];
  REQUIRE(start(&b, L"--set limits.handles_per_request=3") == 0);
  c = connect_as(&b, "alice");
  REQUIRE(c != NULL);
  CHECK_INT(sb_client_hello_result(c)->max_handles, 3);
  for (int i = 0; i < 3; i++) ev[i] = CreateEventW(NULL, TRUE, FALSE, NULL);
  /* At the limit: two events and the report pipe. */
  sb_spawn_params_init(&p);
  p.handles[0] = (sb_handle_spec){"e0", (int64_t)(intptr_t)ev[0], -1};
  p.handles[1] = (sb_handle_spec){"e1", (int64_t)(intptr_t)ev[1], -1};
  p.nhandles = 2;
  if (sbt_spawn_report(c, &p, &res, &rep) == 0)
    sbt_child_report_free(&rep);
  else
    SB__FAIL("a spawn with 3 handles failed");
  /* One past it. */
  sb_spawn_params_init(&p);
  p.handles[0] = (sb_handle_spec){"e0", (int64_t)(intptr_t)ev[0], -1};
  p.handles[1] = (sb_handle_spec){"e1", (int64_t)(intptr_t)ev[1], -1};
  p.handles[2] = (sb_handle_spec){"e2", (int64_t)(intptr_t)ev[2], -1};
  p.nhandles = 3;
  CHECK_INT(sbt_spawn_report(c, &p, &res, &rep), SB_E_TOO_MANY_HANDLES);
  REQUIRE(sb_client_stats(c, &st) == 0);
  CHECK_INT(st.limit_handles, 1);
  for (int i = 0; i < 3; i++) CloseHandle(ev[i]);
  sb_client_close(c);
  sbt_broker_stop(&b);
}

SB_TEST(an_identitys_helpers_end_after_pool_idle_ms) {
  sbt_broker b;
  sb_client *alice, *bob;
  DWORD ha, hb;
  HANDLE pa, pb;
  /* --warm 0: each pool holds exactly the helpers its spawns made, so
   * "the same helper" is well defined. */
  REQUIRE(start(&b, L"--warm 0 --set pool.idle_ms=300") == 0);
  alice = connect_as(&b, "alice");
  bob = connect_as(&b, "bob");
  REQUIRE(alice && bob);
  ha = sbt_spawn_helper_pid(alice);
  hb = sbt_spawn_helper_pid(bob);
  REQUIRE(ha != 0 && hb != 0);
  pa = OpenProcess(SYNCHRONIZE, FALSE, ha);
  pb = OpenProcess(SYNCHRONIZE, FALSE, hb);
  REQUIRE(pa != NULL && pb != NULL);
  /* alice leaves: her helpers go once the pool has been idle 300 ms;
   * bob, still connected, keeps his. */
  sb_client_close(alice);
  CHECK(sbt_pid_exits(pa, 20000));
  CHECK(!sbt_pid_exits(pb, 1000));
  CHECK_INT(sbt_spawn_helper_pid(bob), hb);
  CloseHandle(pa);
  CloseHandle(pb);
  sb_client_close(bob);
  sbt_broker_stop(&b);
}

SB_TEST(helpers_stay_while_pool_idle_ms_has_not_passed) {
  sbt_broker b;
  sb_client *alice;
  DWORD h;
  HANDLE ph;
  REQUIRE(start(&b, L"--warm 0 --set pool.idle_ms=60000") == 0);
  alice = connect_as(&b, "alice");
  REQUIRE(alice != NULL);
  h = sbt_spawn_helper_pid(alice);
  REQUIRE(h != 0);
  ph = OpenProcess(SYNCHRONIZE, FALSE, h);
  REQUIRE(ph != NULL);
  sb_client_close(alice);
  CHECK(!sbt_pid_exits(ph, 1500));
  /* Coming back within the time finds the same helper. */
  alice = connect_as(&b, "alice");
  REQUIRE(alice != NULL);
  CHECK_INT(sbt_spawn_helper_pid(alice), h);
  CloseHandle(ph);
  sb_client_close(alice);
  sbt_broker_stop(&b);
}

SB_TEST_MAIN(SB_CASE(helpers_never_serve_two_identities),
             SB_CASE(helpers_per_identity_at_the_limit_and_one_past),
             SB_CASE(global_helper_limit_holds_across_identities),
             SB_CASE(connections_per_identity_at_the_limit_and_one_past),
             SB_CASE(spawns_in_flight_per_identity_at_the_limit_and_one_past),
             SB_CASE(children_per_identity_at_the_limit_and_one_past),
             SB_CASE(handles_per_request_at_the_limit_and_one_past),
             SB_CASE(an_identitys_helpers_end_after_pool_idle_ms),
             SB_CASE(helpers_stay_while_pool_idle_ms_has_not_passed))
