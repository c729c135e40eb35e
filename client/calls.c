/*
 * The typed calls of the client library (all but spawn, which has its own
 * file), and call_raw.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

/* The argument checks every entry point shares; records the failure. */
static int bad_argument(const sb_client *c, const char *what) {
  sb__last_error_local(c != NULL ? c->serial : 0, SB_E_INVALID_ARGUMENT, "%s", what);
  return SB_E_INVALID_ARGUMENT;
}

int sb__encode(sb_client *c, const sb_request *req, sb_buf *out) {
  sb_decode_error d;
  sb_rpc_error e;
  int rc = sb_encode_request(req, out, &d);
  /* A broker may take smaller frames than the protocol's most
   * (limits.frame_bytes) and closes a connection that sends a longer one;
   * hello said how much (0 before hello), so such a request stays here. */
  if (rc == 0 && c->hello.max_frame_bytes != 0 && out->len - 1 > c->hello.max_frame_bytes) {
    sb_rpc_error big;
    char detail[160];
    memset(&big, 0, sizeof big);
    big.err = SB_E_FRAME_TOO_LARGE;
    big.rpc_code = sb_err_rpc_code(big.err);
    big.name = sb_err_name(big.err);
    big.message = sb_err_message(big.err);
    snprintf(detail, sizeof detail,
             "the request is %lu bytes; the broker takes at most %lu (hello.max_frame_bytes)",
             (unsigned long)(out->len - 1), (unsigned long)c->hello.max_frame_bytes);
    big.detail = detail;
    sb__last_error_set(c->serial, &big);
    sb_buf_free(out);
    return big.err;
  }
  if (rc == 0) return 0;
  /* The encoder runs the broker's own validation: what it refuses, the
   * broker would refuse with the same error, path and detail, so the
   * caller sees the same description either way. */
  memset(&e, 0, sizeof e);
  e.err = rc;
  e.rpc_code = sb_err_rpc_code(rc);
  e.name = sb_err_name(rc);
  e.message = sb_err_message(rc);
  e.path = d.path[0] != '\0' ? d.path : NULL;
  e.detail = d.detail[0] != '\0' ? d.detail
             : rc == SB_E_NOMEM   ? "no memory to encode the request"
                                  : "the library did not send the request";
  sb__last_error_set(c->serial, &e);
  return rc;
}

int sb__request(sb_client *c, sb_request *req, const sb__deadline *dl, sb_result *res,
                sb__pending *p) {
  sb_buf buf = {0};
  int rc;

  memset(res, 0, sizeof *res);
  sb__pending_init(p, sb__next_id(c));
  p->spawn = req->method == SB_METHOD_SPAWN;
  sb_id_set_number(&req->id, p->id);
  rc = sb__encode(c, req, &buf);
  if (rc != 0) return rc;
  rc = sb__roundtrip(c, p, buf.data, buf.len, dl);
  sb_buf_free(&buf);
  if (rc != 0) return rc;
  rc = sb_decode_result(&p->in, req->method, res);
  if (rc != 0) {
    rc = rc == SB_E_NOMEM ? rc : SB_E_BAD_REPLY;
    sb__last_error_local(c->serial, rc, "the %s result does not have the documented shape",
                         sb_method_name(req->method));
  }
  return rc;
}

/* Runs req with the connection's call timeout plus `extra` ms. */
static int simple_call(sb_client *c, sb_request *req, uint32_t extra, sb_result *res,
                       sb__pending *p) {
  sb__deadline dl = sb__deadline_in(sb__add_timeouts(sb__call_timeout(c), extra));
  return sb__request(c, req, &dl, res, p);
}

int sb_client_wait(sb_client *c, uint32_t pid, uint32_t timeout_ms, sb_exit_info *out) {
  sb_request req;
  sb_result res;
  sb__pending p;
  int rc;
  if (c == NULL || out == NULL) return bad_argument(c, "sb_client_wait needs a client and out");
  sb_request_init(&req, SB_METHOD_WAIT, 0);
  req.params.wait.pid = pid;
  req.params.wait.timeout_ms = timeout_ms == SB_CLIENT_INFINITE ? -1 : (int64_t)timeout_ms;
  /* The broker answers Timeout when its wait passes; the client waits that
   * long plus the usual reply time before it gives up on the answer. */
  rc = simple_call(c, &req, timeout_ms, &res, &p);
  if (rc == 0) *out = res.u.wait;
  sb_result_free(&res);
  sb__pending_free(&p);
  return rc;
}

int sb_client_kill(sb_client *c, uint32_t pid, uint32_t exit_code, sb_kill_result *out) {
  sb_request req;
  sb_result res;
  sb__pending p;
  int rc;
  if (c == NULL) return bad_argument(c, "sb_client_kill needs a client");
  sb_request_init(&req, SB_METHOD_KILL, 0);
  req.params.kill.pid = pid;
  req.params.kill.exit_code = exit_code;
  rc = simple_call(c, &req, 0, &res, &p);
  if (rc == 0 && out != NULL) *out = res.u.kill;
  sb_result_free(&res);
  sb__pending_free(&p);
  return rc;
}

int sb_client_list(sb_client *c, sb_list_result *out) {
  sb_request req;
  sb_result res;
  sb__pending p;
  int rc;
  if (c == NULL || out == NULL) return bad_argument(c, "sb_client_list needs a client and out");
  memset(out, 0, sizeof *out);
  sb_request_init(&req, SB_METHOD_LIST, 0);
  rc = simple_call(c, &req, 0, &res, &p);
  if (rc == 0) {
    /* One block: the array, then the program strings it points to, so the
     * result outlives the parsed reply and frees with one call. */
    const sb_list_result *l = &res.u.list;
    size_t bytes = l->nchildren * sizeof *l->children + 1;
    char *strings;
    for (size_t i = 0; i < l->nchildren; i++) bytes += strlen(l->children[i].program) + 1;
    out->children = malloc(bytes);
    if (out->children == NULL) {
      rc = SB_E_NOMEM;
      sb__last_error_local(c->serial, rc, "no memory for the list of %zu children",
                           l->nchildren);
    } else {
      strings = (char *)(out->children + l->nchildren);
      for (size_t i = 0; i < l->nchildren; i++) {
        size_t n = strlen(l->children[i].program) + 1;
        out->children[i] = l->children[i];
        memcpy(strings, l->children[i].program, n);
        out->children[i].program = strings;
        strings += n;
      }
      out->nchildren = l->nchildren;
    }
  }
  sb_result_free(&res);
  sb__pending_free(&p);
  return rc;
}

void sb_client_list_free(sb_list_result *l) {
  if (l == NULL) return;
  free(l->children);
  l->children = NULL;
  l->nchildren = 0;
}

int sb_client_stats(sb_client *c, sb_stats_result *out) {
  sb_request req;
  sb_result res;
  sb__pending p;
  int rc;
  if (c == NULL || out == NULL) return bad_argument(c, "sb_client_stats needs a client and out");
  sb_request_init(&req, SB_METHOD_STATS, 0);
  rc = simple_call(c, &req, 0, &res, &p);
  if (rc == 0) *out = res.u.stats;
  sb_result_free(&res);
  sb__pending_free(&p);
  return rc;
}

int sb_client_ping(sb_client *c) {
  sb_request req;
  sb_result res;
  sb__pending p;
  int rc;
  if (c == NULL) return bad_argument(c, "sb_client_ping needs a client");
  sb_request_init(&req, SB_METHOD_PING, 0);
  rc = simple_call(c, &req, 0, &res, &p);
  sb_result_free(&res);
  sb__pending_free(&p);
  return rc;
}

int sb_client_next_event(sb_client *c, uint32_t timeout_ms, sb_exit_info *out) {
  sb__deadline dl;
  if (c == NULL || out == NULL)
    return bad_argument(c, "sb_client_next_event needs a client and out");
  dl = sb__deadline_in(timeout_ms);
  return sb__next_event(c, &dl, out);
}

/* ------------------------------------------------------------------------ */
/* call_raw                                                                 */

/* Appends s as a JSON string (quoted and escaped) to out. */
static size_t put_json_string(char *out, const char *s) {
  size_t n = 0;
  out[n++] = '"';
  for (; *s != '\0'; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') {
      out[n++] = '\\';
      out[n++] = (char)ch;
    } else if (ch < 0x20) {
      n += (size_t)sprintf(out + n, "\\u%04x", ch);
    } else {
      out[n++] = (char)ch;
    }
  }
  out[n++] = '"';
  return n;
}

/* Copies params to out with raw line breaks outside strings turned into
 * spaces (JSON whitespace either way, but a raw \n would end the frame).
 * Inside a string a raw line break is invalid JSON and cannot be sent as
 * part of one frame, so it is refused. */
static int put_params(char *out, const char *params, size_t *n) {
  bool in_string = false, escaped = false;
  size_t k = 0;
  for (const char *s = params; *s != '\0'; s++) {
    char ch = *s;
    if (in_string) {
      if (ch == '\n' || ch == '\r') return SB_E_INVALID_ARGUMENT;
      if (escaped)
        escaped = false;
      else if (ch == '\\')
        escaped = true;
      else if (ch == '"')
        in_string = false;
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '\n' || ch == '\r') {
      ch = ' ';
    }
    out[k++] = ch;
  }
  *n = k;
  return 0;
}

int sb_client_call_raw(sb_client *c, const char *method, const char *params_json,
                       char **reply_json) {
  sb__pending p;
  sb__deadline dl;
  char *frame;
  size_t len, cap;
  int rc;

  if (reply_json != NULL) *reply_json = NULL;
  if (c == NULL || method == NULL || reply_json == NULL)
    return bad_argument(c, "sb_client_call_raw needs a client, a method and reply_json");
  /* Escaping makes a string at most 6 times longer (\u00XX). */
  cap = 64 + 6 * strlen(method) + (params_json != NULL ? strlen(params_json) : 0) + 16;
  frame = malloc(cap);
  if (frame == NULL) {
    sb__last_error_local(c->serial, SB_E_NOMEM, "no memory for the request");
    return SB_E_NOMEM;
  }
  sb__pending_init(&p, sb__next_id(c));
  p.want_raw = true;
  len = (size_t)sprintf(frame, "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":",
                        (unsigned long long)p.id);
  len += put_json_string(frame + len, method);
  if (params_json != NULL) {
    size_t n = 0;
    len += (size_t)sprintf(frame + len, ",\"params\":");
    if (put_params(frame + len, params_json, &n) != 0) {
      free(frame);
      return bad_argument(c, "params_json has a line break inside a string");
    }
    len += n;
  }
  frame[len++] = '}';
  frame[len++] = '\n';
  dl = sb__deadline_in(sb__call_timeout(c));
  rc = sb__roundtrip(c, &p, frame, len, &dl);
  free(frame);
  *reply_json = p.raw;
  p.raw = NULL;
  sb__pending_free(&p);
  return rc;
}

void sb_client_free(void *p) { free(p); }
