/*
 * Lookups over the one error table in sb_errors.h.
 *
 * The table below is generated from SB_ERROR_TABLE, so adding an error there
 * is the only step needed for its name, message and JSON-RPC code to become
 * available everywhere. Codes are dense: SB_E_x == -(index + 1).
 */
#include "sb_errors.h"

#include <stddef.h>
#include <string.h>

typedef struct sb_err_entry {
  const char *name;
  const char *message;
  int rpc;
} sb_err_entry;

static const sb_err_entry sb_err_entries[SB_ERROR_COUNT] = {
#define SB__ERR_ENTRY(sym, name, rpc, msg) {name, msg, rpc},
    SB_ERROR_TABLE(SB__ERR_ENTRY)
#undef SB__ERR_ENTRY
};

/* The entry for err, or NULL when err is not one of the table's codes. */
static const sb_err_entry *lookup(int err) {
  if (err >= 0 || err < -SB_ERROR_COUNT) return NULL;
  return &sb_err_entries[-err - 1];
}

bool sb_err_is_known(int err) { return lookup(err) != NULL; }

const char *sb_err_name(int err) {
  const sb_err_entry *e = lookup(err);
  return e ? e->name : sb_err_name(SB_E_INTERNAL);
}

const char *sb_err_message(int err) {
  const sb_err_entry *e = lookup(err);
  return e ? e->message : "unknown error";
}

int sb_err_rpc_code(int err) {
  const sb_err_entry *e = lookup(err);
  return e ? e->rpc : SB_RPC_INTERNAL_ERROR;
}

int sb_err_from_name(const char *name) {
  if (name == NULL) return 0;
  for (int i = 0; i < SB_ERROR_COUNT; i++) {
    if (strcmp(sb_err_entries[i].name, name) == 0) return -(i + 1);
  }
  return 0;
}

bool sb_err_closes_connection(int err) {
  /* A parse-level failure leaves no trustworthy frame boundary, so the broker
   * answers once with id null and hangs up (sb_errors.h). */
  const sb_err_entry *e = lookup(err);
  return e != NULL && e->rpc == SB_RPC_PARSE_ERROR;
}

bool sb_err_push_stays_with_client(int rpc_code, int err) {
  /* The request's shape is judged before the broker processes it at all;
   * new validation errors keep these JSON-RPC codes, so the codes decide. */
  if (rpc_code == SB_RPC_PARSE_ERROR || rpc_code == SB_RPC_INVALID_REQUEST ||
      rpc_code == SB_RPC_METHOD_NOT_FOUND || rpc_code == SB_RPC_INVALID_PARAMS)
    return true;
  /* Requests the broker refuses as they arrive, without processing them. */
  return err == SB_E_HELLO_REQUIRED || err == SB_E_BUSY || err == SB_E_SHUTTING_DOWN;
}
