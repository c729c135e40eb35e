/*
 * Every setting of the broker, in one table: its name in the JSON config
 * file, its command-line flag, its default and its bounds.
 * docs/operations.md ("Settings") holds the same table, and a unit test
 * checks that the two agree.
 *
 * Settings come from, in order, the defaults, the config file
 * (--config FILE: a JSON object whose nested objects give the dotted
 * names, {"limits": {"connections": 64}}), and the command line (a flag, or
 * --set NAME=VALUE for any setting). Every value is checked against its
 * bounds wherever it comes from; an unknown name, a duplicate, a wrong type
 * or a value out of bounds is an error that names the setting, never
 * silently ignored or clamped.
 *
 * Portable C (no windows.h), so the parser is unit-tested natively under
 * the sanitizers.
 */
#ifndef SB_BROKER_SETTINGS_H
#define SB_BROKER_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sb_proto.h"

/* Who may connect to the pipe besides SYSTEM, Administrators and the
 * broker's own user (the pipe's access list, docs/security.md). */
typedef enum sb__clients {
  SB__CLIENTS_INTERACTIVE,   /* users logged on interactively (IU) */
  SB__CLIENTS_AUTHENTICATED, /* every authenticated user (AU), services too */
  SB__CLIENTS_OWNER,         /* nobody else: only the broker's own user */
  /* The default: OWNER in console mode, INTERACTIVE as a service. A console
   * broker creates every child with its own token, whoever asked, so letting
   * other users in would let them run programs as the broker's user; a
   * service creates each child with its client's token. */
  SB__CLIENTS_AUTO
} sb__clients;

/* What `clients` means for a broker in service mode or not: AUTO resolved. */
sb__clients sb__clients_effective(sb__clients setting, bool service);

/* X(field, "name", "--flag" or NULL, default, min, max, "meaning") */
#define SB__UINT_SETTINGS(X)                                                                  \
  X(pool_warm, "pool.warm", "--warm", 2, 0, 1024,                                             \
    "idle helpers kept ready for each identity that has a connection")                        \
  X(pool_max_helpers, "pool.max_helpers", "--max-helpers", 64, 1, 4096,                      \
    "helpers alive at once, leased or idle, all identities together")                         \
  X(pool_max_helpers_per_identity, "pool.max_helpers_per_identity", NULL, 16, 1, 4096,        \
    "helpers alive at once for one identity (at most pool.max_helpers)")                      \
  X(pool_recycle, "pool.recycle", "--recycle", 100, 1, 1000000,                              \
    "spawns through one helper before it is replaced")                                        \
  X(pool_idle_ms, "pool.idle_ms", NULL, 60000, 0, 86400000,                                   \
    "how long an identity's helpers stay after its last connection closed")                   \
  X(max_connections, "limits.connections", "--max-connections", 256, 1, 2000,                \
    "connections open at once, all clients together (each holds a C runtime file "            \
    "descriptor, of which msvcrt has 2048)")                                                  \
  X(max_connections_per_identity, "limits.connections_per_identity", NULL, 64, 1, 65536,      \
    "connections open at once for one identity (at most limits.connections)")                 \
  X(max_spawns_per_identity, "limits.spawns_in_flight_per_identity", NULL, 64, 1, 4096,       \
    "spawns taken on and not yet answered for one identity (one per connection in any case)") \
  X(max_children_per_identity, "limits.children_per_identity", NULL, 1024, 1, 65536,          \
    "children the broker tracks at once for one identity")                                    \
  X(idle_timeout_ms, "limits.idle_timeout_ms", NULL, 300000, 1000, 86400000,                  \
    "a connection with nothing in flight and nothing received for this long is closed")       \
  X(request_deadline_ms, "limits.request_deadline_ms", NULL, 30000, 100, 3600000,             \
    "a frame must arrive whole within this long of its first byte")                           \
  X(max_frame_bytes, "limits.frame_bytes", NULL, 65536, 1024, 65536,                          \
    "bytes in one request frame")                                                             \
  X(max_handles, "limits.handles_per_request", NULL, 16, 1, 16,                               \
    "handles one spawn request may pass")                                                     \
  X(log_max_bytes, "log.max_bytes", NULL, 10485760, 65536, 1073741824,                        \
    "size at which the log file is rotated")                                                  \
  X(log_keep, "log.keep", NULL, 5, 1, 100, "rotated log files kept")                          \
  X(stop_drain_ms, "stop.drain_ms", NULL, 20000, 0, 120000,                                   \
    "how long a stop waits for spawns in flight")

typedef struct sb__settings {
#define SB__SETTING_FIELD(field, name, flag, def, min, max, doc) uint32_t field;
  SB__UINT_SETTINGS(SB__SETTING_FIELD)
#undef SB__SETTING_FIELD
  char pipe[256];          /* "pipe": full \\.\pipe\ name */
  char log_file[1024];     /* "log.file": UTF-8 path; "" = the mode's default */
  sb_transfer transfer;    /* "transfer" */
  sb__clients clients;     /* "clients" */
  int log_level;           /* "log.level": an sb__log_level */
  bool event_log;          /* "log.event_log" */
} sb__settings;

/* One row of the table, as text, for the docs test and `spawnbroker
 * settings`. */
typedef struct sb__setting_info {
  const char *name;
  const char *flag;   /* NULL: only --set and the config file */
  const char *type;   /* "integer", "string", "bool" or "a, b or c" */
  const char *def;    /* the default as the config file would write it */
  const char *bounds; /* "0-1024", "255 bytes", ... */
  const char *doc;
} sb__setting_info;

/* The defaults. */
void sb__settings_init(sb__settings *s);

/* Applies a config file's text over *s. On failure *s may be partly
 * changed and err says what is wrong and where. */
int sb__settings_load(sb__settings *s, const char *json, size_t len, char *err, size_t cap);

/* Applies one setting given as text (a flag's value, or --set NAME=VALUE). */
int sb__settings_set(sb__settings *s, const char *name, const char *value, char *err,
                     size_t cap);

/* The setting a flag stands for ("--warm" -> "pool.warm"), or NULL. */
const char *sb__settings_flag_name(const char *flag);

/* Checks what no single value can: relations between settings. */
int sb__settings_check(const sb__settings *s, char *err, size_t cap);

/* Writes the settings as one JSON object (the config file format) into a
 * malloc'd string. */
int sb__settings_to_json(const sb__settings *s, char **out);

/* The table: sb__settings_count() rows; NULL past the end. */
size_t sb__settings_count(void);
const sb__setting_info *sb__settings_info(size_t i);

#endif
