/*
 * broker/log_file.c under Wine: the rotating log file at its limits
 * (log.max_bytes: a file at exactly the limit stays, one byte more
 * rotates; log.keep: that many old files, not one more), appending to what
 * is there, a file that cannot be renamed, and many threads at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

#include "log_file.h"
#include "sb_errors.h"
#include "sb_test.h"
#include "sb_win_test.h"

/* A fresh path in the temp folder, with nothing at it or its rotations. */
static void fresh_path(wchar_t *path) {
  static LONG n;
  wchar_t dir[MAX_PATH];
  GetTempPathW(MAX_PATH, dir);
  _snwprintf(path, MAX_PATH, L"%lssbt-logfile-%lu-%ld.log", dir, GetCurrentProcessId(),
             InterlockedIncrement(&n));
  sbt_remove_rotated(path, 101);
}

/* The text of PATH (n == 0) or PATH.n. */
static char *read_all(const wchar_t *path, int n) {
  wchar_t name[MAX_PATH + 8];
  if (n == 0)
    return sbt_read_text_file(path);
  _snwprintf(name, MAX_PATH + 8, L"%ls.%d", path, n);
  return sbt_read_text_file(name);
}

/* n bytes of 'c', the last one a newline. */
static void write_line(sb__log_file *f, char c, size_t n) {
  char buf[256];
  memset(buf, c, n - 1);
  buf[n - 1] = '\n';
  sb__log_file_write(f, buf, n);
}

SB_TEST(a_file_at_max_bytes_stays_one_byte_more_rotates) {
  wchar_t path[MAX_PATH];
  sb__log_file *f = NULL;
  fresh_path(path);
  REQUIRE(sb__log_file_open(path, 100, 2, &f) == 0);
  write_line(f, 'a', 60);
  write_line(f, 'b', 40);
  /* Exactly 100 bytes: at the limit, not past it. */
  CHECK_INT(sbt_rotated_size(path, 0), 100);
  CHECK_INT(sbt_rotated_size(path, 1), -1);
  write_line(f, 'c', 1);
  CHECK_INT(sbt_rotated_size(path, 0), 1);
  CHECK_INT(sbt_rotated_size(path, 1), 100);
  CHECK_INT(sb__log_file_failures(f), 0);
  sb__log_file_close(f);
  sbt_remove_rotated(path, 101);
}

SB_TEST(keep_old_files_and_not_one_more) {
  wchar_t path[MAX_PATH];
  sb__log_file *f = NULL;
  char *text;
  fresh_path(path);
  REQUIRE(sb__log_file_open(path, 10, 3, &f) == 0);
  /* Each 10-byte line fills a file: a, b, c, d, e -> files e | d c b; a gone. */
  for (char c = 'a'; c <= 'e'; c++) write_line(f, c, 10);
  sb__log_file_close(f);
  text = read_all(path, 0);
  CHECK(text != NULL && text[0] == 'e');
  free(text);
  text = read_all(path, 1);
  CHECK(text != NULL && text[0] == 'd');
  free(text);
  text = read_all(path, 3);
  CHECK(text != NULL && text[0] == 'b');
  free(text);
  CHECK_INT(sbt_rotated_size(path, 4), -1);
  sbt_remove_rotated(path, 101);
}

SB_TEST(keep_is_between_1_and_100) {
  wchar_t path[MAX_PATH];
  sb__log_file *f = NULL;
  fresh_path(path);
  CHECK_INT(sb__log_file_open(path, 100, 0, &f), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb__log_file_open(path, 100, 101, &f), SB_E_INVALID_ARGUMENT);
  CHECK(f == NULL);
  REQUIRE(sb__log_file_open(path, 10, 100, &f) == 0);
  /* 101 full files: the 100 old ones are .1 to .100. */
  for (int i = 0; i < 101; i++) write_line(f, 'x', 10);
  sb__log_file_close(f);
  CHECK_INT(sbt_rotated_size(path, 100), 10);
  CHECK_INT(sbt_rotated_size(path, 101), -1);
  sbt_remove_rotated(path, 101);
}

SB_TEST(an_existing_file_is_appended_to_and_counted) {
  wchar_t path[MAX_PATH];
  sb__log_file *f = NULL;
  char *text;
  fresh_path(path);
  REQUIRE(sb__log_file_open(path, 100, 1, &f) == 0);
  write_line(f, 'a', 90);
  sb__log_file_close(f);
  REQUIRE(sb__log_file_open(path, 100, 1, &f) == 0);
  write_line(f, 'b', 10);
  CHECK_INT(sbt_rotated_size(path, 0), 100);
  write_line(f, 'c', 10);
  sb__log_file_close(f);
  text = read_all(path, 1);
  CHECK(text != NULL && text[0] == 'a' && text[90] == 'b');
  free(text);
  CHECK_INT(sbt_rotated_size(path, 0), 10);
  sbt_remove_rotated(path, 101);
}

/* Someone holds the file open without FILE_SHARE_DELETE: the rename fails,
 * the lines still go into the file, and rotation is tried again only after
 * another max_bytes. */
SB_TEST(a_file_that_cannot_be_renamed_keeps_every_line) {
  wchar_t path[MAX_PATH];
  sb__log_file *f = NULL;
  HANDLE reader;
  uint64_t failures;
  fresh_path(path);
  REQUIRE(sb__log_file_open(path, 100, 1, &f) == 0);
  write_line(f, 'a', 100);
  reader = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                       0, NULL);
  REQUIRE(reader != INVALID_HANDLE_VALUE);
  write_line(f, 'b', 50);
  failures = sb__log_file_failures(f);
  CHECK(failures >= 1);
  CHECK_INT(sbt_rotated_size(path, 0), 150);
  CHECK_INT(sbt_rotated_size(path, 1), -1);
  /* No new attempt until another 100 bytes. */
  write_line(f, 'c', 50);
  CHECK_INT(sb__log_file_failures(f), failures);
  CHECK_INT(sbt_rotated_size(path, 0), 200);
  CloseHandle(reader);
  write_line(f, 'd', 50);
  CHECK_INT(sbt_rotated_size(path, 1), 200);
  CHECK_INT(sbt_rotated_size(path, 0), 50);
  sb__log_file_close(f);
  sbt_remove_rotated(path, 101);
}

typedef struct writer {
  sb__log_file *f;
  int id;
} writer;

#define WRITERS 8
#define LINES 400

static DWORD WINAPI writer_main(void *arg) {
  writer *w = arg;
  for (int i = 0; i < LINES; i++) {
    char line[64];
    int n = snprintf(line, sizeof line, "writer %d line %04d end\n", w->id, i);
    sb__log_file_write(w->f, line, (size_t)n);
  }
  return 0;
}

SB_TEST(many_threads_write_whole_lines_and_lose_none) {
  wchar_t path[MAX_PATH];
  sb__log_file *f = NULL;
  HANDLE threads[WRITERS];
  writer w[WRITERS];
  int seen[WRITERS][LINES];
  size_t total = 0;
  fresh_path(path);
  memset(seen, 0, sizeof seen);
  /* Small files, kept all: about 80 rotations while 8 threads write. */
  REQUIRE(sb__log_file_open(path, 1200, 100, &f) == 0);
  for (int i = 0; i < WRITERS; i++) {
    w[i].f = f;
    w[i].id = i;
    threads[i] = CreateThread(NULL, 0, writer_main, &w[i], 0, NULL);
    REQUIRE(threads[i] != NULL);
  }
  WaitForMultipleObjects(WRITERS, threads, TRUE, INFINITE);
  for (int i = 0; i < WRITERS; i++) CloseHandle(threads[i]);
  CHECK_INT(sb__log_file_failures(f), 0);
  sb__log_file_close(f);
  for (int n = 0; n <= 100; n++) {
    char *text = read_all(path, n), *line;
    if (text == NULL) continue;
    CHECK(sbt_rotated_size(path, n) <= 1200);
    for (line = text; *line != '\0';) {
      int id = -1, i = -1, used = 0;
      char *end = strchr(line, '\n');
      if (end == NULL || sscanf(line, "writer %d line %d end%n", &id, &i, &used) != 2 ||
          line + used != end || id < 0 || id >= WRITERS || i < 0 || i >= LINES) {
        SB__FAIL("a broken line in file %d: %.40s", n, line);
        break;
      }
      seen[id][i]++;
      total++;
      line = end + 1;
    }
    free(text);
  }
  CHECK_INT(total, WRITERS * LINES);
  for (int id = 0; id < WRITERS; id++)
    for (int i = 0; i < LINES; i++)
      if (seen[id][i] != 1) SB__FAIL("writer %d line %d seen %d times", id, i, seen[id][i]);
  sbt_remove_rotated(path, 101);
}

SB_TEST_MAIN(SB_CASE(a_file_at_max_bytes_stays_one_byte_more_rotates),
             SB_CASE(keep_old_files_and_not_one_more), SB_CASE(keep_is_between_1_and_100),
             SB_CASE(an_existing_file_is_appended_to_and_counted),
             SB_CASE(a_file_that_cannot_be_renamed_keeps_every_line),
             SB_CASE(many_threads_write_whole_lines_and_lose_none))
