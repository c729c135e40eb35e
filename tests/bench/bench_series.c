#include "bench_series.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sb_errors.h"

int bench_series_add(bench_series *s, const bench_sample *samples, size_t n) {
  if (s->n + n > s->cap) {
    size_t cap = s->cap * 2 + n + 64;
    bench_sample *more = realloc(s->samples, cap * sizeof *more);
    if (more == NULL) return SB_E_NOMEM;
    s->samples = more;
    s->cap = cap;
  }
  memcpy(s->samples + s->n, samples, n * sizeof *samples);
  s->n += n;
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

double bench_series_quantile(const bench_series *s, bool exit, double q) {
  double *v, r;
  size_t rank;
  if (s->n == 0) return 0;
  v = malloc(s->n * sizeof *v);
  if (v == NULL) return 0;
  for (size_t i = 0; i < s->n; i++) v[i] = exit ? s->samples[i].exit_ms : s->samples[i].pid_ms;
  qsort(v, s->n, sizeof *v, cmp_double);
  /* Nearest rank: the smallest value with at least q of the samples at or
   * below it. */
  rank = (size_t)ceil(q * (double)s->n);
  if (rank < 1) rank = 1;
  if (rank > s->n) rank = s->n;
  r = v[rank - 1];
  free(v);
  return r;
}

double bench_series_rate(const bench_series *s) {
  return s->wall_s > 0 ? (double)s->n / s->wall_s : 0;
}

void bench_series_free(bench_series *s) {
  free(s->samples);
  memset(s, 0, sizeof *s);
}
