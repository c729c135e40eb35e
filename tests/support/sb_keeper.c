/*
 * sb_keeper.exe: keeps a test run's Wine prefix awake.
 *
 * Wine starts its wineserver and its services (services.exe, winedevice,
 * plugplay, ...) with the first process of a prefix and stops them soon
 * after the last ordinary process exits. Without a process that outlives
 * every test, each test would pay that start again (about a second), and the
 * services would inherit the stdio of whichever test woke them, so ctest
 * could wait on a passed test's output pipe for as long as the services
 * live. scripts/wine-run starts this program once per run, detached and
 * with /dev/null stdio, before any test; scripts/wine-stop ends it with the
 * wineserver.
 *
 * It prints "ready" once running (wine-run waits for that line, so the
 * services are up before the first test starts) and then sleeps. It exits
 * by itself after SB_KEEPER_MAX_MS, so a run that never reached its clean-up
 * cannot keep a prefix alive for longer than that.
 */
#include <stdio.h>
#include <windows.h>

/* Longer than any test run the suite allows (ctest's own timeouts end a
 * stuck run well before). */
#define SB_KEEPER_MAX_MS (3u * 60u * 60u * 1000u)

int main(void) {
  fputs("ready\n", stdout);
  fflush(stdout);
  Sleep(SB_KEEPER_MAX_MS);
  return 0;
}
