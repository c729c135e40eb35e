/*
 * Who serves the pipe (SECURITY-NOTES T16, docs/security.md "Client
 * checks"). Anybody who can create a pipe of the broker's name before the
 * broker does (or while it is not running) receives what clients send, and
 * in push mode the handles they duplicate into "the broker". So before the
 * library pushes a handle, and before it sends anything at all when the
 * caller named the server's user (sb_client_options.server_sid), it checks
 * the user the pipe's server process runs as.
 */
#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <string.h>

#include "client_internal.h"

/* A SID copied into fixed storage. */
typedef struct sb__sid {
  unsigned char bytes[SECURITY_MAX_SID_SIZE];
} sb__sid;

static bool sid_copy(PSID from, sb__sid *to) {
  return IsValidSid(from) && CopySid(sizeof to->bytes, to->bytes, from);
}

static bool token_user(HANDLE process, sb__sid *out) {
  HANDLE token;
  union {
    TOKEN_USER user;
    unsigned char bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
  } info;
  DWORD len;
  bool ok;
  if (!OpenProcessToken(process, TOKEN_QUERY, &token)) return false;
  ok = GetTokenInformation(token, TokenUser, &info, sizeof info, &len) &&
       sid_copy(info.user.User.Sid, out);
  CloseHandle(token);
  return ok;
}

/* The pipe's owner. The broker makes its own user the owner of its pipe,
 * and a pipe's owner can be another user only when its creator holds
 * SeRestorePrivilege or is that user (or an administrator naming the
 * Administrators group): a squatter cannot pass its pipe off as SYSTEM's. */
static bool pipe_owner(HANDLE pipe, sb__sid *out) {
  PSECURITY_DESCRIPTOR sd = NULL;
  PSID owner = NULL;
  bool ok;
  if (GetSecurityInfo(pipe, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL,
                      NULL, &sd) != ERROR_SUCCESS)
    return false;
  ok = owner != NULL && sid_copy(owner, out);
  LocalFree(sd);
  return ok;
}

/* Whether the pipe is still connected to process `pid`: an open handle to
 * a process keeps its pid from being reused, so a server that is still the
 * same pid after the process was opened is the process that was opened. */
static bool still_served_by(HANDLE pipe, ULONG pid) {
  DWORD avail = 0;
  ULONG again = 0;
  return PeekNamedPipe(pipe, NULL, 0, NULL, &avail, NULL) &&
         GetNamedPipeServerProcessId(pipe, &again) && again == pid;
}

static void sid_text(sb__sid *sid, char *out, size_t cap) {
  char *s = NULL;
  if (ConvertSidToStringSidA((PSID)sid->bytes, &s)) {
    snprintf(out, cap, "%s", s);
    LocalFree(s);
  } else {
    snprintf(out, cap, "(unreadable)");
  }
}

int sb__server_sid_parse(const char *text, void *out, size_t cap) {
  PSID sid = NULL;
  int rc = SB_E_INVALID_ARGUMENT;
  if (text == NULL || !ConvertStringSidToSidA(text, &sid)) return rc;
  if (GetLengthSid(sid) <= cap && CopySid((DWORD)cap, out, sid)) rc = 0;
  LocalFree(sid);
  return rc;
}

int sb__server_check(sb_client *c, void *pinned) {
  sb__sid server, self;
  ULONG pid = 0;
  HANDLE process = NULL;
  bool known = false;
  const char *source = "its process token";
  char who[192];

  if (!GetNamedPipeServerProcessId(c->pipe, &pid)) {
    sb__last_error_local(c->serial, SB_E_IO,
                         "cannot ask the pipe for its server process (Windows error %lu)",
                         GetLastError());
    return SB_E_IO;
  }
  process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
  if (process != NULL) {
    known = token_user(process, &server) && still_served_by(c->pipe, pid);
    CloseHandle(process);
  }
  if (!known) {
    /* A user who is not an administrator may not open a LocalSystem
     * service's token, so the pipe's owner stands in for it. */
    source = "the pipe's owner";
    known = pipe_owner(c->pipe, &server);
  }
  if (!known) {
    sb__last_error_local(c->serial, SB_E_ACCESS_DENIED,
                         "cannot tell which user the pipe's server (process %lu) runs as "
                         "(Windows error %lu); nothing is sent to it",
                         (unsigned long)pid, GetLastError());
    return SB_E_ACCESS_DENIED;
  }
  if (pinned != NULL) {
    if (EqualSid((PSID)server.bytes, (PSID)pinned)) goto trusted;
  } else {
    HANDLE me = GetCurrentProcess();
    if (IsWellKnownSid((PSID)server.bytes, WinLocalSystemSid)) goto trusted;
    if (token_user(me, &self) && EqualSid((PSID)server.bytes, (PSID)self.bytes)) goto trusted;
  }
  sid_text(&server, who, sizeof who);
  sb__last_error_local(c->serial, SB_E_ACCESS_DENIED,
                       "the pipe is served by process %lu running as %s (by %s), which is %s; "
                       "nothing is sent to it",
                       (unsigned long)pid, who, source,
                       pinned != NULL ? "not the user sb_client_options.server_sid names"
                                      : "neither LocalSystem nor this process's user");
  return SB_E_ACCESS_DENIED;
trusted:
  c->server_pid = pid;
  return 0;
}
