/*
 * Moving a request's handles into a leased helper, and out again.
 *
 * Pull (the default): each value names a handle in the CLIENT's table. The
 * broker duplicates it from the client into itself (non-inheritable, same
 * access), checks its type, and moves it into the helper as inheritable,
 * closing its own copy in the same call. A value is never looked up in the
 * broker's own table, so a client cannot make the broker pass on anything
 * but the client's own handles.
 *
 * Push: the client has already duplicated its handles into the broker (it
 * could, having full rights over it); each value names a handle in the
 * broker's table. Values the broker owns itself or another request claimed
 * are refused; accepted ones are moved with DUPLICATE_CLOSE_SOURCE, so the
 * broker keeps nothing.
 *
 * Only the kinds of objects it makes sense to hand a child travel: in pull
 * mode files, pipes, consoles and devices, events, semaphores, mutexes and
 * sections; in push mode files, pipes, consoles and devices only. Processes, threads, tokens, jobs, keys and the rest are refused
 * with HandleTypeNotAllowed. Access is always DUPLICATE_SAME_ACCESS: never
 * widened, never taken from the request.
 */
#ifndef SB_BROKER_TRANSFER_H
#define SB_BROKER_TRANSFER_H

#include <stdbool.h>
#include <windows.h>

#include "sb_proto.h"

typedef struct sb__moved {
  HANDLE in_helper[SB_LIMIT_HANDLES]; /* values valid in the helper */
  DWORD file_type[SB_LIMIT_HANDLES];  /* GetFileType, for the CRT fd table */
  size_t n;
} sb__moved;

/* On failure *bad is the index of the handle at fault, and nothing of the
 * request is left in the helper or the broker. */
int sb__transfer_pull(HANDLE client, HANDLE helper, const sb_spawn_params *p,
                      sb__moved *moved, size_t *bad);
int sb__transfer_push(HANDLE helper, const sb_spawn_params *p, sb__moved *moved,
                      size_t *bad);

/* Closes every moved handle inside the helper. Returns 0 only when each one
 * was verifiably closed; otherwise the helper must be retired. */
int sb__transfer_close_in_helper(HANDLE helper, sb__moved *moved);

/* Whether a handle in the broker's own table may be passed to a child:
 * 0, SB_E_HANDLE_TYPE_NOT_ALLOWED, or SB_E_HANDLE_NOT_FOUND when it is not a
 * handle at all. file_only limits it to "File" objects. */
int sb__transfer_check_type(HANDLE local, bool file_only);

#endif
