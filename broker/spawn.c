#include "spawn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <userenv.h>

#include "attrs.h"
#include "child_strings.h"
#include "createproc.h"
#include "fault.h"
#include "job.h"
#include "log.h"
#include "transfer.h"
#include "utf.h"

/* Flags of the C runtime's inherited-fd table (lpReserved2), as the MSVC
 * runtime and mingw's msvcrt/UCRT read it. */
#define SB__CRT_FOPEN 0x01
#define SB__CRT_FPIPE 0x08
#define SB__CRT_FDEV 0x40

static void fail(sb__spawn_job *j, int err, const char *path, const char *fmt, ...) {
  va_list ap;
  j->err = err;
  snprintf(j->path, sizeof j->path, "%s", path ? path : "");
  if (fmt != NULL) {
    va_start(ap, fmt);
    vsnprintf(j->detail, sizeof j->detail, fmt, ap);
    va_end(ap);
  }
}

/* A failure that names the handle at fault, and what went wrong with it. */
static void fail_handle(sb__spawn_job *j, int err, size_t bad) {
  char where[40];
  const char *why = err == SB_E_HANDLE_NOT_FOUND           ? "is not open in the client"
                    : err == SB_E_HANDLE_TYPE_NOT_ALLOWED  ? "is a kind of handle no child may get"
                    : err == SB_E_HANDLE_OWNED_BY_BROKER   ? "belongs to the broker"
                    : err == SB_E_HANDLE_CLAIMED           ? "is claimed by another request"
                                                           : "cannot be moved into the helper";
  snprintf(where, sizeof where, "params.handles[%u].value", (unsigned)bad);
  fail(j, err, where, "handle %s (%lld) %s", j->params->handles[bad].name,
       (long long)j->params->handles[bad].value, why);
}

/* Resolves the program to a full path with SearchPathW, the way a shell user
 * expects: a path is taken as it is (".exe" appended when that is what
 * exists), a bare name is searched in the usual places and on the broker's
 * PATH, or in service mode on the client's PATH only (the broker's is
 * LocalSystem's: T15). Passing the full path as
 * lpApplicationName keeps CreateProcess from guessing at an unquoted path
 * with spaces (SECURITY-NOTES T15). */
static int resolve_program(sb__spawn_job *j, const wchar_t *program, const wchar_t *path,
                           wchar_t **out) {
  wchar_t buf[MAX_PATH * 4];
  DWORD n, attrs;

  n = SearchPathW(path, program, L".exe",
                  sizeof buf / sizeof buf[0], buf, NULL);
  if (n == 0 || n >= sizeof buf / sizeof buf[0]) {
    fail(j, SB_E_EXECUTABLE_NOT_FOUND, "params.program", "%s was not found",
         j->params->program);
    return j->err;
  }
  attrs = GetFileAttributesW(buf);
  if (attrs == INVALID_FILE_ATTRIBUTES) {
    fail(j, SB_E_EXECUTABLE_NOT_FOUND, "params.program", "%s was not found",
         j->params->program);
    return j->err;
  }
  if (attrs & FILE_ATTRIBUTE_DIRECTORY) {
    fail(j, SB_E_NOT_EXECUTABLE, "params.program", "%s is a directory",
         j->params->program);
    return j->err;
  }
  *out = _wcsdup(buf);
  if (*out == NULL) {
    fail(j, SB_E_NOMEM, NULL, NULL);
    return j->err;
  }
  return 0;
}

/* The PATH a service-mode spawn searches: the request's own PATH entry if
 * it sets one, else the client's (from its environment block). A malloc'd
 * string, or NULL for none. */
static wchar_t *client_search_path(const sb_spawn_params *p, const wchar_t *user_env) {
  wchar_t *w = NULL;
  for (size_t i = p->nenv; i-- > 0;) {
    if (_strnicmp(p->env[i], "PATH=", 5) == 0) {
      if (sb__utf8_to_wide(p->env[i] + 5, &w) != 0) return NULL;
      return w;
    }
  }
  for (const wchar_t *e = user_env; e != NULL && *e != L'\0'; e += wcslen(e) + 1)
    if (_wcsnicmp(e, L"PATH=", 5) == 0) return _wcsdup(e + 5);
  return NULL;
}

static int check_cwd(sb__spawn_job *j, const wchar_t *cwd) {
  DWORD attrs = GetFileAttributesW(cwd);
  if (attrs == INVALID_FILE_ATTRIBUTES || !(attrs & FILE_ATTRIBUTE_DIRECTORY)) {
    fail(j, SB_E_CWD_NOT_FOUND, "params.cwd", "%s is not a directory", j->params->cwd);
    return j->err;
  }
  return 0;
}

/* Builds the C runtime's fd table so the child's _open_osfhandle-style fds
 * 0..max are the requested handles: an int count, then count flag bytes,
 * then count HANDLEs, packed. */
static int build_crt_fds(const sb__spawn_job *j, const sb__moved *moved,
                         const HANDLE std[3], const DWORD std_types[3],
                         unsigned char **out, WORD *out_len) {
  const sb_spawn_params *p = j->params;
  int max_fd = -1;
  size_t len;
  unsigned char *buf, *flags;
  HANDLE handle;

  *out = NULL;
  *out_len = 0;
  for (size_t i = 0; i < p->nhandles; i++)
    if (p->handles[i].fd > max_fd) max_fd = p->handles[i].fd;
  if (max_fd < 0) return 0;
  len = sizeof(int) + (size_t)(max_fd + 1) * (1 + sizeof(HANDLE));
  buf = calloc(1, len);
  if (buf == NULL) return SB_E_NOMEM;
  *(int *)buf = max_fd + 1;
  flags = buf + sizeof(int);
  for (int fd = 0; fd <= max_fd; fd++) {
    DWORD type = FILE_TYPE_UNKNOWN;
    handle = INVALID_HANDLE_VALUE;
    if (fd < 3 && std[fd] != NULL) {
      handle = std[fd];
      type = std_types[fd];
    }
    for (size_t i = 0; i < p->nhandles; i++) {
      if (p->handles[i].fd == fd) {
        handle = (HANDLE)(intptr_t)j->result.handles[i].value;
        type = moved->file_type[i];
      }
    }
    if (handle != INVALID_HANDLE_VALUE)
      flags[fd] = SB__CRT_FOPEN | (type == FILE_TYPE_PIPE ? SB__CRT_FPIPE : 0) |
                  (type == FILE_TYPE_CHAR ? SB__CRT_FDEV : 0);
    memcpy(flags + (max_fd + 1) + (size_t)fd * sizeof(HANDLE), &handle, sizeof handle);
  }
  *out = buf;
  *out_len = (WORD)len;
  return 0;
}

/* Creates the child suspended, in service mode with the client's token and
 * on the interactive desktop of the client's session (a NULL desktop would
 * be the service's own window station), while still impersonating the
 * client, as OpenVPN's interactive service does, so the image is opened
 * with the client's rights. */
static BOOL create_child(const sb__spawn_job *j, const wchar_t *app, wchar_t *cmdline,
                         BOOL inherit, wchar_t *env, const wchar_t *cwd, STARTUPINFOEXW *si,
                         PROCESS_INFORMATION *pi) {
  static wchar_t desktop[] = L"winsta0\\default";
  DWORD flags = CREATE_SUSPENDED | CREATE_UNICODE_ENVIRONMENT | EXTENDED_STARTUPINFO_PRESENT |
                CREATE_BREAKAWAY_FROM_JOB | DETACHED_PROCESS;
  if (j->service) si->StartupInfo.lpDesktop = desktop;
  if (sb__fault_fires(SB__FAULT_CREATE)) {
    SetLastError(ERROR_NOT_ENOUGH_MEMORY);
    return FALSE;
  }
  return sb__create_process(j->token, app, cmdline, inherit, flags, env, cwd, &si->StartupInfo,
                            pi);
}

static int map_create_error(sb__spawn_job *j, DWORD e) {
  switch (e) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
      fail(j, SB_E_EXECUTABLE_NOT_FOUND, "params.program", "%s was not found",
           j->params->program);
      break;
    case ERROR_BAD_EXE_FORMAT:
    case ERROR_EXE_MACHINE_TYPE_MISMATCH:
    case ERROR_ACCESS_DENIED:
    case ERROR_INVALID_EXE_SIGNATURE:
      fail(j, SB_E_NOT_EXECUTABLE, "params.program",
           "%s is not an executable program (error %lu)", j->params->program, e);
      break;
    case ERROR_DIRECTORY:
      fail(j, SB_E_CWD_NOT_FOUND, "params.cwd", "the working directory is invalid");
      break;
    default:
      fail(j, SB_E_SPAWN_FAILED, NULL, "CreateProcess failed with error %lu", e);
      break;
  }
  return j->err;
}

/* A helper killed from outside while leased makes the next step fail
 * (moving a handle into it, or creating a child whose parent it is) with
 * an error that would blame the request. The request was fine: the client
 * is told the helper is gone, HelperUnavailable, which it may retry; the
 * pool replaces the dead helper when it comes back (TESTPLAN D2). */
static void blame_dead_helper(sb__spawn_job *j, const sb__helper *helper) {
  if ((j->err != SB_E_INTERNAL && j->err != SB_E_SPAWN_FAILED) ||
      WaitForSingleObject(helper->process, 0) != WAIT_OBJECT_0)
    return;
  sb__log(SB_LOG_WARN, "helper %lu ended during a spawn (%s)", helper->pid, j->detail);
  fail(j, SB_E_HELPER_UNAVAILABLE, NULL, "the helper process ended during the spawn");
}

/* Closes every moved handle in the helper and returns it to its pool,
 * retired when a close failed. */
static void give_back_helper(const sb__spawn_job *j, sb__helper *helper, sb__moved *moved) {
  bool clean = sb__transfer_close_in_helper(helper->process, moved) == 0;
  if (!clean) sb__log(SB_LOG_WARN, "helper %lu kept a handle; retiring it", helper->pid);
  sb__pool_return(j->pool, helper, clean);
}

void sb__spawn_run(sb__spawn_job *j) {
  const sb_spawn_params *p = j->params;
  wchar_t *wprogram = NULL, *app = NULL, *wcwd = NULL;
  wchar_t *base_env = NULL, *user_env = NULL, *search = NULL;
  bool impersonating = false;
  sb__child_strings strings = {NULL, NULL, 0};
  size_t bad = 0;
  sb__helper *helper = NULL;
  sb__moved moved;
  sb__push_claim claim = {{false}};
  sb__attrs attrs = {0};
  STARTUPINFOEXW si;
  PROCESS_INFORMATION pi = {0};
  HANDLE std[3] = {NULL, NULL, NULL};
  DWORD std_types[3] = {0, 0, 0};
  unsigned char *crt = NULL;
  WORD crt_len = 0;
  bool created = false;
  int rc;

  memset(&moved, 0, sizeof moved);
  j->err = 0;
  j->process = NULL;
  j->job = NULL;

  /* 0. Pushed values are claimed before anything can fail: from here on
   * they are the broker's to close, whatever step refuses the request. */
  if (j->mode == SB_TRANSFER_PUSH) {
    rc = sb__transfer_push_claim(p, &claim, &bad);
    if (rc != 0) {
      fail_handle(j, rc, bad);
      goto done;
    }
  }

  /* 1. Everything that can be checked without a helper. In service mode
   * as the client: the program and directory must be ones the client may
   * use, not ones only LocalSystem can (SECURITY-NOTES T15). */
  if (j->token != NULL) {
    if (!ImpersonateLoggedOnUser(j->token)) {
      fail(j, SB_E_ACCESS_DENIED, NULL, "the client cannot be impersonated (error %lu)",
           GetLastError());
      goto done;
    }
    impersonating = true;
  }
  if (sb__utf8_to_wide(p->program, &wprogram) != 0) {
    fail(j, SB_E_NOMEM, NULL, NULL);
    goto done;
  }
  /* The client's own environment, which its child starts from unless the
   * request clears it, and whose PATH finds the program. */
  if (j->token != NULL && !p->clear_env &&
      !CreateEnvironmentBlock((void **)&user_env, j->token, FALSE)) {
    fail(j, SB_E_SPAWN_FAILED, "params.env", "the client's environment cannot be built (error %lu)",
         GetLastError());
    goto done;
  }
  if (j->token != NULL) search = client_search_path(p, user_env);
  if (resolve_program(j, wprogram, search, &app) != 0) goto done;
  if (p->cwd != NULL) {
    if (sb__utf8_to_wide(p->cwd, &wcwd) != 0) {
      fail(j, SB_E_NOMEM, NULL, NULL);
      goto done;
    }
    if (check_cwd(j, wcwd) != 0) goto done;
  }
  rc = sb__job_create_child_job(&p->limits, &j->job);
  if (rc != 0) {
    fail(j, SB_E_SPAWN_FAILED, "params.limits", "the child's job could not be set up");
    goto done;
  }
  sb__stage_mark(&j->clock, SB__STAGE_PREPARE);

  /* 2. A helper, and the handles moved into it. */
  rc = sb__pool_lease(j->pool, &helper);
  if (rc != 0) {
    fail(j, rc, NULL, "no helper process is available");
    goto done;
  }
#ifdef SB_TEST_HOOKS
  if (j->test_delay_ms > 0) Sleep(j->test_delay_ms);
#endif
  sb__stage_mark(&j->clock, SB__STAGE_LEASE);
  if (j->mode == SB_TRANSFER_PUSH)
    rc = sb__transfer_push(helper->process, p, &claim, &moved, &bad);
  else
    rc = sb__transfer_pull(j->client_process, helper->process, p, &moved, &bad);
  if (rc != 0) {
    fail_handle(j, rc, bad);
    goto done;
  }
  j->result.nhandles = moved.n;
  for (size_t i = 0; i < moved.n; i++) {
    j->result.handles[i].name = p->handles[i].name;
    j->result.handles[i].value = (int64_t)(intptr_t)moved.in_helper[i];
  }
  for (int s = 0; s < 3; s++) {
    int idx = p->std_names[s] ? sb_spawn_find_handle(p, p->std_names[s]) : -1;
    if (idx >= 0) {
      std[s] = moved.in_helper[idx];
      std_types[s] = moved.file_type[idx];
    }
  }
  sb__stage_mark(&j->clock, SB__STAGE_TRANSFER);

  /* 3. Command line, environment, fd table. */
  if (!p->clear_env && j->token == NULL) base_env = GetEnvironmentStringsW();
  rc = sb__child_strings_build(p, &j->result, base_env != NULL ? base_env : user_env, &strings,
                               j->path, sizeof j->path, j->detail, sizeof j->detail);
  if (rc != 0) {
    j->err = rc;
    goto done;
  }
  if (build_crt_fds(j, &moved, std, std_types, &crt, &crt_len) != 0) {
    fail(j, SB_E_NOMEM, NULL, NULL);
    goto done;
  }

  /* 4. One attribute list: the helper as parent, exactly the moved handles
   * as the only ones that may be inherited, and the child's job. Without
   * handles, inheritance is simply off (an empty list is invalid). */
  rc = sb__fault_fires(SB__FAULT_ATTRS)
           ? SB_E_SPAWN_FAILED
           : sb__attrs_build(&attrs, &helper->process, moved.in_helper, moved.n, &j->job);
  if (rc != 0) {
    fail(j, rc, NULL, rc == SB_E_NOMEM ? NULL : "the attribute list cannot be built (error %lu)",
         attrs.error);
    goto done;
  }
  ZeroMemory(&si, sizeof si);
  si.StartupInfo.cb = sizeof si;
  si.lpAttributeList = attrs.list;
  /* Always set: a child given no std handle must get none, not whatever
   * the helper or the broker happens to have. */
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = std[0];
  si.StartupInfo.hStdOutput = std[1];
  si.StartupInfo.hStdError = std[2];
  si.StartupInfo.cbReserved2 = crt_len;
  si.StartupInfo.lpReserved2 = crt;

  /* 5. Create suspended in its job, then let it run. The child breaks away
   * from the helper job (it would otherwise inherit it from its parent and
   * die with every helper) into its own. It gets no console
   * (DETACHED_PROCESS): its std handles are exactly the ones the request
   * names. With a console of its own, a console program would be handed
   * fresh console handles for every unnamed std stream (Wine marks them
   * inheritable), and the broker's children would differ by whether they
   * are console programs. A child that wants a console can call
   * AllocConsole. */
  if (!create_child(j, app, strings.cmdline, moved.n > 0, strings.env, wcwd, &si, &pi)) {
    map_create_error(j, GetLastError());
    goto done;
  }
  created = true;
  if (sb__fault_fires(SB__FAULT_ASSIGN_JOB) ||
      (!attrs.job_listed && !AssignProcessToJobObject(j->job, pi.hProcess))) {
    fail(j, SB_E_SPAWN_FAILED, NULL, "the child cannot be placed in its job (error %lu)",
         GetLastError());
    goto done;
  }
  sb__stage_mark(&j->clock, SB__STAGE_CREATE);
  /* The child holds its own copies from its creation on, so the helper can
   * give the request's handles back before the child runs. Done now, not
   * after the resume: under Wine a child starting up keeps the wineserver
   * busy, and these calls would wait behind it with the client waiting for
   * the pid (docs/benchmarks.md has the measurement). */
  give_back_helper(j, helper, &moved);
  helper = NULL;
  sb__stage_mark(&j->clock, SB__STAGE_CLOSE);
  if (sb__fault_fires(SB__FAULT_RESUME) || ResumeThread(pi.hThread) == (DWORD)-1) {
    fail(j, SB_E_SPAWN_FAILED, NULL, "the child cannot be resumed (error %lu)",
         GetLastError());
    goto done;
  }
  /* A detached child runs now and must outlive the broker: its job keeps
   * the limits but stops being kill-on-close. Should that fail, the child
   * is still fine, only tied to the broker; that is logged, not fatal. */
  if (p->lifetime == SB_LIFETIME_DETACHED && sb__job_release_child(j->job, &p->limits) != 0)
    sb__log(SB_LOG_WARN, "detached child %lu stays tied to the broker: its job cannot be "
            "released (error %lu)", pi.dwProcessId, GetLastError());
  j->process = pi.hProcess;
  j->pid = pi.dwProcessId;
  j->result.pid = pi.dwProcessId;
  sb__stage_mark(&j->clock, SB__STAGE_CREATE);

done:
  if (j->mode == SB_TRANSFER_PUSH) sb__transfer_push_release(p, &claim);
  if (helper != NULL && j->err != 0) blame_dead_helper(j, helper);
  /* Every path: the helper gives back every handle of the request (a
   * child that was made has had it done already). */
  if (helper != NULL) {
    give_back_helper(j, helper, &moved);
    sb__stage_mark(&j->clock, SB__STAGE_CLOSE);
  }
  if (pi.hThread != NULL) CloseHandle(pi.hThread);
  if (j->err != 0) {
    /* No half-made child survives a failure: it never ran. */
    if (created) {
      TerminateProcess(pi.hProcess, 1);
      CloseHandle(pi.hProcess);
    }
    if (j->job != NULL) CloseHandle(j->job);
    j->job = NULL;
    j->process = NULL;
    j->result.nhandles = 0;
  }
  sb__attrs_free(&attrs);
  free(crt);
  if (base_env != NULL) FreeEnvironmentStringsW(base_env);
  if (user_env != NULL) DestroyEnvironmentBlock(user_env);
  /* Every path stops impersonating before the worker thread goes back to
   * libuv's pool, where the next job would otherwise run as this client. */
  if (impersonating && !RevertToSelf())
    sb__log(SB_LOG_ERROR, "a worker thread could not stop impersonating (error %lu)",
            GetLastError());
  sb__child_strings_free(&strings);
  free(wcwd);
  free(search);
  free(app);
  free(wprogram);
}
