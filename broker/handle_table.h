/*
 * Reading the handle table of a process through
 * NtQuerySystemInformation(SystemExtendedHandleInformation), which lists
 * every handle of every process (it works under Wine, where
 * GetProcessHandleCount always says 0). The broker uses it once at start to
 * learn which handles it already holds; the tests use it to prove who holds
 * what.
 */
#ifndef SB_BROKER_HANDLE_TABLE_H
#define SB_BROKER_HANDLE_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <windows.h>

typedef struct sb__handle_entry {
  uint64_t value;      /* the handle value in its process */
  uint32_t access;     /* granted access */
  uint32_t attributes; /* OBJ_INHERIT (2), OBJ_PROTECT_CLOSE (1) */
  uint16_t type_index; /* the object type's index */
  uint64_t object;     /* the kernel object's address (0 under Wine) */
} sb__handle_entry;

/* The handles of process pid, as a malloc'd array. */
int sb__handle_table_of(DWORD pid, sb__handle_entry **out, size_t *n);

#endif
