#include "held_spawn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "sb_win_test.h"

bool sbt_gate_create(sbt_gate *g) {
  static LONG counter;
  wchar_t name[160];
  memset(g, 0, sizeof *g);
  _snwprintf(g->name, 128, L"Global\\sbt-gate-%lu-%ld", GetCurrentProcessId(),
             InterlockedIncrement(&counter));
  _snwprintf(name, 160, L"%ls.entered", g->name);
  g->entered = CreateEventW(NULL, TRUE, FALSE, name);
  _snwprintf(name, 160, L"%ls.go", g->name);
  g->go = CreateEventW(NULL, TRUE, FALSE, name);
  return g->entered != NULL && g->go != NULL;
}

void sbt_gate_close(sbt_gate *g) {
  if (g->entered != NULL) CloseHandle(g->entered);
  if (g->go != NULL) CloseHandle(g->go);
  g->entered = g->go = NULL;
}

static DWORD WINAPI spawner_main(void *arg) {
  static const char *const sleep_long[] = {"sleep", "600000"};
  sbt_spawner *sp = arg;
  sb_client *c = NULL;
  sb_spawn_params p;
  sb_spawn_result res;
  sp->rc = sb_client_connect(sp->pipe, 30000, &c);
  if (sp->rc != 0) return 0;
  /* Longer than any drain in these tests; a hang still ends, as a failure. */
  sb_client_set_call_timeout(c, 100000);
  sb_spawn_params_init(&p);
  p.program = sp->program;
  p.args = sleep_long;
  p.nargs = 2;
  p.lifetime = SB_LIFETIME_BROKER;
  sp->rc = sb_client_spawn(c, &p, &res);
  if (sp->rc == 0) {
    sp->pid = res.pid;
  } else if (sb_client_last_error(c) != NULL) {
    const sb_rpc_error *e = sb_client_last_error(c);
    snprintf(sp->err_name, sizeof sp->err_name, "%s", e->name ? e->name : "");
    snprintf(sp->err_detail, sizeof sp->err_detail, "%s", e->detail ? e->detail : "");
  }
  sb_client_close(c);
  return 0;
}

bool sbt_spawner_start(sbt_spawner *sp, const char *pipe, const char *program) {
  memset(sp, 0, sizeof *sp);
  sp->pipe = pipe;
  sp->program = program;
  sp->rc = 1;
  sp->thread = CreateThread(NULL, 0, spawner_main, sp, 0, NULL);
  return sp->thread != NULL;
}

bool sbt_spawner_join(sbt_spawner *sp, DWORD timeout_ms) {
  if (sp->thread == NULL) return true;
  if (WaitForSingleObject(sp->thread, timeout_ms) != WAIT_OBJECT_0) return false;
  CloseHandle(sp->thread);
  sp->thread = NULL;
  return true;
}

bool sbt_wait_held(const wchar_t *log, size_t n, DWORD timeout_ms) {
  ULONGLONG end = GetTickCount64() + timeout_ms;
  for (;;) {
    char *text = sbt_read_text_file(log);
    size_t held = sbt_count_lines(text, "test gate: a spawn waits at the gate");
    free(text);
    if (held == n) return true;
    if (held > n || GetTickCount64() > end) return false;
    Sleep(100);
  }
}
