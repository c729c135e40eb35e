/*
 * argv_echo.exe: reports how it was started, as JSON lines on stdout, so that
 * a test can compare the arguments it meant to pass with what a real child
 * receives. It reports the same command line split twice, by the two
 * splitters a Windows program may use:
 *
 *   {"source":"crt","argc":N}
 *   {"source":"crt","index":I,"arg":"..."}                 one per argument
 *   {"source":"CommandLineToArgvW","argc":N}
 *   {"source":"CommandLineToArgvW","index":I,"arg":"..."}  one per argument
 *   {"source":"GetCommandLineW","cmdline":"..."}
 *   {"source":"env","entry":"NAME=VALUE"}                  one per variable
 *
 * "crt" is the argv the C runtime's start-up code built (wmain, so no code
 * page conversion loses characters); "env" lists GetEnvironmentStringsW in
 * block order. Strings are UTF-8. Exit code 0, or 1 if a string could not be
 * converted or written.
 */
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>
#include <shellapi.h>

#include <cjson/cJSON.h>

#include "utf.h"

int wmain(int argc, wchar_t **argv);

/* Writes one JSON object as a line: {"source":source, key:value...}. The
 * value is converted from UTF-16; index < 0 leaves "index" out, and a NULL
 * text writes the number `number` under key instead. */
static int emit(const char *source, long index, const char *key, const wchar_t *text,
                long number) {
  cJSON *o = cJSON_CreateObject();
  char *utf8 = NULL, *line = NULL;
  int ok = 0;
  if (o == NULL || cJSON_AddStringToObject(o, "source", source) == NULL) goto done;
  if (index >= 0 && cJSON_AddNumberToObject(o, "index", (double)index) == NULL) goto done;
  if (text != NULL) {
    if (sb__wide_to_utf8(text, &utf8) != 0) goto done;
    if (cJSON_AddStringToObject(o, key, utf8) == NULL) goto done;
  } else if (cJSON_AddNumberToObject(o, key, (double)number) == NULL) {
    goto done;
  }
  line = cJSON_PrintUnformatted(o);
  if (line == NULL) goto done;
  /* cJSON escapes control characters, so the line holds no raw newline. */
  ok = fputs(line, stdout) >= 0 && fputc('\n', stdout) != EOF;
done:
  cJSON_free(line);
  free(utf8);
  cJSON_Delete(o);
  return ok ? 0 : -1;
}

int wmain(int argc, wchar_t **argv) {
  const wchar_t *cmdline = GetCommandLineW();
  wchar_t **split = NULL;
  wchar_t *env = NULL;
  int nsplit = 0, rc = 1;

  /* Binary mode: the reader splits on '\n' and must not see "\r\n". */
  if (_setmode(_fileno(stdout), _O_BINARY) == -1) goto done;

  if (emit("crt", -1, "argc", NULL, argc) != 0) goto done;
  for (int i = 0; i < argc; i++)
    if (emit("crt", i, "arg", argv[i], 0) != 0) goto done;

  split = CommandLineToArgvW(cmdline, &nsplit);
  if (split == NULL) goto done;
  if (emit("CommandLineToArgvW", -1, "argc", NULL, nsplit) != 0) goto done;
  for (int i = 0; i < nsplit; i++)
    if (emit("CommandLineToArgvW", i, "arg", split[i], 0) != 0) goto done;

  if (emit("GetCommandLineW", -1, "cmdline", cmdline, 0) != 0) goto done;

  env = GetEnvironmentStringsW();
  if (env == NULL) goto done;
  for (const wchar_t *e = env; *e != L'\0'; e += wcslen(e) + 1)
    if (emit("env", -1, "entry", e, 0) != 0) goto done;

  if (fflush(stdout) != 0) goto done;
  rc = 0;
done:
  if (env != NULL) FreeEnvironmentStringsW(env);
  if (split != NULL) LocalFree(split);
  return rc;
}
