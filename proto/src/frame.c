/*
 * The newline-delimited frame reader (sb_frame.h).
 *
 * Bytes are copied into one buffer until a '\n' ends the frame. The buffer
 * starts small and doubles, but its size is capped at max_frame + 1 (the
 * frame plus the NUL handed out after it), so what a peer sends decides only
 * how far the buffer grows within that cap, never how much we allocate.
 *
 * A '\r' before the '\n' is left in the frame: the JSON grammar treats it as
 * trailing whitespace, so CRLF senders work without a special case here, and
 * the bytes the decoder sees are exactly the bytes that were sent. It counts
 * towards max_frame like any other byte. A line holding only "\r" is therefore
 * a (whitespace-only, unparseable) frame, not an empty line.
 */
#include "sb_frame.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sb_errors.h"

/* First allocation; most requests fit, and it is small enough not to matter
 * for a connection that sends nothing but pings. */
#define SB_FRAME_INITIAL_CAP 256

int sb_frame_reader_init(sb_frame_reader *r, size_t max_frame) {
  if (r == NULL) return SB_E_INVALID_ARGUMENT;
  memset(r, 0, sizeof *r);
  /* max_frame + 1 must not wrap around. */
  if (max_frame < 1 || max_frame >= SIZE_MAX) return SB_E_INVALID_ARGUMENT;
  r->max_frame = max_frame;
  return 0;
}

void sb_frame_reader_free(sb_frame_reader *r) {
  if (r == NULL) return;
  free(r->buf);
  r->buf = NULL;
  r->len = 0;
  r->cap = 0;
}

/* Makes room for `need` bytes, growing geometrically but never past the cap
 * of max_frame + 1. The caller has already checked need <= max_frame + 1. */
static int reserve(sb_frame_reader *r, size_t need) {
  if (need <= r->cap) return 0;
  size_t limit = r->max_frame + 1;
  size_t cap = r->cap ? r->cap : SB_FRAME_INITIAL_CAP;
  while (cap < need) cap = cap > limit / 2 ? limit : cap * 2;
  if (cap > limit) cap = limit;
  char *p = realloc(r->buf, cap);
  if (p == NULL) return SB_E_NOMEM;
  r->buf = p;
  r->cap = cap;
  return 0;
}

int sb_frame_reader_feed(sb_frame_reader *r, const char *data, size_t len,
                         size_t *consumed, const char **frame, size_t *frame_len) {
  if (consumed) *consumed = 0;
  if (frame) *frame = NULL;
  if (frame_len) *frame_len = 0;
  if (r == NULL || consumed == NULL || frame == NULL || frame_len == NULL ||
      (data == NULL && len > 0))
    return SB_E_INVALID_ARGUMENT;
  if (r->failed) return SB_E_FRAME_TOO_LARGE;

  size_t i = 0;
  while (i < len) {
    const char *start = data + i;
    const char *nl = memchr(start, '\n', len - i);
    size_t chunk = nl ? (size_t)(nl - start) : len - i;

    if (chunk > r->max_frame - r->len) {
      /* The frame already passed the limit before its end arrived. There is
       * no way to find the next frame boundary we could trust, so the reader
       * gives up for good and releases its memory at once. */
      r->failed = true;
      free(r->buf);
      r->buf = NULL;
      r->len = 0;
      r->cap = 0;
      *consumed = len;
      return SB_E_FRAME_TOO_LARGE;
    }
    if (chunk > 0) {
      /* Room for the bytes and for the NUL written when the frame completes,
       * so completing a frame never needs to allocate. */
      int rc = reserve(r, r->len + chunk + 1);
      if (rc != 0) {
        *consumed = i;
        return rc;
      }
      memcpy(r->buf + r->len, start, chunk);
      r->len += chunk;
    }
    i += chunk;
    if (nl == NULL) break;
    i++; /* the newline itself */
    if (r->len == 0) continue; /* an empty line: skipped, never reported */

    r->buf[r->len] = '\0';
    *frame = r->buf;
    *frame_len = r->len;
    /* The frame stays readable in buf until the next call, which starts
     * writing the following frame at offset 0. */
    r->len = 0;
    *consumed = i;
    return 0;
  }
  *consumed = i;
  return 0;
}

size_t sb_frame_reader_pending(const sb_frame_reader *r) { return r ? r->len : 0; }
