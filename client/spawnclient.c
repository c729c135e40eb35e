/*
 * Connecting, greeting and closing: the life cycle of an sb_client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

void sb_client_options_init(sb_client_options *o) {
  memset(o, 0, sizeof *o);
  o->client_name = "spawnclient/" SB_VERSION;
  o->transfer = SB_TRANSFER_AUTO;
  o->call_timeout_ms = SB_CLIENT_INFINITE;
}

/* Sends hello and keeps its result. */
static int greet(sb_client *c, const sb_client_options *o, const sb__deadline *dl) {
  sb_request req;
  sb_result res;
  sb__pending p;
  const sb_hello_result *h;
  int rc;

  sb_request_init(&req, SB_METHOD_HELLO, 0);
  req.params.hello.protocol = SB_PROTOCOL_VERSION;
  req.params.hello.client = o->client_name;
  req.params.hello.transfer = o->transfer;
  rc = sb__request(c, &req, dl, &res, &p);
  if (rc != 0) goto done;
  h = &res.u.hello;
  if (h->protocol < SB_PROTOCOL_VERSION_MIN || h->protocol > SB_PROTOCOL_VERSION_MAX ||
      (h->transfer != SB_TRANSFER_PULL && h->transfer != SB_TRANSFER_PUSH)) {
    rc = SB_E_BAD_REPLY;
    sb__last_error_local(c->serial, rc,
                         "the broker answered hello with protocol %lu and a transfer mode "
                         "this library cannot use",
                         (unsigned long)h->protocol);
    goto done;
  }
  /* A mode asked for by name is a condition of the connection (the broker
   * refuses one it cannot use): never quietly run in the other. */
  if (o->transfer != SB_TRANSFER_AUTO && h->transfer != o->transfer) {
    rc = SB_E_BAD_REPLY;
    sb__last_error_local(c->serial, rc, "asked for %s transfer, the broker answered %s",
                         sb_transfer_name(o->transfer), sb_transfer_name(h->transfer));
    goto done;
  }
  c->hello = *h;
  snprintf(c->broker_version, sizeof c->broker_version, "%s",
           h->broker_version != NULL ? h->broker_version : "");
  c->hello.broker_version = c->broker_version;
done:
  sb_result_free(&res);
  sb__pending_free(&p);
  return rc;
}

int sb_client_connect_ex(const char *pipe_name, uint32_t timeout_ms,
                         const sb_client_options *o, sb_client **out) {
  static volatile LONG64 serials;
  sb_client_options defaults;
  unsigned char pinned[SECURITY_MAX_SID_SIZE];
  sb__deadline dl = sb__deadline_in(timeout_ms);
  sb_client *c;
  int rc;

  if (out == NULL) {
    sb__last_error_local(0, SB_E_INVALID_ARGUMENT, "sb_client_connect needs out");
    return SB_E_INVALID_ARGUMENT;
  }
  *out = NULL;
  if (o == NULL) {
    sb_client_options_init(&defaults);
    o = &defaults;
  }
  c = calloc(1, sizeof *c);
  if (c == NULL) {
    sb__last_error_local(0, SB_E_NOMEM, "no memory for a connection");
    return SB_E_NOMEM;
  }
  /* Serials start at 1: 0 tags the errors of connects that failed. */
  c->serial = (uint64_t)InterlockedIncrement64(&serials);
  c->pipe = INVALID_HANDLE_VALUE;
  c->call_timeout_ms = o->call_timeout_ms;
  rc = sb__engine_init(c);
  if (rc != 0) {
    sb__last_error_local(c->serial, rc, "cannot set up the connection");
    goto fail;
  }
  rc = sb__pipe_full_name(pipe_name, c->pipe_name, sizeof c->pipe_name);
  if (rc != 0) {
    sb__last_error_local(c->serial, rc, "the pipe name is empty or too long");
    goto fail;
  }
  if (o->server_sid != NULL && sb__server_sid_parse(o->server_sid, pinned, sizeof pinned) != 0) {
    rc = SB_E_INVALID_ARGUMENT;
    sb__last_error_local(c->serial, rc, "sb_client_options.server_sid \"%s\" is not a SID",
                         o->server_sid);
    goto fail;
  }
  rc = sb__pipe_open(c->serial, c->pipe_name, &dl, &c->pipe);
  if (rc != 0) goto fail;
  /* The server is checked before the first byte goes out when the caller
   * named its user or asked for push: hello's answer would not make it any
   * more trustworthy (spawnclient.h, server_sid). */
  if (o->server_sid != NULL || o->transfer == SB_TRANSFER_PUSH) {
    rc = sb__server_check(c, o->server_sid != NULL ? pinned : NULL);
    if (rc != 0) goto fail;
  }
  rc = greet(c, o, &dl);
  if (rc != 0) goto fail;
  if (c->hello.transfer == SB_TRANSFER_PUSH) {
    /* The broker offered push: handles will go to it, so it is checked
     * before any is pushed. */
    if (c->server_pid == 0) rc = sb__server_check(c, NULL);
    if (rc == 0) rc = sb__push_prepare(c);
    if (rc != 0) goto fail;
  }
  *out = c;
  return 0;
fail:
  sb__last_error_retag(c->serial, 0);
  sb_client_close(c);
  return rc;
}

int sb_client_connect(const char *pipe_name, uint32_t timeout_ms, sb_client **out) {
  return sb_client_connect_ex(pipe_name, timeout_ms, NULL, out);
}

void sb_client_close(sb_client *c) {
  if (c == NULL) return;
  sb__engine_free(c);
  if (c->pipe != INVALID_HANDLE_VALUE) CloseHandle(c->pipe);
  if (c->broker_process != NULL) CloseHandle(c->broker_process);
  free(c);
}

const sb_hello_result *sb_client_hello_result(const sb_client *c) {
  return c != NULL ? &c->hello : NULL;
}

const char *sb_client_pipe_name(const sb_client *c) { return c != NULL ? c->pipe_name : NULL; }

uint32_t sb__call_timeout(sb_client *c) {
  uint32_t ms;
  EnterCriticalSection(&c->lock);
  ms = c->call_timeout_ms;
  LeaveCriticalSection(&c->lock);
  return ms;
}

void sb_client_set_call_timeout(sb_client *c, uint32_t call_timeout_ms) {
  if (c == NULL) return;
  EnterCriticalSection(&c->lock);
  c->call_timeout_ms = call_timeout_ms;
  LeaveCriticalSection(&c->lock);
}
