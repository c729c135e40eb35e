/*
 * "spawnctl run": builds the spawn request from the parsed options, spawns,
 * waits, and exits with the child's exit code.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const char *const std_names[3] = {"stdin", "stdout", "stderr"};
static const DWORD std_ids[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};

/* What run builds from its options: the request, and the files it opened
 * for --file (closed once the broker has taken its copies). */
typedef struct run_state {
  sb_spawn_params p;
  HANDLE files[SB_LIMIT_HANDLES];
  size_t nfiles;
} run_state;

static int find(const sb_spawn_params *p, const char *name) {
  for (size_t i = 0; i < p->nhandles; i++) {
    if (strcmp(p->handles[i].name, name) == 0) return (int)i;
  }
  return -1;
}

/* Opens a --file handle. Not inheritable: the broker copies it into the
 * child, so spawnctl never needs an inheritable handle of its own. */
static int open_file(const sb__ctl_handle *h, HANDLE *out) {
  DWORD access, disposition;
  wchar_t *path = sb__ctl_wide(h->path);
  switch (h->mode) {
    case SB__CTL_FILE_R:
      access = GENERIC_READ;
      disposition = OPEN_EXISTING;
      break;
    case SB__CTL_FILE_W:
      access = GENERIC_WRITE;
      disposition = CREATE_ALWAYS;
      break;
    case SB__CTL_FILE_A:
      /* Append-only: without FILE_WRITE_DATA every write goes to the end
       * of the file, whatever the child's file position says. */
      access = FILE_APPEND_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE;
      disposition = OPEN_ALWAYS;
      break;
    default:
      access = GENERIC_READ | GENERIC_WRITE;
      disposition = OPEN_ALWAYS;
      break;
  }
  *out = path == NULL ? INVALID_HANDLE_VALUE
                      : CreateFileW(path, access,
                                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                                    NULL, disposition, FILE_ATTRIBUTE_NORMAL, NULL);
  free(path);
  if (*out == INVALID_HANDLE_VALUE) {
    sb__ctl_printf(STD_ERROR_HANDLE, "spawnctl: IoError: cannot open %s for --file %s "
                   "(Windows error %lu)\n", h->path, h->name, GetLastError());
    return SB_E_IO;
  }
  return 0;
}

/* Adds spawnctl's own standard handle for stream s under its std name, or
 * finds the entry that already passes that same handle (two entries with
 * one value would be DuplicateHandleValue). Returns the index, or -1 when
 * spawnctl has no such stream. */
static int own_std(run_state *st, int s) {
  HANDLE h = GetStdHandle(std_ids[s]);
  int64_t v = (int64_t)(intptr_t)h;
  if (h == NULL || h == INVALID_HANDLE_VALUE) return -1;
  for (size_t i = 0; i < st->p.nhandles; i++) {
    if (st->p.handles[i].value == v) return (int)i;
  }
  if (st->p.nhandles == SB_LIMIT_HANDLES) return -2;
  st->p.handles[st->p.nhandles] = (sb_handle_spec){std_names[s], v, -1};
  return (int)st->p.nhandles++;
}

/* The entry called name, adding spawnctl's own std handle when name is
 * stdin, stdout or stderr and no handle of that name was declared. */
static int resolve(run_state *st, const char *name) {
  int i = find(&st->p, name);
  for (int s = 0; i < 0 && s < 3; s++) {
    if (strcmp(name, std_names[s]) == 0) return own_std(st, s);
  }
  return i;
}

static int build(const sb__ctl_run_opts *r, run_state *st) {
  sb_spawn_params *p = &st->p;
  sb_spawn_params_init(p);
  p->program = r->program;
  p->args = r->args;
  p->nargs = r->nargs;
  p->cwd = r->cwd;
  p->env = r->env;
  p->nenv = r->nenv;
  p->clear_env = r->clear_env;
  p->handles_env = r->handles_env;
  p->expand_handles = r->expand_handles;
  p->lifetime = r->lifetime;
  for (size_t i = 0; i < r->nhandles; i++) {
    const sb__ctl_handle *h = &r->handles[i];
    p->handles[i] = (sb_handle_spec){h->name, h->value, -1};
    if (h->path != NULL) {
      HANDLE f;
      int rc = open_file(h, &f);
      if (rc != 0) return SB__CTL_EXIT_TRANSPORT;
      st->files[st->nfiles++] = f;
      p->handles[i].value = (int64_t)(intptr_t)f;
    }
    p->nhandles++;
  }
  for (int s = 0; s < 3; s++) {
    const char *ref = r->std_ref[s] != NULL ? r->std_ref[s] : std_names[s];
    int i;
    if (strcmp(ref, "-") == 0) continue;
    i = resolve(st, ref);
    if (i == -2) return sb__ctl_usage("run", "too many handles (at most %d)", SB_LIMIT_HANDLES);
    if (i < 0 && r->std_ref[s] == NULL) continue; /* spawnctl itself has no such stream */
    if (i < 0)
      return sb__ctl_usage("run", "--%s %s: no handle is called %s", std_names[s], ref, ref);
    p->std_names[s] = p->handles[i].name;
  }
  for (size_t k = 0; k < r->nfds; k++) {
    int i = resolve(st, r->fds[k].name);
    if (i == -2) return sb__ctl_usage("run", "too many handles (at most %d)", SB_LIMIT_HANDLES);
    if (i < 0)
      return sb__ctl_usage("run", "--fd %d=%s: no handle is called %s", r->fds[k].fd,
                           r->fds[k].name, r->fds[k].name);
    if (p->handles[i].fd != -1)
      return sb__ctl_usage("run", "--fd: handle %s already is fd %d", r->fds[k].name,
                           p->handles[i].fd);
    p->handles[i].fd = r->fds[k].fd;
  }
  return 0;
}

static void close_files(run_state *st) {
  for (size_t i = 0; i < st->nfiles; i++) CloseHandle(st->files[i]);
  st->nfiles = 0;
}

static void print_spawn(const sb_spawn_result *res) {
  sb__ctl_str s = {0};
  sb__ctl_str_printf(&s, "{\"pid\":%lu,\"handles\":[", (unsigned long)res->pid);
  for (size_t i = 0; i < res->nhandles; i++) {
    sb__ctl_str_printf(&s, "%s{\"name\":", i ? "," : "");
    sb__ctl_str_json(&s, res->handles[i].name);
    sb__ctl_str_printf(&s, ",\"value\":%lld}", (long long)res->handles[i].value);
  }
  sb__ctl_str_printf(&s, "]}");
  sb__ctl_str_emit(&s, STD_OUTPUT_HANDLE);
}

/* The exit code for a spawn the broker refused. */
static int spawn_exit_code(int rc) {
  if (rc == SB_E_EXECUTABLE_NOT_FOUND) return SB__CTL_EXIT_NOT_FOUND;
  if (rc == SB_E_NOT_EXECUTABLE) return SB__CTL_EXIT_NOT_EXECUTABLE;
  return SB__CTL_EXIT_TRANSPORT;
}

/* Waits for the child; with --timeout, kills it when the time is up. */
static int wait_child(sb_client *c, const sb__ctl_run_opts *r, uint32_t pid) {
  sb_exit_info e;
  uint32_t limit = r->timeout_ms >= 0 ? (uint32_t)r->timeout_ms : SB_CLIENT_INFINITE;
  int rc = sb_client_wait(c, pid, limit, &e);
  if (rc == SB_E_TIMEOUT && r->timeout_ms >= 0) {
    /* The child gets 124 too, so its exit code in list and wait tells why
     * it ended. The second wait makes sure it is gone (and has stopped
     * writing to spawnctl's stdout) before spawnctl exits. */
    sb_client_kill(c, pid, SB__CTL_EXIT_TIMEOUT, NULL);
    sb_client_wait(c, pid, 5000, &e);
    sb__ctl_printf(STD_ERROR_HANDLE,
                   "spawnctl: Timeout: the child ran longer than %lld ms and was killed\n",
                   (long long)r->timeout_ms);
    return SB__CTL_EXIT_TIMEOUT;
  }
  if (rc != 0) {
    sb__ctl_fail(c, rc);
    return SB__CTL_EXIT_TRANSPORT;
  }
  if (r->json) sb__ctl_print_exit(&e);
  /* A DWORD exit code such as 0xC0000005 is returned unchanged: the
   * process exit code keeps all 32 bits. */
  return (int)e.exit_code;
}

int sb__ctl_run(const sb__ctl_global *g, int argc, char **argv) {
  sb__ctl_run_opts r;
  run_state st;
  sb_spawn_result res;
  sb_client *c = NULL;
  int code, rc;

  memset(&st, 0, sizeof st);
  code = sb__ctl_run_parse(argc, argv, &r);
  if (code != 0 || r.help) {
    if (r.help) sb__ctl_run_usage(STD_OUTPUT_HANDLE);
    goto done;
  }
  code = build(&r, &st);
  if (code != 0) goto done;
  code = sb__ctl_connect(g, &c);
  if (code != 0) goto done;
  rc = sb_client_spawn(c, &st.p, &res);
  /* The broker has its own copies now (or never will): spawnctl's are no
   * longer needed. */
  close_files(&st);
  if (rc != 0) {
    sb__ctl_fail(c, rc);
    code = spawn_exit_code(rc);
    goto done;
  }
  if (r.json) print_spawn(&res);
  if (r.no_wait) {
    if (!r.json) sb__ctl_printf(STD_OUTPUT_HANDLE, "%lu\n", (unsigned long)res.pid);
    code = SB__CTL_EXIT_OK;
    goto done;
  }
  code = wait_child(c, &r, res.pid);
done:
  close_files(&st);
  sb_client_close(c);
  free(r.env);
  return code;
}
