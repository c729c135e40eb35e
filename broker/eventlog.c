#include "eventlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <windows.h>

#include "messages.h"
#include "sb_errors.h"
#include "utf.h"

static SRWLOCK sb__event_lock = SRWLOCK_INIT;
static HANDLE sb__event_source;

/* The source's key: SB__EVENTLOG_KEY\source. */
static wchar_t *source_key(const wchar_t *source) {
  size_t n = wcslen(SB__EVENTLOG_KEY) + 1 + wcslen(source) + 1;
  wchar_t *key = malloc(n * sizeof *key);
  if (key != NULL) _snwprintf(key, n, L"%ls\\%ls", SB__EVENTLOG_KEY, source);
  if (key != NULL) key[n - 1] = L'\0';
  return key;
}

static int from_win32(LONG e) {
  SetLastError((DWORD)e);
  return e == ERROR_ACCESS_DENIED ? SB_E_ACCESS_DENIED : SB_E_IO;
}

int sb__eventlog_register(const wchar_t *source, const wchar_t *message_file) {
  wchar_t *key = source_key(source);
  HKEY k = NULL;
  DWORD types = SB__EVENTLOG_TYPES;
  LONG e;

  if (key == NULL) return SB_E_NOMEM;
  e = RegCreateKeyExW(HKEY_LOCAL_MACHINE, key, 0, NULL, 0, KEY_SET_VALUE, NULL, &k, NULL);
  free(key);
  if (e != ERROR_SUCCESS) return from_win32(e);
  /* REG_EXPAND_SZ, as the Event Viewer expects for EventMessageFile. */
  e = RegSetValueExW(k, L"EventMessageFile", 0, REG_EXPAND_SZ, (const BYTE *)message_file,
                     (DWORD)((wcslen(message_file) + 1) * sizeof(wchar_t)));
  if (e == ERROR_SUCCESS)
    e = RegSetValueExW(k, L"TypesSupported", 0, REG_DWORD, (const BYTE *)&types, sizeof types);
  RegCloseKey(k);
  return e == ERROR_SUCCESS ? 0 : from_win32(e);
}

int sb__eventlog_unregister(const wchar_t *source) {
  wchar_t *key = source_key(source);
  LONG e;
  if (key == NULL) return SB_E_NOMEM;
  e = RegDeleteKeyW(HKEY_LOCAL_MACHINE, key);
  free(key);
  if (e == ERROR_SUCCESS || e == ERROR_FILE_NOT_FOUND) return 0;
  return from_win32(e);
}

int sb__eventlog_open(const wchar_t *source) {
  HANDLE h = RegisterEventSourceW(NULL, source);
  if (h == NULL) return SB_E_IO;
  AcquireSRWLockExclusive(&sb__event_lock);
  if (sb__event_source != NULL) DeregisterEventSource(sb__event_source);
  sb__event_source = h;
  ReleaseSRWLockExclusive(&sb__event_lock);
  return 0;
}

void sb__eventlog_report(sb__event ev, const char *text) {
  static const DWORD ids[] = {SB_MSG_STARTED, SB_MSG_STOPPED, SB_MSG_ERROR};
  static const WORD types[] = {EVENTLOG_INFORMATION_TYPE, EVENTLOG_INFORMATION_TYPE,
                               EVENTLOG_ERROR_TYPE};
  wchar_t *wtext = NULL;
  const wchar_t *strings[1];

  if ((unsigned)ev > SB__EVENT_ERROR) return;
  if (sb__utf8_to_wide(text, &wtext) != 0) return;
  strings[0] = wtext;
  AcquireSRWLockShared(&sb__event_lock);
  if (sb__event_source != NULL)
    ReportEventW(sb__event_source, types[ev], 0, ids[ev], NULL, 1, 0, strings, NULL);
  ReleaseSRWLockShared(&sb__event_lock);
  free(wtext);
}

void sb__eventlog_close(void) {
  AcquireSRWLockExclusive(&sb__event_lock);
  if (sb__event_source != NULL) DeregisterEventSource(sb__event_source);
  sb__event_source = NULL;
  ReleaseSRWLockExclusive(&sb__event_lock);
}
