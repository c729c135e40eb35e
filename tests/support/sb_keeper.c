/*
 * sb_keeper.exe: keeps a test run's Wine prefix awake, and tells the
 * harness which processes Windows programs can see.
 *
 *   sb_keeper.exe          print "ready", then sleep
 *   sb_keeper.exe --list   print the image name of every process, one a line
 *
 * Wine starts its wineserver and its services (services.exe, winedevice,
 * plugplay, ...) with the first process of a prefix and stops them soon
 * after the last ordinary process exits. Without a process that outlives
 * every test, each test would pay that start again (about a second), and the
 * services would inherit the stdio of whichever test woke them, so ctest
 * could wait on a passed test's output pipe for as long as the services
 * live. scripts/wine-run starts this program once per run, detached and
 * with /dev/null stdio, before any test; scripts/wine-stop ends it with the
 * wineserver. It prints "ready" once running (wine-run waits for that line,
 * so the services are up before the first test starts) and then sleeps. It
 * exits by itself after SB_KEEPER_MAX_MS, so a run that never reached its
 * clean-up cannot keep a prefix alive for longer than that.
 *
 * --list serves wine-run's check for processes a test left behind: a Unix
 * process of the prefix that no Windows program can see is a Wine start-up
 * orphan (docs/wine.md), not a leak of the test's.
 */
#include <stdio.h>
#include <string.h>
#include <windows.h>
/* After windows.h. */
#include <tlhelp32.h>

/* Longer than any test run the suite allows (ctest's own timeouts end a
 * stuck run well before). */
#define SB_KEEPER_MAX_MS (3u * 60u * 60u * 1000u)

static int list_processes(void) {
  PROCESSENTRY32W e;
  HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (snap == INVALID_HANDLE_VALUE) return 1;
  e.dwSize = sizeof e;
  for (BOOL ok = Process32FirstW(snap, &e); ok; ok = Process32NextW(snap, &e)) {
    char name[MAX_PATH * 3];
    if (WideCharToMultiByte(CP_UTF8, 0, e.szExeFile, -1, name, sizeof name, NULL, NULL) > 0)
      printf("%s\n", name);
  }
  CloseHandle(snap);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--list") == 0) return list_processes();
  fputs("ready\n", stdout);
  fflush(stdout);
  Sleep(SB_KEEPER_MAX_MS);
  return 0;
}
