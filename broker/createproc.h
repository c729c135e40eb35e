/*
 * The one CreateProcess call of the broker, for helpers and children alike:
 * CreateProcessW, or CreateProcessAsUserW with a client's token.
 */
#ifndef SB_BROKER_CREATEPROC_H
#define SB_BROKER_CREATEPROC_H

#include <windows.h>

/*
 * Creates a process (token NULL: as the broker). A first attempt that fails
 * with ERROR_INTERNAL_ERROR is tried once more with the same arguments:
 * under Wine that error means the new process died in its start-up before
 * it reached the wineserver (docs/wine.md: about one start in 8,000 without
 * wine64-preloader), and such an attempt leaves nothing behind (no handle is
 * returned, nothing is added to the parent, the job no longer counts it).
 * On Windows creation is one system call and the error does not arise that
 * way; a retry is harmless there. Returns like CreateProcessW, with the
 * last error of the last attempt.
 */
BOOL sb__create_process(HANDLE token, const wchar_t *app, wchar_t *cmdline, BOOL inherit,
                        DWORD flags, void *env, const wchar_t *cwd, STARTUPINFOW *si,
                        PROCESS_INFORMATION *pi);

#endif
