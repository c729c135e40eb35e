/*
 * The options every serving mode takes (`run`, `settings`, and the service's
 * own command line): --config FILE, a flag per setting, --set NAME=VALUE,
 * and in test builds the test hooks. docs/operations.md lists them.
 */
#ifndef SB_BROKER_OPTIONS_H
#define SB_BROKER_OPTIONS_H

#include <stddef.h>

#include "server.h"

typedef struct sb__options {
  sb__broker_config cfg;
  /* Test builds only (SB_TEST_HOOKS); NULL otherwise. */
  const char *rogue_cmd;
  const char *rogue_report;
  const char *spawn_gate;
} sb__options;

/* Settings from the defaults, then the config file (wherever --config
 * stands), then every other option of argv[first..argc-1] in order. On
 * failure err holds one line that says what is wrong. */
int sb__options_parse(int argc, char **argv, int first, sb__options *o, char *err, size_t cap);

/* Applies the config file at path (UTF-8) over *s. */
int sb__options_load_config(sb__settings *s, const char *path, char *err, size_t cap);

/* True for a test-hook option that takes a value (test builds only), so
 * `install` can record it on the service's command line. */
int sb__options_is_test_hook(const char *opt);

#endif
