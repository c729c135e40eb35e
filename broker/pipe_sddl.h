/*
 * The security descriptor of the broker's pipe, written as SDDL
 * (docs/security.md, "Pipe"). Only strings: portable, so the exact
 * descriptor for every `clients` value is unit-tested natively; pipe_sd.c
 * turns it into a real descriptor.
 */
#ifndef SB_BROKER_PIPE_SDDL_H
#define SB_BROKER_PIPE_SDDL_H

#include <stdbool.h>
#include <stddef.h>

#include "settings.h"

/* The rights a client gets: FILE_GENERIC_READ | FILE_WRITE_DATA. Never
 * FILE_APPEND_DATA, which on a pipe is the same bit (0x4) as
 * FILE_CREATE_PIPE_INSTANCE: whoever holds it can add server instances of
 * the broker's name and receive other clients' connections. */
#define SB__PIPE_CLIENT_ACCESS "0x12008b"

/* The broker's whole descriptor fits comfortably. */
#define SB__PIPE_SDDL_MAX 512

/*
 * Writes the descriptor into out:
 *   O:<self>G:<self>D:P(D;;FA;;;NU)(D;;FA;;;AN)(A;;FA;;;SY)(A;;FA;;;BA)
 *   (A;;FA;;;<self>) and the clients' entry (A;;0x12008b;;;IU or AU).
 * Deny entries come first because an access check walks the list in order
 * and stops once every asked-for right is granted or one is denied. The
 * list is protected (P): nothing inherited from the pipe namespace is added.
 * self_sid is the broker's own user (text form, S-1-...): the owner, and the
 * server, which needs FILE_CREATE_PIPE_INSTANCE on its own pipe to create
 * the replacement instances; when it is LocalSystem its entry is SY's.
 * clients must be resolved (never SB__CLIENTS_AUTO): owner adds no entry.
 * deny_network leaves out the NETWORK entry when false, for a broker whose
 * own token holds NETWORK (started from a network logon such as ssh), which
 * the entry would lock out of its own pipe.
 * Returns 0, or SB_E_INVALID_ARGUMENT for a bad argument or a short buffer.
 */
int sb__pipe_sddl(sb__clients clients, const char *self_sid, bool deny_network, char *out,
                  size_t cap);

#endif
