#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <windows.h>

#include "eventlog.h"
#include "log_file.h"
#include "sb_errors.h"

/* Set at start-up, before the loop and its worker threads run. */
static sb__log_level sb__max_level = SB_LOG_INFO;
static bool sb__stderr_on = true;

/* The sinks that change while threads may log: shared to write a line,
 * exclusive to open or close one. */
static SRWLOCK sb__sink_lock = SRWLOCK_INIT;
static sb__log_file *sb__file;
static bool sb__errors_to_events;

void sb__log_set_level(sb__log_level level) { sb__max_level = level; }

void sb__log_to_stderr(bool on) { sb__stderr_on = on; }

int sb__log_open_file(const wchar_t *path, uint64_t max_bytes, uint32_t keep) {
  sb__log_file *f = NULL, *old;
  int rc = sb__log_file_open(path, max_bytes, keep, &f);
  if (rc != 0) return rc;
  AcquireSRWLockExclusive(&sb__sink_lock);
  old = sb__file;
  sb__file = f;
  ReleaseSRWLockExclusive(&sb__sink_lock);
  sb__log_file_close(old);
  return 0;
}

void sb__log_errors_to_event_log(bool on) {
  AcquireSRWLockExclusive(&sb__sink_lock);
  sb__errors_to_events = on;
  ReleaseSRWLockExclusive(&sb__sink_lock);
}

void sb__log_close(void) {
  sb__log_file *old;
  AcquireSRWLockExclusive(&sb__sink_lock);
  old = sb__file;
  sb__file = NULL;
  sb__errors_to_events = false;
  ReleaseSRWLockExclusive(&sb__sink_lock);
  sb__log_file_close(old);
}

void sb__log(sb__log_level level, const char *fmt, ...) {
  char msg[1024];
  char line[1100];
  char stamp[32];
  time_t now = time(NULL);
  struct tm tm;
  va_list ap;
  int n;

  if (level > sb__max_level) return;
  gmtime_s(&tm, &now);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  n = snprintf(line, sizeof line, "%s spawnbroker %s: %s\n", stamp, sb__log_level_name(level),
               msg);
  if (n < 0) return;
  if ((size_t)n >= sizeof line) {
    /* Cut, but still one whole line. */
    n = (int)sizeof line - 1;
    line[n - 1] = '\n';
  }
  /* One fprintf and one WriteFile per line keep lines whole when several
   * threads log at once. */
  if (sb__stderr_on) fputs(line, stderr);
  AcquireSRWLockShared(&sb__sink_lock);
  if (sb__file != NULL) sb__log_file_write(sb__file, line, (size_t)n);
  if (level == SB_LOG_ERROR && sb__errors_to_events) sb__eventlog_report(SB__EVENT_ERROR, msg);
  ReleaseSRWLockShared(&sb__sink_lock);
}
