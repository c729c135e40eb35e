/*
 * Test builds only (SB_TEST_HOOKS): a thread that keeps calling
 * CreateProcessW(bInheritHandles=TRUE) inside the broker while it serves,
 * the way careless code in any process would. TESTPLAN A3 checks that its
 * children never receive a handle passed through the broker.
 */
#ifndef SB_BROKER_ROGUE_H
#define SB_BROKER_ROGUE_H

#include <wchar.h>

/* Starts the thread: it runs `cmdline` with inheritance on, waits for each
 * run, and rewrites report_path with "runs=N min=A max=B stopped=0" after
 * every run, A and B being the smallest and largest exit code seen. The
 * tests run a child whose exit code is the number of inheritable handles it
 * holds, so A != B means some run received a handle the others did not.
 * The thread ends when the file report_path + ".stop" appears (or at
 * sb__rogue_stop), writing the report a last time with stopped=1. */
int sb__rogue_start(const wchar_t *cmdline, const wchar_t *report_path);
void sb__rogue_stop(void);

#endif
