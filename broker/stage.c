#include "stage.h"

#include <string.h>
#include <windows.h>

/* The counter's frequency is fixed at boot, so reading it once is enough;
 * two threads racing to read it store the same value. */
static int64_t frequency(void) {
  static volatile LONG64 freq;
  if (freq == 0) {
    LARGE_INTEGER f;
    QueryPerformanceFrequency(&f);
    freq = f.QuadPart;
  }
  return freq;
}

int64_t sb__stage_now(void) {
  LARGE_INTEGER t;
  QueryPerformanceCounter(&t);
  return t.QuadPart;
}

void sb__stage_start(sb__stage_clock *c, int64_t at) {
  memset(c, 0, sizeof *c);
  c->last = at;
}

void sb__stage_mark(sb__stage_clock *c, sb__stage ended) {
  int64_t now = sb__stage_now();
  c->ticks[ended] += now - c->last;
  c->last = now;
}

/* Ticks to whole microseconds, rounded to the nearest. The product
 * overflows only for a stage of days (at a 10 MHz counter). */
static uint64_t to_us(int64_t ticks) {
  int64_t f = frequency();
  if (ticks <= 0 || f <= 0) return 0;
  return (uint64_t)((ticks * 1000000 + f / 2) / f);
}

void sb__stage_add(const sb__stage_clock *c, sb_stats_result *stats) {
#define SB__STAGE_SLOT(name, doc) &stats->name,
  uint64_t *const slots[] = {SB_STATS_STAGES(SB__STAGE_SLOT)};
#undef SB__STAGE_SLOT
  _Static_assert(sizeof slots / sizeof slots[0] == SB__STAGE_COUNT,
                 "one stats counter per stage, in the order of sb__stage");
  for (int i = 0; i < SB__STAGE_COUNT; i++) *slots[i] += to_us(c->ticks[i]);
}
