/*
 * libFuzzer target: bytes -> frames -> validated request.
 *
 * The input goes through the same path as bytes read from a client pipe: the
 * frame reader (fed in chunks whose sizes the input's first byte chooses, so
 * chunking is fuzzed too), then the strict request decoder. Beyond "no crash,
 * no leak, no undefined behaviour" it checks two invariants and traps when
 * either breaks:
 *  - a request the decoder accepted re-encodes, and the encoding decodes
 *    again (the client and the broker agree on what is valid);
 *  - a request the decoder refused yields an error reply that is itself a
 *    valid frame the client library can decode, with the same error name.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sb_frame.h"
#include "sb_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_accepted(const sb_request *req) {
  sb_buf buf = {0};
  sb_request again;
  if (sb_encode_request(req, &buf, NULL) != 0) __builtin_trap();
  if (buf.len == 0 || buf.data[buf.len - 1] != '\n') __builtin_trap();
  if (memchr(buf.data, '\n', buf.len - 1) != NULL) __builtin_trap();
  if (sb_decode_request(buf.data, buf.len - 1, &again, NULL) != 0) __builtin_trap();
  if (again.method != req->method) __builtin_trap();
  if (!sb_id_equal(&again.id, &req->id)) __builtin_trap();
  sb_request_free(&again);
  sb_buf_free(&buf);
}

static void check_refused(const sb_decode_error *derr) {
  sb_buf buf = {0};
  sb_incoming in;
  if (sb_encode_error(&derr->id, derr->err, derr->detail, derr->path, &buf) != 0)
    __builtin_trap();
  if (sb_decode_incoming(buf.data, buf.len - 1, &in) != 0) __builtin_trap();
  if (in.kind != SB_INCOMING_ERROR) __builtin_trap();
  if (in.error.err != derr->err) __builtin_trap();
  sb_incoming_free(&in);
  sb_buf_free(&buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sb_frame_reader reader;
  size_t chunk = 1;
  if (size > 0) {
    chunk = (size_t)data[0] % 17 + 1;
    data++;
    size--;
  }
  /* A small frame limit makes the oversize path reachable by the fuzzer. */
  if (sb_frame_reader_init(&reader, 4096) != 0) return 0;
  while (size > 0) {
    size_t n = size < chunk ? size : chunk;
    const char *p = (const char *)data;
    size_t left = n;
    while (left > 0) {
      size_t used = 0, flen = 0;
      const char *frame = NULL;
      if (sb_frame_reader_feed(&reader, p, left, &used, &frame, &flen) != 0) goto done;
      p += used;
      left -= used;
      if (frame != NULL) {
        sb_request req;
        sb_decode_error derr;
        if (sb_decode_request(frame, flen, &req, &derr) == 0) {
          check_accepted(&req);
          sb_request_free(&req);
        } else {
          check_refused(&derr);
        }
      }
    }
    data += n;
    size -= n;
  }
done:
  sb_frame_reader_free(&reader);
  return 0;
}
