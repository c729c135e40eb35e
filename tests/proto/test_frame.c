/*
 * The newline frame reader: chunking, limits, empty lines, CRLF and the
 * memory bound.
 */
#include "sb_errors.h"
#include "sb_frame.h"
#include "sb_limits.h"
#include "sb_test.h"

#define MAX_FRAMES 16

/* The frames a reader produced from some input, copied out. */
typedef struct collected {
  char *frames[MAX_FRAMES];
  size_t lens[MAX_FRAMES];
  size_t n;
  int rc;            /* the first non-zero return, or 0 */
  size_t max_cap;    /* the largest r.cap seen */
} collected;

static void collected_free(collected *c) {
  for (size_t i = 0; i < c->n; i++) free(c->frames[i]);
  memset(c, 0, sizeof *c);
}

/* Feeds data[0..len) in a loop as a caller would, recording every frame. */
static void feed_all(sb_frame_reader *r, const char *data, size_t len, collected *c) {
  size_t off = 0;
  while (off < len && c->rc == 0) {
    size_t consumed = 0, flen = 0;
    const char *frame = NULL;
    int rc = sb_frame_reader_feed(r, data + off, len - off, &consumed, &frame, &flen);
    if (r->cap > c->max_cap) c->max_cap = r->cap;
    if (rc != 0) {
      c->rc = rc;
      return;
    }
    if (consumed == 0 && frame == NULL) {
      c->rc = -1000; /* no progress: would loop forever */
      return;
    }
    off += consumed;
    if (frame != NULL) {
      if (frame[flen] != '\0') c->rc = -1001; /* not NUL-terminated */
      if (c->n < MAX_FRAMES) {
        c->frames[c->n] = malloc(flen + 1);
        if (c->frames[c->n] == NULL) {
          c->rc = -1002;
          return;
        }
        memcpy(c->frames[c->n], frame, flen + 1);
        c->lens[c->n] = flen;
      }
      c->n++;
    }
  }
}

/* Three frames, empty lines around them, a CRLF one, and an unfinished tail. */
static const char multi[] = "\n{\"a\":1}\n\n\n{\"b\":[2,3]}\r\nxyz\n\n\ntail";
static const char *const multi_frames[] = {"{\"a\":1}", "{\"b\":[2,3]}\r", "xyz"};
#define MULTI_LEN (sizeof multi - 1)

static int check_multi(const collected *c, const sb_frame_reader *r) {
  int ok = c->rc == 0 && c->n == 3 && sb_frame_reader_pending(r) == 4;
  for (size_t i = 0; ok && i < 3; i++)
    ok = c->lens[i] == strlen(multi_frames[i]) && strcmp(c->frames[i], multi_frames[i]) == 0;
  return ok;
}

SB_TEST(whole_input_in_one_chunk) {
  sb_frame_reader r;
  REQUIRE(sb_frame_reader_init(&r, 64) == 0);
  collected c = {0};
  feed_all(&r, multi, MULTI_LEN, &c);
  CHECK_INT(c.rc, 0);
  REQUIRE(c.n == 3);
  CHECK_STR(c.frames[0], "{\"a\":1}");
  CHECK_STR(c.frames[1], "{\"b\":[2,3]}\r");
  CHECK_INT(c.lens[1], 12);
  CHECK_STR(c.frames[2], "xyz");
  CHECK_INT(sb_frame_reader_pending(&r), 4);
  collected_free(&c);
  sb_frame_reader_free(&r);
}

SB_TEST(every_split_into_two_and_three_chunks) {
  size_t bad = 0, splits = 0;
  for (size_t i = 0; i <= MULTI_LEN; i++) {
    for (size_t j = i; j <= MULTI_LEN; j++) {
      sb_frame_reader r;
      REQUIRE(sb_frame_reader_init(&r, 64) == 0);
      collected c = {0};
      feed_all(&r, multi, i, &c);
      feed_all(&r, multi + i, j - i, &c);
      feed_all(&r, multi + j, MULTI_LEN - j, &c);
      splits++;
      if (!check_multi(&c, &r)) {
        if (bad++ < 5) SB__FAIL("split at %zu and %zu gives different frames", i, j);
      }
      collected_free(&c);
      sb_frame_reader_free(&r);
    }
  }
  CHECK_INT(bad, 0);
  /* (n+1)(n+2)/2 pairs, which include every two-chunk split (i == j or j == n). */
  CHECK_INT(splits, (MULTI_LEN + 1) * (MULTI_LEN + 2) / 2);
}

SB_TEST(one_byte_at_a_time) {
  sb_frame_reader r;
  REQUIRE(sb_frame_reader_init(&r, 64) == 0);
  collected c = {0};
  for (size_t i = 0; i < MULTI_LEN; i++) feed_all(&r, multi + i, 1, &c);
  CHECK(check_multi(&c, &r));
  collected_free(&c);
  sb_frame_reader_free(&r);
}

SB_TEST(consumed_stops_after_each_frame) {
  sb_frame_reader r;
  REQUIRE(sb_frame_reader_init(&r, 64) == 0);
  const char *in = "ab\n\ncd\n";
  size_t consumed = 99, flen = 99;
  const char *frame = NULL;
  CHECK_INT(sb_frame_reader_feed(&r, in, 7, &consumed, &frame, &flen), 0);
  CHECK_INT(consumed, 3);
  REQUIRE(frame != NULL);
  CHECK_INT(flen, 2);
  CHECK_STR(frame, "ab");
  CHECK_INT(sb_frame_reader_pending(&r), 0);
  CHECK_INT(sb_frame_reader_feed(&r, in + 3, 4, &consumed, &frame, &flen), 0);
  CHECK_INT(consumed, 4); /* the empty line is skipped on the way */
  CHECK_STR(frame, "cd");
  CHECK_INT(sb_frame_reader_feed(&r, "e", 1, &consumed, &frame, &flen), 0);
  CHECK_INT(consumed, 1);
  CHECK(frame == NULL);
  CHECK_INT(flen, 0);
  CHECK_INT(sb_frame_reader_pending(&r), 1);
  /* No input at all is fine and changes nothing. */
  CHECK_INT(sb_frame_reader_feed(&r, NULL, 0, &consumed, &frame, &flen), 0);
  CHECK_INT(consumed, 0);
  CHECK(frame == NULL);
  CHECK_INT(sb_frame_reader_pending(&r), 1);
  sb_frame_reader_free(&r);
}

SB_TEST(only_empty_lines_yield_nothing) {
  sb_frame_reader r;
  REQUIRE(sb_frame_reader_init(&r, 4) == 0);
  collected c = {0};
  feed_all(&r, "\n\n\n\n\n\n\n\n\n\n", 10, &c);
  CHECK_INT(c.rc, 0);
  CHECK_INT(c.n, 0);
  CHECK_INT(sb_frame_reader_pending(&r), 0);
  /* Empty lines need no buffer at all. */
  CHECK_INT(r.cap, 0);
  collected_free(&c);
  sb_frame_reader_free(&r);
}

SB_TEST(cr_alone_is_a_frame_not_an_empty_line) {
  sb_frame_reader r;
  REQUIRE(sb_frame_reader_init(&r, 4) == 0);
  collected c = {0};
  feed_all(&r, "\r\n", 2, &c);
  REQUIRE(c.n == 1);
  CHECK_INT(c.lens[0], 1);
  CHECK_STR(c.frames[0], "\r");
  collected_free(&c);
  sb_frame_reader_free(&r);
}

SB_TEST(frame_of_exactly_max_frame_is_accepted) {
  sb_frame_reader r;
  REQUIRE(sb_frame_reader_init(&r, 8) == 0);
  collected c = {0};
  feed_all(&r, "12345678\n1234567\r\n", 18, &c);
  CHECK_INT(c.rc, 0);
  REQUIRE(c.n == 2);
  CHECK_STR(c.frames[0], "12345678");
  CHECK_STR(c.frames[1], "1234567\r"); /* the '\r' counts towards the limit */
  CHECK_INT(r.cap, 9);
  CHECK(!r.failed);
  collected_free(&c);
  sb_frame_reader_free(&r);
}

SB_TEST(frame_of_max_frame_plus_one_is_rejected_for_good) {
  sb_frame_reader r;
  REQUIRE(sb_frame_reader_init(&r, 8) == 0);
  size_t consumed, flen;
  const char *frame;
  CHECK_INT(sb_frame_reader_feed(&r, "ok\n123456789\nok\n", 16, &consumed, &frame, &flen), 0);
  CHECK_STR(frame, "ok");
  CHECK_INT(sb_frame_reader_feed(&r, "123456789\nok\n", 13, &consumed, &frame, &flen),
            SB_E_FRAME_TOO_LARGE);
  CHECK(frame == NULL);
  CHECK(r.failed);
  CHECK_INT(r.cap, 0); /* the memory is given back at once */
  /* Whatever comes next, even a perfectly good frame, is refused. */
  CHECK_INT(sb_frame_reader_feed(&r, "ok\n", 3, &consumed, &frame, &flen), SB_E_FRAME_TOO_LARGE);
  CHECK(frame == NULL);
  CHECK_INT(consumed, 0);
  sb_frame_reader_free(&r);

  /* "12345678\r" is nine bytes too. */
  REQUIRE(sb_frame_reader_init(&r, 8) == 0);
  CHECK_INT(sb_frame_reader_feed(&r, "12345678\r\n", 10, &consumed, &frame, &flen),
            SB_E_FRAME_TOO_LARGE);
  sb_frame_reader_free(&r);
}

SB_TEST(endless_frame_byte_by_byte_stays_bounded) {
  const size_t max = 1000;
  sb_frame_reader r;
  REQUIRE(sb_frame_reader_init(&r, max) == 0);
  size_t consumed, flen, max_cap = 0;
  const char *frame;
  int rc = 0;
  size_t i;
  for (i = 0; i < 10 * max && rc == 0; i++) {
    rc = sb_frame_reader_feed(&r, "x", 1, &consumed, &frame, &flen);
    if (r.cap > max_cap) max_cap = r.cap;
    if (rc == 0) CHECK_INT(sb_frame_reader_pending(&r), i + 1);
  }
  CHECK_INT(rc, SB_E_FRAME_TOO_LARGE);
  CHECK_INT(i, max + 1); /* it fails on the byte that passes the limit */
  CHECK_INT(max_cap, max + 1);
  CHECK(r.failed);
  sb_frame_reader_free(&r);
}

SB_TEST(buffer_grows_geometrically_to_exactly_the_cap) {
  const size_t max = SB_LIMIT_FRAME_BYTES;
  sb_frame_reader r;
  REQUIRE(sb_frame_reader_init(&r, max) == 0);
  char *big = malloc(max + 1);
  REQUIRE(big != NULL);
  memset(big, 'a', max);
  big[max] = '\n';
  /* One byte at a time: the capacity only ever doubles or jumps to the cap. */
  size_t consumed, flen, prev = 0, grows = 0;
  const char *frame = NULL;
  for (size_t i = 0; i <= max; i++) {
    REQUIRE(sb_frame_reader_feed(&r, big + i, 1, &consumed, &frame, &flen) == 0);
    if (r.cap != prev) {
      grows++;
      CHECK(prev == 0 || r.cap == 2 * prev || r.cap == max + 1);
      CHECK(r.cap <= max + 1);
      prev = r.cap;
    }
  }
  REQUIRE(frame != NULL);
  CHECK_INT(flen, max);
  CHECK_INT(r.cap, max + 1);
  CHECK(grows <= 20);
  /* The same frame in one chunk, in a fresh reader. */
  sb_frame_reader_free(&r);
  REQUIRE(sb_frame_reader_init(&r, max) == 0);
  REQUIRE(sb_frame_reader_feed(&r, big, max + 1, &consumed, &frame, &flen) == 0);
  CHECK_INT(consumed, max + 1);
  CHECK_INT(flen, max);
  CHECK_INT(r.cap, max + 1);
  CHECK(frame[max] == '\0');
  free(big);
  sb_frame_reader_free(&r);
}

SB_TEST(small_max_frame_never_allocates_more) {
  sb_frame_reader r;
  REQUIRE(sb_frame_reader_init(&r, 1) == 0);
  collected c = {0};
  feed_all(&r, "a\nb\n", 4, &c);
  CHECK_INT(c.n, 2);
  CHECK_INT(c.max_cap, 2);
  collected_free(&c);
  feed_all(&r, "ab\n", 3, &c);
  CHECK_INT(c.rc, SB_E_FRAME_TOO_LARGE);
  collected_free(&c);
  sb_frame_reader_free(&r);
}

SB_TEST(init_and_free) {
  sb_frame_reader r;
  CHECK_INT(sb_frame_reader_init(&r, 0), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb_frame_reader_init(&r, SIZE_MAX), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb_frame_reader_init(NULL, 10), SB_E_INVALID_ARGUMENT);
  REQUIRE(sb_frame_reader_init(&r, 10) == 0);
  CHECK(r.buf == NULL);
  CHECK_INT(r.cap, 0);
  CHECK_INT(r.max_frame, 10);
  CHECK(!r.failed);
  size_t consumed;
  const char *frame;
  size_t flen;
  CHECK_INT(sb_frame_reader_feed(&r, "abc", 3, &consumed, &frame, &flen), 0);
  sb_frame_reader_free(&r);
  CHECK(r.buf == NULL);
  CHECK_INT(sb_frame_reader_pending(&r), 0);
  sb_frame_reader_free(&r); /* twice is harmless */
  /* A failed reader can be initialised again and works. */
  REQUIRE(sb_frame_reader_init(&r, 2) == 0);
  CHECK_INT(sb_frame_reader_feed(&r, "abc", 3, &consumed, &frame, &flen), SB_E_FRAME_TOO_LARGE);
  sb_frame_reader_free(&r);
  REQUIRE(sb_frame_reader_init(&r, 2) == 0);
  CHECK_INT(sb_frame_reader_feed(&r, "ab\n", 3, &consumed, &frame, &flen), 0);
  CHECK_STR(frame, "ab");
  CHECK_INT(sb_frame_reader_feed(&r, "x", 1, NULL, &frame, &flen), SB_E_INVALID_ARGUMENT);
  sb_frame_reader_free(&r);
}

SB_TEST_MAIN(SB_CASE(whole_input_in_one_chunk), SB_CASE(every_split_into_two_and_three_chunks),
             SB_CASE(one_byte_at_a_time), SB_CASE(consumed_stops_after_each_frame),
             SB_CASE(only_empty_lines_yield_nothing), SB_CASE(cr_alone_is_a_frame_not_an_empty_line),
             SB_CASE(frame_of_exactly_max_frame_is_accepted),
             SB_CASE(frame_of_max_frame_plus_one_is_rejected_for_good),
             SB_CASE(endless_frame_byte_by_byte_stays_bounded),
             SB_CASE(buffer_grows_geometrically_to_exactly_the_cap),
             SB_CASE(small_max_frame_never_allocates_more), SB_CASE(init_and_free))
