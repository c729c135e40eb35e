/*
 * Shared set-up for the brokered-spawn tests: a broker on a private pipe, a
 * client connected to it, and a way to run sb_child.exe through the broker
 * and read the report it writes about its own handle table.
 */
#ifndef SB_SPAWN_FIXTURE_H
#define SB_SPAWN_FIXTURE_H

#include <windows.h>

#include "sb_child_report.h"
#include "sb_proto.h"
#include "sb_win_test.h"
#include "spawnclient.h"

/* Full UTF-8 path of sb_child.exe, next to the test program. */
const char *sbt_child_path(void);

/* Starts a broker with extra_args (may be NULL) and connects a client. */
int sbt_fixture_start(sbt_broker *b, const wchar_t *extra_args, sb_client **c);
void sbt_fixture_stop(sbt_broker *b, sb_client *c);

/*
 * Spawns sb_child.exe with args `report` plus extra args, passing the
 * handles already in *p (the caller's values) and, as stdout under the name
 * "report", the write end of a fresh pipe; reads the report the child
 * writes there and waits for the child. p->program, args and stdout are
 * filled in here. On success *res is the spawn result.
 */
int sbt_spawn_report(sb_client *c, sb_spawn_params *p, sb_spawn_result *res,
                     sbt_child_report *rep);

/* The helper (the parent pid) of one fresh brokered child, or 0. */
DWORD sbt_spawn_helper_pid(sb_client *c);

/* The values of the handles the child reports as inheritable, sorted. */
size_t sbt_inheritable_values(const sbt_child_report *rep, uint64_t *out, size_t cap);
/* The child-side values of a spawn result, sorted. */
size_t sbt_result_values(const sb_spawn_result *res, uint64_t *out, size_t cap);

/* Counts the handles of a process (NtQuerySystemInformation). */
size_t sbt_count(DWORD pid);
/* The handle count of a process once it stopped changing: the same in
 * three readings 150 ms apart (at most 10 s), for a broker that may still
 * be refilling its pool or forgetting a child. */
size_t sbt_settled_count(DWORD pid);
/* Counts the inheritable handles of a process. */
size_t sbt_count_inheritable(DWORD pid);

/* True when the process with this pid exits within timeout_ms. */
int sbt_pid_exits(HANDLE process, DWORD timeout_ms);

#endif
