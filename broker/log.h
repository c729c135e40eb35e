/* Leveled logging to stderr (console mode). */
#ifndef SB_BROKER_LOG_H
#define SB_BROKER_LOG_H

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

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void sb__log(sb__log_level level, const char *fmt, ...);

#endif
