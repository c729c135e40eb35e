#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sb_errors.h"

/* Set once at start-up, before the loop runs, and only read afterwards. */
static sb__log_level sb__max_level = SB_LOG_INFO;

void sb__log_set_level(sb__log_level level) { sb__max_level = level; }

void sb__log(sb__log_level level, const char *fmt, ...) {
  char line[1024];
  char stamp[32];
  time_t now = time(NULL);
  struct tm tm;
  va_list ap;

  if (level > sb__max_level) return;
#if defined(_WIN32)
  gmtime_s(&tm, &now);
#else
  gmtime_r(&now, &tm);
#endif
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  /* One fprintf per line keeps lines whole when several threads log. */
  fprintf(stderr, "%s spawnbroker %s: %s\n", stamp, sb__log_level_name(level), line);
}
