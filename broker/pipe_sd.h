/*
 * The security descriptor the broker creates its pipe instances with,
 * built for the user the broker runs as (pipe_sddl.h has the layout).
 */
#ifndef SB_BROKER_PIPE_SD_H
#define SB_BROKER_PIPE_SD_H

#include <stddef.h>
#include <windows.h>

#include "settings.h"

/* Builds the descriptor for `clients` (already resolved, never AUTO) into
 * *sd (free it with LocalFree) and its SDDL text into sddl. Returns 0 or a
 * negative code; the reason is logged. */
int sb__pipe_sd_create(sb__clients clients, PSECURITY_DESCRIPTOR *sd, char *sddl, size_t cap);

#endif
