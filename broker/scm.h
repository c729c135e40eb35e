/*
 * The service verbs: install, uninstall, start, stop and status, through
 * the Service Control Manager. Each prints one line and returns the process
 * exit code (docs/operations.md, "Running as a service").
 */
#ifndef SB_BROKER_SCM_H
#define SB_BROKER_SCM_H

#include <stdbool.h>
#include <windows.h>

/* The service's name when --name is not given. */
#define SB__SERVICE_NAME_DEFAULT "spawnbroker"
/* A service name is 1 to this many characters of [A-Za-z0-9._-]: it also
 * names the event source (a registry key) and the default log file. */
#define SB__SERVICE_NAME_MAX 64

/* The exit codes of the verbs. */
#define SB__EXIT_OK 0            /* done; status: the service runs */
#define SB__EXIT_FAILED 1        /* the service manager refused or failed, or a wait ran out */
#define SB__EXIT_USAGE 2         /* bad options or a bad config file */
#define SB__EXIT_NOT_RUNNING 3   /* status: installed, not running */
#define SB__EXIT_NOT_INSTALLED 4 /* no service of that name */
#define SB__EXIT_ALREADY 5       /* already so: installed, running, or not running */

/* While waiting for a pending state to end: how often the state is read,
 * and the least time allowed between checkpoints whatever wait hint the
 * service gave. */
#define SB__SCM_POLL_MS 250
#define SB__SCM_HINT_FLOOR_MS 5000

/* Recovery (SERVICE_CONFIG_FAILURE_ACTIONS): restart after the first and
 * the second failure, then nothing; failures are forgotten after a day
 * without one. */
#define SB__RECOVERY_FIRST_MS 5000
#define SB__RECOVERY_SECOND_MS 30000
#define SB__RECOVERY_RESET_S 86400

int sb__verb_install(int argc, char **argv);
int sb__verb_uninstall(int argc, char **argv);
int sb__verb_start(int argc, char **argv);
int sb__verb_stop(int argc, char **argv);
int sb__verb_status(int argc, char **argv);

/* Shared by the verbs (scm_common.c). */

/* Reads `--name NAME` (the only option of uninstall, start, stop and
 * status) from argv[2..]; the default name without it. Prints the reason
 * and returns SB__EXIT_USAGE for anything else. */
int sb__scm_parse_name(int argc, char **argv, const char **name);
/* Checks a service name; false with a message printed when it is not one. */
bool sb__scm_name_ok(const char *name);
/* Prints "spawnbroker: <what>: <Windows message> (error N)". */
void sb__scm_say_error(const char *what, DWORD err);
/* Opens the service manager and the service with `access`. Prints the
 * reason and returns the exit code when it cannot (SB__EXIT_NOT_INSTALLED
 * for a missing service), else SB__EXIT_OK. */
int sb__scm_open(const char *name, DWORD mgr_access, DWORD access, SC_HANDLE *mgr,
                 SC_HANDLE *svc);
int sb__scm_query(SC_HANDLE svc, SERVICE_STATUS_PROCESS *st);
/* How every verb on an installed service begins: --name, the service
 * opened with `access` (SERVICE_QUERY_STATUS included) and its state read
 * into *st. SB__EXIT_OK with *mgr and *svc open, or the exit code, said,
 * with nothing open. */
int sb__scm_begin(int argc, char **argv, DWORD access, const char **name, SC_HANDLE *mgr,
                  SC_HANDLE *svc, SERVICE_STATUS_PROCESS *st);
void sb__scm_end(SC_HANDLE mgr, SC_HANDLE svc);
/* Waits while the service is in state `pending`, as long as its checkpoint
 * advances within its wait hint. 0 when it left that state (*st is then
 * the new state), SB_E_TIMEOUT when it made no progress in time. */
int sb__scm_wait(SC_HANDLE svc, DWORD pending, SERVICE_STATUS_PROCESS *st);
/* Stops a running service and waits until it has stopped (stop, uninstall). */
int sb__scm_stop_and_wait(const char *name, SC_HANDLE svc, SERVICE_STATUS_PROCESS *st);
/* "running", "stopped", "starting", "stopping", ... */
const char *sb__scm_state_name(DWORD state);
/* The words for a stopped service's exit code, "" for a clean stop. */
const char *sb__scm_exit_words(const SERVICE_STATUS_PROCESS *st);

#endif
