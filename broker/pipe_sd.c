#include "pipe_sd.h"

#include <sddl.h>
#include <stdio.h>

#include "log.h"
#include "pipe_sddl.h"
#include "sb_errors.h"

/* The broker's own user as text, and whether its token holds NETWORK. */
static int self_identity(char *sid_out, size_t cap, BOOL *network) {
  HANDLE token = NULL;
  union {
    TOKEN_USER user;
    unsigned char bytes[256];
  } info;
  unsigned char net_sid[SECURITY_MAX_SID_SIZE];
  DWORD len = sizeof net_sid;
  char *text = NULL;
  int rc = SB_E_INTERNAL;

  *network = FALSE;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return rc;
  if (!GetTokenInformation(token, TokenUser, &info, sizeof info, &len) ||
      !ConvertSidToStringSidA(info.user.User.Sid, &text))
    goto done;
  if ((size_t)snprintf(sid_out, cap, "%s", text) >= cap) goto done;
  len = sizeof net_sid;
  /* CheckTokenMembership wants an impersonation token; NULL makes it use
   * one made from this thread's (the process's) token. */
  if (!CreateWellKnownSid(WinNetworkSid, NULL, net_sid, &len) ||
      !CheckTokenMembership(NULL, net_sid, network))
    goto done;
  rc = 0;
done:
  if (text != NULL) LocalFree(text);
  CloseHandle(token);
  return rc;
}

int sb__pipe_sd_create(sb__clients clients, PSECURITY_DESCRIPTOR *sd, char *sddl, size_t cap) {
  char self[192];
  BOOL network = FALSE;
  int rc;

  *sd = NULL;
  rc = self_identity(self, sizeof self, &network);
  if (rc != 0) {
    sb__log(SB_LOG_ERROR, "cannot read the broker's own user (Windows error %lu)",
            GetLastError());
    return rc;
  }
  if (network)
    /* A broker started from a network logon (ssh, for instance) holds
     * NETWORK itself: a NETWORK deny entry would refuse it the replacement
     * instances of its own pipe, and its same-logon clients too. Remote
     * clients are still refused by PIPE_REJECT_REMOTE_CLIENTS. */
    sb__log(SB_LOG_WARN, "the broker runs from a network logon: its pipe does not deny "
                         "NETWORK (remote clients are still refused)");
  rc = sb__pipe_sddl(clients, self, !network, sddl, cap);
  if (rc != 0) {
    sb__log(SB_LOG_ERROR, "cannot describe the pipe's access list for user %s", self);
    return rc;
  }
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, sd, NULL)) {
    sb__log(SB_LOG_ERROR, "cannot build the pipe's security descriptor %s (Windows error %lu)",
            sddl, GetLastError());
    *sd = NULL;
    return SB_E_INTERNAL;
  }
  return 0;
}
