/*
 * sb_decode_request: every error the request decoder can produce, asserted by
 * its wire name and path, and the exact values of every field it fills in.
 * Frames are written with ' in place of " to stay readable (see J below);
 * frames with raw bytes are spelled out with their length.
 */
#include <stdbool.h>
#include <string.h>

#include "sb_proto.h"
#include "sb_test.h"
#include "sb_test_json.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */


#define ENVELOPE(method, params)                                            \
  J("{'jsonrpc':'2.0','id':7,'method':'" method "','params':{" params "}}")
#define SPAWN(params) ENVELOPE("spawn", params)
/* A spawn with one declared handle "h" (value 4) plus more params. */
#define SPAWN_H(params) SPAWN("'program':'p','handles':[{'name':'h','value':4}]," params)

static int decode_n(const char *frame, size_t len, sb_request *req, sb_decode_error *e) {
  int rc = sb_decode_request(frame, len, req, e);
  if (rc != 0)
    fprintf(stderr, "  decode: %s at \"%s\": %s\n", sb_err_name(rc), e->path, e->detail);
  return rc;
}

static int decode(const char *frame, sb_request *req, sb_decode_error *e) {
  return decode_n(frame, strlen(frame), req, e);
}

/* Decodes a frame that must be refused with error want_name at want_path,
 * and checks that nothing is left to free. */
#define EXPECT_FAIL_N(frame, len, want_name, want_path)                     \
  do {                                                                      \
    sb_request r_;                                                          \
    sb_decode_error e_;                                                     \
    memset(&r_, 0xAB, sizeof r_);                                           \
    memset(&e_, 0xAB, sizeof e_);                                           \
    int rc_ = sb_decode_request((frame), (len), &r_, &e_);                  \
    CHECK_STR(rc_ == 0 ? "(accepted)" : sb_err_name(rc_), (want_name));     \
    CHECK_INT(e_.err, rc_);                                                 \
    CHECK_STR(e_.path, (want_path));                                        \
    CHECK(r_.sb__owned == NULL);                                            \
    CHECK(strlen(e_.detail) > 0);                                           \
    if (rc_ == 0) sb_request_free(&r_);                                     \
  } while (0)
#define EXPECT_FAIL(frame, want_name, want_path)                            \
  do {                                                                      \
    const char *fr_ = (frame);                                              \
    EXPECT_FAIL_N(fr_, strlen(fr_), want_name, want_path);                  \
  } while (0)

/* The same, also checking that the detail contains `text`. */
#define EXPECT_FAIL_DETAIL(frame, want_name, want_path, text)               \
  do {                                                                      \
    const char *fr_ = (frame);                                              \
    sb_request r_;                                                          \
    sb_decode_error e_;                                                     \
    int rc_ = sb_decode_request(fr_, strlen(fr_), &r_, &e_);                \
    CHECK_STR(rc_ == 0 ? "(accepted)" : sb_err_name(rc_), (want_name));     \
    CHECK_STR(e_.path, (want_path));                                        \
    if (strstr(e_.detail, (text)) == NULL)                                  \
      SB__FAIL("detail \"%s\" lacks \"%s\"", e_.detail, (text));            \
    if (rc_ == 0) sb_request_free(&r_);                                     \
  } while (0)

/* ------------------------------------------------------------------------ */
/* Envelope                                                                 */

SB_TEST(ping_minimal) {
  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(J("{'jsonrpc':'2.0','id':1,'method':'ping'}"), &req, &e) == 0);
  CHECK_INT(req.method, SB_METHOD_PING);
  CHECK_INT(req.id.kind, SB_ID_NUMBER);
  CHECK_INT(req.id.number, 1);
  CHECK(req.sb__owned != NULL);
  CHECK_INT(e.err, 0);
  CHECK_STR(e.path, "");
  sb_request_free(&req);
  CHECK(req.sb__owned == NULL);
  sb_request_free(&req); /* a second free is harmless */
}

SB_TEST(no_param_methods) {
  static const char *const names[] = {"list", "stats", "ping"};
  static const sb_method methods[] = {SB_METHOD_LIST, SB_METHOD_STATS, SB_METHOD_PING};
  for (int i = 0; i < 3; i++) {
    char frame[160];
    sb_request req;
    sb_decode_error e;
    snprintf(frame, sizeof frame, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"%s\",\"params\":{}}",
             names[i]);
    REQUIRE(decode(frame, &req, &e) == 0);
    CHECK_INT(req.method, methods[i]);
    sb_request_free(&req);
    snprintf(frame, sizeof frame, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"%s\"}", names[i]);
    REQUIRE(decode(frame, &req, &e) == 0);
    sb_request_free(&req);
    snprintf(frame, sizeof frame,
             "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"%s\",\"params\":{\"x\":1}}", names[i]);
    EXPECT_FAIL(frame, "UnknownKey", "params.x");
    snprintf(frame, sizeof frame,
             "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"%s\",\"params\":[]}", names[i]);
    EXPECT_FAIL(frame, "InvalidParams", "params");
  }
}

SB_TEST(key_order_and_whitespace) {
  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(J(" \t\r\n{ 'method' : 'ping' , 'id' : 'abc' , 'jsonrpc' : '2.0' }\r\n "), &req,
                 &e) == 0);
  CHECK_INT(req.id.kind, SB_ID_STRING);
  CHECK_STR(req.id.string, "abc");
  sb_request_free(&req);
}

SB_TEST(ids) {
  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(J("{'jsonrpc':'2.0','id':9007199254740991,'method':'ping'}"), &req, &e) == 0);
  CHECK(req.id.number == 9007199254740991ull);
  sb_request_free(&req);
  REQUIRE(decode(J("{'jsonrpc':'2.0','id':0,'method':'ping'}"), &req, &e) == 0);
  CHECK_INT(req.id.number, 0);
  sb_request_free(&req);
  /* -0 is the integer zero, and 1.0 the integer one: integers are judged by
   * their value, not their spelling. */
  REQUIRE(decode(J("{'jsonrpc':'2.0','id':-0,'method':'ping'}"), &req, &e) == 0);
  CHECK_INT(req.id.kind, SB_ID_NUMBER);
  CHECK_INT(req.id.number, 0);
  sb_request_free(&req);
  REQUIRE(decode(J("{'jsonrpc':'2.0','id':1.0,'method':'ping'}"), &req, &e) == 0);
  CHECK_INT(req.id.number, 1);
  sb_request_free(&req);

  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':9007199254740992,'method':'ping'}"), "InvalidRequest", "id");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':-1,'method':'ping'}"), "InvalidRequest", "id");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1.5,'method':'ping'}"), "InvalidRequest", "id");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':'','method':'ping'}"), "InvalidRequest", "id");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':null,'method':'ping'}"), "InvalidRequest", "id");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':true,'method':'ping'}"), "InvalidRequest", "id");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':[1],'method':'ping'}"), "InvalidRequest", "id");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':'a\\u0000b','method':'ping'}"), "InvalidRequest", "id");
  EXPECT_FAIL_DETAIL(J("{'jsonrpc':'2.0','method':'ping'}"), "InvalidRequest", "id",
                     "notifications");
  /* Two ids: the request cannot be answered with either. */
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'id':2,'method':'ping'}"), "InvalidRequest", "id");
}

SB_TEST(id_reported_with_later_errors) {
  sb_request req;
  sb_decode_error e;
  int rc = sb_decode_request(J("{'jsonrpc':'1.0','id':42,'method':'ping'}"), 41, &req, &e);
  CHECK_STR(sb_err_name(rc), "InvalidRequest");
  CHECK_STR(e.path, "jsonrpc");
  CHECK_INT(e.id.kind, SB_ID_NUMBER);
  CHECK_INT(e.id.number, 42);
  CHECK(req.sb__owned == NULL);

  const char *f = J("{'id':'x7','jsonrpc':'2.0','method':'nope'}");
  rc = sb_decode_request(f, strlen(f), &req, &e);
  CHECK_STR(sb_err_name(rc), "MethodNotFound");
  CHECK_INT(e.id.kind, SB_ID_STRING);
  CHECK_STR(e.id.string, "x7");

  f = SPAWN("'program':''");
  rc = sb_decode_request(f, strlen(f), &req, &e);
  CHECK_STR(sb_err_name(rc), "EmptyString");
  CHECK_INT(e.id.number, 7);

  /* Unparseable: no id can be known. */
  rc = sb_decode_request("{\"id\":5,", 7, &req, &e);
  CHECK_STR(sb_err_name(rc), "ParseError");
  CHECK_INT(e.id.kind, SB_ID_NULL);

  /* An invalid id is not reported as the id. */
  f = J("{'jsonrpc':'2.0','id':-5,'method':'ping'}");
  rc = sb_decode_request(f, strlen(f), &req, &e);
  CHECK_INT(e.id.kind, SB_ID_NULL);
}

SB_TEST(envelope_keys) {
  EXPECT_FAIL(J("{'id':1,'method':'ping'}"), "InvalidRequest", "jsonrpc");
  EXPECT_FAIL(J("{'jsonrpc':2.0,'id':1,'method':'ping'}"), "InvalidRequest", "jsonrpc");
  EXPECT_FAIL(J("{'jsonrpc':'2.0\\u0000','id':1,'method':'ping'}"), "InvalidRequest", "jsonrpc");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1}"), "InvalidRequest", "method");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':5}"), "InvalidRequest", "method");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':'ping\\u0000'}"), "InvalidRequest", "method");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':'ping','extra':1}"), "InvalidRequest", "extra");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':'ping','method':'ping'}"), "InvalidRequest",
              "method");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':'ping','x\\u0000y':1}"), "InvalidRequest", "x");
  EXPECT_FAIL_DETAIL(J("{'jsonrpc':'2.0','id':1,'Method':'ping'}"), "InvalidRequest", "Method",
                     "case-sensitive");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':'ping','params':null}"), "InvalidParams",
              "params");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':'kill','params':[1]}"), "InvalidParams",
              "params");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':'spawn'}"), "MissingKey", "params");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':'hello'}"), "MissingKey", "params");
}

SB_TEST(methods) {
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':'Ping'}"), "MethodNotFound", "method");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':'shutdown'}"), "MethodNotFound", "method");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':''}"), "MethodNotFound", "method");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':'exit'}"), "MethodNotFound", "method");
}

SB_TEST(top_level_shapes) {
  EXPECT_FAIL(J("[{'jsonrpc':'2.0','id':1,'method':'ping'}]"), "BatchNotSupported", "");
  EXPECT_FAIL("[]", "BatchNotSupported", "");
  EXPECT_FAIL("\"ping\"", "InvalidRequest", "");
  EXPECT_FAIL("5", "InvalidRequest", "");
  EXPECT_FAIL("null", "InvalidRequest", "");
  EXPECT_FAIL("true", "InvalidRequest", "");
}

/* ------------------------------------------------------------------------ */
/* The frame: JSON grammar, UTF-8, NUL                                      */

SB_TEST(malformed_json) {
  static const char *const frames[] = {
      "{", "}", "", "   ", "{\"jsonrpc\":}", "{\"a\" 1}", "{'a':1}", "nul", "tru", "[1,]",
      "{\"a\":1,}", "{,}", "01", "1.", ".5", "+1", "-", "1e", "1e+", "0x10", "NaN", "Infinity",
      "-Infinity", "[1 2]", "{\"a\":1 \"b\":2}", "\"abc", "\"\\x41\"", "\"\\u12\"", "\"\\uZZZZ\"",
      "{\"a\"}", "[", "[[]", "{\"a\":[}", "\xEF\xBB\xBF{}", "\"a\"\"b\"", "/* c */ {}",
  };
  for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
    sb_request r;
    sb_decode_error e;
    int rc = sb_decode_request(frames[i], strlen(frames[i]), &r, &e);
    if (rc != SB_E_PARSE)
      SB__FAIL("frame %lu <%s>: %s, expected ParseError", (unsigned long)i, frames[i],
               sb_err_name(rc));
    CHECK_STR(e.path, "");
    CHECK(r.sb__owned == NULL);
  }
}

SB_TEST(trailing_garbage) {
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':'ping'} x"), "ParseError", "");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':'ping'}{}"), "ParseError", "");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':'ping'},"), "ParseError", "");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':'ping'}\f"), "ParseError", "");
  /* cJSON takes any byte up to 0x20 for whitespace; JSON does not. */
  EXPECT_FAIL(J("{'jsonrpc':'2.0',\x01'id':1,'method':'ping'}"), "ParseError", "");
  static const char nul_after[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\0";
  EXPECT_FAIL_N(nul_after, sizeof nul_after - 1, "ParseError", "");
  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(J("{'jsonrpc':'2.0','id':1,'method':'ping'}  \r"), &req, &e) == 0);
  sb_request_free(&req);
}

SB_TEST(raw_control_and_nul_bytes) {
  EXPECT_FAIL(SPAWN("'program':'a\tb'"), "ParseError", "");
  EXPECT_FAIL(SPAWN("'program':'a\nb'"), "ParseError", "");
  EXPECT_FAIL(SPAWN("'program':'a\x1f'"), "ParseError", "");
  static const char nul_in_string[] =
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"spawn\",\"params\":{\"program\":\"a\0b\"}}";
  EXPECT_FAIL_N(nul_in_string, sizeof nul_in_string - 1, "ParseError", "");
  static const char nul_outside[] = "{\"jsonrpc\":\"2.0\",\0\"id\":1,\"method\":\"ping\"}";
  EXPECT_FAIL_N(nul_outside, sizeof nul_outside - 1, "ParseError", "");
  /* DEL and everything from 0x20 up is allowed raw. */
  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(SPAWN("'program':'a\x7f b'"), &req, &e) == 0);
  CHECK_STR(req.params.spawn.program, "a\x7f b");
  sb_request_free(&req);
}

SB_TEST(nul_escapes) {
  /* cJSON would hand these over cut at the NUL ("a"); they must be refused,
   * by name, wherever they are. */
  EXPECT_FAIL(SPAWN("'program':'a\\u0000b'"), "StringHasNul", "params.program");
  EXPECT_FAIL(SPAWN("'program':'\\u0000'"), "StringHasNul", "params.program");
  EXPECT_FAIL(SPAWN("'program':'p','args':['ok','x\\u0000']"), "StringHasNul", "params.args[1]");
  EXPECT_FAIL(SPAWN("'program':'p','cwd':'C:\\\\\\u0000'"), "StringHasNul", "params.cwd");
  EXPECT_FAIL(SPAWN("'program':'p','env':['A=\\u0000']"), "StringHasNul", "params.env[0]");
  EXPECT_FAIL(SPAWN("'program':'p','handles':[{'name':'h\\u0000','value':4}]"), "StringHasNul",
              "params.handles[0].name");
  EXPECT_FAIL(SPAWN_H("'stdin':'h\\u0000'"), "StringHasNul", "params.stdin");
  EXPECT_FAIL(SPAWN("'program':'p','lifetime':'broker\\u0000'"), "StringHasNul",
              "params.lifetime");
  EXPECT_FAIL(ENVELOPE("hello", "'protocol':1,'client':'c\\u0000'"), "StringHasNul",
              "params.client");
  /* A key that held a NUL: "program\u0000" must not pass for "program". */
  EXPECT_FAIL(SPAWN("'program\\u0000x':'p'"), "StringHasNul", "params.program");
  EXPECT_FAIL(SPAWN("'program':'a','program\\u0000':'b'"), "StringHasNul", "params.program");

  /* An escaped backslash followed by "u0000" is text, not a NUL. */
  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(SPAWN("'program':'a\\\\u0000b'"), &req, &e) == 0);
  CHECK_STR(req.params.spawn.program, "a\\u0000b");
  sb_request_free(&req);
  /* Other strings are still read right when one elsewhere held a NUL. */
  EXPECT_FAIL(SPAWN("'program':'ok','args':['a','b','c\\u0000','d']"), "StringHasNul",
              "params.args[2]");
}

SB_TEST(escapes_decoded) {
  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(SPAWN("'program':'\\u00e9\\u20ac\\ud83d\\ude00\\/\\\"\\t\\u0041'"), &req, &e) ==
          0);
  CHECK_STR(req.params.spawn.program, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80/\"\tA");
  sb_request_free(&req);
  REQUIRE(decode(SPAWN("'program':'\xC3\xA9\xF0\x9F\x98\x80'"), &req, &e) == 0);
  CHECK_STR(req.params.spawn.program, "\xC3\xA9\xF0\x9F\x98\x80");
  sb_request_free(&req);
}

SB_TEST(lone_surrogate_escapes) {
  EXPECT_FAIL(SPAWN("'program':'\\ud800'"), "InvalidUtf8", "");
  EXPECT_FAIL(SPAWN("'program':'\\uDBFF'"), "InvalidUtf8", "");
  EXPECT_FAIL(SPAWN("'program':'\\udc00'"), "InvalidUtf8", "");
  EXPECT_FAIL(SPAWN("'program':'\\ud800\\u0041'"), "InvalidUtf8", "");
  EXPECT_FAIL(SPAWN("'program':'\\ud800x'"), "InvalidUtf8", "");
  EXPECT_FAIL(SPAWN("'program':'\\ude00\\ud83d'"), "InvalidUtf8", "");
}

SB_TEST(invalid_utf8) {
  static const char *const bad[] = {
      "\xC0\x80",         /* overlong NUL */
      "\xC1\xBF",         /* overlong two-byte */
      "\xE0\x80\xAF",     /* overlong three-byte '/' */
      "\xF0\x80\x80\xAF", /* overlong four-byte */
      "\xED\xA0\x80",     /* encoded surrogate U+D800 */
      "\xED\xBF\xBF",     /* encoded surrogate U+DFFF */
      "\xF4\x90\x80\x80", /* U+110000 */
      "\xF5\x80\x80\x80", /* lead byte above F4 */
      "\xF8\x88\x80\x80\x80",
      "\xFF",
      "\x80",             /* lone continuation byte */
      "a\xBF",            /* continuation after ASCII */
      "\xE2\x82",         /* truncated before the closing quote */
      ("\xE2\x82" "a"),   /* truncated by an ASCII byte */
      "\xF0\x9F\x98",     /* truncated four-byte */
      "\xC3",             /* lead byte alone */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char frame[256];
    snprintf(frame, sizeof frame,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"spawn\",\"params\":{\"program\":\"%s\"}}",
             bad[i]);
    sb_request r;
    sb_decode_error e;
    int rc = sb_decode_request(frame, strlen(frame), &r, &e);
    if (rc != SB_E_INVALID_UTF8) SB__FAIL("case %lu: %s", (unsigned long)i, sb_err_name(rc));
    CHECK_STR(e.path, "");
    CHECK(r.sb__owned == NULL);
  }
  /* Outside strings too, and truncated at the very end of the frame. */
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':'ping'} \xC3"), "InvalidUtf8", "");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':'ping'}\xE2\x82"), "InvalidUtf8", "");
  EXPECT_FAIL(J("{'jsonrpc':'2.0','id':1,'method':'ping','\xC0\x80':1}"), "InvalidUtf8", "");
  /* The largest code point and the ones around the surrogates are fine. */
  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(SPAWN("'program':'\xF4\x8F\xBF\xBF\xED\x9F\xBF\xEE\x80\x80'"), &req, &e) == 0);
  sb_request_free(&req);
}

SB_TEST(numbers) {
  EXPECT_FAIL(ENVELOPE("wait", "'pid':1e999"), "ParseError", "");
  EXPECT_FAIL(ENVELOPE("wait", "'pid':-1e999"), "ParseError", "");
  EXPECT_FAIL(ENVELOPE("ping", "'x':1e400"), "ParseError", ""); /* even where it would be unknown */
  EXPECT_FAIL(ENVELOPE("wait", "'pid':4.5"), "NotAnInteger", "params.pid");
  EXPECT_FAIL(ENVELOPE("wait", "'pid':1e-5"), "NotAnInteger", "params.pid");
  EXPECT_FAIL(ENVELOPE("wait", "'pid':'5'"), "WrongType", "params.pid");
  EXPECT_FAIL(ENVELOPE("wait", "'pid':true"), "WrongType", "params.pid");
  EXPECT_FAIL(ENVELOPE("wait", "'pid':null"), "WrongType", "params.pid");
  EXPECT_FAIL(ENVELOPE("wait", "'pid':[5]"), "WrongType", "params.pid");
  /* valueint would have saturated these at INT_MAX and passed them. */
  EXPECT_FAIL(ENVELOPE("wait", "'pid':1e300"), "OutOfRange", "params.pid");
  EXPECT_FAIL(ENVELOPE("wait", "'pid':4294967296"), "OutOfRange", "params.pid");
  EXPECT_FAIL(ENVELOPE("wait", "'pid':-1"), "OutOfRange", "params.pid");
  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(ENVELOPE("wait", "'pid':5e0,'timeout_ms':-0"), &req, &e) == 0);
  CHECK_INT(req.params.wait.pid, 5);
  CHECK_INT(req.params.wait.timeout_ms, 0);
  sb_request_free(&req);
  REQUIRE(decode(ENVELOPE("wait", "'pid':4294967295,'timeout_ms':1E3"), &req, &e) == 0);
  CHECK(req.params.wait.pid == 4294967295u);
  CHECK_INT(req.params.wait.timeout_ms, 1000);
  sb_request_free(&req);
}

/* ------------------------------------------------------------------------ */
/* hello                                                                    */

SB_TEST(hello) {
  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(ENVELOPE("hello", "'protocol':1,'client':'spawnctl 0.1','transfer':'push'"), &req,
                 &e) == 0);
  CHECK_INT(req.method, SB_METHOD_HELLO);
  CHECK_INT(req.params.hello.protocol, 1);
  CHECK_STR(req.params.hello.client, "spawnctl 0.1");
  CHECK_INT(req.params.hello.transfer, SB_TRANSFER_PUSH);
  sb_request_free(&req);

  REQUIRE(decode(ENVELOPE("hello", "'protocol':1"), &req, &e) == 0);
  CHECK(req.params.hello.client == NULL);
  CHECK_INT(req.params.hello.transfer, SB_TRANSFER_AUTO);
  sb_request_free(&req);

  /* Versions the library does not speak still decode: the broker refuses
   * them with UnsupportedProtocol. */
  REQUIRE(decode(ENVELOPE("hello", "'protocol':99,'transfer':'pull'"), &req, &e) == 0);
  CHECK_INT(req.params.hello.protocol, 99);
  CHECK_INT(req.params.hello.transfer, SB_TRANSFER_PULL);
  sb_request_free(&req);
  REQUIRE(decode(ENVELOPE("hello", "'protocol':2147483647,'transfer':'auto'"), &req, &e) == 0);
  CHECK_INT(req.params.hello.protocol, 2147483647);
  sb_request_free(&req);

  EXPECT_FAIL(ENVELOPE("hello", "'protocol':0"), "OutOfRange", "params.protocol");
  EXPECT_FAIL(ENVELOPE("hello", "'protocol':2147483648"), "OutOfRange", "params.protocol");
  EXPECT_FAIL(ENVELOPE("hello", "'protocol':'1'"), "WrongType", "params.protocol");
  EXPECT_FAIL(ENVELOPE("hello", "'protocol':1.5"), "NotAnInteger", "params.protocol");
  EXPECT_FAIL(ENVELOPE("hello", "'client':'x'"), "MissingKey", "params.protocol");
  EXPECT_FAIL(ENVELOPE("hello", ""), "MissingKey", "params.protocol");
  EXPECT_FAIL(ENVELOPE("hello", "'protocol':1,'transfer':'Auto'"), "UnknownValue",
              "params.transfer");
  EXPECT_FAIL(ENVELOPE("hello", "'protocol':1,'transfer':1"), "WrongType", "params.transfer");
  EXPECT_FAIL(ENVELOPE("hello", "'protocol':1,'client':5"), "WrongType", "params.client");
  EXPECT_FAIL_DETAIL(ENVELOPE("hello", "'Protocol':1"), "UnknownKey", "params.Protocol",
                     "case-sensitive");
}

/* ------------------------------------------------------------------------ */
/* spawn                                                                    */

SB_TEST(spawn_defaults) {
  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(SPAWN("'program':'cmd.exe'"), &req, &e) == 0);
  const sb_spawn_params *p = &req.params.spawn;
  CHECK_INT(req.method, SB_METHOD_SPAWN);
  CHECK_STR(p->program, "cmd.exe");
  CHECK_INT(p->nargs, 0);
  CHECK(p->cwd == NULL);
  CHECK_INT(p->nenv, 0);
  CHECK(!p->clear_env);
  CHECK_INT(p->nhandles, 0);
  for (int i = 0; i < SB_LIMIT_HANDLES; i++) CHECK_INT(p->handles[i].fd, -1);
  CHECK(p->std_names[0] == NULL && p->std_names[1] == NULL && p->std_names[2] == NULL);
  CHECK(p->handles_env == NULL);
  CHECK(!p->expand_handles);
  CHECK_INT(p->lifetime, SB_LIFETIME_BROKER);
  CHECK(p->limits.memory_bytes == 0 && p->limits.cpu_time_ms == 0 && p->limits.processes == 0);
  CHECK(!p->notify_exit);
  sb_request_free(&req);
}

SB_TEST(spawn_everything) {
  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(SPAWN("'program':'C:\\\\bin\\\\tool.exe','args':['-v','','{handle:log}x'],"
                       "'cwd':'C:\\\\work','env':['A=1','B=','C=x=y'],'clear_env':true,"
                       "'handles':[{'name':'in','value':4},{'name':'log','value':8,'fd':3}],"
                       "'stdin':'in','stdout':'log','stderr':'log','handles_env':'SB_HANDLES',"
                       "'expand_handles':true,'lifetime':'connection',"
                       "'limits':{'memory_bytes':1048576,'cpu_time_ms':1000,'processes':4},"
                       "'notify_exit':true"),
                 &req, &e) == 0);
  const sb_spawn_params *p = &req.params.spawn;
  CHECK_STR(p->program, "C:\\bin\\tool.exe");
  REQUIRE(p->nargs == 3);
  CHECK_STR(p->args[0], "-v");
  CHECK_STR(p->args[1], "");
  CHECK_STR(p->args[2], "{handle:log}x");
  CHECK_STR(p->cwd, "C:\\work");
  REQUIRE(p->nenv == 3);
  CHECK_STR(p->env[0], "A=1");
  CHECK_STR(p->env[1], "B=");
  CHECK_STR(p->env[2], "C=x=y");
  CHECK(p->clear_env);
  REQUIRE(p->nhandles == 2);
  CHECK_STR(p->handles[0].name, "in");
  CHECK_INT(p->handles[0].value, 4);
  CHECK_INT(p->handles[0].fd, -1);
  CHECK_STR(p->handles[1].name, "log");
  CHECK_INT(p->handles[1].value, 8);
  CHECK_INT(p->handles[1].fd, 3);
  CHECK_STR(p->std_names[SB_STDIN], "in");
  CHECK_STR(p->std_names[SB_STDOUT], "log");
  CHECK_STR(p->std_names[SB_STDERR], "log");
  CHECK_STR(p->handles_env, "SB_HANDLES");
  CHECK(p->expand_handles);
  CHECK_INT(p->lifetime, SB_LIFETIME_CONNECTION);
  CHECK_INT(p->limits.memory_bytes, 1048576);
  CHECK_INT(p->limits.cpu_time_ms, 1000);
  CHECK_INT(p->limits.processes, 4);
  CHECK(p->notify_exit);
  CHECK_INT(sb_spawn_find_handle(p, "in"), 0);
  CHECK_INT(sb_spawn_find_handle(p, "log"), 1);
  CHECK_INT(sb_spawn_find_handle(p, "LOG"), -1);
  CHECK_INT(sb_spawn_find_handle(p, "lo"), -1);
  CHECK_INT(sb_spawn_find_handle(p, NULL), -1);
  CHECK_INT(sb_spawn_find_handle(NULL, "in"), -1);
  sb_request_free(&req);
}

SB_TEST(spawn_keys) {
  EXPECT_FAIL(SPAWN("'args':[]"), "MissingKey", "params.program");
  EXPECT_FAIL(SPAWN(""), "MissingKey", "params.program");
  EXPECT_FAIL(SPAWN("'program':'p','program':'q'"), "DuplicateKey", "params.program");
  EXPECT_FAIL(SPAWN("'program':'p','argv':[]"), "UnknownKey", "params.argv");
  EXPECT_FAIL_DETAIL(SPAWN("'Program':'p'"), "UnknownKey", "params.Program", "case-sensitive");
  EXPECT_FAIL_DETAIL(SPAWN("'program':'p','ARGS':[]"), "UnknownKey", "params.ARGS", "\"args\"");
  /* Key problems are found in document order before any value is read. */
  EXPECT_FAIL(SPAWN("'program':5,'zzz':1"), "UnknownKey", "params.zzz");
}

SB_TEST(spawn_types) {
  EXPECT_FAIL(SPAWN("'program':5"), "WrongType", "params.program");
  EXPECT_FAIL(SPAWN("'program':''"), "EmptyString", "params.program");
  EXPECT_FAIL(SPAWN("'program':null"), "WrongType", "params.program");
  EXPECT_FAIL(SPAWN("'program':'p','args':'a b'"), "WrongType", "params.args");
  EXPECT_FAIL(SPAWN("'program':'p','args':['a',1]"), "WrongType", "params.args[1]");
  EXPECT_FAIL(SPAWN("'program':'p','args':[['a']]"), "WrongType", "params.args[0]");
  EXPECT_FAIL(SPAWN("'program':'p','cwd':''"), "EmptyString", "params.cwd");
  EXPECT_FAIL(SPAWN("'program':'p','cwd':false"), "WrongType", "params.cwd");
  EXPECT_FAIL(SPAWN("'program':'p','env':{'A':'1'}"), "WrongType", "params.env");
  EXPECT_FAIL(SPAWN("'program':'p','env':['A=1',2]"), "WrongType", "params.env[1]");
  EXPECT_FAIL(SPAWN("'program':'p','clear_env':'yes'"), "WrongType", "params.clear_env");
  EXPECT_FAIL(SPAWN("'program':'p','clear_env':1"), "WrongType", "params.clear_env");
  EXPECT_FAIL(SPAWN("'program':'p','handles':{}"), "WrongType", "params.handles");
  EXPECT_FAIL(SPAWN("'program':'p','handles':[4]"), "WrongType", "params.handles[0]");
  EXPECT_FAIL(SPAWN("'program':'p','stdin':1"), "WrongType", "params.stdin");
  EXPECT_FAIL(SPAWN("'program':'p','handles_env':1"), "WrongType", "params.handles_env");
  EXPECT_FAIL(SPAWN("'program':'p','expand_handles':'true'"), "WrongType",
              "params.expand_handles");
  EXPECT_FAIL(SPAWN("'program':'p','lifetime':1"), "WrongType", "params.lifetime");
  EXPECT_FAIL(SPAWN("'program':'p','limits':[]"), "WrongType", "params.limits");
  EXPECT_FAIL(SPAWN("'program':'p','notify_exit':null"), "WrongType", "params.notify_exit");
}

SB_TEST(spawn_env) {
  EXPECT_FAIL(SPAWN("'program':'p','env':['FOO']"), "InvalidEnvEntry", "params.env[0]");
  EXPECT_FAIL(SPAWN("'program':'p','env':['A=1','=C:=C:\\\\']"), "InvalidEnvEntry",
              "params.env[1]");
  EXPECT_FAIL(SPAWN("'program':'p','env':['']"), "InvalidEnvEntry", "params.env[0]");
  EXPECT_FAIL_DETAIL(SPAWN("'program':'p','env':['Path=a','X=1','PATH=b']"), "DuplicateEnvName",
                     "params.env[2]", "env[0]");
  EXPECT_FAIL(SPAWN("'program':'p','env':['a=1','A=2']"), "DuplicateEnvName", "params.env[1]");
  /* The entry reported is the first repeat in request order. */
  EXPECT_FAIL_DETAIL(SPAWN("'program':'p','env':['Z=1','B=1','Y=1','b=2','z=2']"),
                     "DuplicateEnvName", "params.env[3]", "env[1]");
  /* Names that only share a prefix are different. */
  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(SPAWN("'program':'p','env':['AB=1','A=2','ABC=','A_=3']"), &req, &e) == 0);
  CHECK_INT(req.params.spawn.nenv, 4);
  sb_request_free(&req);
  REQUIRE(decode(SPAWN("'program':'p','env':[]"), &req, &e) == 0);
  CHECK_INT(req.params.spawn.nenv, 0);
  sb_request_free(&req);
}

SB_TEST(spawn_handles_b5) {
  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(SPAWN("'program':'p','handles':[]"), &req, &e) == 0);
  CHECK_INT(req.params.spawn.nhandles, 0);
  sb_request_free(&req);

  EXPECT_FAIL(SPAWN("'program':'p','handles':[{'name':'a','value':4},{'name':'a','value':8}]"),
              "DuplicateHandleName", "params.handles[1].name");
  EXPECT_FAIL(SPAWN("'program':'p','handles':[{'name':'a','value':4},{'name':'b','value':4}]"),
              "DuplicateHandleValue", "params.handles[1].value");
  /* Names are case-sensitive, so these are two handles. */
  REQUIRE(decode(SPAWN("'program':'p','handles':[{'name':'a','value':4},{'name':'A','value':8}]"),
                 &req, &e) == 0);
  CHECK_INT(req.params.spawn.nhandles, 2);
  sb_request_free(&req);
  /* 16 and 17 handles: see test_limits.c. */
}

SB_TEST(spawn_handle_fields) {
  EXPECT_FAIL(SPAWN("'program':'p','handles':[{'value':4}]"), "MissingKey",
              "params.handles[0].name");
  EXPECT_FAIL(SPAWN("'program':'p','handles':[{'name':'a'}]"), "MissingKey",
              "params.handles[0].value");
  EXPECT_FAIL(SPAWN("'program':'p','handles':[{'name':'a','value':4,'access':1}]"), "UnknownKey",
              "params.handles[0].access");
  EXPECT_FAIL(SPAWN("'program':'p','handles':[{'name':'a','value':4,'name':'b'}]"),
              "DuplicateKey", "params.handles[0].name");
  EXPECT_FAIL(SPAWN("'program':'p','handles':[{'name':4,'value':4}]"), "WrongType",
              "params.handles[0].name");
  static const char *const bad_names[] = {"", "1a", ".a", "-a", "a b", "a:b", "a{b", "a}",
                                          "\xC3\xA9", "a/b", "a=b"};
  for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
    char frame[256];
    snprintf(frame, sizeof frame,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"spawn\",\"params\":{\"program\":\"p\","
             "\"handles\":[{\"name\":\"%s\",\"value\":4}]}}",
             bad_names[i]);
    EXPECT_FAIL(frame, "InvalidName", "params.handles[0].name");
  }
  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(SPAWN("'program':'p','handles':[{'name':'_a.B-9','value':4},"
                       "{'name':'Z','value':8}]"),
                 &req, &e) == 0);
  CHECK_STR(req.params.spawn.handles[0].name, "_a.B-9");
  sb_request_free(&req);

  EXPECT_FAIL(SPAWN("'program':'p','handles':[{'name':'a','value':4,'fd':2}]"), "OutOfRange",
              "params.handles[0].fd");
  EXPECT_FAIL(SPAWN("'program':'p','handles':[{'name':'a','value':4,'fd':64}]"), "OutOfRange",
              "params.handles[0].fd");
  EXPECT_FAIL(SPAWN("'program':'p','handles':[{'name':'a','value':4,'fd':-1}]"), "OutOfRange",
              "params.handles[0].fd");
  EXPECT_FAIL(SPAWN("'program':'p','handles':[{'name':'a','value':4,'fd':3.5}]"), "NotAnInteger",
              "params.handles[0].fd");
  EXPECT_FAIL(SPAWN("'program':'p','handles':[{'name':'a','value':4,'fd':'3'}]"), "WrongType",
              "params.handles[0].fd");
  EXPECT_FAIL(SPAWN("'program':'p','handles':[{'name':'a','value':4,'fd':5},"
                    "{'name':'b','value':8},{'name':'c','value':12,'fd':5}]"),
              "DuplicateFd", "params.handles[2].fd");
}

/* B1: every kind of implausible handle value, refused by name before the
 * broker could hand it to DuplicateHandle. */
SB_TEST(handle_values_b1) {
  static const struct {
    const char *value;
    const char *detail;
  } bad[] = {
      {"0", "0 is the null handle"},
      {"-1", "-1 is INVALID_HANDLE_VALUE"},
      {"-2", "-2 is a pseudo handle (the current thread)"},
      {"-3", "-3 is a pseudo handle (the current session)"},
      {"-4", "-4 is a pseudo handle (the current process token)"},
      {"-5", "-5 is a pseudo handle (the current thread token)"},
      {"-6", "-6 is a pseudo handle (the current thread's effective token)"},
      {"-7", "-7 is a reserved pseudo handle value"},
      {"-8", "-8 is a reserved pseudo handle value"},
      {"-9", "-9 is a reserved pseudo handle value"},
      {"-10", "-10 is a reserved pseudo handle value"},
      {"-11", "-11 is a reserved pseudo handle value"},
      {"-12", "-12 is a reserved pseudo handle value"},
      {"-13", "-13 is negative"},
      {"-4096", "-4096 is negative"},
      {"-1e300", "is negative"},
      {"4294967295", "is above the largest possible handle value"},
      {"18446744073709551615", "is above the largest possible handle value"},
      {"1", "1 is not a multiple of 4"},
      {"5", "5 is not a multiple of 4"},
      {"6", "6 is not a multiple of 4"},
      {"67108859", "67108859 is not a multiple of 4"},
      {"67108861", "67108861 is above the largest possible handle value"},
      {"67108864", "67108864 is above the largest possible handle value (0x3FFFFFC)"},
      {"67108868", "is above the largest possible handle value"},
      {"1e300", "is above the largest possible handle value"},
      {"4.5", "4.5 is not an integer"},
      {"-2.5", "-2.5 is not an integer"},
      {"\"4\"", "must be an integer, not a string"},
      {"true", "must be an integer, not true"},
      {"false", "must be an integer, not false"},
      {"null", "must be an integer, not null"},
      {"[4]", "must be an integer, not an array"},
      {"{}", "must be an integer, not an object"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char frame[256];
    snprintf(frame, sizeof frame,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"spawn\",\"params\":{\"program\":\"p\","
             "\"handles\":[{\"name\":\"a\",\"value\":%s}]}}",
             bad[i].value);
    EXPECT_FAIL_DETAIL(frame, "InvalidHandleValue", "params.handles[0].value", bad[i].detail);
  }
  /* The same check applies to every handle, not only the first. */
  EXPECT_FAIL(SPAWN("'program':'p','handles':[{'name':'a','value':4},{'name':'b','value':-1}]"),
              "InvalidHandleValue", "params.handles[1].value");

  static const struct {
    const char *text;
    int64_t value;
  } good[] = {{"4", 4}, {"8", 8}, {"4.0", 4}, {"0x3FFFFFC", 0}, {"67108860", 0x3FFFFFC},
              {"1e3", 1000}};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    if (strncmp(good[i].text, "0x", 2) == 0) continue; /* JSON has no hex: see below */
    char frame[256];
    snprintf(frame, sizeof frame,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"spawn\",\"params\":{\"program\":\"p\","
             "\"handles\":[{\"name\":\"a\",\"value\":%s}]}}",
             good[i].text);
    sb_request req;
    sb_decode_error e;
    REQUIRE(decode(frame, &req, &e) == 0);
    CHECK_INT(req.params.spawn.handles[0].value, good[i].value);
    sb_request_free(&req);
  }
  EXPECT_FAIL(SPAWN("'program':'p','handles':[{'name':'a','value':0x3FFFFFC}]"), "ParseError", "");
}

SB_TEST(spawn_std_streams) {
  sb_request req;
  sb_decode_error e;
  /* References may come before the handles they name. */
  REQUIRE(decode(SPAWN("'stderr':'h','program':'p','stdout':'h',"
                       "'handles':[{'name':'h','value':4}]"),
                 &req, &e) == 0);
  CHECK(req.params.spawn.std_names[SB_STDIN] == NULL);
  CHECK_STR(req.params.spawn.std_names[SB_STDOUT], "h");
  CHECK_STR(req.params.spawn.std_names[SB_STDERR], "h");
  sb_request_free(&req);
  EXPECT_FAIL(SPAWN_H("'stdin':'H'"), "UnknownHandleName", "params.stdin");
  EXPECT_FAIL(SPAWN_H("'stdout':'nope'"), "UnknownHandleName", "params.stdout");
  EXPECT_FAIL(SPAWN("'program':'p','stderr':'h'"), "UnknownHandleName", "params.stderr");
  EXPECT_FAIL(SPAWN_H("'stderr':''"), "UnknownHandleName", "params.stderr");
}

SB_TEST(spawn_handles_env) {
  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(SPAWN_H("'handles_env':'SB_HANDLES','env':['A=1']"), &req, &e) == 0);
  CHECK_STR(req.params.spawn.handles_env, "SB_HANDLES");
  sb_request_free(&req);
  EXPECT_FAIL(SPAWN_H("'handles_env':''"), "InvalidName", "params.handles_env");
  EXPECT_FAIL(SPAWN_H("'handles_env':'A=B'"), "InvalidName", "params.handles_env");
  EXPECT_FAIL(SPAWN_H("'handles_env':'sb_handles','env':['X=1','SB_HANDLES=2']"),
              "DuplicateEnvName", "params.handles_env");
}

SB_TEST(spawn_expand_handles) {
  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(SPAWN_H("'expand_handles':true,'args':['--fd={handle:h}','{handle:h}{handle:h}',"
                         "'{handle','handle:x}','{}']"),
                 &req, &e) == 0);
  CHECK(req.params.spawn.expand_handles);
  sb_request_free(&req);
  /* Without expand_handles, placeholders are plain text. */
  REQUIRE(decode(SPAWN_H("'args':['{handle:nope}','{handle:']"), &req, &e) == 0);
  CHECK(!req.params.spawn.expand_handles);
  sb_request_free(&req);
  REQUIRE(decode(SPAWN_H("'args':['{handle:nope}'],'expand_handles':false"), &req, &e) == 0);
  sb_request_free(&req);

  EXPECT_FAIL(SPAWN_H("'expand_handles':true,'args':['a','{handle:nope}']"), "UnknownHandleName",
              "params.args[1]");
  EXPECT_FAIL(SPAWN_H("'expand_handles':true,'args':['{handle:h}{handle:H}']"),
              "UnknownHandleName", "params.args[0]");
  EXPECT_FAIL(SPAWN_H("'expand_handles':true,'args':['x{handle:h']"), "InvalidName",
              "params.args[0]");
  EXPECT_FAIL(SPAWN_H("'expand_handles':true,'args':['{handle:}']"), "InvalidName",
              "params.args[0]");
  EXPECT_FAIL(SPAWN("'program':'p','expand_handles':true,'args':['{handle:h}']"),
              "UnknownHandleName", "params.args[0]");
}

SB_TEST(spawn_lifetime_limits) {
  static const struct {
    const char *name;
    sb_lifetime value;
  } lifetimes[] = {{"broker", SB_LIFETIME_BROKER},
                   {"detached", SB_LIFETIME_DETACHED},
                   {"connection", SB_LIFETIME_CONNECTION}};
  for (int i = 0; i < 3; i++) {
    char frame[200];
    snprintf(frame, sizeof frame,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"spawn\",\"params\":{\"program\":\"p\","
             "\"lifetime\":\"%s\"}}",
             lifetimes[i].name);
    sb_request req;
    sb_decode_error e;
    REQUIRE(decode(frame, &req, &e) == 0);
    CHECK_INT(req.params.spawn.lifetime, lifetimes[i].value);
    sb_request_free(&req);
  }
  EXPECT_FAIL_DETAIL(SPAWN("'program':'p','lifetime':'forever'"), "UnknownValue",
                     "params.lifetime", "\"broker\", \"detached\", \"connection\"");
  EXPECT_FAIL(SPAWN("'program':'p','lifetime':'Broker'"), "UnknownValue", "params.lifetime");

  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(SPAWN("'program':'p','limits':{}"), &req, &e) == 0);
  CHECK_INT(req.params.spawn.limits.memory_bytes, 0);
  sb_request_free(&req);
  REQUIRE(decode(SPAWN("'program':'p','limits':{'processes':1}"), &req, &e) == 0);
  CHECK_INT(req.params.spawn.limits.processes, 1);
  CHECK_INT(req.params.spawn.limits.cpu_time_ms, 0);
  sb_request_free(&req);
  EXPECT_FAIL(SPAWN("'program':'p','limits':{'memory':1}"), "UnknownKey", "params.limits.memory");
  EXPECT_FAIL(SPAWN("'program':'p','limits':{'processes':1,'processes':2}"), "DuplicateKey",
              "params.limits.processes");
  EXPECT_FAIL(SPAWN("'program':'p','limits':{'processes':0}"), "OutOfRange",
              "params.limits.processes");
  EXPECT_FAIL(SPAWN("'program':'p','limits':{'cpu_time_ms':0}"), "OutOfRange",
              "params.limits.cpu_time_ms");
  EXPECT_FAIL(SPAWN("'program':'p','limits':{'memory_bytes':0}"), "OutOfRange",
              "params.limits.memory_bytes");
  EXPECT_FAIL(SPAWN("'program':'p','limits':{'memory_bytes':1048576.5}"), "NotAnInteger",
              "params.limits.memory_bytes");
  EXPECT_FAIL(SPAWN("'program':'p','limits':{'cpu_time_ms':'1'}"), "WrongType",
              "params.limits.cpu_time_ms");
}

/* ------------------------------------------------------------------------ */
/* wait, kill                                                               */

SB_TEST(wait_params) {
  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(ENVELOPE("wait", "'pid':1234"), &req, &e) == 0);
  CHECK_INT(req.method, SB_METHOD_WAIT);
  CHECK_INT(req.params.wait.pid, 1234);
  CHECK_INT(req.params.wait.timeout_ms, -1);
  sb_request_free(&req);
  REQUIRE(decode(ENVELOPE("wait", "'timeout_ms':0,'pid':1"), &req, &e) == 0);
  CHECK_INT(req.params.wait.timeout_ms, 0);
  sb_request_free(&req);
  EXPECT_FAIL(ENVELOPE("wait", ""), "MissingKey", "params.pid");
  EXPECT_FAIL(ENVELOPE("wait", "'pid':0"), "OutOfRange", "params.pid");
  EXPECT_FAIL(ENVELOPE("wait", "'pid':1,'timeout_ms':-1"), "OutOfRange", "params.timeout_ms");
  EXPECT_FAIL(ENVELOPE("wait", "'pid':1,'timeout_ms':null"), "WrongType", "params.timeout_ms");
  EXPECT_FAIL(ENVELOPE("wait", "'pid':1,'timeout':5"), "UnknownKey", "params.timeout");
}

SB_TEST(kill_params) {
  sb_request req;
  sb_decode_error e;
  REQUIRE(decode(ENVELOPE("kill", "'pid':77"), &req, &e) == 0);
  CHECK_INT(req.method, SB_METHOD_KILL);
  CHECK_INT(req.params.kill.pid, 77);
  CHECK_INT(req.params.kill.exit_code, 1);
  sb_request_free(&req);
  REQUIRE(decode(ENVELOPE("kill", "'pid':77,'exit_code':0"), &req, &e) == 0);
  CHECK_INT(req.params.kill.exit_code, 0);
  sb_request_free(&req);
  REQUIRE(decode(ENVELOPE("kill", "'pid':77,'exit_code':4294967295"), &req, &e) == 0);
  CHECK(req.params.kill.exit_code == 4294967295u);
  sb_request_free(&req);
  EXPECT_FAIL(ENVELOPE("kill", "'exit_code':1"), "MissingKey", "params.pid");
  EXPECT_FAIL(ENVELOPE("kill", "'pid':77,'exit_code':-1"), "OutOfRange", "params.exit_code");
  EXPECT_FAIL(ENVELOPE("kill", "'pid':77,'exit_code':4294967296"), "OutOfRange",
              "params.exit_code");
  EXPECT_FAIL(ENVELOPE("kill", "'pid':77,'exit_code':1.25"), "NotAnInteger", "params.exit_code");
}

/* ------------------------------------------------------------------------ */
/* Details, paths, API edges                                                */

/* True when s is valid UTF-8 (a simple, independent check for the tests). */
static bool utf8_ok(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2
                       : (*p & 0xF8) == 0xF0 ? 3 : -1;
    if (n < 0) return false;
    p++;
    for (int i = 0; i < n; i++, p++)
      if ((*p & 0xC0) != 0x80) return false;
  }
  return true;
}

SB_TEST(long_user_text_is_cut_at_characters) {
  /* An unknown key of 200 two-byte characters: path and detail must be cut
   * short without splitting a character, at every possible offset. */
  for (int shift = 0; shift < 4; shift++) {
    char frame[1024];
    size_t n = (size_t)snprintf(frame, sizeof frame,
                                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"spawn\",\"params\":{"
                                "\"program\":\"p\",\"");
    for (int i = 0; i < shift; i++) frame[n++] = 'a';
    for (int i = 0; i < 200; i++) {
      frame[n++] = '\xC3';
      frame[n++] = '\xA9';
    }
    n += (size_t)snprintf(frame + n, sizeof frame - n, "\":1}}");
    sb_request r;
    sb_decode_error e;
    int rc = sb_decode_request(frame, n, &r, &e);
    CHECK_STR(sb_err_name(rc), "UnknownKey");
    CHECK(strncmp(e.path, "params.", 7) == 0);
    CHECK(strlen(e.path) >= sizeof e.path - 3);
    CHECK(strlen(e.path) < sizeof e.path);
    CHECK(utf8_ok(e.path));
    CHECK(strlen(e.detail) >= sizeof e.detail - 4);
    CHECK(utf8_ok(e.detail));
  }
}

SB_TEST(api_edges) {
  sb_request req;
  sb_decode_error e;
  const char *f = J("{'jsonrpc':'2.0','id':1,'method':'ping'}");
  CHECK_INT(sb_decode_request(NULL, 5, &req, &e), SB_E_INVALID_ARGUMENT);
  CHECK(req.sb__owned == NULL);
  CHECK_INT(sb_decode_request(f, strlen(f), NULL, &e), SB_E_INVALID_ARGUMENT);
  CHECK_INT(e.err, SB_E_INVALID_ARGUMENT);
  /* derr is optional. */
  CHECK_INT(sb_decode_request(f, strlen(f), &req, NULL), 0);
  sb_request_free(&req);
  CHECK_INT(sb_decode_request("{", 1, &req, NULL), SB_E_PARSE);
  /* The length is honoured: the bytes after it are never read. */
  CHECK_INT(sb_decode_request(f, strlen(f) - 1, &req, &e), SB_E_PARSE);
  char longer[128];
  snprintf(longer, sizeof longer, "%sGARBAGE", f);
  CHECK_INT(sb_decode_request(longer, strlen(f), &req, &e), 0);
  sb_request_free(&req);
  /* Freeing a request the caller built (sb__owned NULL) does nothing. */
  sb_request mine;
  memset(&mine, 0, sizeof mine);
  mine.method = SB_METHOD_WAIT;
  mine.params.wait.pid = 9;
  sb_request_free(&mine);
  CHECK_INT(mine.params.wait.pid, 9);
  sb_request_free(NULL);
}

SB_TEST(every_failure_frees) {
  /* Failures after args and env were allocated leave nothing behind (ASan
   * and valgrind runs check the "nothing" part). */
  EXPECT_FAIL(SPAWN("'program':'p','args':['a','b'],'env':['A=1'],'lifetime':'x'"),
              "UnknownValue", "params.lifetime");
  EXPECT_FAIL(SPAWN("'program':'p','args':['a','b'],'env':['A=1','a=2']"), "DuplicateEnvName",
              "params.env[1]");
  EXPECT_FAIL(SPAWN("'program':'p','args':['a',2]"), "WrongType", "params.args[1]");
}

SB_TEST_MAIN(SB_CASE(ping_minimal), SB_CASE(no_param_methods), SB_CASE(key_order_and_whitespace),
             SB_CASE(ids), SB_CASE(id_reported_with_later_errors), SB_CASE(envelope_keys),
             SB_CASE(methods), SB_CASE(top_level_shapes), SB_CASE(malformed_json),
             SB_CASE(trailing_garbage), SB_CASE(raw_control_and_nul_bytes), SB_CASE(nul_escapes),
             SB_CASE(escapes_decoded), SB_CASE(lone_surrogate_escapes), SB_CASE(invalid_utf8),
             SB_CASE(numbers), SB_CASE(hello), SB_CASE(spawn_defaults), SB_CASE(spawn_everything),
             SB_CASE(spawn_keys), SB_CASE(spawn_types), SB_CASE(spawn_env),
             SB_CASE(spawn_handles_b5), SB_CASE(spawn_handle_fields), SB_CASE(handle_values_b1),
             SB_CASE(spawn_std_streams), SB_CASE(spawn_handles_env), SB_CASE(spawn_expand_handles),
             SB_CASE(spawn_lifetime_limits), SB_CASE(wait_params), SB_CASE(kill_params),
             SB_CASE(long_user_text_is_cut_at_characters), SB_CASE(api_edges),
             SB_CASE(every_failure_frees))
