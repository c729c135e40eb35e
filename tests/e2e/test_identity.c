/*
 * broker/identity.c against a real named pipe in this process: the client
 * identity comes from the impersonation token, the level is checked, a
 * primary token is made on request, and the pull-mode process check
 * refuses a process that cannot be the one that connected.
 */
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "identity.h"
#include "sb_errors.h"
#include "sb_test.h"
#include "sb_win_test.h"

typedef struct pipe_pair {
  HANDLE server, client;
  FILETIME connected_at;
} pipe_pair;

/* A connected pipe whose client opened it with `sqos` (0: the default
 * flags) and has written one byte, which the server has read: impersonation
 * needs a message read first. */
static int make_pair(DWORD sqos, pipe_pair *pp) {
  wchar_t name[128];
  static LONG n;
  char byte = 'x';
  DWORD done = 0;
  _snwprintf(name, 128, L"\\\\.\\pipe\\sb-identity-%lu-%ld", GetCurrentProcessId(),
             InterlockedIncrement(&n));
  name[127] = L'\0';
  memset(pp, 0, sizeof *pp);
  pp->server = CreateNamedPipeW(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_WAIT, 1, 4096,
                                4096, 0, NULL);
  if (pp->server == INVALID_HANDLE_VALUE) return SB_E_IO;
  GetSystemTimeAsFileTime(&pp->connected_at);
  pp->client = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                           sqos != 0 ? SECURITY_SQOS_PRESENT | sqos : 0, NULL);
  if (pp->client == INVALID_HANDLE_VALUE) return SB_E_IO;
  /* The client connected before ConnectNamedPipe: ERROR_PIPE_CONNECTED. */
  if (!ConnectNamedPipe(pp->server, NULL) && GetLastError() != ERROR_PIPE_CONNECTED)
    return SB_E_IO;
  if (!WriteFile(pp->client, &byte, 1, &done, NULL) ||
      !ReadFile(pp->server, &byte, 1, &done, NULL))
    return SB_E_IO;
  return 0;
}

static void free_pair(pipe_pair *pp) {
  if (pp->client != NULL && pp->client != INVALID_HANDLE_VALUE) CloseHandle(pp->client);
  if (pp->server != NULL && pp->server != INVALID_HANDLE_VALUE) CloseHandle(pp->server);
}

/* The thread must never be left impersonating. */
static void check_not_impersonating(void) {
  HANDLE t = NULL;
  CHECK(!OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, &t));
  CHECK_INT(GetLastError(), ERROR_NO_TOKEN);
  if (t != NULL) CloseHandle(t);
}

SB_TEST(identity_comes_from_the_token_and_matches_the_broker_itself) {
  pipe_pair pp;
  sb__identity id, self;
  char detail[256] = "";
  REQUIRE(make_pair(0, &pp) == 0);
  CHECK_INT(sb__identity_from_pipe(pp.server, false, 0, NULL, &id, NULL, detail, sizeof detail), 0);
  CHECK_STR(detail, "");
  CHECK(id.primary == NULL);
  CHECK(id.same_user);
  CHECK(strncmp(id.user_sid, "S-1-5-", 6) == 0);
  CHECK(strstr(id.key, id.user_sid) == id.key);
  check_not_impersonating();
  /* A console broker pools its own identity's helpers from the start; a
   * client of the same user and logon session must land in that pool. */
  REQUIRE(sb__identity_of_self(&self) == 0);
  CHECK_STR(self.key, id.key);
  CHECK_STR(self.user_sid, sb__identity_self_sid());
  sb__identity_free(&id);
  sb__identity_free(&self);
  free_pair(&pp);
}

SB_TEST(a_primary_token_is_made_when_asked) {
  pipe_pair pp;
  sb__identity id;
  char detail[256] = "";
  TOKEN_TYPE type = TokenImpersonation;
  DWORD len = 0;
  REQUIRE(make_pair(0, &pp) == 0);
  REQUIRE(sb__identity_from_pipe(pp.server, true, 0, NULL, &id, NULL, detail, sizeof detail) == 0);
  REQUIRE(id.primary != NULL);
  CHECK(GetTokenInformation(id.primary, TokenType, &type, sizeof type, &len));
  CHECK_INT(type, TokenPrimary);
  check_not_impersonating();
  sb__identity_free(&id);
  CHECK(id.primary == NULL);
  free_pair(&pp);
}

SB_TEST(pull_mode_opens_the_client_and_checks_it) {
  pipe_pair pp;
  sb__identity id;
  HANDLE process = NULL;
  char detail[256] = "";
  REQUIRE(make_pair(0, &pp) == 0);
  CHECK_INT(sb__identity_from_pipe(pp.server, false, GetCurrentProcessId(), &pp.connected_at,
                                   &id, &process, detail, sizeof detail),
            0);
  CHECK(process != NULL);
  if (process != NULL) CloseHandle(process);
  check_not_impersonating();
  sb__identity_free(&id);
  free_pair(&pp);
}

SB_TEST(a_process_newer_than_the_connection_is_refused) {
  pipe_pair pp;
  sb__identity id;
  HANDLE process = NULL;
  char detail[256] = "";
  FILETIME long_ago = {0, 0};
  REQUIRE(make_pair(0, &pp) == 0);
  /* Claim the connection was made at the epoch: this process started
   * after it, as a process that reused the client's pid would have. */
  CHECK_INT(sb__identity_from_pipe(pp.server, false, GetCurrentProcessId(), &long_ago, &id,
                                   &process, detail, sizeof detail),
            SB_E_ACCESS_DENIED);
  CHECK(process == NULL);
  if (strstr(detail, "started after the connection") == NULL) SB__FAIL("detail: %s", detail);
  check_not_impersonating();
  free_pair(&pp);
}

SB_TEST(a_process_that_is_not_the_pipes_client_is_refused) {
  pipe_pair pp;
  sb__identity id;
  char detail[256] = "";
  HANDLE other;
  DWORD other_pid = 0;
  PROCESS_INFORMATION pi;
  STARTUPINFOW si;
  wchar_t exe[MAX_PATH], cmd[MAX_PATH + 32];
  REQUIRE(make_pair(0, &pp) == 0);
  REQUIRE(sb__identity_from_pipe(pp.server, false, 0, NULL, &id, NULL, detail, sizeof detail) ==
          0);
  /* Another live process of the same user: right token, wrong process. */
  REQUIRE(sbt_exe_path(L"sb_child.exe", exe, MAX_PATH) == 0);
  _snwprintf(cmd, MAX_PATH + 32, L"\"%ls\" sleep 30000", exe);
  cmd[MAX_PATH + 31] = L'\0';
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  REQUIRE(CreateProcessW(exe, cmd, NULL, NULL, FALSE, DETACHED_PROCESS, NULL, NULL, &si, &pi));
  other = pi.hProcess;
  other_pid = pi.dwProcessId;
  CloseHandle(pi.hThread);
  CHECK_INT(sb__identity_check_process(&id, pp.server, other, other_pid, NULL, detail,
                                       sizeof detail),
            SB_E_ACCESS_DENIED);
  if (strstr(detail, "client process changed") == NULL) SB__FAIL("detail: %s", detail);
  TerminateProcess(other, 0);
  WaitForSingleObject(other, 10000);
  CloseHandle(other);
  sb__identity_free(&id);
  free_pair(&pp);
}

/* A client that allows only identification (or anonymous) impersonation
 * cannot own a child. Under Wine the level the client asks for may not
 * reach the server's token; the test then says so. */
static void check_level_refused(DWORD sqos, const char *what) {
  pipe_pair pp;
  sb__identity id;
  char detail[256] = "";
  int rc;
  REQUIRE(make_pair(sqos, &pp) == 0);
  rc = sb__identity_from_pipe(pp.server, false, 0, NULL, &id, NULL, detail, sizeof detail);
  check_not_impersonating();
  if (rc == 0 && sbt_under_wine()) {
    printf("SKIP (Wine): a client's SECURITY_%s level does not reach the server's "
           "impersonation token; checked on Windows only\n", what);
    sb__identity_free(&id);
  } else {
    CHECK_INT(rc, SB_E_ACCESS_DENIED);
    if (strstr(detail, "impersonation") == NULL) SB__FAIL("detail: %s", detail);
  }
  free_pair(&pp);
}

SB_TEST(identification_level_clients_are_refused) {
  check_level_refused(SECURITY_IDENTIFICATION, "IDENTIFICATION");
}

SB_TEST(anonymous_level_clients_are_refused) {
  check_level_refused(SECURITY_ANONYMOUS, "ANONYMOUS");
}

/* The level check itself, on tokens of each level made here (Wine keeps
 * the level DuplicateTokenEx is given, although a pipe client's requested
 * level does not reach the server). */
SB_TEST(each_impersonation_level_is_judged) {
  static const struct {
    SECURITY_IMPERSONATION_LEVEL level;
    int expect;
  } levels[] = {{SecurityAnonymous, SB_E_ACCESS_DENIED},
                {SecurityIdentification, SB_E_ACCESS_DENIED},
                {SecurityImpersonation, 0},
                {SecurityDelegation, 0}};
  HANDLE process_token = NULL;
  REQUIRE(OpenProcessToken(GetCurrentProcess(), TOKEN_DUPLICATE | TOKEN_QUERY, &process_token));
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
    HANDLE t = NULL;
    sb__identity id;
    char detail[256] = "";
    if (!DuplicateTokenEx(process_token, TOKEN_QUERY, NULL, levels[i].level, TokenImpersonation,
                          &t)) {
      SB__FAIL("DuplicateTokenEx(level %d) failed: %lu", (int)levels[i].level, GetLastError());
      continue;
    }
    CHECK_INT(sb__identity_from_token(t, &id, detail, sizeof detail), levels[i].expect);
    if (levels[i].expect != 0 && strstr(detail, "SecurityImpersonation") == NULL)
      SB__FAIL("level %d: detail %s", (int)levels[i].level, detail);
    sb__identity_free(&id);
    CloseHandle(t);
  }
  CloseHandle(process_token);
}

SB_TEST_MAIN(SB_CASE(each_impersonation_level_is_judged), SB_CASE(identity_comes_from_the_token_and_matches_the_broker_itself),
             SB_CASE(a_primary_token_is_made_when_asked),
             SB_CASE(pull_mode_opens_the_client_and_checks_it),
             SB_CASE(a_process_newer_than_the_connection_is_refused),
             SB_CASE(a_process_that_is_not_the_pipes_client_is_refused),
             SB_CASE(identification_level_clients_are_refused),
             SB_CASE(anonymous_level_clients_are_refused))
