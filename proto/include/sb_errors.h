/*
 * The one error table of spawnbroker.
 *
 * Every fallible function in the project returns 0 (SB_OK) or one of the
 * negative codes below. Each code also has the JSON-RPC 2.0 error code and the
 * stable symbolic name that travel on the wire (`error.code` and
 * `error.data.name`), so a failure deep in the broker reaches the client
 * without any translation table in between. Names never change once
 * published; new errors are appended (docs/protocol.md, "Errors").
 */
#ifndef SB_ERRORS_H
#define SB_ERRORS_H

#include <stdbool.h>

/* JSON-RPC 2.0 reserved codes. */
#define SB_RPC_PARSE_ERROR      (-32700)
#define SB_RPC_INVALID_REQUEST  (-32600)
#define SB_RPC_METHOD_NOT_FOUND (-32601)
#define SB_RPC_INVALID_PARAMS   (-32602)
#define SB_RPC_INTERNAL_ERROR   (-32603)

/*
 * X(symbol, "WireName", json_rpc_code, "message")
 *
 * Errors whose JSON-RPC code is SB_RPC_PARSE_ERROR mean the frame could not
 * be parsed at all; the broker answers them with `id: null` and then closes
 * the connection, because it can no longer trust where the next frame starts.
 */
#define SB_ERROR_TABLE(X)                                                          \
  /* Framing and parsing: the connection is closed after the reply. */            \
  X(PARSE, "ParseError", -32700, "the frame is not valid JSON")                   \
  X(INVALID_UTF8, "InvalidUtf8", -32700, "the frame is not valid UTF-8")          \
  X(FRAME_TOO_LARGE, "FrameTooLarge", -32700, "the frame exceeds the size limit") \
  X(NESTING_TOO_DEEP, "NestingTooDeep", -32700,                                   \
    "arrays or objects are nested too deeply")                                    \
  /* The JSON-RPC envelope. */                                                    \
  X(INVALID_REQUEST, "InvalidRequest", -32600,                                    \
    "the message is not a valid JSON-RPC 2.0 request")                            \
  X(BATCH_NOT_SUPPORTED, "BatchNotSupported", -32600,                             \
    "batch requests are not supported")                                           \
  X(METHOD_NOT_FOUND, "MethodNotFound", -32601, "no such method")                 \
  /* Parameters: the shape of the request. */                                     \
  X(INVALID_PARAMS, "InvalidParams", -32602, "params must be an object")          \
  X(UNKNOWN_KEY, "UnknownKey", -32602, "unknown key")                             \
  X(MISSING_KEY, "MissingKey", -32602, "a required key is missing")               \
  X(DUPLICATE_KEY, "DuplicateKey", -32602, "a key appears twice")                 \
  X(WRONG_TYPE, "WrongType", -32602, "a value has the wrong JSON type")           \
  X(NOT_AN_INTEGER, "NotAnInteger", -32602, "a number must be an integer")        \
  X(OUT_OF_RANGE, "OutOfRange", -32602, "a number is out of range")               \
  X(STRING_TOO_LONG, "StringTooLong", -32602, "a string is too long")             \
  X(EMPTY_STRING, "EmptyString", -32602, "a string must not be empty")            \
  X(STRING_HAS_NUL, "StringHasNul", -32602, "a string contains a NUL character")  \
  X(UNKNOWN_VALUE, "UnknownValue", -32602, "a string is not one of the allowed values") \
  X(TOO_MANY_ITEMS, "TooManyItems", -32602, "an array has too many items")        \
  X(INVALID_NAME, "InvalidName", -32602, "a name has characters that are not allowed") \
  /* Parameters: the meaning of a spawn request. */                               \
  X(INVALID_HANDLE_VALUE, "InvalidHandleValue", -32602,                           \
    "a handle value is not a plausible handle")                                   \
  X(TOO_MANY_HANDLES, "TooManyHandles", -32602, "too many handles in one request") \
  X(DUPLICATE_HANDLE_NAME, "DuplicateHandleName", -32602,                         \
    "two handles have the same name")                                             \
  X(DUPLICATE_HANDLE_VALUE, "DuplicateHandleValue", -32602,                       \
    "the same handle value is listed twice")                                      \
  X(UNKNOWN_HANDLE_NAME, "UnknownHandleName", -32602,                             \
    "a reference names a handle the request does not pass")                       \
  X(DUPLICATE_FD, "DuplicateFd", -32602, "two handles ask for the same CRT fd")   \
  X(INVALID_ENV_ENTRY, "InvalidEnvEntry", -32602,                                 \
    "an environment entry is not NAME=VALUE")                                     \
  X(DUPLICATE_ENV_NAME, "DuplicateEnvName", -32602,                               \
    "an environment variable is set twice")                                       \
  /* The session. */                                                              \
  X(UNSUPPORTED_PROTOCOL, "UnsupportedProtocol", -32001,                          \
    "the broker does not speak this protocol version")                            \
  X(HELLO_REQUIRED, "HelloRequired", -32002, "send hello first")                  \
  X(ALREADY_GREETED, "AlreadyGreeted", -32003, "hello was already sent")          \
  X(TRANSFER_UNAVAILABLE, "TransferModeUnavailable", -32004,                      \
    "the requested handle transfer mode cannot be used on this connection")       \
  X(LIMIT_REACHED, "LimitReached", -32005, "a broker limit was reached")          \
  X(BUSY, "Busy", -32006, "another request of this connection is still running")  \
  X(SHUTTING_DOWN, "ShuttingDown", -32007, "the broker is shutting down")         \
  X(ACCESS_DENIED, "AccessDenied", -32008, "access denied")                       \
  /* Spawning. */                                                                 \
  X(HANDLE_NOT_FOUND, "HandleNotFound", -32010,                                   \
    "a handle value is not open in the client")                                   \
  X(HANDLE_TYPE_NOT_ALLOWED, "HandleTypeNotAllowed", -32011,                      \
    "this kind of handle may not be passed to a child")                           \
  X(HANDLE_OWNED_BY_BROKER, "HandleOwnedByBroker", -32012,                        \
    "the handle value belongs to the broker")                                     \
  X(HANDLE_CLAIMED, "HandleClaimed", -32013,                                      \
    "the handle value is claimed by another request")                             \
  X(EXECUTABLE_NOT_FOUND, "ExecutableNotFound", -32014, "the program was not found") \
  X(NOT_EXECUTABLE, "NotExecutable", -32015, "the program is not executable")     \
  X(CWD_NOT_FOUND, "CwdNotFound", -32016, "the working directory does not exist") \
  X(COMMAND_LINE_TOO_LONG, "CommandLineTooLong", -32017,                          \
    "the command line exceeds the Windows limit")                                 \
  X(ENVIRONMENT_TOO_LARGE, "EnvironmentTooLarge", -32018,                         \
    "the environment block exceeds the limit")                                    \
  X(SPAWN_FAILED, "SpawnFailed", -32019, "the process could not be created")      \
  X(HELPER_UNAVAILABLE, "HelperUnavailable", -32020,                              \
    "no helper process could be leased")                                          \
  X(NO_SUCH_CHILD, "NoSuchChild", -32021,                                         \
    "no child with this pid belongs to this client")                              \
  X(TIMEOUT, "Timeout", -32022, "the operation timed out")                        \
  /* Local failures (never caused by the peer's input). */                        \
  X(NOMEM, "OutOfMemory", -32603, "out of memory")                                \
  X(INTERNAL, "InternalError", -32603, "internal error")                          \
  X(IO, "IoError", -32603, "an I/O operation failed")                             \
  X(CLOSED, "ConnectionClosed", -32603, "the connection was closed")              \
  X(BAD_REPLY, "BadReply", -32603, "the peer sent a malformed reply")             \
  X(INVALID_ARGUMENT, "InvalidArgument", -32603,                                  \
    "a function was called with an invalid argument")

/* Dense indices, then the public negative codes: SB_E_x == -(index + 1). */
enum sb__err_index {
#define SB__ERR_INDEX(sym, name, rpc, msg) SB__ERRIDX_##sym,
  SB_ERROR_TABLE(SB__ERR_INDEX)
#undef SB__ERR_INDEX
  SB__ERRIDX_COUNT
};

typedef enum sb_err {
  SB_OK = 0,
#define SB__ERR_CODE(sym, name, rpc, msg) SB_E_##sym = -(SB__ERRIDX_##sym + 1),
  SB_ERROR_TABLE(SB__ERR_CODE)
#undef SB__ERR_CODE
} sb_err;

/* Number of entries in the table. */
#define SB_ERROR_COUNT ((int)SB__ERRIDX_COUNT)

/* True when err is one of the table's codes. */
bool sb_err_is_known(int err);
/* The wire name ("HandleNotFound"); "InternalError" for unknown codes. */
const char *sb_err_name(int err);
/* The human-readable message; a generic one for unknown codes. */
const char *sb_err_message(int err);
/* The JSON-RPC code; -32603 for unknown codes. */
int sb_err_rpc_code(int err);
/* The code whose wire name is `name`, or 0 when there is none. */
int sb_err_from_name(const char *name);
/* True for the errors after which the broker closes the connection. */
bool sb_err_closes_connection(int err);
/* Push transfer (docs/protocol.md, "Who closes a pushed copy"): whether an
 * error reply to a spawn, given by its JSON-RPC code and table code, leaves
 * the pushed copies the client's to close (the broker did not take the
 * request on). For every other error the broker closes them. The broker
 * and the client library both decide with this one function. */
bool sb_err_push_stays_with_client(int rpc_code, int err);

#endif
