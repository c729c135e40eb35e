/* spawnbroker install and uninstall. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "eventlog.h"
#include "options.h"
#include "sb_errors.h"
#include "scm.h"
#include "utf.h"

/* The most arguments install records after the program: --config FILE and
 * the test hooks. */
#define SB__INSTALL_MAX_ARGS 16

typedef struct install_args {
  const char *name;
  const char *config; /* as given; NULL: none */
  DWORD start_type;
  const char *hooks[SB__INSTALL_MAX_ARGS]; /* test hooks, option and value */
  size_t nhooks;
} install_args;

static int parse_install(int argc, char **argv, install_args *a) {
  memset(a, 0, sizeof *a);
  a->name = SB__SERVICE_NAME_DEFAULT;
  a->start_type = SERVICE_DEMAND_START;
  for (int i = 2; i < argc; i += 2) {
    const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (val == NULL) {
      fprintf(stderr, "spawnbroker: %s needs a value\n", opt);
      return SB__EXIT_USAGE;
    }
    if (strcmp(opt, "--name") == 0) {
      a->name = val;
    } else if (strcmp(opt, "--config") == 0) {
      a->config = val;
    } else if (strcmp(opt, "--start") == 0) {
      if (strcmp(val, "auto") == 0) {
        a->start_type = SERVICE_AUTO_START;
      } else if (strcmp(val, "demand") == 0) {
        a->start_type = SERVICE_DEMAND_START;
      } else {
        fprintf(stderr, "spawnbroker: --start is auto or demand, not \"%s\"\n", val);
        return SB__EXIT_USAGE;
      }
    } else if (sb__options_is_test_hook(opt) && a->nhooks + 2 <= SB__INSTALL_MAX_ARGS) {
      a->hooks[a->nhooks++] = opt;
      a->hooks[a->nhooks++] = val;
    } else {
      fprintf(stderr, "spawnbroker: install takes --config, --start and --name, not '%s'\n", opt);
      return SB__EXIT_USAGE;
    }
  }
  return sb__scm_name_ok(a->name) ? SB__EXIT_OK : SB__EXIT_USAGE;
}

/* The full path of a file given on the command line, as UTF-8: the service
 * starts in the system folder, where a relative path means something else. */
static int full_path(const char *given, char **out) {
  wchar_t *w = NULL, full[MAX_PATH * 4];
  DWORD n;
  int rc = sb__utf8_to_wide(given, &w);
  if (rc != 0) return rc;
  n = GetFullPathNameW(w, sizeof full / sizeof full[0], full, NULL);
  free(w);
  if (n == 0 || n >= sizeof full / sizeof full[0]) return SB_E_INVALID_ARGUMENT;
  return sb__wide_to_utf8(full, out);
}

/* Checks the config file as the service will read it, and returns its full
 * path. The settings are kept for the description (the pipe). */
static int check_config(const install_args *a, char **config_full, sb__settings *s) {
  char err[512];
  sb__settings_init(s);
  *config_full = NULL;
  if (a->config == NULL) return SB__EXIT_OK;
  if (full_path(a->config, config_full) != 0) {
    fprintf(stderr, "spawnbroker: %s is not a usable path\n", a->config);
    return SB__EXIT_USAGE;
  }
  if (sb__options_load_config(s, *config_full, err, sizeof err) != 0 ||
      sb__settings_check(s, err, sizeof err) != 0) {
    fprintf(stderr, "spawnbroker: %s\n", err);
    return SB__EXIT_USAGE;
  }
  return SB__EXIT_OK;
}

/* "C:\...\spawnbroker.exe" --config "C:\...\x.json" (and test hooks),
 * quoted by the same rules as a child's command line. */
static int image_path(const install_args *a, const char *config_full, wchar_t **out,
                      wchar_t *exe, size_t exe_cap) {
  const char *args[SB__INSTALL_MAX_ARGS + 2];
  size_t n = 0;
  char *exe_utf8 = NULL;
  int rc;
  DWORD len = GetModuleFileNameW(NULL, exe, (DWORD)exe_cap);
  if (len == 0 || len >= exe_cap) return SB_E_INTERNAL;
  rc = sb__wide_to_utf8(exe, &exe_utf8);
  if (rc != 0) return rc;
  if (config_full != NULL) {
    args[n++] = "--config";
    args[n++] = config_full;
  }
  for (size_t i = 0; i < a->nhooks; i++) args[n++] = a->hooks[i];
  rc = sb__cmdline_build(exe_utf8, args, n, out);
  free(exe_utf8);
  return rc;
}

/* Recovery: restart after a failure, twice, then leave it stopped; with
 * FailureActionsOnNonCrashFailures a stop with an error exit code (settings
 * invalid, the pipe taken) counts as a failure too. Wine 8.0 accepts the
 * actions without storing them and refuses the flag (docs/wine.md), so a
 * failure here is a warning: the service itself works without them. */
static void set_recovery(SC_HANDLE svc) {
  SC_ACTION actions[3] = {{SC_ACTION_RESTART, SB__RECOVERY_FIRST_MS},
                          {SC_ACTION_RESTART, SB__RECOVERY_SECOND_MS},
                          {SC_ACTION_NONE, 0}};
  SERVICE_FAILURE_ACTIONSW fa = {SB__RECOVERY_RESET_S, NULL, NULL, 3, actions};
  SERVICE_FAILURE_ACTIONS_FLAG flag = {TRUE};
  if (!ChangeServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, &fa))
    sb__scm_say_error("warning: the recovery actions were not set", GetLastError());
  if (!ChangeServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &flag))
    sb__scm_say_error("warning: recovery after a stop with an error exit code was not set",
                      GetLastError());
}

static int describe(SC_HANDLE svc, const sb__settings *s) {
  char text[512];
  wchar_t *w = NULL;
  SERVICE_DESCRIPTIONW d;
  BOOL ok;
  snprintf(text, sizeof text,
           "Starts processes for other programs over the named pipe %s, handing each child "
           "exactly the handles its requester named.",
           s->pipe);
  if (sb__utf8_to_wide(text, &w) != 0) return SB_E_NOMEM;
  d.lpDescription = w;
  ok = ChangeServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, &d);
  free(w);
  return ok ? 0 : SB_E_IO;
}

int sb__verb_install(int argc, char **argv) {
  install_args a;
  sb__settings s;
  char *config_full = NULL, display[SB__SERVICE_NAME_MAX + 32];
  wchar_t exe[MAX_PATH * 4], *path = NULL, *wname = NULL, *wdisplay = NULL;
  SC_HANDLE mgr = NULL, svc = NULL;
  int code = parse_install(argc, argv, &a);
  DWORD e;

  if (code != SB__EXIT_OK) return code;
  code = check_config(&a, &config_full, &s);
  if (code != SB__EXIT_OK) goto done;
  code = SB__EXIT_FAILED;
  if (image_path(&a, config_full, &path, exe, sizeof exe / sizeof exe[0]) != 0) {
    fprintf(stderr, "spawnbroker: the service's command line cannot be built\n");
    goto done;
  }
  if (strcmp(a.name, SB__SERVICE_NAME_DEFAULT) == 0)
    snprintf(display, sizeof display, "spawnbroker");
  else
    snprintf(display, sizeof display, "spawnbroker (%s)", a.name);
  if (sb__utf8_to_wide(a.name, &wname) != 0 || sb__utf8_to_wide(display, &wdisplay) != 0)
    goto done;
  code = sb__scm_open(a.name, SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE, 0, &mgr, NULL);
  if (code != SB__EXIT_OK) goto done;
  /* LocalSystem (a NULL account): the broker creates processes with its
   * clients' tokens, which needs SeAssignPrimaryToken and SeImpersonate. */
  svc = CreateServiceW(mgr, wname, wdisplay, SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
                       a.start_type, SERVICE_ERROR_NORMAL, path, NULL, NULL, NULL, NULL, NULL);
  if (svc == NULL) {
    e = GetLastError();
    if (e == ERROR_SERVICE_EXISTS || e == ERROR_DUPLICATE_SERVICE_NAME) {
      fprintf(stderr, "spawnbroker: a service named %s is already installed\n", a.name);
      code = SB__EXIT_ALREADY;
    } else {
      sb__scm_say_error("cannot create the service", e);
      code = SB__EXIT_FAILED;
    }
    goto done;
  }
  code = SB__EXIT_FAILED;
  if (describe(svc, &s) != 0) {
    sb__scm_say_error("cannot set the service's description", GetLastError());
    goto undo;
  }
  set_recovery(svc);
  if (sb__eventlog_register(wname, exe) != 0) {
    sb__scm_say_error("cannot register the Event Log source", GetLastError());
    goto undo;
  }
  printf("spawnbroker: installed the service %s (start: %s, config: %s)\n", a.name,
         a.start_type == SERVICE_AUTO_START ? "auto" : "demand",
         config_full != NULL ? config_full : "none, the defaults");
  code = SB__EXIT_OK;
  goto done;
undo:
  /* Nothing half-installed stays behind. */
  DeleteService(svc);
done:
  sb__scm_end(mgr, svc);
  free(wdisplay);
  free(wname);
  free(path);
  free(config_full);
  return code;
}

int sb__verb_uninstall(int argc, char **argv) {
  const char *name;
  SC_HANDLE mgr, svc;
  SERVICE_STATUS_PROCESS st;
  wchar_t *wname = NULL;
  int code = sb__scm_begin(argc, argv, SERVICE_STOP | DELETE, &name, &mgr, &svc, &st);

  if (code != SB__EXIT_OK) return code;
  /* A running service is stopped first, gracefully, so deleting it never
   * leaves a process that the service manager no longer knows. */
  if (st.dwCurrentState != SERVICE_STOPPED) {
    code = sb__scm_stop_and_wait(name, svc, &st);
    if (code != SB__EXIT_OK) goto done;
  }
  code = SB__EXIT_FAILED;
  if (!DeleteService(svc)) {
    sb__scm_say_error("cannot delete the service", GetLastError());
    goto done;
  }
  if (sb__utf8_to_wide(name, &wname) != 0 || sb__eventlog_unregister(wname) != 0) {
    sb__scm_say_error("the service is gone, but its Event Log source could not be removed",
                      GetLastError());
    goto done;
  }
  printf("spawnbroker: uninstalled the service %s\n", name);
  code = SB__EXIT_OK;
done:
  sb__scm_end(mgr, svc);
  free(wname);
  return code;
}
