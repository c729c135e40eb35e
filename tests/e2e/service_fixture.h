/*
 * Shared set-up for the service tests (TESTPLAN D7): a service installed
 * under a unique name with its own config file, pipe and log file in a
 * temporary folder, driven through the real spawnbroker verbs and checked
 * through the SCM API. Under Wine, services run only while an ordinary Wine
 * process of the prefix lives (docs/wine.md): the test process itself,
 * which stays alive throughout, and the harness's keeper.
 *
 * Every test calls svct_cleanup whatever happened, before its final
 * checks: it stops and deletes the service through the SCM API directly
 * (not through the verbs under test), kills its process if it will not
 * stop, removes its event source and its files.
 */
#ifndef SB_SERVICE_FIXTURE_H
#define SB_SERVICE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <windows.h>

#include "held_spawn.h"
#include "sb_win_test.h"

typedef struct svct {
  const wchar_t *exe;        /* spawnbroker.exe or spawnbroker-test.exe */
  char name[80];             /* sbt-svc-<pid>-<n> */
  wchar_t wname[80];
  wchar_t dir[MAX_PATH];     /* a temporary folder of its own, with a non-ASCII name */
  wchar_t config[MAX_PATH];  /* dir\config.json */
  wchar_t log[MAX_PATH];     /* dir\service.log; "" when the config sets none */
  char pipe[128];            /* \\.\pipe\sbt-svc-<pid>-<n> */
  sbt_gate gate;             /* test builds' spawn gate, when a test creates it */
} svct;

/* Names everything and writes the config file: the unique pipe, a log file
 * (when with_log) at debug level, one warm helper, and `extra` (more JSON
 * members, or NULL). */
bool svct_init(svct *s, const wchar_t *exe, bool with_log, const char *extra);
/* Rewrites the config file with exactly `json`. */
bool svct_write_config(const svct *s, const char *json);
/* Runs `<exe> VERB --name NAME extra` (extra may be NULL) and captures it. */
int svct_verb(const svct *s, const char *verb, const wchar_t *extra, sbt_run *r);
/* `install --name NAME --config CONFIG extra`. */
int svct_install(const svct *s, const wchar_t *extra, sbt_run *r);

/* The service's state and pid through the SCM (0 and SERVICE_STOPPED-like
 * values, or -1 when it cannot be read). */
int svct_state(const svct *s, DWORD *state, DWORD *pid);
/* Waits up to timeout_ms for the service to reach `state`. */
bool svct_wait_state(const svct *s, DWORD state, DWORD timeout_ms);
/* True when the SCM knows no service of this name. */
bool svct_gone(const svct *s);

/* Stops (STOP, then kill), deletes, unregisters and removes everything. */
void svct_cleanup(svct *s);

#endif
