/*
 * spawnctl's output: unbuffered writes to the standard handles, console
 * aware, and small JSON building helpers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

void sb__ctl_write(DWORD std, const char *utf8, size_t len) {
  HANDLE h = GetStdHandle(std);
  DWORD mode;
  if (h == NULL || h == INVALID_HANDLE_VALUE || len == 0) return;
  if (GetConsoleMode(h, &mode)) {
    /* A console shows bytes in its own code page, which is rarely UTF-8;
     * writing UTF-16 shows the text right without changing the console's
     * code page for everyone else who shares it. */
    int n = MultiByteToWideChar(CP_UTF8, 0, utf8, (int)len, NULL, 0);
    wchar_t *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;
    if (w != NULL) {
      DWORD put;
      MultiByteToWideChar(CP_UTF8, 0, utf8, (int)len, w, n);
      WriteConsoleW(h, w, (DWORD)n, &put, NULL);
      free(w);
      return;
    }
  }
  while (len > 0) {
    DWORD put = 0;
    if (!WriteFile(h, utf8, len > 0x10000000 ? 0x10000000 : (DWORD)len, &put, NULL) || put == 0)
      return;
    utf8 += put;
    len -= put;
  }
}

static void vprint(DWORD std, const char *fmt, va_list ap) SB__CTL_PRINTF(2, 0);
static void vprint(DWORD std, const char *fmt, va_list ap) {
  char small[1024];
  va_list again;
  int n;
  va_copy(again, ap);
  n = vsnprintf(small, sizeof small, fmt, ap);
  if (n >= 0 && (size_t)n < sizeof small) {
    sb__ctl_write(std, small, (size_t)n);
  } else if (n >= 0) {
    char *big = malloc((size_t)n + 1);
    if (big != NULL) {
      vsnprintf(big, (size_t)n + 1, fmt, again);
      sb__ctl_write(std, big, (size_t)n);
      free(big);
    }
  }
  va_end(again);
}

void sb__ctl_printf(DWORD std, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprint(std, fmt, ap);
  va_end(ap);
}

void sb__ctl_fail(const sb_client *c, int rc) {
  const sb_rpc_error *e = sb_client_last_error(c);
  const char *name = e != NULL ? e->name : sb_err_name(rc);
  const char *message = e != NULL ? e->message : sb_err_message(rc);
  const char *detail = e != NULL ? e->detail : NULL;
  const char *path = e != NULL ? e->path : NULL;
  if (detail != NULL && path != NULL)
    sb__ctl_printf(STD_ERROR_HANDLE, "spawnctl: %s: %s (%s; at %s)\n", name, message, detail,
                   path);
  else if (detail != NULL || path != NULL)
    sb__ctl_printf(STD_ERROR_HANDLE, "spawnctl: %s: %s (%s%s)\n", name, message,
                   detail != NULL ? "" : "at ", detail != NULL ? detail : path);
  else
    sb__ctl_printf(STD_ERROR_HANDLE, "spawnctl: %s: %s\n", name, message);
}

int sb__ctl_usage(const char *cmd, const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  sb__ctl_printf(STD_ERROR_HANDLE, "spawnctl: %s (see spawnctl %s%s--help)\n", msg,
                 cmd != NULL ? cmd : "", cmd != NULL ? " " : "");
  return SB__CTL_EXIT_USAGE;
}

/* ------------------------------------------------------------------------ */
/* JSON lines                                                               */

static bool grow(sb__ctl_str *s, size_t more) {
  size_t cap;
  char *p;
  if (s->failed) return false;
  if (s->len + more + 1 <= s->cap) return true;
  cap = s->cap ? s->cap : 256;
  while (cap < s->len + more + 1) cap *= 2;
  p = realloc(s->data, cap);
  if (p == NULL) {
    s->failed = true;
    return false;
  }
  s->data = p;
  s->cap = cap;
  return true;
}

void sb__ctl_str_printf(sb__ctl_str *s, const char *fmt, ...) {
  va_list ap, again;
  int n;
  va_start(ap, fmt);
  va_copy(again, ap);
  n = vsnprintf(NULL, 0, fmt, ap);
  if (n >= 0 && grow(s, (size_t)n)) {
    vsnprintf(s->data + s->len, (size_t)n + 1, fmt, again);
    s->len += (size_t)n;
  }
  va_end(again);
  va_end(ap);
}

void sb__ctl_str_json(sb__ctl_str *s, const char *value) {
  if (!grow(s, 6 * strlen(value) + 2)) return;
  s->data[s->len++] = '"';
  for (; *value != '\0'; value++) {
    unsigned char ch = (unsigned char)*value;
    if (ch == '"' || ch == '\\') {
      s->data[s->len++] = '\\';
      s->data[s->len++] = (char)ch;
    } else if (ch < 0x20) {
      s->len += (size_t)snprintf(s->data + s->len, 7, "\\u%04x", ch);
    } else {
      s->data[s->len++] = (char)ch;
    }
  }
  s->data[s->len++] = '"';
  s->data[s->len] = '\0';
}

void sb__ctl_str_emit(sb__ctl_str *s, DWORD std) {
  sb__ctl_str_printf(s, "\n");
  if (!s->failed) sb__ctl_write(std, s->data, s->len);
  free(s->data);
  memset(s, 0, sizeof *s);
}

void sb__ctl_print_exit(const sb_exit_info *e) {
  sb__ctl_str s = {0};
  sb__ctl_str_printf(&s,
                     "{\"pid\":%lu,\"exit_code\":%lu,\"wall_ms\":%llu,\"cpu_user_us\":%llu,"
                     "\"cpu_kernel_us\":%llu,\"peak_memory_bytes\":%llu}",
                     (unsigned long)e->pid, (unsigned long)e->exit_code,
                     (unsigned long long)e->wall_ms, (unsigned long long)e->cpu_user_us,
                     (unsigned long long)e->cpu_kernel_us,
                     (unsigned long long)e->peak_memory_bytes);
  sb__ctl_str_emit(&s, STD_OUTPUT_HANDLE);
}
