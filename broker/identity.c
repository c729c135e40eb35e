#include "identity.h"

#include <sddl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fault.h"
#include "sb_errors.h"

/* mingw-w64 knows TokenIsAppContainer (29) only in newer headers. */
#define SB__TOKEN_IS_APP_CONTAINER ((TOKEN_INFORMATION_CLASS)29)

static int deny(char *detail, size_t cap, const char *fmt, ...) {
  va_list ap;
  if (cap > 0) {
    va_start(ap, fmt);
    vsnprintf(detail, cap, fmt, ap);
    va_end(ap);
  }
  return SB_E_ACCESS_DENIED;
}

/* The user SID of a token, as text. */
static int token_user_sid(HANDLE token, char *out, size_t cap) {
  union {
    TOKEN_USER user;
    unsigned char bytes[SECURITY_MAX_SID_SIZE + sizeof(TOKEN_USER)];
  } info;
  DWORD len = 0;
  char *sid = NULL;
  if (!GetTokenInformation(token, TokenUser, &info, sizeof info, &len) ||
      !ConvertSidToStringSidA(info.user.User.Sid, &sid))
    return SB_E_ACCESS_DENIED;
  snprintf(out, cap, "%s", sid);
  LocalFree(sid);
  return 0;
}

const char *sb__identity_self_sid(void) {
  /* Written once, by the loop thread, before any worker reads it. */
  static char sid[SB__SID_TEXT_BYTES];
  if (sid[0] == '\0') {
    HANDLE token = NULL;
    if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
      if (token_user_sid(token, sid, sizeof sid) != 0) sid[0] = '\0';
      CloseHandle(token);
    }
  }
  return sid;
}

static DWORD token_integrity(HANDLE token) {
  union {
    TOKEN_MANDATORY_LABEL label;
    unsigned char bytes[SECURITY_MAX_SID_SIZE + sizeof(TOKEN_MANDATORY_LABEL)];
  } info;
  DWORD len = 0;
  PUCHAR count;
  if (!GetTokenInformation(token, TokenIntegrityLevel, &info, sizeof info, &len)) return 0;
  count = GetSidSubAuthorityCount(info.label.Label.Sid);
  if (count == NULL || *count == 0) return 0;
  return *GetSidSubAuthority(info.label.Label.Sid, (DWORD)(*count - 1));
}

/* Fills everything but `primary` from a token; an impersonation token's
 * level is checked first. */
static int read_token(HANDLE token, bool impersonation, sb__identity *id, char *detail,
                      size_t cap) {
  SECURITY_IMPERSONATION_LEVEL level = SecurityAnonymous;
  TOKEN_STATISTICS stats;
  DWORD len = 0, app = 0;

  if (!impersonation) {
    level = SecurityImpersonation;
  } else if (!GetTokenInformation(token, TokenImpersonationLevel, &level, sizeof level, &len))
    return deny(detail, cap, "the client's impersonation level cannot be read (error %lu)",
                GetLastError());
  /* An identification token names the client but cannot act as it, and an
   * anonymous one does not even name it: neither can own a child. The
   * client chose it (SECURITY_SQOS_PRESENT); it must allow impersonation. */
  if (level < SecurityImpersonation)
    return deny(detail, cap,
                "the client allows only %s-level impersonation; spawning for it needs "
                "SecurityImpersonation",
                level == SecurityAnonymous ? "anonymous" : "identification");
  if (token_user_sid(token, id->user_sid, sizeof id->user_sid) != 0)
    return deny(detail, cap, "the client's user cannot be read");
  if (!GetTokenInformation(token, TokenStatistics, &stats, sizeof stats, &len))
    return deny(detail, cap, "the client's logon session cannot be read");
  id->logon = stats.AuthenticationId;
  if (!GetTokenInformation(token, TokenSessionId, &id->session, sizeof id->session, &len))
    return deny(detail, cap, "the client's Windows session cannot be read");
  id->integrity = token_integrity(token);
  /* Before Windows 8 the class does not exist: no AppContainers there. */
  if (GetTokenInformation(token, SB__TOKEN_IS_APP_CONTAINER, &app, sizeof app, &len))
    id->app_container = app != 0;
  id->same_user = strcmp(id->user_sid, sb__identity_self_sid()) == 0;
  snprintf(id->key, sizeof id->key, "%s/%08lx%08lx/%lu/%lx/%d", id->user_sid,
           (unsigned long)id->logon.HighPart, (unsigned long)id->logon.LowPart,
           (unsigned long)id->session, (unsigned long)id->integrity, id->app_container);
  return 0;
}

static bool filetime_before(const FILETIME *a, const FILETIME *b) {
  ULARGE_INTEGER x, y;
  x.LowPart = a->dwLowDateTime;
  x.HighPart = a->dwHighDateTime;
  y.LowPart = b->dwLowDateTime;
  y.HighPart = b->dwHighDateTime;
  return x.QuadPart <= y.QuadPart;
}

int sb__identity_check_process(const sb__identity *id, HANDLE pipe, HANDLE process, DWORD pid,
                               const FILETIME *connected_at, char *detail, size_t cap) {
  FILETIME created, ended, kernel, user;
  HANDLE token = NULL;
  char sid[SB__SID_TEXT_BYTES];
  DWORD session = 0, len = 0;
  ULONG again = 0;
  int rc;

  /* A process made after the connection cannot be the one that made it:
   * the pid was reused between connect and open. */
  if (!GetProcessTimes(process, &created, &ended, &kernel, &user))
    return deny(detail, cap, "the client process's start time cannot be read");
  if (connected_at != NULL && !filetime_before(&created, connected_at))
    return deny(detail, cap, "process %lu started after the connection was made (pid reused)",
                (unsigned long)pid);
  /* The handle now pins the pid; if the pipe still reports it, this is the
   * process at the other end. */
  if (!GetNamedPipeClientProcessId(pipe, &again) || again != pid)
    return deny(detail, cap, "the pipe's client process changed while it was opened");
  if (!OpenProcessToken(process, TOKEN_QUERY, &token))
    return deny(detail, cap, "the client process's token cannot be read (error %lu)",
                GetLastError());
  rc = token_user_sid(token, sid, sizeof sid);
  if (rc == 0 && !GetTokenInformation(token, TokenSessionId, &session, sizeof session, &len))
    rc = SB_E_ACCESS_DENIED;
  CloseHandle(token);
  if (rc != 0) return deny(detail, cap, "the client process's token cannot be read");
  /* The pipe's client may hand its pipe handle to another process; the
   * handles then come from the process that connected, which must be the
   * same user in the same session as the token that speaks. */
  if (strcmp(sid, id->user_sid) != 0 || session != id->session)
    return deny(detail, cap,
                "process %lu runs as %s in session %lu, but the pipe's client is %s in "
                "session %lu",
                (unsigned long)pid, sid, (unsigned long)session, id->user_sid,
                (unsigned long)id->session);
  return 0;
}

int sb__identity_from_pipe(HANDLE pipe, bool want_primary, DWORD open_pid,
                           const FILETIME *connected_at, sb__identity *out, HANDLE *process,
                           char *detail, size_t cap) {
  HANDLE token = NULL;
  int rc = 0;

  memset(out, 0, sizeof *out);
  if (process != NULL) *process = NULL;
  /* Impersonates the security context of the last message read, which is
   * why the broker calls this only after a frame arrived. A failure leaves
   * the thread as the broker itself: never carry on as if it worked. */
  if (!ImpersonateNamedPipeClient(pipe))
    return deny(detail, cap, "the client cannot be impersonated (error %lu)", GetLastError());
  /* OpenAsSelf = TRUE: the thread token is opened with the broker's own
   * rights, which a client token restricted against the broker cannot
   * block. */
  if (!OpenThreadToken(GetCurrentThread(), TOKEN_QUERY | TOKEN_DUPLICATE, TRUE, &token)) {
    rc = deny(detail, cap, "the client's token cannot be opened (error %lu)", GetLastError());
    goto revert;
  }
  rc = read_token(token, true, out, detail, cap);
  if (rc != 0) goto revert;
  /* Children and helpers run with this token: the explicit token of
   * CreateProcessAsUserW replaces the one PARENT_PROCESS would give them
   * (SECURITY-NOTES §3). */
  if (want_primary &&
      !DuplicateTokenEx(token, TOKEN_ASSIGN_PRIMARY | TOKEN_DUPLICATE | TOKEN_QUERY |
                                   TOKEN_ADJUST_DEFAULT | TOKEN_ADJUST_SESSIONID,
                        NULL, SecurityImpersonation, TokenPrimary, &out->primary)) {
    out->primary = NULL;
    rc = deny(detail, cap, "the client's token cannot be made a primary token (error %lu)",
              GetLastError());
    goto revert;
  }
  /* While impersonating, so the kernel checks the client's own right to
   * duplicate its handles, not the broker's (which as LocalSystem could
   * open almost anything). Refused is not an error: the caller decides. */
  if (open_pid != 0 && process != NULL && !sb__fault_fires(SB__FAULT_OPEN_CLIENT))
    *process = OpenProcess(PROCESS_DUP_HANDLE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
                           open_pid);

revert:
  /* Every path reverts; a thread left impersonating would run the loop as
   * the client. RevertToSelf fails only if the thread token cannot be
   * removed, and then nothing it does next can be trusted. */
  if (!RevertToSelf()) {
    rc = deny(detail, cap, "the broker could not stop impersonating (error %lu)",
              GetLastError());
  }
  if (token != NULL) CloseHandle(token);
  if (rc == 0 && process != NULL && *process != NULL) {
    rc = sb__identity_check_process(out, pipe, *process, open_pid, connected_at, detail, cap);
    if (rc != 0) {
      CloseHandle(*process);
      *process = NULL;
    }
  }
  if (rc != 0) sb__identity_free(out);
  return rc;
}

int sb__identity_from_token(HANDLE token, sb__identity *out, char *detail, size_t cap) {
  memset(out, 0, sizeof *out);
  return read_token(token, true, out, detail, cap);
}

int sb__identity_of_self(sb__identity *out) {
  HANDLE token = NULL;
  char detail[128];
  int rc;
  memset(out, 0, sizeof *out);
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return SB_E_ACCESS_DENIED;
  rc = read_token(token, false, out, detail, sizeof detail);
  CloseHandle(token);
  return rc;
}

void sb__identity_free(sb__identity *id) {
  if (id->primary != NULL) CloseHandle(id->primary);
  id->primary = NULL;
}
