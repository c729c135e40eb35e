/* spawnbroker start, stop and status. */
#include <stdio.h>
#include <string.h>

#include "scm.h"

int sb__verb_start(int argc, char **argv) {
  const char *name;
  SC_HANDLE mgr, svc;
  SERVICE_STATUS_PROCESS st;
  int code = sb__scm_begin(argc, argv, SERVICE_START, &name, &mgr, &svc, &st);

  if (code != SB__EXIT_OK) return code;
  code = SB__EXIT_FAILED;
  if (!StartServiceW(svc, 0, NULL)) {
    DWORD e = GetLastError();
    if (e == ERROR_SERVICE_ALREADY_RUNNING) {
      fprintf(stderr, "spawnbroker: %s is already running\n", name);
      code = SB__EXIT_ALREADY;
    } else {
      sb__scm_say_error("the service manager could not start the service", e);
    }
    goto done;
  }
  if (sb__scm_query(svc, &st) != 0 || sb__scm_wait(svc, SERVICE_START_PENDING, &st) != 0) {
    fprintf(stderr, "spawnbroker: %s made no progress starting within its wait hint\n", name);
    goto done;
  }
  if (st.dwCurrentState != SERVICE_RUNNING) {
    const char *why = sb__scm_exit_words(&st);
    fprintf(stderr, "spawnbroker: %s is %s after starting%s%s; its log file and the Event Log "
            "say why\n", name, sb__scm_state_name(st.dwCurrentState), *why ? ": " : "", why);
    goto done;
  }
  printf("spawnbroker: %s is running (pid %lu)\n", name, (unsigned long)st.dwProcessId);
  code = SB__EXIT_OK;
done:
  sb__scm_end(mgr, svc);
  return code;
}

int sb__verb_stop(int argc, char **argv) {
  const char *name;
  SC_HANDLE mgr, svc;
  SERVICE_STATUS_PROCESS st;
  int code = sb__scm_begin(argc, argv, SERVICE_STOP, &name, &mgr, &svc, &st);

  if (code != SB__EXIT_OK) return code;
  if (st.dwCurrentState == SERVICE_STOPPED) {
    fprintf(stderr, "spawnbroker: %s is not running\n", name);
    code = SB__EXIT_ALREADY;
  } else {
    code = sb__scm_stop_and_wait(name, svc, &st);
  }
  if (code == SB__EXIT_OK) {
    const char *why = sb__scm_exit_words(&st);
    printf("spawnbroker: %s stopped%s%s%s\n", name, *why ? " (" : "", why, *why ? ")" : "");
  }
  sb__scm_end(mgr, svc);
  return code;
}

int sb__verb_status(int argc, char **argv) {
  const char *name;
  SC_HANDLE mgr, svc;
  SERVICE_STATUS_PROCESS st;
  int code = sb__scm_begin(argc, argv, 0, &name, &mgr, &svc, &st);

  if (code != SB__EXIT_OK) return code;
  if (st.dwCurrentState == SERVICE_RUNNING) {
    printf("spawnbroker: %s is running (pid %lu)\n", name, (unsigned long)st.dwProcessId);
  } else {
    const char *why = st.dwCurrentState == SERVICE_STOPPED ? sb__scm_exit_words(&st) : "";
    printf("spawnbroker: %s is %s%s%s%s\n", name, sb__scm_state_name(st.dwCurrentState),
           *why ? " (" : "", why, *why ? ")" : "");
    code = SB__EXIT_NOT_RUNNING;
  }
  sb__scm_end(mgr, svc);
  return code;
}
