/*
 * The report sb_child.exe prints about its own handle table ("report"
 * command), parsed into a struct for end-to-end tests.
 *
 * The report is one line of JSON:
 *   {"pid":N,"parent_pid":N,
 *    "handles":[{"value":V,"type":"File","inheritable":true,"access":N},...],
 *    "std":{"in":V,"out":V,"err":V},
 *    "env_handles":"..." or null,
 *    "argv":["...",...],
 *    "cmdline":"..."}
 * Handle values are those of the child. A std value is the child's
 * GetStdHandle() result: 0 when it has none, -1 for INVALID_HANDLE_VALUE.
 */
#ifndef SB_CHILD_REPORT_H
#define SB_CHILD_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sbt_child_handle {
  uint64_t value;
  char type[64]; /* NtQueryObject type name, e.g. "File", "Event"; "" if unknown */
  bool inheritable;
  uint32_t access;
} sbt_child_handle;

typedef struct sbt_child_report {
  uint32_t pid;
  uint32_t parent_pid;
  sbt_child_handle *handles; /* malloc'd, handle_count entries */
  size_t handle_count;
  int64_t std_in, std_out, std_err;
  char *env_handles; /* malloc'd; NULL when no --env was given or it was unset */
  char **argv;       /* malloc'd array of argc malloc'd UTF-8 strings */
  size_t argc;
  char *cmdline; /* malloc'd UTF-8 GetCommandLineW(), or NULL */
} sbt_child_report;

/* Parses one report line. On success the caller owns `out` and frees it with
 * sbt_child_report_free; on failure `out` holds nothing to free. Returns 0,
 * SB_E_PARSE for text that is not JSON, SB_E_BAD_REPLY for JSON of the wrong
 * shape, or SB_E_NOMEM. */
int sbt_child_report_parse(const char *json, sbt_child_report *out);

void sbt_child_report_free(sbt_child_report *r);

/* The reported handle with this value, or NULL. */
const sbt_child_handle *sbt_child_report_find(const sbt_child_report *r, uint64_t value);

/* The number of reported handles marked inheritable. */
size_t sbt_child_report_inheritable_count(const sbt_child_report *r);

/*
 * Whether a child holds exactly the handles it was meant to receive.
 *
 * `expected` are child-side values (inherited handles keep the value they had
 * in the parent). The rule, measured under Wine and true on Windows: every
 * handle that reaches a child through CreateProcess is inheritable in the
 * child (inherited handles keep OBJ_INHERIT, and the std handles Wine copies
 * into a child are marked inheritable too), while the handles the runtime
 * opens in every process are not. So:
 * - every expected value must be present and inheritable;
 * - any other inheritable handle is a leak;
 * - with a `baseline` (the report of an sb_child.exe started the same way,
 *   given nothing but what it needs to report, e.g. its stdout), every other
 *   non-inheritable handle must match a distinct non-inheritable baseline
 *   handle of the same type and access (the baseline's own inheritable
 *   handles are what it was given and are ignored); with NULL,
 *   non-inheritable handles are not examined. The checker allows fewer
 *   baseline handles, never more. Under Wine 8.0 the baseline does not
 *   depend on the environment block or the working directory (docs/wine.md).
 * Returns true when all of that holds; otherwise false, with the first
 * difference described in `why` (which may be NULL).
 */
bool sbt_child_report_matches(const sbt_child_report *r, const sbt_child_report *baseline,
                              const uint64_t *expected, size_t n_expected, char *why,
                              size_t why_cap);

#endif
