# Strict warnings for the project's own code (never for dependencies), and the
# sanitizer switch. Use sb_strict(<target>) on every target we compile.

if(SB_SANITIZE)
  if(WIN32)
    message(FATAL_ERROR "SB_SANITIZE is for native builds only")
  endif()
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

# libFuzzer is guided by the coverage of the code it runs: every library a
# fuzz target links (proto/, the broker's pure modules) must carry the
# coverage instrumentation, not only the target's own file. fuzzer-no-link
# adds it without libFuzzer's main, so the unit tests of the same tree still
# link and run as usual.
if(SB_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

function(sb_strict target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 /WX /utf-8)
    target_compile_definitions(${target} PRIVATE _CRT_SECURE_NO_WARNINGS)
  else()
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
      -Wformat=2 -Wpointer-arith -Wcast-qual -Wundef)
  endif()
  if(WIN32)
    # Windows 10 is the oldest target: PROC_THREAD_ATTRIBUTE_JOB_LIST and
    # friends are declared only for it. mingw's printf family follows the
    # C99 format rules (%zu, %lld) only with its ANSI stdio.
    target_compile_definitions(${target} PRIVATE
      _WIN32_WINNT=0x0A00 WINVER=0x0A00 WIN32_LEAN_AND_MEAN UNICODE _UNICODE
      $<$<NOT:$<BOOL:${MSVC}>>:__USE_MINGW_ANSI_STDIO=1>)
  endif()
endfunction()

# The product version, from project(), for --version and the hello reply.
add_compile_definitions(SB_VERSION="${PROJECT_VERSION}")
