/*
 * spawnbroker.exe: the broker's command line.
 *
 *   spawnbroker run [--pipe NAME] [--log-level error|warn|info|debug]
 *   spawnbroker --version | --help
 *
 * "run" serves in the foreground until Ctrl-C (console mode, for debugging
 * and tests).
 */
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "log.h"
#include "server.h"

#define SB_DEFAULT_PIPE "\\\\.\\pipe\\spawnbroker"

typedef struct sb__run_options {
  const char *pipe_name;
  sb__log_level log_level;
} sb__run_options;

static void usage(FILE *to) {
  fputs("usage: spawnbroker run [--pipe NAME] [--log-level LEVEL]\n"
        "       spawnbroker --version | --help\n"
        "\n"
        "  run               serve requests in the foreground until Ctrl-C\n"
        "  --pipe NAME       pipe to listen on (default " SB_DEFAULT_PIPE ");\n"
        "                    a bare name is placed under \\\\.\\pipe\\\n"
        "  --log-level LEVEL error, warn, info (default) or debug\n",
        to);
}

static int parse_run(int argc, char **argv, sb__run_options *o) {
  o->pipe_name = SB_DEFAULT_PIPE;
  o->log_level = SB_LOG_INFO;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--pipe") == 0 && i + 1 < argc) {
      o->pipe_name = argv[++i];
    } else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
      if (sb__log_level_from_name(argv[++i], &o->log_level) != 0) {
        fprintf(stderr, "spawnbroker: unknown log level '%s'\n", argv[i]);
        return SB_E_INVALID_ARGUMENT;
      }
    } else {
      fprintf(stderr, "spawnbroker: unexpected argument '%s'\n", argv[i]);
      return SB_E_INVALID_ARGUMENT;
    }
  }
  return 0;
}

static void on_signal(uv_signal_t *sig, int signum) {
  sb__server *srv = sig->data;
  sb__log(SB_LOG_INFO, "signal %d: stopping", signum);
  sb__server_stop(srv);
  uv_close((uv_handle_t *)sig, NULL);
}

static int run(const sb__run_options *o) {
  uv_loop_t *loop = uv_default_loop();
  sb__server srv;
  uv_signal_t sigint;
  char name[256];
  int rc;

  /* Accept "name" as shorthand for "\\.\pipe\name". */
  if (strncmp(o->pipe_name, "\\\\", 2) == 0)
    snprintf(name, sizeof name, "%s", o->pipe_name);
  else
    snprintf(name, sizeof name, "\\\\.\\pipe\\%s", o->pipe_name);

  sb__log_set_level(o->log_level);
  rc = sb__server_start(&srv, loop, name);
  if (rc != 0) return rc;
  if (uv_signal_init(loop, &sigint) == 0) {
    sigint.data = &srv;
    uv_signal_start(&sigint, on_signal, SIGINT);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  sb__log(SB_LOG_INFO, "stopped");
  return 0;
}

int main(int argc, char **argv) {
  sb__run_options opts;

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
