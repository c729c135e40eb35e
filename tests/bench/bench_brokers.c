#include "bench_brokers.h"

#include <psapi.h>
#include <stdio.h>
#include <string.h>

#include "sb_errors.h"

int bench_broker_start(bench_broker *b, const wchar_t *exe, const wchar_t *args, int nclients) {
  int rc;
  memset(b, 0, sizeof *b);
  rc = sbt_broker_start_exe(&b->proc, exe, args);
  if (rc != 0) return rc;
  for (int i = 0; i < nclients && rc == 0; i++) {
    rc = sb_client_connect(b->proc.pipe_utf8, 60000, &b->clients[i]);
    if (rc == 0) b->nclients++;
  }
  if (rc == 0) rc = sb_client_connect(b->proc.pipe_utf8, 60000, &b->stats);
  if (rc != 0) {
    fprintf(stderr, "spawnbench: cannot connect to the broker on %s: %s\n", b->proc.pipe_utf8,
            sb_err_name(rc));
    bench_broker_stop(b);
  }
  return rc;
}

void bench_broker_stop(bench_broker *b) {
  for (int i = 0; i < b->nclients; i++) sb_client_close(b->clients[i]);
  b->nclients = 0;
  sb_client_close(b->stats);
  b->stats = NULL;
  sbt_broker_stop(&b->proc);
}

int bench_broker_read(bench_broker *b, bench_broker_reading *out) {
  PROCESS_MEMORY_COUNTERS mem;
  int rc;
  memset(out, 0, sizeof *out);
  rc = sb_client_stats(b->stats, &out->stats);
  if (rc != 0) return rc;
  /* Read from outside, as an operator's tools would: under Wine this works
   * for another process, unlike its CPU times (docs/wine.md), which the
   * broker therefore reports itself. */
  ZeroMemory(&mem, sizeof mem);
  mem.cb = sizeof mem;
  if (GetProcessMemoryInfo(b->proc.process, &mem, sizeof mem)) {
    out->commit = (double)mem.PagefileUsage;
    out->peak_ws = (double)mem.PeakWorkingSetSize;
  }
  return 0;
}

void bench_broker_account(const bench_broker_reading *before,
                          const bench_broker_reading *after, bench_series *s) {
#define STAGE_DELTA(name, doc) after->stats.name - before->stats.name,
  const uint64_t stages[BENCH_STAGES] = {SB_STATS_STAGES(STAGE_DELTA)};
#undef STAGE_DELTA
  for (int i = 0; i < BENCH_STAGES; i++) s->stage_us[i] += stages[i];
  s->cpu_us += (double)(after->stats.cpu_us - before->stats.cpu_us);
  s->spawns_ok += after->stats.spawns_ok - before->stats.spawns_ok;
  s->helpers_created += after->stats.helpers_created - before->stats.helpers_created;
  if (s->commit_start == 0) s->commit_start = before->commit;
  s->commit_end = after->commit;
  if (after->peak_ws > s->peak_working_set) s->peak_working_set = after->peak_ws;
}
