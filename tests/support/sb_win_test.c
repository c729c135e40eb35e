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

/* \\.\pipe\sb-test-<pid>-<n>, unique within the test run. */
static void unique_pipe(sbt_broker *b) {
  static LONG counter;
  LONG n = InterlockedIncrement(&counter);
  _snwprintf(b->pipe, 128, L"\\\\.\\pipe\\sb-test-%lu-%ld", GetCurrentProcessId(), n);
  snprintf(b->pipe_utf8, sizeof b->pipe_utf8, "\\\\.\\pipe\\sb-test-%lu-%ld",
           GetCurrentProcessId(), n);
}

/* Waits up to 20 s for the broker's pipe; 0 once it accepts connections. */
static int wait_listening(sbt_broker *b) {
  for (int i = 0; i < 400; i++) {
    if (WaitNamedPipeW(b->pipe, 50)) return 0;
    if (WaitForSingleObject(b->process, 0) == WAIT_OBJECT_0) break;
    Sleep(50);
  }
  fprintf(stderr, "broker never listened on %s\n", b->pipe_utf8);
  return SB_E_TIMEOUT;
}

int sbt_broker_start_exe(sbt_broker *b, const wchar_t *exe, const wchar_t *extra_args) {
  wchar_t path[MAX_PATH], cmd[1024];
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;

  memset(b, 0, sizeof *b);
  unique_pipe(b);
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
  if (wait_listening(b) == 0) return 0;
  sbt_broker_stop(b);
  return SB_E_TIMEOUT;
}

/* Starts sb_console.exe with exactly three inheritable handles, listed:
 * NUL as stdin, the write end of out as stdout and stderr, and the event. */
static int start_console_host(const wchar_t *cmd, HANDLE ev, HANDLE out, HANDLE nul,
                              PROCESS_INFORMATION *pi) {
  wchar_t app[MAX_PATH], *line = _wcsdup(cmd);
  HANDLE list[3] = {ev, out, nul};
  STARTUPINFOEXW si;
  SIZE_T size = 0;
  int rc = SB_E_INTERNAL;

  memset(&si, 0, sizeof si);
  si.StartupInfo.cb = sizeof si;
  InitializeProcThreadAttributeList(NULL, 1, 0, &size);
  si.lpAttributeList = malloc(size);
  if (line == NULL || si.lpAttributeList == NULL || sbt_exe_path(L"sb_console.exe", app, MAX_PATH) != 0 ||
      !InitializeProcThreadAttributeList(si.lpAttributeList, 1, 0, &size))
    goto done;
  if (UpdateProcThreadAttribute(si.lpAttributeList, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, list,
                                sizeof list, NULL, NULL)) {
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = nul;
    si.StartupInfo.hStdOutput = si.StartupInfo.hStdError = out;
    /* CREATE_NO_WINDOW: a console of its own, with no window to show. */
    if (CreateProcessW(app, line, NULL, NULL, TRUE, CREATE_NO_WINDOW | EXTENDED_STARTUPINFO_PRESENT,
                       NULL, NULL, &si.StartupInfo, pi))
      rc = 0;
    else
      fprintf(stderr, "cannot start sb_console.exe: error %lu\n", GetLastError());
  }
  DeleteProcThreadAttributeList(si.lpAttributeList);
done:
  free(si.lpAttributeList);
  free(line);
  return rc;
}

int sbt_broker_start_console(sbt_broker *b, const wchar_t *exe, const wchar_t *extra_args,
                             sbt_console *con) {
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  wchar_t path[MAX_PATH], cmd[1200];
  HANDLE out_r = NULL, out_w = NULL, nul = INVALID_HANDLE_VALUE;
  PROCESS_INFORMATION pi;
  char line[64];
  size_t len = 0;
  unsigned long pid = 0;
  int rc = SB_E_INTERNAL;

  memset(b, 0, sizeof *b);
  memset(con, 0, sizeof *con);
  unique_pipe(b);
  con->interrupt = CreateEventW(&sa, TRUE, FALSE, NULL);
  if (con->interrupt == NULL || sbt_exe_path(exe, path, MAX_PATH) != 0 ||
      !CreatePipe(&out_r, &out_w, &sa, 0))
    goto done;
  SetHandleInformation(out_r, HANDLE_FLAG_INHERIT, 0);
  nul = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_EXISTING,
                    0, NULL);
  if (nul == INVALID_HANDLE_VALUE) goto done;
  _snwprintf(cmd, 1200, L"sb_console.exe %llu \"%ls\" run --pipe %ls %ls",
             (unsigned long long)(uintptr_t)con->interrupt, path, b->pipe,
             extra_args ? extra_args : L"");
  cmd[1199] = L'\0';
  if (start_console_host(cmd, con->interrupt, out_w, nul, &pi) != 0) goto done;
  CloseHandle(pi.hThread);
  con->host = pi.hProcess;
  CloseHandle(out_w);
  out_w = NULL;
  /* "pid N", or end of file when sb_console could not start the broker. */
  if (sbt_pipe_read_line(out_r, line, sizeof line, &len) != 0 || sscanf(line, "pid %lu", &pid) != 1) {
    fprintf(stderr, "sb_console did not start the broker: %s\n", line);
    goto done;
  }
  b->pid = pid;
  b->process = OpenProcess(SYNCHRONIZE | PROCESS_TERMINATE | PROCESS_QUERY_LIMITED_INFORMATION,
                           FALSE, pid);
  if (b->process == NULL) goto done;
  rc = wait_listening(b);
done:
  if (out_r != NULL) CloseHandle(out_r);
  if (out_w != NULL) CloseHandle(out_w);
  if (nul != INVALID_HANDLE_VALUE) CloseHandle(nul);
  if (rc != 0) sbt_console_close(con, b);
  return rc;
}

int sbt_console_interrupt(sbt_console *con, DWORD timeout_ms, DWORD *exit_code) {
  *exit_code = (DWORD)-1;
  if (con->host == NULL || !SetEvent(con->interrupt)) return SB_E_INTERNAL;
  if (WaitForSingleObject(con->host, timeout_ms) != WAIT_OBJECT_0) return SB_E_TIMEOUT;
  GetExitCodeProcess(con->host, exit_code);
  return *exit_code >= 120 && *exit_code <= 123 ? SB_E_INTERNAL : 0;
}

void sbt_console_close(sbt_console *con, sbt_broker *b) {
  sbt_broker_stop(b);
  if (con->host != NULL) {
    TerminateProcess(con->host, 1);
    WaitForSingleObject(con->host, 10000);
    CloseHandle(con->host);
  }
  if (con->interrupt != NULL) CloseHandle(con->interrupt);
  memset(con, 0, sizeof *con);
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

char *sbt_read_text_file(const wchar_t *path) {
  HANDLE h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                         NULL, OPEN_EXISTING, 0, NULL);
  LARGE_INTEGER size;
  char *text = NULL;
  DWORD got = 0;
  if (h == INVALID_HANDLE_VALUE) return NULL;
  if (GetFileSizeEx(h, &size) && size.QuadPart < 64 * 1024 * 1024) {
    text = malloc((size_t)size.QuadPart + 1);
    if (text != NULL && ReadFile(h, text, (DWORD)size.QuadPart, &got, NULL))
      text[got] = '\0';
    else if (text != NULL) {
      free(text);
      text = NULL;
    }
  }
  CloseHandle(h);
  return text;
}

long long sbt_rotated_size(const wchar_t *path, int n) {
  wchar_t name[MAX_PATH + 8];
  WIN32_FILE_ATTRIBUTE_DATA a;
  if (n == 0)
    _snwprintf(name, MAX_PATH + 8, L"%ls", path);
  else
    _snwprintf(name, MAX_PATH + 8, L"%ls.%d", path, n);
  name[MAX_PATH + 7] = L'\0';
  if (!GetFileAttributesExW(name, GetFileExInfoStandard, &a)) return -1;
  return ((long long)a.nFileSizeHigh << 32) | a.nFileSizeLow;
}

void sbt_remove_rotated(const wchar_t *path, int upto) {
  wchar_t name[MAX_PATH + 8];
  DeleteFileW(path);
  for (int i = 1; i <= upto; i++) {
    _snwprintf(name, MAX_PATH + 8, L"%ls.%d", path, i);
    name[MAX_PATH + 7] = L'\0';
    DeleteFileW(name);
  }
}

size_t sbt_count_lines(const char *text, const char *needle) {
  size_t n = 0;
  while (text != NULL && *text != '\0') {
    const char *end = strchr(text, '\n');
    size_t len = end != NULL ? (size_t)(end - text) : strlen(text);
    char line[2048];
    if (len >= sizeof line) len = sizeof line - 1;
    memcpy(line, text, len);
    line[len] = '\0';
    if (strstr(line, needle) != NULL) n++;
    text = end != NULL ? end + 1 : text + len;
  }
  return n;
}

size_t sbt_open_children(DWORD parent, const wchar_t *exe, HANDLE *out, size_t cap) {
  PROCESSENTRY32W e;
  size_t n = 0;
  HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (snap == INVALID_HANDLE_VALUE) return 0;
  e.dwSize = sizeof e;
  for (BOOL ok = Process32FirstW(snap, &e); ok && n < cap; ok = Process32NextW(snap, &e)) {
    HANDLE h;
    if (e.th32ParentProcessID != parent || _wcsicmp(e.szExeFile, exe) != 0) continue;
    h = OpenProcess(SYNCHRONIZE | PROCESS_TERMINATE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
                    e.th32ProcessID);
    if (h != NULL) out[n++] = h;
  }
  CloseHandle(snap);
  return n;
}

int sbt_all_exit(HANDLE *list, size_t n, DWORD timeout_ms) {
  ULONGLONG end = GetTickCount64() + timeout_ms;
  for (size_t i = 0; i < n; i++) {
    ULONGLONG now = GetTickCount64();
    DWORD left = now < end ? (DWORD)(end - now) : 0;
    if (WaitForSingleObject(list[i], left) != WAIT_OBJECT_0) return 0;
  }
  return 1;
}

void sbt_close_all(HANDLE *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (list[i] != NULL) CloseHandle(list[i]);
}

void sbt_json_escape(const char *s, char *out, size_t cap) {
  size_t n = 0;
  for (; *s != '\0' && n + 3 < cap; s++) {
    if (*s == '\\' || *s == '"') out[n++] = '\\';
    out[n++] = *s;
  }
  out[n] = '\0';
}
