/*
 * Tests of the client library (client/spawnclient.h) and of spawnctl's
 * command line, under Wine.
 *
 * Two kinds of peer:
 *   - the real spawnbroker.exe, for what any broker does (hello, ping,
 *     stats, error replies, raw calls);
 *   - a fake broker inside this test process (a thread serving a named pipe
 *     with the proto library's own encoders), for what a test must control:
 *     events between replies, replies out of order or never, broken frames,
 *     push transfer, and exactly which spawn request spawnctl builds.
 * The fake broker is in this process, so in push mode the library pushes
 * handles into this very process, where the test can look at them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

#include "sb_proto.h"
#include "sb_test.h"
#include "sb_win_test.h"
#include "spawnclient.h"

/* ------------------------------------------------------------------------ */
/* The fake broker                                                          */

typedef struct fake fake;
/* Answers one request (hello is answered by the fake itself). */
typedef void (*fake_fn)(fake *f, const sb_request *req);

struct fake {
  wchar_t name[128];
  char name_utf8[128];
  HANDLE pipe; /* the server end; one instance */
  HANDLE thread;
  volatile LONG stop;
  /* hello */
  bool silent_hello;    /* never answer hello */
  sb_transfer transfer; /* what hello says */
  uint32_t hello_pid;   /* what hello says; 0: this process */
  fake_fn on_request;
  /* what the scripts use and record */
  int mode;                /* per-test choice of behaviour */
  volatile LONG frames;    /* frames received, hello included */
  volatile LONG requests;  /* requests seen after hello */
  volatile LONG holding;   /* a request is being held back */
  sb_id held;
  int64_t pushed[SB_LIMIT_HANDLES]; /* handle values of the last spawn */
  size_t npushed;
  char *spawn_frame;        /* the last spawn request, as sent */
  volatile LONG kills;
  uint32_t kill_code;
};

static void fake_send(fake *f, const char *text) {
  sbt_pipe_write(f->pipe, text, strlen(text));
}

static void fake_send_buf(fake *f, sb_buf *b) {
  if (b->data != NULL) sbt_pipe_write(f->pipe, b->data, b->len);
  sb_buf_free(b);
}

static void fake_result(fake *f, const sb_id *id, const sb_result *res) {
  sb_buf b = {0};
  sb_encode_result(id, res, &b);
  fake_send_buf(f, &b);
}

static void fake_error(fake *f, const sb_id *id, int err, const char *detail,
                       const char *path) {
  sb_buf b = {0};
  sb_encode_error(id, err, detail, path, &b);
  fake_send_buf(f, &b);
}

static void fake_exit_event(fake *f, uint32_t pid, uint32_t code) {
  sb_exit_info e;
  sb_buf b = {0};
  memset(&e, 0, sizeof e);
  e.pid = pid;
  e.exit_code = code;
  e.wall_ms = 5;
  sb_encode_exit_event(&e, &b);
  fake_send_buf(f, &b);
}

static void fake_exit_result(fake *f, const sb_id *id, uint32_t pid, uint32_t code) {
  sb_result res;
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_WAIT;
  res.u.wait.pid = pid;
  res.u.wait.exit_code = code;
  res.u.wait.wall_ms = 7;
  fake_result(f, id, &res);
}

static void fake_simple_result(fake *f, const sb_request *req) {
  sb_result res;
  memset(&res, 0, sizeof res);
  res.method = req->method;
  fake_result(f, &req->id, &res);
}

static void fake_hello(fake *f, const sb_request *req) {
  sb_result res;
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_HELLO;
  res.u.hello.protocol = 1;
  res.u.hello.broker_version = "fake";
  res.u.hello.pid = f->hello_pid != 0 ? f->hello_pid : GetCurrentProcessId();
  res.u.hello.transfer = f->transfer == SB_TRANSFER_PUSH ? SB_TRANSFER_PUSH : SB_TRANSFER_PULL;
  res.u.hello.max_frame_bytes = SB_LIMIT_FRAME_BYTES;
  res.u.hello.max_handles = SB_LIMIT_HANDLES;
  res.u.hello.max_args = SB_LIMIT_ARGS;
  res.u.hello.max_env = SB_LIMIT_ENV;
  fake_result(f, &req->id, &res);
}

/* Serves one client connection until it closes. */
static void fake_serve(fake *f, char *buf, size_t cap) {
  size_t len;
  while (sbt_pipe_read_line(f->pipe, buf, cap, &len) == 0) {
    sb_request req;
    sb_decode_error derr;
    InterlockedIncrement(&f->frames);
    if (sb_decode_request(buf, len, &req, &derr) != 0) {
      fake_error(f, &derr.id, derr.err, derr.detail, derr.path);
      continue;
    }
    if (req.method == SB_METHOD_HELLO) {
      if (!f->silent_hello) fake_hello(f, &req);
    } else {
      if (req.method == SB_METHOD_SPAWN) {
        free(f->spawn_frame);
        f->spawn_frame = _strdup(buf);
        f->npushed = req.params.spawn.nhandles;
        for (size_t i = 0; i < f->npushed; i++) f->pushed[i] = req.params.spawn.handles[i].value;
      }
      InterlockedIncrement(&f->requests);
      if (f->on_request != NULL)
        f->on_request(f, &req);
      else
        fake_simple_result(f, &req);
    }
    sb_request_free(&req);
  }
}

static DWORD WINAPI fake_thread(void *arg) {
  fake *f = arg;
  char *buf = malloc(SB_LIMIT_FRAME_BYTES + 2);
  while (buf != NULL && !f->stop) {
    if (!ConnectNamedPipe(f->pipe, NULL)) {
      DWORD e = GetLastError();
      /* A client that connected to the fresh instance and closed again
       * before this thread got here (one that refused the fake without
       * sending anything does): reset the instance and listen again,
       * rather than stop serving. */
      if (e == ERROR_NO_DATA) {
        DisconnectNamedPipe(f->pipe);
        continue;
      }
      if (e != ERROR_PIPE_CONNECTED) break;
    }
    if (f->stop) break;
    fake_serve(f, buf, SB_LIMIT_FRAME_BYTES + 2);
    FlushFileBuffers(f->pipe);
    DisconnectNamedPipe(f->pipe);
  }
  free(buf);
  return 0;
}

/* in_buffer: the pipe's inbound buffer, smaller to make a client's write
 * block while the fake does not read. */
static int fake_start_buffered(fake *f, fake_fn on_request, DWORD in_buffer) {
  static LONG counter;
  memset(f, 0, sizeof *f);
  f->on_request = on_request;
  f->transfer = SB_TRANSFER_PULL;
  _snwprintf(f->name, 128, L"\\\\.\\pipe\\sb-fake-%lu-%ld", GetCurrentProcessId(),
             InterlockedIncrement(&counter));
  WideCharToMultiByte(CP_UTF8, 0, f->name, -1, f->name_utf8, sizeof f->name_utf8, NULL, NULL);
  f->pipe = CreateNamedPipeW(f->name, PIPE_ACCESS_DUPLEX,
                             PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, 1, 65536, in_buffer,
                             0, NULL);
  if (f->pipe == INVALID_HANDLE_VALUE) return SB_E_IO;
  f->thread = CreateThread(NULL, 0, fake_thread, f, 0, NULL);
  return f->thread != NULL ? 0 : SB_E_INTERNAL;
}

static int fake_start(fake *f, fake_fn on_request) {
  return fake_start_buffered(f, on_request, 65536);
}

static void fake_stop(fake *f) {
  InterlockedExchange(&f->stop, 1);
  if (WaitForSingleObject(f->thread, 0) == WAIT_TIMEOUT) {
    /* Wake the thread out of ConnectNamedPipe with a connection that
     * closes at once. */
    HANDLE h = CreateFileW(f->name, GENERIC_READ | FILE_WRITE_DATA, 0, NULL, OPEN_EXISTING, 0,
                           NULL);
    if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
  }
  if (WaitForSingleObject(f->thread, 10000) != WAIT_OBJECT_0) {
    fprintf(stderr, "fake broker thread did not stop\n");
    TerminateThread(f->thread, 1);
  }
  CloseHandle(f->thread);
  CloseHandle(f->pipe);
  free(f->spawn_frame);
}

/* Waits until the fake has seen n requests after hello. */
static bool fake_wait_requests(fake *f, LONG n) {
  for (int i = 0; i < 1000; i++) {
    if (InterlockedCompareExchange(&f->requests, 0, 0) >= n) return true;
    Sleep(10);
  }
  return false;
}

static bool handle_is_open(int64_t v) {
  DWORD flags;
  return GetHandleInformation((HANDLE)(intptr_t)v, &flags) != 0;
}

static DWORD elapsed_since(ULONGLONG t0) { return (DWORD)(GetTickCount64() - t0); }

/* ------------------------------------------------------------------------ */
/* Against the real broker                                                  */

SB_TEST(connect_reports_hello_and_broker_pid) {
  sbt_broker b;
  sb_client *c = NULL;
  const sb_hello_result *h;
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  CHECK_INT(sb_client_connect(b.pipe_utf8, 10000, &c), 0);
  if (c != NULL) {
    h = sb_client_hello_result(c);
    CHECK_INT(h->protocol, SB_PROTOCOL_VERSION);
    CHECK_INT(h->pid, b.pid);
    CHECK(h->transfer == SB_TRANSFER_PULL || h->transfer == SB_TRANSFER_PUSH);
    CHECK_STR(h->broker_version, SB_VERSION);
    CHECK_INT(h->max_frame_bytes, SB_LIMIT_FRAME_BYTES);
    CHECK_INT(h->max_handles, SB_LIMIT_HANDLES);
    CHECK_INT(h->max_args, SB_LIMIT_ARGS);
    CHECK_INT(h->max_env, SB_LIMIT_ENV);
    CHECK_STR(sb_client_pipe_name(c), b.pipe_utf8);
    CHECK(sb_client_last_error(c) == NULL);
  }
  sb_client_close(c);
  sbt_broker_stop(&b);
}

SB_TEST(bare_pipe_name_goes_under_pipe_folder) {
  sbt_broker b;
  sb_client *c = NULL;
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  /* "\\.\pipe\sb-test-..." without its folder. */
  CHECK_INT(sb_client_connect(b.pipe_utf8 + strlen("\\\\.\\pipe\\"), 10000, &c), 0);
  if (c != NULL) CHECK_STR(sb_client_pipe_name(c), b.pipe_utf8);
  sb_client_close(c);
  sbt_broker_stop(&b);
}

SB_TEST(ping_and_stats) {
  sbt_broker b;
  sb_client *c = NULL;
  sb_stats_result st;
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  REQUIRE(sb_client_connect(b.pipe_utf8, 10000, &c) == 0);
  CHECK_INT(sb_client_ping(c), 0);
  CHECK_INT(sb_client_ping(c), 0);
  CHECK_INT(sb_client_stats(c, &st), 0);
  CHECK(st.connections_current >= 1);
  CHECK(st.connections_total >= 1);
  CHECK(st.requests_total >= 3); /* hello and two pings at least */
  sb_client_close(c);
  sbt_broker_stop(&b);
}

typedef struct pinger {
  sb_client *c;
  int failures;
} pinger;

static DWORD WINAPI ping_many(void *arg) {
  pinger *p = arg;
  for (int i = 0; i < 40; i++) {
    if (sb_client_ping(p->c) != 0) p->failures++;
  }
  return 0;
}

SB_TEST(threads_share_one_connection) {
  sbt_broker b;
  sb_client *c = NULL;
  pinger pingers[8];
  HANDLE threads[8];
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  REQUIRE(sb_client_connect(b.pipe_utf8, 10000, &c) == 0);
  for (int i = 0; i < 8; i++) {
    pingers[i] = (pinger){c, 0};
    threads[i] = CreateThread(NULL, 0, ping_many, &pingers[i], 0, NULL);
    REQUIRE(threads[i] != NULL);
  }
  CHECK_INT(WaitForMultipleObjects(8, threads, TRUE, 60000), WAIT_OBJECT_0);
  for (int i = 0; i < 8; i++) {
    CHECK_INT(pingers[i].failures, 0);
    CloseHandle(threads[i]);
  }
  CHECK_INT(sb_client_ping(c), 0);
  sb_client_close(c);
  sbt_broker_stop(&b);
}

SB_TEST(broker_error_reply_surfaces_as_its_code) {
  sbt_broker b;
  sb_client *c = NULL;
  sb_kill_result k;
  const sb_rpc_error *e;
  int rc;
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  REQUIRE(sb_client_connect(b.pipe_utf8, 10000, &c) == 0);
  /* pid 4 is never a child of this client: a broker that does not spawn
   * yet refuses kill as MethodNotFound, one that does as NoSuchChild. */
  rc = sb_client_kill(c, 4, 1, &k);
  CHECK(rc == SB_E_NO_SUCH_CHILD || rc == SB_E_METHOD_NOT_FOUND);
  e = sb_client_last_error(c);
  REQUIRE(e != NULL);
  CHECK_INT(e->err, rc);
  CHECK_STR(e->name, sb_err_name(rc));
  CHECK_STR(e->message, sb_err_message(rc));
  CHECK_INT(e->rpc_code, sb_err_rpc_code(rc));
  /* The connection is still good. */
  CHECK_INT(sb_client_ping(c), 0);
  sb_client_close(c);
  sbt_broker_stop(&b);
}

SB_TEST(call_raw_returns_the_reply_frame) {
  sbt_broker b;
  sb_client *c = NULL;
  char *reply = NULL;
  const sb_rpc_error *e;
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  REQUIRE(sb_client_connect(b.pipe_utf8, 10000, &c) == 0);

  CHECK_INT(sb_client_call_raw(c, "ping", NULL, &reply), 0);
  CHECK(reply != NULL && strstr(reply, "\"result\":{\"pong\":true}") != NULL);
  sb_client_free(reply);

  /* An unknown method: the error's code, the frame, and the details. */
  CHECK_INT(sb_client_call_raw(c, "frobnicate", NULL, &reply), SB_E_METHOD_NOT_FOUND);
  CHECK(reply != NULL && strstr(reply, "\"name\":\"MethodNotFound\"") != NULL);
  sb_client_free(reply);
  e = sb_client_last_error(c);
  REQUIRE(e != NULL);
  CHECK_STR(e->name, "MethodNotFound");
  CHECK(e->detail != NULL && strstr(e->detail, "frobnicate") != NULL);
  CHECK_STR(e->path, "method");

  /* Params go as they are (pretty-printed too), judged by the broker. */
  CHECK_INT(sb_client_call_raw(c, "wait", "{\n  \"pid\": 0\n}\n", &reply), SB_E_OUT_OF_RANGE);
  CHECK(reply != NULL && strstr(reply, "\"path\":\"params.pid\"") != NULL);
  sb_client_free(reply);
  e = sb_client_last_error(c);
  CHECK(e != NULL && e->path != NULL && strcmp(e->path, "params.pid") == 0);

  /* A method name is escaped, so it cannot break the envelope. */
  CHECK_INT(sb_client_call_raw(c, "a\"b\\c\n", NULL, &reply), SB_E_METHOD_NOT_FOUND);
  sb_client_free(reply);

  /* A raw line break inside a string cannot be sent in one frame. */
  CHECK_INT(sb_client_call_raw(c, "wait", "{\"x\":\"a\nb\"}", &reply), SB_E_INVALID_ARGUMENT);
  CHECK(reply == NULL);
  CHECK_INT(sb_client_ping(c), 0);
  sb_client_close(c);
  sbt_broker_stop(&b);
}

SB_TEST(call_raw_unparseable_params_end_the_connection) {
  sbt_broker b;
  sb_client *c = NULL;
  char *reply = NULL;
  const sb_rpc_error *e;
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  REQUIRE(sb_client_connect(b.pipe_utf8, 10000, &c) == 0);
  CHECK_INT(sb_client_call_raw(c, "wait", "{", &reply), SB_E_PARSE);
  CHECK(reply != NULL && strstr(reply, "\"id\":null") != NULL);
  CHECK(reply != NULL && strstr(reply, "\"name\":\"ParseError\"") != NULL);
  sb_client_free(reply);
  /* The broker closes after a parse error; later calls fail the same way. */
  CHECK_INT(sb_client_ping(c), SB_E_PARSE);
  e = sb_client_last_error(c);
  CHECK(e != NULL && strcmp(e->name, "ParseError") == 0);
  sb_client_close(c);
  sbt_broker_stop(&b);
}

SB_TEST(invalid_requests_are_refused_before_sending) {
  static const char *const env[] = {"A=1", "NOEQUALS"};
  sbt_broker b;
  sb_client *c = NULL;
  const sb_rpc_error *le;
  sb_spawn_params p;
  sb_spawn_result r;
  sb_exit_info e;
  sb_stats_result st;
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  REQUIRE(sb_client_connect(b.pipe_utf8, 10000, &c) == 0);
  sb_spawn_params_init(&p);
  p.program = "x.exe";
  p.handles[0] = (sb_handle_spec){"in", -1, -1}; /* the current-process pseudo handle */
  p.nhandles = 1;
  CHECK_INT(sb_client_spawn(c, &p, &r), SB_E_INVALID_HANDLE_VALUE);
  CHECK_STR(sb_client_last_error(c)->name, "InvalidHandleValue");
  CHECK_STR(sb_client_last_error(c)->path, "params.handles[0].value");
  /* The refusal names the field and says why, as the broker would. */
  p.nhandles = 0;
  p.env = env;
  p.nenv = 2;
  CHECK_INT(sb_client_spawn(c, &p, &r), SB_E_INVALID_ENV_ENTRY);
  le = sb_client_last_error(c);
  REQUIRE(le != NULL);
  CHECK_STR(le->name, "InvalidEnvEntry");
  CHECK_STR(le->path, "params.env[1]");
  CHECK(le->detail != NULL && strstr(le->detail, "NOEQUALS") != NULL);
  p.nenv = 0;
  p.nhandles = SB_LIMIT_HANDLES + 1;
  CHECK_INT(sb_client_spawn(c, &p, &r), SB_E_TOO_MANY_HANDLES);
  CHECK_STR(sb_client_last_error(c)->path, "params.handles");
  CHECK_INT(sb_client_wait(c, 0, SB_CLIENT_INFINITE, &e), SB_E_OUT_OF_RANGE);
  CHECK_STR(sb_client_last_error(c)->path, "params.pid");
  CHECK_INT(sb_client_spawn(c, NULL, &r), SB_E_INVALID_ARGUMENT);
  /* Nothing was sent: the broker counted no error. */
  CHECK_INT(sb_client_stats(c, &st), 0);
  CHECK_INT(st.errors_total, 0);
  sb_client_close(c);
  sbt_broker_stop(&b);
}

SB_TEST(no_broker_is_closed_at_once) {
  sb_client *c = (sb_client *)1;
  const sb_rpc_error *e;
  ULONGLONG t0 = GetTickCount64();
  CHECK_INT(sb_client_connect("sb-test-nobody-listens-here", 10000, &c), SB_E_CLOSED);
  CHECK(c == NULL);
  CHECK(elapsed_since(t0) < 2000);
  e = sb_client_last_error(NULL);
  REQUIRE(e != NULL);
  CHECK_STR(e->name, "ConnectionClosed");
  CHECK(e->detail != NULL &&
        strstr(e->detail, "no broker is listening on \\\\.\\pipe\\sb-test-nobody-listens-here"));
}

SB_TEST(connect_times_out_while_every_instance_is_busy) {
  fake f;
  HANDLE taker;
  sb_client *c = NULL;
  ULONGLONG t0;
  DWORD ms;
  int rc = -1;
  REQUIRE(fake_start(&f, NULL) == 0);
  /* The fake has one instance; this connection takes it. */
  taker = CreateFileW(f.name, GENERIC_READ | FILE_WRITE_DATA, 0, NULL, OPEN_EXISTING, 0, NULL);
  CHECK(taker != INVALID_HANDLE_VALUE);
  t0 = GetTickCount64();
  rc = sb_client_connect(f.name_utf8, 400, &c);
  ms = elapsed_since(t0);
  CHECK_INT(rc, SB_E_TIMEOUT);
  CHECK(ms >= 300 && ms < 5000);
  CHECK(c == NULL);
  CHECK(sb_client_last_error(NULL) != NULL &&
        strcmp(sb_client_last_error(NULL)->name, "Timeout") == 0);
  sb_client_close(c);
  if (taker != INVALID_HANDLE_VALUE) CloseHandle(taker);
  fake_stop(&f);
}

/* A broker that refuses a connection (stopping, or at limits.connections)
 * writes its reason and closes its end at once, like broker/listener.c's
 * sb__listener_refuse: a fresh instance for each client, never
 * disconnected (that would discard the reason). */
typedef struct refuser {
  wchar_t name[128];
  char name_utf8[128];
  int clients;
  HANDLE ready; /* set when an instance listens */
} refuser;

static DWORD WINAPI refuser_main(void *arg) {
  refuser *r = arg;
  sb_buf reason = {0};
  sb_id none;
  memset(&none, 0, sizeof none);
  none.kind = SB_ID_NULL;
  if (sb_encode_error(&none, SB_E_SHUTTING_DOWN, NULL, NULL, &reason) != 0) return 1;
  for (int i = 0; i < r->clients; i++) {
    DWORD n;
    HANDLE h = CreateNamedPipeW(r->name, PIPE_ACCESS_DUPLEX,
                                PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
                                PIPE_UNLIMITED_INSTANCES, 4096, 4096, 0, NULL);
    if (h == INVALID_HANDLE_VALUE) break;
    SetEvent(r->ready);
    if (ConnectNamedPipe(h, NULL) || GetLastError() == ERROR_PIPE_CONNECTED)
      WriteFile(h, reason.data, (DWORD)reason.len, &n, NULL);
    CloseHandle(h);
  }
  sb_buf_free(&reason);
  return 0;
}

/* Regression: under load the broker's refusal could close the pipe before
 * the library wrote its hello, and the write's failure was all the caller
 * heard (ConnectionClosed, where ShuttingDown was waiting in the pipe). A
 * refuser that closes as soon as it has written wins that race most of the
 * time; every connect must still report the reason. */
SB_TEST(a_refusal_is_reported_even_when_the_broker_closed_before_hello) {
  static LONG counter;
  refuser r;
  sb_client_options o;
  HANDLE t;
  int closed = 0, refused = 0;
  sb_client_options_init(&o);
  o.transfer = SB_TRANSFER_PUSH;
  memset(&r, 0, sizeof r);
  r.clients = 40;
  _snwprintf(r.name, 128, L"\\\\.\\pipe\\sb-refuser-%lu-%ld", GetCurrentProcessId(),
             InterlockedIncrement(&counter));
  WideCharToMultiByte(CP_UTF8, 0, r.name, -1, r.name_utf8, sizeof r.name_utf8, NULL, NULL);
  r.ready = CreateEventW(NULL, FALSE, FALSE, NULL);
  t = CreateThread(NULL, 0, refuser_main, &r, 0, NULL);
  REQUIRE(t != NULL);
  for (int i = 0; i < r.clients; i++) {
    sb_client *c = NULL;
    int rc;
    if (WaitForSingleObject(r.ready, 10000) != WAIT_OBJECT_0) break;
    /* In push mode the library checks the server process before it
     * writes anything, which gives the refuser the time to close first. */
    rc = sb_client_connect_ex(r.name_utf8, 10000, &o, &c);
    if (rc == SB_E_SHUTTING_DOWN)
      refused++;
    else if (rc == SB_E_CLOSED)
      closed++;
    if (c != NULL) sb_client_close(c);
  }
  CHECK(WaitForSingleObject(t, 20000) == WAIT_OBJECT_0);
  CloseHandle(t);
  CloseHandle(r.ready);
  CHECK_INT(closed, 0);
  CHECK_INT(refused, r.clients);
}

SB_TEST(connect_times_out_without_hello_reply) {
  fake f;
  sb_client *c = NULL;
  ULONGLONG t0;
  REQUIRE(fake_start(&f, NULL) == 0);
  f.silent_hello = true;
  t0 = GetTickCount64();
  CHECK_INT(sb_client_connect(f.name_utf8, 400, &c), SB_E_TIMEOUT);
  CHECK(elapsed_since(t0) < 5000);
  CHECK(c == NULL);
  fake_stop(&f);
}

/* ------------------------------------------------------------------------ */
/* Against the fake broker                                                  */

/* ping: two exit events first, then the reply. */
static void events_before_reply(fake *f, const sb_request *req) {
  if (req->method == SB_METHOD_PING) {
    fake_exit_event(f, 101, 0);
    fake_exit_event(f, 102, 3);
  }
  fake_simple_result(f, req);
}

SB_TEST(events_are_queued_while_waiting_for_a_reply) {
  fake f;
  sb_client *c = NULL;
  sb_exit_info e;
  REQUIRE(fake_start(&f, events_before_reply) == 0);
  REQUIRE(sb_client_connect(f.name_utf8, 10000, &c) == 0);
  CHECK_INT(sb_client_ping(c), 0);
  CHECK_INT(sb_client_next_event(c, 0, &e), 0);
  CHECK_INT(e.pid, 101);
  CHECK_INT(e.exit_code, 0);
  CHECK_INT(sb_client_next_event(c, 0, &e), 0);
  CHECK_INT(e.pid, 102);
  CHECK_INT(e.exit_code, 3);
  CHECK_INT(e.wall_ms, 5);
  CHECK_INT(sb_client_next_event(c, 0, &e), SB_E_TIMEOUT);
  CHECK_INT(sb_client_next_event(c, 100, &e), SB_E_TIMEOUT);
  sb_client_close(c);
  fake_stop(&f);
}

/* stats: an event only, no reply, so next_event must read it itself. */
static void event_without_reply(fake *f, const sb_request *req) {
  if (req->method == SB_METHOD_STATS) {
    fake_exit_event(f, 55, 9);
    return;
  }
  fake_simple_result(f, req);
}

SB_TEST(next_event_reads_the_pipe_itself) {
  fake f;
  sb_client *c = NULL;
  sb_exit_info e;
  char *reply = NULL;
  REQUIRE(fake_start(&f, event_without_reply) == 0);
  REQUIRE(sb_client_connect(f.name_utf8, 10000, &c) == 0);
  /* A raw stats call that is never answered, so the event comes alone. */
  sb_client_set_call_timeout(c, 200);
  CHECK_INT(sb_client_call_raw(c, "stats", NULL, &reply), SB_E_TIMEOUT);
  CHECK(reply == NULL);
  CHECK_INT(sb_client_next_event(c, 5000, &e), 0);
  CHECK_INT(e.pid, 55);
  CHECK_INT(e.exit_code, 9);
  sb_client_close(c);
  fake_stop(&f);
}

/* wait is held back; ping is answered, then the held wait. */
static void out_of_order(fake *f, const sb_request *req) {
  if (req->method == SB_METHOD_WAIT) {
    f->held = req->id;
    InterlockedExchange(&f->holding, 1);
    return;
  }
  fake_simple_result(f, req);
  if (req->method == SB_METHOD_PING && f->holding) {
    fake_exit_result(f, &f->held, 7, 42);
    InterlockedExchange(&f->holding, 0);
  }
}

typedef struct waiter {
  sb_client *c;
  int rc;
  sb_exit_info e;
} waiter;

static DWORD WINAPI wait_seven(void *arg) {
  waiter *w = arg;
  w->rc = sb_client_wait(w->c, 7, SB_CLIENT_INFINITE, &w->e);
  return 0;
}

SB_TEST(replies_out_of_order_find_their_requests) {
  fake f;
  sb_client *c = NULL;
  waiter w;
  HANDLE t;
  REQUIRE(fake_start(&f, out_of_order) == 0);
  REQUIRE(sb_client_connect(f.name_utf8, 10000, &c) == 0);
  memset(&w, 0, sizeof w);
  w.c = c;
  w.rc = 1;
  t = CreateThread(NULL, 0, wait_seven, &w, 0, NULL);
  REQUIRE(t != NULL);
  CHECK(fake_wait_requests(&f, 1));
  /* The wait is in flight on another thread; this ping overtakes it. */
  CHECK_INT(sb_client_ping(c), 0);
  CHECK_INT(WaitForSingleObject(t, 10000), WAIT_OBJECT_0);
  CloseHandle(t);
  CHECK_INT(w.rc, 0);
  CHECK_INT(w.e.pid, 7);
  CHECK_INT(w.e.exit_code, 42);
  sb_client_close(c);
  fake_stop(&f);
}

/* The first ping is answered only with the second, which it precedes. */
static void late_reply(fake *f, const sb_request *req) {
  if (req->method != SB_METHOD_PING) {
    fake_simple_result(f, req);
  } else if (!f->holding) {
    f->held = req->id;
    InterlockedExchange(&f->holding, 1);
  } else {
    sb_result res;
    memset(&res, 0, sizeof res);
    res.method = SB_METHOD_PING;
    fake_result(f, &f->held, &res); /* late: its caller has given up */
    fake_result(f, &req->id, &res);
    InterlockedExchange(&f->holding, 0);
  }
}

SB_TEST(a_late_reply_is_dropped_after_a_timeout) {
  fake f;
  sb_client *c = NULL;
  REQUIRE(fake_start(&f, late_reply) == 0);
  REQUIRE(sb_client_connect(f.name_utf8, 10000, &c) == 0);
  sb_client_set_call_timeout(c, 300);
  CHECK_INT(sb_client_ping(c), SB_E_TIMEOUT);
  CHECK_STR(sb_client_last_error(c)->name, "Timeout");
  sb_client_set_call_timeout(c, 10000);
  CHECK_INT(sb_client_ping(c), 0);
  sb_client_close(c);
  fake_stop(&f);
}

/* Every request gets an error with a name newer than this client. */
static void future_error(fake *f, const sb_request *req) {
  char text[512];
  snprintf(text, sizeof text,
           "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"error\":{\"code\":-32050,\"message\":\"a new "
           "kind of refusal\",\"data\":{\"name\":\"FutureError\",\"detail\":\"d\u00e9tail\","
           "\"path\":\"params\",\"extra\":1}}}\n",
           (unsigned long long)req->id.number);
  fake_send(f, text);
}

SB_TEST(unknown_error_name_is_internal_with_name_kept) {
  fake f;
  sb_client *c = NULL;
  const sb_rpc_error *e;
  REQUIRE(fake_start(&f, future_error) == 0);
  REQUIRE(sb_client_connect(f.name_utf8, 10000, &c) == 0);
  CHECK_INT(sb_client_ping(c), SB_E_INTERNAL);
  e = sb_client_last_error(c);
  REQUIRE(e != NULL);
  CHECK_STR(e->name, "FutureError");
  CHECK_STR(e->message, "a new kind of refusal");
  CHECK_STR(e->detail, "d\u00e9tail");
  CHECK_STR(e->path, "params");
  CHECK_INT(e->rpc_code, -32050);
  CHECK_INT(e->err, SB_E_INTERNAL);
  sb_client_close(c);
  fake_stop(&f);
}

typedef struct error_probe {
  sb_client *c;
  const sb_rpc_error *seen;
} error_probe;

static DWORD WINAPI look_at_last_error(void *arg) {
  error_probe *p = arg;
  p->seen = sb_client_last_error(p->c);
  return 0;
}

SB_TEST(last_error_belongs_to_the_thread_and_connection) {
  fake f;
  sb_client *c = NULL, *other = NULL;
  error_probe probe;
  HANDLE t;
  REQUIRE(fake_start(&f, future_error) == 0);
  REQUIRE(sb_client_connect(f.name_utf8, 10000, &c) == 0);
  CHECK_INT(sb_client_ping(c), SB_E_INTERNAL);
  CHECK(sb_client_last_error(c) != NULL);
  /* Another thread has no failure of its own. */
  probe.c = c;
  probe.seen = (const sb_rpc_error *)1;
  t = CreateThread(NULL, 0, look_at_last_error, &probe, 0, NULL);
  REQUIRE(t != NULL);
  WaitForSingleObject(t, 10000);
  CloseHandle(t);
  CHECK(probe.seen == NULL);
  /* A successful call leaves the record alone. */
  sb_client_close(c);
  fake_stop(&f);
  REQUIRE(fake_start(&f, NULL) == 0);
  REQUIRE(sb_client_connect(f.name_utf8, 10000, &other) == 0);
  CHECK_INT(sb_client_ping(other), 0);
  CHECK(sb_client_last_error(other) == NULL);
  sb_client_close(other);
  fake_stop(&f);
}

/* ping: an event of a kind newer than this client, then the reply. */
static void unknown_event(fake *f, const sb_request *req) {
  fake_send(f, "{\"jsonrpc\":\"2.0\",\"method\":\"future\",\"params\":{\"x\":1}}\n");
  fake_simple_result(f, req);
}

SB_TEST(unknown_events_are_skipped) {
  fake f;
  sb_client *c = NULL;
  sb_exit_info e;
  REQUIRE(fake_start(&f, unknown_event) == 0);
  REQUIRE(sb_client_connect(f.name_utf8, 10000, &c) == 0);
  CHECK_INT(sb_client_ping(c), 0);
  CHECK_INT(sb_client_next_event(c, 0, &e), SB_E_TIMEOUT);
  sb_client_close(c);
  fake_stop(&f);
}

static void garbage(fake *f, const sb_request *req) {
  (void)req;
  fake_send(f, "this is not json\n");
}

SB_TEST(a_malformed_frame_breaks_the_connection) {
  fake f;
  sb_client *c = NULL;
  REQUIRE(fake_start(&f, garbage) == 0);
  REQUIRE(sb_client_connect(f.name_utf8, 10000, &c) == 0);
  CHECK_INT(sb_client_ping(c), SB_E_BAD_REPLY);
  CHECK_STR(sb_client_last_error(c)->name, "BadReply");
  CHECK_INT(sb_client_ping(c), SB_E_BAD_REPLY);
  sb_client_close(c);
  fake_stop(&f);
}

static void hang_up(fake *f, const sb_request *req) {
  (void)req;
  DisconnectNamedPipe(f->pipe);
}

SB_TEST(a_closed_connection_fails_calls_and_events) {
  fake f;
  sb_client *c = NULL;
  sb_exit_info e;
  REQUIRE(fake_start(&f, hang_up) == 0);
  REQUIRE(sb_client_connect(f.name_utf8, 10000, &c) == 0);
  CHECK_INT(sb_client_ping(c), SB_E_CLOSED);
  CHECK_STR(sb_client_last_error(c)->name, "ConnectionClosed");
  CHECK_INT(sb_client_next_event(c, 1000, &e), SB_E_CLOSED);
  sb_client_close(c);
  fake_stop(&f);
}

static void list_two(fake *f, const sb_request *req) {
  sb_child_info ch[2] = {{11, "C:\\a\\\u00e9t\u00e9.exe", SB_LIFETIME_BROKER, true, 0},
                         {12, "b.exe", SB_LIFETIME_DETACHED, false, 3221225477u}};
  sb_result res;
  if (req->method != SB_METHOD_LIST) {
    fake_simple_result(f, req);
    return;
  }
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_LIST;
  res.u.list.children = ch;
  res.u.list.nchildren = 2;
  fake_result(f, &req->id, &res);
}

SB_TEST(list_result_outlives_the_reply) {
  fake f;
  sb_client *c = NULL;
  sb_list_result l;
  REQUIRE(fake_start(&f, list_two) == 0);
  REQUIRE(sb_client_connect(f.name_utf8, 10000, &c) == 0);
  REQUIRE(sb_client_list(c, &l) == 0);
  CHECK_INT(sb_client_ping(c), 0); /* another reply in between */
  REQUIRE(l.nchildren == 2);
  CHECK_INT(l.children[0].pid, 11);
  CHECK_STR(l.children[0].program, "C:\\a\\\u00e9t\u00e9.exe");
  CHECK(l.children[0].running);
  CHECK_INT(l.children[1].lifetime, SB_LIFETIME_DETACHED);
  CHECK(!l.children[1].running);
  CHECK_INT(l.children[1].exit_code, 3221225477u);
  sb_client_list_free(&l);
  CHECK(l.children == NULL);
  sb_client_close(c);
  fake_stop(&f);
}

/* spawn: mode 0 answers with the request's names, 1 with a wrong name. */
static void spawn_answer(fake *f, const sb_request *req) {
  sb_result res;
  const sb_spawn_params *p = &req->params.spawn;
  if (req->method != SB_METHOD_SPAWN) {
    fake_simple_result(f, req);
    return;
  }
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_SPAWN;
  res.u.spawn.pid = 4242;
  res.u.spawn.nhandles = p->nhandles;
  for (size_t i = 0; i < p->nhandles; i++) {
    res.u.spawn.handles[i].name = f->mode == 1 && i == 0 ? "other" : p->handles[i].name;
    res.u.spawn.handles[i].value = 100 + 4 * (int64_t)i;
  }
  fake_result(f, &req->id, &res);
}

SB_TEST(spawn_result_names_point_into_the_params) {
  fake f;
  sb_client *c = NULL;
  sb_spawn_params p;
  sb_spawn_result r;
  char in_name[] = "in", out_name[] = "out";
  REQUIRE(fake_start(&f, spawn_answer) == 0);
  REQUIRE(sb_client_connect(f.name_utf8, 10000, &c) == 0);
  sb_spawn_params_init(&p);
  p.program = "w.exe";
  p.handles[0] = (sb_handle_spec){in_name, 0x1A4, 3};
  p.handles[1] = (sb_handle_spec){out_name, 0x2C0, -1};
  p.nhandles = 2;
  p.std_names[SB_STDOUT] = "out";
  CHECK_INT(sb_client_spawn(c, &p, &r), 0);
  CHECK_INT(r.pid, 4242);
  REQUIRE(r.nhandles == 2);
  CHECK(r.handles[0].name == in_name);
  CHECK(r.handles[1].name == out_name);
  CHECK_INT(r.handles[1].value, 104);
  /* In pull mode the values go as the caller gave them. */
  CHECK_INT(f.npushed, 2);
  CHECK_INT(f.pushed[0], 0x1A4);
  CHECK_INT(f.pushed[1], 0x2C0);
  f.mode = 1;
  CHECK_INT(sb_client_spawn(c, &p, &r), SB_E_BAD_REPLY);
  CHECK_INT(r.pid, 0);
  sb_client_close(c);
  fake_stop(&f);
}

/* ------------------------------------------------------------------------ */
/* The spawn slot                                                           */

/* The first spawn (mode 0) is held back, like a broker still busy with it,
 * until a ping comes; a spawn that arrives meanwhile gets Busy, as from the
 * real broker; later spawns (mode 2) are answered at once. */
static void spawn_until_ping(fake *f, const sb_request *req) {
  if (req->method == SB_METHOD_SPAWN && f->mode == 0) {
    f->held = req->id;
    InterlockedExchange(&f->holding, 1);
    f->mode = 2;
  } else if (req->method == SB_METHOD_SPAWN && f->holding) {
    fake_error(f, &req->id, SB_E_BUSY, "one spawn per connection at a time", NULL);
  } else if (req->method == SB_METHOD_SPAWN) {
    spawn_answer(f, req);
  } else if (req->method == SB_METHOD_PING && f->holding) {
    sb_result res;
    memset(&res, 0, sizeof res);
    res.method = SB_METHOD_SPAWN;
    res.u.spawn.pid = 4243;
    fake_result(f, &f->held, &res);
    InterlockedExchange(&f->holding, 0);
    fake_simple_result(f, req);
  } else {
    fake_simple_result(f, req);
  }
}

typedef struct spawner {
  sb_client *c;
  int rc;
  sb_spawn_result r;
} spawner;

static DWORD WINAPI spawn_one(void *arg) {
  spawner *s = arg;
  sb_spawn_params p;
  sb_spawn_params_init(&p);
  p.program = "w.exe";
  s->rc = sb_client_spawn(s->c, &p, &s->r);
  return 0;
}

SB_TEST(a_timed_out_spawn_holds_the_slot_until_its_late_reply) {
  fake f;
  sb_client *c = NULL;
  spawner first, second;
  HANDLE t;
  REQUIRE(fake_start(&f, spawn_until_ping) == 0);
  REQUIRE(sb_client_connect(f.name_utf8, 10000, &c) == 0);
  /* The first spawn gives up waiting; the broker still works on it. */
  sb_client_set_call_timeout(c, 300);
  first.c = c;
  spawn_one(&first);
  CHECK_INT(first.rc, SB_E_TIMEOUT);
  sb_client_set_call_timeout(c, 10000);
  /* The second spawn must wait for the first one's late reply rather than
   * be sent at once and refused Busy. */
  memset(&second, 0, sizeof second);
  second.c = c;
  second.rc = 1;
  t = CreateThread(NULL, 0, spawn_one, &second, 0, NULL);
  REQUIRE(t != NULL);
  CHECK_INT(WaitForSingleObject(t, 500), WAIT_TIMEOUT);
  CHECK_INT(f.requests, 1);
  /* The ping makes the fake answer the first spawn; then the second goes. */
  CHECK_INT(sb_client_ping(c), 0);
  CHECK_INT(WaitForSingleObject(t, 10000), WAIT_OBJECT_0);
  CloseHandle(t);
  CHECK_INT(second.rc, 0);
  CHECK_INT(second.r.pid, 4242);
  CHECK_INT(f.requests, 3); /* two spawns and the ping, no third spawn */
  sb_client_close(c);
  fake_stop(&f);
}

/* The first ping is answered, then the fake stops reading for a while, so
 * that the next request's writer stays blocked on a full pipe. */
static void stall_after_first_ping(fake *f, const sb_request *req) {
  fake_simple_result(f, req);
  if (req->method == SB_METHOD_PING && InterlockedCompareExchange(&f->requests, 0, 0) == 1)
    Sleep(1500);
}

typedef struct raw_caller {
  sb_client *c;
  const char *params;
  int rc;
} raw_caller;

static DWORD WINAPI call_raw_once(void *arg) {
  raw_caller *w = arg;
  char *reply = NULL;
  w->rc = sb_client_call_raw(w->c, "ping", w->params, &reply);
  sb_client_free(reply);
  return 0;
}

SB_TEST(a_spawn_waiting_for_the_slot_while_reading_sees_it_come_free) {
  static char big[60000];
  fake f;
  sb_client *c = NULL;
  raw_caller w;
  spawner a, b;
  HANDLE threads[3];
  DWORD done;
  REQUIRE(fake_start_buffered(&f, stall_after_first_ping, 4096) == 0);
  REQUIRE(sb_client_connect(f.name_utf8, 10000, &c) == 0);
  CHECK_INT(sb_client_ping(c), 0); /* the fake now reads nothing for 1.5 s */
  /* W's frame does not fit the pipe: W holds the writer slot. A takes the
   * spawn slot and waits for the writer slot. B finds the spawn slot taken
   * and nobody reading, so B reads: it reads A's reply, and must then
   * notice that A gave the slot back, although no further frame comes. */
  memset(big, ' ', sizeof big - 1);
  big[0] = '{';
  big[sizeof big - 2] = '}';
  w = (raw_caller){c, big, 1};
  a = (spawner){c, 1, {0}};
  b = (spawner){c, 1, {0}};
  threads[0] = CreateThread(NULL, 0, call_raw_once, &w, 0, NULL);
  Sleep(200);
  threads[1] = CreateThread(NULL, 0, spawn_one, &a, 0, NULL);
  Sleep(200);
  threads[2] = CreateThread(NULL, 0, spawn_one, &b, 0, NULL);
  REQUIRE(threads[0] != NULL && threads[1] != NULL && threads[2] != NULL);
  done = WaitForMultipleObjects(3, threads, TRUE, 10000);
  CHECK_INT(done, WAIT_OBJECT_0);
  if (done != WAIT_OBJECT_0) {
    /* Unblock whoever hangs before the connection is closed under it. */
    fake_stop(&f);
    WaitForMultipleObjects(3, threads, TRUE, 10000);
  }
  CHECK_INT(w.rc, 0);
  CHECK_INT(a.rc, 0);
  CHECK_INT(b.rc, 0);
  for (int i = 0; i < 3; i++) CloseHandle(threads[i]);
  sb_client_close(c);
  if (done == WAIT_OBJECT_0) fake_stop(&f);
}

/* ------------------------------------------------------------------------ */
/* Push transfer, with the fake broker in this very process                 */

/* spawn: mode 0 succeeds; otherwise the error named by mode. */
static void push_answer(fake *f, const sb_request *req) {
  if (req->method != SB_METHOD_SPAWN || f->mode == 0) {
    spawn_answer(f, req);
  } else if (f->mode == SB_E_HANDLE_CLAIMED) {
    fake_error(f, &req->id, f->mode, "claimed", "params.handles[1].value");
  } else {
    fake_error(f, &req->id, f->mode, NULL, NULL);
  }
}

static void push_params(sb_spawn_params *p, HANDLE a, HANDLE b) {
  sb_spawn_params_init(p);
  p->program = "w.exe";
  p->handles[0] = (sb_handle_spec){"a", (int64_t)(intptr_t)a, -1};
  p->handles[1] = (sb_handle_spec){"b", (int64_t)(intptr_t)b, -1};
  p->nhandles = 2;
}

SB_TEST(push_duplicates_into_the_broker_and_cleans_up_by_the_rule) {
  fake f;
  sb_client *c = NULL;
  sb_client_options o;
  sb_spawn_params p;
  sb_spawn_result r;
  HANDLE a = CreateEventW(NULL, TRUE, FALSE, NULL), b = CreateEventW(NULL, TRUE, FALSE, NULL);
  DWORD flags = 0;
  REQUIRE(a != NULL && b != NULL);
  REQUIRE(fake_start(&f, push_answer) == 0);
  f.transfer = SB_TRANSFER_PUSH;
  sb_client_options_init(&o);
  o.transfer = SB_TRANSFER_PUSH;
  REQUIRE(sb_client_connect_ex(f.name_utf8, 10000, &o, &c) == 0);
  CHECK_INT(sb_client_hello_result(c)->transfer, SB_TRANSFER_PUSH);
  push_params(&p, a, b);

  /* Success: the broker now owns its copies; the library leaves them. */
  CHECK_INT(sb_client_spawn(c, &p, &r), 0);
  REQUIRE(f.npushed == 2);
  CHECK(f.pushed[0] != (int64_t)(intptr_t)a && f.pushed[1] != (int64_t)(intptr_t)b);
  CHECK(handle_is_open(f.pushed[0]) && handle_is_open(f.pushed[1]));
  /* Pushed copies are never inheritable. */
  CHECK(GetHandleInformation((HANDLE)(intptr_t)f.pushed[0], &flags) &&
        !(flags & HANDLE_FLAG_INHERIT));
  CloseHandle((HANDLE)(intptr_t)f.pushed[0]);
  CloseHandle((HANDLE)(intptr_t)f.pushed[1]);

  /* Refused without being processed: the library closes them. */
  f.mode = SB_E_UNKNOWN_KEY;
  CHECK_INT(sb_client_spawn(c, &p, &r), SB_E_UNKNOWN_KEY);
  CHECK(!handle_is_open(f.pushed[0]) && !handle_is_open(f.pushed[1]));
  f.mode = SB_E_BUSY;
  CHECK_INT(sb_client_spawn(c, &p, &r), SB_E_BUSY);
  CHECK(!handle_is_open(f.pushed[0]) && !handle_is_open(f.pushed[1]));

  /* Failed while the broker processed it: the broker closes them, not the
   * client. */
  f.mode = SB_E_SPAWN_FAILED;
  CHECK_INT(sb_client_spawn(c, &p, &r), SB_E_SPAWN_FAILED);
  CHECK(handle_is_open(f.pushed[0]) && handle_is_open(f.pushed[1]));
  CloseHandle((HANDLE)(intptr_t)f.pushed[0]);
  CloseHandle((HANDLE)(intptr_t)f.pushed[1]);

  /* A value claimed by another request: the broker processed the request,
   * so the copies are its to close (all but the claimed one, which is not
   * the client's). The client closes none. */
  f.mode = SB_E_HANDLE_CLAIMED;
  CHECK_INT(sb_client_spawn(c, &p, &r), SB_E_HANDLE_CLAIMED);
  CHECK(handle_is_open(f.pushed[0]) && handle_is_open(f.pushed[1]));
  CloseHandle((HANDLE)(intptr_t)f.pushed[0]);
  CloseHandle((HANDLE)(intptr_t)f.pushed[1]);

  /* The caller's own handles are untouched throughout. */
  CHECK(handle_is_open((int64_t)(intptr_t)a) && handle_is_open((int64_t)(intptr_t)b));
  sb_client_close(c);
  fake_stop(&f);
  CloseHandle(a);
  CloseHandle(b);
}

SB_TEST(push_refuses_bad_values_before_duplicating) {
  fake f;
  sb_client *c = NULL;
  sb_client_options o;
  sb_spawn_params p;
  sb_spawn_result r;
  HANDLE a = CreateEventW(NULL, TRUE, FALSE, NULL);
  const sb_rpc_error *e;
  REQUIRE(a != NULL);
  REQUIRE(fake_start(&f, push_answer) == 0);
  f.transfer = SB_TRANSFER_PUSH;
  sb_client_options_init(&o);
  o.transfer = SB_TRANSFER_PUSH;
  REQUIRE(sb_client_connect_ex(f.name_utf8, 10000, &o, &c) == 0);
  /* A pseudo handle never reaches DuplicateHandle. */
  push_params(&p, a, (HANDLE)(intptr_t)-1);
  CHECK_INT(sb_client_spawn(c, &p, &r), SB_E_INVALID_HANDLE_VALUE);
  e = sb_client_last_error(c);
  CHECK(e != NULL && e->path != NULL && strcmp(e->path, "params.handles[1].value") == 0);
  /* A plausible value that is not open: refused locally, with its path. */
  push_params(&p, a, (HANDLE)(intptr_t)0x3FFFF0);
  CHECK_INT(sb_client_spawn(c, &p, &r), SB_E_HANDLE_NOT_FOUND);
  e = sb_client_last_error(c);
  CHECK(e != NULL && e->path != NULL && strcmp(e->path, "params.handles[1].value") == 0);
  CHECK_INT(f.requests, 0); /* no spawn request was sent */
  sb_client_close(c);
  fake_stop(&f);
  CloseHandle(a);
}

SB_TEST(push_refuses_a_hello_pid_that_is_not_the_pipe_server) {
  fake f;
  sb_client *c = NULL;
  sb_client_options o;
  const sb_rpc_error *e;
  REQUIRE(fake_start(&f, NULL) == 0);
  f.transfer = SB_TRANSFER_PUSH;
  f.hello_pid = GetCurrentProcessId() + 4;
  sb_client_options_init(&o);
  o.transfer = SB_TRANSFER_PUSH;
  CHECK_INT(sb_client_connect_ex(f.name_utf8, 10000, &o, &c), SB_E_BAD_REPLY);
  CHECK(c == NULL);
  e = sb_client_last_error(NULL);
  CHECK(e != NULL && e->detail != NULL && strstr(e->detail, "served by process") != NULL);
  fake_stop(&f);
}

SB_TEST(a_server_not_running_as_the_named_user_gets_nothing_at_all) {
  fake f;
  sb_client *c = NULL;
  sb_client_options o;
  const sb_rpc_error *e;
  static const sb_transfer modes[] = {SB_TRANSFER_AUTO, SB_TRANSFER_PULL, SB_TRANSFER_PUSH};
  REQUIRE(fake_start(&f, NULL) == 0);
  sb_client_options_init(&o);
  /* The fake runs as this test's user, not as LocalSystem. */
  o.server_sid = "S-1-5-18";
  for (size_t i = 0; i < 3; i++) {
    o.transfer = modes[i];
    CHECK_INT(sb_client_connect_ex(f.name_utf8, 10000, &o, &c), SB_E_ACCESS_DENIED);
    CHECK(c == NULL);
    e = sb_client_last_error(NULL);
    CHECK(e != NULL && e->detail != NULL && strstr(e->detail, "server_sid") != NULL);
  }
  /* Not even hello was sent. */
  Sleep(200);
  CHECK_INT(InterlockedCompareExchange(&f.frames, 0, 0), 0);
  fake_stop(&f);
}

SB_TEST(a_server_running_as_the_named_user_is_served) {
  sbt_broker b;
  fake f;
  sb_client *c = NULL;
  sb_client_options o;
  char sid[192];
  REQUIRE(sbt_own_sid(sid, sizeof sid) == 0);
  sb_client_options_init(&o);
  o.server_sid = sid;
  /* The real broker and the fake both run as this user. */
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  CHECK_INT(sb_client_connect_ex(b.pipe_utf8, 10000, &o, &c), 0);
  if (c != NULL) CHECK_INT(sb_client_ping(c), 0);
  sb_client_close(c);
  sbt_broker_stop(&b);
  REQUIRE(fake_start(&f, NULL) == 0);
  f.transfer = SB_TRANSFER_PUSH;
  o.transfer = SB_TRANSFER_PUSH;
  CHECK_INT(sb_client_connect_ex(f.name_utf8, 10000, &o, &c), 0);
  sb_client_close(c);
  fake_stop(&f);
}

SB_TEST(a_server_sid_that_is_not_a_sid_is_refused_before_opening_the_pipe) {
  sb_client *c = NULL;
  sb_client_options o;
  sb_client_options_init(&o);
  o.server_sid = "LocalSystem";
  /* Nobody listens there: INVALID_ARGUMENT rather than CLOSED shows that
   * the option was checked before the pipe was tried. */
  CHECK_INT(sb_client_connect_ex("sb-test-nobody-listens", 10000, &o, &c),
            SB_E_INVALID_ARGUMENT);
  CHECK(c == NULL);
}

SB_TEST(push_checks_a_server_as_the_clients_own_user_and_accepts_it) {
  fake f;
  sb_client *c = NULL;
  sb_client_options o;
  /* Without server_sid, push needs LocalSystem or this user: the fake is
   * this user. (A server running as anybody else cannot be made under
   * Wine, where every process has the same user; docs/security.md lists
   * that refusal for a Windows run.) */
  REQUIRE(fake_start(&f, NULL) == 0);
  f.transfer = SB_TRANSFER_PUSH;
  sb_client_options_init(&o);
  o.transfer = SB_TRANSFER_PUSH;
  CHECK_INT(sb_client_connect_ex(f.name_utf8, 10000, &o, &c), 0);
  if (c != NULL) CHECK_INT(sb_client_hello_result(c)->transfer, SB_TRANSFER_PUSH);
  sb_client_close(c);
  fake_stop(&f);
}

SB_TEST(a_request_longer_than_the_brokers_frame_limit_is_refused_locally) {
  sbt_broker b;
  sb_client *c = NULL;
  sb_spawn_params p;
  sb_spawn_result r;
  static char arg[2048];
  const char *args[1];
  const sb_rpc_error *e;
  REQUIRE(sbt_broker_start(&b, L"--set limits.frame_bytes=1024") == 0);
  REQUIRE(sb_client_connect(b.pipe_utf8, 10000, &c) == 0);
  CHECK_INT(sb_client_hello_result(c)->max_frame_bytes, 1024);
  memset(arg, 'a', sizeof arg - 1);
  args[0] = arg;
  sb_spawn_params_init(&p);
  p.program = "C:\\windows\\system32\\cmd.exe";
  p.args = args;
  p.nargs = 1;
  CHECK_INT(sb_client_spawn(c, &p, &r), SB_E_FRAME_TOO_LARGE);
  e = sb_client_last_error(c);
  CHECK(e != NULL && e->detail != NULL && strstr(e->detail, "max_frame_bytes") != NULL);
  /* Nothing was sent, so the broker kept the connection. */
  CHECK_INT(sb_client_ping(c), 0);
  sb_client_close(c);
  sbt_broker_stop(&b);
}

SB_TEST(a_transfer_mode_asked_for_is_kept_or_connect_fails) {
  fake f;
  sb_client *c = NULL;
  sb_client_options o;
  const sb_rpc_error *e;
  REQUIRE(fake_start(&f, NULL) == 0);
  f.transfer = SB_TRANSFER_PUSH;
  sb_client_options_init(&o);
  /* Asked for pull, answered push: the library must not push handles into
   * a broker the caller meant to let pull them. */
  o.transfer = SB_TRANSFER_PULL;
  CHECK_INT(sb_client_connect_ex(f.name_utf8, 10000, &o, &c), SB_E_BAD_REPLY);
  CHECK(c == NULL);
  e = sb_client_last_error(NULL);
  CHECK(e != NULL && e->detail != NULL && strstr(e->detail, "asked for pull") != NULL);
  /* Left to the broker, either mode is fine. */
  o.transfer = SB_TRANSFER_AUTO;
  CHECK_INT(sb_client_connect_ex(f.name_utf8, 10000, &o, &c), 0);
  if (c != NULL) CHECK_INT(sb_client_hello_result(c)->transfer, SB_TRANSFER_PUSH);
  sb_client_close(c);
  fake_stop(&f);
}

/* ------------------------------------------------------------------------ */
/* spawnctl's command line                                                  */

static bool starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool one_line(const char *s) {
  size_t n = strlen(s);
  return n > 0 && strchr(s, '\n') == s + n - 1;
}

SB_TEST(spawnctl_usage_errors_exit_2_with_one_line) {
  /* None of these gets as far as connecting (there is no broker on this
   * pipe: connecting would exit 125). */
  static const wchar_t *const bad[] = {
      L"--pipe sb-none --bogus ping",
      L"--pipe sb-none --timeout x ping",
      L"--pipe sb-none --transfer sideways ping",
      L"--pipe sb-none frobnicate",
      L"--pipe sb-none ping extra",
      L"--pipe sb-none kill",
      L"--pipe sb-none kill abc",
      L"--pipe sb-none kill 5 -1",
      L"--pipe sb-none wait 5 --timeout soon",
      L"--pipe sb-none call",
      L"--pipe sb-none run",
      L"--pipe sb-none run --bogus -- x.exe",
      L"--pipe sb-none run --handle nonsense -- x.exe",
      L"--pipe sb-none run --handle 9x=4 -- x.exe",
      L"--pipe sb-none run --handle h=four -- x.exe",
      L"--pipe sb-none run --handle h=4 --handle h=8 -- x.exe",
      L"--pipe sb-none run --file x.txt -- x.exe",
      L"--pipe sb-none run --file out=x.txt:rx -- x.exe",
      L"--pipe sb-none run --fd 2=out -- x.exe",
      L"--pipe sb-none run --fd 64=out -- x.exe",
      L"--pipe sb-none run --handle h=4 --fd 3=nosuch -- x.exe",
      L"--pipe sb-none run --stdout nosuch -- x.exe",
      L"--pipe sb-none run --stdout \"bad name\" -- x.exe",
      L"--pipe sb-none run --env NOEQUALS -- x.exe",
      L"--pipe sb-none run --lifetime forever -- x.exe",
      L"--pipe sb-none run --timeout -5 -- x.exe",
      L"--pipe sb-none run --no-wait --timeout 5 -- x.exe",
      L"--pipe sb-none run --no-wait --lifetime connection -- x.exe",
      L"--pipe sb-none run --cwd",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    sbt_run r;
    CHECK_INT(sbt_run_capture(L"spawnctl.exe", bad[i], 20000, &r), 0);
    if (r.exit_code != 2 || strncmp(r.err, "spawnctl: ", 10) != 0 || !one_line(r.err))
      fprintf(stderr, "case %zu (%ls): exit %lu, stderr: %s\n", i, bad[i], r.exit_code, r.err);
    CHECK_INT(r.exit_code, 2);
    CHECK(strncmp(r.err, "spawnctl: ", 10) == 0);
    CHECK(one_line(r.err));
    CHECK_STR(r.out, "");
  }
}

SB_TEST(spawnctl_help_for_every_command) {
  static const wchar_t *const cmds[] = {L"run", L"ping", L"hello", L"stats", L"list",
                                        L"kill", L"wait", L"call"};
  sbt_run r;
  wchar_t args[64];
  CHECK_INT(sbt_run_capture(L"spawnctl.exe", L"--help", 20000, &r), 0);
  CHECK_INT(r.exit_code, 0);
  CHECK(strstr(r.out, "usage: spawnctl") != NULL);
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    char want[64];
    _snwprintf(args, 64, L"--pipe sb-none %ls --help", cmds[i]);
    snprintf(want, sizeof want, "usage: spawnctl %s%ls",
             wcscmp(cmds[i], L"run") == 0 ? "[GLOBAL OPTIONS] " : "", cmds[i]);
    CHECK_INT(sbt_run_capture(L"spawnctl.exe", args, 20000, &r), 0);
    CHECK_INT(r.exit_code, 0);
    if (strstr(r.out, want) == NULL) fprintf(stderr, "%ls --help printed: %s\n", cmds[i], r.out);
    CHECK(strstr(r.out, want) != NULL);
  }
}

SB_TEST(spawnctl_hello_prints_the_broker_pid) {
  sbt_broker b;
  sbt_run r;
  wchar_t args[256];
  char want[64];
  REQUIRE(sbt_broker_start(&b, NULL) == 0);
  _snwprintf(args, 256, L"--pipe %ls hello", b.pipe);
  CHECK_INT(sbt_run_capture(L"spawnctl.exe", args, 20000, &r), 0);
  CHECK_INT(r.exit_code, 0);
  snprintf(want, sizeof want, "\"pid\":%lu,", b.pid);
  CHECK(strstr(r.out, want) != NULL);
  CHECK(strstr(r.out, "\"protocol\":1,") != NULL);
  _snwprintf(args, 256, L"--pipe %ls stats", b.pipe);
  CHECK_INT(sbt_run_capture(L"spawnctl.exe", args, 20000, &r), 0);
  CHECK_INT(r.exit_code, 0);
  CHECK(strstr(r.out, "\"connections_total\":") != NULL);
  _snwprintf(args, 256, L"--pipe %ls call frobnicate", b.pipe);
  CHECK_INT(sbt_run_capture(L"spawnctl.exe", args, 20000, &r), 0);
  CHECK_INT(r.exit_code, 1);
  CHECK(strstr(r.out, "\"name\":\"MethodNotFound\"") != NULL);
  sbt_broker_stop(&b);
}

SB_TEST(spawnctl_keeps_non_ascii_arguments) {
  sbt_run r;
  /* The pipe name makes the round trip wmain -> UTF-8 -> library (UTF-16
   * for CreateFileW) -> error message in UTF-8 on a pipe. */
  CHECK_INT(sbt_run_capture(L"spawnctl.exe", L"--pipe sb-\u00fcn\u00efc\u00f6de-\u4e2d ping",
                            20000, &r),
            0);
  CHECK_INT(r.exit_code, 125);
  CHECK(strstr(r.err, "\\\\.\\pipe\\sb-\u00fcn\u00efc\u00f6de-\u4e2d") != NULL);
}

/* A scripted broker for spawnctl run: spawn answers mode's error or pid
 * 77; wait answers Timeout until a kill came (mode 2), else exit code 5. */
static void run_script(fake *f, const sb_request *req) {
  switch (req->method) {
    case SB_METHOD_SPAWN:
      if (f->mode < 0)
        fake_error(f, &req->id, f->mode, "a detail", NULL);
      else
        spawn_answer(f, req);
      break;
    case SB_METHOD_WAIT:
      if (f->mode == 2 && f->kills == 0)
        fake_error(f, &req->id, SB_E_TIMEOUT, NULL, NULL);
      else
        fake_exit_result(f, &req->id, req->params.wait.pid, f->kills ? f->kill_code : 5);
      break;
    case SB_METHOD_KILL: {
      sb_result res;
      f->kill_code = req->params.kill.exit_code;
      InterlockedIncrement(&f->kills);
      memset(&res, 0, sizeof res);
      res.method = SB_METHOD_KILL;
      res.u.kill.pid = req->params.kill.pid;
      res.u.kill.killed = true;
      fake_result(f, &req->id, &res);
      break;
    }
    default:
      fake_simple_result(f, req);
  }
}

/* Decodes the spawn request the fake recorded. */
static bool recorded_spawn(const fake *f, sb_request *req) {
  sb_decode_error derr;
  return f->spawn_frame != NULL &&
         sb_decode_request(f->spawn_frame, strlen(f->spawn_frame), req, &derr) == 0 &&
         req->method == SB_METHOD_SPAWN;
}

static const sb_handle_spec *find_spec(const sb_spawn_params *p, const char *name) {
  int i = sb_spawn_find_handle(p, name);
  return i >= 0 ? &p->handles[i] : NULL;
}

static int run_on_fake(fake *f, const wchar_t *run_args, sbt_run *r) {
  wchar_t args[1024];
  _snwprintf(args, 1024, L"--pipe %ls run %ls", f->name, run_args);
  args[1023] = L'\0';
  return sbt_run_capture(L"spawnctl.exe", args, 30000, r);
}

SB_TEST(spawnctl_run_maps_refusals_to_exit_codes) {
  static const struct {
    int err;
    DWORD code;
    const char *name;
  } cases[] = {{SB_E_METHOD_NOT_FOUND, 125, "MethodNotFound"},
               {SB_E_HANDLE_NOT_FOUND, 125, "HandleNotFound"},
               {SB_E_EXECUTABLE_NOT_FOUND, 127, "ExecutableNotFound"},
               {SB_E_NOT_EXECUTABLE, 126, "NotExecutable"}};
  fake f;
  REQUIRE(fake_start(&f, run_script) == 0);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    sbt_run r;
    char want[128];
    f.mode = cases[i].err;
    CHECK_INT(run_on_fake(&f, L"-- x.exe", &r), 0);
    CHECK_INT(r.exit_code, cases[i].code);
    snprintf(want, sizeof want, "spawnctl: %s: %s (a detail)\n", cases[i].name,
             sb_err_message(cases[i].err));
    CHECK_STR(r.err, want);
    CHECK_STR(r.out, "");
  }
  fake_stop(&f);
}

SB_TEST(spawnctl_run_waits_and_exits_with_the_child_code) {
  fake f;
  sbt_run r;
  REQUIRE(fake_start(&f, run_script) == 0);
  CHECK_INT(run_on_fake(&f, L"-- x.exe a b", &r), 0);
  CHECK_INT(r.exit_code, 5);
  CHECK_STR(r.out, "");
  CHECK_STR(r.err, "");
  /* --json: the spawn result and the exit information, one line each. */
  CHECK_INT(run_on_fake(&f, L"--json -- x.exe", &r), 0);
  CHECK_INT(r.exit_code, 5);
  CHECK(starts_with(r.out, "{\"pid\":4242,\"handles\":[{\"name\":\"stdin\",\"value\":100},"));
  CHECK(strstr(r.out, "}\n{\"pid\":4242,\"exit_code\":5,\"wall_ms\":7,") != NULL);
  /* --no-wait: the pid, and no wait request at all. */
  InterlockedExchange(&f.requests, 0);
  CHECK_INT(run_on_fake(&f, L"--no-wait -- x.exe", &r), 0);
  CHECK_INT(r.exit_code, 0);
  CHECK_STR(r.out, "4242\n");
  CHECK_INT(f.requests, 1);
  {
    /* ... and the child outlives spawnctl by default. */
    sb_request req;
    REQUIRE(recorded_spawn(&f, &req));
    CHECK_INT(req.params.spawn.lifetime, SB_LIFETIME_BROKER);
    sb_request_free(&req);
  }
  fake_stop(&f);
}

SB_TEST(spawnctl_run_timeout_kills_and_exits_124) {
  fake f;
  sbt_run r;
  REQUIRE(fake_start(&f, run_script) == 0);
  f.mode = 2;
  CHECK_INT(run_on_fake(&f, L"--timeout 50 -- x.exe", &r), 0);
  CHECK_INT(r.exit_code, 124);
  CHECK_INT(f.kills, 1);
  CHECK_INT(f.kill_code, 124);
  CHECK(strstr(r.err, "spawnctl: Timeout: ") == r.err && one_line(r.err));
  fake_stop(&f);
}

SB_TEST(spawnctl_run_passes_its_std_handles_by_default) {
  fake f;
  sbt_run r;
  sb_request req;
  const sb_spawn_params *p = &req.params.spawn;
  REQUIRE(fake_start(&f, run_script) == 0);
  CHECK_INT(run_on_fake(&f, L"-- x.exe", &r), 0);
  REQUIRE(recorded_spawn(&f, &req));
  /* sbt_run_capture gives spawnctl a NUL stdin and two pipes. */
  CHECK_INT(p->nhandles, 3);
  CHECK_STR(p->std_names[SB_STDIN], "stdin");
  CHECK_STR(p->std_names[SB_STDOUT], "stdout");
  CHECK_STR(p->std_names[SB_STDERR], "stderr");
  CHECK(find_spec(p, "stdin") != NULL && find_spec(p, "stdin")->value > 0);
  /* A waiting run ends its child with itself. */
  CHECK_INT(p->lifetime, SB_LIFETIME_CONNECTION);
  CHECK(!p->notify_exit && !p->clear_env && !p->expand_handles);
  sb_request_free(&req);

  /* '-' gives the child no such stream, and no handle for it. */
  CHECK_INT(run_on_fake(&f, L"--stdin - --stderr - -- x.exe", &r), 0);
  REQUIRE(recorded_spawn(&f, &req));
  CHECK_INT(p->nhandles, 1);
  CHECK(p->std_names[SB_STDIN] == NULL && p->std_names[SB_STDERR] == NULL);
  CHECK_STR(p->std_names[SB_STDOUT], "stdout");
  sb_request_free(&req);

  /* stderr pointed at stdout shares its handle entry. */
  CHECK_INT(run_on_fake(&f, L"--stderr stdout -- x.exe", &r), 0);
  REQUIRE(recorded_spawn(&f, &req));
  CHECK_INT(p->nhandles, 2);
  CHECK_STR(p->std_names[SB_STDERR], "stdout");
  sb_request_free(&req);
  fake_stop(&f);
}

SB_TEST(spawnctl_run_builds_the_request_from_its_options) {
  fake f;
  sbt_run r;
  sb_request req;
  const sb_spawn_params *p = &req.params.spawn;
  wchar_t dir[MAX_PATH], file[MAX_PATH], args[2048];
  char file_utf8[MAX_PATH * 3];
  HANDLE inherited;
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  REQUIRE(GetTempPathW(MAX_PATH, dir) > 0);
  _snwprintf(file, MAX_PATH, L"%lssb-ctl-\u00e9-%lu.txt", dir, GetCurrentProcessId());
  WideCharToMultiByte(CP_UTF8, 0, file, -1, file_utf8, sizeof file_utf8, NULL, NULL);
  DeleteFileW(file);
  /* An inheritable handle spawnctl receives from this process, as a parent
   * would hand one to it. */
  inherited = CreateEventW(&sa, TRUE, FALSE, NULL);
  REQUIRE(inherited != NULL);
  REQUIRE(fake_start(&f, run_script) == 0);
  _snwprintf(args, 2048,
             L"--handle ev=%llu --file \"out=%ls:w\" --stdout out --fd 3=out --fd 4=ev "
             L"--env A=1 --env \"B=two words\" --clear-env --cwd C:\\ --lifetime detached "
             L"--handles-env SB_HANDLES --expand-handles -- x.exe \"{handle:ev}\" \"a b\"",
             (unsigned long long)(uintptr_t)inherited, file);
  CHECK_INT(run_on_fake(&f, args, &r), 0);
  CHECK_INT(r.exit_code, 5);
  REQUIRE(recorded_spawn(&f, &req));
  CHECK_STR(p->program, "x.exe");
  REQUIRE(p->nargs == 2);
  CHECK_STR(p->args[0], "{handle:ev}");
  CHECK_STR(p->args[1], "a b");
  CHECK(find_spec(p, "ev") != NULL && find_spec(p, "ev")->value == (int64_t)(intptr_t)inherited);
  CHECK(find_spec(p, "ev") != NULL && find_spec(p, "ev")->fd == 4);
  CHECK(find_spec(p, "out") != NULL && find_spec(p, "out")->fd == 3);
  CHECK_STR(p->std_names[SB_STDOUT], "out");
  CHECK_STR(p->std_names[SB_STDIN], "stdin");
  REQUIRE(p->nenv == 2);
  CHECK_STR(p->env[0], "A=1");
  CHECK_STR(p->env[1], "B=two words");
  CHECK(p->clear_env);
  CHECK_STR(p->cwd, "C:\\");
  CHECK_INT(p->lifetime, SB_LIFETIME_DETACHED);
  CHECK_STR(p->handles_env, "SB_HANDLES");
  CHECK(p->expand_handles);
  sb_request_free(&req);
  /* --file w created the file (its non-ASCII name intact). */
  CHECK(GetFileAttributesW(file) != INVALID_FILE_ATTRIBUTES);
  DeleteFileW(file);

  /* An unnamed --file is called file1, and a missing file fails (125)
   * before anything is sent. */
  _snwprintf(args, 2048, L"--file \"%ls:r\" --stdin file1 -- x.exe", file);
  InterlockedExchange(&f.requests, 0);
  CHECK_INT(run_on_fake(&f, args, &r), 0);
  CHECK_INT(r.exit_code, 125);
  CHECK(strstr(r.err, "cannot open") != NULL && strstr(r.err, file_utf8) != NULL);
  CHECK(one_line(r.err));
  CHECK_INT(f.requests, 0);
  fake_stop(&f);
  CloseHandle(inherited);
}

SB_TEST_MAIN(SB_CASE(connect_reports_hello_and_broker_pid),
             SB_CASE(bare_pipe_name_goes_under_pipe_folder), SB_CASE(ping_and_stats),
             SB_CASE(threads_share_one_connection),
             SB_CASE(broker_error_reply_surfaces_as_its_code),
             SB_CASE(call_raw_returns_the_reply_frame),
             SB_CASE(call_raw_unparseable_params_end_the_connection),
             SB_CASE(invalid_requests_are_refused_before_sending),
             SB_CASE(no_broker_is_closed_at_once),
             SB_CASE(connect_times_out_while_every_instance_is_busy),
             SB_CASE(connect_times_out_without_hello_reply),
             SB_CASE(a_refusal_is_reported_even_when_the_broker_closed_before_hello),
             SB_CASE(events_are_queued_while_waiting_for_a_reply),
             SB_CASE(next_event_reads_the_pipe_itself),
             SB_CASE(replies_out_of_order_find_their_requests),
             SB_CASE(a_late_reply_is_dropped_after_a_timeout),
             SB_CASE(unknown_error_name_is_internal_with_name_kept),
             SB_CASE(last_error_belongs_to_the_thread_and_connection),
             SB_CASE(unknown_events_are_skipped), SB_CASE(a_malformed_frame_breaks_the_connection),
             SB_CASE(a_closed_connection_fails_calls_and_events),
             SB_CASE(list_result_outlives_the_reply),
             SB_CASE(spawn_result_names_point_into_the_params),
             SB_CASE(a_timed_out_spawn_holds_the_slot_until_its_late_reply),
             SB_CASE(a_spawn_waiting_for_the_slot_while_reading_sees_it_come_free),
             SB_CASE(push_duplicates_into_the_broker_and_cleans_up_by_the_rule),
             SB_CASE(push_refuses_bad_values_before_duplicating),
             SB_CASE(push_refuses_a_hello_pid_that_is_not_the_pipe_server),
             SB_CASE(a_server_not_running_as_the_named_user_gets_nothing_at_all),
             SB_CASE(a_server_running_as_the_named_user_is_served),
             SB_CASE(a_server_sid_that_is_not_a_sid_is_refused_before_opening_the_pipe),
             SB_CASE(push_checks_a_server_as_the_clients_own_user_and_accepts_it),
             SB_CASE(a_request_longer_than_the_brokers_frame_limit_is_refused_locally),
             SB_CASE(a_transfer_mode_asked_for_is_kept_or_connect_fails),
             SB_CASE(spawnctl_usage_errors_exit_2_with_one_line),
             SB_CASE(spawnctl_help_for_every_command),
             SB_CASE(spawnctl_hello_prints_the_broker_pid),
             SB_CASE(spawnctl_keeps_non_ascii_arguments),
             SB_CASE(spawnctl_run_maps_refusals_to_exit_codes),
             SB_CASE(spawnctl_run_waits_and_exits_with_the_child_code),
             SB_CASE(spawnctl_run_timeout_kills_and_exits_124),
             SB_CASE(spawnctl_run_passes_its_std_handles_by_default),
             SB_CASE(spawnctl_run_builds_the_request_from_its_options))
