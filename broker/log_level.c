/* Log level names, shared by the logger and the settings parser (which is
 * built natively for its unit tests, so it cannot pull in the logger). */
#include <string.h>

#include "log.h"
#include "sb_errors.h"

static const char *const sb__level_names[] = {"error", "warn", "info", "debug"};

const char *sb__log_level_name(sb__log_level level) {
  if ((unsigned)level >= sizeof sb__level_names / sizeof sb__level_names[0]) return "?";
  return sb__level_names[level];
}

int sb__log_level_from_name(const char *name, sb__log_level *out) {
  for (int i = 0; i < (int)(sizeof sb__level_names / sizeof sb__level_names[0]); i++) {
    if (strcmp(name, sb__level_names[i]) == 0) {
      *out = (sb__log_level)i;
      return 0;
    }
  }
  return SB_E_INVALID_ARGUMENT;
}
