/*
 * The spawnbroker protocol: the message model, strict decoding of requests,
 * and encoding of every request, result, error and event.
 *
 * Portable C11: no <windows.h>, no libuv. The broker uses the request decoder
 * and the reply encoders; the client library uses the request encoder and the
 * reply decoder; both therefore share one implementation of the wire format
 * described in docs/protocol.md.
 *
 * Ownership: strings in decoded structs point into the parsed message and stay
 * valid until the struct is freed with its *_free function. Structs that a
 * caller fills in for encoding are only read, never freed by this library.
 */
#ifndef SB_PROTO_H
#define SB_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sb_errors.h"
#include "sb_limits.h"

/* ------------------------------------------------------------------------ */
/* Basic types                                                              */

typedef enum sb_method {
  SB_METHOD_HELLO,
  SB_METHOD_SPAWN,
  SB_METHOD_WAIT,
  SB_METHOD_KILL,
  SB_METHOD_LIST,
  SB_METHOD_STATS,
  SB_METHOD_PING,
  SB_METHOD_COUNT
} sb_method;

/* "hello", "spawn", ...; NULL for values out of range. */
const char *sb_method_name(sb_method m);
/* 0 and *out set, or SB_E_METHOD_NOT_FOUND. Exact, case-sensitive match. */
int sb_method_from_name(const char *name, sb_method *out);

/* A JSON-RPC id: an integer in [0, 2^53-1], a string of at most
 * SB_LIMIT_ID_BYTES bytes, or null (only in replies to unparseable frames). */
typedef enum sb_id_kind { SB_ID_NULL, SB_ID_NUMBER, SB_ID_STRING } sb_id_kind;
typedef struct sb_id {
  sb_id_kind kind;
  uint64_t number;
  char string[SB_LIMIT_ID_BYTES + 1];
} sb_id;

/* How handles reach the broker (docs/protocol.md, "Handle transfer"). */
typedef enum sb_transfer {
  SB_TRANSFER_AUTO, /* only in hello: let the broker choose */
  SB_TRANSFER_PULL, /* the broker duplicates from the client's table */
  SB_TRANSFER_PUSH  /* the client duplicated its handles into the broker */
} sb_transfer;
const char *sb_transfer_name(sb_transfer t);

/* What ends a child besides itself. */
typedef enum sb_lifetime {
  SB_LIFETIME_BROKER,     /* killed when the broker exits (the default) */
  SB_LIFETIME_DETACHED,   /* outlives the broker, like a plain CreateProcess child */
  SB_LIFETIME_CONNECTION  /* killed when the requesting connection closes */
} sb_lifetime;
const char *sb_lifetime_name(sb_lifetime l);

/* The three standard streams, as indices into sb_spawn_params.std_names. */
enum { SB_STDIN = 0, SB_STDOUT = 1, SB_STDERR = 2 };

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */

typedef struct sb_hello_params {
  uint32_t protocol;    /* required; SB_PROTOCOL_VERSION */
  const char *client;   /* optional free-form client name, or NULL */
  sb_transfer transfer; /* optional; SB_TRANSFER_AUTO when absent */
} sb_hello_params;

typedef struct sb_handle_spec {
  const char *name; /* [A-Za-z_][A-Za-z0-9_.-]*, unique in the request */
  int64_t value;    /* the handle value in the sender's handle table */
  int fd;           /* CRT fd in the child (3..SB_LIMIT_FD_MAX), or -1 */
} sb_handle_spec;

typedef struct sb_job_limits {
  uint64_t memory_bytes; /* per-job committed memory; 0 = no limit */
  uint64_t cpu_time_ms;  /* per-job user CPU time; 0 = no limit */
  uint32_t processes;    /* active processes in the job; 0 = no limit */
} sb_job_limits;

typedef struct sb_spawn_params {
  const char *program;          /* required, non-empty path or file name */
  const char *const *args;      /* arguments after the program */
  size_t nargs;
  const char *cwd;              /* working directory, or NULL for the broker's choice */
  const char *const *env;       /* "NAME=VALUE" entries set on top of the base */
  size_t nenv;
  bool clear_env;               /* base environment is empty instead of inherited */
  sb_handle_spec handles[SB_LIMIT_HANDLES];
  size_t nhandles;
  const char *std_names[3];     /* handle names for stdin/stdout/stderr, or NULL */
  const char *handles_env;      /* env variable to receive "name=value;..." or NULL */
  bool expand_handles;          /* replace "{handle:NAME}" in args with the value */
  sb_lifetime lifetime;
  sb_job_limits limits;
  bool notify_exit;             /* send an "exit" event when the child exits */
} sb_spawn_params;

typedef struct sb_wait_params {
  uint32_t pid;
  int64_t timeout_ms; /* -1 (absent on the wire) waits forever */
} sb_wait_params;

typedef struct sb_kill_params {
  uint32_t pid;
  uint32_t exit_code; /* default 1 */
} sb_kill_params;

typedef struct sb_request {
  sb_id id;
  sb_method method;
  union {
    sb_hello_params hello;
    sb_spawn_params spawn;
    sb_wait_params wait;
    sb_kill_params kill;
  } params; /* list, stats and ping take no parameters */
  void *sb__owned; /* set by sb_decode_request; NULL for caller-built requests */
} sb_request;

/* Fills *p with the defaults the wire format implies for absent keys. */
void sb_spawn_params_init(sb_spawn_params *p);
/* Prepares a request for `method` with a numeric id and default params. */
void sb_request_init(sb_request *req, sb_method method, uint64_t id);
void sb_wait_params_init(sb_wait_params *p);
void sb_kill_params_init(sb_kill_params *p);

/* Why a request was rejected: enough to encode the error reply. */
typedef struct sb_decode_error {
  int err;            /* the same code the decoder returned */
  sb_id id;           /* the request's id when it could be read, else null */
  char path[128];     /* where, e.g. "params.handles[2].value"; "" if n/a */
  char detail[192];   /* one sentence of detail, valid UTF-8; "" if none */
} sb_decode_error;

/*
 * Decodes and validates one frame (without its newline) into *out. Everything
 * the docs say about a request is checked here, before the broker touches any
 * handle: UTF-8, NUL-free strings, nesting, duplicate/unknown/missing keys,
 * types, integer range and integrality, string and array sizes, handle values
 * and names, references between fields.
 *
 * Returns 0, or a negative code also stored in derr->err (derr may be NULL).
 * On failure *out holds nothing that needs freeing.
 */
int sb_decode_request(const char *frame, size_t len, sb_request *out,
                      sb_decode_error *derr);
void sb_request_free(sb_request *req);

/* The index of the handle called `name` in p->handles, or -1. */
int sb_spawn_find_handle(const sb_spawn_params *p, const char *name);

/* ------------------------------------------------------------------------ */
/* Results and events                                                       */

typedef struct sb_hello_result {
  uint32_t protocol;          /* the version the broker will speak */
  const char *broker_version; /* e.g. "0.1.0" */
  uint32_t pid;               /* the broker's process id */
  sb_transfer transfer;       /* PULL or PUSH for this connection */
  uint32_t max_frame_bytes;
  uint32_t max_handles;
  uint32_t max_args;
  uint32_t max_env;
} sb_hello_result;

typedef struct sb_child_handle {
  const char *name;
  int64_t value; /* the handle value inside the child */
} sb_child_handle;

typedef struct sb_spawn_result {
  uint32_t pid;
  sb_child_handle handles[SB_LIMIT_HANDLES];
  size_t nhandles;
} sb_spawn_result;

/* A finished child: the wait result and the "exit" event's params. */
typedef struct sb_exit_info {
  uint32_t pid;
  uint32_t exit_code;          /* the Windows exit code (a DWORD) */
  uint64_t wall_ms;            /* from creation to exit */
  uint64_t cpu_user_us;
  uint64_t cpu_kernel_us;
  uint64_t peak_memory_bytes;  /* peak commit of the process */
} sb_exit_info;

typedef struct sb_kill_result {
  uint32_t pid;
  bool killed; /* false when it had already exited */
} sb_kill_result;

typedef struct sb_child_info {
  uint32_t pid;
  const char *program;
  sb_lifetime lifetime;
  bool running;
  uint32_t exit_code; /* meaningful only when !running */
} sb_child_info;

typedef struct sb_list_result {
  sb_child_info *children; /* at most SB_LIMIT_LIST_CHILDREN */
  size_t nchildren;
} sb_list_result;

/* The stats counters, in wire order: X(name, "meaning"). Every one is an
 * integer >= 0 on the wire; a reply that lacks one reads as 0. The limit_*
 * counters count how often each broker limit refused something
 * (docs/operations.md, "Settings"). */
#define SB_STATS_COUNTERS(X)                                                          \
  X(uptime_ms, "since the broker started")                                            \
  X(cpu_us, "CPU time the broker process has used, user and kernel, in microseconds") \
  X(heap_bytes, "bytes in use in the broker's heaps now (each stats request walks them)") \
  X(connections_current, "connections open now")                                     \
  X(connections_total, "connections accepted ever")                                   \
  X(requests_total, "requests answered")                                              \
  X(errors_total, "requests answered with an error")                                  \
  X(spawns_ok, "spawns that made a child")                                            \
  X(spawns_failed, "spawns that failed")                                              \
  X(children_running, "children running now")                                         \
  X(helpers_idle, "helper processes idle in the pools now")                           \
  X(helpers_busy, "helper processes leased now")                                      \
  X(helpers_created, "helper processes created ever")                                 \
  X(helpers_retired, "helper processes retired ever")                                 \
  X(limit_connections, "connections refused: limits.connections")                    \
  X(limit_connections_per_identity,                                                   \
    "connections refused: limits.connections_per_identity")                           \
  X(limit_spawns_in_flight, "spawns refused: limits.spawns_in_flight_per_identity")    \
  X(limit_children, "spawns refused: limits.children_per_identity")                   \
  X(limit_helpers, "spawns refused: pool.max_helpers or its per-identity maximum")     \
  X(limit_handles, "spawns refused: limits.handles_per_request")                      \
  X(limit_frame_bytes, "frames refused: limits.frame_bytes")                          \
  X(limit_idle_timeouts, "connections closed: limits.idle_timeout_ms")                \
  X(limit_request_deadlines, "connections closed: limits.request_deadline_ms")        \
  SB_STATS_STAGES(X)

/* The last stats counters: the stages of a spawn in their order, each
 * adding up, over the spawns counted in spawns_ok, the microseconds that
 * stage took (broker/stage.h); divided by spawns_ok they give its mean. */
#define SB_STATS_STAGES(X)                                                            \
  X(spawn_decode_us, "spawns that made a child, microseconds in all: decoding and "   \
    "checking the request until it is queued for a worker thread")                   \
  X(spawn_queue_us, "the same: waiting for a worker thread")                         \
  X(spawn_prepare_us, "the same: resolving the program, checking the working "       \
    "directory, making the child's job")                                              \
  X(spawn_lease_us, "the same: leasing a helper (creating one when none is idle)")   \
  X(spawn_transfer_us, "the same: moving the handles into the helper")               \
  X(spawn_create_us, "the same: command line, environment, attribute list, "         \
    "creating and resuming the child")                                                \
  X(spawn_close_us, "the same: closing the moved handles in the helper and "         \
    "returning it")                                                                   \
  X(spawn_reply_us, "the same: back on the loop thread, tracking the child, "        \
    "encoding and writing the reply")

typedef struct sb_stats_result {
#define SB__STATS_FIELD(name, doc) uint64_t name;
  SB_STATS_COUNTERS(SB__STATS_FIELD)
#undef SB__STATS_FIELD
} sb_stats_result;

typedef struct sb_result {
  sb_method method;
  union {
    sb_hello_result hello;
    sb_spawn_result spawn;
    sb_exit_info wait;
    sb_kill_result kill;
    sb_list_result list;
    sb_stats_result stats;
    /* ping: {"pong": true}, nothing to carry */
  } u;
  void *sb__owned; /* allocations made by sb_decode_result */
} sb_result;

/* ------------------------------------------------------------------------ */
/* Encoding. Every encoder writes one compact JSON value followed by '\n'.   */

typedef struct sb_buf {
  char *data; /* malloc'd, NUL-terminated after the newline */
  size_t len; /* bytes including the newline */
} sb_buf;
void sb_buf_free(sb_buf *b);

/* Client side: a request. The request is validated with the same rules the
 * broker applies; an invalid one is refused with the decoder's error code.
 * derr may be NULL; otherwise it is cleared, and on failure it holds the
 * code and, where there is one, the path and detail the broker would have
 * replied with (for fields the wire cannot carry at all, such as a NULL
 * program, the path of that field and a detail saying why). derr->id is
 * the request's id once that could be encoded. */
int sb_encode_request(const sb_request *req, sb_buf *out, sb_decode_error *derr);

/* Broker side. */
int sb_encode_result(const sb_id *id, const sb_result *res, sb_buf *out);
/* detail and path may be NULL or ""; they are sent as error.data.detail and
 * error.data.path. err must be a code from the table. */
int sb_encode_error(const sb_id *id, int err, const char *detail,
                    const char *path, sb_buf *out);
int sb_encode_exit_event(const sb_exit_info *exit, sb_buf *out);

/* ------------------------------------------------------------------------ */
/* Client side: decoding what the broker sends.                             */

typedef enum sb_incoming_kind {
  SB_INCOMING_RESULT,
  SB_INCOMING_ERROR,
  SB_INCOMING_EVENT
} sb_incoming_kind;

typedef struct sb_rpc_error {
  int rpc_code;        /* error.code */
  int err;             /* the table code for error.data.name; SB_E_INTERNAL if unknown */
  const char *name;    /* error.data.name as sent (may be a name newer than us) */
  const char *message; /* error.message */
  const char *detail;  /* error.data.detail or NULL */
  const char *path;    /* error.data.path or NULL */
} sb_rpc_error;

typedef enum sb_event_kind { SB_EVENT_EXIT } sb_event_kind;

typedef struct sb_incoming {
  sb_incoming_kind kind;
  sb_id id;             /* for results and errors */
  sb_rpc_error error;   /* for errors */
  sb_event_kind event;  /* for events */
  sb_exit_info exit;    /* for SB_EVENT_EXIT */
  void *sb__owned;      /* the parsed message */
} sb_incoming;

/* Decodes one frame from the broker. Unknown keys inside results and events
 * are ignored (newer brokers may add fields); wrong types are SB_E_BAD_REPLY.
 * Unknown event methods are SB_E_BAD_REPLY too. */
int sb_decode_incoming(const char *frame, size_t len, sb_incoming *out);
void sb_incoming_free(sb_incoming *in);

/* Decodes the result of a SB_INCOMING_RESULT message as a reply to `method`.
 * Strings in *out point into *in, so free *out before *in. */
int sb_decode_result(const sb_incoming *in, sb_method method, sb_result *out);
void sb_result_free(sb_result *res);

/* ------------------------------------------------------------------------ */
/* Ids                                                                       */

void sb_id_set_number(sb_id *id, uint64_t n);
/* SB_E_INVALID_ARGUMENT if s is longer than SB_LIMIT_ID_BYTES. */
int sb_id_set_string(sb_id *id, const char *s);
bool sb_id_equal(const sb_id *a, const sb_id *b);

#endif
