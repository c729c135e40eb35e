#include "sb_handles.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "sb_errors.h"

/*
 * The native API is not declared consistently across SDKs (mingw-w64's
 * winternl.h, the Windows SDK and the DDK disagree on several of these
 * structures), so this file declares the few pieces it needs itself, with
 * the layout both Windows and Wine use on 64-bit and 32-bit targets.
 */
typedef LONG sbt_ntstatus;

#define SBT_STATUS_SUCCESS ((sbt_ntstatus)0x00000000L)
#define SBT_STATUS_INFO_LENGTH_MISMATCH ((sbt_ntstatus)0xC0000004L)
#define SBT_STATUS_BUFFER_TOO_SMALL ((sbt_ntstatus)0xC0000023L)
#define SBT_STATUS_BUFFER_OVERFLOW ((sbt_ntstatus)0x80000005L)
#define SBT_STATUS_NOT_SAME_OBJECT ((sbt_ntstatus)0xC00001ACL)

#define SBT_SYSTEM_EXTENDED_HANDLE_INFORMATION 64
#define SBT_OBJECT_TYPE_INFORMATION 2
#define SBT_OBJECT_TYPES_INFORMATION 3

typedef struct sbt_unicode_string {
  USHORT length;     /* bytes, without a terminating NUL */
  USHORT max_length; /* bytes */
  PWSTR buffer;
} sbt_unicode_string;

typedef struct sbt_handle_entry_ex {
  PVOID object;
  ULONG_PTR pid;
  ULONG_PTR value;
  ULONG access;
  USHORT creator_back_trace_index;
  USHORT type_index;
  ULONG attributes;
  ULONG reserved;
} sbt_handle_entry_ex;

typedef struct sbt_handle_info_ex {
  ULONG_PTR count;
  ULONG_PTR reserved;
  sbt_handle_entry_ex handles[1];
} sbt_handle_info_ex;

/* OBJECT_TYPE_INFORMATION as the kernel fills it in; only the name and the
 * index are used, the rest is spelled out to get the size and offsets. */
typedef struct sbt_object_type_info {
  sbt_unicode_string name;
  ULONG counts[12];
  ULONG invalid_attributes;
  GENERIC_MAPPING generic_mapping;
  ULONG valid_access_mask;
  BOOLEAN security_required;
  BOOLEAN maintain_handle_count;
  UCHAR type_index;
  CHAR reserved_byte;
  ULONG pool_type;
  ULONG default_paged_pool_charge;
  ULONG default_non_paged_pool_charge;
} sbt_object_type_info;

typedef sbt_ntstatus(NTAPI *sbt_query_system_fn)(ULONG cls, PVOID info, ULONG len,
                                                 PULONG ret_len);
typedef sbt_ntstatus(NTAPI *sbt_query_object_fn)(HANDLE h, ULONG cls, PVOID info,
                                                 ULONG len, PULONG ret_len);
typedef sbt_ntstatus(NTAPI *sbt_compare_objects_fn)(HANDLE a, HANDLE b);

/* Casting through void (*)(void) tells the compiler the conversion from
 * FARPROC is deliberate (-Wcast-function-type accepts that one type). */
static void (*ntdll_proc(const char *name))(void) {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  if (ntdll == NULL) return NULL;
  return (void (*)(void))GetProcAddress(ntdll, name);
}

/* The snapshot of every handle of every process. The size of the table can
 * change between the call that reports the needed length and the next one
 * (other processes open handles all the time), so the buffer grows with
 * slack and the call is retried a bounded number of times. */
static int system_handles(sbt_handle_info_ex **out) {
  sbt_query_system_fn query = (sbt_query_system_fn)ntdll_proc("NtQuerySystemInformation");
  ULONG size = 64 * 1024;
  sbt_handle_info_ex *info = NULL;
  int rc = SB_E_INTERNAL;

  *out = NULL;
  if (query == NULL) return SB_E_INTERNAL;
  for (int attempt = 0; attempt < 16; attempt++) {
    ULONG needed = 0;
    sbt_ntstatus st;
    free(info);
    info = malloc(size);
    if (info == NULL) {
      rc = SB_E_NOMEM;
      goto fail;
    }
    st = query(SBT_SYSTEM_EXTENDED_HANDLE_INFORMATION, info, size, &needed);
    if (st == SBT_STATUS_SUCCESS) {
      /* Trust the count only as far as the buffer goes. */
      size_t fit = (size - offsetof(sbt_handle_info_ex, handles)) / sizeof(sbt_handle_entry_ex);
      if (info->count > fit) goto fail;
      *out = info;
      return 0;
    }
    if (st != SBT_STATUS_INFO_LENGTH_MISMATCH && st != SBT_STATUS_BUFFER_TOO_SMALL) goto fail;
    if (size > 256u * 1024 * 1024) goto fail;
    /* Use the reported size plus room for growth, or double when the call
     * did not say how much it needs. */
    size = needed > size ? needed + needed / 4 + 4096 : size * 2;
  }
fail:
  free(info);
  return rc;
}

int sbt_handles_of(DWORD pid, sbt_handle **out, size_t *n) {
  sbt_handle_info_ex *info = NULL;
  sbt_handle *list = NULL;
  size_t count = 0, k = 0;
  int rc;

  if (out == NULL || n == NULL) return SB_E_INVALID_ARGUMENT;
  *out = NULL;
  *n = 0;
  rc = system_handles(&info);
  if (rc != 0) return rc;
  for (ULONG_PTR i = 0; i < info->count; i++)
    if (info->handles[i].pid == pid) count++;
  if (count > 0) {
    list = calloc(count, sizeof *list);
    if (list == NULL) {
      rc = SB_E_NOMEM;
      goto done;
    }
    for (ULONG_PTR i = 0; i < info->count; i++) {
      const sbt_handle_entry_ex *e = &info->handles[i];
      if (e->pid != pid) continue;
      list[k].value = (uint64_t)e->value;
      list[k].access = (uint32_t)e->access;
      list[k].attributes = (uint32_t)e->attributes;
      list[k].type_index = (uint16_t)e->type_index;
      list[k].object = (uint64_t)(uintptr_t)e->object;
      k++;
    }
  }
  *out = list;
  *n = count;
  rc = 0;
done:
  free(info);
  return rc;
}

int sbt_handle_count(DWORD pid, size_t *n) {
  sbt_handle *list = NULL;
  int rc = sbt_handles_of(pid, &list, n);
  free(list);
  return rc;
}

bool sbt_handle_inheritable(const sbt_handle *h) {
  return h != NULL && (h->attributes & SBT_OBJ_INHERIT) != 0;
}

const sbt_handle *sbt_handle_find(const sbt_handle *list, size_t n, uint64_t value) {
  for (size_t i = 0; i < n; i++)
    if (list[i].value == value) return &list[i];
  return NULL;
}

int sbt_handle_self(HANDLE h, sbt_handle *out) {
  sbt_handle *list = NULL;
  size_t n = 0;
  const sbt_handle *found;
  int rc = sbt_handles_of(GetCurrentProcessId(), &list, &n);
  if (rc != 0) return rc;
  found = sbt_handle_find(list, n, (uint64_t)(uintptr_t)h);
  if (found == NULL) {
    rc = SB_E_HANDLE_NOT_FOUND;
    goto done;
  }
  *out = *found;
done:
  free(list);
  return rc;
}

/* Copies a counted UTF-16 string into buf, NUL-terminated. */
static int copy_name(const sbt_unicode_string *s, wchar_t *buf, size_t cap) {
  size_t chars = s->length / sizeof(wchar_t);
  if (buf == NULL || cap == 0) return SB_E_INVALID_ARGUMENT;
  if (chars + 1 > cap) return SB_E_STRING_TOO_LONG;
  if (chars > 0) memcpy(buf, s->buffer, chars * sizeof(wchar_t));
  buf[chars] = L'\0';
  return 0;
}

int sbt_type_name(HANDLE h, wchar_t *buf, size_t cap) {
  sbt_query_object_fn query = (sbt_query_object_fn)ntdll_proc("NtQueryObject");
  /* A type name is short; 1 KiB after the fixed part is plenty. The union
   * gives the buffer the alignment of the structure it receives. */
  union {
    sbt_object_type_info info;
    unsigned char bytes[sizeof(sbt_object_type_info) + 1024];
  } u;
  ULONG got = 0;
  if (query == NULL) return SB_E_INTERNAL;
  if (query(h, SBT_OBJECT_TYPE_INFORMATION, &u, sizeof u, &got) != SBT_STATUS_SUCCESS)
    return SB_E_HANDLE_NOT_FOUND;
  return copy_name(&u.info.name, buf, cap);
}

/* The TypeIndex that NtQueryObject(ObjectTypeInformation) reports for `h`,
 * a handle of the calling process. */
static int query_type_index(HANDLE h, unsigned *index) {
  sbt_query_object_fn query = (sbt_query_object_fn)ntdll_proc("NtQueryObject");
  union {
    sbt_object_type_info info;
    unsigned char bytes[sizeof(sbt_object_type_info) + 1024];
  } u;
  ULONG got = 0;
  if (query == NULL) return SB_E_INTERNAL;
  if (query(h, SBT_OBJECT_TYPE_INFORMATION, &u, sizeof u, &got) != SBT_STATUS_SUCCESS)
    return SB_E_HANDLE_NOT_FOUND;
  *index = u.info.type_index;
  return 0;
}

/*
 * The difference between the type index NtQueryObject reports and the one in
 * the handle list. Windows uses one numbering for both (0). Wine 8.0 reports
 * the wineserver's own 0-based index in the handle list but that index + 2 in
 * NtQueryObject and ObjectTypesInformation (2). It is measured on one handle
 * of the calling process rather than assumed, so the code is right wherever
 * it runs; every process holds handles (Wine: std handles, registry keys,
 * the current directory), and a temporary one covers the odd case that it
 * has none.
 */
static int type_index_offset(int *offset) {
  static volatile LONG cached = -1000;
  sbt_handle *list = NULL;
  size_t n = 0;
  HANDLE temp = NULL;
  unsigned obj_index = 0;
  int rc;

  if (cached != -1000) {
    *offset = (int)cached;
    return 0;
  }
  /* Prefer a handle the process already holds, so that a test counting its
   * own handles on another thread never sees a stray one. */
  rc = sbt_handles_of(GetCurrentProcessId(), &list, &n);
  if (rc != 0) return rc;
  for (size_t i = 0; i < n; i++) {
    if (query_type_index((HANDLE)(uintptr_t)list[i].value, &obj_index) != 0) continue;
    *offset = (int)obj_index - (int)list[i].type_index;
    InterlockedExchange(&cached, *offset);
    goto done;
  }
  free(list);
  list = NULL;
  rc = SB_E_INTERNAL;
  if (!DuplicateHandle(GetCurrentProcess(), GetCurrentProcess(), GetCurrentProcess(), &temp, 0,
                       FALSE, DUPLICATE_SAME_ACCESS))
    goto done;
  rc = sbt_handles_of(GetCurrentProcessId(), &list, &n);
  if (rc != 0) goto done;
  rc = SB_E_INTERNAL;
  for (size_t i = 0; i < n; i++) {
    if (list[i].value != (uint64_t)(uintptr_t)temp) continue;
    rc = query_type_index(temp, &obj_index);
    if (rc != 0) goto done;
    *offset = (int)obj_index - (int)list[i].type_index;
    InterlockedExchange(&cached, *offset);
    break;
  }
done:
  if (temp != NULL) CloseHandle(temp);
  free(list);
  return rc;
}

int sbt_type_name_of_index(uint16_t type_index, wchar_t *buf, size_t cap) {
  sbt_query_object_fn query = (sbt_query_object_fn)ntdll_proc("NtQueryObject");
  const size_t align = sizeof(void *);
  ULONG size = 16 * 1024;
  unsigned char *mem = NULL;
  int offset = 0;
  int rc;

  if (query == NULL) return SB_E_INTERNAL;
  rc = type_index_offset(&offset);
  if (rc != 0) return rc;
  rc = SB_E_INTERNAL;
  for (int attempt = 0;; attempt++) {
    ULONG needed = 0;
    sbt_ntstatus st;
    free(mem);
    mem = malloc(size);
    if (mem == NULL) {
      rc = SB_E_NOMEM;
      goto done;
    }
    st = query(NULL, SBT_OBJECT_TYPES_INFORMATION, mem, size, &needed);
    if (st == SBT_STATUS_SUCCESS) break;
    if (st != SBT_STATUS_INFO_LENGTH_MISMATCH || attempt == 8) goto done;
    size = needed > size ? needed + 1024 : size * 2;
  }
  {
    /* OBJECT_TYPES_INFORMATION: a ULONG count, then one OBJECT_TYPE_INFORMATION
     * per type, each followed by its name and aligned to a pointer. Windows
     * numbers the types from 2 in this order; the TypeIndex field says so
     * explicitly where it is filled in, so it wins when it is not 0. */
    ULONG types = *(const ULONG *)mem;
    size_t pos = (sizeof(ULONG) + align - 1) & ~(align - 1);
    int wanted = (int)type_index + offset;
    for (ULONG i = 0; i < types; i++) {
      const sbt_object_type_info *t;
      int index;
      if (pos + sizeof *t > size) goto done;
      t = (const sbt_object_type_info *)(mem + pos);
      index = t->type_index != 0 ? t->type_index : (int)i + 2;
      if (index == wanted) {
        rc = copy_name(&t->name, buf, cap);
        goto done;
      }
      pos += sizeof *t + t->name.max_length;
      pos = (pos + align - 1) & ~(align - 1);
    }
    rc = SB_E_HANDLE_NOT_FOUND;
  }
done:
  free(mem);
  return rc;
}

/* Duplicates `value` of `process` into the calling process. */
static int dup_in(HANDLE process, uint64_t value, HANDLE *out) {
  *out = NULL;
  if (!DuplicateHandle(process, (HANDLE)(uintptr_t)value, GetCurrentProcess(), out, 0, FALSE,
                       DUPLICATE_SAME_ACCESS)) {
    *out = NULL;
    return GetLastError() == ERROR_INVALID_HANDLE ? SB_E_HANDLE_NOT_FOUND : SB_E_IO;
  }
  return 0;
}

/* NtCompareObjects on two handles of the calling process. */
static int compare_local(HANDLE a, HANDLE b, bool *same) {
  sbt_compare_objects_fn cmp = (sbt_compare_objects_fn)ntdll_proc("NtCompareObjects");
  sbt_ntstatus st;
  if (cmp == NULL) return SB_E_INTERNAL;
  st = cmp(a, b);
  if (st == SBT_STATUS_SUCCESS) {
    *same = true;
    return 0;
  }
  if (st == SBT_STATUS_NOT_SAME_OBJECT) {
    *same = false;
    return 0;
  }
  return SB_E_IO;
}

int sbt_same_object(HANDLE proc_a, uint64_t value_a, HANDLE proc_b, uint64_t value_b,
                    bool *same) {
  HANDLE a = NULL, b = NULL;
  int rc;
  if (same == NULL) return SB_E_INVALID_ARGUMENT;
  *same = false;
  rc = dup_in(proc_a, value_a, &a);
  if (rc != 0) goto done;
  rc = dup_in(proc_b, value_b, &b);
  if (rc != 0) goto done;
  rc = compare_local(a, b, same);
done:
  if (a != NULL) CloseHandle(a);
  if (b != NULL) CloseHandle(b);
  return rc;
}

int sbt_find_object(DWORD pid, HANDLE mine, uint64_t *values, size_t cap, size_t *found) {
  sbt_handle *list = NULL;
  size_t n = 0, hits = 0;
  sbt_handle me;
  HANDLE process = NULL;
  int rc;

  if (found == NULL || (values == NULL && cap > 0)) return SB_E_INVALID_ARGUMENT;
  *found = 0;
  rc = sbt_handle_self(mine, &me);
  if (rc != 0) return rc;
  rc = sbt_handles_of(pid, &list, &n);
  if (rc != 0) return rc;
  if (n == 0) goto done;
  process = OpenProcess(PROCESS_DUP_HANDLE, FALSE, pid);
  if (process == NULL) {
    rc = SB_E_ACCESS_DENIED;
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    HANDLE copy = NULL;
    bool same = false;
    if (list[i].type_index != me.type_index) continue;
    if (list[i].object != 0 && me.object != 0) {
      /* Windows fills in the object address: no duplication needed. */
      same = list[i].object == me.object;
    } else {
      rc = dup_in(process, list[i].value, &copy);
      /* The owner may close a handle between the snapshot and now. */
      if (rc == SB_E_HANDLE_NOT_FOUND) continue;
      if (rc != 0) goto done;
      rc = compare_local(copy, mine, &same);
      CloseHandle(copy);
      if (rc != 0) goto done;
    }
    if (same) {
      if (hits < cap) values[hits] = list[i].value;
      hits++;
    }
  }
  rc = 0;
done:
  *found = hits;
  if (process != NULL) CloseHandle(process);
  free(list);
  return rc;
}
