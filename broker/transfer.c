#include "transfer.h"

#include <string.h>
#include <wchar.h>
#include <winternl.h>

#include "fault.h"
#include "registry.h"

/* Object types a child may receive. "File" covers disk files, pipes,
 * consoles and devices alike, and comes first: push mode allows only it (see
 * sb__transfer_push). */
static const wchar_t *const sb__allowed_types[] = {
    L"File", L"Event", L"Semaphore", L"Mutant", L"Section",
};

int sb__transfer_check_type(HANDLE local, bool file_only) {
  /* PUBLIC_OBJECT_TYPE_INFORMATION is followed by the name's characters. */
  union {
    PUBLIC_OBJECT_TYPE_INFORMATION info;
    unsigned char bytes[512];
  } buf;
  ULONG len = 0;
  NTSTATUS st = NtQueryObject(local, ObjectTypeInformation, &buf, sizeof buf, &len);
  size_t chars;

  if (!NT_SUCCESS(st)) return SB_E_HANDLE_NOT_FOUND;
  chars = buf.info.TypeName.Length / sizeof(wchar_t);
  for (size_t i = 0; i < (file_only ? 1 : sizeof sb__allowed_types / sizeof sb__allowed_types[0]);
       i++) {
    if (wcslen(sb__allowed_types[i]) == chars &&
        wmemcmp(sb__allowed_types[i], buf.info.TypeName.Buffer, chars) == 0)
      return 0;
  }
  return SB_E_HANDLE_TYPE_NOT_ALLOWED;
}

/* Closes a handle that lives in another process. Wine rejects the
 * documented DuplicateHandle(src, h, NULL, NULL, 0, FALSE, CLOSE_SOURCE)
 * form, so the handle is moved into the broker and the copy closed, which
 * works on Windows too. */
static bool close_remote(HANDLE process, HANDLE h) {
  HANDLE copy = NULL;
  if (sb__fault_fires(SB__FAULT_CLOSE_IN_HELPER)) return false;
  if (!DuplicateHandle(process, h, GetCurrentProcess(), &copy, 0, FALSE,
                       DUPLICATE_CLOSE_SOURCE | DUPLICATE_SAME_ACCESS))
    return false;
  CloseHandle(copy);
  return true;
}

int sb__transfer_close_in_helper(HANDLE helper, sb__moved *moved) {
  int rc = 0;
  for (size_t i = 0; i < moved->n; i++) {
    if (!close_remote(helper, moved->in_helper[i])) rc = SB_E_INTERNAL;
    moved->in_helper[i] = NULL;
  }
  moved->n = 0;
  return rc;
}

/* Moves a handle of the broker's table into the helper as inheritable and
 * closes the broker's copy in the same call. */
static int move_to_helper(HANDLE local, HANDLE helper, HANDLE *out) {
  if (sb__fault_fires(SB__FAULT_MOVE_TO_HELPER)) {
    CloseHandle(local); /* as DUPLICATE_CLOSE_SOURCE would have */
    return SB_E_INTERNAL;
  }
  if (!DuplicateHandle(GetCurrentProcess(), local, helper, out, 0, TRUE,
                       DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE)) {
    /* DUPLICATE_CLOSE_SOURCE closes the source even when the duplicate
     * fails, except when the source process handle itself is bad; ours is
     * the current process, so the local copy is gone either way. */
    return SB_E_INTERNAL;
  }
  return 0;
}

/* Moves local (a handle of the broker's table, closed by the move whatever
 * happens) into the helper as the next moved handle. */
static int move_next(HANDLE local, HANDLE helper, bool types, sb__moved *moved) {
  int rc;
  moved->file_type[moved->n] = types ? GetFileType(local) : FILE_TYPE_UNKNOWN;
  rc = move_to_helper(local, helper, &moved->in_helper[moved->n]);
  if (rc == 0) moved->n++;
  return rc;
}

/* Whether the request gives any handle a CRT fd (see sb__moved). */
static bool uses_fds(const sb_spawn_params *p) {
  for (size_t i = 0; i < p->nhandles; i++)
    if (p->handles[i].fd >= 0) return true;
  return false;
}

int sb__transfer_pull(HANDLE client, HANDLE helper, const sb_spawn_params *p,
                      sb__moved *moved, size_t *bad) {
  bool types = uses_fds(p);
  int rc = 0;
  moved->n = 0;
  for (size_t i = 0; i < p->nhandles; i++) {
    HANDLE local = NULL;
    *bad = i;
    if (sb__fault_fires(SB__FAULT_DUP_FROM_CLIENT) ||
        !DuplicateHandle(client, (HANDLE)(intptr_t)p->handles[i].value, GetCurrentProcess(),
                         &local, 0, FALSE, DUPLICATE_SAME_ACCESS)) {
      rc = SB_E_HANDLE_NOT_FOUND;
      goto fail;
    }
    /* The copy is the broker's for a moment: a push request of another
     * connection must not be able to name it meanwhile. */
    sb__registry_own(local);
    rc = sb__transfer_check_type(local, false);
    if (rc != 0) {
      CloseHandle(local);
      sb__registry_disown(local);
      goto fail;
    }
    rc = move_next(local, helper, types, moved);
    /* Moved or not, DUPLICATE_CLOSE_SOURCE closed the broker's copy. */
    sb__registry_disown(local);
    if (rc != 0) goto fail;
  }
  return 0;
fail:
  sb__transfer_close_in_helper(helper, moved);
  return rc;
}

static HANDLE pushed(const sb_spawn_params *p, size_t i) {
  return (HANDLE)(intptr_t)p->handles[i].value;
}

int sb__transfer_push_claim(const sb_spawn_params *p, sb__push_claim *claim, size_t *bad) {
  int first = 0;
  for (size_t i = 0; i < p->nhandles; i++) {
    int rc = sb__registry_claim(pushed(p, i));
    claim->held[i] = rc == 0;
    if (rc != 0 && first == 0) {
      first = rc;
      *bad = i;
    }
  }
  return first;
}

int sb__transfer_push(HANDLE helper, const sb_spawn_params *p, sb__push_claim *claim,
                      sb__moved *moved, size_t *bad) {
  bool types = uses_fds(p);
  int rc = 0;

  moved->n = 0;
  /* Every value is checked before any is moved, so a request that names
   * something that may not travel moves nothing. Only files and pipes in
   * push mode: the broker's own table holds synchronisation objects nobody
   * registered (libuv's thread pool semaphore, for one), and a value naming
   * one must never be moved out. */
  for (size_t i = 0; i < p->nhandles; i++) {
    *bad = i;
    rc = sb__transfer_check_type(pushed(p, i), true);
    if (rc != 0) return rc;
  }
  for (size_t i = 0; i < p->nhandles; i++) {
    HANDLE local = pushed(p, i);
    *bad = i;
    rc = move_next(local, helper, types, moved);
    /* Moved or not, DUPLICATE_CLOSE_SOURCE closed the broker's copy. */
    claim->held[i] = false;
    sb__registry_unclaim(local);
    if (rc != 0) goto fail;
  }
  return 0;
fail:
  sb__transfer_close_in_helper(helper, moved);
  return rc;
}

void sb__transfer_push_release(const sb_spawn_params *p, sb__push_claim *claim) {
  for (size_t i = 0; i < p->nhandles; i++) {
    HANDLE local = pushed(p, i);
    if (!claim->held[i]) continue;
    if (sb__transfer_check_type(local, true) == 0) CloseHandle(local);
    claim->held[i] = false;
    sb__registry_unclaim(local);
  }
}

void sb__transfer_push_discard(const sb_spawn_params *p) {
  sb__push_claim claim;
  size_t bad = 0;
  (void)sb__transfer_push_claim(p, &claim, &bad);
  sb__transfer_push_release(p, &claim);
}
