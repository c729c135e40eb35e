/*
 * spawnbroker-helper.exe: the process every brokered child names as its
 * parent. The broker creates it suspended and never resumes it; it exists
 * only so that a handle table, a token and a job can be borrowed from it.
 *
 * If anything ever resumes it, it must do nothing at all, so the program has
 * no C runtime (which would run initialisers and open the std streams) and
 * its entry point exits at once.
 */
#include <windows.h>

void __stdcall sb_helper_entry(void);

void __stdcall sb_helper_entry(void) { ExitProcess(0); }
