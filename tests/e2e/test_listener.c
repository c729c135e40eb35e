/*
 * The broker's pipe and its connection limits, end to end under Wine
 * (TESTPLAN C2, D5; SECURITY-NOTES T5, T6, T12): the security descriptor
 * its instances get, a name that is already served, the listening backlog,
 * and limits.connections, limits.frame_bytes, limits.idle_timeout_ms and
 * limits.request_deadline_ms, each at its value and past it.
 *
 * The clients here are raw pipe handles, so a test sees every byte the
 * broker sends and can send any bytes itself, as slowly as it likes. Waits
 * are generous (the machine is shared): a test never asserts how long
 * something took, only what happened and in which order.
 *
 * Tests of what only Windows enforces (the access list, remote clients)
 * are here too; under Wine they say why they skip (docs/wine.md).
 */
#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "sb_proto.h"
#include "sb_test.h"
#include "sb_win_test.h"
#include "spawn_fixture.h"

#define HELLO "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\",\"params\":{\"protocol\":1}}\n"
#define PING "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}"
#define STATS "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"stats\"}\n"

/* Generous bounds for what must happen "eventually". */
#define EVENTUALLY_MS 20000

/* ------------------------------------------------------------------------ */
/* Raw pipe helpers                                                         */

/* 1 when data can be read, 0 when none came within ms, -1 once the pipe is
 * closed with nothing left to read. */
static int wait_readable(HANDLE h, DWORD ms) {
  ULONGLONG end = GetTickCount64() + ms;
  for (;;) {
    DWORD avail = 0;
    if (!PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL)) return -1;
    if (avail > 0) return 1;
    if (GetTickCount64() >= end) return 0;
    Sleep(20);
  }
}

/* Reads the next frame within ms and decodes it. */
static int next_frame(HANDLE h, DWORD ms, sb_incoming *in, char *raw, size_t cap) {
  size_t len;
  int r = wait_readable(h, ms);
  if (r == 0) return SB_E_TIMEOUT;
  if (r < 0) return SB_E_CLOSED;
  r = sbt_pipe_read_line(h, raw, cap, &len);
  if (r == 0) r = sb_decode_incoming(raw, len, in);
  return r;
}

/* Sends a frame and reads the reply. */
static int call(HANDLE h, const char *frame, sb_incoming *in, char *raw, size_t cap) {
  int rc = sbt_pipe_write(h, frame, strlen(frame));
  return rc != 0 ? rc : next_frame(h, EVENTUALLY_MS, in, raw, cap);
}

/* Opens a connection and greets the broker; NULL when refused. */
static HANDLE greeted(const sbt_broker *b) {
  sb_incoming in;
  char raw[1024] = "";
  int rc;
  HANDLE h = sbt_pipe_open(b);
  if (h == NULL) return NULL;
  rc = call(h, HELLO, &in, raw, sizeof raw);
  if (rc == 0) {
    bool ok = in.kind == SB_INCOMING_RESULT;
    sb_incoming_free(&in);
    if (ok) return h;
  }
  fprintf(stderr, "hello failed (%s): %s\n", sb_err_name(rc), raw);
  CloseHandle(h);
  return NULL;
}

static int stats_on(HANDLE h, sb_stats_result *st) {
  sb_incoming in;
  sb_result res;
  char raw[4096];
  int rc = call(h, STATS, &in, raw, sizeof raw);
  if (rc != 0) return rc;
  rc = sb_decode_result(&in, SB_METHOD_STATS, &res);
  if (rc == 0) *st = res.u.stats;
  sb_result_free(&res);
  sb_incoming_free(&in);
  return rc;
}

/* Reads the one frame a connection ends with: LimitReached (id null) whose
 * detail names `limit`, then the end of the stream. */
static void check_ended_by(HANDLE h, const char *limit) {
  sb_incoming in;
  char raw[1024];
  int rc = next_frame(h, EVENTUALLY_MS, &in, raw, sizeof raw);
  CHECK_INT(rc, 0);
  if (rc != 0) return;
  CHECK_INT(in.kind, SB_INCOMING_ERROR);
  CHECK_STR(in.error.name, "LimitReached");
  CHECK_INT(in.id.kind, SB_ID_NULL);
  CHECK(in.error.detail != NULL && strstr(in.error.detail, limit) != NULL);
  sb_incoming_free(&in);
  CHECK_INT(wait_readable(h, EVENTUALLY_MS), -1);
}

/* A ping frame padded with spaces inside the object to exactly len bytes
 * (without its newline), newline added. */
static char *padded_ping(size_t len) {
  static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"";
  char *f = malloc(len + 2);
  if (f == NULL || len < sizeof head) {
    free(f);
    return NULL;
  }
  memcpy(f, head, sizeof head - 1);
  memset(f + sizeof head - 1, ' ', len - sizeof head);
  f[len - 1] = '}';
  f[len] = '\n';
  f[len + 1] = '\0';
  return f;
}

/* ------------------------------------------------------------------------ */
/* The security descriptor                                                  */

static bool member_of(WELL_KNOWN_SID_TYPE type) {
  unsigned char sid[SECURITY_MAX_SID_SIZE];
  DWORD len = sizeof sid;
  BOOL member = FALSE;
  return CreateWellKnownSid(type, NULL, sid, &len) && CheckTokenMembership(NULL, sid, &member) &&
         member;
}

/* SDDL of a descriptor, as this system writes it. */
static char *sd_text(PSECURITY_DESCRIPTOR sd) {
  char *s = NULL, *copy;
  if (!ConvertSecurityDescriptorToStringSecurityDescriptorA(
          sd, SDDL_REVISION_1,
          OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
          &s, NULL))
    return NULL;
  copy = _strdup(s);
  LocalFree(s);
  return copy;
}

/* The expected SDDL, written the way this system writes it back. */
static char *normalized(const char *sddl) {
  PSECURITY_DESCRIPTOR sd = NULL;
  char *s;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &sd, NULL))
    return NULL;
  s = sd_text(sd);
  LocalFree(sd);
  return s;
}

/* Reads the pipe's descriptor through a client handle, as any client can:
 * GENERIC_READ includes READ_CONTROL. */
static char *pipe_sd_text(HANDLE h, SECURITY_DESCRIPTOR_CONTROL *control) {
  PSECURITY_DESCRIPTOR sd = NULL;
  DWORD rev;
  char *s;
  if (GetSecurityInfo(h, SE_KERNEL_OBJECT,
                      OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION |
                          DACL_SECURITY_INFORMATION,
                      NULL, NULL, NULL, NULL, &sd) != ERROR_SUCCESS)
    return NULL;
  GetSecurityDescriptorControl(sd, control, &rev);
  s = sd_text(sd);
  LocalFree(sd);
  return s;
}

SB_TEST(pipe_descriptor_is_the_designed_one_for_each_clients_value) {
  static const struct {
    const wchar_t *args;
    const char *client_ace; /* after the broker user's own entry */
  } cases[] = {
      {L"", ""}, /* auto: owner in console mode */
      {L"--clients owner", ""},
      {L"--clients interactive", "(A;;0x12008b;;;IU)"},
      {L"--clients authenticated", "(A;;0x12008b;;;AU)"},
  };
  char user[192];
  REQUIRE(sbt_own_sid(user, sizeof user) == 0);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    sbt_broker b;
    HANDLE h;
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    char want[1024], *want_n, *got;
    /* The broker runs as this test's user, from the same logon: it denies
     * NETWORK unless that logon holds NETWORK itself (docs/security.md). */
    snprintf(want, sizeof want,
             "O:%sG:%sD:P%s(D;;FA;;;AN)(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;%s)%s", user, user,
             member_of(WinNetworkSid) ? "" : "(D;;FA;;;NU)", user, cases[i].client_ace);
    REQUIRE(sbt_broker_start(&b, cases[i].args) == 0);
    h = sbt_pipe_open(&b);
    REQUIRE(h != NULL);
    got = pipe_sd_text(h, &control);
    want_n = normalized(want);
    CHECK(want_n != NULL);
    CHECK(got != NULL);
    if (got != NULL && want_n != NULL && strcmp(got, want_n) != 0)
      SB__FAIL("%ls: the pipe's descriptor is\n  %s\nnot\n  %s", cases[i].args, got, want_n);
    /* Protected: nothing inherited from the pipe namespace joins the list. */
    CHECK(control & SE_DACL_PROTECTED);
    free(got);
    free(want_n);
    CloseHandle(h);
    sbt_broker_stop(&b);
  }
}

/* ------------------------------------------------------------------------ */
/* A name that is already served                                            */

SB_TEST(a_second_broker_on_the_same_name_refuses_to_start) {
  sbt_broker a;
  sbt_run r;
  wchar_t args[256];
  HANDLE h;
  REQUIRE(sbt_broker_start(&a, NULL) == 0);
  _snwprintf(args, 256, L"run --pipe %ls", a.pipe);
  /* A broker that did not refuse would serve until it is killed at the
   * timeout, and sbt_run_capture would then say SB_E_TIMEOUT. */
  CHECK_INT(sbt_run_capture(L"spawnbroker.exe", args, 30000, &r), 0);
  CHECK_INT(r.exit_code, 1);
  CHECK(strstr(r.err, "already exists") != NULL);
  CHECK(strstr(r.err, "refusing to start") != NULL);
  /* The first broker is untouched and still the only server. */
  h = greeted(&a);
  CHECK(h != NULL);
  if (h != NULL) CloseHandle(h);
  sbt_broker_stop(&a);
}

SB_TEST(a_broker_refuses_a_name_another_program_serves) {
  wchar_t name[128], args[256];
  sbt_run r;
  DWORD state = 0, count = 0;
  HANDLE squat;
  /* A squatter's pipe: default security, any number of instances, so that
   * under Wine (which does not enforce FILE_FLAG_FIRST_PIPE_INSTANCE) the
   * broker could add its instances to it if it did not count them. */
  _snwprintf(name, 128, L"\\\\.\\pipe\\sb-test-squat-%lu", GetCurrentProcessId());
  squat = CreateNamedPipeW(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_WAIT,
                           PIPE_UNLIMITED_INSTANCES, 4096, 4096, 0, NULL);
  REQUIRE(squat != INVALID_HANDLE_VALUE);
  _snwprintf(args, 256, L"run --pipe %ls", name);
  CHECK_INT(sbt_run_capture(L"spawnbroker.exe", args, 30000, &r), 0);
  CHECK_INT(r.exit_code, 1);
  CHECK(strstr(r.err, "already exists") != NULL);
  /* The broker left none of its instances behind. */
  CHECK(GetNamedPipeHandleStateW(squat, &state, &count, NULL, NULL, NULL, 0));
  CHECK_INT(count, 1);
  CloseHandle(squat);
}

/* ------------------------------------------------------------------------ */
/* The backlog                                                              */

typedef struct watch {
  const wchar_t *name;
  volatile LONG stop;
  volatile LONG missing; /* times the name did not exist */
  volatile LONG looks;
} watch;

static DWORD WINAPI watch_name(void *arg) {
  watch *w = arg;
  while (!w->stop) {
    /* ERROR_FILE_NOT_FOUND only when the pipe has no instance at all;
     * busy or free instances mean the name is held. */
    if (!WaitNamedPipeW(w->name, 1) && GetLastError() == ERROR_FILE_NOT_FOUND)
      InterlockedIncrement(&w->missing);
    InterlockedIncrement(&w->looks);
  }
  return 0;
}

SB_TEST(the_name_stays_held_and_new_instances_listen_while_connections_stay_open) {
  enum { OPEN = 12 }; /* three times the backlog */
  sbt_broker b;
  watch w = {0};
  HANDLE conns[OPEN], t;
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  w.name = b.pipe;
  t = CreateThread(NULL, 0, watch_name, &w, 0, NULL);
  REQUIRE(t != NULL);
  for (int i = 0; i < OPEN; i++) {
    conns[i] = greeted(&b);
    CHECK(conns[i] != NULL);
  }
  /* Connections come and go: the accepted instances are replaced before
   * they are handed on, so the name never disappears. */
  for (int round = 0; round < 20; round++) {
    HANDLE h = greeted(&b);
    CHECK(h != NULL);
    if (h != NULL) CloseHandle(h);
  }
  InterlockedExchange(&w.stop, 1);
  WaitForSingleObject(t, EVENTUALLY_MS);
  CloseHandle(t);
  CHECK(w.looks > 0);
  CHECK_INT(w.missing, 0);
  for (int i = 0; i < OPEN; i++)
    if (conns[i] != NULL) CloseHandle(conns[i]);
  sbt_broker_stop(&b);
}

/* ------------------------------------------------------------------------ */
/* limits.connections                                                       */

SB_TEST(connections_at_the_limit_are_served_and_one_past_it_is_refused) {
  enum { LIMIT = 3 };
  sbt_broker b;
  HANDLE conns[LIMIT], extra, later = NULL;
  sb_stats_result st;
  REQUIRE(sbt_broker_start(&b, L"--set limits.connections=3") == 0);
  for (int i = 0; i < LIMIT; i++) {
    conns[i] = greeted(&b);
    REQUIRE(conns[i] != NULL);
  }
  /* One past the limit: refused at once, before it sent anything. */
  extra = sbt_pipe_open(&b);
  REQUIRE(extra != NULL);
  check_ended_by(extra, "limits.connections");
  CloseHandle(extra);
  REQUIRE(stats_on(conns[0], &st) == 0);
  CHECK_INT(st.limit_connections, 1);
  CHECK_INT(st.connections_current, LIMIT);
  /* The broker serves on: a closed connection makes room for a new one
   * (once the broker has seen it close). */
  CloseHandle(conns[LIMIT - 1]);
  for (int tries = 0; tries < 100 && later == NULL; tries++) {
    later = greeted(&b);
    if (later == NULL) Sleep(200);
  }
  CHECK(later != NULL);
  if (later != NULL) CloseHandle(later);
  for (int i = 0; i < LIMIT - 1; i++) CloseHandle(conns[i]);
  sbt_broker_stop(&b);
}

/* ------------------------------------------------------------------------ */
/* limits.frame_bytes                                                       */

SB_TEST(frame_bytes_at_the_limit_is_served_and_one_past_it_ends_the_connection) {
  sbt_broker b;
  sb_incoming in;
  sb_result res;
  sb_stats_result st;
  char raw[4096];
  char *at = padded_ping(1024), *past = padded_ping(1025);
  HANDLE h = NULL, other = NULL;
  REQUIRE(at != NULL && past != NULL);
  REQUIRE(sbt_broker_start(&b, L"--set limits.frame_bytes=1024") == 0);
  h = sbt_pipe_open(&b);
  other = greeted(&b);
  REQUIRE(h != NULL && other != NULL);
  /* hello reports the configured limit. */
  REQUIRE(call(h, HELLO, &in, raw, sizeof raw) == 0);
  REQUIRE(sb_decode_result(&in, SB_METHOD_HELLO, &res) == 0);
  CHECK_INT(res.u.hello.max_frame_bytes, 1024);
  sb_result_free(&res);
  sb_incoming_free(&in);
  /* Exactly 1024 bytes before the newline: a ping like any other. */
  REQUIRE(call(h, at, &in, raw, sizeof raw) == 0);
  CHECK_INT(in.kind, SB_INCOMING_RESULT);
  sb_incoming_free(&in);
  /* 1025: FrameTooLarge, naming the setting, and the end of the stream. */
  REQUIRE(call(h, past, &in, raw, sizeof raw) == 0);
  CHECK_STR(in.error.name, "FrameTooLarge");
  CHECK_INT(in.id.kind, SB_ID_NULL);
  CHECK(in.error.detail != NULL && strstr(in.error.detail, "limits.frame_bytes") != NULL);
  sb_incoming_free(&in);
  CHECK_INT(wait_readable(h, EVENTUALLY_MS), -1);
  /* Counted, and nobody else noticed. */
  REQUIRE(stats_on(other, &st) == 0);
  CHECK_INT(st.limit_frame_bytes, 1);
  CloseHandle(h);
  CloseHandle(other);
  free(at);
  free(past);
  sbt_broker_stop(&b);
}

SB_TEST(a_frame_that_never_ends_is_cut_without_reading_the_rest) {
  sbt_broker b;
  static char chunk[4096];
  size_t written = 0;
  sb_incoming in;
  char raw[4096];
  HANDLE h, other;
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  h = sbt_pipe_open(&b);
  other = greeted(&b);
  REQUIRE(h != NULL && other != NULL);
  memset(chunk, ' ', sizeof chunk);
  /* 16 MiB that never reach a newline: the broker stops reading after
   * limits.frame_bytes + 1, answers and closes, so the writes fail long
   * before the end. What it ever holds is one frame's worth. */
  while (written < 16u * 1024 * 1024 && sbt_pipe_write(h, chunk, sizeof chunk) == 0)
    written += sizeof chunk;
  CHECK(written < 1024u * 1024);
  REQUIRE(next_frame(h, EVENTUALLY_MS, &in, raw, sizeof raw) == 0);
  CHECK_STR(in.error.name, "FrameTooLarge");
  sb_incoming_free(&in);
  CHECK_INT(wait_readable(h, EVENTUALLY_MS), -1);
  CloseHandle(h);
  REQUIRE(call(other, PING "\n", &in, raw, sizeof raw) == 0);
  CHECK_INT(in.kind, SB_INCOMING_RESULT);
  sb_incoming_free(&in);
  CloseHandle(other);
  sbt_broker_stop(&b);
}

/* ------------------------------------------------------------------------ */
/* limits.request_deadline_ms                                               */

/* Sends frame one byte at a time, every `gap` ms, until it is sent or the
 * broker answered. Returns the bytes sent. */
static size_t trickle(HANDLE h, const char *frame, DWORD gap) {
  size_t n = strlen(frame), i;
  for (i = 0; i < n; i++) {
    if (wait_readable(h, 0) != 0) break;
    if (sbt_pipe_write(h, frame + i, 1) != 0) break;
    Sleep(gap);
  }
  return i;
}

SB_TEST(a_frame_within_the_deadline_is_served_and_a_trickled_one_is_cut_off) {
  sbt_broker b;
  sb_incoming in;
  sb_stats_result st;
  char raw[1024];
  size_t sent;
  HANDLE slow, other;
  /* 2 s for a whole frame; the trickle below needs about 7 s. */
  REQUIRE(sbt_broker_start(&b, L"--set limits.request_deadline_ms=2000") == 0);
  other = greeted(&b);
  slow = sbt_pipe_open(&b);
  REQUIRE(other != NULL && slow != NULL);
  /* In two pieces, well inside the deadline: served. */
  REQUIRE(sbt_pipe_write(other, "{\"jsonrpc\":\"2.0\",", 17) == 0);
  Sleep(100);
  REQUIRE(call(other, "\"id\":2,\"method\":\"ping\"}\n", &in, raw, sizeof raw) == 0);
  CHECK_INT(in.kind, SB_INCOMING_RESULT);
  sb_incoming_free(&in);
  /* Slowloris: one byte every 150 ms. Cut off before the frame is whole. */
  sent = trickle(slow, PING "\n", 150);
  CHECK(sent < strlen(PING "\n"));
  check_ended_by(slow, "limits.request_deadline_ms");
  CloseHandle(slow);
  /* The other client was served throughout, and the cut was counted. */
  REQUIRE(stats_on(other, &st) == 0);
  CHECK_INT(st.limit_request_deadlines, 1);
  CloseHandle(other);
  sbt_broker_stop(&b);
}

SB_TEST(a_client_that_never_reads_its_last_reply_is_closed_after_the_deadline) {
  sbt_broker b;
  sb_stats_result st = {0};
  char line[1024];
  size_t len, pongs = 0;
  HANDLE deaf, other;
  int rc;
  REQUIRE(sbt_broker_start(&b, L"--set limits.request_deadline_ms=1000") == 0);
  other = greeted(&b);
  deaf = sbt_pipe_open(&b);
  REQUIRE(other != NULL && deaf != NULL);
  /* 500 pongs fill the pipe's buffer many times over; then a frame that
   * cannot be parsed, whose error reply can never be written because this
   * client reads nothing. */
  for (int i = 0; i < 500; i++) REQUIRE(sbt_pipe_write(deaf, PING "\n", strlen(PING "\n")) == 0);
  REQUIRE(sbt_pipe_write(deaf, "x\n", 2) == 0);
  for (int tries = 0; tries < 100 && st.limit_request_deadlines == 0; tries++) {
    Sleep(200);
    REQUIRE(stats_on(other, &st) == 0);
  }
  CHECK_INT(st.limit_request_deadlines, 1);
  /* What the pipe still held are pongs; the ParseError never left. */
  while ((rc = sbt_pipe_read_line(deaf, line, sizeof line, &len)) == 0) {
    CHECK(strstr(line, "\"pong\":true") != NULL);
    pongs++;
  }
  CHECK_INT(rc, SB_E_CLOSED);
  CHECK(pongs < 500);
  CloseHandle(deaf);
  CloseHandle(other);
  sbt_broker_stop(&b);
}

/* ------------------------------------------------------------------------ */
/* limits.idle_timeout_ms                                                   */

SB_TEST(an_idle_connection_is_closed_and_an_active_one_is_not) {
  sbt_broker b;
  sb_incoming in;
  sb_stats_result st;
  char raw[1024];
  HANDLE idle, active;
  ULONGLONG until;
  REQUIRE(sbt_broker_start(&b, L"--set limits.idle_timeout_ms=3000") == 0);
  idle = greeted(&b);
  active = greeted(&b);
  REQUIRE(idle != NULL && active != NULL);
  /* A ping every 250 ms, for twice the timeout: never idle that long. */
  until = GetTickCount64() + 6000;
  while (GetTickCount64() < until) {
    REQUIRE(call(active, PING "\n", &in, raw, sizeof raw) == 0);
    CHECK_INT(in.kind, SB_INCOMING_RESULT);
    sb_incoming_free(&in);
    Sleep(250);
  }
  /* Meanwhile the silent one was closed, saying why. */
  check_ended_by(idle, "limits.idle_timeout_ms");
  CloseHandle(idle);
  REQUIRE(stats_on(active, &st) == 0);
  CHECK_INT(st.limit_idle_timeouts, 1);
  /* Silent from now on, the active one goes the same way. */
  check_ended_by(active, "limits.idle_timeout_ms");
  CloseHandle(active);
  sbt_broker_stop(&b);
}

/* Encodes and sends a spawn of sb_child with args on a raw connection. */
static int send_spawn(HANDLE h, const char *const *args, size_t nargs, sb_lifetime lifetime,
                      bool notify) {
  sb_request req;
  sb_buf buf = {0};
  sb_decode_error derr;
  int rc;
  sb_request_init(&req, SB_METHOD_SPAWN, 0);
  sb_id_set_number(&req.id, 10);
  req.params.spawn.program = sbt_child_path();
  req.params.spawn.args = args;
  req.params.spawn.nargs = nargs;
  req.params.spawn.lifetime = lifetime;
  req.params.spawn.notify_exit = notify;
  rc = sb_encode_request(&req, &buf, &derr);
  if (rc == 0) rc = sbt_pipe_write(h, buf.data, buf.len);
  sb_buf_free(&buf);
  return rc;
}

/* Spawns sb_child sleeping ms; returns its pid, or 0. */
static uint32_t spawn_sleeper(HANDLE h, const char *ms, sb_lifetime lifetime, bool notify) {
  const char *args[] = {"sleep", ms};
  sb_incoming in;
  sb_result res;
  char raw[4096];
  uint32_t pid = 0;
  if (send_spawn(h, args, 2, lifetime, notify) != 0) return 0;
  if (next_frame(h, EVENTUALLY_MS, &in, raw, sizeof raw) != 0) return 0;
  if (sb_decode_result(&in, SB_METHOD_SPAWN, &res) == 0) {
    pid = res.u.spawn.pid;
    sb_result_free(&res);
  } else {
    fprintf(stderr, "spawn failed: %s\n", raw);
  }
  sb_incoming_free(&in);
  return pid;
}

SB_TEST(a_connection_with_children_it_waits_for_is_not_idle) {
  sbt_broker b;
  sb_incoming in;
  char raw[1024], wait_frame[128];
  HANDLE lifetime, notify, waiting, plain;
  uint32_t pid_plain;
  HANDLE plain_child;
  /* The shortest idle timeout; each child sleeps far past it, so that even
   * slow spawns leave them running while the plain connection goes. */
  REQUIRE(sbt_broker_start(&b, L"--set limits.idle_timeout_ms=1000") == 0);
  lifetime = greeted(&b);
  notify = greeted(&b);
  waiting = greeted(&b);
  plain = greeted(&b);
  REQUIRE(lifetime != NULL && notify != NULL && waiting != NULL && plain != NULL);
  /* A connection-lifetime child dies with its connection; an exit event
   * is still to come; a wait is still to be answered. */
  CHECK(spawn_sleeper(lifetime, "15000", SB_LIFETIME_CONNECTION, false) != 0);
  CHECK(spawn_sleeper(notify, "15000", SB_LIFETIME_BROKER, true) != 0);
  {
    uint32_t pid = spawn_sleeper(waiting, "15000", SB_LIFETIME_BROKER, false);
    CHECK(pid != 0);
    snprintf(wait_frame, sizeof wait_frame,
             "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"wait\",\"params\":{\"pid\":%lu}}\n",
             (unsigned long)pid);
    CHECK_INT(sbt_pipe_write(waiting, wait_frame, strlen(wait_frame)), 0);
  }
  /* A broker-lifetime child nobody waits for keeps nothing in flight. */
  pid_plain = spawn_sleeper(plain, "15000", SB_LIFETIME_BROKER, false);
  CHECK(pid_plain != 0);
  plain_child = OpenProcess(SYNCHRONIZE | PROCESS_TERMINATE, FALSE, pid_plain);
  CHECK(plain_child != NULL);
  check_ended_by(plain, "limits.idle_timeout_ms");
  /* ...and closing that connection left its child running. */
  if (plain_child != NULL) {
    CHECK_INT(WaitForSingleObject(plain_child, 0), WAIT_TIMEOUT);
    TerminateProcess(plain_child, 0);
    CloseHandle(plain_child);
  }
  /* The three busy ones are still open, with nothing sent to them. */
  CHECK_INT(wait_readable(lifetime, 0), 0);
  CHECK_INT(wait_readable(notify, 0), 0);
  CHECK_INT(wait_readable(waiting, 0), 0);
  /* Once their children exit they are idle too: the event and the wait
   * reply come first, then the idle close. */
  REQUIRE(next_frame(notify, 2 * EVENTUALLY_MS, &in, raw, sizeof raw) == 0);
  CHECK_INT(in.kind, SB_INCOMING_EVENT);
  sb_incoming_free(&in);
  REQUIRE(next_frame(waiting, 2 * EVENTUALLY_MS, &in, raw, sizeof raw) == 0);
  CHECK_INT(in.kind, SB_INCOMING_RESULT);
  sb_incoming_free(&in);
  check_ended_by(lifetime, "limits.idle_timeout_ms");
  check_ended_by(notify, "limits.idle_timeout_ms");
  check_ended_by(waiting, "limits.idle_timeout_ms");
  CloseHandle(lifetime);
  CloseHandle(notify);
  CloseHandle(waiting);
  CloseHandle(plain);
  sbt_broker_stop(&b);
}

/* ------------------------------------------------------------------------ */
/* D5: many idle and slow clients                                           */

typedef struct slowloris {
  const sbt_broker *b;
  HANDLE h;
  size_t sent;
} slowloris;

static DWORD WINAPI run_slowloris(void *arg) {
  slowloris *s = arg;
  s->sent = trickle(s->h, PING "\n", 150);
  return 0;
}

SB_TEST(d5_idle_and_slow_clients_hold_the_limits_and_a_new_client_is_served) {
  enum { LIMIT = 6, SLOW = 3 };
  sbt_broker b;
  HANDLE idle[LIMIT - SLOW], threads[SLOW], refused, fresh = NULL;
  slowloris slow[SLOW];
  sb_incoming in;
  char raw[1024];
  REQUIRE(sbt_broker_start(&b, L"--set limits.connections=6 --set limits.idle_timeout_ms=1000 "
                               L"--set limits.request_deadline_ms=2000") == 0);
  /* The limit taken up by connections that say nothing after hello (the
   * round trip makes sure the broker took each of them on before the next
   * one: clients that connect at the same moment may be taken in any
   * order)... */
  for (int i = 0; i < LIMIT - SLOW; i++) {
    idle[i] = greeted(&b);
    REQUIRE(idle[i] != NULL);
  }
  /* ...and by slow ones that never finish a frame. */
  for (int i = 0; i < SLOW; i++) {
    slow[i].b = &b;
    slow[i].h = greeted(&b);
    REQUIRE(slow[i].h != NULL);
    threads[i] = CreateThread(NULL, 0, run_slowloris, &slow[i], 0, NULL);
    REQUIRE(threads[i] != NULL);
  }
  /* One more is refused while they hold every place. */
  refused = sbt_pipe_open(&b);
  REQUIRE(refused != NULL);
  check_ended_by(refused, "limits.connections");
  CloseHandle(refused);
  /* The idle ones go at their idle timeout, the slow ones at their
   * deadline; none stays. */
  for (int i = 0; i < LIMIT - SLOW; i++) {
    check_ended_by(idle[i], "limits.idle_timeout_ms");
    CloseHandle(idle[i]);
  }
  for (int i = 0; i < SLOW; i++) {
    WaitForSingleObject(threads[i], EVENTUALLY_MS * 2);
    CloseHandle(threads[i]);
    CHECK(slow[i].sent < strlen(PING "\n"));
    check_ended_by(slow[i].h, "limits.request_deadline_ms");
    CloseHandle(slow[i].h);
  }
  /* A new client is served. */
  for (int tries = 0; tries < 100 && fresh == NULL; tries++) {
    fresh = greeted(&b);
    if (fresh == NULL) Sleep(200);
  }
  REQUIRE(fresh != NULL);
  REQUIRE(call(fresh, PING "\n", &in, raw, sizeof raw) == 0);
  CHECK_INT(in.kind, SB_INCOMING_RESULT);
  sb_incoming_free(&in);
  {
    sb_stats_result st;
    REQUIRE(stats_on(fresh, &st) == 0);
    CHECK_INT(st.limit_idle_timeouts, LIMIT - SLOW);
    CHECK_INT(st.limit_request_deadlines, SLOW);
    CHECK(st.limit_connections >= 1);
  }
  CloseHandle(fresh);
  sbt_broker_stop(&b);
}

/* ------------------------------------------------------------------------ */
/* What only Windows enforces                                               */

/* Impersonates this process's own token with its user and Administrators
 * made deny-only: a caller that the access list grants nothing through
 * those entries, but that keeps its other groups (Interactive, ...). */
static bool impersonate_stranger(void) {
  HANDLE self = NULL, restricted = NULL;
  union {
    TOKEN_USER u;
    unsigned char b[256];
  } info;
  unsigned char admins[SECURITY_MAX_SID_SIZE];
  SID_AND_ATTRIBUTES off[2];
  DWORD len = sizeof admins;
  bool ok = false;
  if (!OpenProcessToken(GetCurrentProcess(),
                        TOKEN_DUPLICATE | TOKEN_QUERY | TOKEN_ASSIGN_PRIMARY | TOKEN_IMPERSONATE,
                        &self))
    return false;
  if (GetTokenInformation(self, TokenUser, &info, sizeof info, &len) &&
      (len = sizeof admins, CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, admins, &len))) {
    off[0].Sid = info.u.User.Sid;
    off[0].Attributes = 0;
    off[1].Sid = admins;
    off[1].Attributes = 0;
    ok = CreateRestrictedToken(self, 0, 2, off, 0, NULL, 0, NULL, &restricted) &&
         ImpersonateLoggedOnUser(restricted);
  }
  if (restricted != NULL) CloseHandle(restricted);
  CloseHandle(self);
  return ok;
}

static DWORD open_error(const wchar_t *name, DWORD access) {
  HANDLE h = CreateFileW(name, access, 0, NULL, OPEN_EXISTING,
                         SECURITY_SQOS_PRESENT | SECURITY_IMPERSONATION, NULL);
  DWORD e = h == INVALID_HANDLE_VALUE ? GetLastError() : 0;
  if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
  return e;
}

SB_TEST(windows_only_a_user_the_access_list_does_not_name_is_refused) {
  sbt_broker b;
  if (sbt_under_wine()) {
    printf("SKIP (Wine): Wine does not enforce access lists on pipes (docs/wine.md)\n");
    return;
  }
  /* owner: only SYSTEM, Administrators and the broker's own user. */
  REQUIRE(sbt_broker_start(&b, L"--clients owner") == 0);
  REQUIRE(impersonate_stranger());
  CHECK_INT(open_error(b.pipe, GENERIC_READ | FILE_WRITE_DATA), ERROR_ACCESS_DENIED);
  RevertToSelf();
  /* The broker's own user is let in. */
  CHECK_INT(open_error(b.pipe, GENERIC_READ | FILE_WRITE_DATA), 0);
  sbt_broker_stop(&b);
}

SB_TEST(windows_only_clients_may_read_and_write_but_never_create_instances) {
  sbt_broker b;
  HANDLE squat;
  DWORD e;
  if (sbt_under_wine()) {
    printf("SKIP (Wine): Wine does not enforce access lists on pipes (docs/wine.md)\n");
    return;
  }
  if (!member_of(WinInteractiveSid)) {
    printf("SKIP: this test runs outside an interactive logon, so --clients interactive "
           "does not name it\n");
    return;
  }
  REQUIRE(sbt_broker_start(&b, L"--clients interactive") == 0);
  REQUIRE(impersonate_stranger());
  /* Admitted as an interactive user, with read and write only. */
  CHECK_INT(open_error(b.pipe, GENERIC_READ | FILE_WRITE_DATA), 0);
  /* GENERIC_WRITE includes FILE_APPEND_DATA, the same bit as
   * FILE_CREATE_PIPE_INSTANCE, which the list never grants a client. */
  CHECK_INT(open_error(b.pipe, GENERIC_READ | GENERIC_WRITE), ERROR_ACCESS_DENIED);
  /* So a client cannot add an instance of its own to take over others. */
  squat = CreateNamedPipeW(b.pipe, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, PIPE_UNLIMITED_INSTANCES,
                           4096, 4096, 0, NULL);
  e = squat == INVALID_HANDLE_VALUE ? GetLastError() : 0;
  if (squat != INVALID_HANDLE_VALUE) CloseHandle(squat);
  CHECK_INT(e, ERROR_ACCESS_DENIED);
  RevertToSelf();
  sbt_broker_stop(&b);
}

SB_TEST(windows_only_a_remote_client_is_refused) {
  sbt_broker b;
  wchar_t remote[160];
  DWORD e;
  if (sbt_under_wine()) {
    printf("SKIP (Wine): Wine has no SMB redirector; \\\\127.0.0.1\\pipe\\ names fail with "
           "ERROR_PATH_NOT_FOUND before any pipe is reached (docs/wine.md)\n");
    return;
  }
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  /* Through the loopback SMB server, the connection is a remote one. */
  _snwprintf(remote, 160, L"\\\\127.0.0.1\\pipe\\%ls", b.pipe + 9);
  e = open_error(remote, GENERIC_READ | FILE_WRITE_DATA);
  if (e == ERROR_BAD_NETPATH || e == ERROR_NETWORK_UNREACHABLE || e == ERROR_BAD_NET_NAME) {
    printf("SKIP: no SMB server answers on this machine (error %lu), so no remote client "
           "can be tried\n",
           (unsigned long)e);
  } else {
    CHECK(e != 0);
  }
  sbt_broker_stop(&b);
}

SB_TEST_MAIN(SB_CASE(pipe_descriptor_is_the_designed_one_for_each_clients_value),
             SB_CASE(a_second_broker_on_the_same_name_refuses_to_start),
             SB_CASE(a_broker_refuses_a_name_another_program_serves),
             SB_CASE(the_name_stays_held_and_new_instances_listen_while_connections_stay_open),
             SB_CASE(connections_at_the_limit_are_served_and_one_past_it_is_refused),
             SB_CASE(frame_bytes_at_the_limit_is_served_and_one_past_it_ends_the_connection),
             SB_CASE(a_frame_that_never_ends_is_cut_without_reading_the_rest),
             SB_CASE(a_frame_within_the_deadline_is_served_and_a_trickled_one_is_cut_off),
             SB_CASE(a_client_that_never_reads_its_last_reply_is_closed_after_the_deadline),
             SB_CASE(an_idle_connection_is_closed_and_an_active_one_is_not),
             SB_CASE(a_connection_with_children_it_waits_for_is_not_idle),
             SB_CASE(d5_idle_and_slow_clients_hold_the_limits_and_a_new_client_is_served),
             SB_CASE(windows_only_a_user_the_access_list_does_not_name_is_refused),
             SB_CASE(windows_only_clients_may_read_and_write_but_never_create_instances),
             SB_CASE(windows_only_a_remote_client_is_refused))
