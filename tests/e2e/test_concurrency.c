/*
 * TESTPLAN A2 and A3 under Wine: 16 client processes spawn through one
 * broker at once, each passing its own handles, while a rogue thread in
 * every client and one in the broker (test build) call
 * CreateProcess(bInheritHandles=TRUE) in a loop. Every child must hold
 * exactly its own client's handles and no rogue child may gain a handle.
 */
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "sb_test.h"
#include "spawn_fixture.h"

#define CLIENTS 16
#define SPAWNS_PER_CLIENT 20

SB_TEST(a2_a3_sixteen_clients_with_rogue_spawners_get_exactly_their_handles) {
  sbt_broker b;
  wchar_t child[MAX_PATH], dir[MAX_PATH], report[MAX_PATH], args[2 * MAX_PATH + 128];
  wchar_t worker[MAX_PATH], cmd[MAX_PATH + 256], stop[MAX_PATH + 8];
  HANDLE procs[CLIENTS];
  sb_client *c;
  sb_stats_result st;
  FILE *f;
  unsigned long runs = 0, lo = 0, hi = 0;
  int started = 0, stopped = 0;

  REQUIRE(sbt_exe_path(L"sb_child.exe", child, MAX_PATH) == 0);
  REQUIRE(sbt_exe_path(L"spawn_worker.exe", worker, MAX_PATH) == 0);
  GetTempPathW(MAX_PATH, dir);
  swprintf(report, MAX_PATH, L"%lsrogue-%lu.txt", dir, GetCurrentProcessId());
  DeleteFileW(report);
  swprintf(args, sizeof args / sizeof args[0],
           L"--warm 4 --test-rogue \"\\\"%ls\\\" count-inheritable\" --test-rogue-report \"%ls\"",
           child, report);
  REQUIRE(sbt_broker_start_exe(&b, L"spawnbroker-test.exe", args) == 0);

  for (int i = 0; i < CLIENTS; i++) {
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    swprintf(cmd, sizeof cmd / sizeof cmd[0], L"\"%ls\" %hs %d 1", worker, b.pipe_utf8,
             SPAWNS_PER_CLIENT);
    if (!CreateProcessW(worker, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
      SB__FAIL("cannot start worker %d: %lu", i, GetLastError());
      continue;
    }
    CloseHandle(pi.hThread);
    procs[started++] = pi.hProcess;
  }
  for (int i = 0; i < started; i++) {
    DWORD code = 1;
    if (WaitForSingleObject(procs[i], 240000) != WAIT_OBJECT_0) {
      SB__FAIL("worker %d did not finish", i);
      TerminateProcess(procs[i], 1);
    }
    GetExitCodeProcess(procs[i], &code);
    if (code != 0) SB__FAIL("worker %d failed (exit %lu); see its output above", i, code);
    CloseHandle(procs[i]);
  }
  REQUIRE(sb_client_connect(b.pipe_utf8, 20000, &c) == 0);
  REQUIRE(sb_client_stats(c, &st) == 0);
  CHECK_INT(st.spawns_ok, CLIENTS * SPAWNS_PER_CLIENT);
  CHECK_INT(st.spawns_failed, 0);
  sb_client_close(c);

  /* The broker's rogue ends before the broker is killed (rogue.c says
   * why), and its last report says so. */
  swprintf(stop, sizeof stop / sizeof stop[0], L"%ls.stop", report);
  f = _wfopen(stop, L"w");
  REQUIRE(f != NULL);
  fclose(f);
  for (int i = 0; i < 300 && !stopped; i++) {
    Sleep(100);
    f = _wfopen(report, L"r");
    if (f == NULL) continue;
    if (fscanf(f, "runs=%lu min=%lu max=%lu stopped=%d", &runs, &lo, &hi, &stopped) != 4)
      stopped = 0;
    fclose(f);
  }
  CHECK(stopped);
  sbt_broker_stop(&b);
  DeleteFileW(report);
  DeleteFileW(stop);
  printf("broker rogue: %lu runs, inheritable handles per rogue child %lu..%lu\n", runs, lo, hi);
  CHECK(runs > 0);
  CHECK_INT(hi, lo);
}

SB_TEST_MAIN(SB_CASE(a2_a3_sixteen_clients_with_rogue_spawners_get_exactly_their_handles))
