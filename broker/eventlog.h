/*
 * The Windows Event Log: the event source `install` registers and
 * `uninstall` removes, and the reports a service makes through it.
 *
 * The source is HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application
 * \<service name>, whose EventMessageFile is spawnbroker.exe itself: the
 * message table (messages.mc) is linked into it. Under Wine, ReportEventW
 * only prints to the "eventlog" debug channel (docs/wine.md), so tests read
 * the registry values and the message table instead.
 */
#ifndef SB_BROKER_EVENTLOG_H
#define SB_BROKER_EVENTLOG_H

#include <stdint.h>
#include <wchar.h>

/* The registry key under HKEY_LOCAL_MACHINE that holds the sources. */
#define SB__EVENTLOG_KEY L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application"
/* EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE. */
#define SB__EVENTLOG_TYPES 7u

typedef enum sb__event {
  SB__EVENT_STARTED, /* information: the service runs */
  SB__EVENT_STOPPED, /* information: the service stopped */
  SB__EVENT_ERROR    /* error: any error the broker logs */
} sb__event;

/* Registers `source` with message_file (a full path) as its message file.
 * Returns 0 or SB_E_ACCESS_DENIED / SB_E_IO (the Windows error is then in
 * GetLastError()). */
int sb__eventlog_register(const wchar_t *source, const wchar_t *message_file);
/* Removes the source; 0 also when it was not registered. */
int sb__eventlog_unregister(const wchar_t *source);

/* Opens the source for this process's reports (RegisterEventSourceW). */
int sb__eventlog_open(const wchar_t *source);
/* Reports one event with text (UTF-8) as its only insertion string; does
 * nothing when no source is open. Thread-safe. */
void sb__eventlog_report(sb__event ev, const char *text);
void sb__eventlog_close(void);

#endif
