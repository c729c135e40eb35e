/*
 * What one mode gathered over the whole run: every spawn's latencies, the
 * batches' wall time, and for broker modes what the broker itself reported
 * and used. Percentiles are nearest-rank over all samples.
 */
#ifndef SB_BENCH_SERIES_H
#define SB_BENCH_SERIES_H

#include "bench.h"

typedef struct bench_series {
  bench_sample *samples;
  size_t n, cap;
  size_t failures;
  char error[200];  /* the first failure, in words */
  double wall_s;    /* the batches' wall time, added up */
  /* Broker modes: the broker's own figures over the mode's batches. */
  double cpu_us;                     /* stats cpu_us */
  uint64_t spawns_ok;                /* stats spawns_ok */
  uint64_t stage_us[BENCH_STAGES];   /* stats spawn_*_us */
  uint64_t helpers_created;          /* stats helpers_created */
  double commit_start, commit_end;   /* the broker's commit charge, bytes */
  double peak_working_set;           /* the broker's peak working set, bytes */
} bench_series;

/* Appends samples; 0 or SB_E_NOMEM. */
int bench_series_add(bench_series *s, const bench_sample *samples, size_t n);
/* The q-quantile (0 < q <= 1) of the pid or the exit latency, in ms; 0
 * without samples. */
double bench_series_quantile(const bench_series *s, bool exit, double q);
/* Spawns per second over the mode's batches. */
double bench_series_rate(const bench_series *s);
void bench_series_free(bench_series *s);

#endif
