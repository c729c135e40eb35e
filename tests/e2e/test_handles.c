/*
 * Tests of the handle instruments every handle-leak test relies on: the
 * system-wide handle enumerator (sb_handles.h), sb_child.exe's report of its
 * own handle table, and the report parser and checker (sb_child_report.h).
 *
 * Each case proves that an instrument sees a change it must see (a handle
 * opened, closed, made inheritable, placed into or removed from another
 * process, inherited or not by a child), so a broken instrument fails here
 * instead of silently passing every leak test. Cases that measure a Wine
 * behaviour print a "measured:" line; docs/wine.md records the figures.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

#include "sb_child_report.h"
#include "sb_errors.h"
#include "sb_handles.h"
#include "sb_test.h"
#include "sb_win_test.h"

#define V(h) ((uint64_t)(uintptr_t)(h))

static size_t self_count(void) {
  size_t n = 0;
  if (sbt_handle_count(GetCurrentProcessId(), &n) != 0) return (size_t)-1;
  return n;
}

static bool self_entry(HANDLE h, sbt_handle *out) {
  return sbt_handle_self(h, out) == 0;
}

static HANDLE new_event(bool inheritable) {
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, inheritable ? TRUE : FALSE};
  return CreateEventW(&sa, TRUE, FALSE, NULL);
}

/* An anonymous pipe whose ends are both non-inheritable. */
static bool new_pipe(HANDLE *r, HANDLE *w) {
  return CreatePipe(r, w, NULL, 0) != 0;
}

typedef struct child_start {
  const wchar_t *args;   /* sb_child arguments */
  BOOL inherit;          /* bInheritHandles */
  DWORD flags;           /* creation flags */
  HANDLE parent;         /* PROC_THREAD_ATTRIBUTE_PARENT_PROCESS, or NULL */
  HANDLE *list;          /* PROC_THREAD_ATTRIBUTE_HANDLE_LIST, or NULL */
  size_t list_len;
  HANDLE out;            /* stdout (in the parent's table); stdin and stderr are NULL */
} child_start;

/* Starts sb_child.exe with STARTF_USESTDHANDLES always set (stdin and stderr
 * NULL): without it Wine copies the creator's std handles into the child
 * (docs/wine.md), which would blur every measurement here. Every caller gives
 * the child at least one handle (its stdout or an inherited one), so it never
 * starts with an empty handle table (see start_helper). */
static int start_child(const child_start *c, PROCESS_INFORMATION *pi) {
  wchar_t path[MAX_PATH], cmd[1024];
  STARTUPINFOEXW si;
  LPPROC_THREAD_ATTRIBUTE_LIST attrs = NULL;
  SIZE_T size = 0;
  DWORD count = (c->parent ? 1 : 0) + (c->list ? 1 : 0);
  HANDLE parent = c->parent;
  int rc = SB_E_INTERNAL;

  memset(pi, 0, sizeof *pi);
  if (sbt_exe_path(L"sb_child.exe", path, MAX_PATH) != 0) return SB_E_INTERNAL;
  _snwprintf(cmd, 1024, L"\"%ls\" %ls", path, c->args);
  cmd[1023] = L'\0';
  memset(&si, 0, sizeof si);
  si.StartupInfo.cb = sizeof si;
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = NULL;
  si.StartupInfo.hStdOutput = c->out;
  si.StartupInfo.hStdError = NULL;
  if (count > 0) {
    InitializeProcThreadAttributeList(NULL, count, 0, &size);
    attrs = malloc(size);
    if (attrs == NULL) return SB_E_NOMEM;
    if (!InitializeProcThreadAttributeList(attrs, count, 0, &size)) {
      free(attrs);
      return SB_E_INTERNAL;
    }
    if (c->parent && !UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_PARENT_PROCESS,
                                                 &parent, sizeof parent, NULL, NULL))
      goto done;
    if (c->list && !UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
                                              c->list, c->list_len * sizeof(HANDLE),
                                              NULL, NULL))
      goto done;
    si.lpAttributeList = attrs;
  }
  if (!CreateProcessW(path, cmd, NULL, NULL, c->inherit,
                      c->flags | (attrs ? EXTENDED_STARTUPINFO_PRESENT : 0), NULL, NULL,
                      &si.StartupInfo, pi)) {
    fprintf(stderr, "CreateProcessW(sb_child %ls) failed: %lu\n", c->args, GetLastError());
    goto done;
  }
  rc = 0;
done:
  if (attrs != NULL) {
    DeleteProcThreadAttributeList(attrs);
    free(attrs);
  }
  return rc;
}

static void end_child(PROCESS_INFORMATION *pi) {
  if (pi->hProcess == NULL) return;
  TerminateProcess(pi->hProcess, 0);
  WaitForSingleObject(pi->hProcess, 10000);
  CloseHandle(pi->hThread);
  CloseHandle(pi->hProcess);
  memset(pi, 0, sizeof *pi);
}

/* A helper in the design's sense: a suspended sb_child.exe that never runs.
 * It gets a NUL stdout, which Wine copies into it at creation: a process
 * created with no handle at all starts with an empty handle table, and Wine
 * 8.0's wineserver crashes if anything enumerates the system's handles at
 * that moment (docs/wine.md). */
static int start_helper(PROCESS_INFORMATION *pi) {
  HANDLE nul = CreateFileW(L"NUL", GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_EXISTING, 0, NULL);
  child_start c = {L"exit 0", FALSE, CREATE_SUSPENDED, NULL, NULL, 0, nul};
  int rc;
  if (nul == INVALID_HANDLE_VALUE) return SB_E_IO;
  rc = start_child(&c, pi);
  CloseHandle(nul);
  return rc;
}

/* Reads one report line from `r` and parses it. */
static int read_report(HANDLE r, sbt_child_report *rep) {
  static char line[256 * 1024];
  size_t len = 0;
  int rc = sbt_pipe_read_line(r, line, sizeof line, &len);
  if (rc != 0) return rc;
  return sbt_child_report_parse(line, rep);
}

/* Closes a handle that lives in another process: duplicate it into this one
 * with DUPLICATE_CLOSE_SOURCE and close the copy (Wine rejects a NULL target
 * process, so this is the form that works on both). */
static bool close_remote(HANDLE process, uint64_t value) {
  HANDLE copy = NULL;
  if (!DuplicateHandle(process, (HANDLE)(uintptr_t)value, GetCurrentProcess(), &copy, 0, FALSE,
                       DUPLICATE_CLOSE_SOURCE | DUPLICATE_SAME_ACCESS))
    return false;
  CloseHandle(copy);
  return true;
}

static void print_report_handles(const char *label, const sbt_child_report *r) {
  printf("measured: %s: %zu handles:", label, r->handle_count);
  for (size_t i = 0; i < r->handle_count; i++)
    printf(" %#llx:%s:%#x%s", (unsigned long long)r->handles[i].value, r->handles[i].type,
           r->handles[i].access, r->handles[i].inheritable ? ":inherit" : "");
  printf("\n");
}

/* A fresh sb_child.exe started with only its stdout pipe: the baseline. */
static int fresh_child_report(sbt_child_report *rep, uint64_t *out_value) {
  HANDLE r = NULL, w = NULL;
  PROCESS_INFORMATION pi = {0};
  int rc = SB_E_INTERNAL;
  if (!new_pipe(&r, &w)) return SB_E_INTERNAL;
  if (!SetHandleInformation(w, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT)) goto done;
  {
    child_start c = {L"report", TRUE, 0, NULL, &w, 1, w};
    rc = start_child(&c, &pi);
    if (rc != 0) goto done;
  }
  *out_value = V(w);
  CloseHandle(w);
  w = NULL;
  rc = read_report(r, rep);
done:
  end_child(&pi);
  if (w != NULL) CloseHandle(w);
  CloseHandle(r);
  return rc;
}

/* ---- the enumerator on the calling process ---- */

SB_TEST(count_changes_by_one_per_handle) {
  size_t n0 = self_count(), n1, n2;
  sbt_handle e;
  HANDLE ev, file, r, w;
  REQUIRE(n0 != (size_t)-1);
  REQUIRE(n0 > 0);
  ev = new_event(false);
  REQUIRE(ev != NULL);
  n1 = self_count();
  CHECK_INT(n1, n0 + 1);
  CHECK(self_entry(ev, &e));
  CloseHandle(ev);
  n2 = self_count();
  CHECK_INT(n2, n0);
  CHECK(!self_entry(ev, &e));

  file = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                     OPEN_EXISTING, 0, NULL);
  REQUIRE(file != INVALID_HANDLE_VALUE);
  CHECK_INT(self_count(), n0 + 1);
  CloseHandle(file);
  CHECK_INT(self_count(), n0);

  REQUIRE(new_pipe(&r, &w));
  CHECK_INT(self_count(), n0 + 2);
  CloseHandle(r);
  CHECK_INT(self_count(), n0 + 1);
  CloseHandle(w);
  CHECK_INT(self_count(), n0);
}

SB_TEST(inheritable_flag_and_access_reported) {
  HANDLE a = new_event(false), b = new_event(true), narrow = NULL;
  sbt_handle e;
  REQUIRE(a != NULL && b != NULL);
  REQUIRE(self_entry(a, &e));
  CHECK(!sbt_handle_inheritable(&e));
  CHECK_INT(e.attributes & SBT_OBJ_PROTECT_CLOSE, 0);
  CHECK_INT(e.access, EVENT_ALL_ACCESS);

  REQUIRE(self_entry(b, &e));
  CHECK(sbt_handle_inheritable(&e));

  REQUIRE(SetHandleInformation(a, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT));
  REQUIRE(self_entry(a, &e));
  CHECK(sbt_handle_inheritable(&e));
  REQUIRE(SetHandleInformation(a, HANDLE_FLAG_PROTECT_FROM_CLOSE, HANDLE_FLAG_PROTECT_FROM_CLOSE));
  REQUIRE(self_entry(a, &e));
  CHECK(e.attributes & SBT_OBJ_PROTECT_CLOSE);
  REQUIRE(SetHandleInformation(a, HANDLE_FLAG_INHERIT | HANDLE_FLAG_PROTECT_FROM_CLOSE, 0));
  REQUIRE(self_entry(a, &e));
  CHECK(!sbt_handle_inheritable(&e));
  CHECK_INT(e.attributes, 0);

  /* The granted access of a narrowed duplicate, not the object's. */
  REQUIRE(DuplicateHandle(GetCurrentProcess(), a, GetCurrentProcess(), &narrow, SYNCHRONIZE, FALSE,
                          0));
  REQUIRE(self_entry(narrow, &e));
  CHECK_INT(e.access, SYNCHRONIZE);
  CHECK(!sbt_handle_inheritable(&e));
  CloseHandle(narrow);
  CloseHandle(a);
  CloseHandle(b);
}

typedef struct typed_handle {
  HANDLE h;
  const wchar_t *type;
} typed_handle;

SB_TEST(type_names_by_handle_and_by_index) {
  typed_handle objs[8];
  HANDLE r = NULL, w = NULL, proc = NULL, token = NULL;
  size_t n = 0;
  objs[n++] = (typed_handle){new_event(false), L"Event"};
  objs[n++] = (typed_handle){CreateMutexW(NULL, FALSE, NULL), L"Mutant"};
  objs[n++] = (typed_handle){CreateSemaphoreW(NULL, 0, 1, NULL), L"Semaphore"};
  objs[n++] = (typed_handle){CreateJobObjectW(NULL, NULL), L"Job"};
  objs[n++] = (typed_handle){
      CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, NULL), L"Section"};
  REQUIRE(new_pipe(&r, &w));
  objs[n++] = (typed_handle){r, L"File"};
  REQUIRE(DuplicateHandle(GetCurrentProcess(), GetCurrentProcess(), GetCurrentProcess(), &proc, 0,
                          FALSE, DUPLICATE_SAME_ACCESS));
  objs[n++] = (typed_handle){proc, L"Process"};
  REQUIRE(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token));
  objs[n++] = (typed_handle){token, L"Token"};

  for (size_t i = 0; i < n; i++) {
    wchar_t name[64] = L"", by_index[64] = L"";
    sbt_handle e;
    char label[128];
    REQUIRE(objs[i].h != NULL);
    snprintf(label, sizeof label, "%ls", objs[i].type);
    sb_test_current = label;
    CHECK_INT(sbt_type_name(objs[i].h, name, 64), 0);
    CHECK(wcscmp(name, objs[i].type) == 0);
    REQUIRE(self_entry(objs[i].h, &e));
    CHECK_INT(sbt_type_name_of_index(e.type_index, by_index, 64), 0);
    CHECK(wcscmp(by_index, objs[i].type) == 0);
    if (i == 0) printf("measured: Event type_index in the handle list = %u\n", e.type_index);
  }
  sb_test_current = "type_names_by_handle_and_by_index";
  {
    wchar_t tiny[2];
    CHECK_INT(sbt_type_name(objs[0].h, tiny, 2), SB_E_STRING_TOO_LONG);
    CHECK_INT(sbt_type_name_of_index(0xFFFF, tiny, 2), SB_E_HANDLE_NOT_FOUND);
  }
  for (size_t i = 0; i < n; i++) CloseHandle(objs[i].h);
  CloseHandle(w);
}

/* ---- other processes ---- */

SB_TEST(other_process_listed_until_it_exits) {
  PROCESS_INFORMATION helper;
  HANDLE ev = new_event(false), remote = NULL;
  sbt_handle *list = NULL;
  size_t n = 0, before = 0;
  REQUIRE(ev != NULL);
  REQUIRE(start_helper(&helper) == 0);
  REQUIRE(sbt_handle_count(helper.dwProcessId, &before) == 0);
  printf("measured: a suspended child holds %zu handles\n", before);
  REQUIRE(DuplicateHandle(GetCurrentProcess(), ev, helper.hProcess, &remote, 0, FALSE,
                          DUPLICATE_SAME_ACCESS));
  REQUIRE(sbt_handles_of(helper.dwProcessId, &list, &n) == 0);
  CHECK_INT(n, before + 1);
  CHECK(sbt_handle_find(list, n, V(remote)) != NULL);
  free(list);
  TerminateProcess(helper.hProcess, 0);
  WaitForSingleObject(helper.hProcess, 10000);
  /* The process object lives on (this process holds it) but its handle
   * table is gone. */
  CHECK_INT(sbt_handle_count(helper.dwProcessId, &n), 0);
  CHECK_INT(n, 0);
  end_child(&helper);
  CloseHandle(ev);
}

SB_TEST(same_object_across_processes) {
  PROCESS_INFORMATION helper;
  HANDLE ev = new_event(false), other = new_event(false), remote = NULL;
  sbt_handle mine, theirs;
  sbt_handle *list = NULL;
  size_t n = 0, found = 0, before;
  uint64_t values[4];
  bool same = false;
  REQUIRE(ev != NULL && other != NULL);
  REQUIRE(start_helper(&helper) == 0);
  REQUIRE(DuplicateHandle(GetCurrentProcess(), ev, helper.hProcess, &remote, 0, FALSE,
                          DUPLICATE_SAME_ACCESS));

  before = self_count();
  CHECK_INT(sbt_same_object(GetCurrentProcess(), V(ev), helper.hProcess, V(remote), &same), 0);
  CHECK(same);
  CHECK_INT(sbt_same_object(GetCurrentProcess(), V(other), helper.hProcess, V(remote), &same), 0);
  CHECK(!same);
  /* Comparing leaves no duplicate behind. */
  CHECK_INT(self_count(), before);
  CHECK_INT(sbt_same_object(GetCurrentProcess(), V(ev), helper.hProcess, 0x7ffc, &same),
            SB_E_HANDLE_NOT_FOUND);

  CHECK_INT(sbt_find_object(helper.dwProcessId, ev, values, 4, &found), 0);
  CHECK_INT(found, 1);
  if (found == 1) CHECK_INT(values[0], V(remote));
  CHECK_INT(sbt_find_object(helper.dwProcessId, other, values, 4, &found), 0);
  CHECK_INT(found, 0);
  CHECK_INT(self_count(), before);

  /* Whether the Object field identifies the object: Wine leaves it 0; where
   * it is filled in, it must agree with NtCompareObjects. */
  REQUIRE(self_entry(ev, &mine));
  REQUIRE(sbt_handles_of(helper.dwProcessId, &list, &n) == 0);
  REQUIRE(sbt_handle_find(list, n, V(remote)) != NULL);
  theirs = *sbt_handle_find(list, n, V(remote));
  printf("measured: Object field here %#llx, in the helper %#llx\n",
         (unsigned long long)mine.object, (unsigned long long)theirs.object);
  if (mine.object != 0 && theirs.object != 0) CHECK(mine.object == theirs.object);
  CHECK_INT(mine.type_index, theirs.type_index);
  free(list);
  end_child(&helper);
  CloseHandle(ev);
  CloseHandle(other);
}

SB_TEST(inheritable_duplicate_seen_in_helper_then_gone) {
  PROCESS_INFORMATION helper;
  HANDLE ev = new_event(false), remote = NULL, remote2 = NULL;
  sbt_handle *list = NULL;
  const sbt_handle *e;
  size_t n = 0, before = 0, after = 0;
  BOOL null_target;
  REQUIRE(ev != NULL);
  REQUIRE(start_helper(&helper) == 0);
  REQUIRE(sbt_handle_count(helper.dwProcessId, &before) == 0);
  REQUIRE(DuplicateHandle(GetCurrentProcess(), ev, helper.hProcess, &remote, 0, TRUE,
                          DUPLICATE_SAME_ACCESS));
  REQUIRE(sbt_handles_of(helper.dwProcessId, &list, &n) == 0);
  CHECK_INT(n, before + 1);
  e = sbt_handle_find(list, n, V(remote));
  CHECK(e != NULL);
  if (e != NULL) CHECK(sbt_handle_inheritable(e));
  free(list);

  CHECK(close_remote(helper.hProcess, V(remote)));
  REQUIRE(sbt_handles_of(helper.dwProcessId, &list, &n) == 0);
  CHECK_INT(n, before);
  CHECK(sbt_handle_find(list, n, V(remote)) == NULL);
  free(list);

  /* The NULL-target form: Windows closes the source, Wine 8.0 fails and
   * leaves it open. Either way the enumerator must agree with the result. */
  REQUIRE(DuplicateHandle(GetCurrentProcess(), ev, helper.hProcess, &remote2, 0, TRUE,
                          DUPLICATE_SAME_ACCESS));
  null_target = DuplicateHandle(helper.hProcess, remote2, NULL, NULL, 0, FALSE,
                                DUPLICATE_CLOSE_SOURCE);
  printf("measured: DuplicateHandle(CLOSE_SOURCE, NULL target) %s (error %lu)\n",
         null_target ? "succeeded" : "failed", null_target ? 0ul : GetLastError());
  REQUIRE(sbt_handle_count(helper.dwProcessId, &after) == 0);
  CHECK_INT(after, null_target ? before : before + 1);
  if (!null_target) CHECK(close_remote(helper.hProcess, V(remote2)));
  REQUIRE(sbt_handle_count(helper.dwProcessId, &after) == 0);
  CHECK_INT(after, before);
  end_child(&helper);
  CloseHandle(ev);
}

/* ---- sb_child.exe and what children inherit ---- */

SB_TEST(fresh_child_baseline_is_not_inheritable) {
  sbt_child_report rep;
  uint64_t out = 0;
  size_t others = 0;
  REQUIRE(fresh_child_report(&rep, &out) == 0);
  print_report_handles("fresh child (handle list = its stdout only)", &rep);
  /* Exactly one inheritable handle: the stdout it was given, at the same
   * value it has in the parent (inherited handles keep their values). */
  CHECK_INT(sbt_child_report_inheritable_count(&rep), 1);
  CHECK(sbt_child_report_find(&rep, out) != NULL);
  if (sbt_child_report_find(&rep, out) != NULL)
    CHECK(sbt_child_report_find(&rep, out)->inheritable);
  CHECK_INT(rep.std_out, (int64_t)out);
  CHECK_INT(rep.std_in, 0);
  CHECK_INT(rep.std_err, 0);
  CHECK_INT(rep.parent_pid, GetCurrentProcessId());
  for (size_t i = 0; i < rep.handle_count; i++) {
    if (rep.handles[i].value == out) continue;
    others++;
    CHECK(rep.handles[i].type[0] != '\0');
  }
  /* Every process holds a few runtime handles; a report with none means the
   * enumeration inside the child is broken. */
  CHECK(others > 0);
  CHECK(rep.argc == 2 && strcmp(rep.argv[1], "report") == 0);
  CHECK(rep.env_handles == NULL);
  sbt_child_report_free(&rep);
}

SB_TEST(handle_list_passes_exactly_the_listed_handle) {
  HANDLE a = new_event(true), b = new_event(true), r = NULL, w = NULL;
  HANDLE list[2];
  PROCESS_INFORMATION pi = {0};
  sbt_child_report rep, base;
  uint64_t base_out = 0, expected[2], wv;
  size_t found = 0;
  char why[256];
  REQUIRE(a != NULL && b != NULL);
  REQUIRE(fresh_child_report(&base, &base_out) == 0);
  REQUIRE(new_pipe(&r, &w));
  REQUIRE(SetHandleInformation(w, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT));
  list[0] = a;
  list[1] = w;
  {
    /* b is inheritable too and is not listed: it must not arrive. */
    child_start c = {L"report --env SBT_PROBE sleep 60000", TRUE, 0, NULL, list, 2, w};
    REQUIRE(SetEnvironmentVariableW(L"SBT_PROBE", L"a=1;b=2"));
    REQUIRE(start_child(&c, &pi) == 0);
    SetEnvironmentVariableW(L"SBT_PROBE", NULL);
  }
  wv = V(w);
  CloseHandle(w);
  REQUIRE(read_report(r, &rep) == 0);
  print_report_handles("child with handle list {event, stdout}", &rep);
  CHECK_INT(rep.pid, pi.dwProcessId);
  CHECK_INT(rep.std_out, (int64_t)wv);
  CHECK_STR(rep.env_handles, "a=1;b=2");
  CHECK_INT(sbt_child_report_inheritable_count(&rep), 2);
  CHECK(sbt_child_report_find(&rep, V(a)) != NULL);
  if (sbt_child_report_find(&rep, V(a)) != NULL) {
    CHECK(sbt_child_report_find(&rep, V(a))->inheritable);
    CHECK_STR(sbt_child_report_find(&rep, V(a))->type, "Event");
  }
  /* From outside, while the child sleeps: the handle at a's value is a's
   * object, and nothing in the child refers to b's. */
  CHECK_INT(sbt_find_object(pi.dwProcessId, a, NULL, 0, &found), 0);
  CHECK_INT(found, 1);
  CHECK_INT(sbt_find_object(pi.dwProcessId, b, NULL, 0, &found), 0);
  CHECK_INT(found, 0);

  /* The checker accepts exactly this and rejects anything less. */
  expected[0] = V(a);
  expected[1] = wv;
  if (!sbt_child_report_matches(&rep, &base, expected, 2, why, sizeof why))
    SB__FAIL("the checker rejects the right handles: %s", why);
  CHECK(!sbt_child_report_matches(&rep, &base, expected + 1, 1, why, sizeof why));
  printf("checker, one handle too few: %s\n", why);
  CHECK(strstr(why, "inheritable") != NULL);
  expected[1] = V(b);
  CHECK(!sbt_child_report_matches(&rep, &base, expected, 2, why, sizeof why));

  sbt_child_report_free(&rep);
  sbt_child_report_free(&base);
  end_child(&pi);
  CloseHandle(r);
  CloseHandle(a);
  CloseHandle(b);
}

SB_TEST(inside_report_equals_outside_enumeration) {
  HANDLE r = NULL, w = NULL;
  PROCESS_INFORMATION pi = {0};
  sbt_child_report rep;
  sbt_handle *list = NULL;
  size_t n = 0;
  REQUIRE(new_pipe(&r, &w));
  REQUIRE(SetHandleInformation(w, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT));
  {
    child_start c = {L"report sleep 60000", TRUE, 0, NULL, &w, 1, w};
    REQUIRE(start_child(&c, &pi) == 0);
  }
  CloseHandle(w);
  REQUIRE(read_report(r, &rep) == 0);
  REQUIRE(sbt_handles_of(pi.dwProcessId, &list, &n) == 0);
  CHECK_INT(n, rep.handle_count);
  for (size_t i = 0; i < rep.handle_count; i++) {
    const sbt_handle *e = sbt_handle_find(list, n, rep.handles[i].value);
    wchar_t type[64];
    char type8[64];
    CHECK(e != NULL);
    if (e == NULL) continue;
    CHECK_INT(e->access, rep.handles[i].access);
    CHECK_INT(sbt_handle_inheritable(e), rep.handles[i].inheritable);
    CHECK_INT(sbt_type_name_of_index(e->type_index, type, 64), 0);
    snprintf(type8, sizeof type8, "%ls", type);
    CHECK_STR(rep.handles[i].type, type8);
  }
  free(list);
  sbt_child_report_free(&rep);
  end_child(&pi);
  CloseHandle(r);
}

SB_TEST(parent_process_attribute_and_helper_cleanup) {
  PROCESS_INFORMATION helper, pi = {0};
  HANDLE a = new_event(false), b = new_event(false), r = NULL, w = NULL;
  HANDLE ha = NULL, hb = NULL, hw = NULL, list[2];
  size_t helper_before = 0, helper_after = 0, found = 0;
  sbt_child_report rep;
  REQUIRE(a != NULL && b != NULL);
  REQUIRE(new_pipe(&r, &w));
  REQUIRE(start_helper(&helper) == 0);
  REQUIRE(sbt_handle_count(helper.dwProcessId, &helper_before) == 0);
  /* The design's transfer: everything stays non-inheritable here and
   * becomes inheritable only inside the helper. b goes there too but is
   * not listed, so it must stay behind. */
  REQUIRE(DuplicateHandle(GetCurrentProcess(), a, helper.hProcess, &ha, 0, TRUE,
                          DUPLICATE_SAME_ACCESS));
  REQUIRE(DuplicateHandle(GetCurrentProcess(), b, helper.hProcess, &hb, 0, TRUE,
                          DUPLICATE_SAME_ACCESS));
  REQUIRE(DuplicateHandle(GetCurrentProcess(), w, helper.hProcess, &hw, 0, TRUE,
                          DUPLICATE_SAME_ACCESS));
  CloseHandle(w);
  list[0] = ha;
  list[1] = hw;
  {
    /* With a parent process attribute, the handle list and the std handles
     * are values in the parent's (the helper's) table. */
    child_start c = {L"report sleep 60000", TRUE, 0, helper.hProcess, list, 2, hw};
    REQUIRE(start_child(&c, &pi) == 0);
  }
  CHECK(close_remote(helper.hProcess, V(ha)));
  CHECK(close_remote(helper.hProcess, V(hb)));
  CHECK(close_remote(helper.hProcess, V(hw)));
  REQUIRE(sbt_handle_count(helper.dwProcessId, &helper_after) == 0);
  CHECK_INT(helper_after, helper_before);

  REQUIRE(read_report(r, &rep) == 0);
  print_report_handles("child of a helper, list {event, stdout}", &rep);
  CHECK_INT(rep.parent_pid, helper.dwProcessId);
  CHECK_INT(rep.std_out, (int64_t)V(hw));
  CHECK_INT(sbt_child_report_inheritable_count(&rep), 2);
  CHECK(sbt_child_report_find(&rep, V(ha)) != NULL);
  CHECK(sbt_child_report_find(&rep, V(hw)) != NULL);
  CHECK_INT(sbt_find_object(pi.dwProcessId, a, NULL, 0, &found), 0);
  CHECK_INT(found, 1);
  CHECK_INT(sbt_find_object(pi.dwProcessId, b, NULL, 0, &found), 0);
  CHECK_INT(found, 0);
  sbt_child_report_free(&rep);
  end_child(&pi);
  end_child(&helper);
  CloseHandle(r);
  CloseHandle(a);
  CloseHandle(b);
}

SB_TEST(rogue_spawn_inherit_is_detected) {
  /* The instruments must see a leak when there is one: sb_child given an
   * inheritable event runs "spawn-inherit", and the grandchild it starts
   * with bInheritHandles=TRUE and no list holds that event. */
  HANDLE a = new_event(true), r = NULL, w = NULL, list[2];
  PROCESS_INFORMATION pi = {0};
  sbt_child_report rep;
  REQUIRE(a != NULL);
  REQUIRE(new_pipe(&r, &w));
  REQUIRE(SetHandleInformation(w, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT));
  list[0] = a;
  list[1] = w;
  {
    child_start c = {L"spawn-inherit", TRUE, 0, NULL, list, 2, w};
    REQUIRE(start_child(&c, &pi) == 0);
  }
  CloseHandle(w);
  REQUIRE(read_report(r, &rep) == 0);
  print_report_handles("grandchild of a rogue CreateProcess", &rep);
  CHECK(rep.pid != pi.dwProcessId);
  CHECK_INT(rep.parent_pid, pi.dwProcessId);
  CHECK(sbt_child_report_find(&rep, V(a)) != NULL);
  if (sbt_child_report_find(&rep, V(a)) != NULL)
    CHECK(sbt_child_report_find(&rep, V(a))->inheritable);
  WaitForSingleObject(pi.hProcess, 30000);
  {
    DWORD code = 99;
    GetExitCodeProcess(pi.hProcess, &code);
    CHECK_INT(code, 0);
  }
  sbt_child_report_free(&rep);
  end_child(&pi);
  CloseHandle(r);
  CloseHandle(a);
}

SB_TEST(child_commands) {
  sbt_run run;
  REQUIRE(sbt_run_capture(L"sb_child.exe", L"exit 7", 30000, &run) == 0);
  CHECK_INT(run.exit_code, 7);
  REQUIRE(sbt_run_capture(L"sb_child.exe", L"sleep 10 exit 3", 30000, &run) == 0);
  CHECK_INT(run.exit_code, 3);
  REQUIRE(sbt_run_capture(L"sb_child.exe", L"bogus", 30000, &run) == 0);
  CHECK_INT(run.exit_code, 2);
  CHECK(strstr(run.err, "unknown command") != NULL);
  REQUIRE(sbt_run_capture(L"sb_child.exe", L"", 30000, &run) == 0);
  CHECK_INT(run.exit_code, 2);
  REQUIRE(sbt_run_capture(L"sb_child.exe", L"report --to x", 30000, &run) == 0);
  CHECK_INT(run.exit_code, 2);
  REQUIRE(sbt_run_capture(L"sb_child.exe", L"exit", 30000, &run) == 0);
  CHECK_INT(run.exit_code, 2);
  /* A value that is not an open handle: the write fails, exit 3. */
  REQUIRE(sbt_run_capture(L"sb_child.exe", L"write 4092 x", 30000, &run) == 0);
  CHECK_INT(run.exit_code, 3);
  /* cat with stdin on NUL: ends at once, writes nothing. */
  REQUIRE(sbt_run_capture(L"sb_child.exe", L"cat", 30000, &run) == 0);
  CHECK_INT(run.exit_code, 0);
  CHECK_STR(run.out, "");
  REQUIRE(sbt_run_capture(L"sb_child.exe", L"crt-fds", 30000, &run) == 0);
  CHECK_INT(run.exit_code, 0);
  CHECK(strncmp(run.out, "{\"crt_fds\":[", 12) == 0);
  CHECK(strstr(run.out, "{\"fd\":1,") != NULL);
  /* Two reports chained, the second to an explicit handle value: the
   * report's std.out value, which is known only after the first one. */
  REQUIRE(sbt_run_capture(L"sb_child.exe", L"report report exit 5", 30000, &run) == 0);
  CHECK_INT(run.exit_code, 5);
  {
    char *second = strchr(run.out, '\n');
    CHECK(second != NULL && strchr(second + 1, '\n') != NULL);
  }
}

SB_TEST(child_write_and_report_to_a_handle) {
  HANDLE r = NULL, w = NULL, r2 = NULL, w2 = NULL, list[2];
  PROCESS_INFORMATION pi = {0};
  wchar_t args[128];
  char line[256];
  sbt_child_report rep;
  REQUIRE(new_pipe(&r, &w));
  REQUIRE(new_pipe(&r2, &w2));
  REQUIRE(SetHandleInformation(w, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT));
  REQUIRE(SetHandleInformation(w2, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT));
  list[0] = w;
  list[1] = w2;
  /* Inherited handles keep their values, so the child can be told them. */
  _snwprintf(args, 128, L"write %llu hello report --to %llu exit 4",
             (unsigned long long)V(w), (unsigned long long)V(w2));
  {
    child_start c = {args, TRUE, 0, NULL, list, 2, NULL};
    REQUIRE(start_child(&c, &pi) == 0);
  }
  CloseHandle(w);
  CloseHandle(w2);
  {
    DWORD got = 0;
    CHECK(ReadFile(r, line, 5, &got, NULL));
    CHECK_INT(got, 5);
    CHECK(memcmp(line, "hello", 5) == 0);
  }
  REQUIRE(read_report(r2, &rep) == 0);
  CHECK_INT(rep.std_out, 0);
  CHECK(sbt_child_report_find(&rep, V(w2)) != NULL);
  CHECK_INT(rep.argc, 9); /* sb_child.exe write V hello report --to V exit 4 */
  WaitForSingleObject(pi.hProcess, 30000);
  {
    DWORD code = 99;
    GetExitCodeProcess(pi.hProcess, &code);
    CHECK_INT(code, 4);
  }
  sbt_child_report_free(&rep);
  end_child(&pi);
  CloseHandle(r);
  CloseHandle(r2);
}

/* ---- the report parser ---- */

SB_TEST(report_parse_accepts_and_rejects) {
  sbt_child_report rep;
  const char *good =
      "{\"pid\":12,\"parent_pid\":8,\"handles\":[{\"value\":4,\"type\":\"Key\","
      "\"inheritable\":false,\"access\":983103},{\"value\":48,\"type\":\"Event\","
      "\"inheritable\":true,\"access\":2031619}],\"std\":{\"in\":0,\"out\":48,\"err\":-1},"
      "\"env_handles\":\"x=48\",\"argv\":[\"c.exe\",\"report\"],\"cmdline\":\"c.exe report\"}";
  REQUIRE(sbt_child_report_parse(good, &rep) == 0);
  CHECK_INT(rep.pid, 12);
  CHECK_INT(rep.parent_pid, 8);
  CHECK_INT(rep.handle_count, 2);
  CHECK_INT(rep.std_out, 48);
  CHECK_INT(rep.std_err, -1);
  CHECK_STR(rep.env_handles, "x=48");
  CHECK_INT(rep.argc, 2);
  CHECK_STR(rep.cmdline, "c.exe report");
  CHECK(sbt_child_report_find(&rep, 48) != NULL && sbt_child_report_find(&rep, 48)->inheritable);
  CHECK_INT(sbt_child_report_inheritable_count(&rep), 1);
  {
    uint64_t want = 48;
    char why[128];
    CHECK(sbt_child_report_matches(&rep, NULL, &want, 1, why, sizeof why));
    want = 52;
    CHECK(!sbt_child_report_matches(&rep, NULL, &want, 1, why, sizeof why));
  }
  sbt_child_report_free(&rep);

  CHECK_INT(sbt_child_report_parse("not json", &rep), SB_E_PARSE);
  CHECK_INT(sbt_child_report_parse("[]", &rep), SB_E_BAD_REPLY);
  CHECK_INT(sbt_child_report_parse("{\"pid\":1}", &rep), SB_E_BAD_REPLY);
  CHECK_INT(sbt_child_report_parse(
                "{\"pid\":1.5,\"parent_pid\":0,\"handles\":[],\"std\":{\"in\":0,\"out\":0,"
                "\"err\":0},\"argv\":[]}",
                &rep),
            SB_E_BAD_REPLY);
  CHECK_INT(sbt_child_report_parse(
                "{\"pid\":1,\"parent_pid\":0,\"handles\":[{\"value\":4}],\"std\":{\"in\":0,"
                "\"out\":0,\"err\":0},\"argv\":[]}",
                &rep),
            SB_E_BAD_REPLY);
  CHECK_INT(sbt_child_report_parse(
                "{\"pid\":1,\"parent_pid\":0,\"handles\":[],\"std\":{\"in\":-2,\"out\":0,"
                "\"err\":0},\"argv\":[]}",
                &rep),
            SB_E_BAD_REPLY);
  REQUIRE(sbt_child_report_parse("{\"pid\":1,\"parent_pid\":0,\"handles\":[],\"std\":{\"in\":0,"
                                 "\"out\":0,\"err\":0},\"env_handles\":null,\"argv\":[]}",
                                 &rep) == 0);
  CHECK(rep.env_handles == NULL);
  CHECK_INT(rep.handle_count, 0);
  sbt_child_report_free(&rep);
}

SB_TEST_MAIN(SB_CASE(count_changes_by_one_per_handle), SB_CASE(inheritable_flag_and_access_reported),
             SB_CASE(type_names_by_handle_and_by_index),
             SB_CASE(other_process_listed_until_it_exits), SB_CASE(same_object_across_processes),
             SB_CASE(inheritable_duplicate_seen_in_helper_then_gone),
             SB_CASE(fresh_child_baseline_is_not_inheritable),
             SB_CASE(handle_list_passes_exactly_the_listed_handle),
             SB_CASE(inside_report_equals_outside_enumeration),
             SB_CASE(parent_process_attribute_and_helper_cleanup),
             SB_CASE(rogue_spawn_inherit_is_detected), SB_CASE(child_commands),
             SB_CASE(child_write_and_report_to_a_handle), SB_CASE(report_parse_accepts_and_rejects))
