/*
 * spawnctl.exe: the broker from a shell, on top of the client library.
 *
 *   spawnctl [GLOBAL OPTIONS] COMMAND [ARGS]
 *
 * Commands: run (ctl_run.c), ping, hello, stats, list, kill, wait, call.
 * Every command connects (greeting the broker with hello), does its one
 * thing and exits. Exit codes: 0 success, 1 the broker answered with an
 * error, 2 usage, 125 the broker could not be reached or the transport
 * failed. run and wait exit with the child's exit code, 124 when their
 * --timeout passed, 125 when the broker refused (run: 126/127 for a program
 * that is not executable / not found), as docker run and env do (ctl.h).
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static void usage(DWORD std) {
  sb__ctl_printf(
      std,
      "usage: spawnctl [GLOBAL OPTIONS] COMMAND [ARGS]\n"
      "\n"
      "commands:\n"
      "  run [OPTIONS] [--] PROGRAM [ARGS...]   start a child, wait, exit with its code\n"
      "  wait PID [--timeout MS]   wait for a child, exit with its code\n"
      "  kill PID [CODE]           terminate a child (exit code CODE, default 1)\n"
      "  list [--json]             your children the broker still knows\n"
      "  ping | hello | stats      liveness, the hello result, the broker's counters\n"
      "  call METHOD [PARAMS-JSON] send any request as it is; print the raw reply\n"
      "  COMMAND --help            help for one command\n"
      "\n"
      "global options:\n"
      "  --pipe NAME        the broker's pipe (default " SB_CLIENT_DEFAULT_PIPE ");\n"
      "                     a bare name is placed under \\\\.\\pipe\\\n"
      "  --timeout MS       connect and reply timeout (default %d)\n"
      "  --transfer MODE    auto (default), pull or push\n"
      "  --version, --help\n"
      "\n"
      "exit codes: 0 ok, 1 the broker answered with an error, 2 usage, 125 no\n"
      "broker or a transport failure. run and wait exit with the child's exit\n"
      "code; 124 when their --timeout passed, 125 when the broker refused (run:\n"
      "126 the program is not executable, 127 it was not found)\n",
      SB__CTL_DEFAULT_TIMEOUT_MS);
}

/* ------------------------------------------------------------------------ */
/* Shared helpers                                                           */

bool sb__ctl_parse_u64(const char *s, uint64_t max, uint64_t *out) {
  uint64_t v = 0;
  if (s == NULL || *s == '\0') return false;
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9') return false;
    if (v > (max - (uint64_t)(*s - '0')) / 10) return false;
    v = v * 10 + (uint64_t)(*s - '0');
  }
  *out = v;
  return true;
}

wchar_t *sb__ctl_wide(const char *s) {
  int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
  wchar_t *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;
  if (w != NULL) MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
  return w;
}

int sb__ctl_connect(const sb__ctl_global *g, sb_client **out) {
  sb_client_options o;
  int rc;
  sb_client_options_init(&o);
  o.client_name = "spawnctl/" SB_VERSION;
  o.transfer = g->transfer;
  o.call_timeout_ms = g->timeout_ms;
  rc = sb_client_connect_ex(g->pipe, g->timeout_ms, &o, out);
  if (rc == 0) return 0;
  if (rc == SB_E_CLOSED) {
    const sb_rpc_error *e = sb_client_last_error(NULL);
    /* The library's detail already reads "no broker is listening on ...". */
    sb__ctl_printf(STD_ERROR_HANDLE, "spawnctl: %s\n",
                   e != NULL && e->detail != NULL ? e->detail : "no broker is listening");
  } else {
    sb__ctl_fail(NULL, rc);
  }
  return SB__CTL_EXIT_TRANSPORT;
}

/* The exit code for a failed call: the broker's refusal, or a transport
 * failure (which also covers the library's own timeouts). */
static int call_failed(const sb_client *c, int rc) {
  sb__ctl_fail(c, rc);
  if (rc == SB_E_CLOSED || rc == SB_E_IO || rc == SB_E_BAD_REPLY || rc == SB_E_TIMEOUT ||
      rc == SB_E_NOMEM)
    return SB__CTL_EXIT_TRANSPORT;
  return SB__CTL_EXIT_REFUSED;
}

static bool wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) return true;
  }
  return false;
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                 */

static int cmd_ping(const sb__ctl_global *g, int argc, char **argv) {
  sb_client *c;
  LARGE_INTEGER f, t0, t1;
  int code, rc;
  if (wants_help(argc, argv)) {
    sb__ctl_printf(STD_OUTPUT_HANDLE, "usage: spawnctl ping\n\nOne round trip to the broker; "
                   "prints how long it took.\n");
    return 0;
  }
  if (argc != 1) return sb__ctl_usage("ping", "ping takes no arguments");
  code = sb__ctl_connect(g, &c);
  if (code != 0) return code;
  QueryPerformanceFrequency(&f);
  QueryPerformanceCounter(&t0);
  rc = sb_client_ping(c);
  QueryPerformanceCounter(&t1);
  if (rc == 0)
    sb__ctl_printf(STD_OUTPUT_HANDLE, "pong in %.3f ms\n",
                   (double)(t1.QuadPart - t0.QuadPart) * 1000.0 / (double)f.QuadPart);
  else
    code = call_failed(c, rc);
  sb_client_close(c);
  return code;
}

static int cmd_hello(const sb__ctl_global *g, int argc, char **argv) {
  sb_client *c;
  const sb_hello_result *h;
  sb__ctl_str s = {0};
  int code;
  if (wants_help(argc, argv)) {
    sb__ctl_printf(STD_OUTPUT_HANDLE, "usage: spawnctl hello\n\nPrints the broker's hello "
                   "result (version, pid, transfer mode, limits) as JSON.\n");
    return 0;
  }
  if (argc != 1) return sb__ctl_usage("hello", "hello takes no arguments");
  code = sb__ctl_connect(g, &c);
  if (code != 0) return code;
  h = sb_client_hello_result(c);
  sb__ctl_str_printf(&s, "{\"protocol\":%lu,\"broker_version\":", (unsigned long)h->protocol);
  sb__ctl_str_json(&s, h->broker_version);
  sb__ctl_str_printf(&s,
                     ",\"pid\":%lu,\"transfer\":\"%s\",\"max_frame_bytes\":%lu,"
                     "\"max_handles\":%lu,\"max_args\":%lu,\"max_env\":%lu}",
                     (unsigned long)h->pid, sb_transfer_name(h->transfer),
                     (unsigned long)h->max_frame_bytes, (unsigned long)h->max_handles,
                     (unsigned long)h->max_args, (unsigned long)h->max_env);
  sb__ctl_str_emit(&s, STD_OUTPUT_HANDLE);
  sb_client_close(c);
  return 0;
}

static int cmd_stats(const sb__ctl_global *g, int argc, char **argv) {
  sb_client *c;
  sb_stats_result st;
  int code, rc;
  if (wants_help(argc, argv)) {
    sb__ctl_printf(STD_OUTPUT_HANDLE,
                   "usage: spawnctl stats\n\nPrints the broker's counters as JSON.\n");
    return 0;
  }
  if (argc != 1) return sb__ctl_usage("stats", "stats takes no arguments");
  code = sb__ctl_connect(g, &c);
  if (code != 0) return code;
  rc = sb_client_stats(c, &st);
  if (rc == 0) {
    /* Every counter the library knows, in wire order, one JSON object. */
    const char *sep = "{";
#define SB__PRINT_STAT(name, doc)                                                     \
  sb__ctl_printf(STD_OUTPUT_HANDLE, "%s\"" #name "\":%llu", sep, (unsigned long long)st.name); \
  sep = ",";
    SB_STATS_COUNTERS(SB__PRINT_STAT)
#undef SB__PRINT_STAT
    sb__ctl_printf(STD_OUTPUT_HANDLE, "}\n");
  } else {
    code = call_failed(c, rc);
  }
  sb_client_close(c);
  return code;
}

static int cmd_list(const sb__ctl_global *g, int argc, char **argv) {
  sb_client *c;
  sb_list_result l;
  bool json = argc == 2 && strcmp(argv[1], "--json") == 0;
  int code, rc;
  if (wants_help(argc, argv)) {
    sb__ctl_printf(STD_OUTPUT_HANDLE,
                   "usage: spawnctl list [--json]\n\nThe children of your user that the "
                   "broker still knows, spawned over any connection: a table, or with --json "
                   "the list result as one JSON line.\n");
    return 0;
  }
  if (argc != 1 && !json) return sb__ctl_usage("list", "list takes only --json");
  code = sb__ctl_connect(g, &c);
  if (code != 0) return code;
  rc = sb_client_list(c, &l);
  if (rc != 0) {
    code = call_failed(c, rc);
  } else if (json) {
    sb__ctl_str s = {0};
    sb__ctl_str_printf(&s, "{\"children\":[");
    for (size_t i = 0; i < l.nchildren; i++) {
      const sb_child_info *ch = &l.children[i];
      sb__ctl_str_printf(&s, "%s{\"pid\":%lu,\"program\":", i ? "," : "",
                         (unsigned long)ch->pid);
      sb__ctl_str_json(&s, ch->program);
      sb__ctl_str_printf(&s, ",\"lifetime\":\"%s\",\"running\":%s", sb_lifetime_name(ch->lifetime),
                         ch->running ? "true" : "false");
      if (!ch->running) sb__ctl_str_printf(&s, ",\"exit_code\":%lu", (unsigned long)ch->exit_code);
      sb__ctl_str_printf(&s, "}");
    }
    sb__ctl_str_printf(&s, "]}");
    sb__ctl_str_emit(&s, STD_OUTPUT_HANDLE);
  } else {
    sb__ctl_printf(STD_OUTPUT_HANDLE, "%-8s %-10s %-10s %s\n", "PID", "LIFETIME", "STATE",
                   "PROGRAM");
    for (size_t i = 0; i < l.nchildren; i++) {
      const sb_child_info *ch = &l.children[i];
      char state[24];
      if (ch->running)
        snprintf(state, sizeof state, "running");
      else
        snprintf(state, sizeof state, "exit %lu", (unsigned long)ch->exit_code);
      sb__ctl_printf(STD_OUTPUT_HANDLE, "%-8lu %-10s %-10s %s\n", (unsigned long)ch->pid,
                     sb_lifetime_name(ch->lifetime), state, ch->program);
    }
  }
  if (rc == 0) sb_client_list_free(&l);
  sb_client_close(c);
  return code;
}

static int cmd_kill(const sb__ctl_global *g, int argc, char **argv) {
  sb_client *c;
  sb_kill_result k;
  uint64_t pid, exit_code = 1;
  int code, rc;
  if (wants_help(argc, argv)) {
    sb__ctl_printf(STD_OUTPUT_HANDLE,
                   "usage: spawnctl kill PID [CODE]\n\nTerminates a child of this client; it "
                   "exits with CODE (default 1). Prints {\"pid\":..,\"killed\":..}; killed is "
                   "false when it had already exited.\n");
    return 0;
  }
  if (argc < 2 || argc > 3) return sb__ctl_usage("kill", "kill takes PID [CODE]");
  if (!sb__ctl_parse_u64(argv[1], UINT32_MAX, &pid) || pid == 0)
    return sb__ctl_usage("kill", "'%s' is not a process id", argv[1]);
  if (argc == 3 && !sb__ctl_parse_u64(argv[2], UINT32_MAX, &exit_code))
    return sb__ctl_usage("kill", "'%s' is not an exit code (0 to 4294967295)", argv[2]);
  code = sb__ctl_connect(g, &c);
  if (code != 0) return code;
  rc = sb_client_kill(c, (uint32_t)pid, (uint32_t)exit_code, &k);
  if (rc == 0)
    sb__ctl_printf(STD_OUTPUT_HANDLE, "{\"pid\":%lu,\"killed\":%s}\n", (unsigned long)k.pid,
                   k.killed ? "true" : "false");
  else
    code = call_failed(c, rc);
  sb_client_close(c);
  return code;
}

static int cmd_wait(const sb__ctl_global *g, int argc, char **argv) {
  sb_client *c;
  sb_exit_info e;
  uint64_t pid, timeout = SB_CLIENT_INFINITE;
  int code, rc;
  if (wants_help(argc, argv)) {
    sb__ctl_printf(STD_OUTPUT_HANDLE,
                   "usage: spawnctl wait PID [--timeout MS]\n\nWaits for a child of this "
                   "client, prints its exit information as JSON and exits with its exit code; "
                   "124 when MS passed first.\n");
    return 0;
  }
  if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--timeout") == 0))
    return sb__ctl_usage("wait", "wait takes PID [--timeout MS]");
  if (!sb__ctl_parse_u64(argv[1], UINT32_MAX, &pid) || pid == 0)
    return sb__ctl_usage("wait", "'%s' is not a process id", argv[1]);
  if (argc == 4 && !sb__ctl_parse_u64(argv[3], SB_LIMIT_WAIT_TIMEOUT_MS, &timeout))
    return sb__ctl_usage("wait", "--timeout needs milliseconds (0 to %d), not '%s'",
                         SB_LIMIT_WAIT_TIMEOUT_MS, argv[3]);
  code = sb__ctl_connect(g, &c);
  if (code != 0) return code;
  rc = sb_client_wait(c, (uint32_t)pid, (uint32_t)timeout, &e);
  if (rc == 0) {
    sb__ctl_print_exit(&e);
    code = (int)e.exit_code;
  } else {
    sb__ctl_fail(c, rc);
    code = rc == SB_E_TIMEOUT ? SB__CTL_EXIT_TIMEOUT : SB__CTL_EXIT_TRANSPORT;
  }
  sb_client_close(c);
  return code;
}

static int cmd_call(const sb__ctl_global *g, int argc, char **argv) {
  sb_client *c;
  char *reply = NULL;
  int code, rc;
  if (argc == 2 && strcmp(argv[1], "--help") == 0) {
    sb__ctl_printf(STD_OUTPUT_HANDLE,
                   "usage: spawnctl call METHOD [PARAMS-JSON]\n\nSends METHOD with "
                   "PARAMS-JSON exactly as given (the broker judges it, not spawnctl) and "
                   "prints the raw reply frame. Exits 0 for a result, 1 for an error reply.\n");
    return 0;
  }
  if (argc < 2 || argc > 3) return sb__ctl_usage("call", "call takes METHOD [PARAMS-JSON]");
  code = sb__ctl_connect(g, &c);
  if (code != 0) return code;
  rc = sb_client_call_raw(c, argv[1], argc == 3 ? argv[2] : NULL, &reply);
  if (reply != NULL) {
    /* The raw reply is the most useful thing to show for a raw call, for
     * an error reply as much as for a result. */
    sb__ctl_printf(STD_OUTPUT_HANDLE, "%s\n", reply);
    code = rc == 0 ? SB__CTL_EXIT_OK : SB__CTL_EXIT_REFUSED;
  } else {
    sb__ctl_fail(c, rc);
    code = rc == SB_E_INVALID_ARGUMENT ? SB__CTL_EXIT_USAGE : SB__CTL_EXIT_TRANSPORT;
  }
  sb_client_free(reply);
  sb_client_close(c);
  return code;
}

/* ------------------------------------------------------------------------ */
/* Entry                                                                    */

static int dispatch(int argc, char **argv) {
  sb__ctl_global g = {NULL, SB__CTL_DEFAULT_TIMEOUT_MS, SB_TRANSFER_AUTO};
  int i = 1;
  const char *cmd;

  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0) {
      usage(STD_OUTPUT_HANDLE);
      return 0;
    } else if (strcmp(a, "--version") == 0) {
      sb__ctl_printf(STD_OUTPUT_HANDLE, "spawnctl %s (protocol %d)\n", SB_VERSION,
                     SB_PROTOCOL_VERSION);
      return 0;
    } else if (strcmp(a, "--pipe") == 0 && i + 1 < argc) {
      g.pipe = argv[++i];
    } else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
      uint64_t ms;
      if (!sb__ctl_parse_u64(argv[++i], UINT32_MAX - 1, &ms) || ms == 0)
        return sb__ctl_usage(NULL, "--timeout needs a positive number of milliseconds");
      g.timeout_ms = (uint32_t)ms;
    } else if (strcmp(a, "--transfer") == 0 && i + 1 < argc) {
      const char *m = argv[++i];
      if (strcmp(m, "auto") == 0)
        g.transfer = SB_TRANSFER_AUTO;
      else if (strcmp(m, "pull") == 0)
        g.transfer = SB_TRANSFER_PULL;
      else if (strcmp(m, "push") == 0)
        g.transfer = SB_TRANSFER_PUSH;
      else
        return sb__ctl_usage(NULL, "--transfer is auto, pull or push, not '%s'", m);
    } else {
      return sb__ctl_usage(NULL, "unknown option '%s' (or it lacks its value)", a);
    }
  }
  if (i >= argc) {
    usage(STD_ERROR_HANDLE);
    return SB__CTL_EXIT_USAGE;
  }
  cmd = argv[i];
  argc -= i;
  argv += i;
  if (strcmp(cmd, "run") == 0) return sb__ctl_run(&g, argc, argv);
  if (strcmp(cmd, "ping") == 0) return cmd_ping(&g, argc, argv);
  if (strcmp(cmd, "hello") == 0) return cmd_hello(&g, argc, argv);
  if (strcmp(cmd, "stats") == 0) return cmd_stats(&g, argc, argv);
  if (strcmp(cmd, "list") == 0) return cmd_list(&g, argc, argv);
  if (strcmp(cmd, "kill") == 0) return cmd_kill(&g, argc, argv);
  if (strcmp(cmd, "wait") == 0) return cmd_wait(&g, argc, argv);
  if (strcmp(cmd, "call") == 0) return cmd_call(&g, argc, argv);
  if (strcmp(cmd, "help") == 0) {
    usage(STD_OUTPUT_HANDLE);
    return 0;
  }
  return sb__ctl_usage(NULL, "unknown command '%s'", cmd);
}

/* Windows hands programs their arguments in UTF-16; main()'s char **argv
 * would be in the ANSI code page, which cannot hold every path. wmain gets
 * the UTF-16 form, and everything inside spawnctl works in UTF-8. */
int wmain(int argc, wchar_t **wargv);
int wmain(int argc, wchar_t **wargv) {
  char **argv = calloc((size_t)argc + 1, sizeof *argv);
  int code = SB__CTL_EXIT_TRANSPORT;
  if (argv == NULL) goto done;
  for (int i = 0; i < argc; i++) {
    int n = WideCharToMultiByte(CP_UTF8, 0, wargv[i], -1, NULL, 0, NULL, NULL);
    argv[i] = n > 0 ? malloc((size_t)n) : NULL;
    if (argv[i] == NULL) {
      sb__ctl_printf(STD_ERROR_HANDLE, "spawnctl: cannot read argument %d\n", i);
      goto done;
    }
    WideCharToMultiByte(CP_UTF8, 0, wargv[i], -1, argv[i], n, NULL, NULL);
  }
  code = dispatch(argc, argv);
done:
  if (argv != NULL) {
    for (int i = 0; i < argc; i++) free(argv[i]);
    free(argv);
  }
  return code;
}
