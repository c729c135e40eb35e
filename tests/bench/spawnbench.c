/*
 * spawnbench.exe [--quick] [--json] [--rounds N] [--batch N] [--only KEYS]
 *                [--baseline EXE]
 *
 * Spawns sb_child.exe "exit 0" many times in each way a program could, in
 * one run, and prints medians, p90, p99 and ratios to direct CreateProcess
 * (bench.h says what the modes are; docs/benchmarks.md has the figures and
 * how to read them). It starts its own brokers (spawnbroker.exe run) on
 * private pipes, one per broker mode, and stops them at the end.
 *
 *   --quick     a short run (2 rounds of small batches): a smoke test
 *   --json      one JSON object instead of the Markdown tables
 *   --rounds N  rounds (default 24)
 *   --batch N   spawns per batch of a one-thread mode (default 12); a mode
 *               with T threads makes max(3, ceil(N / T)) on each thread
 *   --only KEYS only the modes named, comma-separated ("direct,broker"): for
 *               looking at one change quickly; the targets need direct,
 *               broker, broker_nopool, lock16 and broker16
 *   --baseline EXE
 *               also measures broker executable EXE (a copy of another
 *               build, next to spawnbench.exe) as modes "baseline" and
 *               "baseline16", with the warm brokers' options: a change to
 *               the broker is then judged against the old one in one run
 *
 * Exit codes: 0 when every spawn of every mode succeeded, 1 when some
 * failed or a mode has no samples (the output says which), 2 for bad
 * options, 3 when the brokers cannot be started.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_batch.h"
#include "bench_brokers.h"
#include "bench_report.h"

#define BROKER L"spawnbroker.exe"
#define WARM L"--log-level warn --warm 16", 16

static const bench_mode base_modes[] = {
    {"direct", "CreateProcess from one thread, handles inheritable (the floor)",
     BENCH_WAY_DIRECT, 1, 0, NULL, NULL, 0},
    {"lock1", "lock approach (inheritable copies under a global lock), 1 thread",
     BENCH_WAY_LOCK, 1, 0, NULL, NULL, 0},
    {"lock4", "lock approach, 4 threads", BENCH_WAY_LOCK, 4, 0, NULL, NULL, 0},
    {"lock16", "lock approach, 16 threads", BENCH_WAY_LOCK, 16, 0, NULL, NULL, 0},
    {"inproc_helper", "helper trick in-process (no broker), 1 thread", BENCH_WAY_HELPER, 1, 0,
     NULL, NULL, 0},
    {"broker", "broker, warm pool, 1 client", BENCH_WAY_BROKER, 1, 0, BROKER, WARM},
    {"broker4", "broker, warm pool, 4 clients", BENCH_WAY_BROKER, 4, 1, BROKER, WARM},
    {"broker16", "broker, warm pool, 16 clients", BENCH_WAY_BROKER, 16, 2, BROKER, WARM},
    {"broker_nopool", "broker, no pool (a fresh helper per spawn), 1 client", BENCH_WAY_BROKER, 1,
     3, BROKER, L"--log-level warn --warm 0 --recycle 1", 0},
};
#define NBASE (sizeof base_modes / sizeof base_modes[0])
/* --baseline adds two modes, each with a broker of its own. */
#define NMODES_MAX (NBASE + 2)
#define NBROKERS 6
/* The pause after each batch (see main). */
#define BENCH_SETTLE_MS 100

static bench_mode modes[NMODES_MAX];
static size_t nmodes;

typedef struct options {
  bool quick, json;
  int rounds, batch, min_per_thread;
  wchar_t baseline[MAX_PATH]; /* --baseline EXE, or "" */
  const char *only;           /* --only KEYS, or NULL for every mode */
} options;

static int usage(const char *why) {
  if (why != NULL) fprintf(stderr, "spawnbench: %s\n", why);
  fprintf(stderr,
          "usage: spawnbench [--quick] [--json] [--rounds N] [--batch N] [--only KEYS]\n"
          "                  [--baseline EXE]\n");
  return 2;
}

static int parse(int argc, char **argv, options *o) {
  o->quick = o->json = false;
  /* Short batches, many rounds: a burst of load from elsewhere on the
   * machine then falls on every mode alike rather than on one. */
  o->rounds = 24;
  o->batch = 12;
  o->min_per_thread = 3;
  o->baseline[0] = L'\0';
  o->only = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    char *end;
    long v;
    if (strcmp(a, "--quick") == 0) {
      o->quick = true;
      o->rounds = 2;
      o->batch = 3;
      o->min_per_thread = 1;
    } else if (strcmp(a, "--json") == 0) {
      o->json = true;
    } else if ((strcmp(a, "--rounds") == 0 || strcmp(a, "--batch") == 0) && i + 1 < argc) {
      v = strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 1 || v > 100000) return usage("a count must be 1 to 100000");
      if (strcmp(a, "--rounds") == 0)
        o->rounds = (int)v;
      else
        o->batch = (int)v;
    } else if (strcmp(a, "--only") == 0 && i + 1 < argc) {
      o->only = argv[++i];
    } else if (strcmp(a, "--baseline") == 0 && i + 1 < argc) {
      if (MultiByteToWideChar(CP_ACP, 0, argv[++i], -1, o->baseline, MAX_PATH) == 0)
        return usage("the baseline's name is too long");
    } else if (strcmp(a, "--help") == 0) {
      usage(NULL);
      return 1;
    } else {
      return usage("unknown option");
    }
  }
  return 0;
}

/* A new order of the modes each round, the same in every run: no mode
 * always runs first, or after the same one. A rotation would put each mode
 * after the same neighbour in every round, and carry that neighbour's
 * after-effects into its figures. */
static void shuffle(size_t *order, size_t n, uint32_t *seed) {
  for (size_t i = 0; i < n; i++) order[i] = i;
  for (size_t i = n; i > 1; i--) {
    size_t j, t;
    /* A linear congruential step (Numerical Recipes' constants) is plenty
     * for an order of nine. */
    *seed = *seed * 1664525u + 1013904223u;
    j = (size_t)(*seed >> 16) % i;
    t = order[i - 1];
    order[i - 1] = order[j];
    order[j] = t;
  }
}

static int per_thread(const options *o, const bench_mode *m) {
  int n = (o->batch + m->threads - 1) / m->threads;
  return n < o->min_per_thread ? o->min_per_thread : n;
}

/* A warm pool that is still filling would make the first batches pay for
 * helpers a running broker has long had: wait until it is full. */
static void wait_warm(bench_broker *b, uint64_t warm) {
  for (int i = 0; i < 600; i++) {
    sb_stats_result st;
    if (sb_client_stats(b->stats, &st) != 0 || st.helpers_idle >= warm) return;
    Sleep(50);
  }
}

/* Whether key is one of the comma-separated keys of list (NULL: all). */
static bool listed(const char *list, const char *key) {
  size_t n = strlen(key);
  if (list == NULL) return true;
  for (const char *p = list;; p++) {
    if (strncmp(p, key, n) == 0 && (p[n] == ',' || p[n] == '\0')) return true;
    p = strchr(p, ',');
    if (p == NULL) return false;
  }
}

/* The modes of this run: the base ones and the baseline's, less those
 * --only leaves out. 0, or 2 when --only leaves none. */
static int make_modes(const options *o) {
  static const bench_mode extra[] = {
      {"baseline", "the --baseline broker, warm pool, 1 client", BENCH_WAY_BROKER, 1, 4, NULL,
       WARM},
      {"baseline16", "the --baseline broker, warm pool, 16 clients", BENCH_WAY_BROKER, 16, 5,
       NULL, WARM}};
  nmodes = 0;
  for (size_t i = 0; i < NBASE; i++)
    if (listed(o->only, base_modes[i].key)) modes[nmodes++] = base_modes[i];
  for (size_t i = 0; o->baseline[0] != L'\0' && i < 2; i++) {
    if (!listed(o->only, extra[i].key)) continue;
    modes[nmodes] = extra[i];
    modes[nmodes++].broker_exe = o->baseline;
  }
  return nmodes > 0 ? 0 : usage("--only names no mode of this run");
}

static int start_brokers(bench_env *env) {
  for (size_t i = 0; i < nmodes; i++) {
    const bench_mode *m = &modes[i];
    int rc;
    if (m->way != BENCH_WAY_BROKER) continue;
    rc = bench_broker_start(&env->brokers[m->broker], m->broker_exe, m->broker_args, m->threads);
    if (rc != 0) return rc;
    env->nbrokers++;
  }
  for (size_t i = 0; i < nmodes; i++)
    if (modes[i].way == BENCH_WAY_BROKER && modes[i].warm > 0)
      wait_warm(&env->brokers[modes[i].broker], (uint64_t)modes[i].warm);
  return 0;
}

/* One batch of mode i; for a broker mode, with the broker's readings
 * before and after it. */
static int run_batch(const bench_env *env, const options *o, size_t i, bench_series *s) {
  const bench_mode *m = &modes[i];
  bench_broker_reading before, after;
  bench_broker *b = m->way == BENCH_WAY_BROKER ? &env->brokers[m->broker] : NULL;
  int rc;
  if (b != NULL && bench_broker_read(b, &before) != 0) return SB_E_INTERNAL;
  rc = bench_batch_run(env, m, per_thread(o, m), s);
  if (rc == 0 && b != NULL && bench_broker_read(b, &after) == 0)
    bench_broker_account(&before, &after, s);
  return rc;
}

int main(int argc, char **argv) {
  static bench_broker brokers[NBROKERS];
  bench_series series[NMODES_MAX], warmup;
  bench_env env;
  bench_run run;
  options o;
  uint32_t seed = 1;
  int rc, status = 0;

  rc = parse(argc, argv, &o);
  if (rc != 0) return rc == 1 ? 0 : rc;
  if (make_modes(&o) != 0) return 2;
  memset(&env, 0, sizeof env);
  memset(series, 0, sizeof series);
  memset(&warmup, 0, sizeof warmup);
  env.brokers = brokers;
  if (sbt_exe_path(L"sb_child.exe", env.child, MAX_PATH) != 0 ||
      sbt_exe_path(L"spawnbroker-helper.exe", env.helper, MAX_PATH) != 0 ||
      WideCharToMultiByte(CP_UTF8, 0, env.child, -1, env.child_utf8, sizeof env.child_utf8, NULL,
                          NULL) == 0) {
    fprintf(stderr, "spawnbench: cannot find sb_child.exe and spawnbroker-helper.exe\n");
    return 3;
  }
  if (start_brokers(&env) != 0) {
    status = 3;
    goto done;
  }

  /* One unmeasured batch of each mode first: the child's image in the page
   * cache, every thread and connection used once. */
  for (size_t i = 0; i < nmodes && rc == 0; i++)
    rc = bench_batch_run(&env, &modes[i], 1, &warmup);
  for (int r = 0; r < o.rounds && rc == 0; r++) {
    size_t order[NMODES_MAX];
    shuffle(order, nmodes, &seed);
    for (size_t k = 0; k < nmodes && rc == 0; k++) {
      rc = run_batch(&env, &o, order[k], &series[order[k]]);
      /* What a batch leaves behind settles first (the no-pool broker's
       * retired helpers, killed at the end of its batch, are torn down by
       * Wine for a few milliseconds after) rather than in the next batch. */
      Sleep(BENCH_SETTLE_MS);
    }
  }
  if (rc != 0) {
    fprintf(stderr, "spawnbench: a batch could not run: %s\n", sb_err_name(rc));
    status = 1;
  }

  memset(&run, 0, sizeof run);
  run.modes = modes;
  run.series = series;
  run.nmodes = nmodes;
  run.rounds = o.rounds;
  run.batch = o.batch;
  run.quick = o.quick;
  bench_machine(run.machine, sizeof run.machine);
  if (o.json) {
    if (bench_report_json(&run, stdout) != 0) status = 1;
  } else {
    bench_report_table(&run, stdout);
  }
  fflush(stdout);
  for (size_t i = 0; i < nmodes; i++) {
    if (series[i].failures > 0 || series[i].n == 0) {
      fprintf(stderr, "spawnbench: %s: %zu samples, %zu failures%s%s\n", modes[i].key,
              series[i].n, series[i].failures, series[i].error[0] ? "; first: " : "",
              series[i].error);
      status = 1;
    }
  }
  if (warmup.failures > 0) {
    fprintf(stderr, "spawnbench: the warm-up failed: %s\n", warmup.error);
    status = 1;
  }

done:
  for (size_t i = 0; i < NBROKERS; i++)
    if (brokers[i].proc.process != NULL) bench_broker_stop(&brokers[i]);
  for (size_t i = 0; i < nmodes; i++) bench_series_free(&series[i]);
  bench_series_free(&warmup);
  return status;
}
