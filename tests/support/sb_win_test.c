#include "sb_win_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
/* After windows.h (sb_win_test.h). */
#include <tlhelp32.h>
#include <sddl.h>

#include "sb_errors.h"

int sbt_under_wine(void) {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

int sbt_own_sid(char *out, size_t cap) {
  HANDLE t;
  union {
    TOKEN_USER u;
    unsigned char b[256];
  } info;
  DWORD len;
  char *s = NULL;
  int rc = SB_E_INTERNAL;
  if (cap > 0) out[0] = '\0';
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &t)) return rc;
  if (GetTokenInformation(t, TokenUser, &info, sizeof info, &len) &&
      ConvertSidToStringSidA(info.u.User.Sid, &s)) {
    if ((size_t)snprintf(out, cap, "%s", s) < cap) rc = 0;
    LocalFree(s);
  }
  CloseHandle(t);
  return rc;
}

int sbt_exe_path(const wchar_t *exe, wchar_t *out, size_t cap) {
  DWORD n = GetModuleFileNameW(NULL, out, (DWORD)cap);
  wchar_t *slash;
  if (n == 0 || n >= cap) return SB_E_INTERNAL;
  slash = wcsrchr(out, L'\\');
  if (slash == NULL) return SB_E_INTERNAL;
  if ((size_t)(slash + 1 - out) + wcslen(exe) + 1 > cap) return SB_E_INTERNAL;
  wcscpy(slash + 1, exe);
  return 0;
}

/* Reads everything from `h` into buf (NUL-terminated, excess discarded). */
static void drain(HANDLE h, char *buf, size_t cap) {
  size_t len = 0;
  char scratch[512];
  DWORD got;
  while (ReadFile(h, scratch, sizeof scratch, &got, NULL) && got > 0) {
    size_t take = got;
    if (take > cap - 1 - len) take = cap - 1 - len;
    memcpy(buf + len, scratch, take);
    len += take;
  }
  buf[len] = '\0';
}

typedef struct drain_job {
  HANDLE h;
  char *buf;
  size_t cap;
} drain_job;

static DWORD WINAPI drain_thread(void *arg) {
  drain_job *j = arg;
  drain(j->h, j->buf, j->cap);
  return 0;
}

int sbt_run_capture(const wchar_t *exe, const wchar_t *args, DWORD timeout_ms,
                    sbt_run *r) {
  wchar_t path[MAX_PATH], cmd[4096];
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  HANDLE out_r = NULL, out_w = NULL, err_r = NULL, err_w = NULL, nul = INVALID_HANDLE_VALUE;
  HANDLE threads[2] = {NULL, NULL};
  drain_job jobs[2];
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  DWORD start = GetTickCount();
  int rc = SB_E_INTERNAL;

  memset(r, 0, sizeof *r);
  if (sbt_exe_path(exe, path, MAX_PATH) != 0) return SB_E_INTERNAL;
  _snwprintf(cmd, sizeof cmd / sizeof cmd[0], L"\"%ls\" %ls", path, args);
  cmd[sizeof cmd / sizeof cmd[0] - 1] = L'\0';
  /* The test program runs alone, so inheriting the pipe ends is safe here:
   * no other thread can create a process that would receive them. */
  if (!CreatePipe(&out_r, &out_w, &sa, 0) || !CreatePipe(&err_r, &err_w, &sa, 0)) goto done;
  SetHandleInformation(out_r, HANDLE_FLAG_INHERIT, 0);
  SetHandleInformation(err_r, HANDLE_FLAG_INHERIT, 0);
  nul = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                    OPEN_EXISTING, 0, NULL);
  if (nul == INVALID_HANDLE_VALUE) goto done;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = nul;
  si.hStdOutput = out_w;
  si.hStdError = err_w;
  if (!CreateProcessW(path, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) goto done;
  CloseHandle(out_w);
  CloseHandle(err_w);
  out_w = err_w = NULL;
  jobs[0] = (drain_job){out_r, r->out, sizeof r->out};
  jobs[1] = (drain_job){err_r, r->err, sizeof r->err};
  threads[0] = CreateThread(NULL, 0, drain_thread, &jobs[0], 0, NULL);
  threads[1] = CreateThread(NULL, 0, drain_thread, &jobs[1], 0, NULL);
  if (WaitForSingleObject(pi.hProcess, timeout_ms) != WAIT_OBJECT_0) {
    TerminateProcess(pi.hProcess, 124);
    WaitForSingleObject(pi.hProcess, INFINITE);
    rc = SB_E_TIMEOUT;
  } else {
    rc = 0;
  }
  GetExitCodeProcess(pi.hProcess, &r->exit_code);
  r->elapsed_ms = GetTickCount() - start;
  CloseHandle(pi.hThread);
  CloseHandle(pi.hProcess);
  if (threads[0]) WaitForSingleObject(threads[0], 10000);
  if (threads[1]) WaitForSingleObject(threads[1], 10000);
done:
  if (threads[0]) CloseHandle(threads[0]);
  if (threads[1]) CloseHandle(threads[1]);
  if (out_r) CloseHandle(out_r);
  if (out_w) CloseHandle(out_w);
  if (err_r) CloseHandle(err_r);
  if (err_w) CloseHandle(err_w);
  if (nul != INVALID_HANDLE_VALUE) CloseHandle(nul);
  return rc;
}

int sbt_broker_start(sbt_broker *b, const wchar_t *extra_args) {
  return sbt_broker_start_exe(b, L"spawnbroker.exe", extra_args);
}

int sbt_broker_start_exe(sbt_broker *b, const wchar_t *exe, const wchar_t *extra_args) {
  static LONG counter;
  wchar_t path[MAX_PATH], cmd[1024];
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  LONG n = InterlockedIncrement(&counter);

  memset(b, 0, sizeof *b);
  _snwprintf(b->pipe, 128, L"\\\\.\\pipe\\sb-test-%lu-%ld", GetCurrentProcessId(), n);
  snprintf(b->pipe_utf8, sizeof b->pipe_utf8, "\\\\.\\pipe\\sb-test-%lu-%ld",
           GetCurrentProcessId(), n);
  if (sbt_exe_path(exe, path, MAX_PATH) != 0) return SB_E_INTERNAL;
  _snwprintf(cmd, 1024, L"\"%ls\" run --pipe %ls %ls", path, b->pipe,
             extra_args ? extra_args : L"");
  cmd[1023] = L'\0';
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  if (!CreateProcessW(path, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
    fprintf(stderr, "cannot start %ls: error %lu\n", exe, GetLastError());
    return SB_E_INTERNAL;
  }
  CloseHandle(pi.hThread);
  b->process = pi.hProcess;
  b->pid = pi.dwProcessId;
  for (int i = 0; i < 400; i++) {
    if (WaitNamedPipeW(b->pipe, 50)) return 0;
    if (WaitForSingleObject(b->process, 0) == WAIT_OBJECT_0) break;
    Sleep(50);
  }
  fprintf(stderr, "broker never listened on %s\n", b->pipe_utf8);
  sbt_broker_stop(b);
  return SB_E_TIMEOUT;
}

void sbt_broker_stop(sbt_broker *b) {
  if (b->process == NULL) return;
  TerminateProcess(b->process, 0);
  WaitForSingleObject(b->process, 10000);
  CloseHandle(b->process);
  b->process = NULL;
}

HANDLE sbt_pipe_open(const sbt_broker *b) {
  for (int i = 0; i < 100; i++) {
    /* GENERIC_WRITE would include FILE_APPEND_DATA (on a pipe the same bit
     * as FILE_CREATE_PIPE_INSTANCE), which the broker's access list grants
     * no client: ask for exactly what a client gets. */
    HANDLE h = CreateFileW(b->pipe, GENERIC_READ | FILE_WRITE_DATA, 0, NULL,
                           OPEN_EXISTING, 0, NULL);
    if (h != INVALID_HANDLE_VALUE) return h;
    if (GetLastError() != ERROR_PIPE_BUSY) return NULL;
    WaitNamedPipeW(b->pipe, 100);
  }
  return NULL;
}

int sbt_pipe_write(HANDLE h, const char *data, size_t len) {
  while (len > 0) {
    DWORD put;
    if (!WriteFile(h, data, (DWORD)len, &put, NULL)) return SB_E_IO;
    data += put;
    len -= put;
  }
  return 0;
}

int sbt_pipe_read_line(HANDLE h, char *buf, size_t cap, size_t *len) {
  size_t n = 0;
  for (;;) {
    char ch;
    DWORD got;
    if (!ReadFile(h, &ch, 1, &got, NULL)) {
      DWORD e = GetLastError();
      *len = n;
      return (e == ERROR_BROKEN_PIPE || e == ERROR_PIPE_NOT_CONNECTED) ? SB_E_CLOSED
                                                                       : SB_E_IO;
    }
    if (got == 0) { /* end of stream */
      *len = n;
      return SB_E_CLOSED;
    }
    if (ch == '\n') break;
    if (n + 1 >= cap) return SB_E_FRAME_TOO_LARGE;
    buf[n++] = ch;
  }
  buf[n] = '\0';
  *len = n;
  return 0;
}

size_t sbt_count_children(DWORD parent, const wchar_t *exe) {
  PROCESSENTRY32W e;
  size_t n = 0;
  HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (snap == INVALID_HANDLE_VALUE) return (size_t)-1;
  e.dwSize = sizeof e;
  for (BOOL ok = Process32FirstW(snap, &e); ok; ok = Process32NextW(snap, &e))
    if (e.th32ParentProcessID == parent && _wcsicmp(e.szExeFile, exe) == 0) n++;
  CloseHandle(snap);
  return n;
}

int sbt_run_collect(const wchar_t *app, wchar_t *cmdline, wchar_t *env, char **out,
                    DWORD *exit_code) {
  return sbt_run_collect_ms(app, cmdline, env, 30000, out, exit_code);
}

int sbt_run_collect_ms(const wchar_t *app, wchar_t *cmdline, wchar_t *env, DWORD timeout_ms,
                       char **out, DWORD *exit_code) {
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  HANDLE rd = NULL, wr = NULL, nul = INVALID_HANDLE_VALUE;
  STARTUPINFOW si;
  PROCESS_INFORMATION pi = {0};
  char *buf = NULL;
  size_t len = 0, cap = 0;
  int rc = SB_E_INTERNAL;

  *out = NULL;
  *exit_code = (DWORD)-1;
  if (!CreatePipe(&rd, &wr, &sa, 0)) goto done;
  SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
  nul = CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                    &sa, OPEN_EXISTING, 0, NULL);
  if (nul == INVALID_HANDLE_VALUE) goto done;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = nul;
  si.hStdOutput = wr;
  si.hStdError = nul;
  if (!CreateProcessW(app, cmdline, NULL, NULL, TRUE,
                      CREATE_NO_WINDOW | (env != NULL ? CREATE_UNICODE_ENVIRONMENT : 0), env,
                      NULL, &si, &pi)) {
    DWORD err = GetLastError();
    fprintf(stderr, "CreateProcessW failed: %lu\n", (unsigned long)err);
    rc = SB_E_SPAWN_FAILED;
    goto done;
  }
  CloseHandle(wr);
  wr = NULL;
  for (;;) {
    DWORD got;
    if (cap - len < 4096) {
      char *bigger = realloc(buf, cap * 2 + 8192);
      if (bigger == NULL) goto done;
      buf = bigger;
      cap = cap * 2 + 8192;
    }
    if (!ReadFile(rd, buf + len, (DWORD)(cap - len - 1), &got, NULL) || got == 0) break;
    len += got;
  }
  if (WaitForSingleObject(pi.hProcess, timeout_ms) != WAIT_OBJECT_0) goto done;
  GetExitCodeProcess(pi.hProcess, exit_code);
  if (buf == NULL) buf = calloc(1, 1);
  if (buf == NULL) goto done;
  buf[len] = '\0';
  *out = buf;
  buf = NULL;
  rc = 0;
done:
  if (pi.hProcess != NULL) {
    if (rc != 0) TerminateProcess(pi.hProcess, 1);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
  }
  if (wr != NULL) CloseHandle(wr);
  if (rd != NULL) CloseHandle(rd);
  if (nul != INVALID_HANDLE_VALUE) CloseHandle(nul);
  free(buf);
  return rc;
}

HANDLE sbt_temp_file(void) {
  wchar_t dir[MAX_PATH], path[MAX_PATH];
  GetTempPathW(MAX_PATH, dir);
  GetTempFileNameW(dir, L"sbt", 0, path);
  return CreateFileW(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                     FILE_FLAG_DELETE_ON_CLOSE, NULL);
}
