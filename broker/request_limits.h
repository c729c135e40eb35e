/*
 * The broker's limits on the shape of one spawn request, from its settings:
 * what a request may ask for whoever sends it and whatever is running. The
 * decoder enforces the protocol's own limits (sb_limits.h) first; these are
 * the operator's, at most as large. Limits that depend on what an identity
 * has running stay in dispatch.c.
 */
#ifndef SB_BROKER_REQUEST_LIMITS_H
#define SB_BROKER_REQUEST_LIMITS_H

#include <stddef.h>

#include "sb_proto.h"
#include "settings.h"

/* 0, or SB_E_TOO_MANY_HANDLES (limits.handles_per_request) with a sentence
 * for error.data.detail in detail[0..cap). */
int sb__request_limits_check(const sb_spawn_params *p, const sb__settings *s, char *detail,
                             size_t cap);

#endif
