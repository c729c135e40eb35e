/*
 * The brokers of the run. Every broker mode has a broker process of its own
 * (spawnbroker.exe run on a private pipe), so that the broker's own figures
 * (its CPU time, its stage counters, its memory) belong to one mode, with
 * one connection per client thread and one more for stats.
 */
#ifndef SB_BENCH_BROKERS_H
#define SB_BENCH_BROKERS_H

#include "bench_series.h"

/* Starts broker exe (next to spawnbench.exe) with args (after "run --pipe
 * NAME") and connects nclients clients and the stats connection. */
int bench_broker_start(bench_broker *b, const wchar_t *exe, const wchar_t *args, int nclients);
void bench_broker_stop(bench_broker *b);

/* What a broker says of itself at one moment, and its memory. */
typedef struct bench_broker_reading {
  sb_stats_result stats;
  double commit;     /* PagefileUsage: the commit charge, bytes */
  double peak_ws;    /* PeakWorkingSetSize, bytes */
} bench_broker_reading;

int bench_broker_read(bench_broker *b, bench_broker_reading *out);
/* Adds what the broker did between two readings to s. */
void bench_broker_account(const bench_broker_reading *before,
                          const bench_broker_reading *after, bench_series *s);

#endif
