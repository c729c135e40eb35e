/*
 * The error table: consistency of names, codes and JSON-RPC codes, and the
 * lookups over it.
 */
#include <limits.h>
#include <stdbool.h>

#include "sb_errors.h"
#include "sb_test.h"

/* Every code, generated from the table itself, so the test sees exactly what
 * the library sees. */
static const int all_codes[] = {
#define X(sym, name, rpc, msg) SB_E_##sym,
    SB_ERROR_TABLE(X)
#undef X
};
static const int all_rpc[] = {
#define X(sym, name, rpc, msg) rpc,
    SB_ERROR_TABLE(X)
#undef X
};
#define N_CODES (sizeof all_codes / sizeof all_codes[0])

static bool is_name(const char *s) {
  if (s == NULL || !(s[0] >= 'A' && s[0] <= 'Z')) return false;
  for (const char *p = s; *p; p++) {
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
      return false;
  }
  return true;
}

SB_TEST(codes_are_dense_negative_and_unique) {
  CHECK_INT(N_CODES, SB_ERROR_COUNT);
  CHECK_INT(SB_OK, 0);
  for (size_t i = 0; i < N_CODES; i++) {
    CHECK_INT(all_codes[i], -(int)(i + 1));
    CHECK(sb_err_is_known(all_codes[i]));
    for (size_t j = 0; j < i; j++) CHECK(all_codes[i] != all_codes[j]);
  }
}

SB_TEST(names_are_unique_identifiers_and_round_trip) {
  for (size_t i = 0; i < N_CODES; i++) {
    int e = all_codes[i];
    const char *name = sb_err_name(e);
    if (!is_name(name)) SB__FAIL("code %d has a bad name \"%s\"", e, name ? name : "(null)");
    CHECK_INT(sb_err_from_name(name), e);
    for (size_t j = 0; j < i; j++) {
      if (strcmp(name, sb_err_name(all_codes[j])) == 0) SB__FAIL("name %s is used twice", name);
    }
    const char *msg = sb_err_message(e);
    if (msg == NULL || msg[0] == '\0') SB__FAIL("code %d has no message", e);
  }
}

SB_TEST(rpc_codes_are_in_the_json_rpc_ranges) {
  for (size_t i = 0; i < N_CODES; i++) {
    int e = all_codes[i], rpc = sb_err_rpc_code(e);
    CHECK_INT(rpc, all_rpc[i]);
    bool reserved = rpc == SB_RPC_PARSE_ERROR || (rpc >= SB_RPC_INTERNAL_ERROR && rpc <= SB_RPC_INVALID_REQUEST);
    /* -32000 to -32099 is JSON-RPC's range for implementation-defined server
     * errors. */
    bool server = rpc >= -32099 && rpc <= -32000;
    if (!reserved && !server) SB__FAIL("%s has code %d outside the JSON-RPC ranges", sb_err_name(e), rpc);
    /* A server-range code names one error, so a client that reads only
     * error.code still tells them apart. */
    for (size_t j = 0; server && j < i; j++) {
      if (all_rpc[j] == rpc) SB__FAIL("%s and %s share code %d", sb_err_name(e), sb_err_name(all_codes[j]), rpc);
    }
  }
}

SB_TEST(closes_connection_exactly_for_parse_errors) {
  int closing = 0;
  for (size_t i = 0; i < N_CODES; i++) {
    int e = all_codes[i];
    CHECK(sb_err_closes_connection(e) == (sb_err_rpc_code(e) == -32700));
    closing += sb_err_closes_connection(e);
  }
  CHECK(sb_err_closes_connection(SB_E_PARSE));
  CHECK(sb_err_closes_connection(SB_E_INVALID_UTF8));
  CHECK(sb_err_closes_connection(SB_E_FRAME_TOO_LARGE));
  CHECK(sb_err_closes_connection(SB_E_NESTING_TOO_DEEP));
  CHECK_INT(closing, 4);
  CHECK(!sb_err_closes_connection(SB_E_INVALID_REQUEST));
  CHECK(!sb_err_closes_connection(SB_E_BATCH_NOT_SUPPORTED));
  CHECK(!sb_err_closes_connection(SB_E_UNKNOWN_KEY));
  CHECK(!sb_err_closes_connection(SB_E_INTERNAL));
}

SB_TEST(known_entries_have_their_published_values) {
  CHECK_STR(sb_err_name(SB_E_PARSE), "ParseError");
  CHECK_INT(SB_E_PARSE, -1);
  CHECK_STR(sb_err_name(SB_E_HANDLE_NOT_FOUND), "HandleNotFound");
  CHECK_INT(sb_err_rpc_code(SB_E_HANDLE_NOT_FOUND), -32010);
  CHECK_STR(sb_err_message(SB_E_HANDLE_NOT_FOUND), "a handle value is not open in the client");
  CHECK_STR(sb_err_name(SB_E_TOO_MANY_HANDLES), "TooManyHandles");
  CHECK_INT(sb_err_rpc_code(SB_E_TOO_MANY_HANDLES), -32602);
  CHECK_STR(sb_err_name(SB_E_TRANSFER_UNAVAILABLE), "TransferModeUnavailable");
  CHECK_STR(sb_err_name(SB_E_NOMEM), "OutOfMemory");
  CHECK_INT(sb_err_rpc_code(SB_E_METHOD_NOT_FOUND), -32601);
  CHECK_INT(sb_err_from_name("ExecutableNotFound"), SB_E_EXECUTABLE_NOT_FOUND);
  CHECK_STR(sb_err_name(SB_E_INVALID_ARGUMENT), "InvalidArgument");
  CHECK_INT(SB_E_INVALID_ARGUMENT, -SB_ERROR_COUNT);
}

SB_TEST(unknown_codes_get_generic_answers) {
  const int unknown[] = {0, 1, 42, -SB_ERROR_COUNT - 1, -100000, INT_MIN, INT_MAX};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    int e = unknown[i];
    CHECK(!sb_err_is_known(e));
    CHECK_STR(sb_err_name(e), "InternalError");
    CHECK_STR(sb_err_message(e), "unknown error");
    CHECK_INT(sb_err_rpc_code(e), -32603);
    CHECK(!sb_err_closes_connection(e));
  }
}

SB_TEST(unknown_names_map_to_zero) {
  CHECK_INT(sb_err_from_name(NULL), 0);
  CHECK_INT(sb_err_from_name(""), 0);
  CHECK_INT(sb_err_from_name("NoSuchError"), 0);
  CHECK_INT(sb_err_from_name("parseerror"), 0); /* exact, case-sensitive */
  CHECK_INT(sb_err_from_name("ParseError "), 0);
  CHECK_INT(sb_err_from_name("ParseErro"), 0);
}

SB_TEST_MAIN(SB_CASE(codes_are_dense_negative_and_unique),
             SB_CASE(names_are_unique_identifiers_and_round_trip),
             SB_CASE(rpc_codes_are_in_the_json_rpc_ranges),
             SB_CASE(closes_connection_exactly_for_parse_errors),
             SB_CASE(known_entries_have_their_published_values),
             SB_CASE(unknown_codes_get_generic_answers), SB_CASE(unknown_names_map_to_zero))
