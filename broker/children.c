#include "children.h"

#include <psapi.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "idents.h"
#include "log.h"
#include "registry.h"

struct sb__waiter {
  sb__conn *conn; /* referenced */
  sb_id id;
  uv_timer_t timer;
  sb__child *child;
  sb__waiter *next;
};

/* Runs on a thread-pool thread when a child's process handle is signalled:
 * only queue the child and wake the loop, which owns every child record. */
static void CALLBACK on_exit_signalled(void *arg, BOOLEAN timed_out) {
  sb__child *ch = arg;
  sb__server *srv = ch->srv;
  (void)timed_out;
  AcquireSRWLockExclusive(&srv->exit_lock);
  ch->next_exited = srv->exited;
  srv->exited = ch;
  ReleaseSRWLockExclusive(&srv->exit_lock);
  uv_async_send(&srv->exit_async);
}

static uint64_t filetime_us(FILETIME ft) {
  ULARGE_INTEGER u;
  u.LowPart = ft.dwLowDateTime;
  u.HighPart = ft.dwHighDateTime;
  return u.QuadPart / 10;
}

static void collect_exit(sb__server *srv, sb__child *ch) {
  FILETIME created, ended, kernel, user;
  PROCESS_MEMORY_COUNTERS mem;
  DWORD code = 0;

  GetExitCodeProcess(ch->process, &code);
  ch->exit.pid = ch->pid;
  ch->exit.exit_code = code;
  ch->exit.wall_ms = uv_now(srv->loop) - ch->started_ms;
  if (GetProcessTimes(ch->process, &created, &ended, &kernel, &user)) {
    ch->exit.cpu_user_us = filetime_us(user);
    ch->exit.cpu_kernel_us = filetime_us(kernel);
    ch->exit.wall_ms = (filetime_us(ended) - filetime_us(created)) / 1000;
  }
  ZeroMemory(&mem, sizeof mem);
  if (GetProcessMemoryInfo(ch->process, &mem, sizeof mem))
    ch->exit.peak_memory_bytes = mem.PeakPagefileUsage;
  ch->exited = true;
}

static void waiter_timer_closed(uv_handle_t *h) {
  sb__waiter *w = h->data;
  sb__conn_unref(w->conn);
  free(w);
}

static void waiter_finish(sb__waiter *w, int err) {
  sb__child *ch = w->child;
  sb__waiter **pp;
  for (pp = &ch->waiters; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == w) {
      *pp = w->next;
      break;
    }
  }
  if (err == 0) {
    sb_result res;
    sb_buf buf = {0};
    memset(&res, 0, sizeof res);
    res.method = SB_METHOD_WAIT;
    res.u.wait = ch->exit;
    if (sb_encode_result(&w->id, &res, &buf) == 0) sb__conn_send(w->conn, &buf);
    ch->waited = true;
  } else if (err != SB_E_CLOSED) {
    sb__conn_send_error(w->conn, &w->id, err, "the child is still running", NULL);
  }
  uv_timer_stop(&w->timer);
  uv_close((uv_handle_t *)&w->timer, waiter_timer_closed);
}

static void on_wait_timeout(uv_timer_t *t) { waiter_finish(t->data, SB_E_TIMEOUT); }

static void child_free(sb__server *srv, sb__child *ch) {
  sb__child **pp;
  for (pp = &srv->children; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == ch) {
      *pp = ch->next;
      break;
    }
  }
  /* Only running children still have a wait (at shutdown, or when the
   * watch could not start): INVALID_HANDLE_VALUE makes the unregister wait
   * for a callback that may be running right now, so none can touch the
   * record after it is freed. */
  if (ch->wait_handle != NULL) UnregisterWaitEx(ch->wait_handle, INVALID_HANDLE_VALUE);
  /* Closed first, then disowned (registry.h says why). */
  if (ch->job != NULL) {
    CloseHandle(ch->job);
    sb__registry_disown(ch->job);
  }
  CloseHandle(ch->process);
  sb__registry_disown(ch->process);
  if (ch->conn != NULL) sb__conn_unref(ch->conn);
  if (!ch->exited) srv->stats.children_running--;
  sb__idents_child_gone(ch->ident);
  free(ch->program);
  free(ch);
}

/* An exited child's record stays for `list` and a later `wait` until it has
 * been waited for or its connection closed. */
static void maybe_forget(sb__server *srv, sb__child *ch) {
  if (ch->exited && ch->waiters == NULL && (ch->waited || ch->conn == NULL))
    child_free(srv, ch);
}

static void on_exit_async(uv_async_t *a) {
  sb__server *srv = a->data;
  sb__child *list;

  AcquireSRWLockExclusive(&srv->exit_lock);
  list = srv->exited;
  srv->exited = NULL;
  ReleaseSRWLockExclusive(&srv->exit_lock);

  while (list != NULL) {
    sb__child *ch = list;
    list = ch->next_exited;
    /* With WT_EXECUTEONLYONCE the wait is spent; unregistering without
     * waiting for callbacks is safe because this one already ran. */
    UnregisterWaitEx(ch->wait_handle, NULL);
    ch->wait_handle = NULL;
    collect_exit(srv, ch);
    srv->stats.children_running--;
    sb__log(SB_LOG_DEBUG, "child %lu exited with %lu", ch->pid, (unsigned long)ch->exit.exit_code);
    if (ch->notify_exit && ch->conn != NULL && sb__conn_open(ch->conn)) {
      sb_buf buf = {0};
      if (sb_encode_exit_event(&ch->exit, &buf) == 0) sb__conn_send(ch->conn, &buf);
    }
    while (ch->waiters != NULL) waiter_finish(ch->waiters, 0);
    maybe_forget(srv, ch);
  }
}

int sb__children_init(sb__server *srv) {
  InitializeSRWLock(&srv->exit_lock);
  if (uv_async_init(srv->loop, &srv->exit_async, on_exit_async) != 0) return SB_E_INTERNAL;
  srv->exit_async.data = srv;
  return 0;
}

int sb__children_add(sb__server *srv, sb__conn *c, sb__ident *ident, HANDLE process,
                     HANDLE job, DWORD pid, const sb_spawn_params *p) {
  sb__child *ch = calloc(1, sizeof *ch);
  if (ch == NULL) return SB_E_NOMEM;
  ch->program = _strdup(p->program);
  if (ch->program == NULL) {
    free(ch);
    return SB_E_NOMEM;
  }
  ch->srv = srv;
  ch->ident = ident;
  sb__idents_child_added(ident);
  ch->pid = pid;
  ch->process = process;
  ch->job = job;
  ch->lifetime = p->lifetime;
  ch->notify_exit = p->notify_exit;
  ch->started_ms = uv_now(srv->loop);
  memcpy(ch->owner, c->session.owner, sizeof ch->owner);
  /* A client that left while its child was made gets no events. */
  if (sb__conn_open(c)) {
    ch->conn = c;
    sb__conn_ref(c);
  }
  sb__registry_own(process);
  sb__registry_own(job);
  ch->next = srv->children;
  srv->children = ch;
  srv->stats.children_running++;
  if (sb__fault_fires(SB__FAULT_EXIT_WATCH) ||
      !RegisterWaitForSingleObject(&ch->wait_handle, process, on_exit_signalled, ch, INFINITE,
                                   WT_EXECUTEONLYONCE)) {
    /* Without a watch the exit would go unnoticed; the child is killed
     * rather than left untracked. */
    sb__log(SB_LOG_ERROR, "cannot watch child %lu: error %lu", pid, GetLastError());
    ch->wait_handle = NULL;
    TerminateProcess(process, 1);
    child_free(srv, ch);
    return SB_E_INTERNAL;
  }
  return 0;
}

/* The caller's own child with this pid, or NULL. */
static sb__child *find_child(sb__server *srv, const sb__conn *c, uint32_t pid) {
  for (sb__child *ch = srv->children; ch != NULL; ch = ch->next)
    if (ch->pid == pid && strcmp(ch->owner, c->session.owner) == 0) return ch;
  return NULL;
}

void sb__children_wait(sb__server *srv, sb__conn *c, const sb_request *req) {
  const sb_wait_params *p = &req->params.wait;
  sb__child *ch = find_child(srv, c, p->pid);
  sb__waiter *w;

  if (ch == NULL) {
    sb__conn_send_error(c, &req->id, SB_E_NO_SUCH_CHILD, NULL, "params.pid");
    return;
  }
  w = calloc(1, sizeof *w);
  if (w == NULL) {
    sb__conn_send_error(c, &req->id, SB_E_NOMEM, NULL, NULL);
    return;
  }
  w->conn = c;
  sb__conn_ref(c);
  w->id = req->id;
  w->child = ch;
  w->next = ch->waiters;
  ch->waiters = w;
  uv_timer_init(srv->loop, &w->timer);
  w->timer.data = w;
  if (ch->exited) {
    waiter_finish(w, 0);
    maybe_forget(srv, ch);
    return;
  }
  if (p->timeout_ms >= 0) uv_timer_start(&w->timer, on_wait_timeout, (uint64_t)p->timeout_ms, 0);
}

void sb__children_kill(sb__server *srv, sb__conn *c, const sb_request *req) {
  const sb_kill_params *p = &req->params.kill;
  sb__child *ch = find_child(srv, c, p->pid);
  sb_result res;
  sb_buf buf = {0};

  if (ch == NULL) {
    sb__conn_send_error(c, &req->id, SB_E_NO_SUCH_CHILD, NULL, "params.pid");
    return;
  }
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_KILL;
  res.u.kill.pid = ch->pid;
  if (!ch->exited && WaitForSingleObject(ch->process, 0) == WAIT_TIMEOUT) {
    /* The whole job when there is one: the child's own children go too. */
    BOOL ok = ch->job != NULL ? TerminateJobObject(ch->job, p->exit_code)
                              : TerminateProcess(ch->process, p->exit_code);
    if (!ok) {
      sb__conn_send_error(c, &req->id, SB_E_ACCESS_DENIED, "the child could not be terminated",
                          NULL);
      return;
    }
    res.u.kill.killed = true;
  }
  if (sb_encode_result(&req->id, &res, &buf) == 0) sb__conn_send(c, &buf);
}

void sb__children_kill_new(sb__server *srv, DWORD pid) {
  for (sb__child *ch = srv->children; ch != NULL; ch = ch->next) {
    if (ch->pid != pid || ch->exited) continue;
    sb__log(SB_LOG_WARN, "child %lu is ended: its spawn result could not be sent", pid);
    if (ch->job == NULL || !TerminateJobObject(ch->job, 1)) TerminateProcess(ch->process, 1);
    /* Nobody may wait for it: it was never theirs to know. */
    ch->notify_exit = false;
    return;
  }
}

void sb__children_list(sb__server *srv, sb__conn *c, const sb_request *req) {
  sb_child_info *kids;
  size_t n = 0;
  sb_result res;
  sb_buf buf = {0};

  kids = calloc(SB_LIMIT_LIST_CHILDREN, sizeof *kids);
  if (kids == NULL) {
    sb__conn_send_error(c, &req->id, SB_E_NOMEM, NULL, NULL);
    return;
  }
  for (sb__child *ch = srv->children; ch != NULL && n < SB_LIMIT_LIST_CHILDREN; ch = ch->next) {
    if (strcmp(ch->owner, c->session.owner) != 0) continue;
    kids[n].pid = ch->pid;
    kids[n].program = ch->program;
    kids[n].lifetime = ch->lifetime;
    kids[n].running = !ch->exited;
    kids[n].exit_code = ch->exit.exit_code;
    n++;
  }
  memset(&res, 0, sizeof res);
  res.method = SB_METHOD_LIST;
  res.u.list.children = kids;
  res.u.list.nchildren = n;
  if (sb_encode_result(&req->id, &res, &buf) == 0)
    sb__conn_send(c, &buf);
  else
    sb__conn_send_error(c, &req->id, SB_E_NOMEM, NULL, NULL);
  free(kids);
}

bool sb__children_conn_busy(const sb__server *srv, const sb__conn *c) {
  for (const sb__child *ch = srv->children; ch != NULL; ch = ch->next) {
    for (const sb__waiter *w = ch->waiters; w != NULL; w = w->next)
      if (w->conn == c) return true;
    if (ch->conn == c && !ch->exited &&
        (ch->notify_exit || ch->lifetime == SB_LIFETIME_CONNECTION))
      return true;
  }
  return false;
}

void sb__children_conn_closed(sb__server *srv, sb__conn *c) {
  sb__child *ch = srv->children, *next;
  for (; ch != NULL; ch = next) {
    next = ch->next;
    /* Its waiters go without a reply: nobody is left to read it. */
    for (sb__waiter *w = ch->waiters, *wn; w != NULL; w = wn) {
      wn = w->next;
      if (w->conn == c) waiter_finish(w, SB_E_CLOSED);
    }
    if (ch->conn != c) continue;
    if (ch->lifetime == SB_LIFETIME_CONNECTION && ch->job != NULL) {
      /* Kill-on-close: closing the broker's only handle ends the job. */
      CloseHandle(ch->job);
      sb__registry_disown(ch->job);
      ch->job = NULL;
    }
    sb__conn_unref(c);
    ch->conn = NULL;
    maybe_forget(srv, ch);
  }
}

void sb__children_shutdown(sb__server *srv) {
  while (srv->children != NULL) {
    sb__child *ch = srv->children;
    while (ch->waiters != NULL) waiter_finish(ch->waiters, SB_E_CLOSED);
    child_free(srv, ch);
  }
  if (!uv_is_closing((uv_handle_t *)&srv->exit_async))
    uv_close((uv_handle_t *)&srv->exit_async, NULL);
}
