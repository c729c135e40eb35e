/*
 * spawnbroker as a Windows service, driven through the SCM under Wine
 * (TESTPLAN D7): install under a unique name, check what the SCM and the
 * registry hold, start, spawn through the service with the client library
 * and with spawnctl, stop (also while spawns are in flight, and past the
 * drain bound), uninstall.
 *
 * Every case runs its steps in a function of its own, so a failed REQUIRE
 * leaves that function only: the case then always cleans up (svct_cleanup
 * stops, kills and deletes whatever is left) before its final checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>
/* After windows.h. */
#include <aclapi.h>
#include <sddl.h>
#include <shlobj.h>

#include "messages.h"
#include "held_spawn.h"
#include "sb_errors.h"
#include "sb_test.h"
#include "spawn_fixture.h"
#include "service_fixture.h"
#include "spawnclient.h"

static wchar_t child_path[MAX_PATH];
static const char *child_path_utf8;

/* sb_child.exe, next to the test program (spawn_fixture.h). */
static bool find_child(void) {
  child_path_utf8 = sbt_child_path();
  return MultiByteToWideChar(CP_UTF8, 0, child_path_utf8, -1, child_path, MAX_PATH) > 0 &&
         GetFileAttributesW(child_path) != INVALID_FILE_ATTRIBUTES;
}

/* The pid in "... (pid N)", or 0. */
static DWORD pid_in(const char *text) {
  const char *p = strstr(text, "(pid ");
  return p != NULL ? (DWORD)strtoul(p + 5, NULL, 10) : 0;
}

/* A child through the client library: sb_child.exe with args. */
static int spawn_child(sb_client *c, sb_lifetime lifetime, const char *const *args, size_t nargs,
                       sb_spawn_result *res) {
  sb_spawn_params p;
  sb_spawn_params_init(&p);
  p.program = child_path_utf8;
  p.args = args;
  p.nargs = nargs;
  p.lifetime = lifetime;
  return sb_client_spawn(c, &p, res);
}

/* text is exactly one line, want, as the C runtime writes it to a pipe in
 * text mode (CRLF). */
static bool is_line(const char *text, const char *want) {
  size_t n = strlen(want);
  return strncmp(text, want, n) == 0 && strcmp(text + n, "\r\n") == 0;
}

static HANDLE open_pid(DWORD pid) {
  return OpenProcess(SYNCHRONIZE | PROCESS_TERMINATE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
                     pid);
}

/* ------------------------------------------------------------------------ */
/* D7: the whole life of a service                                          */

typedef struct lifecycle_obs {
  DWORD service_pid;
  HANDLE service_process;
  HANDLE helpers[64];
  size_t nhelpers;
  HANDLE broker_child, detached_child;
} lifecycle_obs;

/* What install recorded with the SCM, and in the registry for the event
 * source. */
static void check_installed_config(const svct *s, const sbt_run *install) {
  static BYTE buf[16384];
  wchar_t exe[MAX_PATH], want[MAX_PATH * 3];
  SC_HANDLE mgr = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT), svc;
  QUERY_SERVICE_CONFIGW *cfg = (QUERY_SERVICE_CONFIGW *)buf;
  DWORD n = 0, type = 0, types = 0, len;
  HKEY key;
  wchar_t keypath[256], value[MAX_PATH * 2];

  REQUIRE(mgr != NULL);
  svc = OpenServiceW(mgr, s->wname, SERVICE_QUERY_CONFIG);
  REQUIRE(svc != NULL);
  REQUIRE(sbt_exe_path(s->exe, exe, MAX_PATH) == 0);
  /* The binary path, quoted, then the config file by its full path
   * (quoted only when it has to be). */
  if (wcschr(s->config, L' ') != NULL)
    _snwprintf(want, MAX_PATH * 3, L"\"%ls\" --config \"%ls\"", exe, s->config);
  else
    _snwprintf(want, MAX_PATH * 3, L"\"%ls\" --config %ls", exe, s->config);
  CHECK(QueryServiceConfigW(svc, cfg, sizeof buf, &n));
  CHECK(wcscmp(cfg->lpBinaryPathName, want) == 0);
  if (wcscmp(cfg->lpBinaryPathName, want) != 0)
    fprintf(stderr, "binary path %ls, expected %ls\n", cfg->lpBinaryPathName, want);
  CHECK_INT(cfg->dwStartType, SERVICE_DEMAND_START);
  CHECK_INT(cfg->dwServiceType, SERVICE_WIN32_OWN_PROCESS);
  CHECK(cfg->lpServiceStartName != NULL && _wcsicmp(cfg->lpServiceStartName, L"LocalSystem") == 0);
  /* The description names the pipe. */
  CHECK(QueryServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, buf, sizeof buf, &n));
  {
    char desc[1024];
    WideCharToMultiByte(CP_UTF8, 0, ((SERVICE_DESCRIPTIONW *)buf)->lpDescription, -1, desc,
                        sizeof desc, NULL, NULL);
    CHECK(strstr(desc, s->pipe) != NULL);
  }
  /* Recovery actions: Wine 8.0 accepts them without storing them and
   * refuses the non-crash flag (docs/wine.md), so there install says so
   * and nothing can be read back. */
  if (sbt_under_wine()) {
    CHECK(!QueryServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, buf, sizeof buf, &n));
    CHECK_INT(GetLastError(), ERROR_INVALID_LEVEL);
    CHECK(strstr(install->err, "warning: recovery after a stop with an error exit code was not "
                               "set") != NULL);
  } else {
    SERVICE_FAILURE_ACTIONSW *fa = (SERVICE_FAILURE_ACTIONSW *)buf;
    CHECK_STR(install->err, "");
    CHECK(QueryServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, buf, sizeof buf, &n));
    CHECK_INT(fa->dwResetPeriod, 86400);
    CHECK_INT(fa->cActions, 3);
    if (fa->cActions == 3) {
      CHECK_INT(fa->lpsaActions[0].Type, SC_ACTION_RESTART);
      CHECK_INT(fa->lpsaActions[0].Delay, 5000);
      CHECK_INT(fa->lpsaActions[1].Type, SC_ACTION_RESTART);
      CHECK_INT(fa->lpsaActions[1].Delay, 30000);
      CHECK_INT(fa->lpsaActions[2].Type, SC_ACTION_NONE);
    }
    CHECK(QueryServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, buf, sizeof buf, &n));
    CHECK(((SERVICE_FAILURE_ACTIONS_FLAG *)buf)->fFailureActionsOnNonCrashFailures);
  }
  CloseServiceHandle(svc);
  CloseServiceHandle(mgr);

  /* The event source: the broker's own exe holds the message table. */
  _snwprintf(keypath, 256, L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\%ls",
             s->wname);
  REQUIRE(RegOpenKeyExW(HKEY_LOCAL_MACHINE, keypath, 0, KEY_READ, &key) == ERROR_SUCCESS);
  len = sizeof value;
  CHECK(RegQueryValueExW(key, L"EventMessageFile", NULL, &type, (BYTE *)value, &len) ==
        ERROR_SUCCESS);
  CHECK_INT(type, REG_EXPAND_SZ);
  CHECK(_wcsicmp(value, exe) == 0);
  len = sizeof types;
  CHECK(RegQueryValueExW(key, L"TypesSupported", NULL, &type, (BYTE *)&types, &len) ==
        ERROR_SUCCESS);
  CHECK_INT(type, REG_DWORD);
  CHECK_INT(types, 7);
  RegCloseKey(key);
}

/* What the Event Viewer does with an event: its text from the message
 * table in EventMessageFile. */
static void check_message_table(const svct *s) {
  wchar_t exe[MAX_PATH], text[512];
  static wchar_t insertion[] = L"sbt (pid 1)";
  DWORD_PTR ins[1] = {(DWORD_PTR)insertion};
  HMODULE m;
  REQUIRE(sbt_exe_path(s->exe, exe, MAX_PATH) == 0);
  m = LoadLibraryExW(exe, NULL, LOAD_LIBRARY_AS_DATAFILE);
  REQUIRE(m != NULL);
  CHECK(FormatMessageW(FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_ARGUMENT_ARRAY, m,
                       SB_MSG_STARTED, 0, text, 512, (va_list *)ins) > 0);
  CHECK(wcsncmp(text, L"The spawnbroker service started: sbt (pid 1)", 44) == 0);
  CHECK(FormatMessageW(FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_ARGUMENT_ARRAY, m,
                       SB_MSG_STOPPED, 0, text, 512, (va_list *)ins) > 0);
  CHECK(wcsncmp(text, L"The spawnbroker service stopped: ", 33) == 0);
  CHECK(FormatMessageW(FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_ARGUMENT_ARRAY, m,
                       SB_MSG_ERROR, 0, text, 512, (va_list *)ins) > 0);
  CHECK(wcsncmp(text, L"spawnbroker error: ", 19) == 0);
  FreeLibrary(m);
}

static void lifecycle(svct *s, lifecycle_obs *o) {
  static const char *const exit5[] = {"exit", "5"}, *const sleep_long[] = {"sleep", "600000"};
  sbt_run r;
  sb_client *c = NULL;
  sb_spawn_result res;
  sb_exit_info ex;
  wchar_t args[1024];
  DWORD state = 0;

  REQUIRE(svct_install(s, NULL, &r) == 0);
  CHECK_INT(r.exit_code, 0);
  CHECK(strstr(r.out, "installed the service") != NULL && strstr(r.out, s->name) != NULL);
  REQUIRE(r.exit_code == 0);
  check_installed_config(s, &r);
  check_message_table(s);

  REQUIRE(svct_verb(s, "status", NULL, &r) == 0);
  CHECK_INT(r.exit_code, 3);
  CHECK(strstr(r.out, "is stopped") != NULL);

  REQUIRE(svct_verb(s, "start", NULL, &r) == 0);
  CHECK_INT(r.exit_code, 0);
  CHECK(strstr(r.out, "is running (pid ") != NULL);
  o->service_pid = pid_in(r.out);
  REQUIRE(o->service_pid != 0);
  o->service_process = open_pid(o->service_pid);
  REQUIRE(svct_state(s, &state, NULL) == 0);
  CHECK_INT(state, SERVICE_RUNNING);
  REQUIRE(svct_verb(s, "status", NULL, &r) == 0);
  CHECK_INT(r.exit_code, 0);
  CHECK_INT(pid_in(r.out), o->service_pid);

  /* Through the client library: the hello's pid is the service's. */
  REQUIRE(sb_client_connect(s->pipe, 30000, &c) == 0);
  sb_client_set_call_timeout(c, 90000);
  CHECK_INT(sb_client_hello_result(c)->pid, o->service_pid);
  CHECK_INT(spawn_child(c, SB_LIFETIME_CONNECTION, exit5, 2, &res), 0);
  CHECK_INT(sb_client_wait(c, res.pid, 60000, &ex), 0);
  CHECK_INT(ex.exit_code, 5);
  CHECK_INT(spawn_child(c, SB_LIFETIME_BROKER, sleep_long, 2, &res), 0);
  o->broker_child = open_pid(res.pid);
  CHECK_INT(spawn_child(c, SB_LIFETIME_DETACHED, sleep_long, 2, &res), 0);
  o->detached_child = open_pid(res.pid);

  /* Through spawnctl run. */
  _snwprintf(args, 1024, L"--pipe %hs run -- \"%ls\" exit 7", s->pipe, child_path);
  REQUIRE(sbt_run_capture(L"spawnctl.exe", args, 60000, &r) == 0);
  CHECK_INT(r.exit_code, 7);
  CHECK_STR(r.err, "");

  o->nhelpers = sbt_open_children(o->service_pid, L"spawnbroker-helper.exe", o->helpers, 64);
  CHECK(o->nhelpers >= 1);

  REQUIRE(svct_verb(s, "stop", NULL, &r) == 0);
  CHECK_INT(r.exit_code, 0);
  CHECK(strstr(r.out, "stopped") != NULL);
  CHECK_STR(r.err, "");
  sb_client_close(c);
  REQUIRE(svct_verb(s, "status", NULL, &r) == 0);
  CHECK_INT(r.exit_code, 3);

  REQUIRE(svct_verb(s, "uninstall", NULL, &r) == 0);
  CHECK_INT(r.exit_code, 0);
  CHECK(strstr(r.out, "uninstalled the service") != NULL);
  REQUIRE(svct_verb(s, "status", NULL, &r) == 0);
  CHECK_INT(r.exit_code, 4);
  CHECK(strstr(r.err, "no service named") != NULL);
}

SB_TEST(d7_install_start_spawn_stop_uninstall) {
  svct s;
  lifecycle_obs o;
  char *log;
  wchar_t keypath[256];
  HKEY key;
  bool detached_alive;

  memset(&o, 0, sizeof o);
  REQUIRE(find_child());
  REQUIRE(svct_init(&s, L"spawnbroker.exe", true, NULL));
  lifecycle(&s, &o);
  /* Whatever happened, the detached child (if any) is checked, then
   * killed; then the service goes. */
  detached_alive = o.detached_child != NULL && WaitForSingleObject(o.detached_child, 0) == WAIT_TIMEOUT;
  if (o.detached_child != NULL) TerminateProcess(o.detached_child, 1);
  log = sbt_read_text_file(s.log);
  svct_cleanup(&s);

  CHECK(svct_gone(&s));
  _snwprintf(keypath, 256, L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\%ls",
             s.wname);
  CHECK(RegOpenKeyExW(HKEY_LOCAL_MACHINE, keypath, 0, KEY_READ, &key) == ERROR_FILE_NOT_FOUND);
  /* After the stop: the service process, its helpers and its broker child
   * are gone; the detached child outlived it. */
  CHECK(o.service_process != NULL && WaitForSingleObject(o.service_process, 30000) == WAIT_OBJECT_0);
  CHECK(sbt_all_exit(o.helpers, o.nhelpers, 30000));
  CHECK(o.broker_child != NULL && WaitForSingleObject(o.broker_child, 30000) == WAIT_OBJECT_0);
  CHECK(detached_alive);
  /* The log file shows the start and the stop. */
  CHECK(log != NULL);
  {
    char started[128], stopped[128];
    snprintf(started, sizeof started, "info: service %s started (pid %lu, pipe %s)", s.name,
             o.service_pid, s.pipe);
    snprintf(stopped, sizeof stopped, "info: service %s stopped", s.name);
    CHECK_INT(sbt_count_lines(log, started), 1);
    CHECK_INT(sbt_count_lines(log, stopped), 1);
    CHECK_INT(sbt_count_lines(log, " error: "), 0);
  }
  free(log);
  if (o.detached_child != NULL) WaitForSingleObject(o.detached_child, 10000);
  sbt_close_all(o.helpers, o.nhelpers);
  if (o.service_process) CloseHandle(o.service_process);
  if (o.broker_child) CloseHandle(o.broker_child);
  if (o.detached_child) CloseHandle(o.detached_child);
}

/* ------------------------------------------------------------------------ */
/* D7: a stop while a spawn is in flight waits for it                       */

/* A service of the test build, started, with one spawn held at its gate. */
typedef struct held_obs {
  HANDLE service_process;
  HANDLE helpers[64];
  size_t nhelpers;
  sbt_spawner sp;
} held_obs;

static bool start_with_a_held_spawn(svct *s, held_obs *h) {
  sbt_run r;
  wchar_t hook[200];
  DWORD pid;
  if (!sbt_gate_create(&s->gate)) return false;
  _snwprintf(hook, 200, L"--test-spawn-gate %ls", s->gate.name);
  if (svct_install(s, hook, &r) != 0 || r.exit_code != 0) return false;
  if (svct_verb(s, "start", NULL, &r) != 0 || r.exit_code != 0) return false;
  pid = pid_in(r.out);
  h->service_process = open_pid(pid);
  if (!sbt_spawner_start(&h->sp, s->pipe, child_path_utf8)) return false;
  /* The spawn is on a worker thread, held at the gate. */
  if (WaitForSingleObject(s->gate.entered, 60000) != WAIT_OBJECT_0) return false;
  /* A service makes a client identity's pool at its hello and fills it on
   * another worker thread: wait until a helper exists. */
  for (int i = 0; i < 300 && sbt_count_children(pid, L"spawnbroker-helper.exe") == 0; i++)
    Sleep(100);
  h->nhelpers = sbt_open_children(pid, L"spawnbroker-helper.exe", h->helpers, 64);
  return true;
}

typedef struct inflight_obs {
  held_obs h;
  DWORD first_checkpoint, later_checkpoint;
  bool waited_for_spawn;   /* still in flight while the stop was pending */
  int late_spawn_rc;       /* a spawn asked for during the stop */
  char late_spawn_err[64];
  bool reached_stopped;
} inflight_obs;

/* Reads the stop's checkpoint until it moves (or 30 s pass). */
static void watch_checkpoints(const svct *s, inflight_obs *o) {
  SC_HANDLE mgr = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT), svc = NULL;
  SERVICE_STATUS_PROCESS st;
  DWORD n;
  if (mgr != NULL) svc = OpenServiceW(mgr, s->wname, SERVICE_QUERY_STATUS);
  if (svc != NULL && QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)&st, sizeof st, &n)) {
    CHECK_INT(st.dwCurrentState, SERVICE_STOP_PENDING);
    CHECK(st.dwWaitHint > 0);
    o->first_checkpoint = o->later_checkpoint = st.dwCheckPoint;
    for (int i = 0; i < 300 && o->later_checkpoint == o->first_checkpoint; i++) {
      Sleep(100);
      if (QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)&st, sizeof st, &n) &&
          st.dwCurrentState == SERVICE_STOP_PENDING)
        o->later_checkpoint = st.dwCheckPoint;
    }
  }
  if (svc != NULL) CloseServiceHandle(svc);
  if (mgr != NULL) CloseServiceHandle(mgr);
}

static void stop_in_flight(svct *s, inflight_obs *o) {
  SC_HANDLE mgr, svc;
  SERVICE_STATUS ss;
  sb_client *late = NULL;

  REQUIRE(start_with_a_held_spawn(s, &o->h));

  mgr = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
  svc = mgr != NULL ? OpenServiceW(mgr, s->wname, SERVICE_STOP) : NULL;
  REQUIRE(svc != NULL);
  CHECK(ControlService(svc, SERVICE_CONTROL_STOP, &ss));
  CloseServiceHandle(svc);
  CloseServiceHandle(mgr);

  /* While the drain waits: STOP_PENDING with a moving checkpoint, the
   * spawn still in flight, and a new spawn refused. */
  watch_checkpoints(s, o);
  o->waited_for_spawn = WaitForSingleObject(o->h.sp.thread, 0) == WAIT_TIMEOUT;
  /* A client arriving now is refused with ShuttingDown: the listener
   * still holds the name but takes no new connection (or, had it got in
   * before the stop, its spawn would be refused the same way). */
  o->late_spawn_rc = sb_client_connect(s->pipe, 30000, &late);
  if (o->late_spawn_rc != 0 && sb_client_last_error(NULL) != NULL)
    snprintf(o->late_spawn_err, sizeof o->late_spawn_err, "%s", sb_client_last_error(NULL)->name);
  if (o->late_spawn_rc == 0) {
    static const char *const exit0[] = {"exit", "0"};
    sb_spawn_result res;
    sb_client_set_call_timeout(late, 30000);
    o->late_spawn_rc = spawn_child(late, SB_LIFETIME_BROKER, exit0, 2, &res);
    if (o->late_spawn_rc != 0 && sb_client_last_error(late) != NULL)
      snprintf(o->late_spawn_err, sizeof o->late_spawn_err, "%s", sb_client_last_error(late)->name);
    sb_client_close(late);
  }
  /* Let it finish: it gets its reply, then the stop completes. */
  SetEvent(s->gate.go);
  CHECK(sbt_spawner_join(&o->h.sp, 100000));
  o->reached_stopped = svct_wait_state(s, SERVICE_STOPPED, 100000);
}

SB_TEST(d7_stop_waits_for_a_spawn_in_flight) {
  svct s;
  inflight_obs o;
  HANDLE child = NULL;
  char *log;

  memset(&o, 0, sizeof o);
  REQUIRE(find_child());
  REQUIRE(svct_init(&s, L"spawnbroker-test.exe", true, "\"stop\": {\"drain_ms\": 60000}"));
  stop_in_flight(&s, &o);
  if (o.h.sp.pid != 0) child = open_pid(o.h.sp.pid);
  log = sbt_read_text_file(s.log);
  svct_cleanup(&s);
  sbt_spawner_join(&o.h.sp, 30000);

  CHECK(o.waited_for_spawn);
  CHECK(o.later_checkpoint > o.first_checkpoint);
  CHECK_INT(o.late_spawn_rc, SB_E_SHUTTING_DOWN);
  CHECK_STR(o.late_spawn_err, "ShuttingDown");
  /* The spawn in flight got its reply: a child, which, being a broker
   * child, is gone with the broker. */
  CHECK_INT(o.h.sp.rc, 0);
  CHECK(o.h.sp.pid != 0);
  CHECK(child == NULL || WaitForSingleObject(child, 30000) == WAIT_OBJECT_0);
  CHECK(o.reached_stopped);
  CHECK(o.h.service_process != NULL &&
        WaitForSingleObject(o.h.service_process, 30000) == WAIT_OBJECT_0);
  CHECK(sbt_all_exit(o.h.helpers, o.h.nhelpers, 30000));
  CHECK(log != NULL);
  CHECK_INT(sbt_count_lines(log, "stop: waiting up to 60000 ms (stop.drain_ms) for 1 spawn(s) in "
                                  "flight"), 1);
  CHECK_INT(sbt_count_lines(log, "cutting them off"), 0);
  CHECK_INT(sbt_count_lines(log, "info: stopped"), 1);
  free(log);
  if (child != NULL) CloseHandle(child);
  sbt_close_all(o.h.helpers, o.h.nhelpers);
  if (o.h.service_process != NULL) CloseHandle(o.h.service_process);
}

/* ------------------------------------------------------------------------ */
/* D7: the drain is bounded by stop.drain_ms                                */

typedef struct bound_obs {
  held_obs h;
  sbt_run stop;
} bound_obs;

static void stop_past_the_bound(svct *s, bound_obs *o) {
  REQUIRE(start_with_a_held_spawn(s, &o->h));
  REQUIRE(svct_verb(s, "stop", NULL, &o->stop) == 0);
  CHECK(sbt_spawner_join(&o->h.sp, 100000));
}

/* The cut-off in the console, with spawns both running and queued, is in
 * tests/e2e/test_stop.c; here the service's stop verb returns once the
 * bound passed, and the service is STOPPED without its spawn. */
SB_TEST(d7_stop_cuts_a_spawn_off_at_stop_drain_ms) {
  svct s;
  bound_obs o;
  char *log;

  memset(&o, 0, sizeof o);
  REQUIRE(find_child());
  /* The gate is never opened: only the bound ends the drain. */
  REQUIRE(svct_init(&s, L"spawnbroker-test.exe", true, "\"stop\": {\"drain_ms\": 1500}"));
  stop_past_the_bound(&s, &o);
  log = sbt_read_text_file(s.log);
  svct_cleanup(&s);
  sbt_spawner_join(&o.h.sp, 30000);

  CHECK_INT(o.stop.exit_code, 0);
  CHECK(strstr(o.stop.out, "stopped") != NULL);
  CHECK_INT(o.h.sp.rc, SB_E_SPAWN_FAILED);
  CHECK_STR(o.h.sp.err_detail, "the broker stopped before this spawn finished (stop.drain_ms)");
  CHECK(o.h.service_process != NULL &&
        WaitForSingleObject(o.h.service_process, 30000) == WAIT_OBJECT_0);
  CHECK(o.h.nhelpers >= 1);
  CHECK(sbt_all_exit(o.h.helpers, o.h.nhelpers, 30000));
  CHECK(log != NULL);
  CHECK_INT(sbt_count_lines(log, "1 spawn(s) still in flight after stop.drain_ms (1500 ms); "
                                 "cutting them off"), 1);
  CHECK_INT(sbt_count_lines(log, "info: stopped (1 spawn(s) cut off at stop.drain_ms)"), 1);
  CHECK_INT(sbt_count_lines(log, "info: service "), 2);
  free(log);
  sbt_close_all(o.h.helpers, o.h.nhelpers);
  if (o.h.service_process != NULL) CloseHandle(o.h.service_process);
}

/* ------------------------------------------------------------------------ */
/* Clear errors                                                             */

static void install_twice(svct *s, sbt_run *second) {
  sbt_run r;
  REQUIRE(svct_install(s, NULL, &r) == 0);
  REQUIRE(r.exit_code == 0);
  REQUIRE(svct_install(s, NULL, second) == 0);
}

SB_TEST(d7_install_twice_is_a_clear_error) {
  svct s;
  sbt_run second;
  char want[160];
  memset(&second, 0, sizeof second);
  second.exit_code = (DWORD)-1;
  REQUIRE(svct_init(&s, L"spawnbroker.exe", true, NULL));
  install_twice(&s, &second);
  svct_cleanup(&s);
  CHECK_INT(second.exit_code, 5);
  snprintf(want, sizeof want, "spawnbroker: a service named %s is already installed", s.name);
  CHECK(is_line(second.err, want));
  CHECK_STR(second.out, "");
}

typedef struct state_obs {
  sbt_run stop_before, start_twice, stop_after, stop_again;
} state_obs;

static void wrong_states(svct *s, state_obs *o) {
  sbt_run r;
  REQUIRE(svct_install(s, NULL, &r) == 0);
  REQUIRE(r.exit_code == 0);
  REQUIRE(svct_verb(s, "stop", NULL, &o->stop_before) == 0);
  REQUIRE(svct_verb(s, "start", NULL, &r) == 0);
  CHECK_INT(r.exit_code, 0);
  REQUIRE(svct_verb(s, "start", NULL, &o->start_twice) == 0);
  REQUIRE(svct_verb(s, "stop", NULL, &o->stop_after) == 0);
  REQUIRE(svct_verb(s, "stop", NULL, &o->stop_again) == 0);
}

SB_TEST(d7_stop_when_not_running_and_start_when_running_are_clear_errors) {
  svct s;
  state_obs o;
  char not_running[160], running[160];
  memset(&o, 0, sizeof o);
  REQUIRE(svct_init(&s, L"spawnbroker.exe", true, NULL));
  wrong_states(&s, &o);
  svct_cleanup(&s);
  snprintf(not_running, sizeof not_running, "spawnbroker: %s is not running", s.name);
  snprintf(running, sizeof running, "spawnbroker: %s is already running", s.name);
  CHECK_INT(o.stop_before.exit_code, 5);
  CHECK(is_line(o.stop_before.err, not_running));
  CHECK_INT(o.start_twice.exit_code, 5);
  CHECK(is_line(o.start_twice.err, running));
  CHECK_INT(o.stop_after.exit_code, 0);
  CHECK_INT(o.stop_again.exit_code, 5);
  CHECK(is_line(o.stop_again.err, not_running));
}

SB_TEST(d7_verbs_on_a_service_that_is_not_installed) {
  static const char *const verbs[] = {"uninstall", "start", "stop", "status"};
  svct s;
  char want[160];
  REQUIRE(svct_init(&s, L"spawnbroker.exe", false, NULL));
  snprintf(want, sizeof want, "spawnbroker: no service named %s is installed", s.name);
  for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
    sbt_run r;
    CHECK_INT(svct_verb(&s, verbs[i], NULL, &r), 0);
    CHECK_INT(r.exit_code, 4);
    if (!is_line(r.err, want)) SB__FAIL("%s: stderr %s", verbs[i], r.err);
  }
  svct_cleanup(&s);
}

/* install refuses what the service could not use, and installs nothing. */
typedef struct bad_install {
  const char *config; /* NULL: keep the good one */
  const wchar_t *extra;
  const char *err;    /* expected in stderr */
} bad_install;

SB_TEST(d7_install_refuses_bad_options_and_bad_config_files) {
  static const bad_install cases[] = {
      {"{\"pipe\": \"x\", \"no\": {\"such\": 1}}", NULL, "there is no group of settings \"no\""},
      {"{\"stop\": {\"drain_ms\": 120001}}", NULL, "stop.drain_ms must be between 0 and 120000"},
      {"{\"log\": {\"keep\": 101}}", NULL, "log.keep must be between 1 and 100"},
      {"{\"log\": {\"max_bytes\": 65535}}", NULL, "log.max_bytes must be between 65536 and"},
      {"not json", NULL, "is not valid JSON"},
      {NULL, L"--start sometimes", "--start is auto or demand, not \"sometimes\""},
      {NULL, L"--pipe x", "install takes --config, --start and --name, not '--pipe'"},
      {NULL, L"--start", "--start needs a value"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    svct s;
    sbt_run r;
    REQUIRE(svct_init(&s, L"spawnbroker.exe", false, NULL));
    if (cases[i].config != NULL) CHECK(svct_write_config(&s, cases[i].config));
    CHECK_INT(svct_install(&s, cases[i].extra, &r), 0);
    svct_cleanup(&s);
    CHECK_INT(r.exit_code, 2);
    if (strstr(r.err, cases[i].err) == NULL) SB__FAIL("case %u: stderr %s", (unsigned)i, r.err);
    CHECK_STR(r.out, "");
  }
  /* A config file that does not exist. */
  {
    svct s;
    sbt_run r;
    REQUIRE(svct_init(&s, L"spawnbroker.exe", false, NULL));
    DeleteFileW(s.config);
    CHECK_INT(svct_install(&s, NULL, &r), 0);
    svct_cleanup(&s);
    CHECK_INT(r.exit_code, 2);
    CHECK(strstr(r.err, "cannot read the config file") != NULL);
    CHECK(svct_gone(&s));
  }
}

/* SB__SERVICE_NAME_MAX (64): at the limit it installs, one more is refused;
 * only [A-Za-z0-9._-]. */
static void install_named(const char *name, sbt_run *r, bool *was_installed) {
  wchar_t args[512];
  svct s;
  *was_installed = false;
  REQUIRE(svct_init(&s, L"spawnbroker.exe", false, NULL));
  _snwprintf(args, 512, L"install --name %hs --config \"%ls\"", name, s.config);
  CHECK_INT(sbt_run_capture(L"spawnbroker.exe", args, 60000, r), 0);
  snprintf(s.name, sizeof s.name, "%s", name);
  MultiByteToWideChar(CP_UTF8, 0, name, -1, s.wname, 80);
  {
    DWORD state;
    *was_installed = svct_state(&s, &state, NULL) == 0;
  }
  svct_cleanup(&s);
}

SB_TEST(d7_service_names_are_checked_at_their_limit) {
  char name[80];
  sbt_run r;
  bool installed;
  snprintf(name, sizeof name, "sbt-%lu-", GetCurrentProcessId());
  while (strlen(name) < 64) strcat(name, "n");
  install_named(name, &r, &installed);
  CHECK_INT(r.exit_code, 0);
  CHECK(installed);
  strcat(name, "n");
  install_named(name, &r, &installed);
  CHECK_INT(r.exit_code, 2);
  CHECK(strstr(r.err, "a service name has 1 to 64 characters, not 65") != NULL);
  CHECK(!installed);
  install_named("sbt/x", &r, &installed);
  CHECK_INT(r.exit_code, 2);
  CHECK(strstr(r.err, "a service name is made of letters, digits") != NULL);
  CHECK(!installed);
}

static void install_auto(svct *s, DWORD *start_type) {
  static BYTE buf[8192];
  sbt_run r;
  DWORD n;
  SC_HANDLE mgr, svc;
  REQUIRE(svct_install(s, L"--start auto", &r) == 0);
  CHECK_INT(r.exit_code, 0);
  CHECK(strstr(r.out, "(start: auto,") != NULL);
  mgr = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
  svc = mgr != NULL ? OpenServiceW(mgr, s->wname, SERVICE_QUERY_CONFIG) : NULL;
  if (svc != NULL && QueryServiceConfigW(svc, (QUERY_SERVICE_CONFIGW *)buf, sizeof buf, &n))
    *start_type = ((QUERY_SERVICE_CONFIGW *)buf)->dwStartType;
  if (svc != NULL) CloseServiceHandle(svc);
  if (mgr != NULL) CloseServiceHandle(mgr);
}

SB_TEST(d7_install_start_auto) {
  svct s;
  DWORD start_type = 0;
  REQUIRE(svct_init(&s, L"spawnbroker.exe", true, NULL));
  install_auto(&s, &start_type);
  svct_cleanup(&s);
  CHECK_INT(start_type, SERVICE_AUTO_START);
}

/* ------------------------------------------------------------------------ */
/* Where a service logs without log.file, and what it says when it fails   */

/* <ProgramData>\spawnbroker\NAME.log, from the known folder as the service
 * finds it (under Wine a service's %ProgramData% says otherwise,
 * docs/wine.md). */
static void program_data_log(const svct *s, wchar_t *out) {
  PWSTR base = NULL;
  out[0] = L'\0';
  if (SUCCEEDED(SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, NULL, &base)))
    _snwprintf(out, MAX_PATH, L"%ls\\spawnbroker\\%ls.log", base, s->wname);
  CoTaskMemFree(base);
}

typedef struct fail_obs {
  sbt_run start, status;
} fail_obs;

/* Installs with a good config file, then replaces it with `json`: the
 * service finds out what is wrong when it starts. */
static void start_with_config(svct *s, const char *json, fail_obs *o) {
  sbt_run r;
  REQUIRE(svct_install(s, NULL, &r) == 0);
  REQUIRE(r.exit_code == 0);
  REQUIRE(svct_write_config(s, json));
  REQUIRE(svct_verb(s, "start", NULL, &o->start) == 0);
  REQUIRE(svct_verb(s, "status", NULL, &o->status) == 0);
}

SB_TEST(d7_a_service_with_bad_settings_stops_and_says_why) {
  svct s;
  fail_obs o;
  wchar_t logpath[MAX_PATH];
  char *log;
  memset(&o, 0, sizeof o);
  REQUIRE(svct_init(&s, L"spawnbroker.exe", false, NULL));
  program_data_log(&s, logpath);
  start_with_config(&s, "{\"pool\": {\"warm\": 5000}}", &o);
  svct_cleanup(&s);
  log = sbt_read_text_file(logpath);
  DeleteFileW(logpath);

  CHECK_INT(o.start.exit_code, 1);
  CHECK(strstr(o.start.err, "is stopped after starting: its settings are invalid") != NULL);
  CHECK_INT(o.status.exit_code, 3);
  CHECK(strstr(o.status.out, "is stopped (its settings are invalid)") != NULL);
  /* Without settings it logs where the defaults say: the data folder. */
  CHECK(log != NULL);
  CHECK_INT(sbt_count_lines(log, "error: service "), 1);
  CHECK_INT(sbt_count_lines(log, "pool.warm must be between 0 and 1024"), 1);
  free(log);
}

/* A service that cannot write its log would run blind: it stops. */
SB_TEST(d7_a_service_that_cannot_open_its_log_file_stops_and_says_why) {
  svct s;
  fail_obs o;
  memset(&o, 0, sizeof o);
  REQUIRE(svct_init(&s, L"spawnbroker.exe", false, NULL));
  start_with_config(&s, "{\"log\": {\"file\": \"C:\\\\no\\\\such\\\\folder\\\\x.log\"}}", &o);
  svct_cleanup(&s);
  CHECK_INT(o.start.exit_code, 1);
  CHECK(strstr(o.start.err, "is stopped after starting: it could not start") != NULL);
  CHECK_INT(o.status.exit_code, 3);
  CHECK(strstr(o.status.out, "is stopped (it could not start)") != NULL);
}

static void run_with_default_log(svct *s, DWORD *pid) {
  sbt_run r;
  REQUIRE(svct_install(s, NULL, &r) == 0);
  REQUIRE(r.exit_code == 0);
  REQUIRE(svct_verb(s, "start", NULL, &r) == 0);
  CHECK_INT(r.exit_code, 0);
  *pid = pid_in(r.out);
  REQUIRE(svct_verb(s, "stop", NULL, &r) == 0);
  CHECK_INT(r.exit_code, 0);
}

SB_TEST(d7_without_log_file_a_service_logs_in_program_data) {
  svct s;
  wchar_t logpath[MAX_PATH];
  char *log, want[160];
  DWORD pid = 0;
  REQUIRE(svct_init(&s, L"spawnbroker.exe", false, NULL));
  program_data_log(&s, logpath);
  run_with_default_log(&s, &pid);
  svct_cleanup(&s);
  log = sbt_read_text_file(logpath);
  DeleteFileW(logpath);
  CHECK(log != NULL);
  snprintf(want, sizeof want, "info: service %s started (pid %lu", s.name, pid);
  CHECK_INT(sbt_count_lines(log, want), 1);
  snprintf(want, sizeof want, "info: service %s stopped", s.name);
  CHECK_INT(sbt_count_lines(log, want), 1);
  free(log);
  /* The data folder lets only SYSTEM and administrators in. Wine keeps
   * no access list of its own for files (docs/wine.md): there it reads
   * back its default one, so only Windows can show this. */
  if (!sbt_under_wine()) {
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    wchar_t *text = NULL, *slash = wcsrchr(logpath, L'\\');
    if (slash != NULL) *slash = L'\0';
    CHECK(GetNamedSecurityInfoW(logpath, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL,
                                &dacl, NULL, &sd) == ERROR_SUCCESS);
    CHECK(sd != NULL && ConvertSecurityDescriptorToStringSecurityDescriptorW(
                            sd, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &text, NULL));
    CHECK(text != NULL && wcscmp(text, L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)") == 0);
    if (text != NULL) LocalFree(text);
    if (sd != NULL) LocalFree(sd);
  }
}

/* Typed at a console, spawnbroker with options but no verb is the service,
 * which only the SCM may start. */
SB_TEST(no_verb_outside_the_service_manager_is_a_usage_error) {
  sbt_run r;
  CHECK_INT(sbt_run_capture(L"spawnbroker.exe", L"--config nothing.json", 60000, &r), 0);
  CHECK_INT(r.exit_code, 2);
  CHECK(strstr(r.err, "without a verb spawnbroker is the service, which only the service "
                      "manager starts") != NULL);
  CHECK_STR(r.out, "");
}

SB_TEST_MAIN(SB_CASE(d7_install_start_spawn_stop_uninstall),
             SB_CASE(d7_stop_waits_for_a_spawn_in_flight),
             SB_CASE(d7_stop_cuts_a_spawn_off_at_stop_drain_ms),
             SB_CASE(d7_install_twice_is_a_clear_error),
             SB_CASE(d7_stop_when_not_running_and_start_when_running_are_clear_errors),
             SB_CASE(d7_verbs_on_a_service_that_is_not_installed),
             SB_CASE(d7_install_refuses_bad_options_and_bad_config_files),
             SB_CASE(d7_service_names_are_checked_at_their_limit),
             SB_CASE(d7_install_start_auto),
             SB_CASE(d7_a_service_with_bad_settings_stops_and_says_why),
             SB_CASE(d7_a_service_that_cannot_open_its_log_file_stops_and_says_why),
             SB_CASE(d7_without_log_file_a_service_logs_in_program_data),
             SB_CASE(no_verb_outside_the_service_manager_is_a_usage_error))
