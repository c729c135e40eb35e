#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "datadir.h"
#include "eventlog.h"
#include "log.h"
#include "options.h"
#include "run.h"
#include "scm.h"
#include "utf.h"

/* One service per process (SERVICE_WIN32_OWN_PROCESS). The control handler
 * runs on the dispatcher's thread (main's), ServiceMain and the loop on
 * another: `lock` guards the status and the two flags between them. */
static struct {
  int argc;
  char **argv;
  wchar_t name[SB__SERVICE_NAME_MAX + 1];
  char name_utf8[SB__SERVICE_NAME_MAX * 3 + 1];
  SERVICE_STATUS_HANDLE handle;
  CRITICAL_SECTION lock;
  SERVICE_STATUS status;
  sb__runner runner;
  bool accepting;      /* the loop takes stop requests (RUNNING) */
  bool stop_requested; /* the first STOP or SHUTDOWN was passed on */
} sb__svc;

/* Sets the state and reports it; a pending state gets the next checkpoint.
 * Called with the lock held. */
static void report_locked(DWORD state, DWORD exit_code, DWORD wait_hint) {
  SERVICE_STATUS *st = &sb__svc.status;
  bool pending = state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING;
  st->dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  st->dwCurrentState = state;
  st->dwControlsAccepted =
      state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
  st->dwWin32ExitCode = exit_code == 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR;
  st->dwServiceSpecificExitCode = exit_code;
  st->dwCheckPoint = pending ? st->dwCheckPoint + 1 : 0;
  st->dwWaitHint = pending ? wait_hint : 0;
  SetServiceStatus(sb__svc.handle, st);
}

static void report(DWORD state, DWORD exit_code, DWORD wait_hint) {
  EnterCriticalSection(&sb__svc.lock);
  report_locked(state, exit_code, wait_hint);
  LeaveCriticalSection(&sb__svc.lock);
}

/* The handler must return at once (within 30 s on Windows; SECURITY-NOTES
 * T14): it reports STOP_PENDING and wakes the loop, which does the rest. */
static DWORD WINAPI on_control(DWORD control, DWORD type, void *data, void *ctx) {
  bool wake = false;
  (void)type;
  (void)data;
  (void)ctx;
  switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
      EnterCriticalSection(&sb__svc.lock);
      wake = sb__svc.accepting && !sb__svc.stop_requested;
      if (wake) {
        sb__svc.stop_requested = true;
        report_locked(SERVICE_STOP_PENDING, 0, SB__SERVICE_STOP_HINT_MS);
      }
      LeaveCriticalSection(&sb__svc.lock);
      if (wake) sb__runner_request_stop(&sb__svc.runner);
      return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
      return NO_ERROR;
    default:
      return ERROR_CALL_NOT_IMPLEMENTED;
  }
}

static void on_listening(sb__runner *r, void *ctx) {
  (void)ctx;
  EnterCriticalSection(&sb__svc.lock);
  sb__svc.accepting = true;
  report_locked(SERVICE_RUNNING, 0, 0);
  LeaveCriticalSection(&sb__svc.lock);
  sb__log(SB_LOG_INFO, "service %s started (pid %lu, pipe %s)", sb__svc.name_utf8,
          GetCurrentProcessId(), r->srv.cfg.s.pipe);
  {
    char text[512];
    snprintf(text, sizeof text, "%s (pid %lu, pipe %s)", sb__svc.name_utf8,
             GetCurrentProcessId(), r->srv.cfg.s.pipe);
    sb__eventlog_report(SB__EVENT_STARTED, text);
  }
}

static void on_stopping(sb__runner *r, void *ctx) {
  (void)r;
  (void)ctx;
  report(SERVICE_STOP_PENDING, 0, SB__SERVICE_STOP_HINT_MS);
}

/* The log file: log.file, or NAME.log in the data folder. Without a log
 * a service would fail silently, so a file that cannot be opened is an
 * error of its own (reported to the Event Log, if open). */
static int open_log(const sb__settings *s) {
  wchar_t *path = NULL, fallback[MAX_PATH];
  int rc;
  if (s->log_file[0] != '\0') {
    rc = sb__utf8_to_wide(s->log_file, &path);
  } else {
    rc = sb__datadir_log_path(sb__svc.name, fallback, MAX_PATH);
    if (rc == 0) path = _wcsdup(fallback);
    if (rc == 0 && path == NULL) rc = SB_E_NOMEM;
  }
  if (rc == 0) rc = sb__log_open_file(path, s->log_max_bytes, s->log_keep);
  if (rc != 0) {
    char text[1400];
    snprintf(text, sizeof text, "service %s: cannot open its log file %ls (error %lu)",
             sb__svc.name_utf8, path != NULL ? path : fallback, GetLastError());
    sb__eventlog_report(SB__EVENT_ERROR, text);
  }
  free(path);
  return rc;
}

/* Everything between START_PENDING and STOPPED; returns the exit code to
 * report. */
static DWORD serve(void) {
  static sb__options o;
  sb__run_hooks hooks = {on_listening, on_stopping, NULL, false};
  char err[512];
  int rc;

  sb__log_to_stderr(false);
  rc = sb__options_parse(sb__svc.argc, sb__svc.argv, 1, &o, err, sizeof err);
  if (rc != 0) {
    /* Bad settings: log where the defaults would, so the reason is found. */
    sb__settings_init(&o.cfg.s);
  }
  o.cfg.service = true;
  sb__log_set_level((sb__log_level)o.cfg.s.log_level);
  if (rc != 0 || o.cfg.s.event_log) {
    if (sb__eventlog_open(sb__svc.name) == 0) sb__log_errors_to_event_log(true);
  }
  if (open_log(&o.cfg.s) != 0) return SB__SERVICE_EXIT_CANNOT_START;
  if (rc != 0) {
    sb__log(SB_LOG_ERROR, "service %s: %s", sb__svc.name_utf8, err);
    return SB__SERVICE_EXIT_BAD_SETTINGS;
  }
  report(SERVICE_START_PENDING, 0, SB__SERVICE_START_HINT_MS);
  if (sb__runner_init(&sb__svc.runner, &hooks) != 0) {
    sb__log(SB_LOG_ERROR, "service %s: cannot set up its event loop", sb__svc.name_utf8);
    return SB__SERVICE_EXIT_CANNOT_START;
  }
  rc = sb__runner_run(&sb__svc.runner, &o);
  EnterCriticalSection(&sb__svc.lock);
  sb__svc.accepting = false;
  LeaveCriticalSection(&sb__svc.lock);
  if (rc != 0) {
    sb__log(SB_LOG_ERROR, "service %s could not start: %s", sb__svc.name_utf8,
            sb_err_message(rc));
    return SB__SERVICE_EXIT_CANNOT_START;
  }
  sb__log(SB_LOG_INFO, "service %s stopped", sb__svc.name_utf8);
  sb__eventlog_report(SB__EVENT_STOPPED, sb__svc.name_utf8);
  return 0;
}

static void WINAPI service_main(DWORD argc, wchar_t **argv) {
  DWORD exit_code;
  /* For an own-process service the SCM passes the service's name first. */
  const wchar_t *name = argc > 0 && argv[0][0] != L'\0' ? argv[0] : L"" SB__SERVICE_NAME_DEFAULT;
  _snwprintf(sb__svc.name, SB__SERVICE_NAME_MAX + 1, L"%ls", name);
  sb__svc.name[SB__SERVICE_NAME_MAX] = L'\0';
  WideCharToMultiByte(CP_UTF8, 0, sb__svc.name, -1, sb__svc.name_utf8,
                      sizeof sb__svc.name_utf8, NULL, NULL);
  sb__svc.handle = RegisterServiceCtrlHandlerExW(sb__svc.name, on_control, NULL);
  if (sb__svc.handle == NULL) return;
  report(SERVICE_START_PENDING, 0, SB__SERVICE_START_HINT_MS);
  exit_code = serve();
  sb__eventlog_close();
  sb__log_close();
  /* Last: once STOPPED is reported, the dispatcher in main returns and the
   * process may end at any moment (measured under Wine: main can return
   * before this function does). */
  report(SERVICE_STOPPED, exit_code, 0);
}

int sb__service_main(int argc, char **argv) {
  SERVICE_TABLE_ENTRYW table[] = {{(wchar_t *)L"" SB__SERVICE_NAME_DEFAULT, service_main},
                                  {NULL, NULL}};
  sb__svc.argc = argc;
  sb__svc.argv = argv;
  InitializeCriticalSection(&sb__svc.lock);
  if (!StartServiceCtrlDispatcherW(table)) {
    if (GetLastError() == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
      fputs("spawnbroker: without a verb spawnbroker is the service, which only the service "
            "manager starts; use 'spawnbroker run' in a console, 'spawnbroker start' for the "
            "service, or 'spawnbroker --help'\n",
            stderr);
      return SB__EXIT_USAGE;
    }
    sb__scm_say_error("cannot connect to the service manager", GetLastError());
    return SB__EXIT_FAILED;
  }
  return 0;
}
