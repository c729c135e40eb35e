/*
 * The broker's named-pipe server and its connections. Everything here runs
 * on the libuv loop thread; blocking Win32 work (spawns) goes to libuv's
 * worker threads and comes back through uv_queue_work's completion callback.
 */
#ifndef SB_BROKER_SERVER_H
#define SB_BROKER_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include <windows.h>

#include "identity.h"
#include "pool.h"
#include "sb_frame.h"
#include "sb_proto.h"
#include "settings.h"

typedef struct sb__child sb__child;
typedef struct sb__ident sb__ident;
typedef struct sb__listener sb__listener;
typedef struct sb__spawn_work sb__spawn_work;
typedef struct sb__server sb__server;

/* Called on the loop thread when a graceful stop has closed everything the
 * server owns (sb__server_stop). */
typedef void (*sb__server_stopped_cb)(sb__server *srv);

typedef struct sb__broker_config {
  sb__settings s;           /* every setting (settings.h) */
  wchar_t helper_path[MAX_PATH];
  /* Started by the SCM (spawnbroker with no verb) rather than `run`: the
   * broker then runs as a service account, usually LocalSystem, and must
   * create helpers and children with each client's own token. */
  bool service;
  /* Test builds only (--test-identity-by-client yes): clients that give
   * different hello.client names are different identities (hello.c). */
  bool test_identity_by_client;
  /* Test builds only (--test-spawn-delay-ms N): every spawn holds its
   * leased helper this long before creating the child, so tests can have
   * spawns in flight at will. */
  uint32_t test_spawn_delay_ms;
} sb__broker_config;

struct sb__server {
  uv_loop_t *loop;
  sb__listener *listener;   /* the pipe's listening instances (listener.h) */
  sb__broker_config cfg;
  sb__helpers *helpers;     /* the helper job and budget every pool shares */
  sb__ident *idents;        /* one entry per client identity (idents.h) */
  uint64_t started_ms;
  sb_stats_result stats;    /* counters served by the "stats" method */
  sb__child *children;      /* every tracked child, see children.h */
  uv_async_t exit_async;    /* wakes the loop when a child exits */
  SRWLOCK exit_lock;
  sb__child *exited;        /* children whose exit the loop has not seen */
  /* Graceful stop (sb__server_stop). */
  bool stopping;            /* new spawns are refused with ShuttingDown */
  bool stop_finished;       /* everything is closed */
  uint32_t spawns_in_flight; /* spawn work items queued or running, not cut off */
  uint32_t spawns_cut_off;  /* still running after stop.drain_ms: given up on */
  sb__spawn_work *spawns;   /* every spawn work item not done yet (dispatch.c) */
  uv_timer_t drain_timer;   /* stop.drain_ms */
  bool drain_timer_on;
  sb__server_stopped_cb on_stopped;
};

/* What one connection knows about its client. */
typedef struct sb__session {
  bool greeted;
  uint32_t protocol;
  sb_transfer transfer;      /* PULL or PUSH once greeted */
  DWORD client_pid;
  HANDLE client_process;     /* pull mode: opened with PROCESS_DUP_HANDLE */
  FILETIME connected_at;     /* when the pipe was connected (pid-reuse check) */
  sb__identity identity;     /* from the impersonation token, at hello */
  sb__ident *ident;          /* its entry: pool and per-identity counts */
  char owner[192];           /* the client's user SID: who owns its children */
} sb__session;

/* What a connection's timer is counting down to (server.c). */
typedef enum sb__conn_timer {
  SB__TIMER_IDLE,     /* limits.idle_timeout_ms since the last frame or reply */
  SB__TIMER_DEADLINE, /* limits.request_deadline_ms since a frame's first byte */
  SB__TIMER_CLOSING   /* limits.request_deadline_ms for the last reply to leave */
} sb__conn_timer;

typedef struct sb__conn {
  uv_pipe_t pipe; /* first: libuv hands back &pipe as the handle */
  sb__server *srv;
  sb_frame_reader reader;
  sb__session session;
  char readbuf[4096];
  uv_timer_t timer;      /* idle timeout, request deadline, closing grace */
  sb__conn_timer timer_for;
  DWORD peer_pid;        /* GetNamedPipeClientProcessId at accept, for the log */
  bool closing;          /* uv_close was called */
  bool refusing;         /* a fatal error reply is queued; read nothing more */
  bool spawn_in_flight;  /* at most one spawn per connection (Busy) */
  int64_t frame_at;      /* when the frame being dispatched was whole (stage.h) */
  int refs;              /* the connection itself, its timer, and work in flight */
} sb__conn;

int sb__server_start(sb__server *srv, uv_loop_t *loop, const sb__broker_config *cfg);
/* Stops gracefully: spawns are refused with ShuttingDown from now on, the
 * ones in flight get up to stop.drain_ms to finish (then they are cut off,
 * see sb__dispatch_cut_off), and then connections, children (per lifetime)
 * and the listener are closed and on_stopped is called. The helper pool is
 * left to the caller, who destroys it once uv_run has returned. When spawns
 * were cut off their worker threads still run: the loop is stopped with
 * uv_stop and spawns_cut_off says so; the pool must then not be destroyed
 * (its helper job may be terminated) and the process should exit. A second
 * call does nothing. */
void sb__server_stop(sb__server *srv, sb__server_stopped_cb on_stopped);
/* dispatch.c calls this when a spawn work item is done: a stop waiting for
 * the last spawn in flight goes on. */
void sb__server_spawn_finished(sb__server *srv);

/* Queues one frame to the client; takes ownership of *buf. A closed
 * connection drops it. 0, or SB_E_CLOSED when the frame cannot go out (the
 * connection is then closed). */
int sb__conn_send(sb__conn *c, sb_buf *buf);
/* The same for a spawn's result, with the test builds' "reply" fault
 * point (fault.h). */
int sb__conn_send_reply(sb__conn *c, sb_buf *buf);
/* Encodes and sends an error reply. */
void sb__conn_send_error(sb__conn *c, const sb_id *id, int err, const char *detail,
                         const char *path);
/* Reference counting keeps a connection's memory alive while a worker
 * thread or a waiter still points at it after the client went away. */
void sb__conn_ref(sb__conn *c);
void sb__conn_unref(sb__conn *c);
bool sb__conn_open(const sb__conn *c);

#endif
