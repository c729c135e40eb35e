/*
 * The parts of spawnctl.exe its files share: exit codes, global options,
 * output, and the run command.
 */
#ifndef SB_CTL_H
#define SB_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* __MINGW_PRINTF_FORMAT */

#include <windows.h>

#include "spawnclient.h"

#if defined(__MINGW_PRINTF_FORMAT)
#define SB__CTL_PRINTF(f, a) __attribute__((format(__MINGW_PRINTF_FORMAT, f, a)))
#elif defined(__GNUC__)
#define SB__CTL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SB__CTL_PRINTF(f, a)
#endif

/* Exit codes. 124 to 127 are those of timeout(1), docker run and env(1), so
 * scripts can tell spawnctl's own failures from the child's exit code. */
#define SB__CTL_EXIT_OK 0
#define SB__CTL_EXIT_REFUSED 1        /* the broker answered with an error */
#define SB__CTL_EXIT_USAGE 2          /* spawnctl's own arguments are wrong */
#define SB__CTL_EXIT_TIMEOUT 124      /* run/wait --timeout passed */
#define SB__CTL_EXIT_TRANSPORT 125    /* no broker, transport failure, failed spawn */
#define SB__CTL_EXIT_NOT_EXECUTABLE 126
#define SB__CTL_EXIT_NOT_FOUND 127

/* The default reply timeout: long enough for a spawn under load. */
#define SB__CTL_DEFAULT_TIMEOUT_MS 30000

typedef struct sb__ctl_global {
  const char *pipe;       /* NULL: the default pipe */
  uint32_t timeout_ms;    /* connect and reply timeout */
  sb_transfer transfer;
} sb__ctl_global;

/* ------------------------------------------------------------------------ */
/* Output (ctl_out.c). Written straight to the standard handles, unbuffered,
 * so lines never interleave badly with a child that shares them; UTF-8 goes
 * to a console through WriteConsoleW so non-ASCII text shows correctly. */

void sb__ctl_write(DWORD std, const char *utf8, size_t len);
void sb__ctl_printf(DWORD std, const char *fmt, ...) SB__CTL_PRINTF(2, 3);
/* "spawnctl: <Name>: <message> (<detail>; at <path>)" on stderr, from the
 * thread's last error on c (or the connect's when c is NULL). */
void sb__ctl_fail(const sb_client *c, int rc);
/* "spawnctl: <message> (see spawnctl <cmd> --help)" on stderr; returns
 * SB__CTL_EXIT_USAGE. */
int sb__ctl_usage(const char *cmd, const char *fmt, ...) SB__CTL_PRINTF(2, 3);

/* A growable UTF-8 string for building JSON lines. */
typedef struct sb__ctl_str {
  char *data;
  size_t len, cap;
  bool failed; /* out of memory: the string is incomplete */
} sb__ctl_str;
void sb__ctl_str_printf(sb__ctl_str *s, const char *fmt, ...) SB__CTL_PRINTF(2, 3);
/* Appends value as a quoted, escaped JSON string. */
void sb__ctl_str_json(sb__ctl_str *s, const char *value);
/* Writes the string and a newline to std and frees it. */
void sb__ctl_str_emit(sb__ctl_str *s, DWORD std);

/* The exit information as one JSON line on stdout. */
void sb__ctl_print_exit(const sb_exit_info *e);

/* ------------------------------------------------------------------------ */
/* Shared helpers (spawnctl.c)                                              */

/* Connects with the global options; prints the error and returns an exit
 * code (125) on failure, 0 on success. */
int sb__ctl_connect(const sb__ctl_global *g, sb_client **out);
/* Parses a whole-string unsigned decimal number of at most max. */
bool sb__ctl_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* UTF-8 to a malloc'd UTF-16 string, NULL on failure. */
wchar_t *sb__ctl_wide(const char *s);

/* ------------------------------------------------------------------------ */
/* The run command (ctl_run_args.c parses, ctl_run.c runs).                 */

typedef enum sb__ctl_file_mode {
  SB__CTL_FILE_NONE, /* not a --file handle */
  SB__CTL_FILE_R,
  SB__CTL_FILE_W,
  SB__CTL_FILE_A,
  SB__CTL_FILE_RW
} sb__ctl_file_mode;

typedef struct sb__ctl_handle {
  char name[SB_LIMIT_NAME_BYTES + 1];
  int64_t value;          /* --handle: the value in spawnctl's table */
  const char *path;       /* --file: the file, else NULL */
  sb__ctl_file_mode mode;
} sb__ctl_handle;

typedef struct sb__ctl_fd {
  int fd;
  const char *name;
} sb__ctl_fd;

typedef struct sb__ctl_run_opts {
  bool help;
  sb__ctl_handle handles[SB_LIMIT_HANDLES];
  size_t nhandles;
  const char *std_ref[3]; /* --stdin/--stdout/--stderr: a name, "-", or NULL */
  sb__ctl_fd fds[SB_LIMIT_HANDLES];
  size_t nfds;
  const char **env;       /* --env entries (pointers into argv) */
  size_t nenv;
  bool clear_env, expand_handles, no_wait, json;
  const char *cwd, *handles_env;
  sb_lifetime lifetime;
  bool lifetime_set;      /* --lifetime was given */
  int64_t timeout_ms;     /* --timeout, or -1 */
  const char *program;
  const char *const *args;
  size_t nargs;
} sb__ctl_run_opts;

/* Parses "run" options (argv[0] is "run"). Returns 0 (r->help may be set),
 * or SB__CTL_EXIT_USAGE after printing why. r->env is malloc'd: free it. */
int sb__ctl_run_parse(int argc, char **argv, sb__ctl_run_opts *r);
void sb__ctl_run_usage(DWORD std);
/* Whether name is a valid handle name ([A-Za-z_][A-Za-z0-9_.-]*, 1-64 bytes). */
bool sb__ctl_valid_name(const char *name, size_t len);

/* The run command; returns the exit code. */
int sb__ctl_run(const sb__ctl_global *g, int argc, char **argv);

#endif
