/*
 * Where a brokered spawn's time goes. A spawn passes through eight stages,
 * from its frame's arrival to its reply leaving on the pipe; each is timed
 * with QueryPerformanceCounter at its boundaries and, once the spawn has
 * made a child, added to the stats counters spawn_<stage>_us
 * (docs/protocol.md, "stats"). A mark ends one stage and starts the next,
 * so the stages cover the spawn without gap or overlap and their sum is the
 * broker's whole share of the client's wait.
 *
 * One clock belongs to one spawn and is used by one thread at a time: the
 * loop thread, then the worker, then the loop thread again (uv_queue_work
 * hands it over with the memory ordering a handover needs).
 */
#ifndef SB_BROKER_STAGE_H
#define SB_BROKER_STAGE_H

#include <stdint.h>

#include "sb_proto.h"

/* In the order of SB_STATS_STAGES (sb_proto.h). */
typedef enum sb__stage {
  SB__STAGE_DECODE,   /* loop: decoding and checking, until queued for a worker */
  SB__STAGE_QUEUE,    /* waiting for a worker thread */
  SB__STAGE_PREPARE,  /* worker: program, working directory, the child's job */
  SB__STAGE_LEASE,    /* worker: leasing a helper (or creating one) */
  SB__STAGE_TRANSFER, /* worker: moving the handles into the helper */
  SB__STAGE_CREATE,   /* worker: command line, environment, attributes, the child made
                       * suspended, and (after CLOSE) resumed */
  SB__STAGE_CLOSE,    /* worker: closing the moved handles in the helper, returning it,
                       * while the new child is still suspended */
  SB__STAGE_REPLY,    /* loop: tracking the child, encoding and writing the reply */
  SB__STAGE_COUNT
} sb__stage;

typedef struct sb__stage_clock {
  int64_t last;                  /* counter value at the last mark */
  int64_t ticks[SB__STAGE_COUNT]; /* counter ticks per stage so far */
} sb__stage_clock;

/* The performance counter now, in its own ticks. */
int64_t sb__stage_now(void);
/* Starts the first stage at `at` (a value of sb__stage_now). */
void sb__stage_start(sb__stage_clock *c, int64_t at);
/* Ends stage `ended` now; the next stage starts at the same moment. */
void sb__stage_mark(sb__stage_clock *c, sb__stage ended);
/* Adds the clock's stages, in microseconds, to the spawn_*_us counters. */
void sb__stage_add(const sb__stage_clock *c, sb_stats_result *stats);

#endif
