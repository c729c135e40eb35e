/*
 * spawnbench: brokered spawns against what a program would otherwise do, in
 * one run on one machine (issue 6; docs/benchmarks.md has the figures).
 *
 * A "way" is how one child is started: direct CreateProcess, the lock
 * approach, the helper trick in-process, or the broker. A "mode" is a way at
 * a concurrency (the lock approach with 16 threads, the broker with 4
 * clients, ...). The run is a number of rounds; each round runs one batch of
 * every mode, so a change in the machine's load meets every mode alike.
 * Every child is sb_child.exe "exit 0", given two handles of its spawner: a
 * NUL file as its stdout and stderr, and an event.
 *
 * Shared types of spawnbench's files; each file says what it does.
 */
#ifndef SB_BENCH_H
#define SB_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <windows.h>

#include "sb_win_test.h"
#include "spawnclient.h"

/* The most threads (or broker clients) one mode runs at once. */
#define BENCH_MAX_THREADS 16

typedef enum bench_way {
  BENCH_WAY_DIRECT, /* CreateProcess(bInheritHandles=TRUE) from one thread */
  BENCH_WAY_LOCK,   /* inheritable copies and CreateProcess under one global lock */
  BENCH_WAY_HELPER, /* a suspended helper of its own: PARENT_PROCESS + HANDLE_LIST */
  BENCH_WAY_BROKER  /* sb_client_spawn, then sb_client_wait */
} bench_way;

typedef struct bench_mode {
  const char *key;  /* row name and JSON key prefix: "direct", "lock16", ... */
  const char *what; /* the table's description */
  bench_way way;
  int threads;      /* threads, each with its own connection for the broker */
  int broker;       /* BENCH_WAY_BROKER: index into bench_env.brokers */
  const wchar_t *broker_exe;  /* BENCH_WAY_BROKER: next to spawnbench.exe */
  const wchar_t *broker_args; /* BENCH_WAY_BROKER: its broker's options */
  int warm;                   /* BENCH_WAY_BROKER: the idle helpers it keeps */
} bench_mode;

/* The broker's stages: the stats counters of SB_STATS_STAGES, in order. */
#define BENCH__ONE(name, doc) +1
#define BENCH_STAGES (0 SB_STATS_STAGES(BENCH__ONE))

/* One spawn's latencies: from the request until the pid was known, and
 * until the child's exit was known. */
typedef struct bench_sample {
  double pid_ms, exit_ms;
} bench_sample;

/* One broker process of the run, serving one mode. */
typedef struct bench_broker {
  sbt_broker proc;
  sb_client *clients[BENCH_MAX_THREADS]; /* one connection per client thread */
  int nclients;
  sb_client *stats; /* a connection of its own, for stats between batches */
} bench_broker;

/* What the ways need and that lives for the whole run. */
typedef struct bench_env {
  wchar_t child[MAX_PATH];  /* sb_child.exe */
  char child_utf8[MAX_PATH * 3];
  wchar_t helper[MAX_PATH]; /* spawnbroker-helper.exe, for the in-process trick */
  bench_broker *brokers;
  size_t nbrokers;
} bench_env;

/* One thread of a batch. */
typedef struct bench_worker {
  const bench_env *env;
  const bench_mode *mode;
  int index;            /* which of the mode's threads (and connections) */
  int spawns;           /* how many spawns it makes */
  bench_sample *samples; /* spawns entries, filled in order */
  int done;             /* samples filled */
  int failures;
  char error[200];      /* the first failure, in words */
  int64_t finished;     /* performance counter after its last spawn */
  /* The handles it passes, and the way's own state. */
  HANDLE out, ev;
  HANDLE helper, helper_job;
} bench_worker;

/* bench_ways.c: set up a worker for its mode's way (its handles, its
 * helper), make one spawn and wait for the child, and tear down. */
int bench_way_setup(bench_worker *w);
int bench_way_spawn(bench_worker *w, bench_sample *s);
void bench_way_teardown(bench_worker *w);

/* The performance counter, and the milliseconds between two of its values. */
int64_t bench_now(void);
double bench_ms(int64_t from, int64_t to);

#endif
