/*
 * Service mode: spawnbroker started by the Service Control Manager, with
 * no verb. The command line `install` records is
 *     "C:\...\spawnbroker.exe" [--config "C:\...\FILE.json"]
 * so the service reads the same settings as `run` would, from the same
 * options (options.h); the service's name comes from the SCM (ServiceMain's
 * first argument).
 *
 * ServiceMain reports START_PENDING, reads the settings, opens the log file
 * (log.file, or %ProgramData%\spawnbroker\NAME.log) and the Event Log
 * source, serves (run.h), and reports RUNNING once it listens. STOP and
 * SHUTDOWN only report STOP_PENDING and wake the loop; the loop stops
 * gracefully, reporting STOP_PENDING with a new checkpoint every
 * SB__RUN_TICK_MS, and SERVICE_STOPPED is reported last, once everything is
 * closed.
 */
#ifndef SB_BROKER_SERVICE_H
#define SB_BROKER_SERVICE_H

/* The wait hints reported while starting and while stopping. A stop
 * reports progress every SB__RUN_TICK_MS, so its hint only needs to cover a
 * loop that stopped ticking. */
#define SB__SERVICE_START_HINT_MS 30000
#define SB__SERVICE_STOP_HINT_MS 10000

/* The service-specific exit codes a failed service reports
 * (ERROR_SERVICE_SPECIFIC_ERROR); a stop always reports 0. */
#define SB__SERVICE_EXIT_CANNOT_START 1
#define SB__SERVICE_EXIT_BAD_SETTINGS 2

/* Connects to the SCM and runs the service; returns the process exit code
 * (2, with a message, when the process was not started by the SCM). argv is
 * UTF-8 and must live as long as the process. */
int sb__service_main(int argc, char **argv);

#endif
