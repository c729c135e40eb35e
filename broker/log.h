/*
 * Leveled logging, one line per event, from any thread.
 *
 * Lines go to stderr (console mode), to the rotating log file once one is
 * open (log_file.h: `log.file`, `log.max_bytes`, `log.keep`), and, for
 * error lines, to the Event Log once a source is open (eventlog.h: service
 * mode with `log.event_log`).
 */
#ifndef SB_BROKER_LOG_H
#define SB_BROKER_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <wchar.h>

typedef enum sb__log_level {
  SB_LOG_ERROR,
  SB_LOG_WARN,
  SB_LOG_INFO,
  SB_LOG_DEBUG
} sb__log_level;

/* Messages above this level are dropped. */
void sb__log_set_level(sb__log_level level);
/* 0 and *out set, or SB_E_INVALID_ARGUMENT for an unknown name
 * (log_level.c). */
int sb__log_level_from_name(const char *name, sb__log_level *out);
/* "error", "warn", "info" or "debug". */
const char *sb__log_level_name(sb__log_level level);

/* Whether lines also go to stderr (on by default; a service has none). */
void sb__log_to_stderr(bool on);
/* From now on lines also go to this file (log_file.h); replaces a file
 * opened before. 0 or the code of sb__log_file_open. */
int sb__log_open_file(const wchar_t *path, uint64_t max_bytes, uint32_t keep);
/* Whether error lines also go to the Event Log source opened with
 * sb__eventlog_open. */
void sb__log_errors_to_event_log(bool on);
/* Closes the file; later lines go to stderr only, if at all. */
void sb__log_close(void);

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void sb__log(sb__log_level level, const char *fmt, ...);

#endif
