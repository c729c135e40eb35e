#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sb_errors.h"

/* Set once at start-up, before the loop runs, and only read afterwards. */
static sb__log_level sb__max_level = SB_LOG_INFO;

static const char *const sb__level_names[] = {"error", "warn", "info", "debug"};

void sb__log_set_level(sb__log_level level) { sb__max_level = level; }

int sb__log_level_from_name(const char *name, sb__log_level *out) {
  for (int i = 0; i < (int)(sizeof sb__level_names / sizeof sb__level_names[0]); i++) {
    if (strcmp(name, sb__level_names[i]) == 0) {
      *out = (sb__log_level)i;
      return 0;
    }
  }
  return SB_E_INVALID_ARGUMENT;
}

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
  fprintf(stderr, "%s spawnbroker %s: %s\n", stamp, sb__level_names[level], line);
}
