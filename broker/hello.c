/*
 * hello: the protocol version, who the client is, how its handles travel,
 * and the per-identity connection limit.
 */
#include "hello.h"

#include <stdio.h>
#include <string.h>

#include "dispatch.h"
#include "idents.h"
#include "log.h"
#include "registry.h"

/* Settles who the client is and how its handles will travel. Pull needs the
 * client process opened for PROCESS_DUP_HANDLE; when that is refused (an
 * elevated client and an unelevated broker) "auto" falls back to push. */
static int identify_client(sb__conn *c, const sb_hello_params *p, char *detail, size_t cap) {
  sb__session *s = &c->session;
  const sb__broker_config *cfg = &c->srv->cfg;
  sb_transfer mode = cfg->s.transfer != SB_TRANSFER_AUTO ? cfg->s.transfer : p->transfer;
  HANDLE process = NULL;
  ULONG pid = 0;
  int rc;

  if (cfg->s.transfer != SB_TRANSFER_AUTO && p->transfer != SB_TRANSFER_AUTO &&
      p->transfer != cfg->s.transfer) {
    snprintf(detail, cap, "this broker uses %s transfer only", sb_transfer_name(cfg->s.transfer));
    return SB_E_TRANSFER_UNAVAILABLE;
  }
  /* The pid only says which process to open for pull transfer; who the
   * client is comes from its token below. */
  if (!GetNamedPipeClientProcessId(c->pipe.handle, &pid)) {
    snprintf(detail, cap, "the client's process id is unknown");
    return SB_E_ACCESS_DENIED;
  }
  rc = sb__identity_from_pipe(c->pipe.handle, cfg->service, mode == SB_TRANSFER_PUSH ? 0 : pid,
                              &s->connected_at, &s->identity,
                              mode == SB_TRANSFER_PUSH ? NULL : &process, detail, cap);
  if (rc != 0) return rc;
  /* A console broker runs as one user and creates children with its own
   * token: serving anyone else would give them its rights. */
  if (!cfg->service && !s->identity.same_user) {
    snprintf(detail, cap, "this broker runs in console mode as %s and serves only that user",
             sb__identity_self_sid());
    rc = SB_E_ACCESS_DENIED;
    goto fail;
  }
  if (mode != SB_TRANSFER_PUSH && process == NULL) {
    if (mode == SB_TRANSFER_PULL) {
      snprintf(detail, cap, "the broker cannot open the client for pull transfer");
      rc = SB_E_TRANSFER_UNAVAILABLE;
      goto fail;
    }
    mode = SB_TRANSFER_PUSH;
  }
  if (mode == SB_TRANSFER_AUTO) mode = SB_TRANSFER_PULL;
#ifdef SB_TEST_HOOKS
  /* Test builds can tell clients of one user apart by the name they give in
   * hello, so tests can show that helpers never cross identities although
   * Wine offers only one user. */
  if (cfg->test_identity_by_client) {
    size_t len = strlen(s->identity.key);
    snprintf(s->identity.key + len, sizeof s->identity.key - len, "/test:%s",
             p->client != NULL ? p->client : "");
  }
#endif
  s->client_pid = pid;
  s->transfer = mode;
  snprintf(s->owner, sizeof s->owner, "%s", s->identity.user_sid);
  if (process != NULL) {
    s->client_process = process;
    sb__registry_own(process);
  }
  return 0;

fail:
  if (process != NULL) CloseHandle(process);
  sb__identity_free(&s->identity);
  return rc;
}

/* Counts the connection for its identity, within
 * limits.connections_per_identity. */
static int attach_identity(sb__conn *c, char *detail, size_t cap) {
  sb__session *s = &c->session;
  sb__server *srv = c->srv;
  sb__ident *e;
  int rc = sb__idents_attach(srv, &s->identity, &e);
  if (rc != 0) return rc;
  if (e->connections > srv->cfg.s.max_connections_per_identity) {
    sb__idents_detach(e);
    srv->stats.limit_connections_per_identity++;
    sb__log(SB_LOG_WARN, "limits.connections_per_identity (%u) reached for %s",
            (unsigned)srv->cfg.s.max_connections_per_identity, s->identity.user_sid);
    snprintf(detail, cap, "limits.connections_per_identity: %u connections of this identity "
             "are open already", (unsigned)srv->cfg.s.max_connections_per_identity);
    return SB_E_LIMIT_REACHED;
  }
  s->ident = e;
  return 0;
}

/* Forgets what identify_client set up, for a hello that is refused after
 * it. */
static void forget_client(sb__session *s) {
  if (s->client_process != NULL) {
    /* Closed first, then disowned (registry.h says why). */
    CloseHandle(s->client_process);
    sb__registry_disown(s->client_process);
    s->client_process = NULL;
  }
  sb__identity_free(&s->identity);
}

void sb__hello(sb__conn *c, const sb_request *req) {
  const sb_hello_params *p = &req->params.hello;
  sb__session *s = &c->session;
  const sb__settings *cfg = &c->srv->cfg.s;
  sb_result res;
  char detail[256];
  int rc;

  if (s->greeted) {
    sb__conn_send_error(c, &req->id, SB_E_ALREADY_GREETED, NULL, NULL);
    return;
  }
  if (p->protocol < SB_PROTOCOL_VERSION_MIN || p->protocol > SB_PROTOCOL_VERSION_MAX) {
    snprintf(detail, sizeof detail, "this broker speaks protocol %d to %d",
             SB_PROTOCOL_VERSION_MIN, SB_PROTOCOL_VERSION_MAX);
    sb__conn_send_error(c, &req->id, SB_E_UNSUPPORTED_PROTOCOL, detail, "params.protocol");
    return;
  }
  detail[0] = '\0';
  rc = identify_client(c, p, detail, sizeof detail);
  /* A refused hello leaves the connection open but not greeted: the client
   * may try again (after another connection of its identity closed, say),
   * and every other request gets HelloRequired meanwhile. */
  if (rc == 0) {
    rc = attach_identity(c, detail, sizeof detail);
    if (rc != 0) forget_client(s);
  }
  if (rc != 0) {
    sb__conn_send_error(c, &req->id, rc, detail, NULL);
    return;
  }
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_HELLO;
  res.u.hello.protocol = p->protocol;
  res.u.hello.broker_version = SB_VERSION;
  res.u.hello.pid = (uint32_t)GetCurrentProcessId();
  res.u.hello.transfer = s->transfer;
  res.u.hello.max_frame_bytes = cfg->max_frame_bytes;
  res.u.hello.max_handles = cfg->max_handles;
  res.u.hello.max_args = SB_LIMIT_ARGS;
  res.u.hello.max_env = SB_LIMIT_ENV;
  s->greeted = true;
  s->protocol = p->protocol;
  sb__log(SB_LOG_DEBUG, "hello from pid %lu as %s (%s transfer)", s->client_pid,
          s->identity.key, sb_transfer_name(s->transfer));
  sb__dispatch_send_result(c, &req->id, &res);
  /* The identity's first spawn should find a warm helper. */
  sb__dispatch_fill_pool(s->ident);
}
