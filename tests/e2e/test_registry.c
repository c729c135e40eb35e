/*
 * The broker's registry of its own handles (broker/registry.c), which
 * push-mode requests are checked against: ownership is counted, so a handle
 * value the system hands out again while the old handle's disown is still to
 * come stays the broker's own.
 */
#include <windows.h>

#include "registry.h"
#include "sb_errors.h"
#include "sb_test.h"

/* Regression: ownership was a set, so the broker's accept thread creating a
 * pipe instance under a value the loop thread had just closed (and was about
 * to disown) lost the new instance's registration, and a push request could
 * then name the new instance. */
SB_TEST(a_value_owned_twice_stays_owned_until_disowned_twice) {
  HANDLE h = CreateEventW(NULL, TRUE, FALSE, NULL);
  REQUIRE(h != NULL);
  CHECK(!sb__registry_owns(h));
  sb__registry_own(h);
  sb__registry_own(h);
  sb__registry_disown(h);
  CHECK(sb__registry_owns(h));
  CHECK_INT(sb__registry_claim(h), SB_E_HANDLE_OWNED_BY_BROKER);
  sb__registry_disown(h);
  CHECK(!sb__registry_owns(h));
  CHECK_INT(sb__registry_claim(h), 0);
  sb__registry_unclaim(h);
  CloseHandle(h);
}

SB_TEST(a_claimed_value_cannot_be_claimed_twice) {
  HANDLE h = CreateEventW(NULL, TRUE, FALSE, NULL);
  REQUIRE(h != NULL);
  CHECK_INT(sb__registry_claim(h), 0);
  CHECK_INT(sb__registry_claim(h), SB_E_HANDLE_CLAIMED);
  sb__registry_unclaim(h);
  CHECK_INT(sb__registry_claim(h), 0);
  sb__registry_unclaim(h);
  CloseHandle(h);
}

SB_TEST(disowning_a_value_never_owned_changes_nothing) {
  HANDLE h = CreateEventW(NULL, TRUE, FALSE, NULL);
  REQUIRE(h != NULL);
  sb__registry_disown(h);
  sb__registry_own(h);
  CHECK(sb__registry_owns(h));
  sb__registry_disown(h);
  CHECK(!sb__registry_owns(h));
  sb__registry_own(NULL);
  sb__registry_own(INVALID_HANDLE_VALUE);
  CHECK(!sb__registry_owns(NULL));
  CHECK(!sb__registry_owns(INVALID_HANDLE_VALUE));
  CloseHandle(h);
}

SB_TEST_MAIN(SB_CASE(a_value_owned_twice_stays_owned_until_disowned_twice),
             SB_CASE(a_claimed_value_cannot_be_claimed_twice),
             SB_CASE(disowning_a_value_never_owned_changes_nothing))
