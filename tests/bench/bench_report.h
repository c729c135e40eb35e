/*
 * The run's results: a Markdown table for people (docs/benchmarks.md holds
 * one), or one JSON object for programs, both from the same figures.
 */
#ifndef SB_BENCH_REPORT_H
#define SB_BENCH_REPORT_H

#include <stdio.h>

#include "bench_series.h"

typedef struct bench_run {
  const bench_mode *modes;
  const bench_series *series; /* one per mode */
  size_t nmodes;
  int rounds, batch;
  bool quick;
  char machine[320]; /* bench_machine */
} bench_run;

/* The machine in one line: CPU, logical processors, Windows or Wine. */
void bench_machine(char *out, size_t cap);

void bench_report_table(const bench_run *r, FILE *out);
/* 0, or SB_E_NOMEM. */
int bench_report_json(const bench_run *r, FILE *out);

#endif
