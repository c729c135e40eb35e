#include "datadir.h"

#include <stdio.h>
#include <windows.h>
/* After windows.h. */
#include <sddl.h>
#include <shlobj.h>

#include "sb_errors.h"

int sb__datadir_log_path(const wchar_t *name, wchar_t *out, size_t cap) {
  PWSTR base = NULL;
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, FALSE};
  PSECURITY_DESCRIPTOR sd = NULL;
  int n, rc = SB_E_IO;

  /* The known folder, not %ProgramData%: under Wine 8.0 a service's
   * environment says C:\users\Public there (docs/wine.md). */
  if (FAILED(SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, NULL, &base))) goto done;
  n = _snwprintf(out, cap, L"%ls\\spawnbroker", base);
  if (n < 0 || (size_t)n >= cap) {
    rc = SB_E_INVALID_ARGUMENT;
    goto done;
  }
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(SB__DATADIR_SDDL, SDDL_REVISION_1,
                                                            &sd, NULL))
    goto done;
  sa.lpSecurityDescriptor = sd;
  if (!CreateDirectoryW(out, &sa) && GetLastError() != ERROR_ALREADY_EXISTS) goto done;
  n = _snwprintf(out, cap, L"%ls\\spawnbroker\\%ls.log", base, name);
  if (n < 0 || (size_t)n >= cap) {
    rc = SB_E_INVALID_ARGUMENT;
    goto done;
  }
  rc = 0;
done:
  if (sd != NULL) LocalFree(sd);
  CoTaskMemFree(base);
  return rc;
}
