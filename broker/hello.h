/*
 * The hello request: protocol version, client identity (identity.h),
 * transfer mode, and the per-identity connection limit.
 */
#ifndef SB_BROKER_HELLO_H
#define SB_BROKER_HELLO_H

#include "server.h"

/* Answers a hello on connection c. */
void sb__hello(sb__conn *c, const sb_request *req);

#endif
