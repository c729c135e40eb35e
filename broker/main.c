/*
 * spawnbroker.exe: the broker's command line.
 *
 *   spawnbroker run [options]       serve in the foreground until Ctrl-C
 *   spawnbroker settings [options]  print the effective settings
 *   spawnbroker --version | --help
 *
 * Options are listed in usage() below and in docs/operations.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "log.h"
#include "server.h"
#include "utf.h"
#ifdef SB_TEST_HOOKS
#include "rogue.h"
#endif

static void usage(FILE *to) {
  fputs("usage: spawnbroker run [--config FILE] [options]\n"
        "       spawnbroker settings [--config FILE] [options]\n"
        "       spawnbroker --version | --help\n"
        "\n"
        "  run                  serve requests in the foreground until Ctrl-C\n"
        "  settings             print the settings these options give, as a config file\n"
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
        "                       run CMDLINE in a loop with bInheritHandles=TRUE\n",
        to);
#endif
}

typedef struct sb__options {
  sb__broker_config cfg;
  const char *rogue_cmd;
  const char *rogue_report;
} sb__options;

/* Reads a whole config file (UTF-8 path) into a malloc'd buffer. */
static int read_file(const char *path, char **out, size_t *len) {
  wchar_t *wpath = NULL;
  FILE *f = NULL;
  char *buf = NULL;
  long size;
  int rc = SB_E_IO;

  if (sb__utf8_to_wide(path, &wpath) != 0) return SB_E_INVALID_ARGUMENT;
  f = _wfopen(wpath, L"rb");
  if (f == NULL) goto done;
  if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
    goto done;
  /* A config file is a few kilobytes; anything huge is not one. */
  if (size > 1024 * 1024) {
    rc = SB_E_FRAME_TOO_LARGE;
    goto done;
  }
  buf = malloc((size_t)size + 1);
  if (buf == NULL) {
    rc = SB_E_NOMEM;
    goto done;
  }
  if (fread(buf, 1, (size_t)size, f) != (size_t)size) goto done;
  buf[size] = '\0';
  *out = buf;
  *len = (size_t)size;
  buf = NULL;
  rc = 0;
done:
  free(buf);
  if (f != NULL) fclose(f);
  free(wpath);
  return rc;
}

/* Settings from the defaults, then the config file (wherever --config
 * stands), then every other option in order. Reports its own errors. */
static int parse_options(int argc, char **argv, sb__options *o) {
  sb__settings *s = &o->cfg.s;
  char err[256];
  memset(o, 0, sizeof *o);
  sb__settings_init(s);
  for (int i = 2; i + 1 < argc; i++) {
    if (strcmp(argv[i], "--config") == 0) {
      char *text = NULL;
      size_t len = 0;
      int rc = read_file(argv[i + 1], &text, &len);
      if (rc != 0) {
        fprintf(stderr, "spawnbroker: cannot read the config file %s: %s\n", argv[i + 1],
                sb_err_message(rc));
        return rc;
      }
      rc = sb__settings_load(s, text, len, err, sizeof err);
      free(text);
      if (rc != 0) {
        fprintf(stderr, "spawnbroker: %s: %s\n", argv[i + 1], err);
        return rc;
      }
    }
  }
  for (int i = 2; i < argc; i++) {
    const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    const char *name = sb__settings_flag_name(opt);
    int rc = 0;
    if (val == NULL) {
      fprintf(stderr, "spawnbroker: %s needs a value\n", opt);
      return SB_E_INVALID_ARGUMENT;
    }
    i++;
    if (strcmp(opt, "--config") == 0) continue;
    if (name != NULL) {
      rc = sb__settings_set(s, name, val, err, sizeof err);
    } else if (strcmp(opt, "--set") == 0) {
      char key[128];
      const char *eq = strchr(val, '=');
      if (eq == NULL || (size_t)(eq - val) >= sizeof key) {
        fprintf(stderr, "spawnbroker: --set needs NAME=VALUE, not \"%s\"\n", val);
        return SB_E_INVALID_ARGUMENT;
      }
      snprintf(key, sizeof key, "%.*s", (int)(eq - val), val);
      rc = sb__settings_set(s, key, eq + 1, err, sizeof err);
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
    if (rc != 0) {
      fprintf(stderr, "spawnbroker: %s\n", err);
      return rc;
    }
  }
  if (sb__settings_check(s, err, sizeof err) != 0) {
    fprintf(stderr, "spawnbroker: %s\n", err);
    return SB_E_OUT_OF_RANGE;
  }
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

  sb__log_set_level((sb__log_level)o->cfg.s.log_level);
  /* The console logs to stderr, and also to log.file when it is set. */
  if (o->cfg.s.log_file[0] != '\0') {
    wchar_t *path = NULL;
    rc = sb__utf8_to_wide(o->cfg.s.log_file, &path);
    if (rc == 0) rc = sb__log_open_file(path, o->cfg.s.log_max_bytes, o->cfg.s.log_keep);
    free(path);
    if (rc != 0) {
      fprintf(stderr, "spawnbroker: cannot open the log file %s (error %lu)\n",
              o->cfg.s.log_file, GetLastError());
      return rc;
    }
  }
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
  sb__log_close();
  return 0;
}

static int print_settings(const sb__options *o) {
  char *json = NULL;
  if (sb__settings_to_json(&o->cfg.s, &json) != 0) return 1;
  printf("%s\n", json);
  cJSON_free(json);
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
  if (argc < 2 || (strcmp(argv[1], "run") != 0 && strcmp(argv[1], "settings") != 0)) {
    usage(stderr);
    return 2;
  }
  if (parse_options(argc, argv, &opts) != 0) return 2;
  if (strcmp(argv[1], "settings") == 0) return print_settings(&opts);
  return run(&opts) == 0 ? 0 : 1;
}
