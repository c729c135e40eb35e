/*
 * spawnbroker.exe: the broker's command line.
 *
 *   spawnbroker run [options]     serve in the foreground until Ctrl-C
 *   spawnbroker --version | --help
 *
 * Options are listed in usage() below and in docs/operations.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "log.h"
#include "server.h"
#include "utf.h"
#ifdef SB_TEST_HOOKS
#include "rogue.h"
#endif

#define SB_DEFAULT_PIPE "\\\\.\\pipe\\spawnbroker"

static void usage(FILE *to) {
  fputs("usage: spawnbroker run [options]\n"
        "       spawnbroker --version | --help\n"
        "\n"
        "  run                  serve requests in the foreground until Ctrl-C\n"
        "  --pipe NAME          pipe to listen on (default " SB_DEFAULT_PIPE ");\n"
        "                       a bare name is placed under \\\\.\\pipe\\\n"
        "  --transfer MODE      auto (default: pull, push when the client cannot\n"
        "                       be opened), pull or push (forced for every client)\n"
        "  --warm N             idle helpers kept ready (default 2)\n"
        "  --max-helpers N      helpers alive at once (default 64)\n"
        "  --recycle N          spawns per helper before it is replaced (default 100)\n"
        "  --log-level LEVEL    error, warn, info (default) or debug\n",
        to);
#ifdef SB_TEST_HOOKS
  fputs("test build only:\n"
        "  --test-rogue CMDLINE --test-rogue-report FILE\n"
        "                       run CMDLINE in a loop with bInheritHandles=TRUE\n",
        to);
#endif
}

static int parse_uint(const char *s, uint32_t min, uint32_t max, uint32_t *out) {
  char *end;
  unsigned long v = strtoul(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < min || v > max) return SB_E_OUT_OF_RANGE;
  *out = (uint32_t)v;
  return 0;
}

typedef struct sb__options {
  sb__broker_config cfg;
  sb__log_level log_level;
  const char *rogue_cmd;
  const char *rogue_report;
} sb__options;

static int parse_run(int argc, char **argv, sb__options *o) {
  const char *pipe = SB_DEFAULT_PIPE;
  memset(o, 0, sizeof *o);
  o->cfg.transfer = SB_TRANSFER_AUTO;
  o->cfg.pool.warm = SB__POOL_WARM_DEFAULT;
  o->cfg.pool.max = SB__POOL_MAX_DEFAULT;
  o->cfg.pool.recycle_after = SB__POOL_RECYCLE_DEFAULT;
  o->log_level = SB_LOG_INFO;
  for (int i = 2; i < argc; i++) {
    const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    int bad = 0;
    if (val == NULL) {
      bad = 1;
    } else if (strcmp(opt, "--pipe") == 0) {
      pipe = val;
    } else if (strcmp(opt, "--transfer") == 0) {
      if (strcmp(val, "auto") == 0) o->cfg.transfer = SB_TRANSFER_AUTO;
      else if (strcmp(val, "pull") == 0) o->cfg.transfer = SB_TRANSFER_PULL;
      else if (strcmp(val, "push") == 0) o->cfg.transfer = SB_TRANSFER_PUSH;
      else bad = 1;
    } else if (strcmp(opt, "--warm") == 0) {
      bad = parse_uint(val, 0, 1024, &o->cfg.pool.warm) != 0;
    } else if (strcmp(opt, "--max-helpers") == 0) {
      bad = parse_uint(val, 1, 4096, &o->cfg.pool.max) != 0;
    } else if (strcmp(opt, "--recycle") == 0) {
      bad = parse_uint(val, 1, 1000000, &o->cfg.pool.recycle_after) != 0;
    } else if (strcmp(opt, "--log-level") == 0) {
      bad = sb__log_level_from_name(val, &o->log_level) != 0;
#ifdef SB_TEST_HOOKS
    } else if (strcmp(opt, "--test-rogue") == 0) {
      o->rogue_cmd = val;
    } else if (strcmp(opt, "--test-rogue-report") == 0) {
      o->rogue_report = val;
#endif
    } else {
      fprintf(stderr, "spawnbroker: unknown option '%s'\n", opt);
      return SB_E_INVALID_ARGUMENT;
    }
    if (bad) {
      fprintf(stderr, "spawnbroker: %s needs a valid value\n", opt);
      return SB_E_INVALID_ARGUMENT;
    }
    i++;
  }
  if (o->cfg.pool.warm > o->cfg.pool.max) o->cfg.pool.warm = o->cfg.pool.max;
  /* Accept "name" as shorthand for "\\.\pipe\name". */
  if (strncmp(pipe, "\\\\", 2) == 0)
    snprintf(o->cfg.pipe_name, sizeof o->cfg.pipe_name, "%s", pipe);
  else
    snprintf(o->cfg.pipe_name, sizeof o->cfg.pipe_name, "\\\\.\\pipe\\%s", pipe);
  return 0;
}

/* The helper executable ships next to the broker. */
static int helper_path(wchar_t *out, size_t cap) {
  DWORD n = GetModuleFileNameW(NULL, out, (DWORD)cap);
  wchar_t *slash;
  static const wchar_t name[] = L"spawnbroker-helper.exe";
  if (n == 0 || n >= cap) return SB_E_INTERNAL;
  slash = wcsrchr(out, L'\\');
  if (slash == NULL || (size_t)(slash + 1 - out) + wcslen(name) + 1 > cap) return SB_E_INTERNAL;
  wcscpy(slash + 1, name);
  return 0;
}

static void on_signal(uv_signal_t *sig, int signum) {
  sb__server *srv = sig->data;
  sb__log(SB_LOG_INFO, "signal %d: stopping", signum);
  sb__server_stop(srv);
  uv_close((uv_handle_t *)sig, NULL);
}

static int run(sb__options *o) {
  uv_loop_t *loop = uv_default_loop();
  sb__server srv;
  uv_signal_t sigint;
  int rc;

  sb__log_set_level(o->log_level);
  if (helper_path(o->cfg.helper_path, MAX_PATH) != 0) return SB_E_INTERNAL;
  /* The broker holds no inheritable handle at all, not even the std
   * handles it was started with: whatever code in this process calls
   * CreateProcess(bInheritHandles=TRUE) then passes on nothing. */
  {
    static const DWORD std_ids[] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
    for (int i = 0; i < 3; i++) {
      HANDLE h = GetStdHandle(std_ids[i]);
      if (h != NULL && h != INVALID_HANDLE_VALUE) SetHandleInformation(h, HANDLE_FLAG_INHERIT, 0);
    }
  }
  rc = sb__server_start(&srv, loop, &o->cfg);
  if (rc != 0) return rc;
#ifdef SB_TEST_HOOKS
  if (o->rogue_cmd != NULL && o->rogue_report != NULL) {
    wchar_t *cmd = NULL, *report = NULL;
    if (sb__utf8_to_wide(o->rogue_cmd, &cmd) == 0 &&
        sb__utf8_to_wide(o->rogue_report, &report) == 0)
      sb__rogue_start(cmd, report);
    free(cmd);
    free(report);
  }
#endif
  if (uv_signal_init(loop, &sigint) == 0) {
    sigint.data = &srv;
    uv_signal_start(&sigint, on_signal, SIGINT);
  }
  uv_run(loop, UV_RUN_DEFAULT);
#ifdef SB_TEST_HOOKS
  sb__rogue_stop();
#endif
  /* Worker threads are done once uv_run returns, so nothing uses the pool
   * any more: closing the helper job kills every helper. */
  sb__pool_destroy(srv.pool);
  uv_loop_close(loop);
  sb__log(SB_LOG_INFO, "stopped");
  return 0;
}

int main(int argc, char **argv) {
  sb__options opts;

  if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
    printf("spawnbroker %s (protocol %d)\n", SB_VERSION, SB_PROTOCOL_VERSION);
    return 0;
  }
  if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    usage(stdout);
    return 0;
  }
  if (argc < 2 || strcmp(argv[1], "run") != 0) {
    usage(stderr);
    return 2;
  }
  if (parse_run(argc, argv, &opts) != 0) return 2;
  return run(&opts) == 0 ? 0 : 1;
}
