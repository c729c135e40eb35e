/*
 * The options of "spawnctl run": parsing only. Nothing is opened or sent
 * here, so every mistake in the command line is reported (exit 2) before
 * spawnctl touches a file or the broker.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

void sb__ctl_run_usage(DWORD std) {
  sb__ctl_printf(
      std,
      "usage: spawnctl [GLOBAL OPTIONS] run [OPTIONS] [--] PROGRAM [ARGS...]\n"
      "\n"
      "Starts PROGRAM through the broker with exactly the handles named here,\n"
      "waits for it, and exits with its exit code.\n"
      "\n"
      "By default the child gets spawnctl's own stdin, stdout and stderr, as\n"
      "handles named stdin, stdout and stderr. A handle you name stdin, stdout\n"
      "or stderr yourself takes that stream's place.\n"
      "\n"
      "  --handle NAME=VALUE   pass handle VALUE (decimal or 0x hex) of spawnctl's\n"
      "                        own table, e.g. one its parent let it inherit\n"
      "  --file NAME=PATH:MODE open PATH (not inheritable) and pass it as NAME;\n"
      "                        MODE is r, w (create or truncate), a (append) or\n"
      "                        rw; without NAME= the handle is named fileN, N\n"
      "                        counting the --file options from 1\n"
      "  --stdin NAME, --stdout NAME, --stderr NAME\n"
      "                        make handle NAME that standard stream; '-' gives\n"
      "                        the child none\n"
      "  --fd N=NAME           also make handle NAME C runtime fd N (3-63)\n"
      "  --env NAME=VALUE      set a variable (repeatable), on top of the\n"
      "                        broker's environment (not spawnctl's)\n"
      "  --clear-env           start from an empty environment instead\n"
      "  --cwd DIR             working directory (default: the broker's)\n"
      "  --handles-env NAME    set variable NAME to name=value;... of every handle\n"
      "  --expand-handles      replace {handle:NAME} in ARGS with NAME's value\n"
      "  --lifetime L          connection (the default: the child ends when\n"
      "                        spawnctl does, e.g. on Ctrl-C), broker (the\n"
      "                        default with --no-wait) or detached\n"
      "  --timeout MS          kill the child after MS ms and exit 124\n"
      "  --no-wait             print the child's pid and exit 0 at once\n"
      "  --json                print the spawn result and the exit information\n"
      "                        as JSON lines on stdout\n"
      "\n"
      "exit codes: the child's exit code; 124 --timeout passed; 125 the broker\n"
      "could not be reached or refused the spawn; 126 PROGRAM is not executable;\n"
      "127 PROGRAM was not found; 2 bad options\n");
}

bool sb__ctl_valid_name(const char *name, size_t len) {
  if (len == 0 || len > SB_LIMIT_NAME_BYTES) return false;
  if (!(name[0] == '_' || (name[0] >= 'A' && name[0] <= 'Z') ||
        (name[0] >= 'a' && name[0] <= 'z')))
    return false;
  for (size_t i = 1; i < len; i++) {
    char ch = name[i];
    if (!(ch == '_' || ch == '.' || ch == '-' || (ch >= 'A' && ch <= 'Z') ||
          (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
      return false;
  }
  return true;
}

/* A handle value: optional '-', then decimal or 0x hex. Plausibility is
 * the library's (and the broker's) to judge; this only reads the number. */
static bool parse_value(const char *s, int64_t *out) {
  bool neg = *s == '-';
  uint64_t v = 0;
  int base = 10;
  if (neg) s++;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s += 2;
  }
  if (*s == '\0') return false;
  for (; *s != '\0'; s++) {
    int d;
    if (*s >= '0' && *s <= '9')
      d = *s - '0';
    else if (base == 16 && *s >= 'a' && *s <= 'f')
      d = *s - 'a' + 10;
    else if (base == 16 && *s >= 'A' && *s <= 'F')
      d = *s - 'A' + 10;
    else
      return false;
    if (v > (UINT64_C(0x7FFFFFFFFFFFFFFF) - (uint64_t)d) / (uint64_t)base) return false;
    v = v * (uint64_t)base + (uint64_t)d;
  }
  *out = neg ? -(int64_t)v : (int64_t)v;
  return true;
}

static int find_handle(const sb__ctl_run_opts *r, const char *name) {
  for (size_t i = 0; i < r->nhandles; i++) {
    if (strcmp(r->handles[i].name, name) == 0) return (int)i;
  }
  return -1;
}

/* Adds a named handle; the caller fills in value or path. */
static int add_handle(sb__ctl_run_opts *r, const char *opt, const char *name, size_t len,
                      sb__ctl_handle **out) {
  char copy[SB_LIMIT_NAME_BYTES + 1];
  if (!sb__ctl_valid_name(name, len))
    return sb__ctl_usage("run", "%s: '%.*s' is not a handle name ([A-Za-z_][A-Za-z0-9_.-]*, "
                         "at most 64 bytes)", opt, (int)len, name);
  memcpy(copy, name, len);
  copy[len] = '\0';
  if (find_handle(r, copy) >= 0)
    return sb__ctl_usage("run", "%s: there is already a handle called %s", opt, copy);
  if (r->nhandles == SB_LIMIT_HANDLES)
    return sb__ctl_usage("run", "%s: at most %d handles can be passed", opt, SB_LIMIT_HANDLES);
  *out = &r->handles[r->nhandles++];
  memset(*out, 0, sizeof **out);
  memcpy((*out)->name, copy, len + 1);
  return 0;
}

static int opt_handle(sb__ctl_run_opts *r, const char *arg) {
  const char *eq = strchr(arg, '=');
  sb__ctl_handle *h;
  int rc;
  if (eq == NULL) return sb__ctl_usage("run", "--handle needs NAME=VALUE, not '%s'", arg);
  rc = add_handle(r, "--handle", arg, (size_t)(eq - arg), &h);
  if (rc != 0) return rc;
  if (!parse_value(eq + 1, &h->value))
    return sb__ctl_usage("run", "--handle %s: '%s' is not a number", h->name, eq + 1);
  return 0;
}

static int opt_file(sb__ctl_run_opts *r, char *arg, int nth) {
  char *eq = strchr(arg, '=');
  char *spec = arg, *colon;
  const char *mode;
  char autoname[16];
  sb__ctl_handle *h;
  int rc;
  /* NAME= is present when the text before the first '=' is a valid handle
   * name; otherwise the '=' belongs to the path (".\a=b.txt:r"). */
  if (eq != NULL && sb__ctl_valid_name(arg, (size_t)(eq - arg))) {
    rc = add_handle(r, "--file", arg, (size_t)(eq - arg), &h);
    spec = eq + 1;
  } else {
    int n = snprintf(autoname, sizeof autoname, "file%d", nth);
    rc = add_handle(r, "--file", autoname, (size_t)n, &h);
  }
  if (rc != 0) return rc;
  /* The mode follows the LAST colon: paths have colons of their own
   * ("C:\x.txt"). */
  colon = strrchr(spec, ':');
  if (colon == NULL || colon == spec)
    return sb__ctl_usage("run", "--file needs [NAME=]PATH:MODE, not '%s'", arg);
  mode = colon + 1;
  if (strcmp(mode, "r") == 0)
    h->mode = SB__CTL_FILE_R;
  else if (strcmp(mode, "w") == 0)
    h->mode = SB__CTL_FILE_W;
  else if (strcmp(mode, "a") == 0)
    h->mode = SB__CTL_FILE_A;
  else if (strcmp(mode, "rw") == 0)
    h->mode = SB__CTL_FILE_RW;
  else
    return sb__ctl_usage("run", "--file %s: mode '%s' is not r, w, a or rw", h->name, mode);
  /* The path is the argument up to the colon; the argv strings are
   * spawnctl's own copies (spawnctl.c made them), so cutting is fine. */
  *colon = '\0';
  h->path = spec;
  return 0;
}

static int opt_fd(sb__ctl_run_opts *r, const char *arg) {
  const char *eq = strchr(arg, '=');
  char num[8];
  uint64_t fd;
  size_t n = eq != NULL ? (size_t)(eq - arg) : 0;
  if (eq == NULL || n == 0 || n >= sizeof num)
    return sb__ctl_usage("run", "--fd needs N=NAME, not '%s'", arg);
  memcpy(num, arg, n);
  num[n] = '\0';
  if (!sb__ctl_parse_u64(num, SB_LIMIT_FD_MAX, &fd) || fd < 3)
    return sb__ctl_usage("run", "--fd %s: the fd must be 3 to %d (0-2 are --stdin, --stdout "
                         "and --stderr)", num, SB_LIMIT_FD_MAX);
  for (size_t i = 0; i < r->nfds; i++) {
    if (r->fds[i].fd == (int)fd) return sb__ctl_usage("run", "--fd %s is given twice", num);
  }
  if (r->nfds == SB_LIMIT_HANDLES)
    return sb__ctl_usage("run", "--fd: at most %d fds", SB_LIMIT_HANDLES);
  r->fds[r->nfds].fd = (int)fd;
  r->fds[r->nfds].name = eq + 1;
  r->nfds++;
  return 0;
}

static int opt_lifetime(sb__ctl_run_opts *r, const char *arg) {
  if (strcmp(arg, "broker") == 0)
    r->lifetime = SB_LIFETIME_BROKER;
  else if (strcmp(arg, "detached") == 0)
    r->lifetime = SB_LIFETIME_DETACHED;
  else if (strcmp(arg, "connection") == 0)
    r->lifetime = SB_LIFETIME_CONNECTION;
  else
    return sb__ctl_usage("run", "--lifetime is broker, detached or connection, not '%s'", arg);
  r->lifetime_set = true;
  return 0;
}

/* Options that take a value; NULL when opt is not one of them. */
static const char *const valued[] = {"--handle", "--file", "--stdin",       "--stdout",
                                     "--stderr", "--fd",   "--env",         "--cwd",
                                     "--lifetime", "--timeout", "--handles-env"};

static bool takes_value(const char *opt) {
  for (size_t i = 0; i < sizeof valued / sizeof valued[0]; i++) {
    if (strcmp(opt, valued[i]) == 0) return true;
  }
  return false;
}

static int one_option(sb__ctl_run_opts *r, const char *opt, char *val, int *nfile) {
  static const char *const std_opts[3] = {"--stdin", "--stdout", "--stderr"};
  for (int s = 0; s < 3; s++) {
    if (strcmp(opt, std_opts[s]) != 0) continue;
    if (strcmp(val, "-") != 0 && !sb__ctl_valid_name(val, strlen(val)))
      return sb__ctl_usage("run", "%s: '%s' is not a handle name or '-'", opt, val);
    r->std_ref[s] = val;
    return 0;
  }
  if (strcmp(opt, "--handle") == 0) return opt_handle(r, val);
  if (strcmp(opt, "--file") == 0) return opt_file(r, val, ++*nfile);
  if (strcmp(opt, "--fd") == 0) return opt_fd(r, val);
  if (strcmp(opt, "--lifetime") == 0) return opt_lifetime(r, val);
  if (strcmp(opt, "--env") == 0) {
    if (strchr(val, '=') == NULL || val[0] == '=')
      return sb__ctl_usage("run", "--env needs NAME=VALUE, not '%s'", val);
    r->env[r->nenv++] = val;
    return 0;
  }
  if (strcmp(opt, "--cwd") == 0) {
    r->cwd = val;
    return 0;
  }
  if (strcmp(opt, "--handles-env") == 0) {
    r->handles_env = val;
    return 0;
  }
  /* --timeout */
  {
    uint64_t ms;
    if (!sb__ctl_parse_u64(val, SB_LIMIT_WAIT_TIMEOUT_MS, &ms))
      return sb__ctl_usage("run", "--timeout needs milliseconds (0 to %d), not '%s'",
                           SB_LIMIT_WAIT_TIMEOUT_MS, val);
    r->timeout_ms = (int64_t)ms;
    return 0;
  }
}

int sb__ctl_run_parse(int argc, char **argv, sb__ctl_run_opts *r) {
  int i = 1, nfile = 0, rc;

  memset(r, 0, sizeof *r);
  r->lifetime = SB_LIFETIME_BROKER;
  r->timeout_ms = -1;
  /* Every --env takes at least two argv entries, so argc bounds them. */
  r->env = malloc((size_t)argc * sizeof *r->env);
  if (r->env == NULL) return sb__ctl_usage("run", "out of memory");
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (strncmp(a, "--", 2) != 0) break;
    if (strcmp(a, "--help") == 0) {
      r->help = true;
      return 0;
    } else if (strcmp(a, "--clear-env") == 0) {
      r->clear_env = true;
    } else if (strcmp(a, "--expand-handles") == 0) {
      r->expand_handles = true;
    } else if (strcmp(a, "--no-wait") == 0) {
      r->no_wait = true;
    } else if (strcmp(a, "--json") == 0) {
      r->json = true;
    } else if (takes_value(a)) {
      if (i + 1 >= argc) return sb__ctl_usage("run", "%s needs a value", a);
      rc = one_option(r, a, argv[i + 1], &nfile);
      if (rc != 0) return rc;
      i++;
    } else {
      return sb__ctl_usage("run", "unknown option '%s'", a);
    }
  }
  if (i >= argc) return sb__ctl_usage("run", "no program to run");
  if (argv[i][0] == '\0') return sb__ctl_usage("run", "the program name is empty");
  if (r->no_wait && r->timeout_ms >= 0)
    return sb__ctl_usage("run", "--timeout needs spawnctl to wait; it cannot go with --no-wait");
  if (r->no_wait && r->lifetime_set && r->lifetime == SB_LIFETIME_CONNECTION)
    return sb__ctl_usage("run", "--lifetime connection ends the child when spawnctl exits, "
                         "which --no-wait does at once");
  /* A waiting run is a foreground command: the child lives as long as
   * spawnctl waits for it, so Ctrl-C or killing spawnctl ends the child
   * too (the broker kills a connection's children when it closes). A
   * --no-wait child must outlive spawnctl: the protocol's default. */
  if (!r->lifetime_set) r->lifetime = r->no_wait ? SB_LIFETIME_BROKER : SB_LIFETIME_CONNECTION;
  r->program = argv[i];
  r->args = (const char *const *)(argv + i + 1);
  r->nargs = (size_t)(argc - i - 1);
  return 0;
}
