/*
 * The broker's log file end to end: `run --log-file` writes it (stderr
 * goes on as before), and the broker rotates it by log.max_bytes, keeping
 * log.keep old files. broker/log_file.c's own test (tests/broker) checks
 * the rotation at its limits byte by byte; this one checks that the
 * broker's settings reach it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

#include "sb_errors.h"
#include "sb_test.h"
#include "sb_win_test.h"

/* Frames the decoder refuses without closing the connection, each logged
 * at debug level as one "refused frame" line of about 80 bytes. */
static int send_refused_frames(const sbt_broker *b, int count) {
  HANDLE h = sbt_pipe_open(b);
  char frame[128], reply[1024];
  size_t len;
  int rc = 0;
  if (h == NULL) return SB_E_IO;
  for (int sent = 0; sent < count && rc == 0;) {
    int batch = count - sent < 50 ? count - sent : 50;
    for (int i = 0; i < batch && rc == 0; i++) {
      int n = snprintf(frame, sizeof frame,
                       "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"ping\",\"params\":{\"x\":1}}\n",
                       sent + i);
      rc = sbt_pipe_write(h, frame, (size_t)n);
    }
    for (int i = 0; i < batch && rc == 0; i++) rc = sbt_pipe_read_line(h, reply, sizeof reply, &len);
    sent += batch;
  }
  CloseHandle(h);
  return rc;
}

SB_TEST(run_writes_and_rotates_its_log_file_by_the_settings) {
  sbt_broker b;
  wchar_t tmp[MAX_PATH], log[MAX_PATH], args[800];
  char *text;
  GetTempPathW(MAX_PATH, tmp);
  _snwprintf(log, MAX_PATH, L"%lssbt-log-%lu.log", tmp, GetCurrentProcessId());
  sbt_remove_rotated(log, 3);
  /* The smallest max_bytes (64 KiB) and keep 1: 2000 lines of about 80
   * bytes make more than three files' worth, so the oldest must go. */
  _snwprintf(args, 800,
             L"--log-level debug --log-file \"%ls\" --set log.max_bytes=65536 --set log.keep=1",
             log);
  REQUIRE(sbt_broker_start(&b, args) == 0);
  CHECK_INT(send_refused_frames(&b, 2000), 0);
  sbt_broker_stop(&b);

  CHECK(sbt_rotated_size(log, 0) > 0 && sbt_rotated_size(log, 0) <= 65536);
  CHECK(sbt_rotated_size(log, 1) > 60000 && sbt_rotated_size(log, 1) <= 65536);
  CHECK_INT(sbt_rotated_size(log, 2), -1);
  text = sbt_read_text_file(log);
  CHECK(text != NULL);
  CHECK(sbt_count_lines(text, "debug: refused frame: UnknownKey") > 0);
  free(text);
  /* The first lines (the start) were in a file that is gone now. */
  text = sbt_read_text_file(log);
  CHECK_INT(sbt_count_lines(text, "info: listening on"), 0);
  free(text);
  sbt_remove_rotated(log, 3);
}

SB_TEST(run_logs_to_the_file_from_the_start) {
  sbt_broker b;
  wchar_t tmp[MAX_PATH], log[MAX_PATH], args[800];
  char *text, want[200];
  GetTempPathW(MAX_PATH, tmp);
  _snwprintf(log, MAX_PATH, L"%lssbt-log-start-%lu.log", tmp, GetCurrentProcessId());
  sbt_remove_rotated(log, 3);
  _snwprintf(args, 800, L"--log-file \"%ls\"", log);
  REQUIRE(sbt_broker_start(&b, args) == 0);
  /* The pipe accepts connections a little before the loop thread writes
   * "listening on" (the pool is filled in between), and the broker is
   * stopped hard: one answered frame proves the loop thread has run past
   * the line. (CI once killed the broker inside that window.) */
  CHECK_INT(send_refused_frames(&b, 1), 0);
  sbt_broker_stop(&b);
  text = sbt_read_text_file(log);
  snprintf(want, sizeof want, "info: listening on %s (transfer auto", b.pipe_utf8);
  CHECK(text != NULL);
  CHECK_INT(sbt_count_lines(text, want), 1);
  /* info level: no debug lines. */
  CHECK_INT(sbt_count_lines(text, " debug: "), 0);
  free(text);
  sbt_remove_rotated(log, 3);
}

SB_TEST(run_refuses_a_log_file_it_cannot_open) {
  sbt_run r;
  CHECK_INT(sbt_run_capture(L"spawnbroker.exe",
                            L"run --pipe sbt-log-nowhere --log-file C:\\no\\such\\folder\\x.log",
                            60000, &r),
            0);
  CHECK_INT(r.exit_code, 1);
  CHECK(strstr(r.err, "spawnbroker: cannot open the log file C:\\no\\such\\folder\\x.log") != NULL);
}

SB_TEST_MAIN(SB_CASE(run_writes_and_rotates_its_log_file_by_the_settings),
             SB_CASE(run_logs_to_the_file_from_the_start),
             SB_CASE(run_refuses_a_log_file_it_cannot_open))
