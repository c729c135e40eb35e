/*
 * soak_worker.exe PIPE SPAWNS: one client of the soak test (TESTPLAN D6).
 *
 * It connects once and spawns `sb_child exit K` SPAWNS times with
 * notify_exit, each time passing an event of its own, K being a different
 * code for each spawn. Between spawns it takes the exit events that have
 * arrived; at the end it waits for the rest. It checks that each child got
 * exactly one event, with its own exit code, and that no event names a pid
 * it did not spawn. Each child it has an event for it also `wait`s for:
 * the answer must come at once with the same code, and it lets the broker
 * forget the child (docs/protocol.md, "wait"), as a long-lived client must,
 * or the children would pile up to limits.children_per_identity.
 *
 * Exits 0 only when no spawn failed and every child got exactly its one
 * event; otherwise prints "spawns=N failures=F events=E duplicates=D
 * unknown=U wrong_code=W missing=M" first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "spawn_fixture.h"

typedef struct kid {
  DWORD pid;
  uint32_t code;
  int events;
} kid;

/* The newest child with this pid. Pids come back quickly once the broker
 * has forgotten a child (its handle closed), so one pid can name several
 * of this worker's children over time; an earlier one's event has always
 * come first, since it had exited before its pid was free again. */
static kid *find(kid *kids, long n, DWORD pid) {
  for (long i = n - 1; i >= 0; i--)
    if (kids[i].pid == pid) return &kids[i];
  return NULL;
}

typedef struct tally {
  long events, duplicates, unknown, wrong, got;
} tally;

/* Books one exit event: its child's first, a duplicate, or a stranger's. */
static void take_event(sb_client *c, kid *kids, long n, const sb_exit_info *ex, tally *t) {
  kid *k = find(kids, n, ex->pid);
  sb_exit_info again;
  t->events++;
  if (k == NULL) {
    t->unknown++;
    return;
  }
  if (k->events++ > 0) {
    t->duplicates++;
    return;
  }
  t->got++;
  if (ex->exit_code != k->code) t->wrong++;
  if (sb_client_wait(c, ex->pid, 0, &again) != 0 || again.exit_code != k->code) {
    fprintf(stderr, "wait for exited child %lu did not answer its exit code\n",
            (unsigned long)ex->pid);
    t->wrong++;
  }
}

int main(int argc, char **argv) {
  sb_client *c = NULL;
  long spawns, failures = 0, ok = 0, missing = 0;
  tally t = {0};
  sb_exit_info ex;
  kid *kids;
  bool ok_all;
  int rc;

  if (argc != 3) {
    fprintf(stderr, "usage: soak_worker PIPE SPAWNS\n");
    return 2;
  }
  spawns = strtol(argv[2], NULL, 10);
  kids = calloc((size_t)spawns + 1, sizeof *kids);
  if (kids == NULL) return 2;
  rc = sb_client_connect(argv[1], 120000, &c);
  if (rc != 0) {
    fprintf(stderr, "connect: %s\n", sb_err_name(rc));
    return 1;
  }
  sb_client_set_call_timeout(c, 120000);
  for (long i = 0; i < spawns; i++) {
    sb_spawn_params p;
    sb_spawn_result res;
    char code[16];
    const char *args[2] = {"exit", code};
    HANDLE ev = CreateEventW(NULL, TRUE, FALSE, NULL);
    uint32_t k = (uint32_t)(GetCurrentProcessId() * 7 + (DWORD)i) % 250 + 1;
    snprintf(code, sizeof code, "%u", (unsigned)k);
    sb_spawn_params_init(&p);
    p.program = sbt_child_path();
    p.args = args;
    p.nargs = 2;
    p.notify_exit = true;
    p.handles[0] = (sb_handle_spec){"ev", (int64_t)(intptr_t)ev, -1};
    p.nhandles = 1;
    rc = sb_client_spawn(c, &p, &res);
    CloseHandle(ev);
    if (rc != 0) {
      const sb_rpc_error *e = sb_client_last_error(c);
      fprintf(stderr, "spawn %ld failed: %s %s\n", i, sb_err_name(rc),
              e != NULL && e->detail != NULL ? e->detail : "");
      failures++;
      continue;
    }
    kids[ok].pid = res.pid;
    kids[ok].code = k;
    ok++;
    while (sb_client_next_event(c, 0, &ex) == 0) take_event(c, kids, ok, &ex, &t);
  }
  /* Every child exits at once; the rest of the events are on their way. */
  while (t.got < ok) {
    rc = sb_client_next_event(c, 60000, &ex);
    if (rc != 0) {
      fprintf(stderr, "waiting for exit events: %s after %ld of %ld\n", sb_err_name(rc), t.got,
              ok);
      break;
    }
    take_event(c, kids, ok, &ex, &t);
  }
  /* A late duplicate would arrive right after the last one. */
  while (sb_client_next_event(c, 200, &ex) == 0) take_event(c, kids, ok, &ex, &t);
  for (long i = 0; i < ok; i++) missing += kids[i].events == 0;
  sb_client_close(c);
  ok_all = failures == 0 && t.duplicates == 0 && t.unknown == 0 && t.wrong == 0 && missing == 0;
  /* Quiet when all is well: 64 workers' lines would bury the soak's own. */
  if (!ok_all)
    printf("spawns=%ld failures=%ld events=%ld duplicates=%ld unknown=%ld wrong_code=%ld "
           "missing=%ld\n",
           spawns, failures, t.events, t.duplicates, t.unknown, t.wrong, missing);
  free(kids);
  return ok_all ? 0 : 1;
}
