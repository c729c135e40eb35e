/*
 * sb_decode_incoming and sb_decode_result: the client's reading of results,
 * errors and events. Unknown keys inside results, events and error.data are
 * skipped; every other deviation is BadReply. Frames use ' for " (see J).
 */
#include <stdbool.h>
#include <string.h>

#include "sb_proto.h"
#include "sb_test.h"
#include "sb_test_json.h"


#define RESULT(body) J("{'jsonrpc':'2.0','id':5,'result':" body "}")

static int incoming(const char *frame, sb_incoming *in) {
  return sb_decode_incoming(frame, strlen(frame), in);
}

/* A frame the envelope decoder must refuse. */
#define EXPECT_BAD_FRAME(frame)                                             \
  do {                                                                      \
    sb_incoming in_;                                                        \
    memset(&in_, 0xAB, sizeof in_);                                         \
    int rc_ = incoming((frame), &in_);                                      \
    CHECK_STR(rc_ == 0 ? "(accepted)" : sb_err_name(rc_), "BadReply");      \
    CHECK(in_.sb__owned == NULL);                                           \
    if (rc_ == 0) sb_incoming_free(&in_);                                   \
  } while (0)

/* A result frame that is fine as an envelope but not as a reply to method. */
#define EXPECT_BAD_RESULT(frame, method)                                    \
  do {                                                                      \
    sb_incoming in_;                                                        \
    sb_result res_;                                                         \
    REQUIRE(incoming((frame), &in_) == 0);                                  \
    REQUIRE(in_.kind == SB_INCOMING_RESULT);                                \
    memset(&res_, 0xAB, sizeof res_);                                       \
    int rc_ = sb_decode_result(&in_, (method), &res_);                      \
    CHECK_STR(rc_ == 0 ? "(accepted)" : sb_err_name(rc_), "BadReply");      \
    CHECK(res_.sb__owned == NULL);                                          \
    if (rc_ == 0) sb_result_free(&res_);                                    \
    sb_incoming_free(&in_);                                                 \
  } while (0)

/* ------------------------------------------------------------------------ */
/* Results                                                                  */

SB_TEST(hello_result) {
  sb_incoming in;
  sb_result res;
  REQUIRE(incoming(RESULT("{'protocol':1,'broker_version':'0.1.0','pid':4242,'transfer':'push',"
                          "'max_frame_bytes':65536,'max_handles':16,'max_args':1024,"
                          "'max_env':1024,'future_field':{'a':[1,2]}}"),
                   &in) == 0);
  CHECK_INT(in.kind, SB_INCOMING_RESULT);
  CHECK_INT(in.id.kind, SB_ID_NUMBER);
  CHECK_INT(in.id.number, 5);
  REQUIRE(sb_decode_result(&in, SB_METHOD_HELLO, &res) == 0);
  CHECK_INT(res.method, SB_METHOD_HELLO);
  CHECK_INT(res.u.hello.protocol, 1);
  CHECK_STR(res.u.hello.broker_version, "0.1.0");
  CHECK_INT(res.u.hello.pid, 4242);
  CHECK_INT(res.u.hello.transfer, SB_TRANSFER_PUSH);
  CHECK_INT(res.u.hello.max_frame_bytes, 65536);
  CHECK_INT(res.u.hello.max_handles, 16);
  CHECK_INT(res.u.hello.max_args, 1024);
  CHECK_INT(res.u.hello.max_env, 1024);
  sb_result_free(&res);
  sb_incoming_free(&in);
  CHECK(in.sb__owned == NULL);

  const char *base = "'protocol':1,'broker_version':'0.1.0','pid':1,'max_frame_bytes':1,"
                     "'max_handles':1,'max_args':1,'max_env':1";
  char frame[512];
  snprintf(frame, sizeof frame, "{'jsonrpc':'2.0','id':5,'result':{%s,'transfer':'pull'}}", base);
  REQUIRE(incoming(J(frame), &in) == 0);
  REQUIRE(sb_decode_result(&in, SB_METHOD_HELLO, &res) == 0);
  CHECK_INT(res.u.hello.transfer, SB_TRANSFER_PULL);
  sb_result_free(&res);
  sb_incoming_free(&in);
  /* "auto" is something a client asks for, never an answer. */
  snprintf(frame, sizeof frame, "{'jsonrpc':'2.0','id':5,'result':{%s,'transfer':'auto'}}", base);
  EXPECT_BAD_RESULT(J(frame), SB_METHOD_HELLO);
  snprintf(frame, sizeof frame, "{'jsonrpc':'2.0','id':5,'result':{%s}}", base);
  EXPECT_BAD_RESULT(J(frame), SB_METHOD_HELLO); /* transfer missing */
  snprintf(frame, sizeof frame, "{'jsonrpc':'2.0','id':5,'result':{%s,'transfer':'pull','pid':2}}",
           base);
  EXPECT_BAD_RESULT(J(frame), SB_METHOD_HELLO); /* duplicate known key */
  EXPECT_BAD_RESULT(RESULT("{'protocol':'1','broker_version':'0.1.0','pid':1,'transfer':'pull',"
                           "'max_frame_bytes':1,'max_handles':1,'max_args':1,'max_env':1}"),
                    SB_METHOD_HELLO);
  EXPECT_BAD_RESULT(RESULT("{'protocol':1,'broker_version':7,'pid':1,'transfer':'pull',"
                           "'max_frame_bytes':1,'max_handles':1,'max_args':1,'max_env':1}"),
                    SB_METHOD_HELLO);
  EXPECT_BAD_RESULT(RESULT("{'protocol':1,'broker_version':'x','pid':-1,'transfer':'pull',"
                           "'max_frame_bytes':1,'max_handles':1,'max_args':1,'max_env':1}"),
                    SB_METHOD_HELLO);
  EXPECT_BAD_RESULT(RESULT("{'protocol':1,'broker_version':'x','pid':1,'transfer':'pull',"
                           "'max_frame_bytes':1.5,'max_handles':1,'max_args':1,'max_env':1}"),
                    SB_METHOD_HELLO);
  EXPECT_BAD_RESULT(RESULT("{'protocol':1,'broker_version':'x','pid':4294967296,"
                           "'transfer':'pull','max_frame_bytes':1,'max_handles':1,'max_args':1,"
                           "'max_env':1}"),
                    SB_METHOD_HELLO);
  /* Keys are exact: "PID" is an unknown key (skipped), so pid is missing. */
  EXPECT_BAD_RESULT(RESULT("{'protocol':1,'broker_version':'x','PID':1,'transfer':'pull',"
                           "'max_frame_bytes':1,'max_handles':1,'max_args':1,'max_env':1}"),
                    SB_METHOD_HELLO);
  EXPECT_BAD_RESULT(RESULT("[]"), SB_METHOD_HELLO);
  EXPECT_BAD_RESULT(RESULT("null"), SB_METHOD_HELLO);
}

SB_TEST(spawn_result) {
  sb_incoming in;
  sb_result res;
  REQUIRE(incoming(RESULT("{'pid':77,'handles':[{'name':'in','value':104},"
                          "{'name':'out','value':108,'type':'pipe'}],'extra':true}"),
                   &in) == 0);
  REQUIRE(sb_decode_result(&in, SB_METHOD_SPAWN, &res) == 0);
  CHECK_INT(res.u.spawn.pid, 77);
  REQUIRE(res.u.spawn.nhandles == 2);
  CHECK_STR(res.u.spawn.handles[0].name, "in");
  CHECK_INT(res.u.spawn.handles[0].value, 104);
  CHECK_STR(res.u.spawn.handles[1].name, "out");
  CHECK_INT(res.u.spawn.handles[1].value, 108);
  sb_result_free(&res);
  sb_incoming_free(&in);

  REQUIRE(incoming(RESULT("{'pid':77,'handles':[]}"), &in) == 0);
  REQUIRE(sb_decode_result(&in, SB_METHOD_SPAWN, &res) == 0);
  CHECK_INT(res.u.spawn.nhandles, 0);
  sb_result_free(&res);
  sb_incoming_free(&in);

  EXPECT_BAD_RESULT(RESULT("{'pid':77}"), SB_METHOD_SPAWN);
  EXPECT_BAD_RESULT(RESULT("{'pid':77,'handles':{}}"), SB_METHOD_SPAWN);
  EXPECT_BAD_RESULT(RESULT("{'pid':77,'handles':[{'name':'a','value':'4'}]}"), SB_METHOD_SPAWN);
  EXPECT_BAD_RESULT(RESULT("{'pid':77,'handles':[{'name':'a','value':4.5}]}"), SB_METHOD_SPAWN);
  EXPECT_BAD_RESULT(RESULT("{'pid':77,'handles':[{'value':4}]}"), SB_METHOD_SPAWN);
  EXPECT_BAD_RESULT(RESULT("{'pid':77,'handles':[{'name':'a\\u0000','value':4}]}"),
                    SB_METHOD_SPAWN);
  EXPECT_BAD_RESULT(RESULT("{'pid':77,'handles':[4]}"), SB_METHOD_SPAWN);
  /* 17 handles cannot fit the struct. */
  char frame[2048];
  size_t n = (size_t)snprintf(frame, sizeof frame,
                              "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"pid\":1,\"handles\":[");
  for (int i = 0; i < SB_LIMIT_HANDLES + 1; i++)
    n += (size_t)snprintf(frame + n, sizeof frame - n, "%s{\"name\":\"h%d\",\"value\":%d}",
                          i ? "," : "", i, 4 * (i + 1));
  snprintf(frame + n, sizeof frame - n, "]}}");
  EXPECT_BAD_RESULT(frame, SB_METHOD_SPAWN);
}

SB_TEST(wait_result_and_exit_event) {
  sb_incoming in;
  sb_result res;
  REQUIRE(incoming(RESULT("{'pid':9,'exit_code':3221225477,'wall_ms':1500,'cpu_user_us':20,"
                          "'cpu_kernel_us':30,'peak_memory_bytes':9007199254740991,'new':1}"),
                   &in) == 0);
  REQUIRE(sb_decode_result(&in, SB_METHOD_WAIT, &res) == 0);
  CHECK_INT(res.u.wait.pid, 9);
  CHECK(res.u.wait.exit_code == 3221225477u); /* 0xC0000005 fits a DWORD */
  CHECK_INT(res.u.wait.wall_ms, 1500);
  CHECK_INT(res.u.wait.cpu_user_us, 20);
  CHECK_INT(res.u.wait.cpu_kernel_us, 30);
  CHECK(res.u.wait.peak_memory_bytes == 9007199254740991ull);
  sb_result_free(&res);
  sb_incoming_free(&in);

  REQUIRE(incoming(J("{'jsonrpc':'2.0','method':'exit','params':{'pid':9,'exit_code':0,"
                     "'wall_ms':1,'cpu_user_us':2,'cpu_kernel_us':3,'peak_memory_bytes':4,"
                     "'reason':'exited'}}"),
                   &in) == 0);
  CHECK_INT(in.kind, SB_INCOMING_EVENT);
  CHECK_INT(in.event, SB_EVENT_EXIT);
  CHECK_INT(in.id.kind, SB_ID_NULL);
  CHECK_INT(in.exit.pid, 9);
  CHECK_INT(in.exit.exit_code, 0);
  CHECK_INT(in.exit.wall_ms, 1);
  CHECK_INT(in.exit.cpu_user_us, 2);
  CHECK_INT(in.exit.cpu_kernel_us, 3);
  CHECK_INT(in.exit.peak_memory_bytes, 4);
  /* An event is not a result. */
  CHECK_INT(sb_decode_result(&in, SB_METHOD_WAIT, &res), SB_E_INVALID_ARGUMENT);
  sb_incoming_free(&in);

  EXPECT_BAD_RESULT(RESULT("{'pid':9,'exit_code':-1,'wall_ms':1,'cpu_user_us':2,"
                           "'cpu_kernel_us':3,'peak_memory_bytes':4}"),
                    SB_METHOD_WAIT);
  EXPECT_BAD_RESULT(RESULT("{'pid':9,'exit_code':4294967296,'wall_ms':1,'cpu_user_us':2,"
                           "'cpu_kernel_us':3,'peak_memory_bytes':4}"),
                    SB_METHOD_WAIT);
  EXPECT_BAD_RESULT(RESULT("{'pid':9,'exit_code':0,'wall_ms':1,'cpu_user_us':2,"
                           "'cpu_kernel_us':3}"),
                    SB_METHOD_WAIT);
  EXPECT_BAD_RESULT(RESULT("{'pid':9,'exit_code':0,'wall_ms':'1','cpu_user_us':2,"
                           "'cpu_kernel_us':3,'peak_memory_bytes':4}"),
                    SB_METHOD_WAIT);

  /* Events: exactly "exit", with params, without an id. */
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','method':'progress','params':{}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','method':'Exit','params':{'pid':9,'exit_code':0,"
                     "'wall_ms':1,'cpu_user_us':2,'cpu_kernel_us':3,'peak_memory_bytes':4}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','method':'exit'}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','method':'exit','params':[]}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','method':'exit','params':{'pid':9}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':3,'method':'exit','params':{'pid':9,'exit_code':0,"
                     "'wall_ms':1,'cpu_user_us':2,'cpu_kernel_us':3,'peak_memory_bytes':4}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','method':7,'params':{}}"));
}

SB_TEST(kill_result) {
  sb_incoming in;
  sb_result res;
  REQUIRE(incoming(RESULT("{'pid':12,'killed':false}"), &in) == 0);
  REQUIRE(sb_decode_result(&in, SB_METHOD_KILL, &res) == 0);
  CHECK_INT(res.u.kill.pid, 12);
  CHECK(!res.u.kill.killed);
  sb_result_free(&res);
  sb_incoming_free(&in);
  REQUIRE(incoming(RESULT("{'killed':true,'pid':12}"), &in) == 0);
  REQUIRE(sb_decode_result(&in, SB_METHOD_KILL, &res) == 0);
  CHECK(res.u.kill.killed);
  sb_result_free(&res);
  sb_incoming_free(&in);
  EXPECT_BAD_RESULT(RESULT("{'pid':12,'killed':1}"), SB_METHOD_KILL);
  EXPECT_BAD_RESULT(RESULT("{'pid':12}"), SB_METHOD_KILL);
}

SB_TEST(list_result) {
  sb_incoming in;
  sb_result res;
  REQUIRE(incoming(RESULT("{'children':[{'pid':1,'program':'a.exe','lifetime':'broker',"
                          "'running':true},{'pid':2,'program':'b.exe','lifetime':'detached',"
                          "'running':false,'exit_code':3,'started':'x'},{'pid':3,'program':'c',"
                          "'lifetime':'connection','running':false}]}"),
                   &in) == 0);
  REQUIRE(sb_decode_result(&in, SB_METHOD_LIST, &res) == 0);
  REQUIRE(res.u.list.nchildren == 3);
  CHECK(res.sb__owned == res.u.list.children);
  const sb_child_info *c = res.u.list.children;
  CHECK_INT(c[0].pid, 1);
  CHECK_STR(c[0].program, "a.exe");
  CHECK_INT(c[0].lifetime, SB_LIFETIME_BROKER);
  CHECK(c[0].running);
  CHECK_INT(c[0].exit_code, 0);
  CHECK_INT(c[1].pid, 2);
  CHECK_STR(c[1].program, "b.exe");
  CHECK_INT(c[1].lifetime, SB_LIFETIME_DETACHED);
  CHECK(!c[1].running);
  CHECK_INT(c[1].exit_code, 3);
  CHECK_INT(c[2].lifetime, SB_LIFETIME_CONNECTION);
  CHECK_INT(c[2].exit_code, 0);
  sb_result_free(&res);
  CHECK(res.sb__owned == NULL);
  sb_incoming_free(&in);

  REQUIRE(incoming(RESULT("{'children':[]}"), &in) == 0);
  REQUIRE(sb_decode_result(&in, SB_METHOD_LIST, &res) == 0);
  CHECK_INT(res.u.list.nchildren, 0);
  CHECK(res.u.list.children == NULL);
  sb_result_free(&res);
  sb_incoming_free(&in);

  EXPECT_BAD_RESULT(RESULT("{'children':[{'pid':1,'program':'a','lifetime':'broker',"
                           "'running':true,'exit_code':0}]}"),
                    SB_METHOD_LIST);
  EXPECT_BAD_RESULT(RESULT("{'children':[{'pid':1,'program':'a','lifetime':'forever',"
                           "'running':true}]}"),
                    SB_METHOD_LIST);
  EXPECT_BAD_RESULT(RESULT("{'children':[{'pid':1,'program':'a','lifetime':'broker',"
                           "'running':'no'}]}"),
                    SB_METHOD_LIST);
  /* A bad entry after good ones frees the array (ASan checks). */
  EXPECT_BAD_RESULT(RESULT("{'children':[{'pid':1,'program':'a','lifetime':'broker',"
                           "'running':true},{'pid':1}]}"),
                    SB_METHOD_LIST);
  EXPECT_BAD_RESULT(RESULT("{}"), SB_METHOD_LIST);
  /* 4096 and 4097 children: see test_limits.c. */
}

SB_TEST(stats_result) {
  sb_incoming in;
  sb_result res;
  REQUIRE(incoming(RESULT("{'uptime_ms':1,'connections_current':2,'connections_total':3,"
                          "'requests_total':4,'errors_total':5,'spawns_ok':6,'spawns_failed':7,"
                          "'children_running':8,'helpers_idle':9,'helpers_busy':10,"
                          "'helpers_created':11,'helpers_retired':12,'gc_runs':13}"),
                   &in) == 0);
  REQUIRE(sb_decode_result(&in, SB_METHOD_STATS, &res) == 0);
  const sb_stats_result *s = &res.u.stats;
  CHECK_INT(s->uptime_ms, 1);
  CHECK_INT(s->connections_current, 2);
  CHECK_INT(s->connections_total, 3);
  CHECK_INT(s->requests_total, 4);
  CHECK_INT(s->errors_total, 5);
  CHECK_INT(s->spawns_ok, 6);
  CHECK_INT(s->spawns_failed, 7);
  CHECK_INT(s->children_running, 8);
  CHECK_INT(s->helpers_idle, 9);
  CHECK_INT(s->helpers_busy, 10);
  CHECK_INT(s->helpers_created, 11);
  CHECK_INT(s->helpers_retired, 12);
  sb_result_free(&res);
  sb_incoming_free(&in);

  /* Missing counters read as 0, for brokers older or newer than us. */
  REQUIRE(incoming(RESULT("{'spawns_ok':6}"), &in) == 0);
  REQUIRE(sb_decode_result(&in, SB_METHOD_STATS, &res) == 0);
  CHECK_INT(res.u.stats.spawns_ok, 6);
  CHECK_INT(res.u.stats.uptime_ms, 0);
  CHECK_INT(res.u.stats.helpers_retired, 0);
  sb_result_free(&res);
  sb_incoming_free(&in);

  EXPECT_BAD_RESULT(RESULT("{'spawns_ok':-6}"), SB_METHOD_STATS);
  EXPECT_BAD_RESULT(RESULT("{'spawns_ok':'6'}"), SB_METHOD_STATS);
  EXPECT_BAD_RESULT(RESULT("{'spawns_ok':6.5}"), SB_METHOD_STATS);
  EXPECT_BAD_RESULT(RESULT("7"), SB_METHOD_STATS);
}

SB_TEST(ping_result) {
  sb_incoming in;
  sb_result res;
  REQUIRE(incoming(RESULT("{'pong':true}"), &in) == 0);
  REQUIRE(sb_decode_result(&in, SB_METHOD_PING, &res) == 0);
  CHECK_INT(res.method, SB_METHOD_PING);
  CHECK(res.sb__owned == NULL);
  sb_result_free(&res);
  sb_incoming_free(&in);
  EXPECT_BAD_RESULT(RESULT("{'pong':false}"), SB_METHOD_PING);
  EXPECT_BAD_RESULT(RESULT("{'pong':'yes'}"), SB_METHOD_PING);
  EXPECT_BAD_RESULT(RESULT("{}"), SB_METHOD_PING);
  /* The result is read as the method the caller says it answers. */
  EXPECT_BAD_RESULT(RESULT("{'pong':true}"), SB_METHOD_KILL);
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

SB_TEST(error_known_name) {
  sb_incoming in;
  REQUIRE(incoming(J("{'jsonrpc':'2.0','id':'r1','error':{'code':-32602,'message':'too many',"
                     "'data':{'name':'TooManyHandles','detail':'17 > 16','path':'params.handles',"
                     "'hint':'x'}}}"),
                   &in) == 0);
  CHECK_INT(in.kind, SB_INCOMING_ERROR);
  CHECK_INT(in.id.kind, SB_ID_STRING);
  CHECK_STR(in.id.string, "r1");
  CHECK_INT(in.error.rpc_code, -32602);
  CHECK_INT(in.error.err, SB_E_TOO_MANY_HANDLES);
  CHECK_STR(in.error.name, "TooManyHandles");
  CHECK_STR(in.error.message, "too many");
  CHECK_STR(in.error.detail, "17 > 16");
  CHECK_STR(in.error.path, "params.handles");
  sb_result res;
  CHECK_INT(sb_decode_result(&in, SB_METHOD_SPAWN, &res), SB_E_INVALID_ARGUMENT);
  sb_incoming_free(&in);
}

SB_TEST(error_unknown_or_missing_name) {
  sb_incoming in;
  REQUIRE(incoming(J("{'jsonrpc':'2.0','id':null,'error':{'code':-32050,'message':'new',"
                     "'data':{'name':'SomethingNewer'}}}"),
                   &in) == 0);
  CHECK_INT(in.kind, SB_INCOMING_ERROR);
  CHECK_INT(in.id.kind, SB_ID_NULL);
  CHECK_INT(in.error.err, SB_E_INTERNAL);
  CHECK_STR(in.error.name, "SomethingNewer");
  CHECK(in.error.detail == NULL);
  CHECK(in.error.path == NULL);
  sb_incoming_free(&in);

  REQUIRE(incoming(J("{'jsonrpc':'2.0','id':3,'error':{'code':-32700,'message':'bad'}}"), &in) ==
          0);
  CHECK_INT(in.error.err, SB_E_INTERNAL);
  CHECK(in.error.name == NULL);
  CHECK_INT(in.error.rpc_code, -32700);
  sb_incoming_free(&in);

  REQUIRE(incoming(J("{'jsonrpc':'2.0','id':3,'error':{'code':-32700,'message':'',"
                     "'data':{'name':'ParseError'}}}"),
                   &in) == 0);
  CHECK_INT(in.error.err, SB_E_PARSE);
  CHECK_STR(in.error.message, "");
  sb_incoming_free(&in);
}

SB_TEST(error_malformed) {
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','error':{'code':1,'message':'m'}}")); /* no id */
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'error':{'code':1.5,'message':'m'}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'error':{'code':'1','message':'m'}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'error':{'code':2147483648,'message':'m'}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'error':{'code':1}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'error':{'code':1,'message':5}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'error':{'code':1,'message':'m','extra':1}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'error':{'code':1,'message':'m','data':[]}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'error':{'code':1,'message':'m',"
                     "'data':{'name':5}}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'error':{'code':1,'message':'a\\u0000b'}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'error':'oops'}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'error':{'code':1,'message':'m'},'result':{}}"));
}

/* ------------------------------------------------------------------------ */
/* Envelope                                                                 */

SB_TEST(envelope) {
  sb_incoming in;
  REQUIRE(incoming(J("{'result':{'pong':true},'id':'abc','jsonrpc':'2.0'}"), &in) == 0);
  CHECK_INT(in.kind, SB_INCOMING_RESULT);
  CHECK_STR(in.id.string, "abc");
  sb_incoming_free(&in);
  sb_incoming_free(&in); /* a second free is harmless */

  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':null,'result':{}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','result':{}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':-1,'result':{}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1.5,'result':{}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'1.0','id':1,'result':{}}"));
  EXPECT_BAD_FRAME(J("{'id':1,'result':{}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'result':{},'extra':1}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'Result':{}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'result':{},'result':{}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'result':{},'method':'exit'}"));
  EXPECT_BAD_FRAME(J("[{'jsonrpc':'2.0','id':1,'result':{}}]"));
  EXPECT_BAD_FRAME("\"ok\"");
  EXPECT_BAD_FRAME("");
  EXPECT_BAD_FRAME("{");
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'result':{}} x"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'result':{'pong':1e999}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'result':{'a':'\xC0\x80'}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'result':{'a':'\\udc00'}}"));
  EXPECT_BAD_FRAME(J("{'jsonrpc':'2.0','id':1,'result':[[[[[[[[1]]]]]]]]}"));

  CHECK_INT(sb_decode_incoming(NULL, 3, &in), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb_decode_incoming("{}", 2, NULL), SB_E_INVALID_ARGUMENT);
  sb_incoming_free(NULL);
  sb_result_free(NULL);
  sb_result res;
  CHECK_INT(sb_decode_result(NULL, SB_METHOD_PING, &res), SB_E_INVALID_ARGUMENT);
}

SB_TEST(unknown_keys_may_hold_anything) {
  /* Ignored keys are still checked as JSON (UTF-8, NUL-free keys, depth),
   * but their values may be of any type, and hold NULs. */
  sb_incoming in;
  sb_result res;
  REQUIRE(incoming(RESULT("{'pong':true,'x':null,'y':[1,'a',{}],'z':'\\u0000'}"), &in) == 0);
  REQUIRE(sb_decode_result(&in, SB_METHOD_PING, &res) == 0);
  sb_result_free(&res);
  sb_incoming_free(&in);
  EXPECT_BAD_RESULT(RESULT("{'pong':true,'x\\u0000':1}"), SB_METHOD_PING);
}

SB_TEST_MAIN(SB_CASE(hello_result), SB_CASE(spawn_result), SB_CASE(wait_result_and_exit_event),
             SB_CASE(kill_result), SB_CASE(list_result), SB_CASE(stats_result),
             SB_CASE(ping_result), SB_CASE(error_known_name),
             SB_CASE(error_unknown_or_missing_name), SB_CASE(error_malformed), SB_CASE(envelope),
             SB_CASE(unknown_keys_may_hold_anything))
