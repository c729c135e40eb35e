/*
 * One batch of one mode: its threads set up, wait at a common start, make
 * their spawns back to back, and the batch's wall time runs from the start
 * until the last thread's last child has exited.
 */
#ifndef SB_BENCH_BATCH_H
#define SB_BENCH_BATCH_H

#include "bench_series.h"

/* Runs mode m with per_thread spawns on each of its threads and adds the
 * samples, failures and wall time to s. 0, or a negative code when the
 * batch could not run at all (its threads could not be started). */
int bench_batch_run(const bench_env *env, const bench_mode *m, int per_thread, bench_series *s);

#endif
