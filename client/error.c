/*
 * Error records, and the per-thread "last error" behind
 * sb_client_last_error().
 *
 * The last error is kept per thread rather than per connection because a
 * connection may be shared by threads: a per-connection record would be
 * overwritten (and its strings freed) by another thread's failure while the
 * first thread still reads it. Like GetLastError(), each thread sees the
 * outcome of its own calls. The strings live in fixed buffers inside the
 * thread's record, so nothing has to be freed when a thread exits.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client_internal.h"

#if defined(_MSC_VER)
#define SB__THREAD_LOCAL __declspec(thread)
#else
#define SB__THREAD_LOCAL _Thread_local
#endif

typedef struct sb__thread_error {
  bool set;
  uint64_t owner;
  sb__errrec rec;
} sb__thread_error;

static SB__THREAD_LOCAL sb__thread_error sb__tls;

/* Copies src into dst[cap], cutting at a UTF-8 character boundary so a
 * truncated string is still valid UTF-8. */
static void copy_trunc(char *dst, size_t cap, const char *src) {
  size_t n = strlen(src);
  if (n >= cap) {
    n = cap - 1;
    /* Back off over continuation bytes (10xxxxxx) to the start of the
     * character that did not fit. */
    while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80) n--;
  }
  memcpy(dst, src, n);
  dst[n] = '\0';
}

void sb__errrec_set(sb__errrec *r, const sb_rpc_error *src) {
  /* src may point into r itself (copying a record onto a new owner), so
   * work through a temporary. */
  sb__errrec tmp;
  memset(&tmp, 0, sizeof tmp);
  copy_trunc(tmp.name, sizeof tmp.name, src->name ? src->name : sb_err_name(src->err));
  copy_trunc(tmp.message, sizeof tmp.message,
             src->message ? src->message : sb_err_message(src->err));
  tmp.e.rpc_code = src->rpc_code;
  tmp.e.err = src->err;
  if (src->detail != NULL) copy_trunc(tmp.detail, sizeof tmp.detail, src->detail);
  if (src->path != NULL) copy_trunc(tmp.path, sizeof tmp.path, src->path);
  *r = tmp;
  r->e.name = r->name;
  r->e.message = r->message;
  r->e.detail = src->detail != NULL ? r->detail : NULL;
  r->e.path = src->path != NULL ? r->path : NULL;
}

static void errrec_vlocal(sb__errrec *r, int err, const char *fmt, va_list ap)
    SB__PRINTF(3, 0);
static void errrec_vlocal(sb__errrec *r, int err, const char *fmt, va_list ap) {
  sb_rpc_error e;
  char detail[512];
  memset(&e, 0, sizeof e);
  e.err = err;
  e.rpc_code = sb_err_rpc_code(err);
  e.name = sb_err_name(err);
  e.message = sb_err_message(err);
  if (fmt != NULL) {
    vsnprintf(detail, sizeof detail, fmt, ap);
    e.detail = detail;
  }
  sb__errrec_set(r, &e);
}

void sb__errrec_local(sb__errrec *r, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  errrec_vlocal(r, err, fmt, ap);
  va_end(ap);
}

void sb__last_error_set(uint64_t owner, const sb_rpc_error *e) {
  sb__errrec_set(&sb__tls.rec, e);
  sb__tls.owner = owner;
  sb__tls.set = true;
}

void sb__last_error_local(uint64_t owner, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  errrec_vlocal(&sb__tls.rec, err, fmt, ap);
  va_end(ap);
  sb__tls.owner = owner;
  sb__tls.set = true;
}

void sb__last_error_retag(uint64_t from, uint64_t to) {
  if (sb__tls.set && sb__tls.owner == from) sb__tls.owner = to;
}

const sb_rpc_error *sb_client_last_error(const sb_client *c) {
  uint64_t owner = c != NULL ? c->serial : 0;
  return sb__tls.set && sb__tls.owner == owner ? &sb__tls.rec.e : NULL;
}
