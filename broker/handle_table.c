#include "handle_table.h"

#include <stdlib.h>

#include "sb_errors.h"

#define SB__SYSTEM_EXTENDED_HANDLE_INFORMATION 64
#define SB__STATUS_INFO_LENGTH_MISMATCH ((LONG)0xC0000004L)
#define SB__STATUS_BUFFER_TOO_SMALL ((LONG)0xC0000023L)

/* The layout NtQuerySystemInformation fills in for class 64; the SDK
 * headers do not declare it. */
typedef struct sb__sys_handle_entry {
  PVOID object;
  ULONG_PTR pid;
  ULONG_PTR value;
  ULONG access;
  USHORT creator_back_trace_index;
  USHORT type_index;
  ULONG attributes;
  ULONG reserved;
} sb__sys_handle_entry;

typedef struct sb__sys_handle_info {
  ULONG_PTR count;
  ULONG_PTR reserved;
  sb__sys_handle_entry handles[1];
} sb__sys_handle_info;

typedef LONG(NTAPI *sb__query_fn)(ULONG, PVOID, ULONG, PULONG);

int sb__handle_table_of(DWORD pid, sb__handle_entry **out, size_t *n) {
  sb__query_fn query =
      (sb__query_fn)(void (*)(void))GetProcAddress(GetModuleHandleW(L"ntdll.dll"),
                                                  "NtQuerySystemInformation");
  sb__sys_handle_info *info = NULL;
  sb__handle_entry *list = NULL;
  ULONG size = 1 << 16;
  size_t k = 0;
  LONG st;
  int rc = SB_E_INTERNAL;

  *out = NULL;
  *n = 0;
  if (query == NULL) return SB_E_INTERNAL;
  /* The table of the whole system changes between calls, so grow and retry
   * until one call fits, with a bound in case something keeps growing. */
  for (int attempt = 0; attempt < 12; attempt++) {
    ULONG need = 0;
    free(info);
    info = malloc(size);
    if (info == NULL) return SB_E_NOMEM;
    st = query(SB__SYSTEM_EXTENDED_HANDLE_INFORMATION, info, size, &need);
    if (st >= 0) break;
    if (st != SB__STATUS_INFO_LENGTH_MISMATCH && st != SB__STATUS_BUFFER_TOO_SMALL) goto done;
    size = need > size ? need + (1 << 14) : size * 2;
  }
  if (st < 0) goto done;
  list = calloc(info->count ? info->count : 1, sizeof *list);
  if (list == NULL) {
    rc = SB_E_NOMEM;
    goto done;
  }
  for (ULONG_PTR i = 0; i < info->count; i++) {
    const sb__sys_handle_entry *e = &info->handles[i];
    if (e->pid != pid) continue;
    list[k].value = e->value;
    list[k].access = e->access;
    list[k].attributes = e->attributes;
    list[k].type_index = e->type_index;
    list[k].object = (uint64_t)(uintptr_t)e->object;
    k++;
  }
  *out = list;
  *n = k;
  list = NULL;
  rc = 0;
done:
  free(list);
  free(info);
  return rc;
}
