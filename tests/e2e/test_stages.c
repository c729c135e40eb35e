/*
 * The per-stage spawn counters of stats (spawn_*_us, broker/stage.h)
 * against a real broker: every stage shows time once spawns were made, the
 * stages together stay inside what the client itself waited (they time a
 * part of each spawn's round trip, in microseconds, not in counter ticks
 * or anything larger), and a spawn that fails adds nothing. The broker's
 * own CPU time (cpu_us) is read from itself, which works under Wine too.
 */
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "sb_test.h"
#include "spawn_fixture.h"

#define SPAWNS 5

#define PLUS_ONE(name, doc) +1
enum { STAGES = 0 SB_STATS_STAGES(PLUS_ONE) };
#undef PLUS_ONE

/* The stage counters in their order, for checks over all of them. */
static void stages_of(const sb_stats_result *st, uint64_t out[STAGES]) {
#define STAGE_VALUE(name, doc) st->name,
  const uint64_t v[STAGES] = {SB_STATS_STAGES(STAGE_VALUE)};
#undef STAGE_VALUE
  memcpy(out, v, sizeof v);
}

static double now_us(void) {
  LARGE_INTEGER t, f;
  QueryPerformanceCounter(&t);
  QueryPerformanceFrequency(&f);
  return (double)t.QuadPart * 1e6 / (double)f.QuadPart;
}

/* One brokered "sb_child exit 0" with a file as its stdout, waited for. */
static int spawn_and_wait(sb_client *c, const char *program, HANDLE out) {
  static const char *const args[] = {"exit", "0"};
  sb_spawn_params p;
  sb_spawn_result res;
  sb_exit_info ex;
  int rc;
  sb_spawn_params_init(&p);
  p.program = program;
  p.args = args;
  p.nargs = 2;
  p.handles[0] = (sb_handle_spec){"out", (int64_t)(intptr_t)out, -1};
  p.nhandles = 1;
  p.std_names[SB_STDOUT] = "out";
  rc = sb_client_spawn(c, &p, &res);
  if (rc != 0) return rc;
  return sb_client_wait(c, res.pid, 20000, &ex);
}

SB_TEST(stages_add_up_within_the_clients_wait_and_only_for_children_made) {
  sbt_broker b;
  sb_client *c;
  sb_stats_result before, after, failed;
  uint64_t s0[STAGES], s1[STAGES], s2[STAGES];
  double waited_us = 0, sum_us = 0;
  HANDLE out = sbt_temp_file();
  REQUIRE(out != INVALID_HANDLE_VALUE);
  REQUIRE(sbt_fixture_start(&b, NULL, &c) == 0);

  REQUIRE(sb_client_stats(c, &before) == 0);
  stages_of(&before, s0);
  for (size_t i = 0; i < STAGES; i++) CHECK_INT(s0[i], 0);
  for (int i = 0; i < SPAWNS; i++) {
    double t0 = now_us();
    CHECK_INT(spawn_and_wait(c, sbt_child_path(), out), 0);
    waited_us += now_us() - t0;
  }
  REQUIRE(sb_client_stats(c, &after) == 0);
  CHECK_INT(after.spawns_ok, SPAWNS);
  /* Starting up and five spawns take a Wine process well over one 10 ms
   * tick of its CPU clock. */
  CHECK(after.cpu_us > 0);
  /* The heaps hold at least the broker's pool and connection records. */
  CHECK(after.heap_bytes > 0);
  CHECK(after.cpu_us >= before.cpu_us);
  stages_of(&after, s1);
  for (size_t i = 0; i < STAGES; i++) {
    if (s1[i] == 0) SB__FAIL("stage %zu shows no time after %d spawns", i, SPAWNS);
    sum_us += (double)s1[i];
  }
  {
#define STAGE_NAME(name, doc) #name,
    static const char *const names[STAGES] = {SB_STATS_STAGES(STAGE_NAME)};
#undef STAGE_NAME
    printf("per spawn: the client waited %.0f us; the broker's stages:", waited_us / SPAWNS);
    for (size_t i = 0; i < STAGES; i++) printf(" %s %.0f", names[i], (double)s1[i] / SPAWNS);
    printf("\n");
  }
  /* Each spawn's stages lie between the client's sending it and its wait
   * for the child returning: the broker reads the wait only after the
   * spawn's reply stage has ended. */
  if (sum_us > waited_us)
    SB__FAIL("the stages add up to %.0f us, more than the %.0f us the client waited", sum_us,
             waited_us);

  /* A spawn that fails (no such program) is not timed. */
  {
    static const char *const args[] = {"exit", "0"};
    sb_spawn_params p;
    sb_spawn_result res;
    sb_spawn_params_init(&p);
    p.program = "C:\\no\\such\\program.exe";
    p.args = args;
    p.nargs = 2;
    CHECK_INT(sb_client_spawn(c, &p, &res), SB_E_EXECUTABLE_NOT_FOUND);
  }
  REQUIRE(sb_client_stats(c, &failed) == 0);
  CHECK_INT(failed.spawns_failed, after.spawns_failed + 1);
  stages_of(&failed, s2);
  for (size_t i = 0; i < STAGES; i++) CHECK_INT(s2[i], s1[i]);

  sbt_fixture_stop(&b, c);
  CloseHandle(out);
}

SB_TEST_MAIN(SB_CASE(stages_add_up_within_the_clients_wait_and_only_for_children_made))
