#include "bench_report.h"

#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sb_errors.h"

/* The targets (issue 6), as ratios of this run's own figures. */
#define TARGET_SPAWN_EXIT_RATIO 1.05 /* broker spawn+exit p50 / direct, at most */
#define TARGET_PID_RATIO 1.15        /* broker request->pid p50 / direct, at most */
#define TARGET_POOL_SPEEDUP 1.6      /* no-pool pid p50 / warm pid p50, at least */
#define TARGET_THROUGHPUT_RATIO 1.0  /* broker16 / lock16 spawns per second, at least */

#define STAGE_NAME(name, doc) #name,
static const char *const stage_counters[BENCH_STAGES] = {SB_STATS_STAGES(STAGE_NAME)};
#undef STAGE_NAME

/* "spawn_decode_us" -> "decode" (written to out). */
static const char *stage_short(int i, char *out, size_t cap) {
  const char *n = stage_counters[i] + strlen("spawn_");
  snprintf(out, cap, "%.*s", (int)(strlen(n) - strlen("_us")), n);
  return out;
}

static const bench_series *series_of(const bench_run *r, const char *key) {
  for (size_t i = 0; i < r->nmodes; i++)
    if (strcmp(r->modes[i].key, key) == 0) return &r->series[i];
  return NULL;
}

static double p50(const bench_run *r, const char *key, bool exit) {
  const bench_series *s = series_of(r, key);
  return s != NULL ? bench_series_quantile(s, exit, 0.5) : 0;
}

static double ratio(double a, double b) { return b > 0 ? a / b : 0; }

/* The four targets: the measured ratio, and whether it meets the target. */
typedef struct target {
  const char *key, *what;
  double value, goal;
  bool at_most;
} target;

static void targets_of(const bench_run *r, target t[4]) {
  double rate_b16 = 0, rate_l16 = 0;
  const bench_series *b16 = series_of(r, "broker16"), *l16 = series_of(r, "lock16");
  if (b16 != NULL) rate_b16 = bench_series_rate(b16);
  if (l16 != NULL) rate_l16 = bench_series_rate(l16);
  t[0] = (target){"spawn_exit_p50_ratio", "brokered spawn+exit p50 / direct",
                  ratio(p50(r, "broker", true), p50(r, "direct", true)),
                  TARGET_SPAWN_EXIT_RATIO, true};
  t[1] = (target){"pid_p50_ratio", "brokered request->pid p50 / direct",
                  ratio(p50(r, "broker", false), p50(r, "direct", false)), TARGET_PID_RATIO,
                  true};
  t[2] = (target){"pool_speedup", "no-pool request->pid p50 / warm pool",
                  ratio(p50(r, "broker_nopool", false), p50(r, "broker", false)),
                  TARGET_POOL_SPEEDUP, false};
  t[3] = (target){"throughput16_ratio", "spawns/s, broker with 16 clients / lock with 16 threads",
                  ratio(rate_b16, rate_l16), TARGET_THROUGHPUT_RATIO, false};
}

static bool met(const target *t) {
  return t->value > 0 && (t->at_most ? t->value <= t->goal : t->value >= t->goal);
}

/* ------------------------------------------------------------------------ */
/* Markdown                                                                 */

void bench_report_table(const bench_run *r, FILE *out) {
  double d_pid = p50(r, "direct", false), d_exit = p50(r, "direct", true);
  target t[4];
  char name[32];

  fprintf(out, "Machine: %s.\n", r->machine);
  fprintf(out,
          "Run: %d rounds of batches of %d%s; each round runs one batch of every mode, in an "
          "order shuffled anew each round, with a short pause after each batch.\n\n",
          r->rounds, r->batch, r->quick ? " (--quick)" : "");
  fprintf(out, "| mode | what | spawns | request→pid p50 / p90 / p99 (ms) | × direct | "
               "request→exit p50 / p90 / p99 (ms) | × direct | spawns/s |\n");
  fprintf(out, "|---|---|---:|---:|---:|---:|---:|---:|\n");
  for (size_t i = 0; i < r->nmodes; i++) {
    const bench_series *s = &r->series[i];
    double pid = bench_series_quantile(s, false, 0.5), ex = bench_series_quantile(s, true, 0.5);
    fprintf(out, "| `%s` | %s | %zu%s | %.2f / %.2f / %.2f | %.2f | %.2f / %.2f / %.2f | %.2f | %.0f |\n",
            r->modes[i].key, r->modes[i].what, s->n, s->failures ? " (failures!)" : "", pid,
            bench_series_quantile(s, false, 0.9), bench_series_quantile(s, false, 0.99),
            ratio(pid, d_pid), ex, bench_series_quantile(s, true, 0.9),
            bench_series_quantile(s, true, 0.99), ratio(ex, d_exit), bench_series_rate(s));
  }

  fprintf(out, "\nThe broker's side (its own stats and memory; stages are mean µs per spawn):\n\n");
  fprintf(out, "| mode | CPU ms/spawn | commit MiB | commit growth B/spawn | helpers made/spawn |");
  for (int k = 0; k < BENCH_STAGES; k++) fprintf(out, " %s |", stage_short(k, name, sizeof name));
  fprintf(out, " sum |\n|---|---:|---:|---:|---:|");
  for (int k = 0; k <= BENCH_STAGES; k++) fprintf(out, "---:|");
  fprintf(out, "\n");
  for (size_t i = 0; i < r->nmodes; i++) {
    const bench_series *s = &r->series[i];
    double n = (double)s->spawns_ok, sum = 0;
    if (r->modes[i].way != BENCH_WAY_BROKER) continue;
    fprintf(out, "| `%s` | %.2f | %.1f | %.0f | %.2f |", r->modes[i].key,
            ratio(s->cpu_us / 1000.0, n), s->commit_end / (1024.0 * 1024.0),
            ratio(s->commit_end - s->commit_start, n), ratio((double)s->helpers_created, n));
    for (int k = 0; k < BENCH_STAGES; k++) {
      fprintf(out, " %.0f |", ratio((double)s->stage_us[k], n));
      sum += ratio((double)s->stage_us[k], n);
    }
    fprintf(out, " %.0f |\n", sum);
  }

  targets_of(r, t);
  fprintf(out, "\n| target | measured | goal | met |\n|---|---:|---:|---|\n");
  for (int k = 0; k < 4; k++)
    fprintf(out, "| %s | %.3f | %s %.2f | %s |\n", t[k].what, t[k].value,
            t[k].at_most ? "≤" : "≥", t[k].goal, met(&t[k]) ? "yes" : "no");
  for (size_t i = 0; i < r->nmodes; i++)
    if (r->series[i].failures)
      fprintf(out, "\n%s: %zu spawns failed; the first: %s\n", r->modes[i].key,
              r->series[i].failures, r->series[i].error);
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                     */

/* Milliseconds to three decimals, so the object stays readable. */
static double round3(double v) { return round(v * 1000.0) / 1000.0; }

static bool add(cJSON *o, const char *prefix, const char *key, double v) {
  char name[96];
  snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "_" : "", key);
  return cJSON_AddNumberToObject(o, name, round3(v)) != NULL;
}

static bool add_mode(cJSON *o, const bench_run *r, size_t i) {
  static const struct {
    const char *key;
    bool exit;
    double q;
  } qs[] = {{"pid_p50_ms", false, 0.5},       {"pid_p90_ms", false, 0.9},
            {"pid_p99_ms", false, 0.99},      {"spawn_exit_p50_ms", true, 0.5},
            {"spawn_exit_p90_ms", true, 0.9}, {"spawn_exit_p99_ms", true, 0.99}};
  const bench_series *s = &r->series[i];
  const char *m = r->modes[i].key;
  double n = (double)s->spawns_ok;
  bool ok = add(o, m, "samples", (double)s->n) && add(o, m, "failures", (double)s->failures) &&
            add(o, m, "threads", r->modes[i].threads);
  char key[64], name[32];
  for (size_t k = 0; ok && k < sizeof qs / sizeof qs[0]; k++)
    ok = add(o, m, qs[k].key, bench_series_quantile(s, qs[k].exit, qs[k].q));
  ok = ok &&
       add(o, m, "pid_p50_ratio",
           ratio(bench_series_quantile(s, false, 0.5), p50(r, "direct", false))) &&
       add(o, m, "spawn_exit_p50_ratio",
           ratio(bench_series_quantile(s, true, 0.5), p50(r, "direct", true))) &&
       add(o, m, "spawns_per_s", bench_series_rate(s));
  if (!ok || r->modes[i].way != BENCH_WAY_BROKER) return ok;
  ok = add(o, m, "broker_cpu_ms_per_spawn", ratio(s->cpu_us / 1000.0, n)) &&
       add(o, m, "broker_commit_bytes", s->commit_end) &&
       add(o, m, "broker_commit_growth_bytes_per_spawn", ratio(s->commit_end - s->commit_start, n)) &&
       add(o, m, "broker_peak_working_set_bytes", s->peak_working_set) &&
       add(o, m, "helpers_created_per_spawn", ratio((double)s->helpers_created, n));
  for (int k = 0; ok && k < BENCH_STAGES; k++) {
    snprintf(key, sizeof key, "stage_%s_us", stage_short(k, name, sizeof name));
    ok = add(o, m, key, ratio((double)s->stage_us[k], n));
  }
  return ok;
}

int bench_report_json(const bench_run *r, FILE *out) {
  cJSON *o = cJSON_CreateObject();
  char *text;
  target t[4];
  char key[64];
  bool ok = o != NULL && cJSON_AddStringToObject(o, "machine", r->machine) != NULL &&
            add(o, "", "rounds", r->rounds) && add(o, "", "batch", r->batch) &&
            cJSON_AddBoolToObject(o, "quick", r->quick) != NULL;
  for (size_t i = 0; ok && i < r->nmodes; i++) ok = add_mode(o, r, i);
  targets_of(r, t);
  for (int k = 0; ok && k < 4; k++) {
    snprintf(key, sizeof key, "target_%s_met", t[k].key);
    ok = add(o, "", t[k].key, t[k].value) && cJSON_AddBoolToObject(o, key, met(&t[k])) != NULL;
  }
  for (size_t i = 0; ok && i < r->nmodes; i++) {
    if (r->series[i].failures == 0) continue;
    snprintf(key, sizeof key, "%s_first_error", r->modes[i].key);
    ok = cJSON_AddStringToObject(o, key, r->series[i].error) != NULL;
  }
  text = ok ? cJSON_Print(o) : NULL;
  cJSON_Delete(o);
  if (text == NULL) return SB_E_NOMEM;
  fprintf(out, "%s\n", text);
  cJSON_free(text);
  return 0;
}
