#include <stdio.h>
#include <string.h>

#include "bench_report.h"

typedef const char *(CDECL *wine_version_fn)(void);
typedef LONG(WINAPI *rtl_get_version_fn)(OSVERSIONINFOW *v);

void bench_machine(char *out, size_t cap) {
  char cpu[128] = "unknown CPU";
  DWORD len = sizeof cpu;
  SYSTEM_INFO si;
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  wine_version_fn wine =
      ntdll != NULL ? (wine_version_fn)(void (*)(void))GetProcAddress(ntdll, "wine_get_version")
                    : NULL;
  rtl_get_version_fn get_version =
      ntdll != NULL ? (rtl_get_version_fn)(void (*)(void))GetProcAddress(ntdll, "RtlGetVersion")
                    : NULL;
  OSVERSIONINFOW v;

  RegGetValueA(HKEY_LOCAL_MACHINE, "HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0",
               "ProcessorNameString", RRF_RT_REG_SZ, NULL, cpu, &len);
  GetSystemInfo(&si);
  ZeroMemory(&v, sizeof v);
  v.dwOSVersionInfoSize = sizeof v;
  /* ntdll's own call: GetVersionEx is deprecated and lies to programs
   * without a manifest. */
  if (get_version != NULL) get_version(&v);
  if (wine != NULL)
    snprintf(out, cap, "%s, %lu logical processors, Wine %s (reporting Windows %lu.%lu.%lu)", cpu,
             (unsigned long)si.dwNumberOfProcessors, wine(), (unsigned long)v.dwMajorVersion,
             (unsigned long)v.dwMinorVersion, (unsigned long)v.dwBuildNumber);
  else
    snprintf(out, cap, "%s, %lu logical processors, Windows %lu.%lu.%lu", cpu,
             (unsigned long)si.dwNumberOfProcessors, (unsigned long)v.dwMajorVersion,
             (unsigned long)v.dwMinorVersion, (unsigned long)v.dwBuildNumber);
}
