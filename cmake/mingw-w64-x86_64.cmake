# Cross-compiles spawnbroker (and its dependencies) for 64-bit Windows with
# Debian's mingw-w64, and runs the resulting executables under Wine.
#
#   cmake -S . -B build/windows -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(_sb_triple x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${_sb_triple}-gcc)
set(CMAKE_CXX_COMPILER ${_sb_triple}-g++)
set(CMAKE_RC_COMPILER ${_sb_triple}-windres)
set(CMAKE_MC_COMPILER ${_sb_triple}-windmc)

# Dependencies cross-built by scripts/bootstrap live in .deps/mingw64; the
# mingw sysroot holds the Windows SDK headers and import libraries.
get_filename_component(_sb_top "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(SB_MINGW_DEPS_PREFIX "${_sb_top}/.deps/mingw64" CACHE PATH
    "Prefix holding libuv and cJSON cross-built for Windows")
set(CMAKE_FIND_ROOT_PATH /usr/${_sb_triple} ${SB_MINGW_DEPS_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Link the C runtime and libgcc statically so the executables run under Wine
# (and on a bare Windows machine) without copying any mingw DLL next to them.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc")

# Tests run through Wine in a private prefix inside the build folder, so two
# build trees never share a wineserver and a test run can stop its own.
# --test keeps the prefix awake with sb_keeper.exe for the whole run and
# fails a test that leaves a Wine process behind (scripts/wine-run).
set(CMAKE_CROSSCOMPILING_EMULATOR
    "${_sb_top}/scripts/wine-run;--test;${CMAKE_BINARY_DIR}/bin/sb_keeper.exe;${CMAKE_BINARY_DIR}/wineprefix")
