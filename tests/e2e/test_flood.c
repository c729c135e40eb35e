/*
 * A spawn flood from one client does not starve another (issue 5, TESTPLAN
 * D5's load side): FLOODERS connections of one client spawn as fast as the
 * broker lets them while a second client spawns one child at a time. The
 * second client's spawns all succeed, and it gets at least a quarter of a
 * fair share of the spawns the broker completes meanwhile (one connection
 * among FLOODERS + 1; the broker runs one spawn per connection at a time,
 * first come first served). Its latency, alone and under the flood, is
 * printed as a ratio; no time is asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "sb_test.h"
#include "spawn_fixture.h"

#define FLOODERS 16
#define PROBES 20

typedef struct flood {
  const char *pipe;
  volatile LONG stop;
  volatile LONG done;   /* flood spawns completed */
  volatile LONG failed; /* flood spawns that failed */
} flood;

static int spawn_exit0(sb_client *c) {
  static const char *const args[] = {"exit", "0"};
  sb_spawn_params p;
  sb_spawn_result res;
  sb_exit_info ex;
  int rc;
  sbt_child_params(&p, args, 2);
  rc = sb_client_spawn(c, &p, &res);
  /* Waited for, so that the broker forgets it (docs/protocol.md, "wait"). */
  if (rc == 0) rc = sb_client_wait(c, res.pid, 60000, &ex);
  return rc;
}

static DWORD WINAPI flooder_main(void *arg) {
  flood *fl = arg;
  sb_client *c = NULL;
  if (sb_client_connect(fl->pipe, 20000, &c) != 0) {
    InterlockedIncrement(&fl->failed);
    return 0;
  }
  while (!fl->stop) {
    if (spawn_exit0(c) == 0)
      InterlockedIncrement(&fl->done);
    else
      InterlockedIncrement(&fl->failed);
  }
  sb_client_close(c);
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* PROBES spawns one after the other; their median latency in ms, or -1
 * when one failed. */
static double probe(sb_client *c) {
  double ms[PROBES];
  LARGE_INTEGER f, t0, t1;
  QueryPerformanceFrequency(&f);
  for (int i = 0; i < PROBES; i++) {
    QueryPerformanceCounter(&t0);
    if (spawn_exit0(c) != 0) return -1;
    QueryPerformanceCounter(&t1);
    ms[i] = (double)(t1.QuadPart - t0.QuadPart) * 1000.0 / (double)f.QuadPart;
  }
  qsort(ms, PROBES, sizeof ms[0], cmp_double);
  return ms[PROBES / 2];
}

SB_TEST(a_flood_from_one_client_leaves_another_its_share) {
  sbt_broker b;
  sb_client *quiet;
  flood fl;
  HANDLE threads[FLOODERS];
  double alone, flooded;
  LONG before, during;
  int started = 0;

  REQUIRE(sbt_fixture_start(&b, NULL, &quiet) == 0);
  memset(&fl, 0, sizeof fl);
  fl.pipe = b.pipe_utf8;
  alone = probe(quiet);
  CHECK(alone > 0);
  for (int i = 0; i < FLOODERS; i++) {
    threads[i] = CreateThread(NULL, 0, flooder_main, &fl, 0, NULL);
    if (threads[i] != NULL) started++;
  }
  CHECK_INT(started, FLOODERS);
  /* The flood is on once every flooder has had a spawn through. */
  for (int i = 0; i < 600 && fl.done < 2 * FLOODERS; i++) Sleep(50);
  before = fl.done;
  flooded = probe(quiet);
  during = fl.done - before;
  InterlockedExchange(&fl.stop, 1);
  for (int i = 0; i < started; i++) {
    CHECK(WaitForSingleObject(threads[i], 120000) == WAIT_OBJECT_0);
    CloseHandle(threads[i]);
  }
  printf("flood: quiet client's spawn p50 %.1f ms alone, %.1f ms under %d flooding connections "
         "(x%.1f); the flood made %ld spawns while it made %d\n",
         alone, flooded, FLOODERS, alone > 0 ? flooded / alone : 0.0, (long)during, PROBES);
  CHECK(flooded > 0);
  CHECK_INT(fl.failed, 0);
  /* A fair share is 1 in FLOODERS + 1; a quarter of it is the floor. */
  if ((double)PROBES / (double)(PROBES + during) < 1.0 / (4.0 * (FLOODERS + 1)))
    SB__FAIL("the quiet client made %d spawns while the flood made %ld: less than a quarter of "
             "its share",
             PROBES, (long)during);
  sbt_fixture_stop(&b, quiet);
}

SB_TEST_MAIN(SB_CASE(a_flood_from_one_client_leaves_another_its_share))
