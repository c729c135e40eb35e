/*
 * The broker's named-pipe server: accepts connections on the libuv loop,
 * splits each byte stream into frames, and answers every request with exactly
 * one reply. Everything here runs on the loop thread.
 */
#ifndef SB_BROKER_SERVER_H
#define SB_BROKER_SERVER_H

#include <stdint.h>
#include <uv.h>

#include "sb_proto.h"

typedef struct sb__server {
  uv_loop_t *loop;
  uv_pipe_t listener;
  char pipe_name[256];
  uint64_t started_ms;
  sb_stats_result stats; /* counters served by the "stats" method */
} sb__server;

/* Binds `pipe_name` (e.g. "\\\\.\\pipe\\spawnbroker") and starts listening.
 * Returns 0 or a negative sb_err code; SB_E_IO when the name is taken. */
int sb__server_start(sb__server *srv, uv_loop_t *loop, const char *pipe_name);

/* Stops listening; open connections are closed as the loop winds down. */
void sb__server_stop(sb__server *srv);

#endif
