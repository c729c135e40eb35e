/*
 * Which handle values in the broker's own table a push-mode request may
 * name. In push mode a client duplicates its handles into the broker and
 * sends the values, so a value could just as well name one of the broker's
 * own handles (another client's pipe, a helper, a job) — the confused deputy
 * of SECURITY-NOTES T3. Every handle the broker opens for itself is
 * registered here as owned; values named by a request in flight are claimed
 * until it ends. Thread-safe.
 */
#ifndef SB_BROKER_REGISTRY_H
#define SB_BROKER_REGISTRY_H

#include <windows.h>

/* Records every handle the broker holds right now as its own: the ones
 * nobody registers by name (the current directory's handle, the console's,
 * the loader's). Called once at start-up; always 0. */
int sb__registry_own_all_current(void);
/*
 * Records a handle the broker itself opened; NULL and INVALID are ignored.
 * Ownership is counted: a value registered twice stays owned until it is
 * disowned twice. Disown a handle only after closing it. A value that
 * another thread reopens in between (Windows hands out freed values again at
 * once) is then registered a second time, so the late disown of the old
 * handle leaves the new one owned. With the opposite order a push request
 * could claim the value after the disown and before the close, and get
 * whatever the broker opens under it next.
 */
void sb__registry_own(HANDLE h);
void sb__registry_disown(HANDLE h);
/* Whether h is registered as the broker's own (tests and checks). */
int sb__registry_owns(HANDLE h);
/* Claims a pushed value for one request: SB_E_HANDLE_OWNED_BY_BROKER,
 * SB_E_HANDLE_CLAIMED, SB_E_NOMEM or 0. */
int sb__registry_claim(HANDLE h);
void sb__registry_unclaim(HANDLE h);

#endif
