#include "options.h"

#ifdef SB_TEST_HOOKS
#include "fault.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb_errors.h"
#include "utf.h"

/* A config file is a few kilobytes; anything huge is not one. */
#define SB__CONFIG_MAX_BYTES (1024 * 1024)

/* Reads a whole config file (UTF-8 path) into a malloc'd buffer. */
static int read_file(const char *path, char **out, size_t *len) {
  wchar_t *wpath = NULL;
  FILE *f = NULL;
  char *buf = NULL;
  long size;
  int rc = SB_E_IO;

  if (sb__utf8_to_wide(path, &wpath) != 0) return SB_E_INVALID_ARGUMENT;
  f = _wfopen(wpath, L"rb");
  if (f == NULL) goto done;
  if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
    goto done;
  if (size > SB__CONFIG_MAX_BYTES) {
    rc = SB_E_FRAME_TOO_LARGE;
    goto done;
  }
  buf = malloc((size_t)size + 1);
  if (buf == NULL) {
    rc = SB_E_NOMEM;
    goto done;
  }
  if (fread(buf, 1, (size_t)size, f) != (size_t)size) goto done;
  buf[size] = '\0';
  *out = buf;
  *len = (size_t)size;
  buf = NULL;
  rc = 0;
done:
  free(buf);
  if (f != NULL) fclose(f);
  free(wpath);
  return rc;
}

int sb__options_load_config(sb__settings *s, const char *path, char *err, size_t cap) {
  char *text = NULL, why[256];
  size_t len = 0;
  int rc = read_file(path, &text, &len);
  if (rc != 0) {
    snprintf(err, cap, "cannot read the config file %s: %s", path, sb_err_message(rc));
    return rc;
  }
  rc = sb__settings_load(s, text, len, why, sizeof why);
  free(text);
  if (rc != 0) snprintf(err, cap, "%s: %s", path, why);
  return rc;
}

int sb__options_is_test_hook(const char *opt) {
#ifdef SB_TEST_HOOKS
  return strcmp(opt, "--test-rogue") == 0 || strcmp(opt, "--test-rogue-report") == 0 ||
         strcmp(opt, "--test-spawn-gate") == 0 || strcmp(opt, "--test-identity-by-client") == 0 ||
         strcmp(opt, "--test-spawn-delay-ms") == 0 || strcmp(opt, "--test-fault-file") == 0;
#else
  (void)opt;
  return 0;
#endif
}

int sb__options_parse(int argc, char **argv, int first, sb__options *o, char *err, size_t cap) {
  sb__settings *s = &o->cfg.s;
  char why[256];
  memset(o, 0, sizeof *o);
  sb__settings_init(s);
  for (int i = first; i + 1 < argc; i++) {
    if (strcmp(argv[i], "--config") == 0) {
      int rc = sb__options_load_config(s, argv[i + 1], err, cap);
      if (rc != 0) return rc;
    }
  }
  for (int i = first; i < argc; i++) {
    const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    const char *name = sb__settings_flag_name(opt);
    int rc = 0;
    if (val == NULL) {
      snprintf(err, cap, "%s needs a value", opt);
      return SB_E_INVALID_ARGUMENT;
    }
    i++;
    if (strcmp(opt, "--config") == 0) continue;
    if (name != NULL) {
      rc = sb__settings_set(s, name, val, why, sizeof why);
    } else if (strcmp(opt, "--set") == 0) {
      char key[128];
      const char *eq = strchr(val, '=');
      if (eq == NULL || (size_t)(eq - val) >= sizeof key) {
        snprintf(err, cap, "--set needs NAME=VALUE, not \"%s\"", val);
        return SB_E_INVALID_ARGUMENT;
      }
      snprintf(key, sizeof key, "%.*s", (int)(eq - val), val);
      rc = sb__settings_set(s, key, eq + 1, why, sizeof why);
#ifdef SB_TEST_HOOKS
    } else if (strcmp(opt, "--test-rogue") == 0) {
      o->rogue_cmd = val;
    } else if (strcmp(opt, "--test-rogue-report") == 0) {
      o->rogue_report = val;
    } else if (strcmp(opt, "--test-spawn-gate") == 0) {
      o->spawn_gate = val;
    } else if (strcmp(opt, "--test-identity-by-client") == 0) {
      o->cfg.test_identity_by_client = strcmp(val, "yes") == 0;
    } else if (strcmp(opt, "--test-fault-file") == 0) {
      if (sb__fault_set_file(val) != 0) {
        snprintf(err, cap, "--test-fault-file needs a path");
        return SB_E_INVALID_ARGUMENT;
      }
    } else if (strcmp(opt, "--test-spawn-delay-ms") == 0) {
      o->cfg.test_spawn_delay_ms = (uint32_t)strtoul(val, NULL, 10);
#endif
    } else {
      snprintf(err, cap, "unknown option '%s'", opt);
      return SB_E_INVALID_ARGUMENT;
    }
    if (rc != 0) {
      snprintf(err, cap, "%s", why);
      return rc;
    }
  }
  if (sb__settings_check(s, why, sizeof why) != 0) {
    snprintf(err, cap, "%s", why);
    return SB_E_OUT_OF_RANGE;
  }
  return 0;
}
