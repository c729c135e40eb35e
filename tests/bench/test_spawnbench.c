/*
 * The benchmark's smoke test: spawnbench.exe --quick --json runs every mode,
 * every spawn succeeds, and the JSON object has every key the issue names
 * and every per-mode figure, in an order that makes sense (p50 <= p90 <=
 * p99, the pid known before the exit). No figure is compared with a time or
 * with another mode: on a shared machine a quick run says nothing about
 * speed. One invariant is checked: the no-pool broker makes exactly one
 * fresh helper for every spawn.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "sb_test.h"
#include "sb_win_test.h"

static const char *const modes[] = {"direct",        "lock1",  "lock4",   "lock16",
                                    "inproc_helper", "broker", "broker4", "broker16",
                                    "broker_nopool"};
static const char *const broker_modes[] = {"broker", "broker4", "broker16", "broker_nopool"};

/* The keys issue 6 asks for by name. */
static const char *const issue_keys[] = {
    "direct_pid_p50_ms",        "direct_spawn_exit_p50_ms", "broker_pid_p50_ms",
    "broker_spawn_exit_p50_ms", "broker_nopool_pid_p50_ms", "lock16_spawns_per_s",
    "broker16_spawns_per_s"};

static const char *const per_mode[] = {
    "samples",          "failures",          "threads",           "pid_p50_ms",
    "pid_p90_ms",       "pid_p99_ms",        "spawn_exit_p50_ms", "spawn_exit_p90_ms",
    "spawn_exit_p99_ms", "pid_p50_ratio",    "spawn_exit_p50_ratio", "spawns_per_s"};

static const char *const per_broker[] = {
    "broker_cpu_ms_per_spawn", "broker_commit_bytes", "broker_commit_growth_bytes_per_spawn",
    "broker_peak_working_set_bytes", "helpers_created_per_spawn", "stage_decode_us",
    "stage_queue_us", "stage_prepare_us", "stage_lease_us", "stage_transfer_us",
    "stage_create_us", "stage_close_us", "stage_reply_us"};

static const char *const targets[] = {"spawn_exit_p50_ratio", "pid_p50_ratio", "pool_speedup",
                                      "throughput16_ratio"};

/* The number called prefix_key, or -1 (and a failure) when it is missing. */
static double num(const cJSON *o, const char *prefix, const char *key) {
  char name[96];
  const cJSON *v;
  snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "_" : "", key);
  v = cJSON_GetObjectItemCaseSensitive(o, name);
  if (!cJSON_IsNumber(v)) {
    SB__FAIL("the JSON has no number %s", name);
    return -1;
  }
  return v->valuedouble;
}

SB_TEST(quick_run_gives_every_mode_and_every_key) {
  wchar_t exe[MAX_PATH], cmd[MAX_PATH + 32];
  char *out = NULL;
  DWORD code = 1;
  cJSON *o;
  char key[64];

  REQUIRE(sbt_exe_path(L"spawnbench.exe", exe, MAX_PATH) == 0);
  _snwprintf(cmd, sizeof cmd / sizeof cmd[0], L"\"%ls\" --quick --json", exe);
  cmd[sizeof cmd / sizeof cmd[0] - 1] = L'\0';
  REQUIRE(sbt_run_collect_ms(exe, cmd, NULL, 280000, &out, &code) == 0);
  CHECK_INT(code, 0);
  o = cJSON_Parse(out);
  if (!cJSON_IsObject(o)) {
    SB__FAIL("spawnbench --json printed no JSON object:\n%s", out);
    cJSON_Delete(o);
    free(out);
    return;
  }

  for (size_t i = 0; i < sizeof issue_keys / sizeof issue_keys[0]; i++)
    if (num(o, "", issue_keys[i]) <= 0) SB__FAIL("%s is not positive", issue_keys[i]);
  for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
    const char *p = modes[m];
    for (size_t k = 0; k < sizeof per_mode / sizeof per_mode[0]; k++) num(o, p, per_mode[k]);
    if (num(o, p, "samples") < 1) SB__FAIL("%s has no samples", p);
    if (num(o, p, "failures") != 0) SB__FAIL("%s had failures", p);
    if (!(num(o, p, "pid_p50_ms") > 0)) SB__FAIL("%s: no pid latency", p);
    if (num(o, p, "pid_p50_ms") > num(o, p, "pid_p90_ms") ||
        num(o, p, "pid_p90_ms") > num(o, p, "pid_p99_ms"))
      SB__FAIL("%s: pid percentiles out of order", p);
    if (num(o, p, "spawn_exit_p50_ms") > num(o, p, "spawn_exit_p90_ms") ||
        num(o, p, "spawn_exit_p90_ms") > num(o, p, "spawn_exit_p99_ms"))
      SB__FAIL("%s: exit percentiles out of order", p);
    /* Each spawn's pid is known before its exit, so the median is too. */
    if (num(o, p, "pid_p50_ms") > num(o, p, "spawn_exit_p50_ms"))
      SB__FAIL("%s: the median pid latency exceeds the median exit latency", p);
    if (!(num(o, p, "spawns_per_s") > 0)) SB__FAIL("%s: no spawn rate", p);
  }
  for (size_t m = 0; m < sizeof broker_modes / sizeof broker_modes[0]; m++) {
    for (size_t k = 0; k < sizeof per_broker / sizeof per_broker[0]; k++)
      num(o, broker_modes[m], per_broker[k]);
    /* Read from outside (PagefileUsage), which works under Wine too; the
     * CPU time is not checked: a quick run may stay under Wine's 10 ms
     * tick. */
    if (!(num(o, broker_modes[m], "broker_commit_bytes") > 0))
      SB__FAIL("%s: no commit charge", broker_modes[m]);
  }
  CHECK(num(o, "broker_nopool", "helpers_created_per_spawn") == 1);
  CHECK(num(o, "broker", "stage_create_us") > 0);
  for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
    num(o, "", targets[t]);
    snprintf(key, sizeof key, "target_%s_met", targets[t]);
    CHECK(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(o, key)));
  }
  if (sb_test_failures > 0) fprintf(stderr, "the JSON:\n%s\n", out);
  cJSON_Delete(o);
  free(out);
}

SB_TEST_MAIN(SB_CASE(quick_run_gives_every_mode_and_every_key))
