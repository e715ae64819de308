# Per-target build settings: warnings, sanitizers and the shared LibTorch precompiled header.

# Warnings and sanitizers. The precompiled header gets them too: GCC only reuses a header
# compiled with the same language flags (-Wpedantic changes the predefined macros).
function(dcgan_compile_flags target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter)
  if(DCGAN_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
       AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
      # GCC 12 (Debian 12's) warns inside libstdc++'s inlined code: -Wstringop-overflow on plain
      # std::string concatenation, -Wmaybe-uninitialized on the std::optional<std::vector> of
      # LibTorch's interpolate options. Both are the compiler's false positives, not dcgan's
      # code: they stay warnings, and do not fail the build.
      target_compile_options(${target} PRIVATE -Wno-error=stringop-overflow
                                               -Wno-error=maybe-uninitialized)
    endif()
  endif()
  if(DCGAN_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

function(dcgan_target_defaults target)
  dcgan_compile_flags(${target})
  if(TARGET dcgan_pch)
    # Every target reuses one precompiled <torch/torch.h>: it is most of each file's compile time.
    target_precompile_headers(${target} REUSE_FROM dcgan_pch)
  endif()
endfunction()

# dcgan_add_module(name [NO_TORCH] LIBS deps...): a static library from src/<name>/*.cpp with the
# public headers in include/dcgan/<name>/. NO_TORCH: compiled without LibTorch's headers.
function(dcgan_add_module name)
  cmake_parse_arguments(ARG "NO_TORCH" "" "LIBS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/${name}/*.cpp")
  add_library(dcgan_${name} STATIC ${sources})
  target_include_directories(dcgan_${name} PUBLIC "${PROJECT_SOURCE_DIR}/include")
  if(ARG_NO_TORCH)
    # Its dependencies stay private: their headers (spdlog's fmt) must not meet LibTorch's.
    target_link_libraries(dcgan_${name} PRIVATE ${ARG_LIBS} Threads::Threads)
    dcgan_compile_flags(dcgan_${name})
  else()
    target_link_libraries(dcgan_${name} PUBLIC ${ARG_LIBS} dcgan_torch Threads::Threads)
    dcgan_target_defaults(dcgan_${name})
  endif()
endfunction()

function(dcgan_add_pch)
  if(NOT DCGAN_PCH OR TARGET dcgan_pch)
    return()
  endif()
  add_library(dcgan_pch STATIC "${PROJECT_SOURCE_DIR}/cmake/pch.cpp")
  target_link_libraries(dcgan_pch PUBLIC dcgan_torch)
  target_precompile_headers(dcgan_pch PRIVATE <torch/torch.h> <string> <vector> <memory>)
  dcgan_compile_flags(dcgan_pch)
endfunction()
