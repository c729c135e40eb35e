/*
 * sb_console.exe: lets a test press Ctrl-C in a broker's console.
 *
 *   sb_console.exe EVENT COMMAND-LINE...
 *
 * Started by sbt_broker_start_console (sb_win_test.h) with a console of its
 * own (CREATE_NO_WINDOW) and EVENT, the decimal value of an inherited event
 * handle. It starts COMMAND-LINE (the rest of its own command line, as it
 * stands) in the same console and process group, with NUL as its standard
 * streams, prints "pid N" on stdout, and waits. When EVENT is set it
 * ignores Ctrl-C itself and generates one for the whole console, which the
 * broker receives as SIGINT; it then waits for the broker and exits with
 * its exit code.
 *
 * Why a process in the middle: under Wine 8.0, GenerateConsoleCtrlEvent
 * only delivers CTRL_C_EVENT to process group 0, every process of the
 * caller's console; CTRL_BREAK_EVENT and a process group of its own fail
 * with ERROR_INVALID_HANDLE, and a test started by ctest has no console to
 * share (docs/wine.md).
 *
 * Exit codes: the broker's, or 120 for a usage error, 121 when the broker
 * cannot be started, 122 when the Ctrl-C cannot be generated, 123 when the
 * broker has not exited within SB_CONSOLE_WAIT_MS of it (it is killed).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>
#include <windows.h>

/* Generous: the broker drains spawns in flight for up to stop.drain_ms. */
#define SB_CONSOLE_WAIT_MS 180000

/* The command line after the first two arguments, exactly as written. */
static wchar_t *rest_of_command_line(void) {
  wchar_t *p = GetCommandLineW();
  for (int arg = 0; arg < 2; arg++) {
    bool quoted = false;
    while (*p == L' ' || *p == L'\t') p++;
    for (; *p != L'\0' && (quoted || (*p != L' ' && *p != L'\t')); p++)
      if (*p == L'"') quoted = !quoted;
  }
  while (*p == L' ' || *p == L'\t') p++;
  return *p != L'\0' ? _wcsdup(p) : NULL;
}

int wmain(int argc, wchar_t **argv);

int wmain(int argc, wchar_t **argv) {
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  HANDLE ev, nul, waits[2];
  wchar_t *cmd;
  DWORD code = 0, w;

  if (argc < 3) {
    fputs("usage: sb_console EVENT COMMAND-LINE...\n", stderr);
    return 120;
  }
  ev = (HANDLE)(intptr_t)wcstoull(argv[1], NULL, 10);
  cmd = rest_of_command_line();
  nul = CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                    OPEN_EXISTING, 0, NULL);
  if (cmd == NULL || nul == INVALID_HANDLE_VALUE) return 120;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = si.hStdOutput = si.hStdError = nul;
  /* Only NUL reaches the broker: the event and this program's own standard
   * streams (inherited, so inheritable) are made non-inheritable first. */
  SetHandleInformation(ev, HANDLE_FLAG_INHERIT, 0);
  SetHandleInformation(GetStdHandle(STD_INPUT_HANDLE), HANDLE_FLAG_INHERIT, 0);
  SetHandleInformation(GetStdHandle(STD_OUTPUT_HANDLE), HANDLE_FLAG_INHERIT, 0);
  SetHandleInformation(GetStdHandle(STD_ERROR_HANDLE), HANDLE_FLAG_INHERIT, 0);
  if (!CreateProcessW(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
    fprintf(stderr, "sb_console: cannot start %ls: error %lu\n", cmd, GetLastError());
    return 121;
  }
  CloseHandle(pi.hThread);
  CloseHandle(nul);
  printf("pid %lu\n", pi.dwProcessId);
  fflush(stdout);
  waits[0] = ev;
  waits[1] = pi.hProcess;
  w = WaitForMultipleObjects(2, waits, FALSE, INFINITE);
  if (w == WAIT_OBJECT_0) {
    SetConsoleCtrlHandler(NULL, TRUE);
    if (!GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0)) {
      fprintf(stderr, "sb_console: GenerateConsoleCtrlEvent failed: error %lu\n", GetLastError());
      TerminateProcess(pi.hProcess, 122);
      WaitForSingleObject(pi.hProcess, INFINITE);
      return 122;
    }
    if (WaitForSingleObject(pi.hProcess, SB_CONSOLE_WAIT_MS) != WAIT_OBJECT_0) {
      fputs("sb_console: the broker did not exit after Ctrl-C\n", stderr);
      TerminateProcess(pi.hProcess, 123);
      WaitForSingleObject(pi.hProcess, INFINITE);
      return 123;
    }
  }
  GetExitCodeProcess(pi.hProcess, &code);
  CloseHandle(pi.hProcess);
  return (int)code;
}
