#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb_errors.h"
#include "scm.h"
#include "service.h"
#include "utf.h"

bool sb__scm_name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > SB__SERVICE_NAME_MAX) {
    fprintf(stderr, "spawnbroker: a service name has 1 to %d characters, not %u\n",
            SB__SERVICE_NAME_MAX, (unsigned)n);
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '_' || c == '-')) {
      fprintf(stderr, "spawnbroker: a service name is made of letters, digits, '.', '_' and "
              "'-', not \"%s\"\n", name);
      return false;
    }
  }
  return true;
}

int sb__scm_parse_name(int argc, char **argv, const char **name) {
  *name = SB__SERVICE_NAME_DEFAULT;
  for (int i = 2; i < argc; i += 2) {
    if (strcmp(argv[i], "--name") != 0 || i + 1 >= argc) {
      fprintf(stderr, "spawnbroker: %s takes only --name NAME\n", argv[1]);
      return SB__EXIT_USAGE;
    }
    *name = argv[i + 1];
  }
  return sb__scm_name_ok(*name) ? SB__EXIT_OK : SB__EXIT_USAGE;
}

void sb__scm_say_error(const char *what, DWORD err) {
  char msg[512] = "";
  DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err,
                           0, msg, sizeof msg, NULL);
  /* One line: the system's text ends in a line break. */
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == ' ')) msg[--n] = '\0';
  for (char *p = msg; *p; p++)
    if (*p == '\r' || *p == '\n') *p = ' ';
  fprintf(stderr, "spawnbroker: %s: %s (error %lu)\n", what, n > 0 ? msg : "unknown error",
          (unsigned long)err);
}

int sb__scm_open(const char *name, DWORD mgr_access, DWORD access, SC_HANDLE *mgr,
                 SC_HANDLE *svc) {
  wchar_t *wname = NULL;
  DWORD e;
  *mgr = NULL;
  if (svc != NULL) *svc = NULL;
  *mgr = OpenSCManagerW(NULL, NULL, mgr_access);
  if (*mgr == NULL) {
    e = GetLastError();
    sb__scm_say_error(e == ERROR_ACCESS_DENIED
                          ? "cannot open the service manager (run this as an administrator)"
                          : "cannot open the service manager",
                      e);
    return SB__EXIT_FAILED;
  }
  if (svc == NULL || access == 0) return SB__EXIT_OK;
  if (sb__utf8_to_wide(name, &wname) != 0) return SB__EXIT_USAGE;
  *svc = OpenServiceW(*mgr, wname, access);
  e = GetLastError();
  free(wname);
  if (*svc != NULL) return SB__EXIT_OK;
  CloseServiceHandle(*mgr);
  *mgr = NULL;
  if (e == ERROR_SERVICE_DOES_NOT_EXIST) {
    fprintf(stderr, "spawnbroker: no service named %s is installed\n", name);
    return SB__EXIT_NOT_INSTALLED;
  }
  sb__scm_say_error("cannot open the service", e);
  return SB__EXIT_FAILED;
}

int sb__scm_query(SC_HANDLE svc, SERVICE_STATUS_PROCESS *st) {
  DWORD n = 0;
  return QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)st, sizeof *st, &n) ? 0
                                                                                        : SB_E_IO;
}

int sb__scm_begin(int argc, char **argv, DWORD access, const char **name, SC_HANDLE *mgr,
                  SC_HANDLE *svc, SERVICE_STATUS_PROCESS *st) {
  int code = sb__scm_parse_name(argc, argv, name);
  if (code != SB__EXIT_OK) return code;
  code = sb__scm_open(*name, SC_MANAGER_CONNECT, access | SERVICE_QUERY_STATUS, mgr, svc);
  if (code != SB__EXIT_OK) return code;
  if (sb__scm_query(*svc, st) != 0) {
    sb__scm_say_error("cannot read the service's state", GetLastError());
    sb__scm_end(*mgr, *svc);
    *mgr = *svc = NULL;
    return SB__EXIT_FAILED;
  }
  return SB__EXIT_OK;
}

void sb__scm_end(SC_HANDLE mgr, SC_HANDLE svc) {
  if (svc != NULL) CloseServiceHandle(svc);
  if (mgr != NULL) CloseServiceHandle(mgr);
}

/* The wait Microsoft's service samples use: a service that keeps moving
 * its checkpoint may take as long as it needs; one that stops moving it for
 * longer than its wait hint is given up on. */
int sb__scm_wait(SC_HANDLE svc, DWORD pending, SERVICE_STATUS_PROCESS *st) {
  ULONGLONG since = GetTickCount64();
  DWORD checkpoint = st->dwCheckPoint;
  while (st->dwCurrentState == pending) {
    DWORD hint = st->dwWaitHint > SB__SCM_HINT_FLOOR_MS ? st->dwWaitHint : SB__SCM_HINT_FLOOR_MS;
    Sleep(SB__SCM_POLL_MS);
    if (sb__scm_query(svc, st) != 0) return SB_E_IO;
    if (st->dwCheckPoint != checkpoint) {
      checkpoint = st->dwCheckPoint;
      since = GetTickCount64();
    } else if (st->dwCurrentState == pending && GetTickCount64() - since > hint) {
      return SB_E_TIMEOUT;
    }
  }
  return 0;
}

int sb__scm_stop_and_wait(const char *name, SC_HANDLE svc, SERVICE_STATUS_PROCESS *st) {
  SERVICE_STATUS ss;
  if (st->dwCurrentState != SERVICE_STOP_PENDING && !ControlService(svc, SERVICE_CONTROL_STOP, &ss)) {
    DWORD e = GetLastError();
    if (e == ERROR_SERVICE_CANNOT_ACCEPT_CTRL)
      fprintf(stderr, "spawnbroker: %s cannot take a stop request now (it is %s); try again\n",
              name, sb__scm_state_name(st->dwCurrentState));
    else
      sb__scm_say_error("the stop request failed", e);
    return SB__EXIT_FAILED;
  }
  if (sb__scm_query(svc, st) != 0) {
    sb__scm_say_error("cannot read the service's state", GetLastError());
    return SB__EXIT_FAILED;
  }
  if (sb__scm_wait(svc, SERVICE_STOP_PENDING, st) != 0) {
    fprintf(stderr, "spawnbroker: %s made no progress stopping within its wait hint; it is %s\n",
            name, sb__scm_state_name(st->dwCurrentState));
    return SB__EXIT_FAILED;
  }
  if (st->dwCurrentState != SERVICE_STOPPED) {
    fprintf(stderr, "spawnbroker: %s is %s, not stopped\n", name,
            sb__scm_state_name(st->dwCurrentState));
    return SB__EXIT_FAILED;
  }
  return SB__EXIT_OK;
}

const char *sb__scm_state_name(DWORD state) {
  switch (state) {
    case SERVICE_STOPPED: return "stopped";
    case SERVICE_START_PENDING: return "starting";
    case SERVICE_STOP_PENDING: return "stopping";
    case SERVICE_RUNNING: return "running";
    case SERVICE_CONTINUE_PENDING: return "resuming";
    case SERVICE_PAUSE_PENDING: return "pausing";
    case SERVICE_PAUSED: return "paused";
    default: return "in an unknown state";
  }
}

const char *sb__scm_exit_words(const SERVICE_STATUS_PROCESS *st) {
  static char buf[64];
  /* 1077, ERROR_SERVICE_NEVER_STARTED, is what Windows and Wine report
   * before the first start. */
  if (st->dwWin32ExitCode == NO_ERROR || st->dwWin32ExitCode == ERROR_SERVICE_NEVER_STARTED)
    return "";
  if (st->dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR) {
    if (st->dwServiceSpecificExitCode == SB__SERVICE_EXIT_BAD_SETTINGS)
      return "its settings are invalid";
    if (st->dwServiceSpecificExitCode == SB__SERVICE_EXIT_CANNOT_START) return "it could not start";
    snprintf(buf, sizeof buf, "service exit code %lu", (unsigned long)st->dwServiceSpecificExitCode);
    return buf;
  }
  snprintf(buf, sizeof buf, "exit code %lu", (unsigned long)st->dwWin32ExitCode);
  return buf;
}
