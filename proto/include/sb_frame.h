/*
 * Newline-delimited framing.
 *
 * Each message is one line: a compact JSON value followed by '\n'. The reader
 * accepts bytes in any chunking and hands out whole frames. Its buffer grows
 * geometrically up to the configured maximum frame size and never beyond, so
 * no allocation is ever sized from anything the peer sent.
 */
#ifndef SB_FRAME_H
#define SB_FRAME_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sb_frame_reader {
  char *buf;         /* bytes of the frame being assembled */
  size_t len;        /* bytes in buf */
  size_t cap;        /* allocated size of buf */
  size_t max_frame;  /* largest frame accepted, without its newline */
  bool failed;       /* a frame was too large; the stream is unusable */
} sb_frame_reader;

/* Prepares a reader that accepts frames of at most max_frame bytes (not
 * counting the newline). max_frame must be at least 1. Allocates nothing yet. */
int sb_frame_reader_init(sb_frame_reader *r, size_t max_frame);

/* Releases the buffer. The reader may be initialised again afterwards. */
void sb_frame_reader_free(sb_frame_reader *r);

/*
 * Consumes bytes from data[0..len) until one frame is complete or the input
 * is used up. Sets *consumed to the bytes taken. When a frame completed, sets
 * *frame and *frame_len to it (without the newline, NUL-terminated, valid
 * until the next call); otherwise sets *frame to NULL. Empty lines are
 * skipped and never reported. Call it in a loop until all input is consumed.
 *
 * Returns 0, SB_E_FRAME_TOO_LARGE once a frame passes max_frame bytes (the
 * reader then stays failed: the byte stream has no trustworthy frame
 * boundary any more), or SB_E_NOMEM.
 */
int sb_frame_reader_feed(sb_frame_reader *r, const char *data, size_t len,
                         size_t *consumed, const char **frame, size_t *frame_len);

/* Bytes of an incomplete frame currently buffered. */
size_t sb_frame_reader_pending(const sb_frame_reader *r);

#endif
