/*
 * Handle tables of any process, for tests that must prove who holds what.
 *
 * The enumeration uses NtQuerySystemInformation(SystemExtendedHandleInformation),
 * which lists every handle of every process on Windows and under Wine
 * (GetProcessHandleCount always reports 0 under Wine, so it cannot be used).
 * docs/wine.md ("Measured") records what Wine fills in; in short:
 * - the list covers every process of the prefix, with value, granted access,
 *   attributes (OBJ_INHERIT and OBJ_PROTECT_CLOSE are reported) and a type
 *   index;
 * - the Object pointer is always 0 under Wine, so "same kernel object" cannot
 *   be decided from the list alone: use sbt_same_object() or
 *   sbt_find_object(), which duplicate into the calling process and ask the
 *   kernel (wineserver) with NtCompareObjects;
 * - the list's type index is NtQueryObject's TypeIndex minus 2 under Wine
 *   (equal on Windows): use sbt_type_name_of_index() to name it.
 *
 * HAZARD under Wine 8.0: reading the list crashes the wineserver (SIGSEGV;
 * every process of the prefix then hangs or dies) if at that moment any
 * process of the prefix has an empty handle table. The server walks each
 * table with an unsigned index up to `last`, which is -1 for an empty table.
 * A process has an empty table while it starts when it was created with no
 * handle at all: every program Wine starts from Unix (each ctest test), and
 * any CreateProcess with nothing inherited and NULL std handles. CreateProcess
 * returns only after the child has opened handles, so a test's own children
 * are safe once created; what is not safe is a process starting concurrently.
 * Therefore: register every test that calls these functions (directly or
 * through sb_child.exe's report) with RUN_SERIAL, and give every process
 * created during such a test at least one handle (a std handle, which Wine
 * copies into the child, or an inherited one). docs/wine.md has the details.
 *
 * Test code only: every fallible function returns 0 or a negative code from
 * sb_errors.h and never aborts.
 */
#ifndef SB_HANDLES_H
#define SB_HANDLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <windows.h>

/* HandleAttributes bits of the handle list (the OBJ_* attributes). */
#define SBT_OBJ_PROTECT_CLOSE 0x1u
#define SBT_OBJ_INHERIT 0x2u

typedef struct sbt_handle {
  uint64_t value;      /* the handle value in its owner process */
  uint32_t access;     /* granted access mask */
  uint32_t attributes; /* SBT_OBJ_* bits */
  uint16_t type_index; /* object type index (see sbt_type_name_of_index) */
  uint64_t object;     /* kernel object address; always 0 under Wine */
} sbt_handle;

/* Every handle of process `pid`, in a malloc'd array the caller frees (NULL
 * and 0 when the process has none or does not exist). The snapshot is taken
 * once, so the list is consistent for that instant. */
int sbt_handles_of(DWORD pid, sbt_handle **out, size_t *n);

/* The number of handles of process `pid` (0 for a process that is gone). */
int sbt_handle_count(DWORD pid, size_t *n);

/* True when the handle would be inherited by CreateProcess(bInherit=TRUE). */
bool sbt_handle_inheritable(const sbt_handle *h);

/* The entry with this value in list[0..n), or NULL. */
const sbt_handle *sbt_handle_find(const sbt_handle *list, size_t n, uint64_t value);

/* The handle entry of `h`, a handle of the calling process. SB_E_HANDLE_NOT_FOUND
 * when the value is not open. */
int sbt_handle_self(HANDLE h, sbt_handle *out);

/* The object type name ("File", "Event", "Process", ...) of `h`, a handle of
 * the calling process, through NtQueryObject(ObjectTypeInformation). */
int sbt_type_name(HANDLE h, wchar_t *buf, size_t cap);

/* The type name for a type_index of the handle list, through
 * NtQueryObject(NULL, ObjectTypesInformation). Lets a test name the type of
 * a handle in another process without duplicating it. The offset between
 * the two numberings is measured once on a handle of the calling process.
 * SB_E_HANDLE_NOT_FOUND when no type has this index. */
int sbt_type_name_of_index(uint16_t type_index, wchar_t *buf, size_t cap);

/* Whether handle value_a of process proc_a and handle value_b of process
 * proc_b refer to the same kernel object. Each process handle needs
 * PROCESS_DUP_HANDLE (GetCurrentProcess() is fine). Both handles are
 * duplicated into the calling process, compared with NtCompareObjects (the
 * Object pointer of the handle list is 0 under Wine), and the copies closed,
 * so the calling process's handle count is unchanged afterwards. Returns
 * SB_E_HANDLE_NOT_FOUND when either value is not open in its process. */
int sbt_same_object(HANDLE proc_a, uint64_t value_a, HANDLE proc_b, uint64_t value_b,
                     bool *same);

/* The values of every handle in process `pid` that refers to the same object
 * as `mine` (a handle of the calling process). Writes at most `cap` values to
 * `values` (which may be NULL when cap is 0) and the total count to *found.
 * Only handles with the same type index are compared, so the scan is cheap.
 * The process is opened with PROCESS_DUP_HANDLE for the duration of the call
 * and each candidate is duplicated in and closed again, so while the scan
 * runs the calling process holds up to two extra handles, and none after. */
int sbt_find_object(DWORD pid, HANDLE mine, uint64_t *values, size_t cap, size_t *found);

#endif
