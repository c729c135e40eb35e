/*
 * victim_client.exe MODE PIPE READY_EVENT: a client of the broker that the
 * fault tests kill from outside at one point of a request (TESTPLAN D1).
 * It speaks the protocol raw, so that it can stop anywhere, even inside a
 * frame, which the client library never does. It sets the named event
 * READY_EVENT when it has reached its point, then sleeps until killed.
 *
 *   mid-frame  hello, then the first half of a spawn frame
 *   in-flight  hello, then a whole spawn frame naming one of its own
 *              handles (an event), without reading the reply: with the
 *              broker's --test-spawn-delay-ms the spawn is still in flight
 *              when the test kills the client
 *   unread     the same frame, for a broker without delay: the test kills
 *              the client once its child runs, its reply unread
 *
 * Each spawn asks for `sb_child sleep 60000` with the connection lifetime,
 * so a child the broker fails to end would still be there to be seen.
 * Exit codes: 2 bad usage, 3 the pipe or the hello failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "spawn_fixture.h"

static int hello(HANDLE pipe) {
  static const char frame[] =
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\",\"params\":{\"protocol\":1}}\n";
  char reply[4096];
  size_t len;
  if (sbt_pipe_write(pipe, frame, sizeof frame - 1) != 0) return -1;
  if (sbt_pipe_read_line(pipe, reply, sizeof reply, &len) != 0) return -1;
  return strstr(reply, "\"result\"") != NULL ? 0 : -1;
}

int main(int argc, char **argv) {
  sbt_broker b;
  HANDLE pipe, ready, ev;
  char program[MAX_PATH * 6], frame[MAX_PATH * 8];
  int n;

  if (argc != 4) {
    fprintf(stderr, "usage: victim_client mid-frame|in-flight|unread PIPE READY_EVENT\n");
    return 2;
  }
  memset(&b, 0, sizeof b);
  MultiByteToWideChar(CP_UTF8, 0, argv[2], -1, b.pipe, 128);
  ready = OpenEventA(EVENT_MODIFY_STATE, FALSE, argv[3]);
  pipe = sbt_pipe_open(&b);
  if (ready == NULL || pipe == NULL || hello(pipe) != 0) return 3;
  /* Not inheritable and never closed: the broker must take it from this
   * process (pull mode) while the process still exists. */
  ev = CreateEventW(NULL, TRUE, FALSE, NULL);
  sbt_json_escape(sbt_child_path(), program, sizeof program);
  n = snprintf(frame, sizeof frame,
               "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"spawn\",\"params\":{\"program\":\"%s\","
               "\"args\":[\"sleep\",\"60000\"],\"lifetime\":\"connection\","
               "\"handles\":[{\"name\":\"e0\",\"value\":%llu}]}}\n",
               program, (unsigned long long)(uintptr_t)ev);
  if (n <= 0 || (size_t)n >= sizeof frame) return 2;
  if (strcmp(argv[1], "mid-frame") == 0)
    n /= 2;
  else if (strcmp(argv[1], "in-flight") != 0 && strcmp(argv[1], "unread") != 0)
    return 2;
  if (sbt_pipe_write(pipe, frame, (size_t)n) != 0) return 3;
  SetEvent(ready);
  Sleep(INFINITE);
  return 0;
}
