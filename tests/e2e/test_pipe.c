/*
 * End-to-end tests of the broker's pipe server and spawnctl, under Wine:
 * a real spawnbroker.exe on a private pipe, real clients.
 */
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "sb_proto.h"
#include "sb_test.h"
#include "sb_win_test.h"

/* Sends one frame and decodes the reply frame. */
static int exchange(HANDLE h, const char *frame, sb_incoming *in, char *raw, size_t cap) {
  size_t len;
  int rc = sbt_pipe_write(h, frame, strlen(frame));
  if (rc == 0) rc = sbt_pipe_read_line(h, raw, cap, &len);
  if (rc == 0) rc = sb_decode_incoming(raw, len, in);
  return rc;
}

#define HELLO "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\",\"params\":{\"protocol\":1}}\n"

SB_TEST(spawnctl_ping_answers) {
  sbt_broker b;
  sbt_run r;
  wchar_t args[256];
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  _snwprintf(args, 256, L"--pipe %ls ping", b.pipe);
  CHECK_INT(sbt_run_capture(L"spawnctl.exe", args, 20000, &r), 0);
  CHECK_INT(r.exit_code, 0);
  CHECK(strncmp(r.out, "pong in ", 8) == 0);
  sbt_broker_stop(&b);
}

SB_TEST(hello_reports_version_and_broker_pid) {
  sbt_broker b;
  sb_incoming in;
  sb_result res;
  char raw[4096];
  HANDLE h;
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  h = sbt_pipe_open(&b);
  REQUIRE(h != NULL);
  REQUIRE(exchange(h, HELLO, &in, raw, sizeof raw) == 0);
  CHECK_INT(in.kind, SB_INCOMING_RESULT);
  CHECK_INT(in.id.number, 1);
  REQUIRE(sb_decode_result(&in, SB_METHOD_HELLO, &res) == 0);
  CHECK_INT(res.u.hello.protocol, 1);
  CHECK_INT(res.u.hello.pid, b.pid);
  CHECK_INT(res.u.hello.max_frame_bytes, SB_LIMIT_FRAME_BYTES);
  CHECK_INT(res.u.hello.max_handles, SB_LIMIT_HANDLES);
  sb_result_free(&res);
  sb_incoming_free(&in);
  CloseHandle(h);
  sbt_broker_stop(&b);
}

SB_TEST(unsupported_protocol_is_refused_by_name) {
  sbt_broker b;
  sb_incoming in;
  char raw[4096];
  HANDLE h;
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  h = sbt_pipe_open(&b);
  REQUIRE(h != NULL);
  REQUIRE(exchange(h, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"hello\",\"params\":{\"protocol\":99}}\n",
                   &in, raw, sizeof raw) == 0);
  CHECK_INT(in.kind, SB_INCOMING_ERROR);
  CHECK_STR(in.error.name, "UnsupportedProtocol");
  CHECK_INT(in.id.number, 7);
  sb_incoming_free(&in);
  CloseHandle(h);
  sbt_broker_stop(&b);
}

SB_TEST(unparseable_frame_gets_error_then_close) {
  sbt_broker b;
  sb_incoming in;
  char raw[4096];
  size_t len;
  HANDLE h;
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  h = sbt_pipe_open(&b);
  REQUIRE(h != NULL);
  /* The second frame must never be answered: after a parse error the
   * broker no longer trusts the stream and closes it. */
  REQUIRE(exchange(h, "{\"jsonrpc\":\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n",
                   &in, raw, sizeof raw) == 0);
  CHECK_INT(in.kind, SB_INCOMING_ERROR);
  CHECK_STR(in.error.name, "ParseError");
  CHECK_INT(in.error.rpc_code, -32700);
  CHECK_INT(in.id.kind, SB_ID_NULL);
  sb_incoming_free(&in);
  CHECK_INT(sbt_pipe_read_line(h, raw, sizeof raw, &len), SB_E_CLOSED);
  CloseHandle(h);
  sbt_broker_stop(&b);
}

SB_TEST(invalid_request_keeps_connection_open) {
  sbt_broker b;
  sb_incoming in;
  char raw[4096];
  HANDLE h;
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  h = sbt_pipe_open(&b);
  REQUIRE(h != NULL);
  REQUIRE(exchange(h, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"frobnicate\"}\n", &in, raw,
                   sizeof raw) == 0);
  CHECK_STR(in.error.name, "MethodNotFound");
  CHECK_INT(in.id.number, 3);
  sb_incoming_free(&in);
  REQUIRE(exchange(h, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}\n", &in, raw,
                   sizeof raw) == 0);
  CHECK_INT(in.kind, SB_INCOMING_RESULT);
  CHECK_INT(in.id.number, 4);
  sb_incoming_free(&in);
  CloseHandle(h);
  sbt_broker_stop(&b);
}

SB_TEST(oversized_frame_closes_only_that_connection) {
  sbt_broker b;
  sb_incoming in;
  static char big[SB_LIMIT_FRAME_BYTES + 2];
  char raw[4096];
  size_t len;
  HANDLE h, other;
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  other = sbt_pipe_open(&b);
  REQUIRE(other != NULL);
  h = sbt_pipe_open(&b);
  REQUIRE(h != NULL);
  memset(big, ' ', sizeof big); /* never a newline: the frame does not end */
  CHECK_INT(sbt_pipe_write(h, big, sizeof big), 0);
  REQUIRE(sbt_pipe_read_line(h, raw, sizeof raw, &len) == 0);
  REQUIRE(sb_decode_incoming(raw, len, &in) == 0);
  CHECK_STR(in.error.name, "FrameTooLarge");
  sb_incoming_free(&in);
  CHECK_INT(sbt_pipe_read_line(h, raw, sizeof raw, &len), SB_E_CLOSED);
  CloseHandle(h);
  /* The other client is unaffected. */
  REQUIRE(exchange(other, HELLO, &in, raw, sizeof raw) == 0);
  CHECK_INT(in.kind, SB_INCOMING_RESULT);
  sb_incoming_free(&in);
  CloseHandle(other);
  sbt_broker_stop(&b);
}

SB_TEST(spawnctl_without_broker_exits_125_promptly) {
  sbt_run r;
  CHECK_INT(sbt_run_capture(L"spawnctl.exe", L"--pipe sb-test-nobody-listens ping", 20000, &r), 0);
  CHECK_INT(r.exit_code, 125);
  CHECK(strstr(r.err, "no broker is listening") != NULL);
  /* One line, and well before spawnctl's own 10 s timeout. */
  CHECK(strchr(r.err, '\n') == r.err + strlen(r.err) - 1);
  CHECK(r.elapsed_ms < 5000);
}

SB_TEST(spawnctl_call_prints_raw_error_reply) {
  sbt_broker b;
  sbt_run r;
  wchar_t args[256];
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  _snwprintf(args, 256, L"--pipe %ls call wait \"{\\\"pid\\\":0}\"", b.pipe);
  CHECK_INT(sbt_run_capture(L"spawnctl.exe", args, 20000, &r), 0);
  CHECK_INT(r.exit_code, 1);
  CHECK(strstr(r.out, "\"name\":\"OutOfRange\"") != NULL);
  CHECK(strstr(r.out, "\"path\":\"params.pid\"") != NULL);
  sbt_broker_stop(&b);
}

SB_TEST_MAIN(SB_CASE(spawnctl_ping_answers), SB_CASE(hello_reports_version_and_broker_pid),
             SB_CASE(unsupported_protocol_is_refused_by_name),
             SB_CASE(unparseable_frame_gets_error_then_close),
             SB_CASE(invalid_request_keeps_connection_open),
             SB_CASE(oversized_frame_closes_only_that_connection),
             SB_CASE(spawnctl_without_broker_exits_125_promptly),
             SB_CASE(spawnctl_call_prints_raw_error_reply))
