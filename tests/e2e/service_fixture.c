#include "service_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include "sb_errors.h"

#define SVCT_EVENTLOG_KEY L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\"

static void to_utf8(const wchar_t *w, char *out, size_t cap) {
  if (WideCharToMultiByte(CP_UTF8, 0, w, -1, out, (int)cap, NULL, NULL) <= 0) out[0] = '\0';
}

/* s as the inside of a JSON string: backslashes and quotes escaped. */
static void json_escape(const char *s, char *out, size_t cap) {
  size_t n = 0;
  for (; *s != '\0' && n + 3 < cap; s++) {
    if (*s == '\\' || *s == '"') out[n++] = '\\';
    out[n++] = *s;
  }
  out[n] = '\0';
}

bool svct_write_config(const svct *s, const char *json) {
  HANDLE h = CreateFileW(s->config, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
  DWORD put = 0;
  bool ok = h != INVALID_HANDLE_VALUE && WriteFile(h, json, (DWORD)strlen(json), &put, NULL) &&
            put == strlen(json);
  if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
  return ok;
}

bool svct_init(svct *s, const wchar_t *exe, bool with_log, const char *extra) {
  static LONG counter;
  LONG n = InterlockedIncrement(&counter);
  wchar_t tmp[MAX_PATH];
  char pipe_json[256], log_utf8[MAX_PATH * 3], log_json[MAX_PATH * 6], json[4096];

  memset(s, 0, sizeof *s);
  s->exe = exe;
  snprintf(s->name, sizeof s->name, "sbt-svc-%lu-%ld", GetCurrentProcessId(), n);
  _snwprintf(s->wname, 80, L"sbt-svc-%lu-%ld", GetCurrentProcessId(), n);
  snprintf(s->pipe, sizeof s->pipe, "\\\\.\\pipe\\%s", s->name);
  GetTempPathW(MAX_PATH, tmp);
  /* A folder name outside every ANSI code page: the service must read its
   * command line as UTF-16 to find its config file. */
  _snwprintf(s->dir, MAX_PATH, L"%lssbt-svc-%lu-%ld-\u0436\u96ea", tmp, GetCurrentProcessId(), n);
  _snwprintf(s->config, MAX_PATH, L"%ls\\config.json", s->dir);
  if (with_log) _snwprintf(s->log, MAX_PATH, L"%ls\\service.log", s->dir);
  if (!CreateDirectoryW(s->dir, NULL) && GetLastError() != ERROR_ALREADY_EXISTS) return false;
  json_escape(s->pipe, pipe_json, sizeof pipe_json);
  to_utf8(s->log, log_utf8, sizeof log_utf8);
  json_escape(log_utf8, log_json, sizeof log_json);
  snprintf(json, sizeof json,
           "{\"pipe\": \"%s\", \"pool\": {\"warm\": 1},\n"
           " \"log\": {\"level\": \"debug\"%s%s%s}%s%s}\n",
           pipe_json, with_log ? ", \"file\": \"" : "", with_log ? log_json : "",
           with_log ? "\"" : "", extra != NULL ? ",\n " : "", extra != NULL ? extra : "");
  return svct_write_config(s, json);
}

int svct_verb(const svct *s, const char *verb, const wchar_t *extra, sbt_run *r) {
  wchar_t args[2048];
  _snwprintf(args, 2048, L"%hs --name %ls %ls", verb, s->wname, extra != NULL ? extra : L"");
  args[2047] = L'\0';
  return sbt_run_capture(s->exe, args, 150000, r);
}

int svct_install(const svct *s, const wchar_t *extra, sbt_run *r) {
  wchar_t args[2048];
  _snwprintf(args, 2048, L"--config \"%ls\" %ls", s->config, extra != NULL ? extra : L"");
  args[2047] = L'\0';
  return svct_verb(s, "install", args, r);
}

int svct_state(const svct *s, DWORD *state, DWORD *pid) {
  SC_HANDLE mgr = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT), svc = NULL;
  SERVICE_STATUS_PROCESS st;
  DWORD n;
  int rc = -1;
  if (mgr != NULL) svc = OpenServiceW(mgr, s->wname, SERVICE_QUERY_STATUS);
  if (svc != NULL &&
      QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)&st, sizeof st, &n)) {
    *state = st.dwCurrentState;
    if (pid != NULL) *pid = st.dwProcessId;
    rc = 0;
  }
  if (svc != NULL) CloseServiceHandle(svc);
  if (mgr != NULL) CloseServiceHandle(mgr);
  return rc;
}

bool svct_wait_state(const svct *s, DWORD state, DWORD timeout_ms) {
  ULONGLONG end = GetTickCount64() + timeout_ms;
  do {
    DWORD now;
    if (svct_state(s, &now, NULL) == 0 && now == state) return true;
    Sleep(100);
  } while (GetTickCount64() < end);
  return false;
}

bool svct_gone(const svct *s) {
  SC_HANDLE mgr = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT), svc;
  bool gone;
  if (mgr == NULL) return false;
  svc = OpenServiceW(mgr, s->wname, SERVICE_QUERY_STATUS);
  gone = svc == NULL && GetLastError() == ERROR_SERVICE_DOES_NOT_EXIST;
  if (svc != NULL) CloseServiceHandle(svc);
  CloseServiceHandle(mgr);
  return gone;
}

/* The service's process, killed when a stop does not end it. */
static void stop_or_kill(const svct *s, SC_HANDLE svc) {
  SERVICE_STATUS ss;
  DWORD state = 0, pid = 0;
  if (svct_state(s, &state, &pid) != 0 || state == SERVICE_STOPPED) return;
  /* A spawn held at the gate would keep the stop waiting for its drain. */
  if (s->gate.go != NULL) SetEvent(s->gate.go);
  ControlService(svc, SERVICE_CONTROL_STOP, &ss);
  if (svct_wait_state(s, SERVICE_STOPPED, 60000)) return;
  fprintf(stderr, "cleanup: %s did not stop; killing pid %lu\n", s->name, pid);
  if (pid != 0) {
    HANDLE p = OpenProcess(PROCESS_TERMINATE | SYNCHRONIZE, FALSE, pid);
    if (p != NULL) {
      TerminateProcess(p, 1);
      WaitForSingleObject(p, 10000);
      CloseHandle(p);
    }
  }
  svct_wait_state(s, SERVICE_STOPPED, 10000);
}

void svct_cleanup(svct *s) {
  SC_HANDLE mgr = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT), svc = NULL;
  wchar_t path[MAX_PATH + 16];
  if (mgr != NULL) svc = OpenServiceW(mgr, s->wname, SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE);
  if (svc != NULL) {
    stop_or_kill(s, svc);
    DeleteService(svc);
    CloseServiceHandle(svc);
  }
  if (mgr != NULL) CloseServiceHandle(mgr);
  _snwprintf(path, MAX_PATH + 16, SVCT_EVENTLOG_KEY L"%ls", s->wname);
  RegDeleteKeyW(HKEY_LOCAL_MACHINE, path);
  sbt_gate_close(&s->gate);
  if (s->log[0] != L'\0') sbt_remove_rotated(s->log, 100);
  DeleteFileW(s->config);
  RemoveDirectoryW(s->dir);
}

