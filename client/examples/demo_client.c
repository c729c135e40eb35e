/*
 * demo_client.exe PIPE NAME CHILD: the client scripts/demo runs several of at
 * once. It shows the point of spawnbroker side by side:
 *
 *  1. Through the broker: it passes two of its handles (a log file and an
 *     event) plus a pipe for the child's report, and prints what the child
 *     found in its own handle table: exactly those three.
 *  2. Directly: it does what a program without the broker must do — mark
 *     its handles inheritable and call CreateProcess(bInheritHandles=TRUE).
 *     Meanwhile "other code" in the same process (here: a handle this demo
 *     also made inheritable, as a library or another thread would) has an
 *     inheritable handle of its own, and the child gets that one too.
 *
 * CHILD is sb_child.exe, which reports its handle table as one JSON line.
 * Built on the public client library only (spawnclient.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include <cjson/cJSON.h>

#include "spawnclient.h"

#define OUT_MAX 65536

/* The inheritable handle values in an sb_child report, as text. */
static int inheritable_list(const char *report, char *out, size_t cap) {
  cJSON *root = cJSON_Parse(report), *h;
  size_t len = 0;
  int n = 0;
  out[0] = '\0';
  if (root == NULL) return -1;
  cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(root, "handles")) {
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "inheritable"))) continue;
    len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%g(%s)", n ? " " : "",
                            cJSON_GetObjectItemCaseSensitive(h, "value")->valuedouble,
                            cJSON_GetObjectItemCaseSensitive(h, "type")->valuestring);
    n++;
  }
  cJSON_Delete(root);
  return n;
}

static void read_all(HANDLE rd, char *buf, size_t cap) {
  size_t len = 0;
  DWORD got;
  while (len < cap - 1 && ReadFile(rd, buf + len, (DWORD)(cap - 1 - len), &got, NULL) && got > 0)
    len += got;
  buf[len] = '\0';
}

int main(int argc, char **argv) {
  static char report[OUT_MAX], text[4096], out[OUT_MAX];
  const char *args[] = {"report"};
  sb_client *c = NULL;
  sb_spawn_params p;
  sb_spawn_result res;
  sb_exit_info ex;
  HANDLE log, ev, other, rd, wr;
  wchar_t tmp[MAX_PATH], path[MAX_PATH], child[MAX_PATH], cmd[MAX_PATH + 16];
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  size_t len = 0;
  int n, rc;

  if (argc != 4) {
    fprintf(stderr, "usage: demo_client PIPE NAME CHILD\n");
    return 2;
  }
  GetTempPathW(MAX_PATH, tmp);
  GetTempFileNameW(tmp, L"sbd", 0, path);
  log = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_FLAG_DELETE_ON_CLOSE, NULL);
  ev = CreateEventW(NULL, TRUE, FALSE, NULL);
  other = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (log == INVALID_HANDLE_VALUE || ev == NULL || other == NULL) return 1;

  /* 1. Through the broker. Nothing here is inheritable. */
  rc = sb_client_connect(argv[1], 30000, &c);
  if (rc != 0) {
    fprintf(stderr, "%s: cannot reach the broker: %s\n", argv[2], sb_err_name(rc));
    return 125;
  }
  if (!CreatePipe(&rd, &wr, NULL, 0)) return 1;
  sb_spawn_params_init(&p);
  p.program = argv[3];
  p.args = args;
  p.nargs = 1;
  p.handles[0] = (sb_handle_spec){"log", (int64_t)(intptr_t)log, -1};
  p.handles[1] = (sb_handle_spec){"ready", (int64_t)(intptr_t)ev, -1};
  p.handles[2] = (sb_handle_spec){"report", (int64_t)(intptr_t)wr, -1};
  p.nhandles = 3;
  p.std_names[SB_STDOUT] = "report";
  rc = sb_client_spawn(c, &p, &res);
  CloseHandle(wr);
  if (rc != 0) {
    fprintf(stderr, "%s: spawn failed: %s\n", argv[2], sb_err_name(rc));
    return 1;
  }
  read_all(rd, report, sizeof report);
  CloseHandle(rd);
  sb_client_wait(c, res.pid, 30000, &ex);
  n = inheritable_list(report, text, sizeof text);
  len += (size_t)snprintf(out + len, sizeof out - len,
                          "[%s] brokered child pid %lu asked for:", argv[2],
                          (unsigned long)res.pid);
  for (size_t i = 0; i < res.nhandles; i++)
    len += (size_t)snprintf(out + len, sizeof out - len, " %s=%lld", res.handles[i].name,
                            (long long)res.handles[i].value);
  len += (size_t)snprintf(out + len, sizeof out - len,
                          "\n[%s]   it holds %d inheritable: %s  -> %s\n", argv[2], n, text,
                          (size_t)n == res.nhandles ? "exactly what was asked" : "MISMATCH");
  sb_client_close(c);

  /* 2. Directly, the way it is done without the broker. */
  if (!CreatePipe(&rd, &wr, NULL, 0)) return 1;
  SetHandleInformation(log, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
  SetHandleInformation(ev, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
  SetHandleInformation(wr, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
  /* Somebody else's handle in the same process, inheritable for a child of
   * their own: nothing keeps it from this child. */
  SetHandleInformation(other, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
  MultiByteToWideChar(CP_UTF8, 0, argv[3], -1, child, MAX_PATH);
  _snwprintf(cmd, sizeof cmd / sizeof cmd[0], L"\"%ls\" report", child);
  ZeroMemory(&si, sizeof si);
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdOutput = wr;
  if (!CreateProcessW(NULL, cmd, NULL, NULL, TRUE, DETACHED_PROCESS, NULL, NULL, &si, &pi))
    return 1;
  CloseHandle(wr);
  read_all(rd, report, sizeof report);
  CloseHandle(rd);
  WaitForSingleObject(pi.hProcess, INFINITE);
  CloseHandle(pi.hThread);
  CloseHandle(pi.hProcess);
  n = inheritable_list(report, text, sizeof text);
  len += (size_t)snprintf(out + len, sizeof out - len,
                          "[%s] direct CreateProcess(bInheritHandles=TRUE) child pid %lu asked for 3\n"
                          "[%s]   it holds %d inheritable: %s  -> %s\n",
                          argv[2], (unsigned long)pi.dwProcessId, argv[2], n, text,
                          n > 3 ? "LEAKED someone else's handles" : "no leak this time");
  /* One write, so concurrent demo clients do not interleave lines. */
  fwrite(out, 1, len, stdout);
  fflush(stdout);
  CloseHandle(log);
  CloseHandle(ev);
  CloseHandle(other);
  return 0;
}
