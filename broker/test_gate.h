/*
 * Test builds only (SB_TEST_HOOKS): a gate every spawn passes on its worker
 * thread before it starts, so a test can have spawns in flight for as long
 * as it wants, for instance while it stops the broker.
 *
 * With --test-spawn-gate NAME, each spawn opens the events NAME.entered and
 * NAME.go (the test creates both, manual-reset), sets NAME.entered and
 * waits for NAME.go. Without the option, or when the events cannot be
 * opened (logged), spawns pass at once.
 */
#ifndef SB_BROKER_TEST_GATE_H
#define SB_BROKER_TEST_GATE_H

/* Called once from main, before the loop runs; name is UTF-8. */
int sb__test_gate_set(const char *name);
/* Called by each spawn on its worker thread. */
void sb__test_gate_pass(void);

#endif
