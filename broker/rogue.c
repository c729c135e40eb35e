#include "rogue.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <windows.h>

#include "attrs.h"
#include "job.h"
#include "log.h"
#include "registry.h"
#include "sb_errors.h"

typedef struct sb__rogue {
  wchar_t *cmdline;
  wchar_t *report;
  wchar_t *stop_file; /* report + ".stop": the test asks the thread to end */
  HANDLE thread;
  HANDLE nul; /* inheritable NUL: the rogue children's std handles */
  HANDLE job; /* kill-on-close: no rogue child outlives the broker */
  volatile LONG stop;
} sb__rogue;

/* One rogue per process, started once from main before the loop runs. */
static sb__rogue sb__the_rogue;

static void write_report(const wchar_t *path, unsigned long runs, unsigned long lo,
                         unsigned long hi, int stopped) {
  FILE *f = _wfopen(path, L"w");
  if (f == NULL) return;
  fprintf(f, "runs=%lu min=%lu max=%lu stopped=%d\n", runs, lo, hi, stopped);
  fclose(f);
}

/* Tests end the rogue before they kill the broker: under Wine a process
 * killed while one of its threads is inside CreateProcess can leave the new
 * process hanging in its start-up for ever (docs/wine.md). */
static bool asked_to_stop(sb__rogue *r) {
  return InterlockedCompareExchange(&r->stop, 0, 0) != 0 ||
         GetFileAttributesW(r->stop_file) != INVALID_FILE_ATTRIBUTES;
}

static DWORD WINAPI rogue_main(void *arg) {
  sb__rogue *r = arg;
  unsigned long runs = 0, lo = ~0ul, hi = 0;
  while (!asked_to_stop(r)) {
    STARTUPINFOEXW si;
    PROCESS_INFORMATION pi;
    sb__attrs attrs;
    BOOL created;
    wchar_t *cmd = _wcsdup(r->cmdline);
    DWORD code = 1;
    if (cmd == NULL) break;
    ZeroMemory(&si, sizeof si);
    si.StartupInfo.cb = sizeof si;
    /* No console (DETACHED_PROCESS): with CREATE_NO_WINDOW and no
     * STARTF_USESTDHANDLES Wine starts a hidden conhost.exe for every rogue
     * child, a second process start per run. Its std handles are one
     * inheritable NUL handle, so it never starts with an empty handle table
     * (the broker's own handles are all non-inheritable, and an empty table
     * crashes Wine 8's wineserver while anyone lists handles,
     * docs/wine.md): every rogue child holds exactly that one inheritable
     * handle, unless one leaks to it. It starts in the rogue's
     * kill-on-close job, so a broker killed while this thread is inside
     * CreateProcess leaves no rogue child suspended for ever. */
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = si.StartupInfo.hStdOutput = si.StartupInfo.hStdError = r->nul;
    if (sb__attrs_build(&attrs, NULL, NULL, 0, &r->job) != 0) break;
    si.lpAttributeList = attrs.list;
    /* Exactly the mistake the broker must be immune to: inherit everything
     * inheritable, no handle list. */
    created = CreateProcessW(NULL, cmd, NULL, NULL, TRUE,
                             DETACHED_PROCESS | EXTENDED_STARTUPINFO_PRESENT, NULL, NULL,
                             &si.StartupInfo, &pi);
    sb__attrs_free(&attrs);
    if (created) {
      WaitForSingleObject(pi.hProcess, INFINITE);
      GetExitCodeProcess(pi.hProcess, &code);
      CloseHandle(pi.hThread);
      CloseHandle(pi.hProcess);
      runs++;
      if (code < lo) lo = code;
      if (code > hi) hi = code;
      write_report(r->report, runs, lo, hi, 0);
    } else {
      Sleep(10);
    }
    free(cmd);
  }
  write_report(r->report, runs, lo, hi, 1);
  return 0;
}

int sb__rogue_start(const wchar_t *cmdline, const wchar_t *report_path) {
  sb__rogue *r = &sb__the_rogue;
  size_t n = wcslen(report_path);
  r->cmdline = _wcsdup(cmdline);
  r->report = _wcsdup(report_path);
  r->stop_file = malloc((n + 6) * sizeof(wchar_t));
  if (r->cmdline == NULL || r->report == NULL || r->stop_file == NULL) return SB_E_NOMEM;
  wcscpy(r->stop_file, report_path);
  wcscat(r->stop_file, L".stop");
  {
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    r->nul = CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                         &sa, OPEN_EXISTING, 0, NULL);
    if (r->nul == INVALID_HANDLE_VALUE) return SB_E_INTERNAL;
  }
  if (sb__job_create_helper_job(&r->job) != 0) return SB_E_INTERNAL;
  sb__registry_own(r->nul);
  sb__registry_own(r->job);
  r->thread = CreateThread(NULL, 0, rogue_main, r, 0, NULL);
  if (r->thread == NULL) return SB_E_INTERNAL;
  sb__log(SB_LOG_WARN, "test hook: rogue spawner running");
  return 0;
}

void sb__rogue_stop(void) {
  sb__rogue *r = &sb__the_rogue;
  if (r->thread == NULL) return;
  InterlockedExchange(&r->stop, 1);
  WaitForSingleObject(r->thread, 30000);
  CloseHandle(r->thread);
  r->thread = NULL;
}
