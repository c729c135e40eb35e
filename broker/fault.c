/* Fault injection for test builds (fault.h). */
#include "fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "log.h"
#include "sb_errors.h"
#include "utf.h"

static const char *const sb__fault_names[] = {
#define SB__FAULT_NAME(sym, name) name,
    SB__FAULT_POINTS(SB__FAULT_NAME)
#undef SB__FAULT_NAME
};

static SRWLOCK sb__fault_lock = SRWLOCK_INIT;
static wchar_t *sb__fault_path;
static FILETIME sb__fault_stamp; /* last write time of the file as read */
static DWORD sb__fault_size = (DWORD)-1;
static int sb__fault_point = -1; /* armed point, or -1 */
static unsigned long sb__fault_at;  /* 0: every hit; else the hit that fails */
static unsigned long sb__fault_hits;

int sb__fault_set_file(const char *path) { return sb__utf8_to_wide(path, &sb__fault_path); }

/* Re-reads the spec when the file changed. Lock held. */
static void reload(void) {
  WIN32_FILE_ATTRIBUTE_DATA a;
  char line[128] = "", name[64];
  FILE *f;
  if (!GetFileAttributesExW(sb__fault_path, GetFileExInfoStandard, &a)) {
    a.nFileSizeLow = 0;
    a.ftLastWriteTime.dwLowDateTime = a.ftLastWriteTime.dwHighDateTime = 0;
  }
  if (a.nFileSizeLow == sb__fault_size &&
      CompareFileTime(&a.ftLastWriteTime, &sb__fault_stamp) == 0)
    return;
  sb__fault_size = a.nFileSizeLow;
  sb__fault_stamp = a.ftLastWriteTime;
  sb__fault_point = -1;
  sb__fault_hits = 0;
  f = _wfopen(sb__fault_path, L"r");
  if (f == NULL) return;
  if (fgets(line, sizeof line, f) == NULL) line[0] = '\0';
  fclose(f);
  {
    char *at = strchr(line, '@');
    if (at == NULL) return;
    snprintf(name, sizeof name, "%.*s", (int)(at - line), line);
    for (int i = 0; i < SB__FAULT_COUNT; i++) {
      if (strcmp(name, sb__fault_names[i]) == 0) {
        sb__fault_point = i;
        sb__fault_at = at[1] == '*' ? 0 : strtoul(at + 1, NULL, 10);
        sb__log(SB_LOG_WARN, "test hook: fault %s armed at %s", name, at + 1);
      }
    }
  }
}

bool sb__fault_fires(sb__fault f) {
  bool fire = false;
  if (sb__fault_path == NULL) return false;
  AcquireSRWLockExclusive(&sb__fault_lock);
  reload();
  if ((int)f == sb__fault_point) {
    sb__fault_hits++;
    fire = sb__fault_at == 0 || sb__fault_hits == sb__fault_at;
  }
  ReleaseSRWLockExclusive(&sb__fault_lock);
  if (fire) sb__log(SB_LOG_WARN, "test hook: fault %s fires", sb__fault_names[f]);
  return fire;
}
