#include "bench_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb_errors.h"

/* Generous bounds: a batch on a loaded machine is slow, never stuck. */
#define BENCH_READY_TIMEOUT_MS 120000
#define BENCH_BATCH_TIMEOUT_MS 600000

typedef struct bench_thread {
  bench_worker w;
  HANDLE ready; /* set once the worker is set up, or failed to be */
  HANDLE go;    /* the batch's common start (shared, manual-reset) */
  bool setup_ok;
} bench_thread;

static DWORD WINAPI worker_main(void *arg) {
  bench_thread *t = arg;
  bench_worker *w = &t->w;
  t->setup_ok = bench_way_setup(w) == 0;
  SetEvent(t->ready);
  WaitForSingleObject(t->go, INFINITE);
  for (int i = 0; i < w->spawns; i++) {
    if (!t->setup_ok || bench_way_spawn(w, &w->samples[w->done]) != 0)
      w->failures++;
    else
      w->done++;
  }
  w->finished = bench_now();
  bench_way_teardown(w);
  return 0;
}

int bench_batch_run(const bench_env *env, const bench_mode *m, int per_thread,
                    bench_series *s) {
  bench_thread *t = calloc(BENCH_MAX_THREADS, sizeof *t);
  HANDLE threads[BENCH_MAX_THREADS], ready[BENCH_MAX_THREADS];
  HANDLE go = CreateEventW(NULL, TRUE, FALSE, NULL);
  int started = 0, rc = 0;
  int64_t t0, end;

  if (t == NULL || go == NULL || m->threads > BENCH_MAX_THREADS) {
    if (go != NULL) CloseHandle(go);
    free(t);
    return SB_E_INTERNAL;
  }
  for (int i = 0; i < m->threads; i++) {
    bench_worker *w = &t[i].w;
    w->env = env;
    w->mode = m;
    w->index = i;
    w->spawns = per_thread;
    w->samples = calloc((size_t)per_thread, sizeof *w->samples);
    t[i].go = go;
    t[i].ready = CreateEventW(NULL, TRUE, FALSE, NULL);
    threads[i] = NULL;
    if (w->samples == NULL || t[i].ready == NULL) {
      rc = SB_E_NOMEM;
      break;
    }
    threads[i] = CreateThread(NULL, 0, worker_main, &t[i], 0, NULL);
    if (threads[i] == NULL) {
      rc = SB_E_INTERNAL;
      break;
    }
    ready[i] = t[i].ready;
    started++;
  }
  if (started > 0)
    WaitForMultipleObjects((DWORD)started, ready, TRUE, BENCH_READY_TIMEOUT_MS);
  /* Started threads always run: a batch cut short by a failed thread start
   * still releases them, and the caller sees rc. */
  t0 = bench_now();
  SetEvent(go);
  end = t0;
  if (started > 0 &&
      WaitForMultipleObjects((DWORD)started, threads, TRUE, BENCH_BATCH_TIMEOUT_MS) !=
          WAIT_OBJECT_0) {
    /* A thread still blocked in a spawn uses t and go: both are left to
     * it, and the caller ends the run. */
    fprintf(stderr, "spawnbench: a batch of %s did not finish in %d s\n", m->key,
            BENCH_BATCH_TIMEOUT_MS / 1000);
    return SB_E_TIMEOUT;
  }
  for (int i = 0; i < started; i++) {
    bench_worker *w = &t[i].w;
    if (w->finished > end) end = w->finished;
    if (rc == 0) rc = bench_series_add(s, w->samples, (size_t)w->done);
    s->failures += (size_t)w->failures;
    if (s->error[0] == '\0' && w->error[0] != '\0')
      snprintf(s->error, sizeof s->error, "%s", w->error);
    CloseHandle(threads[i]);
  }
  s->wall_s += bench_ms(t0, end) / 1000.0;
  for (int i = 0; i < m->threads; i++) {
    free(t[i].w.samples);
    if (t[i].ready != NULL) CloseHandle(t[i].ready);
  }
  CloseHandle(go);
  free(t);
  return rc;
}
