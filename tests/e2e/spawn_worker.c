/*
 * spawn_worker.exe PIPE SPAWNS ROGUE: one client process of the concurrency
 * tests (TESTPLAN A2, A3). It spawns sb_child.exe SPAWNS times through the
 * broker, each time with three handles of its own made just for that child
 * (a pipe for the report, an event, a temporary file), and checks from the
 * child's own report that it holds exactly those. With ROGUE=1 a second
 * thread keeps calling CreateProcessW(bInheritHandles=TRUE) meanwhile, as
 * careless code in any client would; each rogue child exits with the number
 * of inheritable handles it holds, which must never exceed what the first
 * rogue child (started before any brokered spawn) held.
 *
 * Prints "spawns=N failures=F rogue_runs=R rogue_leaks=L" and exits 0 only
 * when F and L are 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "spawn_fixture.h"

/* rogue_once's result when CreateProcess itself failed: not a handle count.
 * Under Wine a new process can die before it reaches the wineserver
 * (ERROR_INTERNAL_ERROR, docs/wine.md); that says nothing about leaks. */
#define ROGUE_CREATE_FAILED 0xFFFFFFFFu

typedef struct rogue {
  volatile LONG stop;
  LONG runs, leaks, create_failures;
  DWORD baseline;
  wchar_t cmd[MAX_PATH + 64];
} rogue;

static DWORD rogue_once(rogue *r) {
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  wchar_t cmd[MAX_PATH + 64];
  DWORD code = 1000;
  wcscpy(cmd, r->cmd);
  ZeroMemory(&si, sizeof si);
  si.cb = sizeof si;
  if (!CreateProcessW(NULL, cmd, NULL, NULL, TRUE, DETACHED_PROCESS, NULL, NULL, &si, &pi))
    return ROGUE_CREATE_FAILED;
  WaitForSingleObject(pi.hProcess, INFINITE);
  GetExitCodeProcess(pi.hProcess, &code);
  CloseHandle(pi.hThread);
  CloseHandle(pi.hProcess);
  return code;
}

static DWORD WINAPI rogue_main(void *arg) {
  rogue *r = arg;
  while (!InterlockedCompareExchange(&r->stop, 0, 0)) {
    DWORD n = rogue_once(r);
    if (n == ROGUE_CREATE_FAILED) {
      InterlockedIncrement(&r->create_failures);
    } else {
      InterlockedIncrement(&r->runs);
      if (n > r->baseline) InterlockedIncrement(&r->leaks);
    }
    /* A breath between runs: 17 rogues enumerating the handle table
     * back to back would starve the single wineserver on a 2-core machine,
     * and the point is overlap with the brokered spawns, not volume. */
    Sleep(20);
  }
  return 0;
}

/* One brokered spawn with fresh handles; 0 when the child held exactly them. */
static int one_spawn(sb_client *c) {
  sb_spawn_params p;
  sb_spawn_result res;
  sbt_child_report rep;
  uint64_t have[64], want[64];
  size_t nh, nw;
  int ok;
  HANDLE ev = CreateEventW(NULL, TRUE, FALSE, NULL), file = sbt_temp_file();
  if (ev == NULL || file == INVALID_HANDLE_VALUE) return 1;
  sb_spawn_params_init(&p);
  p.handles[0] = (sb_handle_spec){"ev", (int64_t)(intptr_t)ev, -1};
  p.handles[1] = (sb_handle_spec){"file", (int64_t)(intptr_t)file, -1};
  p.nhandles = 2;
  ok = sbt_spawn_report(c, &p, &res, &rep) == 0;
  if (ok) {
    nh = sbt_inheritable_values(&rep, have, 64);
    nw = sbt_result_values(&res, want, 64);
    ok = nh == nw && memcmp(have, want, nh * sizeof have[0]) == 0 && nw == 3;
    if (!ok) fprintf(stderr, "child %lu holds %zu inheritable handles, expected %zu\n",
                     (unsigned long)rep.pid, nh, nw);
    sbt_child_report_free(&rep);
  }
  CloseHandle(ev);
  CloseHandle(file);
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  sb_client *c = NULL;
  rogue r;
  HANDLE thread = NULL;
  long spawns, failures = 0;
  int rc;

  if (argc != 4) {
    fprintf(stderr, "usage: spawn_worker PIPE SPAWNS ROGUE\n");
    return 2;
  }
  spawns = strtol(argv[2], NULL, 10);
  memset(&r, 0, sizeof r);
  if (strcmp(argv[3], "1") == 0) {
    wchar_t child[MAX_PATH];
    sbt_exe_path(L"sb_child.exe", child, MAX_PATH);
    _snwprintf(r.cmd, sizeof r.cmd / sizeof r.cmd[0], L"\"%ls\" count-inheritable", child);
    do r.baseline = rogue_once(&r);
    while (r.baseline == ROGUE_CREATE_FAILED && ++r.create_failures < 3);
    if (r.baseline == ROGUE_CREATE_FAILED) {
      fprintf(stderr, "rogue: the baseline child cannot be started (error %lu)\n", GetLastError());
      return 1;
    }
    thread = CreateThread(NULL, 0, rogue_main, &r, 0, NULL);
  }
  rc = sb_client_connect(argv[1], 60000, &c);
  if (rc != 0) {
    fprintf(stderr, "connect: %s\n", sb_err_name(rc));
    failures = spawns;
  } else {
    for (long i = 0; i < spawns; i++) failures += one_spawn(c);
    sb_client_close(c);
  }
  if (thread != NULL) {
    InterlockedExchange(&r.stop, 1);
    WaitForSingleObject(thread, INFINITE);
    CloseHandle(thread);
  }
  printf("spawns=%ld failures=%ld rogue_runs=%ld rogue_leaks=%ld rogue_baseline=%lu "
         "rogue_create_failures=%ld\n",
         spawns, failures, r.runs, r.leaks, (unsigned long)r.baseline, r.create_failures);
  return failures == 0 && r.leaks == 0 ? 0 : 1;
}
