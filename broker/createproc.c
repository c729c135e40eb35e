#include "createproc.h"

#include "fault.h"
#include "log.h"

static BOOL create_once(HANDLE token, const wchar_t *app, wchar_t *cmdline, BOOL inherit,
                        DWORD flags, void *env, const wchar_t *cwd, STARTUPINFOW *si,
                        PROCESS_INFORMATION *pi) {
  if (sb__fault_fires(SB__FAULT_CREATE_1359)) {
    SetLastError(ERROR_INTERNAL_ERROR);
    return FALSE;
  }
  if (token != NULL)
    return CreateProcessAsUserW(token, app, cmdline, NULL, NULL, inherit, flags, env, cwd, si,
                                pi);
  return CreateProcessW(app, cmdline, NULL, NULL, inherit, flags, env, cwd, si, pi);
}

BOOL sb__create_process(HANDLE token, const wchar_t *app, wchar_t *cmdline, BOOL inherit,
                        DWORD flags, void *env, const wchar_t *cwd, STARTUPINFOW *si,
                        PROCESS_INFORMATION *pi) {
  if (create_once(token, app, cmdline, inherit, flags, env, cwd, si, pi)) return TRUE;
  if (GetLastError() != ERROR_INTERNAL_ERROR) return FALSE;
  sb__log(SB_LOG_WARN, "CreateProcess failed with error %lu (the new process died while it "
          "started); trying once more", (unsigned long)ERROR_INTERNAL_ERROR);
  return create_once(token, app, cmdline, inherit, flags, env, cwd, si, pi);
}
