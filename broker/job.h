/*
 * Job objects: the helper job that keeps every helper on a leash, and the
 * per-child jobs that implement a child's lifetime and limits.
 */
#ifndef SB_BROKER_JOB_H
#define SB_BROKER_JOB_H

#include <windows.h>

#include "sb_proto.h"

/* Creates the kill-on-close job that holds every helper. Breakaway is
 * allowed (but not silent), so only children created deliberately with
 * CREATE_BREAKAWAY_FROM_JOB leave it. */
int sb__job_create_helper_job(HANDLE *out);

/* Creates the job a child is placed in for `lifetime` and `limits`, or sets
 * *out to NULL when the child needs none (detached without limits).
 * broker and connection lifetimes are kill-on-close: the child dies when the
 * broker closes the handle (at exit, or when the connection closes). */
int sb__job_create_child_job(sb_lifetime lifetime, const sb_job_limits *limits,
                             HANDLE *out);

#endif
