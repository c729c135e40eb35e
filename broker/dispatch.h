/*
 * Turns one decoded request into its reply. Separate from the transport so
 * the rules of the session (hello first, version negotiation) live in one
 * place.
 */
#ifndef SB_BROKER_DISPATCH_H
#define SB_BROKER_DISPATCH_H

#include <stdbool.h>

#include "server.h"

typedef struct sb__session {
  bool greeted;       /* hello succeeded on this connection */
  uint32_t protocol;  /* the version agreed in hello */
} sb__session;

/* Answers `req` into *reply (one frame). Returns 0, or SB_E_NOMEM when even
 * the reply could not be built. */
int sb__dispatch(sb__server *srv, sb__session *session, const sb_request *req,
                 sb_buf *reply);

#endif
