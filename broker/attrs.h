/*
 * The one PROC_THREAD_ATTRIBUTE_LIST of a CreateProcess call: the parent,
 * the handles that may be inherited, and the job the new process starts in.
 *
 * Both kinds of process the broker creates go through it: helpers (no
 * parent, no handles, the helper job) and children (the helper as parent,
 * exactly the moved handles, the child's own job). Naming the job in the
 * list puts the process in it atomically, as part of its creation: there is
 * no moment in which the process exists outside its kill-on-close job, so a
 * broker that dies at any point can leave no suspended helper or half-made
 * child behind. Where the system does not know the job list attribute
 * (before Windows 10 / Server 2016) the caller assigns the job while the
 * process is still suspended, which leaves that window open; job_listed
 * says which happened.
 */
#ifndef SB_BROKER_ATTRS_H
#define SB_BROKER_ATTRS_H

#include <stdbool.h>
#include <stddef.h>
#include <windows.h>

typedef struct sb__attrs {
  LPPROC_THREAD_ATTRIBUTE_LIST list;
  bool job_listed; /* the process will be in *job from its creation */
  DWORD error;     /* GetLastError of a refused attribute, for the log */
} sb__attrs;

/*
 * Builds the list. Every pointer must stay valid until CreateProcess has
 * returned: the list refers to the caller's storage, it does not copy it.
 *   parent   NULL, or the process to use as the parent;
 *   inherit  the handles (valid in the parent) that may be inherited; with
 *            ninherit == 0 no handle list is set, and the caller must pass
 *            bInheritHandles = FALSE (an empty list is invalid, and no list
 *            with TRUE would pass everything inheritable);
 *   job      NULL, or the job the process is to start in.
 * Returns 0, SB_E_NOMEM or SB_E_SPAWN_FAILED (a parent or handle list the
 * system refused: the caller must not create the process without them).
 */
int sb__attrs_build(sb__attrs *a, HANDLE *parent, HANDLE *inherit,
                    size_t ninherit, HANDLE *job);
void sb__attrs_free(sb__attrs *a);

#endif
