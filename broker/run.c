#include "run.h"

#include <stddef.h>
#include <stdlib.h>

#include "log.h"
#include "pool.h"
#ifdef SB_TEST_HOOKS
#include "rogue.h"
#include "test_gate.h"
#include "utf.h"
#endif

/* The helper executable ships next to the broker. */
static int helper_path(wchar_t *out, size_t cap) {
  DWORD n = GetModuleFileNameW(NULL, out, (DWORD)cap);
  wchar_t *slash;
  static const wchar_t name[] = L"spawnbroker-helper.exe";
  if (n == 0 || n >= cap) return SB_E_INTERNAL;
  slash = wcsrchr(out, L'\\');
  if (slash == NULL || (size_t)(slash + 1 - out) + wcslen(name) + 1 > cap) return SB_E_INTERNAL;
  wcscpy(slash + 1, name);
  return 0;
}

static sb__runner *runner_of(sb__server *srv) {
  return (sb__runner *)(void *)((char *)srv - offsetof(sb__runner, srv));
}

static void on_tick(uv_timer_t *t) {
  sb__runner *r = t->data;
  r->hooks.stopping(r, r->hooks.ctx);
}

static void on_server_stopped(sb__server *srv) {
  sb__runner *r = runner_of(srv);
  if (r->tick_on) uv_close((uv_handle_t *)&r->tick, NULL);
  r->tick_on = false;
  uv_close((uv_handle_t *)&r->stop_async, NULL);
}

static void begin_stop(sb__runner *r) {
  if (r->stopping) return;
  r->stopping = true;
  /* After the first Ctrl-C the console's default handling comes back, so
   * a second one ends the broker at once. */
  if (r->signals_on) {
    uv_close((uv_handle_t *)&r->sigint, NULL);
    uv_close((uv_handle_t *)&r->sigbreak, NULL);
    r->signals_on = false;
  }
  if (r->hooks.stopping != NULL) {
    r->hooks.stopping(r, r->hooks.ctx);
    if (uv_timer_init(r->loop, &r->tick) == 0) {
      r->tick.data = r;
      r->tick_on = true;
      uv_timer_start(&r->tick, on_tick, SB__RUN_TICK_MS, SB__RUN_TICK_MS);
    }
  }
  sb__server_stop(&r->srv, on_server_stopped);
}

static void on_stop_async(uv_async_t *a) {
  sb__runner *r = a->data;
  sb__log(SB_LOG_INFO, "stop requested");
  begin_stop(r);
}

static void on_signal(uv_signal_t *sig, int signum) {
  sb__runner *r = sig->data;
  sb__log(SB_LOG_INFO, "%s: stopping", signum == SIGINT ? "Ctrl-C" : "Ctrl-Break");
  begin_stop(r);
}

int sb__runner_init(sb__runner *r, const sb__run_hooks *hooks) {
  memset(r, 0, sizeof *r);
  r->hooks = *hooks;
  r->loop = uv_default_loop();
  if (r->loop == NULL || uv_async_init(r->loop, &r->stop_async, on_stop_async) != 0)
    return SB_E_INTERNAL;
  r->stop_async.data = r;
  return 0;
}

void sb__runner_request_stop(sb__runner *r) { uv_async_send(&r->stop_async); }

static void start_signals(sb__runner *r) {
  if (uv_signal_init(r->loop, &r->sigint) != 0) return;
  if (uv_signal_init(r->loop, &r->sigbreak) != 0) {
    uv_close((uv_handle_t *)&r->sigint, NULL);
    return;
  }
  r->sigint.data = r->sigbreak.data = r;
  uv_signal_start(&r->sigint, on_signal, SIGINT);
  uv_signal_start(&r->sigbreak, on_signal, SIGBREAK);
  r->signals_on = true;
}

#ifdef SB_TEST_HOOKS
static void start_test_hooks(const sb__options *o) {
  if (o->rogue_cmd != NULL && o->rogue_report != NULL) {
    wchar_t *cmd = NULL, *report = NULL;
    if (sb__utf8_to_wide(o->rogue_cmd, &cmd) == 0 &&
        sb__utf8_to_wide(o->rogue_report, &report) == 0)
      sb__rogue_start(cmd, report);
    free(cmd);
    free(report);
  }
  if (o->spawn_gate != NULL) sb__test_gate_set(o->spawn_gate);
}
#endif

int sb__runner_run(sb__runner *r, const sb__options *o) {
  sb__broker_config cfg = o->cfg;
  int rc;

  rc = helper_path(cfg.helper_path, MAX_PATH);
  if (rc != 0) {
    sb__log(SB_LOG_ERROR, "cannot find spawnbroker-helper.exe next to the broker");
    goto fail;
  }
  /* The broker holds no inheritable handle at all, not even the std
   * handles it was started with: whatever code in this process calls
   * CreateProcess(bInheritHandles=TRUE) then passes on nothing. */
  {
    static const DWORD std_ids[] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
    for (int i = 0; i < 3; i++) {
      HANDLE h = GetStdHandle(std_ids[i]);
      if (h != NULL && h != INVALID_HANDLE_VALUE) SetHandleInformation(h, HANDLE_FLAG_INHERIT, 0);
    }
  }
#ifdef SB_TEST_HOOKS
  start_test_hooks(o);
#endif
  rc = sb__server_start(&r->srv, r->loop, &cfg);
  if (rc != 0) goto fail;
  if (r->hooks.console_signals) start_signals(r);
  if (r->hooks.listening != NULL) r->hooks.listening(r, r->hooks.ctx);
  uv_run(r->loop, UV_RUN_DEFAULT);
#ifdef SB_TEST_HOOKS
  sb__rogue_stop();
#endif
  if (r->srv.spawns_cut_off == 0) {
    /* Worker threads are done once uv_run returns, so nothing uses the
     * pool any more: closing the helper job kills every helper. */
    sb__helpers_destroy(r->srv.helpers);
    uv_loop_close(r->loop);
    sb__log(SB_LOG_INFO, "stopped");
  } else {
    /* A worker thread still runs a spawn that was given up on and may
     * still use the pool, which must therefore stay allocated. Its
     * helpers go now; the rest (the pool, the spawn's half-made child in
     * its kill-on-close job) goes when the process exits, right after. */
    TerminateJobObject(sb__helpers_job(r->srv.helpers), 1);
    sb__log(SB_LOG_INFO, "stopped (%u spawn(s) cut off at stop.drain_ms)",
            (unsigned)r->srv.spawns_cut_off);
  }
  return 0;

fail:
#ifdef SB_TEST_HOOKS
  sb__rogue_stop();
#endif
  uv_close((uv_handle_t *)&r->stop_async, NULL);
  uv_run(r->loop, UV_RUN_DEFAULT);
  uv_loop_close(r->loop);
  return rc;
}
