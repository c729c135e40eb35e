#include "pipe_sddl.h"

#include <stdio.h>
#include <string.h>

#include "sb_errors.h"

#define SB__SID_SYSTEM "S-1-5-18"

/* A SID in text form holds nothing but these, so nothing from it can end
 * an SDDL field early. */
static bool plausible_sid(const char *sid) {
  if (strncmp(sid, "S-1-", 4) != 0 || strlen(sid) > 184) return false;
  for (const char *p = sid; *p; p++)
    if (!(*p == 'S' || *p == '-' || (*p >= '0' && *p <= '9'))) return false;
  return true;
}

int sb__pipe_sddl(sb__clients clients, const char *self_sid, bool deny_network, char *out,
                  size_t cap) {
  const char *self, *client_ace;
  bool self_is_system;
  int n;

  if (out == NULL || cap == 0 || self_sid == NULL || !plausible_sid(self_sid))
    return SB_E_INVALID_ARGUMENT;
  switch (clients) {
    case SB__CLIENTS_INTERACTIVE: client_ace = "(A;;" SB__PIPE_CLIENT_ACCESS ";;;IU)"; break;
    case SB__CLIENTS_AUTHENTICATED: client_ace = "(A;;" SB__PIPE_CLIENT_ACCESS ";;;AU)"; break;
    case SB__CLIENTS_OWNER: client_ace = ""; break;
    default: return SB_E_INVALID_ARGUMENT;
  }
  self_is_system = strcmp(self_sid, SB__SID_SYSTEM) == 0;
  self = self_is_system ? "SY" : self_sid;
  n = snprintf(out, cap, "O:%sG:%sD:P%s(D;;FA;;;AN)(A;;FA;;;SY)(A;;FA;;;BA)%s%s%s%s", self, self,
               deny_network ? "(D;;FA;;;NU)" : "", self_is_system ? "" : "(A;;FA;;;",
               self_is_system ? "" : self, self_is_system ? "" : ")", client_ace);
  if (n < 0 || (size_t)n >= cap) {
    out[0] = '\0';
    return SB_E_INVALID_ARGUMENT;
  }
  return 0;
}
