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

  /* w truncates what was there. */
  REQUIRE(write_file(file, "0123456789"));
  _snwprintf(opts, 1024, L"--file \"t=%ls:w\" --expand-handles", file);
  CHECK_INT(run_child(&b, opts, L"write {handle:t} w", &r), 0);
  CHECK_INT(r.exit_code, 0);
  CHECK(read_file(file, text, sizeof text));
  CHECK_STR(text, "w");

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

  /* rw: neither truncates nor appends. */
  _snwprintf(opts, 1024, L"--file \"f=%ls:rw\" --expand-handles", file);
  CHECK_INT(run_child(&b, opts, L"write {handle:f} C", &r), 0);
  CHECK_INT(r.exit_code, 0);
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
  char line[8192];
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
  CHECK_INT(run_child(&b, L"--clear-env --env SB_Y=1", L"report --env PATH report --env SB_Y", &r),
            0);
  REQUIRE(nth_line(r.out, 0, line, sizeof line) && sbt_child_report_parse(line, &rep) == 0);
  CHECK(rep.env_handles == NULL);
  sbt_child_report_free(&rep);
  /* ... and --env entries still apply on top of it. */
  REQUIRE(nth_line(r.out, 1, line, sizeof line) && sbt_child_report_parse(line, &rep) == 0);
  CHECK_STR(rep.env_handles, "1");
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
  wchar_t file[MAX_PATH], dir[MAX_PATH], args[1024];
  char file_utf8[MAX_PATH * 3], want[MAX_PATH * 3 + 2];
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  /* A directory made for this run, so that neither the broker's nor
   * spawnctl's own working directory can pass for it. */
  temp_file(L"cwd", file, file_utf8);
  _snwprintf(dir, MAX_PATH, L"%ls.d", file);
  REQUIRE(CreateDirectoryW(dir, NULL));
  _snwprintf(args, 1024, L"--pipe %ls run --cwd \"%ls\" -- cmd.exe /c cd", b.pipe, dir);
  CHECK_INT(sbt_run_capture(L"spawnctl.exe", args, 60000, &r), 0);
  CHECK_INT(r.exit_code, 0);
  snprintf(want, sizeof want, "%s.d\r\n", file_utf8);
  if (_stricmp(r.out, want) != 0) SB__FAIL("cd printed '%s', not '%s'", r.out, want);
  RemoveDirectoryW(dir);
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
  DWORD code = 1;
  HANDLE child;
  REQUIRE(find_child());
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  /* No std handles for the child: sbt_run_capture reads spawnctl's output
   * until every writer is gone, and a child holding the pipe would make it
   * return only once the child had ended. */
  CHECK_INT(run_child(&b, L"--no-wait --stdin - --stdout - --stderr -", L"sleep 3000", &r), 0);
  CHECK_INT(r.exit_code, 0);
  CHECK(r.elapsed_ms < 2500);
  CHECK(sscanf(r.out, "%lu", &pid) == 1 && pid != 0);
  child = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
  REQUIRE(child != NULL);
  /* spawnctl and its connection are gone, and the child runs on: its
   * lifetime is broker, not connection, whose children the broker kills as
   * the connection closes. Then it ends by itself. */
  CHECK_INT(WaitForSingleObject(child, 1000), WAIT_TIMEOUT);
  CHECK_INT(WaitForSingleObject(child, 20000), WAIT_OBJECT_0);
  CHECK(GetExitCodeProcess(child, &code));
  CHECK_INT(code, 0);
  CloseHandle(child);
  sbt_broker_stop(&b);
}

/* Whether process pid is running (a pid that opens no process is not). */
static bool pid_running(DWORD pid) {
  HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, pid);
  bool running = h != NULL && WaitForSingleObject(h, 0) == WAIT_TIMEOUT;
  if (h != NULL) CloseHandle(h);
  return running;
}

SB_TEST(run_timeout_kills_the_child_and_exits_124) {
  sbt_broker b;
  sbt_run r;
  unsigned long pid = 0;
  REQUIRE(find_child());
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  /* Lifetime broker: the child does not die with spawnctl's connection, so
   * only spawnctl's kill can have ended it. No std handles, so that
   * sbt_run_capture returns as soon as spawnctl has exited (see above). */
  CHECK_INT(run_child(&b, L"--json --lifetime broker --timeout 300 --stdin - --stdout - --stderr -",
                      L"sleep 30000", &r),
            0);
  CHECK_INT(r.exit_code, 124);
  CHECK(r.elapsed_ms < 15000);
  CHECK(strncmp(r.err, "spawnctl: Timeout: ", 19) == 0 && one_line(r.err));
  CHECK(sscanf(r.out, "{\"pid\":%lu,", &pid) == 1 && pid != 0);
  CHECK(one_line(r.out)); /* the spawn result, and no exit information */
  CHECK(!pid_running((DWORD)pid));
  sbt_broker_stop(&b);
}

/* spawnctl run --json started in the background, its stdout on a pipe:
 * the test can kill it while it waits for its child. */
typedef struct bg_run {
  HANDLE process;
  HANDLE out; /* read end of spawnctl's stdout (and the child's) */
  DWORD child_pid;
} bg_run;

/* Starts "spawnctl args" and reads the first line of its output, the spawn
 * result, for the child's pid. */
static bool bg_start(const wchar_t *args, bg_run *bg) {
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  wchar_t path[MAX_PATH], cmd[4096];
  char line[2048];
  size_t n = 0;
  HANDLE out_w = NULL;
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  unsigned long pid = 0;
  memset(bg, 0, sizeof *bg);
  if (sbt_exe_path(L"spawnctl.exe", path, MAX_PATH) != 0) return false;
  _snwprintf(cmd, 4096, L"\"%ls\" %ls", path, args);
  cmd[4095] = L'\0';
  /* Inheritable only for the moment of CreateProcess: this test program
   * runs one case at a time, so no other process can receive it. */
  if (!CreatePipe(&bg->out, &out_w, &sa, 0)) return false;
  SetHandleInformation(bg->out, HANDLE_FLAG_INHERIT, 0);
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdOutput = out_w;
  si.hStdError = out_w;
  if (!CreateProcessW(path, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
    CloseHandle(out_w);
    return false;
  }
  CloseHandle(out_w);
  CloseHandle(pi.hThread);
  bg->process = pi.hProcess;
  while (n < sizeof line - 1) {
    DWORD got = 0;
    if (!ReadFile(bg->out, line + n, 1, &got, NULL) || got == 0 || line[n] == '\n') break;
    n++;
  }
  line[n] = '\0';
  if (sscanf(line, "{\"pid\":%lu,", &pid) != 1) {
    fprintf(stderr, "spawnctl printed '%s', not a spawn result\n", line);
    return false;
  }
  bg->child_pid = (DWORD)pid;
  return true;
}

/* Kills spawnctl, as Ctrl-C or a closed console would end it. */
static void bg_end(bg_run *bg) {
  if (bg->process != NULL) {
    TerminateProcess(bg->process, 1);
    WaitForSingleObject(bg->process, 10000);
    CloseHandle(bg->process);
  }
  if (bg->out != NULL) CloseHandle(bg->out);
  memset(bg, 0, sizeof *bg);
}

SB_TEST(run_child_ends_with_spawnctl_unless_its_lifetime_is_broker) {
  sbt_broker b;
  bg_run bg;
  wchar_t args[4096];
  HANDLE child;
  bool started;
  REQUIRE(find_child());
  REQUIRE(sbt_broker_start(&b, NULL) == 0);

  /* A waiting run's default lifetime is connection: killing spawnctl
   * closes its connection, and the broker ends the child. */
  _snwprintf(args, 4096, L"--pipe %ls run --json -- \"%ls\" sleep 60000", b.pipe, child_path);
  started = bg_start(args, &bg);
  CHECK(started);
  child = started ? OpenProcess(SYNCHRONIZE, FALSE, bg.child_pid) : NULL;
  CHECK(!started || child != NULL);
  if (started) CHECK_INT(WaitForSingleObject(bg.process, 500), WAIT_TIMEOUT); /* it waits */
  bg_end(&bg);
  if (child != NULL) {
    CHECK_INT(WaitForSingleObject(child, 10000), WAIT_OBJECT_0);
    CloseHandle(child);
  }

  /* --lifetime broker: the child outlives spawnctl, and dies with the
   * broker. */
  _snwprintf(args, 4096, L"--pipe %ls run --json --lifetime broker -- \"%ls\" sleep 60000",
             b.pipe, child_path);
  started = bg_start(args, &bg);
  CHECK(started);
  child = started ? OpenProcess(SYNCHRONIZE, FALSE, bg.child_pid) : NULL;
  CHECK(!started || child != NULL);
  bg_end(&bg);
  if (child != NULL) {
    CHECK_INT(WaitForSingleObject(child, 1500), WAIT_TIMEOUT);
    sbt_broker_stop(&b);
    CHECK_INT(WaitForSingleObject(child, 10000), WAIT_OBJECT_0);
    CloseHandle(child);
  }
  sbt_broker_stop(&b);
}

SB_TEST(run_in_push_mode_passes_handles_too) {
  sbt_broker b;
  sbt_run r;
  wchar_t args[4096], file[MAX_PATH];
  char file_utf8[MAX_PATH * 3], text[8192];
  sbt_child_report rep;
  REQUIRE(find_child());
  /* A broker that uses push transfer only, so spawnctl cannot quietly
   * pull instead. */
  REQUIRE(sbt_broker_start(&b, L"--transfer push") == 0);
  temp_file(L"push", file, file_utf8);
  _snwprintf(args, 4096, L"--pipe %ls --transfer push run --file \"out=%ls:w\" --stdout out -- "
             L"\"%ls\" report", b.pipe, file, child_path);
  CHECK_INT(sbt_run_capture(L"spawnctl.exe", args, 60000, &r), 0);
  CHECK_INT(r.exit_code, 0);
  CHECK_STR(r.err, "");
  CHECK(read_file(file, text, sizeof text));
  if (sbt_child_report_parse(text, &rep) == 0) {
    /* out, and spawnctl's own stdin and stderr. */
    CHECK_INT(sbt_child_report_inheritable_count(&rep), 3);
    CHECK(rep.std_out != 0 && sbt_child_report_find(&rep, (uint64_t)rep.std_out) != NULL);
    sbt_child_report_free(&rep);
  } else {
    SB__FAIL("the file holds no report: '%s'", text);
  }
  DeleteFileW(file);
  sbt_broker_stop(&b);
}

/* ------------------------------------------------------------------------ */
/* E3: no broker                                                            */

SB_TEST(run_without_broker_exits_125_promptly) {
  sbt_run r;
  CHECK_INT(sbt_run_capture(L"spawnctl.exe", L"--pipe sb-test-nobody run -- x.exe", 20000, &r),
            0);
  CHECK_INT(r.exit_code, 125);
  CHECK(strstr(r.err, "no broker is listening on \\\\.\\pipe\\sb-test-nobody") != NULL);
  CHECK(one_line(r.err));
  CHECK_STR(r.out, "");
  CHECK(r.elapsed_ms < 5000);
}

/* ------------------------------------------------------------------------ */
/* The library's wait, list and exit event on one child                     */

SB_TEST(library_wait_list_and_exit_event_agree) {
  static const char *const args[] = {"sleep", "1000"};
  sbt_broker b;
  sb_client *c = NULL;
  sb_spawn_params p;
  sb_spawn_result res;
  sb_exit_info ev, w;
  sb_list_result l;
  bool listed = false;
  ULONGLONG t0;
  REQUIRE(find_child());
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  REQUIRE(sb_client_connect(b.pipe_utf8, 10000, &c) == 0);
  sb_spawn_params_init(&p);
  p.program = child_path_utf8;
  p.args = args;
  p.nargs = 2;
  p.notify_exit = true;
  REQUIRE(sb_client_spawn(c, &p, &res) == 0);
  CHECK(res.pid != 0);
  CHECK_INT(res.nhandles, 0);
  /* A zero timeout only looks. */
  t0 = GetTickCount64();
  CHECK_INT(sb_client_wait(c, res.pid, 0, &w), SB_E_TIMEOUT);
  CHECK(GetTickCount64() - t0 < 900);
  CHECK(sb_client_last_error(c) != NULL && strcmp(sb_client_last_error(c)->name, "Timeout") == 0);
  REQUIRE(sb_client_list(c, &l) == 0);
  for (size_t i = 0; i < l.nchildren; i++) {
    if (l.children[i].pid != res.pid) continue;
    listed = true;
    CHECK(l.children[i].running);
    CHECK_STR(l.children[i].program, child_path_utf8);
  }
  sb_client_list_free(&l);
  CHECK(listed);
  CHECK_INT(sb_client_next_event(c, 20000, &ev), 0);
  CHECK_INT(ev.pid, res.pid);
  CHECK_INT(ev.exit_code, 0);
  CHECK(ev.wall_ms >= 900);
  CHECK_INT(sb_client_wait(c, res.pid, 20000, &w), 0);
  CHECK_INT(w.pid, res.pid);
  CHECK_INT(w.exit_code, 0);
  /* The event comes exactly once. */
  CHECK_INT(sb_client_next_event(c, 300, &ev), SB_E_TIMEOUT);
  sb_client_close(c);
  sbt_broker_stop(&b);
}

/* ------------------------------------------------------------------------ */
/* docs/operations.md names every option spawnctl has                       */

/* The "## spawnctl" section of docs/operations.md (malloc'd), found next to
 * this source file as test_docs.c finds protocol.md. */
static char *operations_spawnctl_section(void) {
  static const char rel[] = "../../docs/operations.md";
  const char *file = __FILE__;
  char path[4096], *text, *start, *end;
  size_t dir = 0, n;
  FILE *f;
  for (size_t i = 0; file[i] != '\0'; i++) {
    if (file[i] == '/' || file[i] == '\\') dir = i + 1;
  }
  if (dir + sizeof rel > sizeof path) return NULL;
  memcpy(path, file, dir);
  memcpy(path + dir, rel, sizeof rel);
  f = fopen(path, "rb");
  if (f == NULL) return NULL;
  text = malloc(1 << 20);
  n = text != NULL ? fread(text, 1, (1 << 20) - 1, f) : 0;
  fclose(f);
  if (text == NULL) return NULL;
  text[n] = '\0';
  start = strstr(text, "\n## spawnctl\n");
  if (start == NULL) {
    free(text);
    return NULL;
  }
  end = strstr(start + 1, "\n## ");
  if (end != NULL) *end = '\0';
  memmove(text, start, strlen(start) + 1);
  return text;
}

/* Whether doc has "`--option" with nothing of a longer option after it. */
static bool doc_has_option(const char *doc, const char *want) {
  size_t n = strlen(want);
  for (const char *p = strstr(doc, want); p != NULL; p = strstr(p + 1, want)) {
    char next = p[n];
    if (!((next >= 'a' && next <= 'z') || next == '-')) return true;
  }
  return false;
}

/* Every "--option" in text must appear in doc as "`--option". */
static void check_options_documented(const char *text, const char *doc, const char *what) {
  for (const char *p = strstr(text, "--"); p != NULL; p = strstr(p + 2, "--")) {
    char want[64] = "`--";
    size_t n = 0;
    while (n < 40 && ((p[2 + n] >= 'a' && p[2 + n] <= 'z') || p[2 + n] == '-')) n++;
    if (n == 0) continue;
    memcpy(want + 3, p + 2, n);
    want[3 + n] = '\0';
    if (!doc_has_option(doc, want)) SB__FAIL("%s lists %s, docs/operations.md does not", what, want + 1);
  }
}

SB_TEST(docs_describe_every_spawnctl_command_and_option) {
  static const char *const commands[] = {"| `run ",  "| `wait ",  "| `kill ", "| `list ",
                                         "| `ping` ", "| `hello` ", "| `stats` ", "| `call ",
                                         "| `help` "};
  char *doc = operations_spawnctl_section();
  sbt_run r;
  REQUIRE(doc != NULL);
  CHECK_INT(sbt_run_capture(L"spawnctl.exe", L"--help", 20000, &r), 0);
  CHECK(strstr(r.out, "--pipe") != NULL);
  check_options_documented(r.out, doc, "spawnctl --help");
  CHECK_INT(sbt_run_capture(L"spawnctl.exe", L"run --help", 20000, &r), 0);
  CHECK(strstr(r.out, "--no-wait") != NULL);
  check_options_documented(r.out, doc, "spawnctl run --help");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    if (strstr(doc, commands[i]) == NULL) SB__FAIL("no row for %s", commands[i]);
  }
  for (int code = 124; code <= 127; code++) {
    char row[16];
    snprintf(row, sizeof row, "| %d |", code);
    if (strstr(doc, row) == NULL) SB__FAIL("exit code %d is not in the table", code);
  }
  free(doc);
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
             SB_CASE(run_child_ends_with_spawnctl_unless_its_lifetime_is_broker),
             SB_CASE(run_in_push_mode_passes_handles_too),
             SB_CASE(run_without_broker_exits_125_promptly),
             SB_CASE(library_wait_list_and_exit_event_agree),
             SB_CASE(docs_describe_every_spawnctl_command_and_option))
