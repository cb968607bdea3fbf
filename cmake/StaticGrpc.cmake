# STOLON_STATIC_GRPC: link gRPC, protobuf, Abseil, upb, re2, c-ares and zlib statically into our
# binaries (issues #4 and #6: memory footprint).
#
# Why: with the shared libraries every process maps ~90 of them; the dynamic loader relocates their
# vtables and GOTs (private dirty pages in each process), and code pages are faulted in 64 KiB at a
# time around whatever is touched, spread over many files. Linked statically, only the object files
# we use end up in the binary, and the binary is non-PIE, so its vtables need no relocation at run
# time.
#
# How: the imported targets from find_package(absl/gRPC/Protobuf/...) keep their names and their
# dependency graph (so every target_link_libraries(... absl::status gRPC::grpc++) stays as it is);
# only their library file is switched to the static archive next to the shared one. OpenSSL stays
# shared: libpq (keeper, stolonctl) links it anyway, and two OpenSSL copies in one process would
# be worse than one shared one.
option(STOLON_STATIC_GRPC
       "Link gRPC/protobuf/Abseil/upb/re2/c-ares/zlib statically, non-PIE, with --gc-sections" ON)

if(NOT STOLON_STATIC_GRPC)
  return()
endif()

# Points `target`'s library file(s) at the static archive beside the shared one.
function(stolon_use_static_archive target)
  set(changed FALSE)
  foreach(prop IMPORTED_LOCATION IMPORTED_LOCATION_NONE IMPORTED_LOCATION_RELEASE
               IMPORTED_LOCATION_RELWITHDEBINFO IMPORTED_LOCATION_DEBUG IMPORTED_LOCATION_NOCONFIG)
    get_target_property(loc ${target} ${prop})
    if(NOT loc)
      continue()
    endif()
    string(REGEX REPLACE "\\.so(\\.[0-9]+)*$" ".a" archive "${loc}")
    if(archive STREQUAL loc)
      continue()  # already static
    endif()
    if(NOT EXISTS "${archive}")
      message(FATAL_ERROR "STOLON_STATIC_GRPC: ${target} has no static archive (${archive} missing); "
                          "install the -dev package that ships it or configure with -DSTOLON_STATIC_GRPC=OFF")
    endif()
    set_property(TARGET ${target} PROPERTY ${prop} "${archive}")
    set(changed TRUE)
  endforeach()
  if(changed)
    # A shared library's soname must not end up as a DT_NEEDED entry.
    set_property(TARGET ${target} PROPERTY IMPORTED_NO_SONAME TRUE)
  endif()
endfunction()

get_directory_property(stolon_imported IMPORTED_TARGETS)
foreach(t ${stolon_imported})
  if(t MATCHES "^(absl|gRPC|protobuf|c-ares|ZLIB)::")
    get_target_property(type ${t} TYPE)
    if(type STREQUAL "SHARED_LIBRARY" OR type STREQUAL "UNKNOWN_LIBRARY")
      stolon_use_static_archive(${t})
    endif()
  endif()
endforeach()

# re2 comes from pkg-config as an interface target linking "-lre2".
if(TARGET re2::re2)
  find_library(STOLON_RE2_ARCHIVE NAMES libre2.a REQUIRED)
  set_property(TARGET re2::re2 PROPERTY INTERFACE_LINK_LIBRARIES "${STOLON_RE2_ARCHIVE}")
  set_property(TARGET re2::re2 PROPERTY INTERFACE_LINK_DIRECTORIES "")
endif()

# Non-PIE, so the pointers in the executable (vtables and tables of gRPC/protobuf/Abseil) need no
# relocation at run time and their pages stay clean and shared. --gc-sections drops unreferenced
# sections of the archives. Compile flags stay as they are (objects compiled as PIE link fine into
# a non-PIE executable), so this option costs no recompilation.
add_link_options(-no-pie LINKER:--gc-sections)
message(STATUS "STOLON_STATIC_GRPC: gRPC, protobuf, Abseil, upb, re2, c-ares and zlib linked statically (non-PIE)")
