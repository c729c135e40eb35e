#include "job.h"

/* Sets a job's limit flags and figures in one call: SetInformationJobObject
 * replaces all of them at once, so the kill-on-close flag cannot be
 * changed without restating the limits. */
static int set_limits(HANDLE job, DWORD flags, const sb_job_limits *limits) {
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;
  ZeroMemory(&info, sizeof info);
  if (limits != NULL) {
    if (limits->memory_bytes) flags |= JOB_OBJECT_LIMIT_JOB_MEMORY;
    if (limits->cpu_time_ms) flags |= JOB_OBJECT_LIMIT_JOB_TIME;
    if (limits->processes) flags |= JOB_OBJECT_LIMIT_ACTIVE_PROCESS;
    info.JobMemoryLimit = (SIZE_T)limits->memory_bytes;
    /* Job time is in 100 ns units. */
    info.BasicLimitInformation.PerJobUserTimeLimit.QuadPart =
        (LONGLONG)limits->cpu_time_ms * 10000;
    info.BasicLimitInformation.ActiveProcessLimit = limits->processes;
  }
  info.BasicLimitInformation.LimitFlags = flags;
  if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &info, sizeof info))
    return SB_E_INTERNAL;
  return 0;
}

/* Unnamed and never inheritable: if any other process held a handle to a
 * kill-on-close job, closing the broker's would no longer kill its
 * processes. Breakaway is allowed, so a process in it can still create
 * children outside it when it asks to, as any process started normally
 * can. */
static int create_job(DWORD flags, const sb_job_limits *limits, HANDLE *out) {
  HANDLE job = CreateJobObjectW(NULL, NULL);
  int rc;
  *out = NULL;
  if (job == NULL) return SB_E_INTERNAL;
  rc = set_limits(job, flags | JOB_OBJECT_LIMIT_BREAKAWAY_OK, limits);
  if (rc != 0) {
    CloseHandle(job);
    return rc;
  }
  *out = job;
  return 0;
}

int sb__job_create_helper_job(HANDLE *out) {
  return create_job(JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, NULL, out);
}

int sb__job_create_child_job(const sb_job_limits *limits, HANDLE *out) {
  return create_job(JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, limits, out);
}

int sb__job_release_child(HANDLE job, const sb_job_limits *limits) {
  return set_limits(job, JOB_OBJECT_LIMIT_BREAKAWAY_OK, limits);
}
