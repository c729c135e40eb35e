#include "request_limits.h"

#include <stdio.h>

int sb__request_limits_check(const sb_spawn_params *p, const sb__settings *s, char *detail,
                             size_t cap) {
  if (p->nhandles > s->max_handles) {
    snprintf(detail, cap, "limits.handles_per_request: %zu handles, at most %u", p->nhandles,
             (unsigned)s->max_handles);
    return SB_E_TOO_MANY_HANDLES;
  }
  return 0;
}
