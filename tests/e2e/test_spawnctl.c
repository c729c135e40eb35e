/*
 * End-to-end tests of spawnctl run against the real broker, with each of its
 * options (TESTPLAN E1-E3), and of the client library's exit events. The
 * child is sb_child.exe, which reports from inside what it was given
 * (tests/support/sb_child_report.h).
 *
 * tests/e2e/test_client.c checks the same command line against a fake
 * broker (exactly which request spawnctl builds, how it maps each refusal
 * to an exit code); the cases here check what really happens to the child.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

#include "sb_child_report.h"
#include "sb_proto.h"
#include "sb_test.h"
#include "sb_win_test.h"
#include "spawnclient.h"

static wchar_t child_path[MAX_PATH];
static char child_path_utf8[MAX_PATH * 3];

static bool find_child(void) {
  if (sbt_exe_path(L"sb_child.exe", child_path, MAX_PATH) != 0) return false;
  WideCharToMultiByte(CP_UTF8, 0, child_path, -1, child_path_utf8, sizeof child_path_utf8, NULL,
                      NULL);
  return GetFileAttributesW(child_path) != INVALID_FILE_ATTRIBUTES;
}

/* Runs "spawnctl --pipe <broker> run OPTIONS -- sb_child.exe CHILD-ARGS".
 * `options` and `child` are wide printf formats' results. */
static int run_child(const sbt_broker *b, const wchar_t *options, const wchar_t *child,
                     sbt_run *r) {
  wchar_t args[4096];
  _snwprintf(args, 4096, L"--pipe %ls run %ls -- \"%ls\" %ls", b->pipe, options, child_path,
             child);
  args[4095] = L'\0';
  return sbt_run_capture(L"spawnctl.exe", args, 60000, r);
}

/* A unique temp file path (wide and UTF-8), not yet created. */
static void temp_file(const wchar_t *tag, wchar_t *w, char *utf8) {
  static LONG n;
  wchar_t dir[MAX_PATH];
  GetTempPathW(MAX_PATH, dir);
  _snwprintf(w, MAX_PATH, L"%lssb-spawnctl-%ls-%lu-%ld.txt", dir, tag, GetCurrentProcessId(),
             InterlockedIncrement(&n));
  WideCharToMultiByte(CP_UTF8, 0, w, -1, utf8, MAX_PATH * 3, NULL, NULL);
  DeleteFileW(w);
}

static bool write_file(const wchar_t *path, const char *text) {
  HANDLE h = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
  DWORD put = 0;
  bool ok = h != INVALID_HANDLE_VALUE && WriteFile(h, text, (DWORD)strlen(text), &put, NULL) &&
            put == strlen(text);
  if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
  return ok;
}

/* The file's contents, NUL-terminated, in buf (truncated to cap - 1). */
static bool read_file(const wchar_t *path, char *buf, size_t cap) {
  HANDLE h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                         OPEN_EXISTING, 0, NULL);
  DWORD got = 0;
  bool ok = h != INVALID_HANDLE_VALUE && ReadFile(h, buf, (DWORD)cap - 1, &got, NULL);
  buf[ok ? got : 0] = '\0';
  if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
  return ok;
}

/* The n-th line (from 0) of text, copied into line. */
static bool nth_line(const char *text, int n, char *line, size_t cap) {
  for (; n > 0 && text != NULL; n--) {
    text = strchr(text, '\n');
    if (text != NULL) text++;
  }
  if (text == NULL || *text == '\0') return false;
  size_t len = strcspn(text, "\r\n");
  if (len >= cap) len = cap - 1;
  memcpy(line, text, len);
  line[len] = '\0';
  return true;
}

static bool one_line(const char *s) {
  size_t n = strlen(s);
  return n > 0 && strchr(s, '\n') == s + n - 1;
}

/* ------------------------------------------------------------------------ */
/* E1: run streams the child's output and exits with its code               */

SB_TEST(run_streams_output_and_exits_with_the_child_code) {
  sbt_broker b;
  sbt_run r;
  sbt_child_report rep;
  char line[8192];
  REQUIRE(find_child());
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  CHECK_INT(run_child(&b, L"", L"report exit 7", &r), 0);
  CHECK_INT(r.exit_code, 7);
  CHECK_STR(r.err, "");
  REQUIRE(nth_line(r.out, 0, line, sizeof line));
  REQUIRE(sbt_child_report_parse(line, &rep) == 0);
  /* spawnctl's own three standard handles (a NUL stdin and two pipes,
   * from sbt_run_capture) and nothing else. */
  CHECK(rep.std_in != 0 && rep.std_in != -1);
  CHECK(rep.std_out != 0 && rep.std_out != -1);
  CHECK(rep.std_err != 0 && rep.std_err != -1);
  CHECK_INT(sbt_child_report_inheritable_count(&rep), 3);
  sbt_child_report_free(&rep);
  sbt_broker_stop(&b);
}

SB_TEST(run_passes_exit_codes_through_unchanged) {
  static const struct {
    const wchar_t *arg;
    DWORD code;
  } cases[] = {{L"exit 0", 0}, {L"exit 1", 1}, {L"exit 255", 255},
               {L"exit 3221225477", 3221225477u}};
  sbt_broker b;
  REQUIRE(find_child());
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    sbt_run r;
    CHECK_INT(run_child(&b, L"", cases[i].arg, &r), 0);
    CHECK_INT(r.exit_code, cases[i].code);
  }
  sbt_broker_stop(&b);
}

SB_TEST(run_missing_program_exits_127) {
  sbt_broker b;
  sbt_run r;
  wchar_t args[512];
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  _snwprintf(args, 512, L"--pipe %ls run -- C:\\sb-no-such-dir\\nope.exe", b.pipe);
  CHECK_INT(sbt_run_capture(L"spawnctl.exe", args, 60000, &r), 0);
  CHECK_INT(r.exit_code, 127);
  CHECK(strncmp(r.err, "spawnctl: ExecutableNotFound: ", 30) == 0);
  CHECK(one_line(r.err));
  sbt_broker_stop(&b);
}

SB_TEST(run_not_executable_program_exits_126) {
  sbt_broker b;
  sbt_run r;
  wchar_t file[MAX_PATH], exe[MAX_PATH], args[1024];
  char file_utf8[MAX_PATH * 3];
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  /* A text file that claims to be a program. */
  temp_file(L"notexe", file, file_utf8);
  _snwprintf(exe, MAX_PATH, L"%ls.exe", file);
  REQUIRE(write_file(exe, "this is not a program\r\n"));
  _snwprintf(args, 1024, L"--pipe %ls run -- \"%ls\"", b.pipe, exe);
  CHECK_INT(sbt_run_capture(L"spawnctl.exe", args, 60000, &r), 0);
  CHECK_INT(r.exit_code, 126);
  CHECK(strncmp(r.err, "spawnctl: NotExecutable: ", 25) == 0);
  DeleteFileW(exe);
  sbt_broker_stop(&b);
}

/* ------------------------------------------------------------------------ */
/* E2: every option end to end                                              */

SB_TEST(run_handle_passes_an_inherited_handle) {
  sbt_broker b;
  sbt_run r;
  wchar_t file[MAX_PATH], opts[512];
  char file_utf8[MAX_PATH * 3], text[256];
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  HANDLE h;
  REQUIRE(find_child());
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  temp_file(L"handle", file, file_utf8);
  /* Inheritable so that spawnctl (started by sbt_run_capture with
   * inheritance) holds it at the same value, as a parent would arrange. */
  h = CreateFileW(file, GENERIC_WRITE, FILE_SHARE_READ, &sa, CREATE_ALWAYS, 0, NULL);
  REQUIRE(h != INVALID_HANDLE_VALUE);
  _snwprintf(opts, 512, L"--handle log=%llu --expand-handles", (unsigned long long)(uintptr_t)h);
  CHECK_INT(run_child(&b, opts, L"write {handle:log} hello-through-handle", &r), 0);
  CHECK_INT(r.exit_code, 0);
  CloseHandle(h);
  CHECK(read_file(file, text, sizeof text));
  CHECK_STR(text, "hello-through-handle");
  DeleteFileW(file);
  sbt_broker_stop(&b);
}

SB_TEST(run_file_modes_and_std_redirection) {
  sbt_broker b;
  sbt_run r;
  wchar_t file[MAX_PATH], opts[1024];
  char file_utf8[MAX_PATH * 3], text[8192];
  sbt_child_report rep;
  REQUIRE(find_child());
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  temp_file(L"file-\u00e9", file, file_utf8);

  /* w, as the child's stdout: the report lands in the file. */
  _snwprintf(opts, 1024, L"--file \"out=%ls:w\" --stdout out", file);
  CHECK_INT(run_child(&b, opts, L"report", &r), 0);
  CHECK_INT(r.exit_code, 0);
  CHECK_STR(r.out, "");
  CHECK(read_file(file, text, sizeof text));
  CHECK(sbt_child_report_parse(text, &rep) == 0);
  sbt_child_report_free(&rep);

  /* r, as the child's stdin: cat copies it to stdout. */
  REQUIRE(write_file(file, "line one\nline two\n"));
  _snwprintf(opts, 1024, L"--file \"in=%ls:r\" --stdin in", file);
  CHECK_INT(run_child(&b, opts, L"cat", &r), 0);
  CHECK_INT(r.exit_code, 0);
  CHECK_STR(r.out, "line one\nline two\n");

  /* a: appends, whatever the child's position. Unnamed: file1. */
  REQUIRE(write_file(file, "A"));
  _snwprintf(opts, 1024, L"--file \"%ls:a\" --expand-handles", file);
  CHECK_INT(run_child(&b, opts, L"write {handle:file1} B", &r), 0);
  CHECK_INT(r.exit_code, 0);
  CHECK(read_file(file, text, sizeof text));
  CHECK_STR(text, "AB");

  /* rw */
  _snwprintf(opts, 1024, L"--file \"f=%ls:rw\" --expand-handles", file);
  CHECK_INT(run_child(&b, opts, L"write {handle:f} C", &r), 0);
  CHECK(read_file(file, text, sizeof text));
  CHECK_STR(text, "CB");
  DeleteFileW(file);
  sbt_broker_stop(&b);
}

SB_TEST(run_fd_sets_a_crt_descriptor) {
  sbt_broker b;
  sbt_run r;
  wchar_t file[MAX_PATH], opts[1024];
  char file_utf8[MAX_PATH * 3], want[64], spawn_line[2048], *v;
  long long value;
  REQUIRE(find_child());
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  temp_file(L"fd", file, file_utf8);
  _snwprintf(opts, 1024, L"--json --file \"log=%ls:w\" --fd 5=log", file);
  CHECK_INT(run_child(&b, opts, L"crt-fds", &r), 0);
  CHECK_INT(r.exit_code, 0);
  /* Line 0: the spawn result, with log's value in the child; the child's
   * fd 5 is that handle. */
  REQUIRE(nth_line(r.out, 0, spawn_line, sizeof spawn_line));
  v = strstr(spawn_line, "{\"name\":\"log\",\"value\":");
  REQUIRE(v != NULL);
  value = strtoll(v + strlen("{\"name\":\"log\",\"value\":"), NULL, 10);
  snprintf(want, sizeof want, "{\"fd\":5,\"handle\":%lld}", value);
  CHECK(strstr(r.out, want) != NULL);
  DeleteFileW(file);
  sbt_broker_stop(&b);
}

SB_TEST(run_env_clear_env_and_handles_env) {
  sbt_broker b;
  sbt_run r;
  sbt_child_report rep;
  REQUIRE(find_child());
  REQUIRE(sbt_broker_start(&b, NULL) == 0);

  CHECK_INT(run_child(&b, L"--env \"SB_X=h\u00e9llo world\"", L"report --env SB_X", &r), 0);
  REQUIRE(sbt_child_report_parse(r.out, &rep) == 0);
  CHECK_STR(rep.env_handles, "h\u00e9llo world");
  sbt_child_report_free(&rep);

  /* The inherited environment has PATH; a cleared one does not. */
  CHECK_INT(run_child(&b, L"", L"report --env PATH", &r), 0);
  REQUIRE(sbt_child_report_parse(r.out, &rep) == 0);
  CHECK(rep.env_handles != NULL);
  sbt_child_report_free(&rep);
  CHECK_INT(run_child(&b, L"--clear-env --env SB_Y=1", L"report --env PATH", &r), 0);
  REQUIRE(sbt_child_report_parse(r.out, &rep) == 0);
  CHECK(rep.env_handles == NULL);
  sbt_child_report_free(&rep);

  /* --handles-env: name=value of every handle, in request order (spawnctl
   * lists the std handles it adds itself after the named ones). */
  CHECK_INT(run_child(&b, L"--handles-env SB_H --stderr -", L"report --env SB_H", &r), 0);
  REQUIRE(sbt_child_report_parse(r.out, &rep) == 0);
  CHECK(rep.env_handles != NULL && strncmp(rep.env_handles, "stdin=", 6) == 0);
  CHECK(rep.env_handles != NULL && strstr(rep.env_handles, ";stdout=") != NULL);
  CHECK(rep.env_handles != NULL && strstr(rep.env_handles, "stderr") == NULL);
  CHECK_INT(rep.std_err, 0);
  sbt_child_report_free(&rep);
  sbt_broker_stop(&b);
}

SB_TEST(run_cwd_sets_the_working_directory) {
  sbt_broker b;
  sbt_run r;
  wchar_t dir[MAX_PATH], args[1024];
  char dir_utf8[MAX_PATH * 3];
  size_t n;
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  GetTempPathW(MAX_PATH, dir);
  n = wcslen(dir);
  if (n > 3 && dir[n - 1] == L'\\') dir[n - 1] = L'\0'; /* cd prints no trailing '\' */
  WideCharToMultiByte(CP_UTF8, 0, dir, -1, dir_utf8, sizeof dir_utf8, NULL, NULL);
  _snwprintf(args, 1024, L"--pipe %ls run --cwd \"%ls\" -- cmd.exe /c cd", b.pipe, dir);
  CHECK_INT(sbt_run_capture(L"spawnctl.exe", args, 60000, &r), 0);
  CHECK_INT(r.exit_code, 0);
  CHECK(_strnicmp(r.out, dir_utf8, strlen(dir_utf8)) == 0);
  sbt_broker_stop(&b);
}

SB_TEST(run_json_prints_spawn_result_and_exit_info) {
  sbt_broker b;
  sbt_run r;
  char first[2048], last[2048], want[64];
  unsigned long pid = 0;
  REQUIRE(find_child());
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  CHECK_INT(run_child(&b, L"--json --stdout - --stderr -", L"exit 4", &r), 0);
  CHECK_INT(r.exit_code, 4);
  REQUIRE(nth_line(r.out, 0, first, sizeof first));
  REQUIRE(nth_line(r.out, 1, last, sizeof last));
  CHECK(sscanf(first, "{\"pid\":%lu,\"handles\":[{\"name\":\"stdin\",\"value\":", &pid) == 1);
  snprintf(want, sizeof want, "{\"pid\":%lu,\"exit_code\":4,\"wall_ms\":", pid);
  CHECK(strncmp(last, want, strlen(want)) == 0);
  CHECK(!nth_line(r.out, 2, last, sizeof last));
  sbt_broker_stop(&b);
}

SB_TEST(run_no_wait_prints_the_pid_at_once) {
  sbt_broker b;
  sbt_run r;
  unsigned long pid = 0;
  HANDLE child;
  REQUIRE(find_child());
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  CHECK_INT(run_child(&b, L"--no-wait", L"sleep 1500", &r), 0);
  CHECK_INT(r.exit_code, 0);
  CHECK(r.elapsed_ms < 1400);
  CHECK(sscanf(r.out, "%lu", &pid) == 1 && pid != 0);
  /* The child runs on (lifetime broker) and then ends by itself. */
  child = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
  CHECK(child != NULL);
  if (child != NULL) {
    CHECK_INT(WaitForSingleObject(child, 20000), WAIT_OBJECT_0);
    CloseHandle(child);
  }
  sbt_broker_stop(&b);
}

SB_TEST(run_timeout_kills_the_child_and_exits_124) {
  sbt_broker b;
  sbt_run r;
  REQUIRE(find_child());
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  CHECK_INT(run_child(&b, L"--timeout 300", L"sleep 30000", &r), 0);
  CHECK_INT(r.exit_code, 124);
  CHECK(r.elapsed_ms < 15000);
  CHECK(strncmp(r.err, "spawnctl: Timeout: ", 19) == 0 && one_line(r.err));
  sbt_broker_stop(&b);
}

SB_TEST(run_lifetimes_are_accepted) {
  sbt_broker b;
  sbt_run r;
  REQUIRE(find_child());
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  CHECK_INT(run_child(&b, L"--lifetime connection", L"exit 3", &r), 0);
  CHECK_INT(r.exit_code, 3);
  CHECK_INT(run_child(&b, L"--lifetime detached", L"exit 4", &r), 0);
  CHECK_INT(r.exit_code, 4);
  sbt_broker_stop(&b);
}

SB_TEST(run_in_push_mode_passes_handles_too) {
  sbt_broker b;
  sbt_run r;
  wchar_t args[4096], file[MAX_PATH];
  char file_utf8[MAX_PATH * 3], text[8192];
  sbt_child_report rep;
  REQUIRE(find_child());
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  temp_file(L"push", file, file_utf8);
  _snwprintf(args, 4096, L"--pipe %ls --transfer push run --file \"out=%ls:w\" --stdout out -- "
             L"\"%ls\" report", b.pipe, file, child_path);
  CHECK_INT(sbt_run_capture(L"spawnctl.exe", args, 60000, &r), 0);
  if (r.exit_code == 125 && strstr(r.err, "TransferModeUnavailable") != NULL) {
    fprintf(stderr, "this broker does not offer push transfer: %s", r.err);
  } else {
    CHECK_INT(r.exit_code, 0);
    CHECK(read_file(file, text, sizeof text));
    CHECK(sbt_child_report_parse(text, &rep) == 0);
    CHECK_INT(sbt_child_report_inheritable_count(&rep), 3);
    sbt_child_report_free(&rep);
  }
  DeleteFileW(file);
  sbt_broker_stop(&b);
}

/* ------------------------------------------------------------------------ */
/* E3: no broker                                                            */

SB_TEST(run_without_broker_exits_125_promptly) {
  sbt_run r;
  REQUIRE(find_child());
  CHECK_INT(sbt_run_capture(L"spawnctl.exe", L"--pipe sb-test-nobody run -- sb_child.exe exit 0",
                            20000, &r),
            0);
  CHECK_INT(r.exit_code, 125);
  CHECK(strstr(r.err, "no broker is listening on") != NULL && one_line(r.err));
  CHECK(r.elapsed_ms < 5000);
}

/* ------------------------------------------------------------------------ */
/* The library's spawn, wait, kill, list and events                         */

static void child_params(sb_spawn_params *p, const char *const *args, size_t nargs) {
  sb_spawn_params_init(p);
  p->program = child_path_utf8;
  p->args = args;
  p->nargs = nargs;
}

SB_TEST(library_exit_event_and_wait_agree) {
  static const char *const args[] = {"exit", "6"};
  sbt_broker b;
  sb_client *c = NULL;
  sb_spawn_params p;
  sb_spawn_result res;
  sb_exit_info ev, w;
  REQUIRE(find_child());
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  REQUIRE(sb_client_connect(b.pipe_utf8, 10000, &c) == 0);
  child_params(&p, args, 2);
  p.notify_exit = true;
  REQUIRE(sb_client_spawn(c, &p, &res) == 0);
  CHECK(res.pid != 0);
  CHECK_INT(res.nhandles, 0);
  CHECK_INT(sb_client_next_event(c, 20000, &ev), 0);
  CHECK_INT(ev.pid, res.pid);
  CHECK_INT(ev.exit_code, 6);
  CHECK_INT(sb_client_wait(c, res.pid, 20000, &w), 0);
  CHECK_INT(w.pid, res.pid);
  CHECK_INT(w.exit_code, 6);
  /* Exactly once. */
  CHECK_INT(sb_client_next_event(c, 300, &ev), SB_E_TIMEOUT);
  sb_client_close(c);
  sbt_broker_stop(&b);
}

SB_TEST(library_wait_timeout_then_kill) {
  static const char *const args[] = {"sleep", "30000"};
  sbt_broker b;
  sb_client *c = NULL;
  sb_spawn_params p;
  sb_spawn_result res;
  sb_exit_info w;
  sb_kill_result k;
  sb_list_result l;
  bool listed = false;
  HANDLE child;
  REQUIRE(find_child());
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  REQUIRE(sb_client_connect(b.pipe_utf8, 10000, &c) == 0);
  child_params(&p, args, 2);
  REQUIRE(sb_client_spawn(c, &p, &res) == 0);
  CHECK_INT(sb_client_wait(c, res.pid, 0, &w), SB_E_TIMEOUT);
  CHECK_STR(sb_client_last_error(c)->name, "Timeout");
  CHECK_INT(sb_client_wait(c, res.pid, 200, &w), SB_E_TIMEOUT);
  REQUIRE(sb_client_list(c, &l) == 0);
  for (size_t i = 0; i < l.nchildren; i++) {
    if (l.children[i].pid == res.pid) {
      listed = true;
      CHECK(l.children[i].running);
      CHECK_STR(l.children[i].program, child_path_utf8);
    }
  }
  sb_client_list_free(&l);
  CHECK(listed);
  /* Opened while the child surely runs, so the pid cannot name another
   * process by the time it is used. */
  child = OpenProcess(SYNCHRONIZE, FALSE, res.pid);
  CHECK(child != NULL);
  CHECK_INT(sb_client_kill(c, res.pid, 9, &k), 0);
  CHECK(k.killed);
  if (child != NULL) {
    /* Gone, but not yet waited for: a second kill finds it exited. */
    CHECK_INT(WaitForSingleObject(child, 20000), WAIT_OBJECT_0);
    CloseHandle(child);
    CHECK_INT(sb_client_kill(c, res.pid, 9, &k), 0);
    CHECK(!k.killed);
  }
  CHECK_INT(sb_client_wait(c, res.pid, 20000, &w), 0);
  CHECK_INT(w.exit_code, 9);
  sb_client_close(c);
  sbt_broker_stop(&b);
}

SB_TEST(library_spawn_reports_child_handle_values) {
  static const char *const args[] = {"report"};
  sbt_broker b;
  sb_client *c = NULL;
  sb_spawn_params p;
  sb_spawn_result res;
  sb_exit_info w;
  sbt_child_report rep;
  HANDLE rd, wr;
  char out[8192];
  DWORD got = 0, total = 0;
  REQUIRE(find_child());
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  REQUIRE(sb_client_connect(b.pipe_utf8, 10000, &c) == 0);
  /* A plain, non-inheritable pipe: the broker copies it into the child. */
  REQUIRE(CreatePipe(&rd, &wr, NULL, 0));
  child_params(&p, args, 1);
  p.handles[0] = (sb_handle_spec){"out", (int64_t)(intptr_t)wr, -1};
  p.nhandles = 1;
  p.std_names[SB_STDOUT] = "out";
  REQUIRE(sb_client_spawn(c, &p, &res) == 0);
  CloseHandle(wr);
  REQUIRE(res.nhandles == 1);
  CHECK_STR(res.handles[0].name, "out");
  while (total < sizeof out - 1 &&
         ReadFile(rd, out + total, (DWORD)(sizeof out - 1 - total), &got, NULL) && got > 0)
    total += got;
  out[total] = '\0';
  CloseHandle(rd);
  CHECK_INT(sb_client_wait(c, res.pid, 20000, &w), 0);
  REQUIRE(sbt_child_report_parse(out, &rep) == 0);
  CHECK_INT(rep.pid, res.pid);
  CHECK_INT(rep.std_out, res.handles[0].value);
  CHECK(sbt_child_report_find(&rep, (uint64_t)res.handles[0].value) != NULL);
  CHECK_INT(rep.std_in, 0);
  CHECK_INT(rep.std_err, 0);
  CHECK_INT(sbt_child_report_inheritable_count(&rep), 1);
  sbt_child_report_free(&rep);
  sb_client_close(c);
  sbt_broker_stop(&b);
}

SB_TEST(library_spawn_errors_have_their_codes) {
  sbt_broker b;
  sb_client *c = NULL;
  sb_spawn_params p;
  sb_spawn_result res;
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  REQUIRE(sb_client_connect(b.pipe_utf8, 10000, &c) == 0);
  sb_spawn_params_init(&p);
  p.program = "C:\\sb-no-such-dir\\nope.exe";
  CHECK_INT(sb_client_spawn(c, &p, &res), SB_E_EXECUTABLE_NOT_FOUND);
  CHECK_STR(sb_client_last_error(c)->name, "ExecutableNotFound");
  /* A plausible value that is not open in this process. */
  REQUIRE(find_child());
  child_params(&p, NULL, 0);
  p.handles[0] = (sb_handle_spec){"x", 0x3FFFF0, -1};
  p.nhandles = 1;
  CHECK_INT(sb_client_spawn(c, &p, &res), SB_E_HANDLE_NOT_FOUND);
  CHECK_INT(sb_client_ping(c), 0);
  sb_client_close(c);
  sbt_broker_stop(&b);
}

SB_TEST_MAIN(SB_CASE(run_streams_output_and_exits_with_the_child_code),
             SB_CASE(run_passes_exit_codes_through_unchanged),
             SB_CASE(run_missing_program_exits_127), SB_CASE(run_not_executable_program_exits_126),
             SB_CASE(run_handle_passes_an_inherited_handle),
             SB_CASE(run_file_modes_and_std_redirection), SB_CASE(run_fd_sets_a_crt_descriptor),
             SB_CASE(run_env_clear_env_and_handles_env), SB_CASE(run_cwd_sets_the_working_directory),
             SB_CASE(run_json_prints_spawn_result_and_exit_info),
             SB_CASE(run_no_wait_prints_the_pid_at_once),
             SB_CASE(run_timeout_kills_the_child_and_exits_124),
             SB_CASE(run_lifetimes_are_accepted), SB_CASE(run_in_push_mode_passes_handles_too),
             SB_CASE(run_without_broker_exits_125_promptly),
             SB_CASE(library_exit_event_and_wait_agree), SB_CASE(library_wait_timeout_then_kill),
             SB_CASE(library_spawn_reports_child_handle_values),
             SB_CASE(library_spawn_errors_have_their_codes))
