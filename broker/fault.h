/*
 * Fault injection, test builds only (SB_TEST_HOOKS): every step of a spawn
 * that can fail has a named point, and a test makes one of them fail to
 * check that the broker cleans up after exactly that failure (TESTPLAN A4,
 * issue 5). In the product sb__fault_fires is the constant false and the
 * points compile away.
 *
 * A test starts the broker with --test-fault-file PATH and writes into that
 * file, whenever it likes, one line "NAME@N" (the Nth time point NAME is
 * reached from now on fails, once), "NAME@*" (every time) or nothing (no
 * fault). The broker notices a changed file at the next point reached and
 * counts from zero again.
 */
#ifndef SB_BROKER_FAULT_H
#define SB_BROKER_FAULT_H

#include <stdbool.h>

#define SB__FAULT_POINTS(X)                                                     \
  X(LEASE, "lease")                 /* leasing a helper */                     \
  X(OPEN_CLIENT, "open_client")     /* hello: opening the client (pull) */     \
  X(DUP_FROM_CLIENT, "dup_from_client") /* pull: one handle into the broker */ \
  X(MOVE_TO_HELPER, "move_to_helper")   /* one handle into the helper */       \
  X(ATTRS, "attrs")                 /* building the attribute list */          \
  X(CREATE, "create")               /* CreateProcess (an error it reports) */  \
  X(CREATE_1359, "create_1359")     /* CreateProcess fails as Wine's start-up death does */ \
  X(ASSIGN_JOB, "assign_job")       /* placing the child in its job */         \
  X(RESUME, "resume")               /* resuming the child */                   \
  X(CLOSE_IN_HELPER, "close_in_helper") /* closing one moved handle */         \
  X(REPLY, "reply")                 /* writing the spawn result */             \
  X(EXIT_WATCH, "exit_watch")       /* watching the child for its exit */

typedef enum sb__fault {
#define SB__FAULT_ENUM(sym, name) SB__FAULT_##sym,
  SB__FAULT_POINTS(SB__FAULT_ENUM)
#undef SB__FAULT_ENUM
  SB__FAULT_COUNT
} sb__fault;

#ifdef SB_TEST_HOOKS
/* Sets the file the fault spec is read from (UTF-8 path). */
int sb__fault_set_file(const char *path);
/* Whether point f fails this time. Thread-safe. */
bool sb__fault_fires(sb__fault f);
#else
#define sb__fault_fires(f) false
#endif

#endif
