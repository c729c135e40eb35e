# Finds cJSON and libuv and exposes them as sb::cjson and sb::uv.
#
# Where they come from:
# - native Debian: libcjson-dev and libuv1-dev (headers in /usr/include);
# - mingw-w64 cross builds: .deps/mingw64, filled by scripts/bootstrap from
#   Debian's source packages (the toolchain file puts it on the search path);
# - real Windows: vcpkg ("vcpkg install libuv cjson"), found through the vcpkg
#   toolchain file.
# We look for the headers and libraries directly rather than through each
# project's own CMake package, because the three sources ship different
# package names and targets (cJSON/cjson, libuv/unofficial-libuv, uv/uv_a)
# while the files themselves are always the same.

include(FindPackageHandleStandardArgs)

# --- cJSON -----------------------------------------------------------------
find_path(SB_CJSON_INCLUDE_DIR cjson/cJSON.h)
if(WIN32)
  # Prefer a static library: the executables must run without DLLs beside them.
  find_library(SB_CJSON_LIBRARY NAMES libcjson.a cjson libcjson)
else()
  find_library(SB_CJSON_LIBRARY NAMES cjson libcjson)
endif()
find_package_handle_standard_args(SbCJSON REQUIRED_VARS SB_CJSON_LIBRARY SB_CJSON_INCLUDE_DIR)

add_library(sb::cjson UNKNOWN IMPORTED)
set_target_properties(sb::cjson PROPERTIES
  IMPORTED_LOCATION "${SB_CJSON_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${SB_CJSON_INCLUDE_DIR}")
if(WIN32)
  # cJSON.h marks its functions dllexport unless told otherwise. A static
  # library must be consumed with CJSON_HIDE_SYMBOLS, a DLL's import library
  # with CJSON_IMPORT_SYMBOLS.
  if(SB_CJSON_LIBRARY MATCHES "\\.a$" AND NOT SB_CJSON_LIBRARY MATCHES "\\.dll\\.a$")
    set_property(TARGET sb::cjson PROPERTY INTERFACE_COMPILE_DEFINITIONS CJSON_HIDE_SYMBOLS)
  elseif(SB_CJSON_LIBRARY MATCHES "(^|/)cjson_static\\.lib$")
    set_property(TARGET sb::cjson PROPERTY INTERFACE_COMPILE_DEFINITIONS CJSON_HIDE_SYMBOLS)
  else()
    set_property(TARGET sb::cjson PROPERTY INTERFACE_COMPILE_DEFINITIONS CJSON_IMPORT_SYMBOLS)
  endif()
endif()

# --- libuv -------------------------------------------------------------------
# Only the Windows programs need libuv; natively it is optional.
find_path(SB_UV_INCLUDE_DIR uv.h)
if(WIN32)
  find_library(SB_UV_LIBRARY NAMES libuv_a.a uv_a libuv uv)
else()
  find_library(SB_UV_LIBRARY NAMES uv libuv)
endif()
if(WIN32)
  find_package_handle_standard_args(SbLibuv REQUIRED_VARS SB_UV_LIBRARY SB_UV_INCLUDE_DIR)
endif()

if(SB_UV_LIBRARY AND SB_UV_INCLUDE_DIR)
  add_library(sb::uv UNKNOWN IMPORTED)
  set_target_properties(sb::uv PROPERTIES
    IMPORTED_LOCATION "${SB_UV_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${SB_UV_INCLUDE_DIR}")
  if(WIN32)
    # The system libraries libuv's own build links on Windows.
    set_property(TARGET sb::uv PROPERTY INTERFACE_LINK_LIBRARIES
      ws2_32 psapi iphlpapi userenv user32 advapi32 dbghelp ole32 shell32)
    if(SB_UV_LIBRARY MATCHES "uv_a")
      # Static libuv: no dllimport decoration wanted.
    else()
      set_property(TARGET sb::uv PROPERTY INTERFACE_COMPILE_DEFINITIONS USING_UV_SHARED=1)
    endif()
  endif()
endif()
