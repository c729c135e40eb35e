/*
 * Turns one decoded request into its reply. The rules of the session (hello
 * first, version and transfer negotiation, one spawn at a time) live here;
 * spawns run on libuv's worker threads.
 */
#ifndef SB_BROKER_DISPATCH_H
#define SB_BROKER_DISPATCH_H

#include "server.h"

/* Answers *req on connection c. May take the request over for work that
 * outlives this call, clearing req->sb__owned so the caller's free is a
 * no-op. Every request gets exactly one reply, now or later. */
void sb__dispatch(sb__conn *c, sb_request *req);

/* Tops an identity's helper pool up to its warm size on a worker thread. */
void sb__dispatch_fill_pool(sb__ident *e);

/* The stop's drain bound passed (server.c): every spawn still in flight is
 * given up on. One that has not started on a worker thread is cancelled and
 * answered ShuttingDown, as if refused on arrival (its pushed copies are
 * still the client's). One that is running cannot be interrupted: it is
 * answered SpawnFailed now (the broker took it on, so pushed copies are
 * the broker's, and go when its process exits), stops counting as in
 * flight, and whatever it still creates is killed if its done callback
 * ever runs. */
void sb__dispatch_cut_off(sb__server *srv);

/* Encodes and sends a result (an OutOfMemory error if it cannot). */
void sb__dispatch_send_result(sb__conn *c, const sb_id *id, const sb_result *res);

/* The stop's drain bound passed (server.c): every spawn still in flight is
 * given up on. One that has not started on a worker thread is cancelled and
 * answered ShuttingDown, as if refused on arrival (its pushed copies are
 * still the client's). One that is running cannot be interrupted: it is
 * answered SpawnFailed now (the broker took it on, so pushed copies are
 * the broker's, and go when its process exits), stops counting as in
 * flight, and whatever it still creates is killed if its done callback
 * ever runs. */
void sb__dispatch_cut_off(sb__server *srv);

#endif
