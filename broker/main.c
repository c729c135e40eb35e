/*
 * spawnbroker.exe: the broker's command line.
 *
 *   spawnbroker run [options]       serve in the foreground until Ctrl-C
 *   spawnbroker settings [options]  print the effective settings
 *   spawnbroker install [--config FILE] [--start auto|demand] [--name NAME]
 *   spawnbroker uninstall | start | stop | status [--name NAME]
 *   spawnbroker [options]           the service itself (started by the SCM)
 *   spawnbroker --version | --help
 *
 * Options are listed in usage() below and in docs/operations.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <windows.h>
/* After windows.h. */
#include <shellapi.h>

#include "log.h"
#include "options.h"
#include "run.h"
#include "scm.h"
#include "service.h"
#include "utf.h"

static void usage(FILE *to) {
  fputs("usage: spawnbroker run [--config FILE] [options]\n"
        "       spawnbroker settings [--config FILE] [options]\n"
        "       spawnbroker install [--config FILE] [--start auto|demand] [--name NAME]\n"
        "       spawnbroker uninstall|start|stop|status [--name NAME]\n"
        "       spawnbroker --version | --help\n"
        "\n"
        "  run                  serve requests in the foreground until Ctrl-C\n"
        "  settings             print the settings these options give, as a config file\n"
        "  install              install the Windows service (LocalSystem) reading FILE;\n"
        "                       --start demand (default) or auto; --name (default\n"
        "                       spawnbroker) also names its Event Log source and log file\n"
        "  uninstall            stop the service if it runs, and remove it\n"
        "  start, stop          start the service, stop it gracefully, and wait\n"
        "  status               say whether the service runs (exit 0), is installed but\n"
        "                       not running (3), or is not installed (4)\n"
        "\n"
        "  --config FILE        read settings from a JSON config file first\n"
        "  --set NAME=VALUE     any setting (docs/operations.md lists them all)\n"
        "  --pipe NAME          pipe to listen on (default \\\\.\\pipe\\spawnbroker);\n"
        "                       a bare name is placed under \\\\.\\pipe\\\n"
        "  --transfer MODE      auto (default: pull, push when the client cannot\n"
        "                       be opened), pull or push (forced for every client)\n"
        "  --clients WHO        interactive (default), authenticated or owner\n"
        "  --warm N             idle helpers kept ready (default 2)\n"
        "  --max-helpers N      helpers alive at once (default 64)\n"
        "  --recycle N          spawns per helper before it is replaced (default 100)\n"
        "  --max-connections N  connections open at once (default 256)\n"
        "  --log-level LEVEL    error, warn, info (default) or debug\n"
        "  --log-file PATH      also log to this file\n",
        to);
#ifdef SB_TEST_HOOKS
  fputs("test build only:\n"
        "  --test-rogue CMDLINE --test-rogue-report FILE\n"
        "                       run CMDLINE in a loop with bInheritHandles=TRUE\n"
        "  --test-spawn-gate NAME\n"
        "                       hold every spawn until the event NAME.go is set\n"
        "  --test-identity-by-client yes\n"
        "                       tell clients apart by hello's client name too\n"
        "  --test-fault-file PATH\n"
        "                       make the step named in PATH fail (broker/fault.h)\n"
        "  --test-spawn-delay-ms N\n"
        "                       hold each leased helper N ms before creating the child\n",
        to);
#endif
}

/* The C runtime's argv is in the ANSI code page, which cannot hold every
 * path; the command line itself is UTF-16. The strings live as long as the
 * process (the service reads them from another thread). */
static char **utf8_argv(int *argc) {
  int n = 0;
  wchar_t **w = CommandLineToArgvW(GetCommandLineW(), &n);
  char **out;
  if (w == NULL) return NULL;
  out = calloc((size_t)n + 1, sizeof *out);
  for (int i = 0; out != NULL && i < n; i++) {
    if (sb__wide_to_utf8(w[i], &out[i]) != 0) {
      /* A lone surrogate: no such option or path exists. */
      for (int j = 0; j < i; j++) free(out[j]);
      free(out);
      out = NULL;
    }
  }
  LocalFree(w);
  *argc = n;
  return out;
}

static int print_settings(const sb__options *o) {
  char *json = NULL;
  if (sb__settings_to_json(&o->cfg.s, &json) != 0) return 1;
  printf("%s\n", json);
  cJSON_free(json);
  return 0;
}

/* The console: stderr, plus the log file when log.file is set; Ctrl-C and
 * Ctrl-Break stop gracefully. */
static int run_console(sb__options *o) {
  static sb__runner r;
  sb__run_hooks hooks = {NULL, NULL, NULL, true};
  int rc;
  sb__log_set_level((sb__log_level)o->cfg.s.log_level);
  if (o->cfg.s.log_file[0] != '\0') {
    wchar_t *path = NULL;
    rc = sb__utf8_to_wide(o->cfg.s.log_file, &path);
    if (rc == 0) rc = sb__log_open_file(path, o->cfg.s.log_max_bytes, o->cfg.s.log_keep);
    free(path);
    if (rc != 0) {
      fprintf(stderr, "spawnbroker: cannot open the log file %s (error %lu)\n",
              o->cfg.s.log_file, GetLastError());
      return 1;
    }
  }
  rc = sb__runner_init(&r, &hooks);
  if (rc == 0) rc = sb__runner_run(&r, o);
  sb__log_close();
  return rc == 0 ? 0 : 1;
}

int main(void) {
  static sb__options opts;
  char err[512];
  int argc = 0;
  char **argv = utf8_argv(&argc);
  const char *verb;

  if (argv == NULL) {
    fputs("spawnbroker: the command line cannot be read\n", stderr);
    return 2;
  }
  verb = argc >= 2 ? argv[1] : NULL;
  if (verb != NULL && strcmp(verb, "--version") == 0) {
    printf("spawnbroker %s (protocol %d)\n", SB_VERSION, SB_PROTOCOL_VERSION);
    return 0;
  }
  if (verb != NULL && (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0)) {
    usage(stdout);
    return 0;
  }
  /* No verb: options only, as install records them. */
  if (verb == NULL || strncmp(verb, "--", 2) == 0) return sb__service_main(argc, argv);
  if (strcmp(verb, "install") == 0) return sb__verb_install(argc, argv);
  if (strcmp(verb, "uninstall") == 0) return sb__verb_uninstall(argc, argv);
  if (strcmp(verb, "start") == 0) return sb__verb_start(argc, argv);
  if (strcmp(verb, "stop") == 0) return sb__verb_stop(argc, argv);
  if (strcmp(verb, "status") == 0) return sb__verb_status(argc, argv);
  if (strcmp(verb, "run") != 0 && strcmp(verb, "settings") != 0) {
    usage(stderr);
    return 2;
  }
  if (sb__options_parse(argc, argv, 2, &opts, err, sizeof err) != 0) {
    fprintf(stderr, "spawnbroker: %s\n", err);
    return 2;
  }
  if (strcmp(verb, "settings") == 0) return print_settings(&opts);
  return run_console(&opts);
}
