/*
 * Every failure path of a spawn, and after each the broker is clean: the
 * error names the step, the helper holds none of the request's handles
 * (or was retired), the broker's handle count is back at its baseline, no
 * child is left suspended or running, and the next spawn succeeds.
 *
 * From inside: each step made to fail in turn through the test build's
 * fault points (broker/fault.h). Issue 5, TESTPLAN A4.
 * From outside: a client killed at each point of a request (D1, with
 * victim_client.exe) and a helper killed while leased (D2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "sb_test.h"
#include "spawn_fixture.h"

typedef struct faulty {
  sbt_broker b;
  sb_client *c;
  wchar_t file[MAX_PATH];
  DWORD helper;          /* the pool's one helper before the fault */
  size_t broker_base;    /* the broker's handle count before the fault */
  size_t helper_base;    /* the helper's */
  size_t helper_inh;     /* its inheritable ones: under Wine its three NUL
                          * std handles (see test_spawn.c, a4) */
} faulty;

static void write_spec(const faulty *f, const char *spec) {
  FILE *fp = _wfopen(f->file, L"w");
  if (fp == NULL) {
    SB__FAIL("cannot write the fault file");
    return;
  }
  fputs(spec, fp);
  fclose(fp);
}

/* A broker with one helper, a connection, one good spawn (which names the
 * helper), and the baselines, taken once nothing moves any more. */
static int faulty_start(faulty *f, const wchar_t *extra) {
  wchar_t dir[MAX_PATH], args[MAX_PATH * 2];
  static LONG n;
  memset(f, 0, sizeof *f);
  GetTempPathW(MAX_PATH, dir);
  _snwprintf(f->file, MAX_PATH, L"%lssb-fault-%lu-%ld.txt", dir, GetCurrentProcessId(),
             InterlockedIncrement(&n));
  f->file[MAX_PATH - 1] = L'\0';
  write_spec(f, "");
  _snwprintf(args, MAX_PATH * 2, L"--warm 1 --max-helpers 1 --test-fault-file \"%ls\" %ls",
             f->file, extra != NULL ? extra : L"");
  args[MAX_PATH * 2 - 1] = L'\0';
  if (sbt_broker_start_exe(&f->b, L"spawnbroker-test.exe", args) != 0) return SB_E_INTERNAL;
  if (sb_client_connect(f->b.pipe_utf8, 20000, &f->c) != 0) return SB_E_INTERNAL;
  f->helper = sbt_spawn_helper_pid(f->c);
  if (f->helper == 0) return SB_E_INTERNAL;
  f->broker_base = sbt_settled_count(f->b.pid);
  f->helper_base = sbt_settled_count(f->helper);
  f->helper_inh = sbt_count_inheritable(f->helper);
  return 0;
}

static void faulty_stop(faulty *f) {
  if (f->c != NULL) sb_client_close(f->c);
  sbt_broker_stop(&f->b);
  DeleteFileW(f->file);
}

/* A spawn of `sb_child sleep 60000` passing nhandles fresh events: a child
 * that lives on, so one a failure should have ended would still be seen. */
static int spawn_with_events(sb_client *c, int nhandles, sb_spawn_result *res) {
  static const char *const args[] = {"sleep", "60000"};
  static const char *const names[] = {"e0", "e1", "e2", "e3"};
  HANDLE ev[4];
  sb_spawn_params p;
  int rc;
  sbt_child_params(&p, args, 2);
  for (int i = 0; i < nhandles; i++) {
    ev[i] = CreateEventW(NULL, TRUE, FALSE, NULL);
    p.handles[i] = (sb_handle_spec){names[i], (int64_t)(intptr_t)ev[i], -1};
  }
  p.nhandles = (size_t)nhandles;
  rc = sb_client_spawn(c, &p, res);
  for (int i = 0; i < nhandles; i++) CloseHandle(ev[i]);
  return rc;
}

/* Polls cond every 100 ms; false when it has not held within 30 s. */
static bool wait_until(faulty *f, bool (*cond)(faulty *)) {
  for (int i = 0; i < 300; i++) {
    if (cond(f)) return true;
    Sleep(100);
  }
  return false;
}

/* Whether the broker lists a running child; *listed is false when the
 * list could not be had. */
static bool a_child_runs_listed(faulty *f, bool *listed) {
  sb_list_result list;
  bool running = false;
  *listed = sb_client_list(f->c, &list) == 0;
  if (!*listed) return false;
  for (size_t k = 0; k < list.nchildren; k++) running |= list.children[k].running;
  sb_client_list_free(&list);
  return running;
}

static bool a_child_runs(faulty *f) {
  bool listed;
  return a_child_runs_listed(f, &listed);
}

/* No child of the broker's runs: none in its list, none under the helper. */
static void check_no_child(faulty *f) {
  bool listed = true, running = true;
  for (int i = 0; i < 100 && running && listed; i++) {
    running = a_child_runs_listed(f, &listed);
    if (running) Sleep(100);
  }
  CHECK(!running);
  CHECK_INT(sbt_count_children(f->helper, L"sb_child.exe"), 0);
}

/* Everything that must hold after any failure. retired: the fault is one
 * after which the helper must not be used again. */
static void check_clean(faulty *f, bool retired) {
  HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, f->helper);
  if (retired) {
    CHECK(h == NULL || sbt_pid_exits(h, 10000));
  } else {
    CHECK(h != NULL && !sbt_pid_exits(h, 0));
    CHECK_INT(sbt_settled_count(f->helper), f->helper_base);
    CHECK_INT(sbt_count_inheritable(f->helper), f->helper_inh);
  }
  if (h != NULL) CloseHandle(h);
  check_no_child(f);
  CHECK_INT(sbt_settled_count(f->b.pid), f->broker_base);
  CHECK_INT(sbt_count_inheritable(f->b.pid), 0);
  /* And the broker serves on: the next spawn works. */
  CHECK(sbt_spawn_helper_pid(f->c) != 0);
}

/* One fault: `spec` armed, a spawn with nhandles handles expected to fail
 * with `err` and a detail containing `says`. */
static void one_fault(const char *spec, int nhandles, int err, const char *says, bool retired) {
  faulty f;
  sb_spawn_result res;
  const sb_rpc_error *e;
  REQUIRE(faulty_start(&f, NULL) == 0);
  write_spec(&f, spec);
  CHECK_INT(spawn_with_events(f.c, nhandles, &res), err);
  e = sb_client_last_error(f.c);
  if (err != 0 && (e == NULL || e->detail == NULL || strstr(e->detail, says) == NULL))
    SB__FAIL("%s: the error does not say \"%s\": %s", spec, says,
             e != NULL && e->detail != NULL ? e->detail : "(no detail)");
  if (err == 0) {
    sb_exit_info ex;
    CHECK_INT(sb_client_kill(f.c, res.pid, 0, NULL), 0);
    CHECK_INT(sb_client_wait(f.c, res.pid, 20000, &ex), 0);
  }
  write_spec(&f, "");
  check_clean(&f, retired);
  faulty_stop(&f);
}

SB_TEST(lease_fails) { one_fault("lease@1", 2, SB_E_HELPER_UNAVAILABLE, "no helper", false); }

SB_TEST(the_second_duplicate_from_the_client_fails) {
  one_fault("dup_from_client@2", 3, SB_E_HANDLE_NOT_FOUND, "e1 (", false);
}

SB_TEST(the_second_move_into_the_helper_fails) {
  one_fault("move_to_helper@2", 3, SB_E_INTERNAL, "cannot be moved into the helper", false);
}

SB_TEST(the_last_move_into_the_helper_fails) {
  one_fault("move_to_helper@3", 3, SB_E_INTERNAL, "e2 (", false);
}

SB_TEST(the_attribute_list_fails) {
  one_fault("attrs@1", 2, SB_E_SPAWN_FAILED, "attribute list", false);
}

SB_TEST(create_process_fails) {
  one_fault("create@1", 2, SB_E_SPAWN_FAILED, "CreateProcess failed", false);
}

/* Wine's start-up death (docs/wine.md): tried once more, and it works. */
SB_TEST(create_process_dying_at_start_up_is_tried_again) {
  one_fault("create_1359@1", 2, 0, "", false);
}

SB_TEST(create_process_dying_at_start_up_twice_fails) {
  one_fault("create_1359@*", 2, SB_E_SPAWN_FAILED, "1359", false);
}

SB_TEST(placing_the_child_in_its_job_fails) {
  one_fault("assign_job@1", 2, SB_E_SPAWN_FAILED, "its job", false);
}

SB_TEST(resuming_the_child_fails) {
  one_fault("resume@1", 2, SB_E_SPAWN_FAILED, "resumed", false);
}

/* A handle that cannot be closed in the helper retires the helper; the
 * spawn itself succeeded. */
SB_TEST(closing_a_handle_in_the_helper_fails) {
  one_fault("close_in_helper@2", 3, 0, "", true);
}

SB_TEST(watching_the_child_fails) {
  one_fault("exit_watch@1", 2, SB_E_INTERNAL, "tracked", false);
}

/* The spawn's result cannot be written: the child is ended (its client
 * never learns of it) and the connection closed. */
SB_TEST(writing_the_spawn_result_fails) {
  faulty f;
  sb_spawn_result res;
  sb_client *again = NULL;
  REQUIRE(faulty_start(&f, NULL) == 0);
  write_spec(&f, "reply@1");
  CHECK_INT(spawn_with_events(f.c, 2, &res), SB_E_CLOSED);
  write_spec(&f, "");
  sb_client_close(f.c);
  f.c = NULL;
  REQUIRE(sb_client_connect(f.b.pipe_utf8, 20000, &again) == 0);
  f.c = again;
  check_clean(&f, false);
  faulty_stop(&f);
}

/* hello: opening the client for pull transfer fails. auto falls back to
 * push, and a client that asks for pull is refused. (The second spec has a
 * different tail so that the file visibly changes.) */
SB_TEST(opening_the_client_fails) {
  faulty f;
  sb_client *c = NULL;
  sb_spawn_result res;
  sb_client_options o;
  REQUIRE(faulty_start(&f, NULL) == 0);
  write_spec(&f, "open_client@1");
  REQUIRE(sb_client_connect(f.b.pipe_utf8, 20000, &c) == 0);
  CHECK_INT(sb_client_hello_result(c)->transfer, SB_TRANSFER_PUSH);
  {
    /* Push mode passes files and pipes only. */
    static const char *const args[] = {"exit", "0"};
    sb_spawn_params p;
    HANDLE file = sbt_temp_file();
    sb_spawn_params_init(&p);
    p.program = sbt_child_path();
    p.args = args;
    p.nargs = 2;
    p.handles[0] = (sb_handle_spec){"file", (int64_t)(intptr_t)file, -1};
    p.nhandles = 1;
    CHECK_INT(sb_client_spawn(c, &p, &res), 0);
    CloseHandle(file);
  }
  sb_client_close(c);
  write_spec(&f, "open_client@1 again");
  sb_client_options_init(&o);
  o.transfer = SB_TRANSFER_PULL;
  CHECK_INT(sb_client_connect_ex(f.b.pipe_utf8, 20000, &o, &c), SB_E_TRANSFER_UNAVAILABLE);
  write_spec(&f, "");
  check_clean(&f, false);
  faulty_stop(&f);
}

/* ------------------------------------------------------------------------ */
/* Killed from outside                                                      */

/* Starts victim_client.exe MODE against f's broker and waits until it has
 * reached its point of the request; its process handle, or NULL. */
static HANDLE start_victim(const faulty *f, const char *mode) {
  static LONG n;
  wchar_t exe[MAX_PATH], cmd[MAX_PATH * 2];
  char name[64];
  HANDLE ready, wait[2];
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  snprintf(name, sizeof name, "sb-victim-%lu-%ld", GetCurrentProcessId(),
           InterlockedIncrement(&n));
  ready = CreateEventA(NULL, TRUE, FALSE, name);
  if (ready == NULL || sbt_exe_path(L"victim_client.exe", exe, MAX_PATH) != 0) return NULL;
  _snwprintf(cmd, MAX_PATH * 2, L"\"%ls\" %hs %ls %hs", exe, mode, f->b.pipe, name);
  cmd[MAX_PATH * 2 - 1] = L'\0';
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  if (!CreateProcessW(exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
    CloseHandle(ready);
    return NULL;
  }
  CloseHandle(pi.hThread);
  wait[0] = ready;
  wait[1] = pi.hProcess;
  if (WaitForMultipleObjects(2, wait, FALSE, 30000) != WAIT_OBJECT_0) {
    SB__FAIL("victim_client %s never got to its point", mode);
    TerminateProcess(pi.hProcess, 1);
    CloseHandle(pi.hProcess);
    pi.hProcess = NULL;
  }
  CloseHandle(ready);
  return pi.hProcess;
}

static void kill_process(HANDLE h) {
  TerminateProcess(h, 9);
  WaitForSingleObject(h, 10000);
  CloseHandle(h);
}

static bool helpers_busy_is(faulty *f, uint64_t n) {
  sb_stats_result st;
  return sb_client_stats(f->c, &st) == 0 && st.helpers_busy == n;
}

static bool a_helper_is_leased(faulty *f) { return helpers_busy_is(f, 1); }
static bool no_helper_is_leased(faulty *f) { return helpers_busy_is(f, 0); }
static bool only_the_tests_connection(faulty *f) {
  sb_stats_result st;
  return sb_client_stats(f->c, &st) == 0 && st.connections_current == 1;
}

/* One killed client: MODE's victim, killed once `then` holds (NULL: at
 * once), and the broker clean after it; `made` is how many children its
 * request made before it was killed (0 or 1). */
static void kill_client(const char *mode, const wchar_t *broker_args, bool (*then)(faulty *),
                        uint64_t made) {
  faulty f;
  HANDLE victim;
  sb_stats_result before, after;
  REQUIRE(faulty_start(&f, broker_args) == 0);
  REQUIRE(sb_client_stats(f.c, &before) == 0);
  victim = start_victim(&f, mode);
  REQUIRE(victim != NULL);
  if (then != NULL) CHECK(wait_until(&f, then));
  kill_process(victim);
  /* The connection goes first; a spawn in flight finishes after it. */
  CHECK(wait_until(&f, only_the_tests_connection));
  CHECK(wait_until(&f, no_helper_is_leased));
  REQUIRE(sb_client_stats(f.c, &after) == 0);
  CHECK_INT(after.spawns_ok - before.spawns_ok, made);
  CHECK_INT(after.spawns_failed - before.spawns_failed, made == 0 && then != NULL ? 1 : 0);
  check_clean(&f, false);
  faulty_stop(&f);
}

SB_TEST(d1_a_client_killed_in_the_middle_of_a_frame) { kill_client("mid-frame", NULL, NULL, 0); }

/* The broker holds the spawn (--test-spawn-delay-ms) after the lease and
 * before it takes the client's handles, whose process is gone by then. */
SB_TEST(d1_a_client_killed_while_its_spawn_is_in_flight) {
  kill_client("in-flight", L"--test-spawn-delay-ms 1500", a_helper_is_leased, 0);
}

/* The spawn is done and its reply sits unread in the pipe: the connection
 * child goes with the connection. */
SB_TEST(d1_a_client_killed_before_reading_its_reply) {
  kill_client("unread", NULL, a_child_runs, 1);
}

typedef struct leased_spawn {
  const char *pipe;
  int rc;
  char detail[256];
} leased_spawn;

static DWORD WINAPI leased_spawn_main(void *arg) {
  leased_spawn *ls = arg;
  sb_client *c = NULL;
  sb_spawn_result res;
  ls->rc = sb_client_connect(ls->pipe, 20000, &c);
  if (ls->rc != 0) return 0;
  ls->rc = spawn_with_events(c, 2, &res);
  if (ls->rc != 0) {
    const sb_rpc_error *e = sb_client_last_error(c);
    snprintf(ls->detail, sizeof ls->detail, "%s", e != NULL && e->detail ? e->detail : "");
  }
  sb_client_close(c);
  return 0;
}

/* D2: the helper dies under a spawn that has leased it. The spawn fails
 * (it cannot have a dead parent) with HelperUnavailable, not an error that
 * blames the request; the broker replaces the helper, and the next spawn
 * works. */
SB_TEST(d2_a_helper_killed_while_leased) {
  faulty f;
  leased_spawn ls = {0};
  HANDLE t, helper;
  REQUIRE(faulty_start(&f, L"--test-spawn-delay-ms 1500") == 0);
  ls.pipe = f.b.pipe_utf8;
  ls.rc = 1;
  helper = OpenProcess(PROCESS_TERMINATE | SYNCHRONIZE, FALSE, f.helper);
  REQUIRE(helper != NULL);
  t = CreateThread(NULL, 0, leased_spawn_main, &ls, 0, NULL);
  REQUIRE(t != NULL);
  CHECK(wait_until(&f, a_helper_is_leased));
  kill_process(helper);
  CHECK(WaitForSingleObject(t, 60000) == WAIT_OBJECT_0);
  CloseHandle(t);
  CHECK_INT(ls.rc, SB_E_HELPER_UNAVAILABLE);
  if (strstr(ls.detail, "helper process ended") == NULL)
    SB__FAIL("the error does not say the helper ended: %s", ls.detail);
  CHECK(wait_until(&f, only_the_tests_connection));
  check_clean(&f, true);
  faulty_stop(&f);
}

SB_TEST_MAIN(SB_CASE(lease_fails), SB_CASE(the_second_duplicate_from_the_client_fails),
             SB_CASE(the_second_move_into_the_helper_fails),
             SB_CASE(the_last_move_into_the_helper_fails), SB_CASE(the_attribute_list_fails),
             SB_CASE(create_process_fails),
             SB_CASE(create_process_dying_at_start_up_is_tried_again),
             SB_CASE(create_process_dying_at_start_up_twice_fails),
             SB_CASE(placing_the_child_in_its_job_fails), SB_CASE(resuming_the_child_fails),
             SB_CASE(closing_a_handle_in_the_helper_fails), SB_CASE(watching_the_child_fails),
             SB_CASE(writing_the_spawn_result_fails), SB_CASE(opening_the_client_fails),
             SB_CASE(d1_a_client_killed_in_the_middle_of_a_frame),
             SB_CASE(d1_a_client_killed_while_its_spawn_is_in_flight),
             SB_CASE(d1_a_client_killed_before_reading_its_reply),
             SB_CASE(d2_a_helper_killed_while_leased))
