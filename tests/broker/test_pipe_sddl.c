/*
 * The pipe's security descriptor as text (broker/pipe_sddl.c), for every
 * `clients` value and both kinds of broker user. tests/e2e/test_listener.c
 * reads the descriptor back from a running broker's pipe.
 */
#include <string.h>

#include "pipe_sddl.h"
#include "sb_errors.h"
#include "sb_test.h"

#define USER "S-1-5-21-1-2-3-1001"
#define BASE(o) "O:" o "G:" o "D:P(D;;FA;;;NU)(D;;FA;;;AN)(A;;FA;;;SY)(A;;FA;;;BA)"

static void check(sb__clients clients, const char *self, bool deny_network, const char *want) {
  char out[SB__PIPE_SDDL_MAX];
  CHECK_INT(sb__pipe_sddl(clients, self, deny_network, out, sizeof out), 0);
  CHECK_STR(out, want);
}

SB_TEST(a_service_as_local_system_admits_the_chosen_clients_read_and_write_only) {
  check(SB__CLIENTS_INTERACTIVE, "S-1-5-18", true, BASE("SY") "(A;;0x12008b;;;IU)");
  check(SB__CLIENTS_AUTHENTICATED, "S-1-5-18", true, BASE("SY") "(A;;0x12008b;;;AU)");
  check(SB__CLIENTS_OWNER, "S-1-5-18", true, BASE("SY"));
}

SB_TEST(a_console_broker_owns_its_pipe_and_may_create_its_instances) {
  check(SB__CLIENTS_OWNER, USER, true, BASE(USER) "(A;;FA;;;" USER ")");
  check(SB__CLIENTS_INTERACTIVE, USER, true, BASE(USER) "(A;;FA;;;" USER ")(A;;0x12008b;;;IU)");
  check(SB__CLIENTS_AUTHENTICATED, USER, true,
        BASE(USER) "(A;;FA;;;" USER ")(A;;0x12008b;;;AU)");
}

SB_TEST(a_broker_from_a_network_logon_does_not_deny_network) {
  check(SB__CLIENTS_OWNER, USER, false,
        "O:" USER "G:" USER "D:P(D;;FA;;;AN)(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;" USER ")");
}

SB_TEST(client_access_never_includes_create_pipe_instance) {
  /* 0x4 is FILE_APPEND_DATA and FILE_CREATE_PIPE_INSTANCE at once. */
  unsigned long mask = strtoul(SB__PIPE_CLIENT_ACCESS, NULL, 16);
  CHECK_INT(mask, 0x12008b);
  CHECK_INT(mask & 0x4, 0);
  /* FILE_GENERIC_READ (0x120089) and FILE_WRITE_DATA (0x2), nothing else. */
  CHECK_INT(mask, 0x120089 | 0x2);
}

SB_TEST(bad_arguments_are_refused) {
  char out[SB__PIPE_SDDL_MAX], small[40];
  CHECK_INT(sb__pipe_sddl(SB__CLIENTS_AUTO, USER, true, out, sizeof out), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb__pipe_sddl(SB__CLIENTS_OWNER, NULL, true, out, sizeof out), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb__pipe_sddl(SB__CLIENTS_OWNER, "S-1-5-21)(A;;FA;;;WD", true, out, sizeof out),
            SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb__pipe_sddl(SB__CLIENTS_OWNER, "WD", true, out, sizeof out), SB_E_INVALID_ARGUMENT);
  CHECK_INT(sb__pipe_sddl(SB__CLIENTS_OWNER, USER, true, small, sizeof small),
            SB_E_INVALID_ARGUMENT);
  CHECK_STR(small, "");
}

SB_TEST_MAIN(SB_CASE(a_service_as_local_system_admits_the_chosen_clients_read_and_write_only),
             SB_CASE(a_console_broker_owns_its_pipe_and_may_create_its_instances),
             SB_CASE(a_broker_from_a_network_logon_does_not_deny_network),
             SB_CASE(client_access_never_includes_create_pipe_instance),
             SB_CASE(bad_arguments_are_refused))
