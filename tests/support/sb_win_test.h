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

/* Opens the broker's pipe as a client (byte mode, blocking), with the
 * rights a client gets: GENERIC_READ | FILE_WRITE_DATA. */
HANDLE sbt_pipe_open(const sbt_broker *b);
/* Writes all of data. */
int sbt_pipe_write(HANDLE h, const char *data, size_t len);
/* Reads one newline-terminated frame into buf (without the newline).
 * Returns 0, SB_E_CLOSED at end of stream, or another negative code. */
int sbt_pipe_read_line(HANDLE h, char *buf, size_t cap, size_t *len);

#endif
