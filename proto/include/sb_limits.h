/*
 * Every protocol limit, by name, with its default. docs/protocol.md has the
 * same table; tests exercise each at its value and one past it.
 *
 * These bound what a single frame may ask for. Broker-wide limits (connections,
 * pool sizes, timeouts) live in the broker's configuration.
 */
#ifndef SB_LIMITS_H
#define SB_LIMITS_H

/* Protocol versions this library speaks (hello.protocol). */
#define SB_PROTOCOL_VERSION_MIN 1
#define SB_PROTOCOL_VERSION_MAX 1
#define SB_PROTOCOL_VERSION     SB_PROTOCOL_VERSION_MAX

/* Bytes in one frame, not counting its terminating newline. */
#define SB_LIMIT_FRAME_BYTES 65536
/* Depth of nested arrays and objects; the envelope object is depth 1. */
#define SB_LIMIT_NESTING 8
/* Bytes in any string value not covered by a tighter limit below. */
#define SB_LIMIT_STRING_BYTES 32767
/* Bytes in an environment variable name (handles_env, env entries). */
#define SB_LIMIT_ENV_NAME_BYTES 255
/* Bytes in a path: program, cwd. */
#define SB_LIMIT_PATH_BYTES 4096
/* Bytes in a name: handle names, env variable names, client name, method. */
#define SB_LIMIT_NAME_BYTES 64
/* Bytes in a string request id. */
#define SB_LIMIT_ID_BYTES 64
/* Largest integer request id (2^53 - 1: exact in a double). */
#define SB_LIMIT_ID_MAX 9007199254740991.0
/* Arguments after the program. */
#define SB_LIMIT_ARGS 1024
/* Environment entries in one request. */
#define SB_LIMIT_ENV 1024
/* Handles passed in one spawn request. */
#define SB_LIMIT_HANDLES 16
/* Largest CRT file descriptor a handle may be given (fds 0-2 are std). */
#define SB_LIMIT_FD_MAX 63
/* Largest handle value accepted: Windows handle tables hold at most 2^24
 * entries and values are index * 4, so anything above is not a handle. */
#define SB_LIMIT_HANDLE_VALUE_MAX 0x3FFFFFC
/* Most negative pseudo-handle value rejected explicitly (-1 .. -12). */
#define SB_PSEUDO_HANDLE_MIN (-12)
/* wait.timeout_ms upper bound (just under 2^31 ms, about 24.8 days). */
#define SB_LIMIT_WAIT_TIMEOUT_MS 2147483647
/* Job limits. */
#define SB_LIMIT_JOB_MEMORY_MIN (1024.0 * 1024.0)               /* 1 MiB */
#define SB_LIMIT_JOB_MEMORY_MAX (1024.0 * 1024.0 * 1024.0 * 1024.0 * 64.0) /* 64 TiB */
#define SB_LIMIT_JOB_CPU_MS_MAX (1000.0 * 60.0 * 60.0 * 24.0 * 365.0)   /* a year */
#define SB_LIMIT_JOB_PROCESSES_MAX 65536
/* Bytes in one frame the broker writes (a list result can exceed the
 * request limit: SB_LIMIT_LIST_CHILDREN entries with SB_LIMIT_PATH_BYTES
 * programs, escaped, fit). Clients size their frame reader with it. */
#define SB_LIMIT_REPLY_FRAME_BYTES (32 * 1024 * 1024)
/* Entries in a list result. */
#define SB_LIMIT_LIST_CHILDREN 1024

#endif
