/*
 * Serving, the same way in the console (`spawnbroker run`) and as a
 * service: start the server, run the libuv loop, and on a stop request
 * stop gracefully (server.h, sb__server_stop), then close the helper job.
 *
 * A stop is requested with sb__runner_request_stop from any thread (the
 * service's control handler), or in the console by Ctrl-C or Ctrl-Break.
 * Either way the loop thread does all the work.
 */
#ifndef SB_BROKER_RUN_H
#define SB_BROKER_RUN_H

#include <stdbool.h>
#include <uv.h>

#include "options.h"
#include "server.h"

/* While a stop is under way, the `stopping` hook runs this often. */
#define SB__RUN_TICK_MS 1000

typedef struct sb__runner sb__runner;

typedef struct sb__run_hooks {
  /* On the loop thread once the server listens. */
  void (*listening)(sb__runner *r, void *ctx);
  /* On the loop thread when a stop begins, then every SB__RUN_TICK_MS
   * until the server has stopped (the service reports progress). */
  void (*stopping)(sb__runner *r, void *ctx);
  void *ctx;
  /* Ctrl-C and Ctrl-Break stop gracefully (console mode). */
  bool console_signals;
} sb__run_hooks;

struct sb__runner {
  uv_loop_t *loop;
  sb__server srv;
  sb__run_hooks hooks;
  uv_async_t stop_async; /* sb__runner_request_stop from another thread */
  uv_signal_t sigint, sigbreak;
  bool signals_on;
  uv_timer_t tick;
  bool tick_on;
  bool stopping;
};

/* Prepares the loop and the stop request; from then on
 * sb__runner_request_stop may be called. */
int sb__runner_init(sb__runner *r, const sb__run_hooks *hooks);
/* Serves until stopped. 0 after a stop, or the error that kept the server
 * from starting (it is logged). */
int sb__runner_run(sb__runner *r, const sb__options *o);
/* Any thread: asks the loop to stop gracefully. Only between
 * sb__runner_init and the end of the stop. */
void sb__runner_request_stop(sb__runner *r);

#endif
