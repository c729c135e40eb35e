/*
 * Helpers for Windows end-to-end tests: start the real broker on a private
 * pipe, run the real CLI and capture its output, and talk to the pipe as a
 * raw client. Test code only: failures are reported, never hidden.
 */
#ifndef SB_WIN_TEST_H
#define SB_WIN_TEST_H

#include <stddef.h>
#include <windows.h>

typedef struct sbt_broker {
  HANDLE process;
  DWORD pid;
  wchar_t pipe[128]; /* \\.\pipe\sb-test-<pid>-<n> */
  char pipe_utf8[128];
} sbt_broker;

typedef struct sbt_run {
  DWORD exit_code;
  DWORD elapsed_ms;
  char out[8192]; /* stdout, NUL-terminated, truncated if longer */
  char err[8192]; /* stderr, likewise */
} sbt_run;

/* True when running under Wine (ntdll exports wine_get_version), for tests
 * that can only observe something on Windows and say so when skipping. */
int sbt_under_wine(void);

/* This process's user as a SID in text form (S-1-5-...). 0 or SB_E_INTERNAL. */
int sbt_own_sid(char *out, size_t cap);

/* A fresh temporary file, open for reading and writing, deleted on close. */
HANDLE sbt_temp_file(void);

/* Full path of `exe` in the folder of the running test program. */
int sbt_exe_path(const wchar_t *exe, wchar_t *out, size_t cap);

/* Starts "spawnbroker.exe run --pipe <unique> extra_args" and waits until the
 * pipe accepts connections (up to 20 s). */
int sbt_broker_start(sbt_broker *b, const wchar_t *extra_args);
/* The same with another broker executable (spawnbroker-test.exe). */
int sbt_broker_start_exe(sbt_broker *b, const wchar_t *exe, const wchar_t *extra_args);
/* Kills the broker and waits for it to be gone. */
void sbt_broker_stop(sbt_broker *b);

/* A broker in a console of its own, so that a test can press Ctrl-C in it
 * (tests/support/sb_console.c says why it takes a process in between). */
typedef struct sbt_console {
  HANDLE host;      /* sb_console.exe */
  HANDLE interrupt; /* set: sb_console generates the Ctrl-C */
} sbt_console;

/* Starts "<exe> run --pipe <unique> extra_args" under sb_console.exe and
 * waits until the pipe accepts connections, as sbt_broker_start_exe does;
 * b->process and b->pid are the broker's. */
int sbt_broker_start_console(sbt_broker *b, const wchar_t *exe, const wchar_t *extra_args,
                             sbt_console *con);
/* Presses Ctrl-C in the broker's console and waits up to timeout_ms for
 * the broker to exit; *exit_code is then its exit code. Returns 0,
 * SB_E_TIMEOUT, or SB_E_INTERNAL when sb_console reports a failure of its
 * own (its exit code, 120 to 123, is then in *exit_code). */
int sbt_console_interrupt(sbt_console *con, DWORD timeout_ms, DWORD *exit_code);
/* Kills what is left of the broker and sb_console, and closes the handles. */
void sbt_console_close(sbt_console *con, sbt_broker *b);

/* Runs "<exe> args" with stdin empty and stdout/stderr captured, waiting at
 * most timeout_ms. Returns 0 or a negative code (timeout: SB_E_TIMEOUT). */
int sbt_run_capture(const wchar_t *exe, const wchar_t *args, DWORD timeout_ms,
                    sbt_run *r);

/* How many running processes named exe (e.g. L"spawnbroker-helper.exe")
 * have `parent` as their parent pid (Toolhelp snapshot). */
size_t sbt_count_children(DWORD parent, const wchar_t *exe);

/* Starts `app` with exactly `cmdline` (and `env`, a UTF-16 environment
 * block, or NULL for this process's), stdin and stderr on NUL, and collects
 * its stdout into a malloc'd NUL-terminated string. Waits at most 30 s.
 * Returns 0, SB_E_SPAWN_FAILED when CreateProcessW refuses, or
 * SB_E_INTERNAL. The test process is single-threaded, so marking the
 * pipe's write end inheritable for this one CreateProcessW cannot leak it
 * anywhere else. */
int sbt_run_collect(const wchar_t *app, wchar_t *cmdline, wchar_t *env, char **out,
                    DWORD *exit_code);
/* The same, waiting at most timeout_ms for the program to exit. */
int sbt_run_collect_ms(const wchar_t *app, wchar_t *cmdline, wchar_t *env, DWORD timeout_ms,
                       char **out, DWORD *exit_code);

/* s as the inside of a JSON string, backslashes and quotes escaped (all
 * a path or a pipe name can hold that needs it), cut to fit cap. */
void sbt_json_escape(const char *s, char *out, size_t cap);

/* A whole text file (malloc'd, NUL-terminated; opened sharing read, write
 * and delete, so a log file can be read while it is written), or NULL. */
char *sbt_read_text_file(const wchar_t *path);
/* The size of the file PATH (n == 0) or of its rotated copy PATH.n; -1
 * when there is none. */
long long sbt_rotated_size(const wchar_t *path, int n);
/* Deletes PATH and PATH.1 to PATH.upto, as far as they exist. */
void sbt_remove_rotated(const wchar_t *path, int upto);
/* How many lines of text contain needle (0 for a NULL text). */
size_t sbt_count_lines(const char *text, const char *needle);

/* Handles (SYNCHRONIZE | PROCESS_TERMINATE) to every running process named
 * exe whose parent is `parent` (Toolhelp snapshot); returns how many, at
 * most cap. Open them before the parent exits: pids are reused. */
size_t sbt_open_children(DWORD parent, const wchar_t *exe, HANDLE *out, size_t cap);
/* True when every process in list has exited within timeout_ms. */
int sbt_all_exit(HANDLE *list, size_t n, DWORD timeout_ms);
void sbt_close_all(HANDLE *list, size_t n);

/* Opens the broker's pipe as a client (byte mode, blocking), with the
 * rights a client gets: GENERIC_READ | FILE_WRITE_DATA. */
HANDLE sbt_pipe_open(const sbt_broker *b);
/* Writes all of data. */
int sbt_pipe_write(HANDLE h, const char *data, size_t len);
/* Reads one newline-terminated frame into buf (without the newline).
 * Returns 0, SB_E_CLOSED at end of stream, or another negative code. */
int sbt_pipe_read_line(HANDLE h, char *buf, size_t cap, size_t *len);

#endif
