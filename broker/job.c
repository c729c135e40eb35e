#include "job.h"

int sb__job_create_helper_job(HANDLE *out) {
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;
  /* Unnamed and never inheritable: if any other process held a handle to
   * this job, closing ours would no longer kill the helpers. */
  HANDLE job = CreateJobObjectW(NULL, NULL);
  if (job == NULL) return SB_E_INTERNAL;
  ZeroMemory(&info, sizeof info);
  info.BasicLimitInformation.LimitFlags =
      JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_BREAKAWAY_OK;
  if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &info,
                               sizeof info)) {
    CloseHandle(job);
    return SB_E_INTERNAL;
  }
  *out = job;
  return 0;
}

int sb__job_create_child_job(sb_lifetime lifetime, const sb_job_limits *limits,
                             HANDLE *out) {
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;
  DWORD flags = 0;
  HANDLE job;

  *out = NULL;
  if (lifetime != SB_LIFETIME_DETACHED) flags |= JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  if (limits->memory_bytes) flags |= JOB_OBJECT_LIMIT_JOB_MEMORY;
  if (limits->cpu_time_ms) flags |= JOB_OBJECT_LIMIT_JOB_TIME;
  if (limits->processes) flags |= JOB_OBJECT_LIMIT_ACTIVE_PROCESS;
  if (flags == 0) return 0;
  /* The child's own children may leave the job only if they ask to, as
   * with any process started normally. */
  flags |= JOB_OBJECT_LIMIT_BREAKAWAY_OK;

  job = CreateJobObjectW(NULL, NULL);
  if (job == NULL) return SB_E_INTERNAL;
  ZeroMemory(&info, sizeof info);
  info.BasicLimitInformation.LimitFlags = flags;
  info.JobMemoryLimit = (SIZE_T)limits->memory_bytes;
  /* Job time is in 100 ns units. */
  info.BasicLimitInformation.PerJobUserTimeLimit.QuadPart =
      (LONGLONG)limits->cpu_time_ms * 10000;
  info.BasicLimitInformation.ActiveProcessLimit = limits->processes;
  if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &info,
                               sizeof info)) {
    CloseHandle(job);
    return SB_E_INTERNAL;
  }
  *out = job;
  return 0;
}
