/*
 * spawnctl.exe: talks to a running broker from a shell.
 *
 *   spawnctl [--pipe NAME] [--timeout MS] ping | hello | stats
 *   spawnctl [--pipe NAME] [--timeout MS] call METHOD [PARAMS-JSON]
 *
 * Every command greets the broker with hello first, then sends one request
 * and prints its result. Exit codes: 0 success, 1 the broker answered with an
 * error, 2 usage, 125 the broker could not be reached or the transport
 * failed (as docker run and env use it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "sb_frame.h"
#include "sb_proto.h"

#define SB_DEFAULT_PIPE "\\\\.\\pipe\\spawnbroker"
#define EXIT_TRANSPORT 125

typedef struct ctl {
  uv_loop_t *loop;
  uv_pipe_t pipe;
  uv_connect_t connect_req;
  uv_timer_t timer;
  sb_frame_reader reader;
  char readbuf[4096];
  char pipe_name[256];
  const char *command;   /* ping, hello, stats, call */
  const char *call_method;
  const char *call_params;
  sb_method method;      /* for the typed commands */
  int stage;             /* 0: waiting for hello reply, 1: for the answer */
  uint64_t sent_at;
  int exit_code;
  int done;
} ctl;

static void finish(ctl *c, int code) {
  if (c->done) return;
  c->done = 1;
  c->exit_code = code;
  uv_close((uv_handle_t *)&c->timer, NULL);
  if (!uv_is_closing((uv_handle_t *)&c->pipe)) uv_close((uv_handle_t *)&c->pipe, NULL);
}

static void on_written(uv_write_t *req, int status) {
  ctl *c = req->data;
  sb_buf_free((sb_buf *)(req + 1));
  free(req);
  if (status < 0) {
    fprintf(stderr, "spawnctl: write to %s failed: %s\n", c->pipe_name, uv_strerror(status));
    finish(c, EXIT_TRANSPORT);
  }
}

/* Sends one frame; takes ownership of *buf. */
static void send_frame(ctl *c, sb_buf *buf) {
  /* One allocation holds the request and the buffer it must keep alive. */
  uv_write_t *req = malloc(sizeof *req + sizeof *buf);
  uv_buf_t b;
  if (req == NULL) {
    sb_buf_free(buf);
    finish(c, EXIT_TRANSPORT);
    return;
  }
  memcpy(req + 1, buf, sizeof *buf);
  req->data = c;
  b = uv_buf_init(buf->data, (unsigned)buf->len);
  if (uv_write(req, (uv_stream_t *)&c->pipe, &b, 1, on_written) != 0) {
    sb_buf_free(buf);
    free(req);
    finish(c, EXIT_TRANSPORT);
  }
}

/* "call" sends whatever the user wrote: the broker, not spawnctl, is the
 * judge of validity, so this path bypasses the client-side validation. */
static int build_call(ctl *c, sb_buf *out) {
  cJSON *root = cJSON_CreateObject(), *params = NULL;
  char *text = NULL;
  int rc = SB_E_NOMEM;

  if (root == NULL) goto done;
  if (c->call_params != NULL) {
    params = cJSON_Parse(c->call_params);
    if (params == NULL) {
      fprintf(stderr, "spawnctl: PARAMS is not valid JSON\n");
      rc = SB_E_PARSE;
      goto done;
    }
  }
  if (!cJSON_AddStringToObject(root, "jsonrpc", "2.0") ||
      !cJSON_AddNumberToObject(root, "id", 2) ||
      !cJSON_AddStringToObject(root, "method", c->call_method))
    goto done;
  if (params != NULL) {
    cJSON_AddItemToObject(root, "params", params);
    params = NULL;
  }
  text = cJSON_PrintUnformatted(root);
  if (text == NULL) goto done;
  out->len = strlen(text) + 1;
  out->data = malloc(out->len + 1);
  if (out->data == NULL) goto done;
  memcpy(out->data, text, out->len - 1);
  out->data[out->len - 1] = '\n';
  out->data[out->len] = '\0';
  rc = 0;
done:
  cJSON_free(text);
  cJSON_Delete(params);
  cJSON_Delete(root);
  return rc;
}

static void send_command(ctl *c) {
  sb_buf buf = {0};
  int rc;
  if (strcmp(c->command, "call") == 0) {
    rc = build_call(c, &buf);
  } else {
    sb_request req;
    sb_request_init(&req, c->method, 2);
    rc = sb_encode_request(&req, &buf);
  }
  if (rc != 0) {
    finish(c, rc == SB_E_PARSE ? 2 : EXIT_TRANSPORT);
    return;
  }
  c->sent_at = uv_hrtime();
  send_frame(c, &buf);
}

static void print_error(const sb_incoming *in) {
  if (in->error.detail != NULL && in->error.detail[0] != '\0')
    fprintf(stderr, "spawnctl: %s: %s (%s)\n", in->error.name, in->error.message,
            in->error.detail);
  else
    fprintf(stderr, "spawnctl: %s: %s\n", in->error.name, in->error.message);
}

static void handle_answer(ctl *c, const char *frame, size_t len, sb_incoming *in) {
  if (strcmp(c->command, "call") == 0) {
    /* The raw reply is the most useful thing to show for a raw call. */
    fwrite(frame, 1, len, stdout);
    fputc('\n', stdout);
    finish(c, in->kind == SB_INCOMING_ERROR ? 1 : 0);
    return;
  }
  if (in->kind == SB_INCOMING_ERROR) {
    print_error(in);
    finish(c, 1);
    return;
  }
  if (c->method == SB_METHOD_PING) {
    printf("pong in %.3f ms\n", (double)(uv_hrtime() - c->sent_at) / 1e6);
  } else {
    /* hello and stats: print the result object as the broker sent it. */
    cJSON *root = cJSON_ParseWithLength(frame, len);
    char *text = root ? cJSON_Print(cJSON_GetObjectItemCaseSensitive(root, "result")) : NULL;
    if (text != NULL) printf("%s\n", text);
    cJSON_free(text);
    cJSON_Delete(root);
  }
  finish(c, 0);
}

static void on_frame(ctl *c, const char *frame, size_t len) {
  sb_incoming in;
  if (sb_decode_incoming(frame, len, &in) != 0) {
    fprintf(stderr, "spawnctl: the broker sent a malformed reply\n");
    finish(c, EXIT_TRANSPORT);
    return;
  }
  if (in.kind == SB_INCOMING_EVENT) {
    sb_incoming_free(&in);
    return;
  }
  if (c->stage == 0) {
    if (in.kind == SB_INCOMING_ERROR) {
      print_error(&in);
      finish(c, EXIT_TRANSPORT);
    } else if (strcmp(c->command, "hello") == 0) {
      handle_answer(c, frame, len, &in);
    } else {
      c->stage = 1;
      send_command(c);
    }
  } else {
    handle_answer(c, frame, len, &in);
  }
  sb_incoming_free(&in);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  ctl *c = h->data;
  (void)suggested;
  *buf = uv_buf_init(c->readbuf, sizeof c->readbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  ctl *c = s->data;
  const char *p = buf->base;
  size_t left;
  if (nread < 0) {
    fprintf(stderr, "spawnctl: the broker closed the connection\n");
    finish(c, EXIT_TRANSPORT);
    return;
  }
  left = (size_t)nread;
  while (left > 0 && !c->done) {
    size_t used = 0, flen = 0;
    const char *frame = NULL;
    if (sb_frame_reader_feed(&c->reader, p, left, &used, &frame, &flen) != 0) {
      fprintf(stderr, "spawnctl: the broker sent an oversized frame\n");
      finish(c, EXIT_TRANSPORT);
      return;
    }
    p += used;
    left -= used;
    if (frame != NULL) on_frame(c, frame, flen);
  }
}

static void on_connect(uv_connect_t *req, int status) {
  ctl *c = req->data;
  sb_request hello;
  sb_buf buf = {0};

  if (status < 0) {
    fprintf(stderr, "spawnctl: no broker is listening on %s (%s)\n", c->pipe_name,
            uv_strerror(status));
    finish(c, EXIT_TRANSPORT);
    return;
  }
  if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) != 0) {
    finish(c, EXIT_TRANSPORT);
    return;
  }
  sb_request_init(&hello, SB_METHOD_HELLO, 1);
  hello.params.hello.protocol = SB_PROTOCOL_VERSION;
  hello.params.hello.client = "spawnctl";
  if (sb_encode_request(&hello, &buf) != 0) {
    finish(c, EXIT_TRANSPORT);
    return;
  }
  send_frame(c, &buf);
}

static void on_timeout(uv_timer_t *t) {
  ctl *c = t->data;
  fprintf(stderr, "spawnctl: no answer from %s in time\n", c->pipe_name);
  finish(c, EXIT_TRANSPORT);
}

static void usage(FILE *to) {
  fputs("usage: spawnctl [--pipe NAME] [--timeout MS] ping | hello | stats\n"
        "       spawnctl [--pipe NAME] [--timeout MS] call METHOD [PARAMS-JSON]\n"
        "\n"
        "  --pipe NAME    the broker's pipe (default " SB_DEFAULT_PIPE ")\n"
        "  --timeout MS   give up after MS milliseconds (default 10000)\n"
        "exit codes: 0 ok, 1 the broker answered with an error, 2 usage,\n"
        "            125 the broker could not be reached\n",
        to);
}

int main(int argc, char **argv) {
  ctl c;
  const char *pipe = SB_DEFAULT_PIPE;
  long timeout_ms = 10000;
  int i = 1;

  memset(&c, 0, sizeof c);
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    if (strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(argv[i], "--pipe") == 0 && i + 1 < argc) {
      pipe = argv[++i];
    } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
      char *end;
      timeout_ms = strtol(argv[++i], &end, 10);
      if (*end != '\0' || timeout_ms <= 0) {
        fprintf(stderr, "spawnctl: --timeout needs a positive number of milliseconds\n");
        return 2;
      }
    } else {
      fprintf(stderr, "spawnctl: unknown option '%s'\n", argv[i]);
      return 2;
    }
  }
  if (i >= argc) {
    usage(stderr);
    return 2;
  }
  c.command = argv[i++];
  if (strcmp(c.command, "ping") == 0) {
    c.method = SB_METHOD_PING;
  } else if (strcmp(c.command, "hello") == 0) {
    c.method = SB_METHOD_HELLO;
  } else if (strcmp(c.command, "stats") == 0) {
    c.method = SB_METHOD_STATS;
  } else if (strcmp(c.command, "call") == 0 && i < argc) {
    c.call_method = argv[i++];
    if (i < argc) c.call_params = argv[i++];
  } else {
    usage(stderr);
    return 2;
  }
  if (i != argc) {
    usage(stderr);
    return 2;
  }
  if (strncmp(pipe, "\\\\", 2) == 0)
    snprintf(c.pipe_name, sizeof c.pipe_name, "%s", pipe);
  else
    snprintf(c.pipe_name, sizeof c.pipe_name, "\\\\.\\pipe\\%s", pipe);

  c.loop = uv_default_loop();
  if (sb_frame_reader_init(&c.reader, SB_LIMIT_REPLY_FRAME_BYTES) != 0) return EXIT_TRANSPORT;
  uv_pipe_init(c.loop, &c.pipe, 0);
  c.pipe.data = &c;
  uv_timer_init(c.loop, &c.timer);
  c.timer.data = &c;
  uv_timer_start(&c.timer, on_timeout, (uint64_t)timeout_ms, 0);
  c.connect_req.data = &c;
  uv_pipe_connect(&c.connect_req, &c.pipe, c.pipe_name, on_connect);
  uv_run(c.loop, UV_RUN_DEFAULT);
  uv_loop_close(c.loop);
  sb_frame_reader_free(&c.reader);
  return c.exit_code;
}
