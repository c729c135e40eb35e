/*
 * The graceful stop, in the console: Ctrl-C in the broker's console (SIGINT
 * for libuv) takes the same path as a service stop (tests/e2e/
 * test_service.c has those). Ctrl-Break (SIGBREAK) takes it too, but Wine
 * 8.0 cannot deliver one (docs/wine.md), so only Ctrl-C is tested here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

#include "sb_errors.h"
#include "held_spawn.h"
#include "sb_test.h"
#include "spawn_fixture.h"
#include "sb_win_test.h"
#include "spawnclient.h"

static const char *child_path_utf8;

/* sb_child.exe, next to the test program (spawn_fixture.h). */
static bool find_child(void) {
  child_path_utf8 = sbt_child_path();
  return GetFileAttributesA(child_path_utf8) != INVALID_FILE_ATTRIBUTES;
}

static HANDLE spawn_sleeper(sb_client *c, sb_lifetime lifetime) {
  static const char *const args[] = {"sleep", "600000"};
  sb_spawn_params p;
  sb_spawn_result res;
  sb_spawn_params_init(&p);
  p.program = child_path_utf8;
  p.args = args;
  p.nargs = 2;
  p.lifetime = lifetime;
  if (sb_client_spawn(c, &p, &res) != 0) return NULL;
  return OpenProcess(SYNCHRONIZE | PROCESS_TERMINATE, FALSE, res.pid);
}

typedef struct ctrl_obs {
  HANDLE broker, broker_child, connection_child, detached_child;
  HANDLE helpers[64];
  size_t nhelpers;
  int interrupt_rc;
  DWORD exit_code;
} ctrl_obs;

static void interrupt_console_broker(sbt_broker *b, sbt_console *con, const wchar_t *log,
                                     ctrl_obs *o) {
  wchar_t args[600];
  sb_client *c = NULL;
  _snwprintf(args, 600, L"--warm 1 --log-level debug --log-file \"%ls\"", log);
  REQUIRE(sbt_broker_start_console(b, L"spawnbroker.exe", args, con) == 0);
  REQUIRE(DuplicateHandle(GetCurrentProcess(), b->process, GetCurrentProcess(), &o->broker, 0,
                          FALSE, DUPLICATE_SAME_ACCESS));
  REQUIRE(sb_client_connect(b->pipe_utf8, 30000, &c) == 0);
  sb_client_set_call_timeout(c, 60000);
  o->broker_child = spawn_sleeper(c, SB_LIFETIME_BROKER);
  o->connection_child = spawn_sleeper(c, SB_LIFETIME_CONNECTION);
  o->detached_child = spawn_sleeper(c, SB_LIFETIME_DETACHED);
  CHECK(o->broker_child != NULL && o->connection_child != NULL && o->detached_child != NULL);
  o->nhelpers = sbt_open_children(b->pid, L"spawnbroker-helper.exe", o->helpers, 64);
  CHECK(o->nhelpers >= 1);
  o->interrupt_rc = sbt_console_interrupt(con, 120000, &o->exit_code);
  sb_client_close(c);
}

SB_TEST(ctrl_c_stops_a_console_broker_gracefully) {
  sbt_broker b;
  sbt_console con;
  ctrl_obs o;
  wchar_t log[MAX_PATH], tmp[MAX_PATH];
  char *text;
  bool detached_alive;

  memset(&o, 0, sizeof o);
  memset(&b, 0, sizeof b);
  memset(&con, 0, sizeof con);
  REQUIRE(find_child());
  GetTempPathW(MAX_PATH, tmp);
  _snwprintf(log, MAX_PATH, L"%lssbt-ctrl-c-%lu.log", tmp, GetCurrentProcessId());
  DeleteFileW(log);
  interrupt_console_broker(&b, &con, log, &o);
  detached_alive = o.detached_child != NULL && WaitForSingleObject(o.detached_child, 0) == WAIT_TIMEOUT;
  if (o.detached_child != NULL) TerminateProcess(o.detached_child, 1);
  sbt_console_close(&con, &b);
  text = sbt_read_text_file(log);
  DeleteFileW(log);

  CHECK_INT(o.interrupt_rc, 0);
  CHECK_INT(o.exit_code, 0);
  CHECK(o.broker != NULL && WaitForSingleObject(o.broker, 0) == WAIT_OBJECT_0);
  /* Helpers and broker children die with the broker; connection children
   * with their connection; the detached child lived on until killed. */
  CHECK(sbt_all_exit(o.helpers, o.nhelpers, 30000));
  CHECK(o.broker_child != NULL && WaitForSingleObject(o.broker_child, 30000) == WAIT_OBJECT_0);
  CHECK(o.connection_child != NULL && WaitForSingleObject(o.connection_child, 30000) == WAIT_OBJECT_0);
  CHECK(detached_alive);
  CHECK(text != NULL);
  CHECK_INT(sbt_count_lines(text, "info: Ctrl-C: stopping"), 1);
  CHECK_INT(sbt_count_lines(text, "info: stopped"), 1);
  free(text);
  if (o.detached_child != NULL) WaitForSingleObject(o.detached_child, 10000);
  sbt_close_all(o.helpers, o.nhelpers);
  if (o.broker != NULL) CloseHandle(o.broker);
  if (o.broker_child != NULL) CloseHandle(o.broker_child);
  if (o.connection_child != NULL) CloseHandle(o.connection_child);
  if (o.detached_child != NULL) CloseHandle(o.detached_child);
}

/* libuv's default thread pool has 4 threads: of 6 spawns held at the gate,
 * 4 run (held) and 2 wait in libuv's queue, never started. */
#define HELD 4
#define SPAWNERS 6

typedef struct bound_obs {
  HANDLE broker;
  HANDLE helpers[64];
  size_t nhelpers;
  sbt_spawner sp[SPAWNERS];
  int interrupt_rc;
  DWORD exit_code;
} bound_obs;

static void interrupt_past_the_bound(sbt_broker *b, sbt_console *con, const sbt_gate *g,
                                     const wchar_t *log, bound_obs *o) {
  wchar_t args[800];
  _snwprintf(args, 800,
             L"--warm 1 --log-level debug --log-file \"%ls\" --set stop.drain_ms=1500 "
             L"--test-spawn-gate %ls",
             log, g->name);
  REQUIRE(sbt_broker_start_console(b, L"spawnbroker-test.exe", args, con) == 0);
  REQUIRE(DuplicateHandle(GetCurrentProcess(), b->process, GetCurrentProcess(), &o->broker, 0,
                          FALSE, DUPLICATE_SAME_ACCESS));
  for (int i = 0; i < SPAWNERS; i++)
    REQUIRE(sbt_spawner_start(&o->sp[i], b->pipe_utf8, child_path_utf8));
  REQUIRE(sbt_wait_held(log, HELD, 60000));
  /* Time for the other two to be queued behind them. */
  Sleep(500);
  o->nhelpers = sbt_open_children(b->pid, L"spawnbroker-helper.exe", o->helpers, 64);
  o->interrupt_rc = sbt_console_interrupt(con, 120000, &o->exit_code);
  for (int i = 0; i < SPAWNERS; i++) CHECK(sbt_spawner_join(&o->sp[i], 100000));
}

SB_TEST(ctrl_c_past_stop_drain_ms_cuts_running_spawns_off_and_cancels_queued_ones) {
  sbt_broker b;
  sbt_console con;
  sbt_gate g;
  bound_obs o;
  wchar_t log[MAX_PATH], tmp[MAX_PATH];
  char *text;
  int cut = 0, cancelled = 0;

  memset(&o, 0, sizeof o);
  memset(&b, 0, sizeof b);
  memset(&con, 0, sizeof con);
  REQUIRE(find_child());
  REQUIRE(sbt_gate_create(&g));
  GetTempPathW(MAX_PATH, tmp);
  _snwprintf(log, MAX_PATH, L"%lssbt-drain-%lu.log", tmp, GetCurrentProcessId());
  DeleteFileW(log);
  /* The gate is never opened: only stop.drain_ms ends the drain. */
  interrupt_past_the_bound(&b, &con, &g, log, &o);
  sbt_console_close(&con, &b);
  for (int i = 0; i < SPAWNERS; i++) sbt_spawner_join(&o.sp[i], 30000);
  sbt_gate_close(&g);
  text = sbt_read_text_file(log);
  DeleteFileW(log);

  CHECK_INT(o.interrupt_rc, 0);
  CHECK_INT(o.exit_code, 0);
  for (int i = 0; i < SPAWNERS; i++) {
    if (o.sp[i].rc == SB_E_SPAWN_FAILED &&
        strstr(o.sp[i].err_detail, "the broker stopped before this spawn finished (stop.drain_ms)"))
      cut++;
    else if (o.sp[i].rc == SB_E_SHUTTING_DOWN &&
             strstr(o.sp[i].err_detail, "the broker stopped before this spawn started"))
      cancelled++;
    else
      SB__FAIL("spawner %d: rc %d %s %s", i, o.sp[i].rc, o.sp[i].err_name, o.sp[i].err_detail);
  }
  CHECK_INT(cut, HELD);
  CHECK_INT(cancelled, SPAWNERS - HELD);
  CHECK(o.broker != NULL && WaitForSingleObject(o.broker, 0) == WAIT_OBJECT_0);
  CHECK(o.nhelpers >= 1);
  CHECK(sbt_all_exit(o.helpers, o.nhelpers, 30000));
  CHECK(text != NULL);
  CHECK_INT(sbt_count_lines(text, "stop: waiting up to 1500 ms (stop.drain_ms) for 6 spawn(s) in "
                                  "flight"), 1);
  CHECK_INT(sbt_count_lines(text, "6 spawn(s) still in flight after stop.drain_ms (1500 ms); "
                                  "cutting them off"), 1);
  CHECK_INT(sbt_count_lines(text, "stop: gave up on the spawn of"), HELD);
  CHECK_INT(sbt_count_lines(text, "info: stopped (4 spawn(s) cut off at stop.drain_ms)"), 1);
  free(text);
  sbt_close_all(o.helpers, o.nhelpers);
  if (o.broker != NULL) CloseHandle(o.broker);
}

SB_TEST_MAIN(SB_CASE(ctrl_c_stops_a_console_broker_gracefully),
             SB_CASE(ctrl_c_past_stop_drain_ms_cuts_running_spawns_off_and_cancels_queued_ones))
