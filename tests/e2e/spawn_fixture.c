#include "spawn_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb_handles.h"

const char *sbt_child_path(void) {
  static char path[MAX_PATH * 3];
  wchar_t w[MAX_PATH];
  if (path[0] == '\0' && sbt_exe_path(L"sb_child.exe", w, MAX_PATH) == 0)
    WideCharToMultiByte(CP_UTF8, 0, w, -1, path, sizeof path, NULL, NULL);
  return path;
}

int sbt_fixture_start(sbt_broker *b, const wchar_t *extra_args, sb_client **c) {
  int rc = sbt_broker_start(b, extra_args);
  if (rc != 0) return rc;
  rc = sb_client_connect(b->pipe_utf8, 20000, c);
  if (rc != 0) {
    fprintf(stderr, "connect failed: %s\n", sb_err_name(rc));
    sbt_broker_stop(b);
  }
  return rc;
}

void sbt_fixture_stop(sbt_broker *b, sb_client *c) {
  sb_client_close(c);
  sbt_broker_stop(b);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int sbt_spawn_report(sb_client *c, sb_spawn_params *p, sb_spawn_result *res,
                     sbt_child_report *rep) {
  HANDLE rd = NULL, wr = NULL;
  static char buf[65536];
  const char *args[8];
  size_t len = 0, nargs = 0;
  sb_exit_info ex;
  DWORD got;
  int rc;

  memset(rep, 0, sizeof *rep);
  /* Neither end is inheritable: the broker's pull is the only way the
   * child can get the write end. */
  if (!CreatePipe(&rd, &wr, NULL, 0)) return SB_E_INTERNAL;
  p->program = sbt_child_path();
  args[nargs++] = "report";
  for (size_t i = 0; i < p->nargs && nargs < 8; i++) args[nargs++] = p->args[i];
  p->args = args;
  p->nargs = nargs;
  p->handles[p->nhandles].name = "report";
  p->handles[p->nhandles].value = (int64_t)(intptr_t)wr;
  p->handles[p->nhandles].fd = -1;
  p->nhandles++;
  p->std_names[SB_STDOUT] = "report";
  rc = sb_client_spawn(c, p, res);
  p->nhandles--; /* the caller's view of its own handles is unchanged */
  CloseHandle(wr);
  if (rc != 0) {
    const sb_rpc_error *e = sb_client_last_error(c);
    fprintf(stderr, "spawn failed: %s %s\n", sb_err_name(rc), e && e->detail ? e->detail : "");
    CloseHandle(rd);
    return rc;
  }
  while (len < sizeof buf - 1 && ReadFile(rd, buf + len, (DWORD)(sizeof buf - 1 - len), &got, NULL) &&
         got > 0)
    len += got;
  buf[len] = '\0';
  CloseHandle(rd);
  rc = sb_client_wait(c, res->pid, 20000, &ex);
  if (rc != 0) return rc;
  if (ex.exit_code != 0) {
    fprintf(stderr, "child exited with %lu: %s\n", (unsigned long)ex.exit_code, buf);
    return SB_E_INTERNAL;
  }
  rc = sbt_child_report_parse(buf, rep);
  if (rc != 0) fprintf(stderr, "unparseable report: %s\n", buf);
  return rc;
}

DWORD sbt_spawn_helper_pid(sb_client *c) {
  sb_spawn_params p;
  sb_spawn_result res;
  sbt_child_report rep;
  DWORD pid;
  sb_spawn_params_init(&p);
  if (sbt_spawn_report(c, &p, &res, &rep) != 0) return 0;
  pid = rep.parent_pid;
  sbt_child_report_free(&rep);
  return pid;
}

size_t sbt_inheritable_values(const sbt_child_report *rep, uint64_t *out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < rep->handle_count && n < cap; i++)
    if (rep->handles[i].inheritable) out[n++] = rep->handles[i].value;
  qsort(out, n, sizeof *out, cmp_u64);
  return n;
}

size_t sbt_result_values(const sb_spawn_result *res, uint64_t *out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < res->nhandles && n < cap; i++) out[n++] = (uint64_t)res->handles[i].value;
  qsort(out, n, sizeof *out, cmp_u64);
  return n;
}

size_t sbt_count(DWORD pid) {
  size_t n = 0;
  if (sbt_handle_count(pid, &n) != 0) return (size_t)-1;
  return n;
}

size_t sbt_settled_count(DWORD pid) {
  size_t last = sbt_count(pid);
  int same = 0;
  for (int i = 0; i < 66 && same < 2; i++) {
    size_t now;
    Sleep(150);
    now = sbt_count(pid);
    same = now == last ? same + 1 : 0;
    last = now;
  }
  return last;
}

size_t sbt_count_inheritable(DWORD pid) {
  sbt_handle *list = NULL;
  size_t n = 0, k = 0;
  if (sbt_handles_of(pid, &list, &n) != 0) return (size_t)-1;
  for (size_t i = 0; i < n; i++) k += sbt_handle_inheritable(&list[i]);
  free(list);
  return k;
}

int sbt_pid_exits(HANDLE process, DWORD timeout_ms) {
  return WaitForSingleObject(process, timeout_ms) == WAIT_OBJECT_0;
}
