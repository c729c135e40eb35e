#include "log_file.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "registry.h"
#include "sb_errors.h"

/* ".100": the longest suffix a rotated file gets (log.keep is at most 100). */
#define SB__LOG_SUFFIX_MAX 5

struct sb__log_file {
  SRWLOCK lock;
  wchar_t *path;
  wchar_t *scratch; /* path + suffix, for the rotated names */
  size_t path_len;
  HANDLE h;         /* NULL while a rotation could not reopen the file */
  uint64_t size;
  uint64_t max_bytes;
  uint64_t rotate_at; /* max_bytes, or later after a rotation that failed */
  uint32_t keep;
  uint64_t failures;
};

/* The file, opened to append. FILE_SHARE_DELETE lets it be renamed while
 * someone reads it; NULL security attributes keep the handle
 * non-inheritable, and the registry marks it as the broker's own so a
 * push-mode request can never name it. */
static HANDLE open_append(const wchar_t *path, uint64_t *size) {
  LARGE_INTEGER sz;
  HANDLE h = CreateFileW(path, FILE_APPEND_DATA | FILE_READ_ATTRIBUTES,
                         FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                         OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  if (h == INVALID_HANDLE_VALUE) return NULL;
  if (!GetFileSizeEx(h, &sz)) {
    DWORD e = GetLastError();
    CloseHandle(h);
    SetLastError(e);
    return NULL;
  }
  *size = (uint64_t)sz.QuadPart;
  sb__registry_own(h);
  return h;
}

static void close_file(sb__log_file *f) {
  if (f->h == NULL) return;
  sb__registry_disown(f->h);
  CloseHandle(f->h);
  f->h = NULL;
}

/* PATH.n in f->scratch. */
static const wchar_t *rotated_name(sb__log_file *f, uint32_t n) {
  _snwprintf(f->scratch, f->path_len + SB__LOG_SUFFIX_MAX + 1, L"%ls.%lu", f->path,
             (unsigned long)n);
  f->scratch[f->path_len + SB__LOG_SUFFIX_MAX] = L'\0';
  return f->scratch;
}

/* Shifts PATH.(keep-1) .. PATH.1 up by one (PATH.keep is replaced), then
 * PATH to PATH.1, and starts a new PATH. Called with the lock held. */
static void rotate(sb__log_file *f) {
  wchar_t *to = NULL;
  bool moved;

  close_file(f);
  to = malloc((f->path_len + SB__LOG_SUFFIX_MAX + 1) * sizeof *to);
  if (to == NULL) {
    f->failures++;
    moved = false;
  } else {
    for (uint32_t i = f->keep - 1; i >= 1; i--) {
      wcscpy(to, rotated_name(f, i + 1));
      /* A missing PATH.i is normal: there were fewer rotations so far. */
      if (!MoveFileExW(rotated_name(f, i), to, MOVEFILE_REPLACE_EXISTING) &&
          GetLastError() != ERROR_FILE_NOT_FOUND)
        f->failures++;
    }
    moved = MoveFileExW(f->path, rotated_name(f, 1), MOVEFILE_REPLACE_EXISTING) != 0;
    if (!moved) f->failures++;
    free(to);
  }
  f->h = open_append(f->path, &f->size);
  if (f->h == NULL) f->failures++;
  /* A file that could not be renamed (someone holds it open without
   * FILE_SHARE_DELETE) keeps growing; the next attempt comes after another
   * max_bytes, not at every line. */
  f->rotate_at = moved ? f->max_bytes : f->size + f->max_bytes;
}

int sb__log_file_open(const wchar_t *path, uint64_t max_bytes, uint32_t keep,
                      sb__log_file **out) {
  sb__log_file *f;
  size_t len;

  *out = NULL;
  if (path == NULL || *path == L'\0' || keep < 1 || keep > 100 || max_bytes == 0)
    return SB_E_INVALID_ARGUMENT;
  f = calloc(1, sizeof *f);
  if (f == NULL) return SB_E_NOMEM;
  len = wcslen(path);
  f->path = _wcsdup(path);
  f->scratch = malloc((len + SB__LOG_SUFFIX_MAX + 1) * sizeof *f->scratch);
  if (f->path == NULL || f->scratch == NULL) {
    sb__log_file_close(f);
    return SB_E_NOMEM;
  }
  InitializeSRWLock(&f->lock);
  f->path_len = len;
  f->max_bytes = max_bytes;
  f->rotate_at = max_bytes;
  f->keep = keep;
  f->h = open_append(path, &f->size);
  if (f->h == NULL) {
    DWORD e = GetLastError();
    sb__log_file_close(f);
    SetLastError(e);
    return SB_E_IO;
  }
  *out = f;
  return 0;
}

void sb__log_file_write(sb__log_file *f, const char *line, size_t len) {
  DWORD put = 0;
  if (f == NULL || len == 0) return;
  AcquireSRWLockExclusive(&f->lock);
  /* A line that alone exceeds max_bytes still goes out whole, into a file
   * of its own; an empty file is never rotated. */
  if (f->size > 0 && f->size + len > f->rotate_at) rotate(f);
  if (f->h == NULL) {
    /* The last rotation could not reopen the file: try again. */
    f->h = open_append(f->path, &f->size);
  }
  if (f->h == NULL || len > MAXDWORD ||
      !WriteFile(f->h, line, (DWORD)len, &put, NULL) || put != len)
    f->failures++;
  f->size += put;
  ReleaseSRWLockExclusive(&f->lock);
}

uint64_t sb__log_file_failures(sb__log_file *f) {
  uint64_t n;
  AcquireSRWLockShared(&f->lock);
  n = f->failures;
  ReleaseSRWLockShared(&f->lock);
  return n;
}

void sb__log_file_close(sb__log_file *f) {
  if (f == NULL) return;
  close_file(f);
  free(f->scratch);
  free(f->path);
  free(f);
}
