/*
 * The four ways to start a child that the benchmark compares. Each spawn
 * passes the worker's two handles (a NUL file as stdout and stderr, and an
 * event), creates the child with DETACHED_PROCESS as the broker does, and
 * waits for it: the sample's pid time ends when the way's spawn call would
 * return the pid to its caller, its exit time when the exit is known.
 */
#include <stdio.h>
#include <string.h>

#include "attrs.h"
#include "bench.h"
#include "sb_errors.h"

/* How long any one child may take before the spawn counts as failed. */
#define BENCH_CHILD_TIMEOUT_MS 60000

/* The lock approach's global lock: Rust's CREATE_PROCESS_LOCK, .NET's
 * s_createProcessLock. */
static SRWLOCK lock_approach = SRWLOCK_INIT;

static double to_ms(int64_t ticks) {
  static LONG64 freq;
  if (freq == 0) {
    LARGE_INTEGER f;
    QueryPerformanceFrequency(&f);
    freq = f.QuadPart;
  }
  return (double)ticks * 1000.0 / (double)freq;
}

int64_t bench_now(void) {
  LARGE_INTEGER t;
  QueryPerformanceCounter(&t);
  return t.QuadPart;
}

double bench_ms(int64_t from, int64_t to) { return to_ms(to - from); }

static int fail(bench_worker *w, int rc, const char *what, DWORD err) {
  if (w->error[0] == '\0')
    snprintf(w->error, sizeof w->error, "%s: %s (error %lu)", w->mode->key, what,
             (unsigned long)err);
  return rc;
}

static void cmdline(const bench_worker *w, wchar_t *out, size_t cap) {
  _snwprintf(out, cap, L"\"%ls\" exit 0", w->env->child);
  out[cap - 1] = L'\0';
}

/* Waits for a child this process created and checks that it exited 0. */
static int wait_child(bench_worker *w, PROCESS_INFORMATION *pi) {
  DWORD code = 1;
  int rc = 0;
  CloseHandle(pi->hThread);
  if (WaitForSingleObject(pi->hProcess, BENCH_CHILD_TIMEOUT_MS) != WAIT_OBJECT_0) {
    TerminateProcess(pi->hProcess, 1);
    rc = fail(w, SB_E_TIMEOUT, "the child did not exit", 0);
  } else if (!GetExitCodeProcess(pi->hProcess, &code) || code != 0) {
    rc = fail(w, SB_E_SPAWN_FAILED, "the child failed", code);
  }
  CloseHandle(pi->hProcess);
  return rc;
}

static void std_handles(STARTUPINFOW *si, HANDLE out) {
  si->dwFlags = STARTF_USESTDHANDLES;
  si->hStdInput = NULL;
  si->hStdOutput = out;
  si->hStdError = out;
}

/* ------------------------------------------------------------------------ */
/* Direct: one thread, its handles inheritable for the whole batch. No other
 * thread creates processes then, so nothing else can inherit them: the
 * floor every other way is measured against. */

static int spawn_direct(bench_worker *w, bench_sample *s) {
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  wchar_t cmd[MAX_PATH + 16];
  int64_t t0, t1;
  ZeroMemory(&si, sizeof si);
  si.cb = sizeof si;
  std_handles(&si, w->out);
  cmdline(w, cmd, sizeof cmd / sizeof cmd[0]);
  t0 = bench_now();
  if (!CreateProcessW(w->env->child, cmd, NULL, NULL, TRUE, DETACHED_PROCESS, NULL, NULL, &si,
                      &pi))
    return fail(w, SB_E_SPAWN_FAILED, "CreateProcess", GetLastError());
  t1 = bench_now();
  if (wait_child(w, &pi) != 0) return SB_E_SPAWN_FAILED;
  s->pid_ms = bench_ms(t0, t1);
  s->exit_ms = bench_ms(t0, bench_now());
  return 0;
}

/* ------------------------------------------------------------------------ */
/* The lock approach, as Rust's std does it: under the global lock, make
 * inheritable duplicates of the handles to pass, CreateProcess with
 * bInheritHandles=TRUE, close the duplicates, unlock. The lock is what
 * keeps another thread's child from inheriting them; its wait is part of
 * the latency. */

static int spawn_lock(bench_worker *w, bench_sample *s) {
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  wchar_t cmd[MAX_PATH + 16];
  HANDLE self = GetCurrentProcess(), out = NULL, ev = NULL;
  BOOL made = FALSE;
  DWORD err = 0;
  int64_t t0, t1;
  ZeroMemory(&si, sizeof si);
  si.cb = sizeof si;
  cmdline(w, cmd, sizeof cmd / sizeof cmd[0]);
  t0 = bench_now();
  AcquireSRWLockExclusive(&lock_approach);
  if (DuplicateHandle(self, w->out, self, &out, 0, TRUE, DUPLICATE_SAME_ACCESS) &&
      DuplicateHandle(self, w->ev, self, &ev, 0, TRUE, DUPLICATE_SAME_ACCESS)) {
    std_handles(&si, out);
    made = CreateProcessW(w->env->child, cmd, NULL, NULL, TRUE, DETACHED_PROCESS, NULL, NULL,
                          &si, &pi);
  }
  if (!made) err = GetLastError();
  if (out != NULL) CloseHandle(out);
  if (ev != NULL) CloseHandle(ev);
  ReleaseSRWLockExclusive(&lock_approach);
  if (!made) return fail(w, SB_E_SPAWN_FAILED, "CreateProcess under the lock", err);
  t1 = bench_now();
  if (wait_child(w, &pi) != 0) return SB_E_SPAWN_FAILED;
  s->pid_ms = bench_ms(t0, t1);
  s->exit_ms = bench_ms(t0, bench_now());
  return 0;
}

/* ------------------------------------------------------------------------ */
/* The helper trick without a broker (Raymond Chen, 2020): a suspended
 * helper of this worker's own; per spawn, duplicate the handles into it as
 * inheritable, create the child with PARENT_PROCESS = helper and
 * HANDLE_LIST = those copies, close them in the helper again. */

static int helper_start(bench_worker *w) {
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION lim;
  wchar_t cmd[] = L"spawnbroker-helper";
  HANDLE nul = CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
  int rc = 0;
  if (nul == INVALID_HANDLE_VALUE) return fail(w, SB_E_INTERNAL, "NUL", GetLastError());
  /* Kill-on-close, so that a benchmark killed mid-run leaves no suspended
   * helper; its children land in the job too and are waited for anyway. */
  w->helper_job = CreateJobObjectW(NULL, NULL);
  ZeroMemory(&lim, sizeof lim);
  lim.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  if (w->helper_job == NULL ||
      !SetInformationJobObject(w->helper_job, JobObjectExtendedLimitInformation, &lim,
                               sizeof lim)) {
    rc = fail(w, SB_E_INTERNAL, "the helper's job", GetLastError());
    goto done;
  }
  ZeroMemory(&si, sizeof si);
  si.cb = sizeof si;
  /* The same start as the broker's helpers: no console, NUL std handles. */
  std_handles(&si, nul);
  si.hStdInput = nul;
  if (!CreateProcessW(w->env->helper, cmd, NULL, NULL, FALSE, CREATE_SUSPENDED | DETACHED_PROCESS,
                      NULL, NULL, &si, &pi)) {
    rc = fail(w, SB_E_SPAWN_FAILED, "the helper", GetLastError());
    goto done;
  }
  CloseHandle(pi.hThread);
  w->helper = pi.hProcess;
  if (!AssignProcessToJobObject(w->helper_job, w->helper))
    rc = fail(w, SB_E_INTERNAL, "the helper's job", GetLastError());
done:
  CloseHandle(nul);
  return rc;
}

/* Closes a handle that lives in the helper: moved out and closed here,
 * which Wine and Windows both allow (docs/wine.md). */
static bool close_in_helper(HANDLE helper, HANDLE h) {
  HANDLE copy = NULL;
  if (!DuplicateHandle(helper, h, GetCurrentProcess(), &copy, 0, FALSE,
                       DUPLICATE_CLOSE_SOURCE | DUPLICATE_SAME_ACCESS))
    return false;
  CloseHandle(copy);
  return true;
}

static int spawn_helper(bench_worker *w, bench_sample *s) {
  STARTUPINFOEXW si;
  PROCESS_INFORMATION pi;
  sb__attrs attrs = {0};
  wchar_t cmd[MAX_PATH + 16];
  HANDLE self = GetCurrentProcess(), moved[2] = {NULL, NULL};
  BOOL made = FALSE;
  DWORD err = 0;
  int64_t t0, t1;
  int rc = 0;
  ZeroMemory(&si, sizeof si);
  si.StartupInfo.cb = sizeof si;
  cmdline(w, cmd, sizeof cmd / sizeof cmd[0]);
  t0 = bench_now();
  if (DuplicateHandle(self, w->out, w->helper, &moved[0], 0, TRUE, DUPLICATE_SAME_ACCESS) &&
      DuplicateHandle(self, w->ev, w->helper, &moved[1], 0, TRUE, DUPLICATE_SAME_ACCESS) &&
      sb__attrs_build(&attrs, &w->helper, moved, 2, NULL) == 0) {
    si.lpAttributeList = attrs.list;
    std_handles(&si.StartupInfo, moved[0]);
    made = CreateProcessW(w->env->child, cmd, NULL, NULL, TRUE,
                          DETACHED_PROCESS | EXTENDED_STARTUPINFO_PRESENT, NULL, NULL,
                          &si.StartupInfo, &pi);
  }
  if (!made) err = GetLastError();
  sb__attrs_free(&attrs);
  for (int i = 0; i < 2; i++)
    if (moved[i] != NULL && !close_in_helper(w->helper, moved[i]))
      rc = fail(w, SB_E_INTERNAL, "a handle stayed in the helper", GetLastError());
  if (!made) return fail(w, SB_E_SPAWN_FAILED, "CreateProcess with the helper as parent", err);
  t1 = bench_now();
  if (wait_child(w, &pi) != 0 || rc != 0) return SB_E_SPAWN_FAILED;
  s->pid_ms = bench_ms(t0, t1);
  s->exit_ms = bench_ms(t0, bench_now());
  return 0;
}

/* ------------------------------------------------------------------------ */
/* The broker: this worker's own connection, the same two handles named
 * "out" (stdout and stderr) and "ev"; the exit comes from sb_client_wait,
 * as a client of the library learns it. */

static int spawn_broker(bench_worker *w, bench_sample *s) {
  static const char *const args[] = {"exit", "0"};
  sb_client *c = w->env->brokers[w->mode->broker].clients[w->index];
  sb_spawn_params p;
  sb_spawn_result res;
  sb_exit_info ex;
  int64_t t0, t1;
  int rc;
  sb_spawn_params_init(&p);
  p.program = w->env->child_utf8;
  p.args = args;
  p.nargs = 2;
  p.handles[0] = (sb_handle_spec){"out", (int64_t)(intptr_t)w->out, -1};
  p.handles[1] = (sb_handle_spec){"ev", (int64_t)(intptr_t)w->ev, -1};
  p.nhandles = 2;
  p.std_names[SB_STDOUT] = "out";
  p.std_names[SB_STDERR] = "out";
  t0 = bench_now();
  rc = sb_client_spawn(c, &p, &res);
  if (rc != 0) {
    const sb_rpc_error *e = sb_client_last_error(c);
    if (w->error[0] == '\0')
      snprintf(w->error, sizeof w->error, "%s: spawn: %s %s", w->mode->key, sb_err_name(rc),
               e != NULL && e->detail != NULL ? e->detail : "");
    return rc;
  }
  t1 = bench_now();
  rc = sb_client_wait(c, res.pid, BENCH_CHILD_TIMEOUT_MS, &ex);
  if (rc != 0) return fail(w, rc, "wait", 0);
  if (ex.exit_code != 0) return fail(w, SB_E_SPAWN_FAILED, "the child failed", ex.exit_code);
  s->pid_ms = bench_ms(t0, t1);
  s->exit_ms = bench_ms(t0, bench_now());
  return 0;
}

/* ------------------------------------------------------------------------ */

int bench_way_setup(bench_worker *w) {
  bool inherit = w->mode->way == BENCH_WAY_DIRECT;
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, inherit};
  w->out = CreateFileW(L"NUL", GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                       OPEN_EXISTING, 0, NULL);
  if (w->out == INVALID_HANDLE_VALUE) {
    w->out = NULL;
    return fail(w, SB_E_INTERNAL, "NUL", GetLastError());
  }
  w->ev = CreateEventW(&sa, TRUE, FALSE, NULL);
  if (w->ev == NULL) return fail(w, SB_E_INTERNAL, "an event", GetLastError());
  if (w->mode->way == BENCH_WAY_HELPER) return helper_start(w);
  return 0;
}

int bench_way_spawn(bench_worker *w, bench_sample *s) {
  switch (w->mode->way) {
    case BENCH_WAY_DIRECT: return spawn_direct(w, s);
    case BENCH_WAY_LOCK: return spawn_lock(w, s);
    case BENCH_WAY_HELPER: return spawn_helper(w, s);
    case BENCH_WAY_BROKER: return spawn_broker(w, s);
  }
  return SB_E_INVALID_ARGUMENT;
}

void bench_way_teardown(bench_worker *w) {
  if (w->helper != NULL) {
    TerminateProcess(w->helper, 0);
    WaitForSingleObject(w->helper, 10000);
    CloseHandle(w->helper);
  }
  if (w->helper_job != NULL) CloseHandle(w->helper_job);
  if (w->out != NULL) CloseHandle(w->out);
  if (w->ev != NULL) CloseHandle(w->ev);
  w->helper = w->helper_job = w->out = w->ev = NULL;
}
