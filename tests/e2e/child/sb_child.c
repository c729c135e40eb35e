/*
 * sb_child.exe: the program that end-to-end tests start, directly or through
 * the broker, to see from inside a child what it received.
 *
 * Usage: sb_child COMMAND [ARGS] [COMMAND [ARGS]]...   (commands run in order)
 *   report [--to VALUE] [--env NAME]
 *                    prints one line of JSON describing the process's own
 *                    handle table (see tests/support/sb_child_report.h), to
 *                    stdout or, with --to, to the inherited handle VALUE
 *                    (decimal); --env NAME adds the value of that variable
 *   exit N           exits at once with code N
 *   sleep MS         sleeps MS milliseconds
 *   cat              copies stdin to stdout until end of input
 *   write VALUE TEXT writes TEXT (UTF-8, no newline added) to handle VALUE
 *   crt-fds          prints {"crt_fds":[{"fd":N,"handle":V},...]}: the C
 *                    runtime fds 0..63 that are open and their OS handles
 *   spawn-inherit    the "rogue" behaviour: starts sb_child.exe report with
 *                    CreateProcessW(bInheritHandles=TRUE) and no handle list,
 *                    its stdout on a pipe, and relays its report line
 * Exit codes: 0 when every command ran, N for "exit N", 2 for a usage error
 * (unknown command, missing or malformed argument), 3 when a command failed.
 * Errors are one line on stderr.
 *
 * The report is taken before the program opens anything itself, and the
 * program opens as little as it can (no CRT stdio on the report path), so
 * the handle table it describes is what the process was started with. It
 * reads the system handle list, so under Wine the rules of sb_handles.h
 * apply to any test that makes it report (RUN_SERIAL; no process created
 * without a handle while it runs).
 */
#include <cjson/cJSON.h>
#include <io.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <windows.h>

#include "sb_handles.h"

#define EXIT_USAGE 2
#define EXIT_FAILED 3

typedef struct sbc_basic_info {
  LONG exit_status;
  PVOID peb;
  ULONG_PTR affinity;
  LONG base_priority;
  ULONG_PTR pid;
  ULONG_PTR parent_pid;
} sbc_basic_info;

typedef LONG(NTAPI *sbc_query_process_fn)(HANDLE process, ULONG cls, PVOID info, ULONG len,
                                          PULONG ret_len);

static void fail_msg(const char *what, const wchar_t *arg) {
  fprintf(stderr, "sb_child: %s%s%ls\n", what, arg ? ": " : "", arg ? arg : L"");
  fflush(stderr);
}

/* UTF-16 to a malloc'd UTF-8 string (NULL on failure). */
static char *to_utf8(const wchar_t *w) {
  int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
  char *s;
  if (n <= 0) return NULL;
  s = malloc((size_t)n);
  if (s == NULL) return NULL;
  if (WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) != n) {
    free(s);
    return NULL;
  }
  return s;
}

/* Parses an unsigned decimal number that must be the whole argument. */
static bool parse_u64(const wchar_t *s, uint64_t max, uint64_t *out) {
  uint64_t v = 0;
  if (s == NULL || *s == L'\0') return false;
  for (; *s; s++) {
    if (*s < L'0' || *s > L'9') return false;
    if (v > (max - (uint64_t)(*s - L'0')) / 10) return false;
    v = v * 10 + (uint64_t)(*s - L'0');
  }
  *out = v;
  return true;
}

static bool write_all(HANDLE h, const char *data, size_t len) {
  while (len > 0) {
    DWORD put = 0;
    DWORD chunk = len > 65536 ? 65536 : (DWORD)len;
    if (!WriteFile(h, data, chunk, &put, NULL) || put == 0) return false;
    data += put;
    len -= put;
  }
  return true;
}

/* INVALID_HANDLE_VALUE is reported as -1, no handle as 0. */
static double std_value(DWORD which) {
  HANDLE h = GetStdHandle(which);
  if (h == INVALID_HANDLE_VALUE) return -1;
  return (double)(uintptr_t)h;
}

static DWORD parent_pid(void) {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  sbc_query_process_fn query;
  sbc_basic_info info;
  if (ntdll == NULL) return 0;
  /* Through void (*)(void): a deliberate conversion from FARPROC. */
  query = (sbc_query_process_fn)(void (*)(void))GetProcAddress(ntdll,
                                                                "NtQueryInformationProcess");
  if (query == NULL) return 0;
  memset(&info, 0, sizeof info);
  if (query(GetCurrentProcess(), 0 /* ProcessBasicInformation */, &info, sizeof info, NULL) != 0)
    return 0;
  return (DWORD)info.parent_pid;
}

/* Builds the report. The handle table is read first, before anything else
 * could open a handle. */
static char *build_report(int argc, wchar_t **argv, const wchar_t *env_name) {
  sbt_handle *list = NULL;
  size_t n = 0;
  cJSON *root = NULL, *arr, *std, *args;
  char *text = NULL;
  char *s;

  if (sbt_handles_of(GetCurrentProcessId(), &list, &n) != 0) return NULL;
  root = cJSON_CreateObject();
  if (root == NULL) goto done;
  if (!cJSON_AddNumberToObject(root, "pid", GetCurrentProcessId())) goto done;
  if (!cJSON_AddNumberToObject(root, "parent_pid", parent_pid())) goto done;
  arr = cJSON_AddArrayToObject(root, "handles");
  if (arr == NULL) goto done;
  for (size_t i = 0; i < n; i++) {
    wchar_t type[64];
    cJSON *h = cJSON_CreateObject();
    if (h == NULL || !cJSON_AddItemToArray(arr, h)) {
      cJSON_Delete(h);
      goto done;
    }
    if (sbt_type_name((HANDLE)(uintptr_t)list[i].value, type, 64) != 0) type[0] = L'\0';
    s = to_utf8(type);
    if (s == NULL) goto done;
    if (!cJSON_AddNumberToObject(h, "value", (double)list[i].value) ||
        !cJSON_AddStringToObject(h, "type", s) ||
        !cJSON_AddBoolToObject(h, "inheritable", sbt_handle_inheritable(&list[i])) ||
        !cJSON_AddNumberToObject(h, "access", list[i].access)) {
      free(s);
      goto done;
    }
    free(s);
  }
  std = cJSON_AddObjectToObject(root, "std");
  if (std == NULL || !cJSON_AddNumberToObject(std, "in", std_value(STD_INPUT_HANDLE)) ||
      !cJSON_AddNumberToObject(std, "out", std_value(STD_OUTPUT_HANDLE)) ||
      !cJSON_AddNumberToObject(std, "err", std_value(STD_ERROR_HANDLE)))
    goto done;
  if (env_name != NULL) {
    wchar_t small[1];
    DWORD need = GetEnvironmentVariableW(env_name, small, 1);
    if (need == 0) {
      if (!cJSON_AddNullToObject(root, "env_handles")) goto done;
    } else {
      wchar_t *value = malloc(need * sizeof(wchar_t));
      if (value == NULL) goto done;
      if (GetEnvironmentVariableW(env_name, value, need) >= need) {
        free(value);
        goto done;
      }
      s = to_utf8(value);
      free(value);
      if (s == NULL) goto done;
      if (!cJSON_AddStringToObject(root, "env_handles", s)) {
        free(s);
        goto done;
      }
      free(s);
    }
  } else if (!cJSON_AddNullToObject(root, "env_handles")) {
    goto done;
  }
  args = cJSON_AddArrayToObject(root, "argv");
  if (args == NULL) goto done;
  for (int i = 0; i < argc; i++) {
    cJSON *a;
    s = to_utf8(argv[i]);
    if (s == NULL) goto done;
    a = cJSON_CreateString(s);
    free(s);
    if (a == NULL || !cJSON_AddItemToArray(args, a)) {
      cJSON_Delete(a);
      goto done;
    }
  }
  s = to_utf8(GetCommandLineW());
  if (s == NULL) goto done;
  if (!cJSON_AddStringToObject(root, "cmdline", s)) {
    free(s);
    goto done;
  }
  free(s);
  text = cJSON_PrintUnformatted(root);
done:
  cJSON_Delete(root);
  free(list);
  return text;
}

/* report [--to VALUE] [--env NAME]; consumes its options from argv[*i]. */
static int cmd_report(int argc, wchar_t **argv, int *i) {
  HANDLE to = GetStdHandle(STD_OUTPUT_HANDLE);
  const wchar_t *env_name = NULL;
  char *text;
  bool ok;
  while (*i + 1 < argc) {
    const wchar_t *opt = argv[*i + 1];
    if (wcscmp(opt, L"--to") == 0) {
      uint64_t v;
      if (*i + 2 >= argc || !parse_u64(argv[*i + 2], UINT32_MAX, &v)) {
        fail_msg("report --to needs a decimal handle value", NULL);
        return EXIT_USAGE;
      }
      to = (HANDLE)(uintptr_t)v;
      *i += 2;
    } else if (wcscmp(opt, L"--env") == 0) {
      if (*i + 2 >= argc || argv[*i + 2][0] == L'\0') {
        fail_msg("report --env needs a variable name", NULL);
        return EXIT_USAGE;
      }
      env_name = argv[*i + 2];
      *i += 2;
    } else {
      break;
    }
  }
  text = build_report(argc, argv, env_name);
  if (text == NULL) {
    fail_msg("cannot build the report", NULL);
    return EXIT_FAILED;
  }
  ok = write_all(to, text, strlen(text)) && write_all(to, "\n", 1);
  cJSON_free(text);
  if (!ok) {
    fail_msg("cannot write the report", NULL);
    return EXIT_FAILED;
  }
  return 0;
}

static int cmd_cat(void) {
  HANDLE in = GetStdHandle(STD_INPUT_HANDLE), out = GetStdHandle(STD_OUTPUT_HANDLE);
  char buf[4096];
  for (;;) {
    DWORD got = 0;
    if (!ReadFile(in, buf, sizeof buf, &got, NULL)) {
      /* A closed pipe is the ordinary end of input. */
      DWORD e = GetLastError();
      if (e == ERROR_BROKEN_PIPE || e == ERROR_HANDLE_EOF) return 0;
      fail_msg("cat: cannot read stdin", NULL);
      return EXIT_FAILED;
    }
    if (got == 0) return 0;
    if (!write_all(out, buf, got)) {
      fail_msg("cat: cannot write stdout", NULL);
      return EXIT_FAILED;
    }
  }
}

static int cmd_write(const wchar_t *value, const wchar_t *text) {
  uint64_t v;
  char *s;
  bool ok;
  if (!parse_u64(value, UINT32_MAX, &v)) {
    fail_msg("write needs a decimal handle value", value);
    return EXIT_USAGE;
  }
  s = to_utf8(text);
  if (s == NULL) {
    fail_msg("write: the text is not valid UTF-16", NULL);
    return EXIT_FAILED;
  }
  ok = write_all((HANDLE)(uintptr_t)v, s, strlen(s));
  free(s);
  if (!ok) {
    fail_msg("write: WriteFile failed", value);
    return EXIT_FAILED;
  }
  return 0;
}

/* An invalid fd makes the UCRT (and newer msvcrt) call the invalid parameter
 * handler, which terminates the process by default; probing fds is the
 * point of crt-fds, so the handler is made to return instead. */
static void ignore_invalid_parameter(const wchar_t *expr, const wchar_t *func,
                                     const wchar_t *file, unsigned line, uintptr_t reserved) {
  (void)expr;
  (void)func;
  (void)file;
  (void)line;
  (void)reserved;
}

/* count-inheritable: exits with the number of inheritable handles this
 * process holds. The rogue spawners of the concurrency test run it with
 * bInheritHandles=TRUE; a count above the first run's would mean the rogue
 * picked up a handle meant for a brokered child. */
static int cmd_count_inheritable(void) {
  sbt_handle *list = NULL;
  size_t n = 0;
  int count = 0;
  if (sbt_handles_of(GetCurrentProcessId(), &list, &n) != 0) return 1000;
  for (size_t i = 0; i < n; i++) count += sbt_handle_inheritable(&list[i]);
  free(list);
  return count;
}

static int cmd_crt_fds(void) {
  cJSON *root = cJSON_CreateObject(), *arr;
  char *text = NULL;
  int rc = EXIT_FAILED;
  _invalid_parameter_handler old = _set_invalid_parameter_handler(ignore_invalid_parameter);
  arr = root ? cJSON_AddArrayToObject(root, "crt_fds") : NULL;
  if (arr == NULL) goto done;
  for (int fd = 0; fd < 64; fd++) {
    intptr_t h = _get_osfhandle(fd);
    cJSON *e;
    if (h == -1) continue;
    e = cJSON_CreateObject();
    if (e == NULL || !cJSON_AddItemToArray(arr, e)) {
      cJSON_Delete(e);
      goto done;
    }
    if (!cJSON_AddNumberToObject(e, "fd", fd) ||
        !cJSON_AddNumberToObject(e, "handle", (double)h))
      goto done;
  }
  text = cJSON_PrintUnformatted(root);
  if (text == NULL) goto done;
  if (!write_all(GetStdHandle(STD_OUTPUT_HANDLE), text, strlen(text)) ||
      !write_all(GetStdHandle(STD_OUTPUT_HANDLE), "\n", 1))
    goto done;
  rc = 0;
done:
  _set_invalid_parameter_handler(old);
  if (rc != 0) fail_msg("crt-fds failed", NULL);
  cJSON_free(text);
  cJSON_Delete(root);
  return rc;
}

typedef struct relay {
  HANDLE from;
  char *buf;
  size_t len, cap;
  bool ok;
} relay;

/* Drains the grandchild's stdout on a thread, so a report longer than the
 * pipe buffer cannot block it while this process waits for it to exit. */
static DWORD WINAPI relay_thread(void *arg) {
  relay *r = arg;
  for (;;) {
    DWORD got = 0;
    if (r->len == r->cap) {
      size_t cap = r->cap ? r->cap * 2 : 8192;
      char *bigger = realloc(r->buf, cap);
      if (bigger == NULL) return 0;
      r->buf = bigger;
      r->cap = cap;
    }
    if (!ReadFile(r->from, r->buf + r->len, (DWORD)(r->cap - r->len), &got, NULL) || got == 0)
      break;
    r->len += got;
  }
  r->ok = true;
  return 0;
}

static int cmd_spawn_inherit(void) {
  wchar_t path[MAX_PATH], cmd[MAX_PATH + 32];
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  HANDLE rd = NULL, wr = NULL, thread = NULL;
  STARTUPINFOW si;
  PROCESS_INFORMATION pi = {0};
  relay r = {0};
  DWORD code = 1, n = GetModuleFileNameW(NULL, path, MAX_PATH);
  int rc = EXIT_FAILED;

  if (n == 0 || n >= MAX_PATH) goto done;
  _snwprintf(cmd, sizeof cmd / sizeof cmd[0], L"\"%ls\" report", path);
  cmd[sizeof cmd / sizeof cmd[0] - 1] = L'\0';
  /* The write end is inheritable, as any careless program would make it; the
   * grandchild reports it as its stdout, so tests can tell it apart. */
  if (!CreatePipe(&rd, &wr, &sa, 0)) goto done;
  if (!SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0)) goto done;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = NULL;
  si.hStdOutput = wr;
  si.hStdError = NULL;
  /* No attribute list: every inheritable handle of this process goes. */
  if (!CreateProcessW(path, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) goto done;
  CloseHandle(wr);
  wr = NULL;
  r.from = rd;
  thread = CreateThread(NULL, 0, relay_thread, &r, 0, NULL);
  if (thread == NULL) goto done;
  if (WaitForSingleObject(pi.hProcess, 30000) != WAIT_OBJECT_0) {
    TerminateProcess(pi.hProcess, 124);
    WaitForSingleObject(pi.hProcess, 5000);
    goto done;
  }
  if (!GetExitCodeProcess(pi.hProcess, &code) || code != 0) goto done;
  if (WaitForSingleObject(thread, 30000) != WAIT_OBJECT_0 || !r.ok) goto done;
  if (!write_all(GetStdHandle(STD_OUTPUT_HANDLE), r.buf, r.len)) goto done;
  rc = 0;
done:
  if (rc != 0) fail_msg("spawn-inherit failed", NULL);
  if (pi.hProcess != NULL) {
    /* Close the read end first so a stuck relay thread returns. */
    if (thread != NULL && WaitForSingleObject(thread, 0) != WAIT_OBJECT_0) {
      CloseHandle(rd);
      rd = NULL;
      WaitForSingleObject(thread, 5000);
    }
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
  }
  if (thread != NULL) CloseHandle(thread);
  if (rd != NULL) CloseHandle(rd);
  if (wr != NULL) CloseHandle(wr);
  free(r.buf);
  return rc;
}

/* The Windows headers do not declare the wide entry point. */
int wmain(int argc, wchar_t **argv);

int wmain(int argc, wchar_t **argv) {
  if (argc < 2) {
    fail_msg("usage: sb_child COMMAND [ARGS]... (report, exit, sleep, cat, write, crt-fds, "
             "count-inheritable, spawn-inherit)",
             NULL);
    return EXIT_USAGE;
  }
  for (int i = 1; i < argc; i++) {
    const wchar_t *c = argv[i];
    int rc;
    if (wcscmp(c, L"report") == 0) {
      rc = cmd_report(argc, argv, &i);
    } else if (wcscmp(c, L"exit") == 0) {
      uint64_t code;
      if (i + 1 >= argc || !parse_u64(argv[i + 1], UINT32_MAX, &code)) {
        fail_msg("exit needs a decimal exit code", NULL);
        return EXIT_USAGE;
      }
      return (int)(DWORD)code;
    } else if (wcscmp(c, L"sleep") == 0) {
      uint64_t ms;
      if (i + 1 >= argc || !parse_u64(argv[i + 1], UINT32_MAX - 1, &ms)) {
        fail_msg("sleep needs a number of milliseconds", NULL);
        return EXIT_USAGE;
      }
      Sleep((DWORD)ms);
      i++;
      rc = 0;
    } else if (wcscmp(c, L"cat") == 0) {
      rc = cmd_cat();
    } else if (wcscmp(c, L"write") == 0) {
      if (i + 2 >= argc) {
        fail_msg("write needs a handle value and a text", NULL);
        return EXIT_USAGE;
      }
      rc = cmd_write(argv[i + 1], argv[i + 2]);
      i += 2;
    } else if (wcscmp(c, L"count-inheritable") == 0) {
      return cmd_count_inheritable();
    } else if (wcscmp(c, L"crt-fds") == 0) {
      rc = cmd_crt_fds();
    } else if (wcscmp(c, L"spawn-inherit") == 0) {
      rc = cmd_spawn_inherit();
    } else {
      fail_msg("unknown command", c);
      return EXIT_USAGE;
    }
    if (rc != 0) return rc;
  }
  return 0;
}
