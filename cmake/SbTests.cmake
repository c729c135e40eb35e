# Test registration helpers.
#
# sb_add_case_tests(<target> <source> <group>) registers one ctest test per
# "SB_TEST(name)" line in <source>, named <prefix><group>.<name>, each running
# "<target> <name>". In a cross build ctest runs the target through
# CMAKE_CROSSCOMPILING_EMULATOR (Wine), because the tests use the
# add_test(NAME ... COMMAND <target>) form.

function(sb_add_case_tests target source group)
  file(STRINGS "${source}" lines REGEX "^SB_TEST\\([A-Za-z0-9_]+\\)")
  if(NOT lines)
    message(FATAL_ERROR "${source} defines no SB_TEST cases")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${source}")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^SB_TEST\\(([A-Za-z0-9_]+)\\).*" "\\1" case "${line}")
    set(name "${SB_TEST_PREFIX}${group}.${case}")
    add_test(NAME "${name}" COMMAND ${target} ${case})
    sb_test_defaults("${name}")
  endforeach()
endfunction()

# Properties every test gets: a timeout, and under Wine the fixture that
# creates the prefix first and stops its wineserver last.
function(sb_test_defaults name)
  set_tests_properties("${name}" PROPERTIES TIMEOUT 120)
  if(CMAKE_CROSSCOMPILING AND WIN32)
    # Wine tests run one at a time: Wine 8's wineserver crashes when one
    # process lists the system's handles while another is starting with an
    # empty handle table (docs/wine.md), and every end-to-end test lists
    # handles while other tests start processes.
    set_tests_properties("${name}" PROPERTIES FIXTURES_REQUIRED sb_wine LABELS wine
                         RESOURCE_LOCK sb_wineserver)
  else()
    set_tests_properties("${name}" PROPERTIES LABELS native)
  endif()
endfunction()
