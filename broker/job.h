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

/* Creates the job a child is created in, with the request's limits. Every
 * child gets one, and it starts kill-on-close whatever the lifetime: a
 * broker that dies while the child is being made (suspended, not yet
 * resumed) takes the half-made child with it. broker and connection
 * children stay so: they die when the broker closes the job (at exit, or
 * when the connection closes). */
int sb__job_create_child_job(const sb_job_limits *limits, HANDLE *out);

/* For a detached child that is running: the job keeps the limits but no
 * longer kills the child when the broker closes it. */
int sb__job_release_child(HANDLE job, const sb_job_limits *limits);

#endif
