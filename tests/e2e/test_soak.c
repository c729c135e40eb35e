/*
 * The soak test (TESTPLAN D6, issue 5): SB_SOAK_CLIENTS client processes
 * (default 64) at once, each spawning SB_SOAK_SPAWNS children (default 10;
 * the full soak is 100, docs/reliability.md) with exit events, in
 * SB_SOAK_ROUNDS rounds (default 3) after a warm-up round of one spawn
 * each. Zero failures; every exit event delivered exactly once with its
 * child's exit code (soak_worker.c); the broker's handle count back where
 * it was after the warm-up after every round; and its private memory not
 * growing round after round.
 *
 * Memory is judged by its growth from one equal round to the next, not
 * against the start. The broker's memory grows in steps to a working size
 * that depends on how much runs at once (the heap grows by segments, and
 * the thread pools that run spawns and watch children grow with the
 * load): such a step happens once. A leak grows the memory every round,
 * so a leak is a round-to-round growth that no round escapes.
 */
#include <windows.h>
/* psapi.h needs the types windows.h defines. */
#include <psapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb_test.h"
#include "spawn_fixture.h"

#define SOAK_MAX_CLIENTS 256
#define SOAK_MAX_ROUNDS 20

static long env_long(const char *name, long def, long min, long max) {
  char buf[32];
  DWORD n = GetEnvironmentVariableA(name, buf, sizeof buf);
  long v;
  if (n == 0 || n >= sizeof buf) return def;
  v = strtol(buf, NULL, 10);
  return v < min ? min : v > max ? max : v;
}

/* One round: `clients` workers of `spawns` spawns each, all at once.
 * Returns how many failed. */
static int round_of(const sbt_broker *b, long clients, long spawns) {
  wchar_t worker[MAX_PATH], cmd[MAX_PATH + 256];
  HANDLE procs[SOAK_MAX_CLIENTS];
  int started = 0, failed = 0;
  if (sbt_exe_path(L"soak_worker.exe", worker, MAX_PATH) != 0) return (int)clients;
  for (long i = 0; i < clients; i++) {
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    _snwprintf(cmd, sizeof cmd / sizeof cmd[0], L"\"%ls\" %hs %ld", worker, b->pipe_utf8,
               spawns);
    cmd[sizeof cmd / sizeof cmd[0] - 1] = L'\0';
    if (!CreateProcessW(worker, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
      SB__FAIL("cannot start worker %ld: %lu", i, GetLastError());
      failed++;
      continue;
    }
    CloseHandle(pi.hThread);
    procs[started++] = pi.hProcess;
  }
  for (int i = 0; i < started; i++) {
    DWORD code = 1;
    if (WaitForSingleObject(procs[i], 600000) != WAIT_OBJECT_0) {
      SB__FAIL("worker %d did not finish", i);
      TerminateProcess(procs[i], 1);
      WaitForSingleObject(procs[i], 10000);
    }
    GetExitCodeProcess(procs[i], &code);
    if (code != 0) {
      SB__FAIL("worker %d failed (exit %lu); its output is above", i, code);
      failed++;
    }
    CloseHandle(procs[i]);
  }
  return failed;
}

/* The broker's private (committed) memory. PagefileUsage is that figure
 * on Windows, the same as PROCESS_MEMORY_COUNTERS_EX.PrivateUsage, and the
 * one Wine fills for another process (docs/wine.md). */
static SIZE_T private_bytes(DWORD pid) {
  PROCESS_MEMORY_COUNTERS m;
  HANDLE h = OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, FALSE, pid);
  SIZE_T n = 0;
  if (h == NULL) return 0;
  ZeroMemory(&m, sizeof m);
  if (GetProcessMemoryInfo(h, &m, sizeof m)) n = m.PagefileUsage;
  CloseHandle(h);
  return n;
}

/* The pool is kept full (pool.warm = its per-identity maximum), so that
 * between rounds the broker holds the same helpers' handles whichever were
 * recycled meanwhile. */
#define SOAK_HELPERS 16

/* Waits until the broker tracks no running child (its exits are seen) and
 * its pool is full and idle again. */
static void wait_settled(sb_client *c) {
  for (int i = 0; i < 600; i++) {
    sb_stats_result st;
    if (sb_client_stats(c, &st) == 0 && st.children_running == 0 && st.helpers_busy == 0 &&
        st.helpers_idle == SOAK_HELPERS)
      return;
    Sleep(100);
  }
}

SB_TEST(d6_many_clients_spawn_at_once_with_no_failure_no_lost_event_no_leak) {
  long clients = env_long("SB_SOAK_CLIENTS", 64, 1, SOAK_MAX_CLIENTS);
  long spawns = env_long("SB_SOAK_SPAWNS", 10, 1, 100000);
  sbt_broker b;
  sb_client *c;
  sb_stats_result st;
  long rounds = env_long("SB_SOAK_ROUNDS", 3, 2, SOAK_MAX_ROUNDS);
  size_t handles[SOAK_MAX_ROUNDS + 1];
  SIZE_T memory[SOAK_MAX_ROUNDS + 1];
  wchar_t args[256];
  DWORD t0;

  /* One user's clients all at once: the per-identity connection and spawn
   * limits must admit them all (the defaults, 64, admit exactly 64 spawns
   * in flight; the test's own connection is one more). */
  _snwprintf(args, 256,
             L"--set limits.connections_per_identity=%ld "
             L"--set limits.spawns_in_flight_per_identity=%ld "
             L"--set pool.max_helpers_per_identity=%d --warm %d",
             clients + 1, clients > 64 ? clients : 64, SOAK_HELPERS, SOAK_HELPERS);
  args[255] = L'\0';
  REQUIRE(sbt_fixture_start(&b, args, &c) == 0);
  t0 = GetTickCount();
  CHECK_INT(round_of(&b, clients, 1), 0);
  wait_settled(c);
  handles[0] = sbt_settled_count(b.pid);
  memory[0] = private_bytes(b.pid);
  for (int r = 1; r <= rounds; r++) {
    CHECK_INT(round_of(&b, clients, spawns), 0);
    wait_settled(c);
    handles[r] = sbt_settled_count(b.pid);
    memory[r] = private_bytes(b.pid);
  }
  REQUIRE(sb_client_stats(c, &st) == 0);
  printf("soak: %ld clients x (1 + %ld x %ld) spawns in %lu ms\n", clients, rounds, spawns,
         GetTickCount() - t0);
  for (int r = 0; r <= rounds; r++)
    printf("soak: after round %d: broker handles %zu, private bytes %zu\n", r, handles[r],
           (size_t)memory[r]);
  CHECK_INT(st.spawns_ok, (uint64_t)clients * (1 + (uint64_t)rounds * (uint64_t)spawns));
  CHECK_INT(st.spawns_failed, 0);
  CHECK_INT(st.children_running, 0);
  for (int r = 1; r <= rounds; r++) CHECK_INT(handles[r], handles[0]);
  CHECK(memory[1] != 0);
  {
    /* A quiet round grows by a few pages at most; 64 KiB over a round of
     * 640 spawns (the default) is 100 bytes a spawn, less than any leak of
     * a request's frame, params or child record. The total bounds what
     * the steps may add up to. */
    SIZE_T least = (SIZE_T)-1;
    for (int r = 2; r <= rounds; r++) {
      SIZE_T grew = memory[r] > memory[r - 1] ? memory[r] - memory[r - 1] : 0;
      if (grew < least) least = grew;
    }
    if (least > 64 * 1024)
      SB__FAIL("the broker's private bytes grew by more than 64 KiB in every round (at "
               "least %zu bytes)",
               (size_t)least);
    if (memory[rounds] > memory[1] + 4 * 1024 * 1024)
      SB__FAIL("the broker's private bytes grew from %zu to %zu", (size_t)memory[1],
               (size_t)memory[rounds]);
  }
  sbt_fixture_stop(&b, c);
}

SB_TEST_MAIN(SB_CASE(d6_many_clients_spawn_at_once_with_no_failure_no_lost_event_no_leak))
