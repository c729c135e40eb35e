/*
 * The children the broker started: exit watching, wait, kill, list, and the
 * lifetime of "connection" children. Loop thread only, except the exit
 * callback, which only queues the child and wakes the loop.
 */
#ifndef SB_BROKER_CHILDREN_H
#define SB_BROKER_CHILDREN_H

#include "server.h"

typedef struct sb__waiter sb__waiter;

struct sb__child {
  sb__server *srv;
  DWORD pid;
  HANDLE process;
  HANDLE job;             /* its job; NULL once closed, which kills broker/connection children */
  HANDLE wait_handle;     /* RegisterWaitForSingleObject */
  sb_lifetime lifetime;
  char *program;
  char owner[192];
  sb__conn *conn;         /* the spawning connection while it is open (referenced) */
  sb__ident *ident;       /* its identity, whose child count includes it */
  bool notify_exit;
  bool exited;
  bool waited;
  uint64_t started_ms;
  sb_exit_info exit;
  sb__waiter *waiters;
  sb__child *next;        /* in srv->children */
  sb__child *next_exited; /* in srv->exited */
};

int sb__children_init(sb__server *srv);
/* Starts tracking a child that was just created for connection c of
 * identity `ident`; takes ownership of process and job. */
int sb__children_add(sb__server *srv, sb__conn *c, sb__ident *ident, HANDLE process,
                     HANDLE job, DWORD pid, const sb_spawn_params *p);
void sb__children_wait(sb__server *srv, sb__conn *c, const sb_request *req);
void sb__children_kill(sb__server *srv, sb__conn *c, const sb_request *req);
void sb__children_list(sb__server *srv, sb__conn *c, const sb_request *req);
/* Whether connection c still expects something of its children: a pending
 * wait, or a running child whose exit it will be told of (notify_exit) or
 * that dies with it (the connection lifetime). Such a connection is not
 * idle (limits.idle_timeout_ms). */
bool sb__children_conn_busy(const sb__server *srv, const sb__conn *c);
/* Ends a child that was just added (its spawn result could not be sent):
 * its whole job is terminated; the exit watch then forgets it. */
void sb__children_kill_new(sb__server *srv, DWORD pid);
/* The connection is closing: its "connection" children die, its waiters go. */
void sb__children_conn_closed(sb__server *srv, sb__conn *c);
/* The broker is stopping: stop watching, close everything. */
void sb__children_shutdown(sb__server *srv);

#endif
