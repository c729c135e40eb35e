/*
 * One brokered spawn, run on a worker thread (never on the libuv loop):
 * lease a helper, move the request's handles into it, create the child with
 * the helper as its parent and exactly those handles in its HANDLE_LIST,
 * place it in its lifetime job, resume it, and close every moved handle in
 * the helper again, on every path.
 */
#ifndef SB_BROKER_SPAWN_H
#define SB_BROKER_SPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include <windows.h>

#include "pool.h"
#include "sb_proto.h"
#include "stage.h"

typedef struct sb__spawn_job {
  /* Inputs, owned by the caller. */
  const sb_spawn_params *params;
  sb_transfer mode;
  HANDLE client_process; /* pull mode: the client, opened for PROCESS_DUP_HANDLE */
  sb__pool *pool;        /* the client identity's helpers */
  /* Service mode: the client's primary token. The child is created with it
   * (CreateProcessAsUserW), the program and working directory are checked
   * while impersonating it, and the child's environment starts from the
   * client's own (CreateEnvironmentBlock) instead of the broker's. NULL in
   * console mode, where the broker and its client are one user. */
  HANDLE token;
  bool service;
  uint32_t test_delay_ms; /* test builds: see sb__broker_config */
  /* Started by the dispatcher; the worker marks the stages it runs. */
  sb__stage_clock clock;

  /* Outputs. On success the caller owns process and job. */
  int err;
  char detail[192];
  char path[64];
  HANDLE process;
  HANDLE job; /* the child's job (job.h) */
  DWORD pid;
  sb_spawn_result result; /* names point into params */
} sb__spawn_job;

/* Runs the spawn; the outcome is in j->err and the output fields. */
void sb__spawn_run(sb__spawn_job *j);

#endif
