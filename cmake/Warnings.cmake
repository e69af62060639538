# Warnings and sanitizers for our own targets only (never for third-party code).
# Designated initializers that leave defaulted members out are idiomatic here, hence
# -Wno-missing-field-initializers.
add_library(sddsh_build_flags INTERFACE)
target_compile_options(sddsh_build_flags INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
  -Wno-sign-conversion -Wno-missing-field-initializers)
if(SDDSH_WERROR)
  target_compile_options(sddsh_build_flags INTERFACE -Werror)
endif()
if(SDDSH_FUZZ)
  # Every library is instrumented for coverage so the fuzzer sees into it; the tests linked with
  # them run that instrumentation for nothing (the sanitizer runtime's hooks are no-ops), a small
  # price for building the sanitized suite and the fuzz targets once instead of twice.
  target_compile_options(sddsh_build_flags INTERFACE -fsanitize=fuzzer-no-link,address,undefined
    -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(sddsh_build_flags INTERFACE -fsanitize=address,undefined)
endif()
target_include_directories(sddsh_build_flags INTERFACE ${CMAKE_SOURCE_DIR}
  ${CMAKE_BINARY_DIR}/generated)
# GCC 12 reports -Wrestrict falsely inside inlined std::string code at -O3 (GCC bug 105329).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(sddsh_build_flags INTERFACE -Wno-restrict)
endif()
