# Which of c10d's process groups dcgan can build: the distributed engine of the LibTorch in use
# (torch/csrc/distributed/c10d/). Sets DCGAN_HAVE_GLOO and DCGAN_HAVE_NCCL and, where Gloo is
# available, DCGAN_GLOO_INCLUDE_DIR.
#
# Gloo (CPUs): LibTorch links Gloo in, but no LibTorch ships Gloo's headers, which c10d's
# ProcessGroupGloo.hpp includes. They come from
#   - third_party/gloo/include: pytorch/gloo's headers, for LibTorch 2.x (PyPI's wheel, the zip);
#   - Debian's libgloo-dev, for Debian's libtorch-dev 1.13 (the Gloo it was built against);
#   - or -DDCGAN_GLOO_INCLUDE_DIR=<folder holding gloo/>.
# NCCL (CUDA): ProcessGroupNCCL lives in libtorch_cuda, so only a CUDA build has it; nccl.h comes
# from the wheel's nvidia/nccl package or the CUDA toolkit.
# A LibTorch without a backend builds without it; asking for it at run time is then an error
# saying so.

set(DCGAN_HAVE_GLOO OFF)
set(DCGAN_HAVE_NCCL OFF)

get_target_property(_dcgan_torch_includes dcgan_torch INTERFACE_INCLUDE_DIRECTORIES)
find_path(DCGAN_C10D_INCLUDE_DIR torch/csrc/distributed/c10d/ProcessGroupGloo.hpp
  PATHS ${_dcgan_torch_includes} NO_DEFAULT_PATH)

if(Torch_VERSION VERSION_LESS 2.0)
  find_path(DCGAN_GLOO_INCLUDE_DIR gloo/algorithm.h
    DOC "Folder holding Gloo's headers (gloo/algorithm.h): Debian's libgloo-dev for LibTorch 1.x")
else()
  set(DCGAN_GLOO_INCLUDE_DIR "${PROJECT_SOURCE_DIR}/third_party/gloo/include" CACHE PATH
      "Folder holding Gloo's headers (gloo/algorithm.h)")
endif()

if(NOT DCGAN_C10D_INCLUDE_DIR)
  message(STATUS "dcgan: distributed training off: this LibTorch has no c10d headers")
elseif(NOT DCGAN_GLOO_INCLUDE_DIR OR NOT EXISTS "${DCGAN_GLOO_INCLUDE_DIR}/gloo/algorithm.h")
  message(STATUS "dcgan: Gloo backend off: no Gloo headers (install libgloo-dev for LibTorch "
                 "1.x, or set DCGAN_GLOO_INCLUDE_DIR)")
else()
  set(DCGAN_HAVE_GLOO ON)
endif()

if(DCGAN_C10D_INCLUDE_DIR AND DCGAN_TORCH_CUDA)
  file(GLOB _dcgan_wheel_nccl "${_dcgan_torch_prefix}/../nvidia/nccl/include")
  # HINTS, not PATHS: the wheel's nccl.h (the NCCL LibTorch runs with) before a system one of
  # another version, whose ncclConfig_t can differ in size from the library's.
  find_path(DCGAN_NCCL_INCLUDE_DIR nccl.h HINTS ${_dcgan_wheel_nccl} PATHS
    ${CMAKE_CUDA_TOOLKIT_INCLUDE_DIRECTORIES} DOC "Folder holding nccl.h")
  if(DCGAN_NCCL_INCLUDE_DIR AND
     EXISTS "${DCGAN_C10D_INCLUDE_DIR}/torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp")
    set(DCGAN_HAVE_NCCL ON)
  else()
    message(STATUS "dcgan: NCCL backend off: no nccl.h or ProcessGroupNCCL.hpp")
  endif()
endif()
message(STATUS "dcgan: distributed backends: gloo ${DCGAN_HAVE_GLOO}, nccl ${DCGAN_HAVE_NCCL}")

# The one source that includes c10d's backends: compiled with the macros c10d's headers expect,
# and without the shared precompiled header (those macros must be seen before any c10d header).
function(dcgan_configure_distributed target source)
  set_source_files_properties(${source} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
  target_compile_definitions(${target} PRIVATE
    DCGAN_HAVE_GLOO=$<BOOL:${DCGAN_HAVE_GLOO}> DCGAN_HAVE_NCCL=$<BOOL:${DCGAN_HAVE_NCCL}>)
  if(DCGAN_HAVE_GLOO OR DCGAN_HAVE_NCCL)
    set(_defs USE_DISTRIBUTED USE_C10D)
    if(DCGAN_HAVE_GLOO)
      list(APPEND _defs USE_C10D_GLOO)
      target_include_directories(${target} SYSTEM PRIVATE "${DCGAN_GLOO_INCLUDE_DIR}")
    endif()
    if(DCGAN_HAVE_NCCL)
      list(APPEND _defs USE_C10D_NCCL USE_NCCL)
      target_include_directories(${target} SYSTEM PRIVATE "${DCGAN_NCCL_INCLUDE_DIR}")
    endif()
    set_source_files_properties(${source} PROPERTIES COMPILE_DEFINITIONS "${_defs}")
  endif()
endfunction()
