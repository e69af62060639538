# Warnings and sanitizers for our own targets only (never for third-party code).
add_library(sddsh_build_flags INTERFACE)
target_compile_options(sddsh_build_flags INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
  -Wno-sign-conversion)
if(SDDSH_WERROR)
  target_compile_options(sddsh_build_flags INTERFACE -Werror)
endif()
if(SDDSH_SANITIZE)
  target_compile_options(sddsh_build_flags INTERFACE -fsanitize=address,undefined
    -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(sddsh_build_flags INTERFACE -fsanitize=address,undefined)
endif()
target_include_directories(sddsh_build_flags INTERFACE ${CMAKE_SOURCE_DIR}
  ${CMAKE_BINARY_DIR}/generated)
