#include "test_gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <windows.h>

#include "log.h"
#include "sb_errors.h"
#include "utf.h"

/* Set once before the loop runs, read by worker threads afterwards. */
static wchar_t *sb__gate_entered, *sb__gate_go;

static wchar_t *suffixed(const wchar_t *name, const wchar_t *suffix) {
  size_t n = wcslen(name) + wcslen(suffix) + 1;
  wchar_t *s = malloc(n * sizeof *s);
  if (s != NULL) _snwprintf(s, n, L"%ls%ls", name, suffix);
  if (s != NULL) s[n - 1] = L'\0';
  return s;
}

int sb__test_gate_set(const char *name) {
  wchar_t *w = NULL;
  if (sb__utf8_to_wide(name, &w) != 0) return SB_E_INVALID_ARGUMENT;
  sb__gate_entered = suffixed(w, L".entered");
  sb__gate_go = suffixed(w, L".go");
  free(w);
  return sb__gate_entered != NULL && sb__gate_go != NULL ? 0 : SB_E_NOMEM;
}

void sb__test_gate_pass(void) {
  HANDLE entered, go;
  if (sb__gate_go == NULL) return;
  entered = OpenEventW(EVENT_MODIFY_STATE, FALSE, sb__gate_entered);
  go = OpenEventW(SYNCHRONIZE, FALSE, sb__gate_go);
  if (entered == NULL || go == NULL) {
    sb__log(SB_LOG_ERROR, "test gate: cannot open its events (error %lu)", GetLastError());
  } else {
    sb__log(SB_LOG_INFO, "test gate: a spawn waits at the gate");
    SetEvent(entered);
    WaitForSingleObject(go, INFINITE);
    sb__log(SB_LOG_INFO, "test gate: a spawn passed the gate");
  }
  if (entered != NULL) CloseHandle(entered);
  if (go != NULL) CloseHandle(go);
}
