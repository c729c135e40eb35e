/*
 * The service's data folder, %ProgramData%\spawnbroker, where a service's
 * log file goes when log.file is empty (NAME.log, NAME being the service's
 * name).
 */
#ifndef SB_BROKER_DATADIR_H
#define SB_BROKER_DATADIR_H

#include <stddef.h>
#include <wchar.h>

/* The folder's access list: SYSTEM and Administrators only, protected
 * from what %ProgramData% passes down (its default list lets users add
 * files to the folders below it, so a user could otherwise create the log
 * file first, own it, and read everything the broker writes to it). */
#define SB__DATADIR_SDDL L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

/* Writes "<ProgramData>\spawnbroker\<name>.log" into out (cap characters),
 * creating the folder with SB__DATADIR_SDDL when it does not exist yet; a
 * folder that exists is used as it is. Returns 0, SB_E_IO (the Windows
 * error is in GetLastError()) or SB_E_INVALID_ARGUMENT when it does not
 * fit. */
int sb__datadir_log_path(const wchar_t *name, wchar_t *out, size_t cap);

#endif
