/*
 * The broker's own resource figures for `stats`: what a process can always
 * read about itself, even where (as under Wine) it cannot read them about
 * another process (docs/wine.md).
 */
#ifndef SB_BROKER_SELF_STATS_H
#define SB_BROKER_SELF_STATS_H

#include <stdint.h>

/* CPU time used so far, user and kernel, in microseconds; 0 on failure. */
uint64_t sb__self_cpu_us(void);

/* Bytes in use in the process's heaps now: the blocks every heap holds
 * for its callers, summed by walking each heap. Exact where the process's
 * private bytes are not (those grow by heap segments and stacks and seldom
 * shrink), so it is what shows a leak. The walk locks each heap in turn,
 * which stalls allocations for the walk's time: a few milliseconds for a
 * broker's few thousand blocks. 0 when the heaps cannot be listed. */
uint64_t sb__self_heap_bytes(void);

#endif
