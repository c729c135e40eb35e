/*
 * Spawns held in flight, for the graceful-stop tests: the test build's
 * spawn gate (broker/test_gate.h, spawnbroker-test.exe --test-spawn-gate
 * NAME) holds every spawn on its worker thread until the test opens it,
 * and a spawner thread sends one spawn through the client library and
 * records how it ended.
 */
#ifndef SB_HELD_SPAWN_H
#define SB_HELD_SPAWN_H

#include <stdbool.h>
#include <windows.h>

#include "spawnclient.h"

typedef struct sbt_gate {
  wchar_t name[128]; /* Global\sbt-gate-<pid>-<n>: a service runs in another session on Windows */
  HANDLE entered;    /* NAME.entered: set by the first spawn that waits */
  HANDLE go;         /* NAME.go: set by the test to let them all pass */
} sbt_gate;

/* Creates both events (manual reset, unset) under a fresh name. */
bool sbt_gate_create(sbt_gate *g);
void sbt_gate_close(sbt_gate *g);

typedef struct sbt_spawner {
  const char *pipe;
  const char *program; /* sb_child.exe, UTF-8 */
  HANDLE thread;
  int rc;              /* of sb_client_connect, then of sb_client_spawn */
  char err_name[64];
  char err_detail[256];
  DWORD pid;           /* the child, when the spawn succeeded */
} sbt_spawner;

/* Starts a thread that connects to pipe and spawns "program sleep 600000"
 * with the broker lifetime, waiting up to 100 s for the reply. */
bool sbt_spawner_start(sbt_spawner *sp, const char *pipe, const char *program);
/* True once the thread has ended (within timeout_ms). */
bool sbt_spawner_join(sbt_spawner *sp, DWORD timeout_ms);

/* Waits up to timeout_ms until the log file has n lines saying that a spawn
 * waits at the gate. */
bool sbt_wait_held(const wchar_t *log, size_t n, DWORD timeout_ms);

#endif
