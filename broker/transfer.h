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
 * broker keeps nothing. Once the broker takes a push request on, the pushed
 * copies are its own to close on every path, success or failure, whatever
 * step refuses the request (docs/protocol.md, "Handles"): the request claims
 * its values first (sb__transfer_push_claim) and gives back what is still
 * claimed at the end (sb__transfer_push_release).
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
  /* GetFileType, for the CRT fd table; only read (FILE_TYPE_UNKNOWN
   * otherwise) when the request gives some handle an fd, because
   * GetFileType on a pipe blocks while another thread of the client has a
   * synchronous read pending on it. */
  DWORD file_type[SB_LIMIT_HANDLES];
  size_t n;
} sb__moved;

/* The pushed values one request holds claimed in the registry. */
typedef struct sb__push_claim {
  bool held[SB_LIMIT_HANDLES];
} sb__push_claim;

/* On failure *bad is the index of the handle at fault, and nothing of the
 * request is left in the helper or the broker. */
int sb__transfer_pull(HANDLE client, HANDLE helper, const sb_spawn_params *p,
                      sb__moved *moved, size_t *bad);

/* Claims every pushed value of p for this request. A value the broker owns
 * or another request holds is refused (the first such is the error and
 * *bad); every other value is claimed even then, so that the release closes
 * it. Call sb__transfer_push_release afterwards whatever this returns. */
int sb__transfer_push_claim(const sb_spawn_params *p, sb__push_claim *claim, size_t *bad);
/* Moves the claimed values into the helper. */
int sb__transfer_push(HANDLE helper, const sb_spawn_params *p, sb__push_claim *claim,
                      sb__moved *moved, size_t *bad);
/* Ends the request's claim. Values still held were pushed by the client
 * and never moved: they are closed, except those not of a kind that may be
 * passed, which may be handles of the broker's own that nothing registered
 * (libuv's completion port, say) and are left alone. */
void sb__transfer_push_release(const sb_spawn_params *p, sb__push_claim *claim);
/* The whole claim and release for a push request the broker refuses before
 * any spawn work (out of memory, no worker thread). */
void sb__transfer_push_discard(const sb_spawn_params *p);

/* Closes every moved handle inside the helper. Returns 0 only when each one
 * was verifiably closed; otherwise the helper must be retired. */
int sb__transfer_close_in_helper(HANDLE helper, sb__moved *moved);

/* Whether a handle in the broker's own table may be passed to a child:
 * 0, SB_E_HANDLE_TYPE_NOT_ALLOWED, or SB_E_HANDLE_NOT_FOUND when it is not a
 * handle at all. file_only limits it to "File" objects. */
int sb__transfer_check_type(HANDLE local, bool file_only);

#endif
