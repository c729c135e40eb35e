/*
 * The broker's settings (broker/settings.c): defaults, the config file, the
 * command line, every integer setting at its bounds and one past them, and
 * docs/operations.md's table against the code. Portable: built natively,
 * under ASan+UBSan, and for Windows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb_test.h"
#include "settings.h"
#include "log.h"
#include "sb_errors.h"

static int load(sb__settings *s, const char *json, char *err) {
  return sb__settings_load(s, json, strlen(json), err, 256);
}

SB_TEST(defaults_are_the_documented_ones) {
  sb__settings s;
  sb__settings_init(&s);
  CHECK_STR(s.pipe, "\\\\.\\pipe\\spawnbroker");
  CHECK_INT(s.transfer, SB_TRANSFER_AUTO);
  CHECK_INT(s.clients, SB__CLIENTS_AUTO);
  CHECK_INT(s.pool_warm, 2);
  CHECK_INT(s.pool_max_helpers, 64);
  CHECK_INT(s.max_connections, 256);
  CHECK_INT(s.max_frame_bytes, SB_LIMIT_FRAME_BYTES);
  CHECK_INT(s.max_handles, SB_LIMIT_HANDLES);
  CHECK_INT(s.log_level, SB_LOG_INFO);
  CHECK(s.event_log);
  CHECK_STR(s.log_file, "");
}

SB_TEST(config_file_sets_nested_names) {
  sb__settings s;
  char err[256] = "";
  sb__settings_init(&s);
  CHECK_INT(load(&s,
                 "{\"pipe\":\"mine\",\"transfer\":\"push\",\"clients\":\"authenticated\","
                 "\"pool\":{\"warm\":0,\"recycle\":7},\"limits\":{\"connections\":9},"
                 "\"log\":{\"level\":\"debug\",\"file\":\"C:\\\\x.log\",\"event_log\":false}}",
                 err),
            0);
  CHECK_STR(err, "");
  CHECK_STR(s.pipe, "\\\\.\\pipe\\mine");
  CHECK_INT(s.transfer, SB_TRANSFER_PUSH);
  CHECK_INT(s.clients, SB__CLIENTS_AUTHENTICATED);
  CHECK_INT(s.pool_warm, 0);
  CHECK_INT(s.pool_recycle, 7);
  CHECK_INT(s.max_connections, 9);
  CHECK_INT(s.log_level, SB_LOG_DEBUG);
  CHECK_STR(s.log_file, "C:\\x.log");
  CHECK(!s.event_log);
  /* Untouched settings keep their defaults. */
  CHECK_INT(s.pool_max_helpers, 64);
}

SB_TEST(config_file_mistakes_are_errors_that_name_the_setting) {
  static const struct {
    const char *json;
    int err;
    const char *says;
  } cases[] = {
      {"{\"pool\":{\"wram\":1}}", SB_E_UNKNOWN_KEY, "pool.wram"},
      {"{\"pol\":{\"warm\":1}}", SB_E_UNKNOWN_KEY, "pol"},
      {"{\"warm\":1}", SB_E_UNKNOWN_KEY, "\"warm\""},
      {"{\"pool\":{\"warm\":1,\"warm\":2}}", SB_E_DUPLICATE_KEY, "pool.warm is set twice"},
      {"{\"pool\":{\"warm\":\"2\"}}", SB_E_WRONG_TYPE, "pool.warm"},
      {"{\"pool\":{\"warm\":1.5}}", SB_E_NOT_AN_INTEGER, "pool.warm"},
      {"{\"pool\":{\"warm\":-1}}", SB_E_OUT_OF_RANGE, "pool.warm"},
      {"{\"pool\":{\"warm\":1e300}}", SB_E_OUT_OF_RANGE, "pool.warm"},
      {"{\"transfer\":\"sideways\"}", SB_E_UNKNOWN_VALUE, "transfer"},
      {"{\"transfer\":1}", SB_E_WRONG_TYPE, "transfer"},
      {"{\"log\":{\"event_log\":\"yes\"}}", SB_E_WRONG_TYPE, "log.event_log"},
      {"{\"log\":{\"level\":{\"x\":1}}}", SB_E_UNKNOWN_KEY, "log.level"},
      {"{\"pipe\":\"\"}", SB_E_EMPTY_STRING, "pipe"},
      {"[1]", SB_E_WRONG_TYPE, "one JSON object"},
      {"{\"pipe\":\"x\"} trailing", SB_E_PARSE, "after"},
      {"{\"pipe\":", SB_E_PARSE, "not valid JSON"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    sb__settings s;
    char err[256] = "";
    sb__settings_init(&s);
    CHECK_INT(load(&s, cases[i].json, err), cases[i].err);
    if (strstr(err, cases[i].says) == NULL)
      SB__FAIL("%s: message \"%s\" does not say \"%s\"", cases[i].json, err, cases[i].says);
  }
}

SB_TEST(a_nul_byte_in_the_file_is_refused) {
  sb__settings s;
  char err[256] = "";
  static const char text[] = "{\"pipe\":\"a\"}\0{\"pipe\":\"b\"}";
  sb__settings_init(&s);
  CHECK_INT(sb__settings_load(&s, text, sizeof text - 1, err, sizeof err), SB_E_PARSE);
}

SB_TEST(every_integer_setting_at_its_bounds_and_one_past) {
  size_t n = sb__settings_count();
  size_t tested = 0;
  for (size_t i = 0; i < n; i++) {
    const sb__setting_info *info = sb__settings_info(i);
    unsigned long min, max;
    char value[32], err[256];
    sb__settings s;
    if (strcmp(info->type, "integer") != 0) continue;
    REQUIRE(sscanf(info->bounds, "%lu-%lu", &min, &max) == 2);
    tested++;
    sb__settings_init(&s);
    snprintf(value, sizeof value, "%lu", max);
    CHECK_INT(sb__settings_set(&s, info->name, value, err, sizeof err), 0);
    snprintf(value, sizeof value, "%lu", max + 1);
    CHECK_INT(sb__settings_set(&s, info->name, value, err, sizeof err), SB_E_OUT_OF_RANGE);
    if (strstr(err, info->name) == NULL) SB__FAIL("%s: message \"%s\"", info->name, err);
    snprintf(value, sizeof value, "%lu", min);
    CHECK_INT(sb__settings_set(&s, info->name, value, err, sizeof err), 0);
    if (min > 0) {
      snprintf(value, sizeof value, "%lu", min - 1);
      CHECK_INT(sb__settings_set(&s, info->name, value, err, sizeof err), SB_E_OUT_OF_RANGE);
    }
    CHECK_INT(sb__settings_set(&s, info->name, "12x", err, sizeof err), SB_E_WRONG_TYPE);
    CHECK_INT(sb__settings_set(&s, info->name, "-1", err, sizeof err), SB_E_WRONG_TYPE);
    CHECK_INT(sb__settings_set(&s, info->name, "99999999999", err, sizeof err),
              SB_E_OUT_OF_RANGE);
  }
  CHECK(tested >= 16);
}

SB_TEST(flags_name_settings) {
  CHECK_STR(sb__settings_flag_name("--warm"), "pool.warm");
  CHECK_STR(sb__settings_flag_name("--pipe"), "pipe");
  CHECK_STR(sb__settings_flag_name("--log-level"), "log.level");
  CHECK(sb__settings_flag_name("--nope") == NULL);
}

SB_TEST(set_by_name_and_pipe_shorthand) {
  sb__settings s;
  char err[256];
  sb__settings_init(&s);
  CHECK_INT(sb__settings_set(&s, "pipe", "\\\\.\\pipe\\full", err, sizeof err), 0);
  CHECK_STR(s.pipe, "\\\\.\\pipe\\full");
  CHECK_INT(sb__settings_set(&s, "log.event_log", "false", err, sizeof err), 0);
  CHECK(!s.event_log);
  CHECK_INT(sb__settings_set(&s, "log.event_log", "no", err, sizeof err), SB_E_UNKNOWN_VALUE);
  CHECK_INT(sb__settings_set(&s, "clients", "owner", err, sizeof err), 0);
  CHECK_INT(s.clients, SB__CLIENTS_OWNER);
  CHECK_INT(sb__settings_set(&s, "no.such", "1", err, sizeof err), SB_E_UNKNOWN_KEY);
  {
    char longname[300];
    memset(longname, 'p', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK_INT(sb__settings_set(&s, "pipe", longname, err, sizeof err), SB_E_STRING_TOO_LONG);
  }
}

SB_TEST(clients_auto_means_owner_in_console_mode_and_interactive_as_a_service) {
  sb__settings s;
  char err[256];
  char *json = NULL;
  sb__settings_init(&s);
  CHECK_INT(sb__clients_effective(s.clients, false), SB__CLIENTS_OWNER);
  CHECK_INT(sb__clients_effective(s.clients, true), SB__CLIENTS_INTERACTIVE);
  /* A value given by name means the same in both modes. */
  CHECK_INT(sb__settings_set(&s, "clients", "interactive", err, sizeof err), 0);
  CHECK_INT(sb__clients_effective(s.clients, false), SB__CLIENTS_INTERACTIVE);
  CHECK_INT(sb__settings_set(&s, "clients", "authenticated", err, sizeof err), 0);
  CHECK_INT(sb__clients_effective(s.clients, true), SB__CLIENTS_AUTHENTICATED);
  CHECK_INT(sb__settings_set(&s, "clients", "owner", err, sizeof err), 0);
  CHECK_INT(sb__clients_effective(s.clients, true), SB__CLIENTS_OWNER);
  CHECK_INT(sb__settings_set(&s, "clients", "auto", err, sizeof err), 0);
  CHECK_INT(s.clients, SB__CLIENTS_AUTO);
  CHECK_INT(sb__settings_set(&s, "clients", "everyone", err, sizeof err), SB_E_UNKNOWN_VALUE);
  /* Printed as "auto" and read back as such. */
  REQUIRE(sb__settings_to_json(&s, &json) == 0);
  sb__settings_init(&s);
  s.clients = SB__CLIENTS_OWNER;
  CHECK_INT(sb__settings_load(&s, json, strlen(json), err, sizeof err), 0);
  CHECK_INT(s.clients, SB__CLIENTS_AUTO);
  free(json);
}

SB_TEST(relations_between_settings_are_checked) {
  sb__settings s;
  char err[256];
  sb__settings_init(&s);
  CHECK_INT(sb__settings_check(&s, err, sizeof err), 0);
  /* Warm at the per-identity maximum is fine, one more is not. */
  s.pool_max_helpers = 4;
  s.pool_warm = 4;
  CHECK_INT(sb__settings_check(&s, err, sizeof err), 0);
  s.pool_warm = 5;
  CHECK_INT(sb__settings_check(&s, err, sizeof err), SB_E_OUT_OF_RANGE);
  s.pool_warm = 2;
  s.pool_max_helpers_per_identity = 1;
  CHECK_INT(sb__settings_check(&s, err, sizeof err), SB_E_OUT_OF_RANGE);
}

SB_TEST(printed_settings_load_back_the_same) {
  sb__settings a, b;
  char err[256] = "", *json = NULL;
  sb__settings_init(&a);
  REQUIRE(sb__settings_set(&a, "limits.idle_timeout_ms", "1234", err, sizeof err) == 0);
  REQUIRE(sb__settings_set(&a, "transfer", "pull", err, sizeof err) == 0);
  REQUIRE(sb__settings_set(&a, "log.file", "C:\\logs\\b \"q\".log", err, sizeof err) == 0);
  REQUIRE(sb__settings_to_json(&a, &json) == 0);
  sb__settings_init(&b);
  CHECK_INT(sb__settings_load(&b, json, strlen(json), err, sizeof err), 0);
  CHECK(memcmp(&a, &b, sizeof a) == 0);
  free(json);
}

/* Reads docs/operations.md, found relative to this source file. */
static char *read_doc(void) {
  static const char rel[] = "../../docs/operations.md";
  const char *file = __FILE__;
  size_t dir = 0, n;
  char path[4096], *text;
  FILE *f;
  for (size_t i = 0; file[i] != '\0'; i++)
    if (file[i] == '/' || file[i] == '\\') dir = i + 1;
  if (dir + sizeof rel > sizeof path) return NULL;
  memcpy(path, file, dir);
  memcpy(path + dir, rel, sizeof rel);
  f = fopen(path, "rb");
  if (f == NULL) return NULL;
  text = malloc(1024 * 1024 + 1);
  n = text ? fread(text, 1, 1024 * 1024, f) : 0;
  fclose(f);
  if (text != NULL) text[n] = '\0';
  return text;
}

SB_TEST(docs_settings_table_matches_the_code) {
  char *doc = read_doc(), *table, *end;
  size_t rows = 0;
  REQUIRE(doc != NULL);
  table = strstr(doc, "\n## Settings\n");
  REQUIRE(table != NULL);
  end = strstr(table + 1, "\n## ");
  if (end != NULL) *end = '\0';
  for (const char *p = table; (p = strstr(p, "\n| `")) != NULL; p++) rows++;
  CHECK_INT(rows, sb__settings_count());
  for (size_t i = 0; i < sb__settings_count(); i++) {
    const sb__setting_info *info = sb__settings_info(i);
    char row[1024];
    snprintf(row, sizeof row, "\n| `%s` | %s%s%s | %s | `%s` | %s | %s |", info->name,
             info->flag ? "`" : "", info->flag ? info->flag : "", info->flag ? "`" : "",
             info->type, info->def, *info->bounds ? info->bounds : "", info->doc);
    if (strstr(table, row) == NULL) SB__FAIL("no row%s", row);
  }
  free(doc);
}

SB_TEST_MAIN(SB_CASE(defaults_are_the_documented_ones), SB_CASE(config_file_sets_nested_names),
             SB_CASE(config_file_mistakes_are_errors_that_name_the_setting),
             SB_CASE(a_nul_byte_in_the_file_is_refused),
             SB_CASE(every_integer_setting_at_its_bounds_and_one_past),
             SB_CASE(flags_name_settings), SB_CASE(set_by_name_and_pipe_shorthand),
             SB_CASE(clients_auto_means_owner_in_console_mode_and_interactive_as_a_service),
             SB_CASE(relations_between_settings_are_checked),
             SB_CASE(printed_settings_load_back_the_same),
             SB_CASE(docs_settings_table_matches_the_code))
