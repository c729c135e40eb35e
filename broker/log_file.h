/*
 * The broker's log file: one line per write, appended, rotated by size.
 *
 * Before a line would take the file past max_bytes, the file is renamed to
 * PATH.1 (PATH.1 to PATH.2, and so on), keeping `keep` old files; the oldest
 * is deleted. A file therefore never exceeds max_bytes, unless a single line
 * is longer than that. Thread-safe: any thread may write.
 */
#ifndef SB_BROKER_LOG_FILE_H
#define SB_BROKER_LOG_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

typedef struct sb__log_file sb__log_file;

/* Opens PATH for appending (creating it, not its folder). keep is at least
 * 1. Returns 0, SB_E_NOMEM, SB_E_INVALID_ARGUMENT or SB_E_IO (the Windows
 * error is then in GetLastError()). */
int sb__log_file_open(const wchar_t *path, uint64_t max_bytes, uint32_t keep,
                      sb__log_file **out);

/* Appends one line (its bytes, newline included), rotating first when the
 * file would grow past max_bytes. A failure is counted, never reported:
 * there is nowhere left to report it. */
void sb__log_file_write(sb__log_file *f, const char *line, size_t len);

/* How many writes or rotations failed since the file was opened. */
uint64_t sb__log_file_failures(sb__log_file *f);

void sb__log_file_close(sb__log_file *f);

#endif
