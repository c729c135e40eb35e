#include "attrs.h"

#include <stdlib.h>

#include "sb_errors.h"

/* mingw-w64's headers predate it; the value is the documented one. */
#ifndef PROC_THREAD_ATTRIBUTE_JOB_LIST
#define PROC_THREAD_ATTRIBUTE_JOB_LIST 0x0002000D
#endif

int sb__attrs_build(sb__attrs *a, HANDLE *parent, HANDLE *inherit,
                    size_t ninherit, HANDLE *job) {
  DWORD count = (parent != NULL) + (ninherit > 0) + (job != NULL);
  SIZE_T size = 0;

  a->list = NULL;
  a->job_listed = false;
  a->error = 0;
  if (count == 0) return 0;
  /* The first call only measures; it fails with ERROR_INSUFFICIENT_BUFFER. */
  InitializeProcThreadAttributeList(NULL, count, 0, &size);
  a->list = malloc(size);
  if (a->list == NULL) return SB_E_NOMEM;
  if (!InitializeProcThreadAttributeList(a->list, count, 0, &size)) {
    a->error = GetLastError();
    free(a->list);
    a->list = NULL;
    return SB_E_SPAWN_FAILED;
  }
  if (parent != NULL &&
      !UpdateProcThreadAttribute(a->list, 0, PROC_THREAD_ATTRIBUTE_PARENT_PROCESS,
                                 parent, sizeof *parent, NULL, NULL))
    goto refused;
  if (ninherit > 0 &&
      !UpdateProcThreadAttribute(a->list, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
                                 inherit, ninherit * sizeof *inherit, NULL, NULL))
    goto refused;
  /* A system that does not know the attribute refuses it here; the list
   * stays usable without it, and the caller falls back to assigning the job
   * while the process is suspended. */
  if (job != NULL)
    a->job_listed = UpdateProcThreadAttribute(a->list, 0, PROC_THREAD_ATTRIBUTE_JOB_LIST,
                                              job, sizeof *job, NULL, NULL) != 0;
  return 0;

refused:
  a->error = GetLastError();
  /* Never a process without the parent or the handle list it was meant to
   * have: without the list it would inherit whatever else is inheritable
   * in the parent (SECURITY-NOTES T4). */
  sb__attrs_free(a);
  return SB_E_SPAWN_FAILED;
}

void sb__attrs_free(sb__attrs *a) {
  if (a->list == NULL) return;
  DeleteProcThreadAttributeList(a->list);
  free(a->list);
  a->list = NULL;
}
