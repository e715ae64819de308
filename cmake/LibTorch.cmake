# Which LibTorch, and whether with CUDA. Defines the target dcgan_torch (LibTorch's headers and
# libraries), Torch_VERSION, DCGAN_TORCH_CXX_FLAGS, DCGAN_TORCH_CUDA (ON when the build links
# LibTorch's CUDA libraries) and DCGAN_TORCH_ONEDNN (ON when its ATen has oneDNN).
#
# Which: Torch_DIR or CMAKE_PREFIX_PATH where given; else the PyTorch that scripts/setup.sh
# installs into .venv/; else the system's (Debian's libtorch-dev).
#
#   DCGAN_CUDA  auto (default): CUDA support where the LibTorch has it and the CUDA toolkit (nvcc)
#                 is found; otherwise only LibTorch's CPU libraries are linked
#               on: CUDA support required (an error where the LibTorch or the toolkit lacks it)
#               off: the CPU libraries only, even from a CUDA LibTorch
#
# A CUDA LibTorch's own CMake package refuses to load without the CUDA toolkit; a CPU build needs
# none of it, so where the toolkit is absent (or DCGAN_CUDA is off) libtorch_cpu and libc10 are
# imported directly: PyTorch's pip wheel then builds on a machine without nvcc.

set(DCGAN_CUDA auto CACHE STRING "CUDA support from a CUDA LibTorch: auto, on or off")
set_property(CACHE DCGAN_CUDA PROPERTY STRINGS auto on off)
if(NOT DCGAN_CUDA MATCHES "^(auto|on|off)$")
  message(FATAL_ERROR "DCGAN_CUDA: auto, on or off expected, found '${DCGAN_CUDA}'")
endif()

# The same search find_package makes, with .venv/'s PyTorch after what the user names and before
# the system's: the config file's folder tells which LibTorch, and whether it is a CUDA build,
# before its package is loaded.
file(GLOB _dcgan_venv_torch LIST_DIRECTORIES true
     "${PROJECT_SOURCE_DIR}/.venv/lib/python3*/site-packages/torch/share/cmake/Torch")
# What the last configure found is cached: search again when -DTorch_DIR=... names another
# LibTorch or the one found is gone (.venv/ made anew), and forget what was found in it.
if((Torch_DIR AND NOT Torch_DIR STREQUAL DCGAN_TORCH_CONFIG_DIR) OR
   (DCGAN_TORCH_CONFIG_DIR AND NOT EXISTS "${DCGAN_TORCH_CONFIG_DIR}/TorchConfig.cmake"))
  foreach(_var DCGAN_TORCH_CONFIG_DIR Caffe2_DIR TORCH_LIBRARY c10_LIBRARY C10_CUDA_LIBRARY
               kineto_LIBRARY DCGAN_LIB_torch_cpu DCGAN_LIB_c10)
    unset(${_var} CACHE)
  endforeach()
endif()
# PyTorch's wheels export the copy of std::filesystem that is linked statically into
# libtorch_cpu.so (pytorch/pytorch#133437). Where LibTorch comes before libstdc++ in an
# executable's list of libraries, the dynamic linker binds dcgan's own std::filesystem calls to
# that copy, which need not match the compiler's headers: with GCC 13 and PyTorch 2.11, every
# path operation crashed. Naming libstdc++ before LibTorch binds them to the real library.
function(dcgan_link_libstdcxx_first)
  if(UNIX AND NOT APPLE AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_link_libraries(dcgan_torch INTERFACE
      "-Wl,--push-state,--no-as-needed" stdc++ "-Wl,--pop-state")
  endif()
endfunction()

set(_dcgan_torch_candidates ${Torch_DIR} $ENV{Torch_DIR})
string(REPLACE ":" ";" _dcgan_env_prefixes "$ENV{CMAKE_PREFIX_PATH}")
foreach(_prefix ${CMAKE_PREFIX_PATH} ${_dcgan_env_prefixes})
  # A prefix may be LibTorch's root or PyTorch's torch.utils.cmake_prefix_path (.../share/cmake).
  foreach(_suffix "" Torch share/cmake/Torch lib/cmake/Torch lib/${CMAKE_LIBRARY_ARCHITECTURE}/cmake/Torch)
    list(APPEND _dcgan_torch_candidates "${_prefix}/${_suffix}")
  endforeach()
endforeach()
list(APPEND _dcgan_torch_candidates ${_dcgan_venv_torch})
foreach(_prefix /usr/local /usr)
  foreach(_suffix share/cmake/Torch lib/cmake/Torch lib/${CMAKE_LIBRARY_ARCHITECTURE}/cmake/Torch)
    list(APPEND _dcgan_torch_candidates "${_prefix}/${_suffix}")
  endforeach()
endforeach()
find_path(DCGAN_TORCH_CONFIG_DIR NAMES TorchConfig.cmake torch-config.cmake
  PATHS ${_dcgan_torch_candidates} NO_DEFAULT_PATH
  DOC "Folder of the LibTorch CMake package (TorchConfig.cmake)")
if(NOT DCGAN_TORCH_CONFIG_DIR)
  message(FATAL_ERROR "LibTorch not found: no TorchConfig.cmake in Torch_DIR, CMAKE_PREFIX_PATH, "
                      "${PROJECT_SOURCE_DIR}/.venv/ or /usr; run scripts/setup.sh (PyTorch into "
                      ".venv/), or point CMAKE_PREFIX_PATH or Torch_DIR at a LibTorch")
endif()
set(Torch_DIR "${DCGAN_TORCH_CONFIG_DIR}" CACHE PATH "LibTorch's CMake package" FORCE)
# The libraries: <root>/lib for a libtorch zip or a wheel (<root>/share/cmake/Torch), the folder
# two levels up for Debian's layout (/usr/lib/<arch>/cmake/Torch).
get_filename_component(_dcgan_torch_prefix "${DCGAN_TORCH_CONFIG_DIR}/../../.." ABSOLUTE)
set(_dcgan_torch_libdir "${_dcgan_torch_prefix}/lib")
if(NOT EXISTS "${_dcgan_torch_libdir}/libtorch_cpu${CMAKE_SHARED_LIBRARY_SUFFIX}")
  get_filename_component(_dcgan_torch_libdir "${DCGAN_TORCH_CONFIG_DIR}/../.." ABSOLUTE)
endif()
set(_dcgan_torch_cuda_lib "${_dcgan_torch_libdir}/libtorch_cuda${CMAKE_SHARED_LIBRARY_SUFFIX}")

set(DCGAN_TORCH_CUDA OFF)
if(EXISTS "${_dcgan_torch_cuda_lib}" AND NOT DCGAN_CUDA STREQUAL "off")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER)
    unset(CMAKE_CUDA_COMPILER CACHE)  # not found last time: nvcc may be on the PATH now
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(DCGAN_TORCH_CUDA ON)
  elseif(DCGAN_CUDA STREQUAL "on")
    message(FATAL_ERROR "DCGAN_CUDA=on but no CUDA compiler (nvcc) was found: put the CUDA "
                        "toolkit's bin/ on the PATH or set CMAKE_CUDA_COMPILER")
  else()
    message(STATUS "dcgan: ${DCGAN_TORCH_CONFIG_DIR} is a CUDA LibTorch but nvcc was not found: "
                   "building for the CPU only")
  endif()
elseif(DCGAN_CUDA STREQUAL "on")
  message(FATAL_ERROR "DCGAN_CUDA=on but the LibTorch in ${DCGAN_TORCH_CONFIG_DIR} has no CUDA "
                      "library (${_dcgan_torch_cuda_lib} expected)")
endif()

add_library(dcgan_torch INTERFACE)
if(DCGAN_TORCH_CUDA OR NOT EXISTS "${_dcgan_torch_cuda_lib}")
  # LibTorch's package finds its own libraries and Caffe2 package with the default search paths
  # first: with Debian's libtorch-dev installed too, it would mix the two. Name them here.
  get_filename_component(_dcgan_caffe2_dir "${DCGAN_TORCH_CONFIG_DIR}/../Caffe2" ABSOLUTE)
  if(EXISTS "${_dcgan_caffe2_dir}/Caffe2Config.cmake")
    set(Caffe2_DIR "${_dcgan_caffe2_dir}" CACHE PATH "" FORCE)
  endif()
  foreach(_pair TORCH:torch c10:c10 C10_CUDA:c10_cuda kineto:kineto)
    string(REPLACE ":" ";" _pair "${_pair}")
    list(GET _pair 0 _var)
    list(GET _pair 1 _lib)
    set(_file "${_dcgan_torch_libdir}/lib${_lib}${CMAKE_SHARED_LIBRARY_SUFFIX}")
    if(EXISTS "${_file}")
      set(${_var}_LIBRARY "${_file}" CACHE FILEPATH "" FORCE)
    endif()
  endforeach()
  find_package(Torch REQUIRED CONFIG PATHS "${DCGAN_TORCH_CONFIG_DIR}" NO_DEFAULT_PATH)
  # Torch's own targets do not always carry their include directories: wrap them once.
  target_include_directories(dcgan_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
  dcgan_link_libstdcxx_first()
  target_link_libraries(dcgan_torch INTERFACE ${TORCH_LIBRARIES})
  # PyTorch's wheel finds the CUDA libraries it was built with (NCCL, cuDNN, ...) in the nvidia/
  # packages beside it, through its own run path. The linker looks in the CUDA toolkit's folders
  # first, whose versions may be older: point it at the wheel's.
  file(GLOB _dcgan_wheel_cuda_libs LIST_DIRECTORIES true "${_dcgan_torch_prefix}/../nvidia/*/lib")
  foreach(_dir ${_dcgan_wheel_cuda_libs})
    target_link_options(dcgan_torch INTERFACE "LINKER:-rpath-link,${_dir}")
  endforeach()
  set(DCGAN_TORCH_CXX_FLAGS "${TORCH_CXX_FLAGS}")
else()
  include("${DCGAN_TORCH_CONFIG_DIR}/TorchConfigVersion.cmake")
  set(Torch_VERSION "${PACKAGE_VERSION}")
  # The C++ ABI flag, where the package sets one (older zips of LibTorch).
  file(STRINGS "${DCGAN_TORCH_CONFIG_DIR}/TorchConfig.cmake" _dcgan_flags_line
       REGEX "^ *set\\(TORCH_CXX_FLAGS \"[^\"]*\"\\)")
  string(REGEX REPLACE ".*\"([^\"]*)\".*" "\\1" DCGAN_TORCH_CXX_FLAGS "${_dcgan_flags_line}")
  foreach(_lib torch_cpu c10)
    find_library(DCGAN_LIB_${_lib} ${_lib} PATHS "${_dcgan_torch_libdir}" NO_DEFAULT_PATH REQUIRED)
  endforeach()
  target_include_directories(dcgan_torch SYSTEM INTERFACE
    "${_dcgan_torch_prefix}/include" "${_dcgan_torch_prefix}/include/torch/csrc/api/include")
  dcgan_link_libstdcxx_first()
  target_link_libraries(dcgan_torch INTERFACE ${DCGAN_LIB_torch_cpu} ${DCGAN_LIB_c10})
endif()
if(DCGAN_TORCH_CUDA)
  # Code that calls LibTorch's CUDA library directly (CUDA graphs) is compiled only then.
  target_compile_definitions(dcgan_torch INTERFACE DCGAN_WITH_CUDA=1)
endif()
message(STATUS "dcgan: LibTorch ${Torch_VERSION} from ${DCGAN_TORCH_CONFIG_DIR}, CUDA ${DCGAN_TORCH_CUDA}")

# OpenMP for dcgan's own CPU loops. LibTorch's at::parallel_for is a template in its headers; in
# code compiled without OpenMP it runs the whole range on the calling thread (pytorch/pytorch
# #161320), so the Winograd and GEMM forms' transforms ran on one core whatever run.threads said.
# Where LibTorch's ATen runs on OpenMP (ATen/Config.h: AT_PARALLEL_OPENMP), dcgan is compiled
# with it too, on the same runtime: GCC's -fopenmp uses GNU's libgomp, which PyPI's wheels
# (torch/lib/libgomp.so.1) and Debian's package link, and the loader keeps one copy of it by its
# soname, so at::set_num_threads sizes dcgan's loops too. Where LibTorch ships its libgomp under
# another name (libgomp-<hash>.so.1: the libtorch zips, older wheels), the compiler's libgomp.so.1
# is linked; dcgan's executables name it before LibTorch, so the loader binds LibTorch's OpenMP
# calls to it as well and the renamed copy lies unused (seen with LD_DEBUG=bindings, a copy of the
# wheel's LibTorch with its libgomp renamed). Clang's -fopenmp brings LLVM's libomp, which would
# take LibTorch's calls the same way: LibTorch would run on a runtime it was not built with, which
# no build here tests, so `auto` leaves it off there.
#   DCGAN_OPENMP  auto (default): on where LibTorch uses OpenMP and the compiler's is libgomp
#                 on: required (an error otherwise); off: dcgan's own loops on one thread
set(DCGAN_OPENMP auto CACHE STRING "OpenMP for dcgan's own CPU loops: auto, on or off")
set_property(CACHE DCGAN_OPENMP PROPERTY STRINGS auto on off)
if(NOT DCGAN_OPENMP MATCHES "^(auto|on|off)$")
  message(FATAL_ERROR "DCGAN_OPENMP: auto, on or off expected, found '${DCGAN_OPENMP}'")
endif()
# ATen's build options, from its ATen/Config.h: whether it runs on OpenMP (below), and whether it
# has oneDNN (the tests then also run the Winograd form with its products there).
get_target_property(_dcgan_torch_include_dirs dcgan_torch INTERFACE_INCLUDE_DIRECTORIES)
find_file(DCGAN_ATEN_CONFIG_H ATen/Config.h PATHS ${_dcgan_torch_include_dirs} NO_DEFAULT_PATH)
set(_dcgan_aten_openmp "")
set(_dcgan_aten_onednn "")
if(DCGAN_ATEN_CONFIG_H)
  file(STRINGS "${DCGAN_ATEN_CONFIG_H}" _dcgan_aten_openmp REGEX "define AT_PARALLEL_OPENMP 1")
  file(STRINGS "${DCGAN_ATEN_CONFIG_H}" _dcgan_aten_onednn REGEX "define AT_MKLDNN_ENABLED\\(\\) 1")
endif()
set(DCGAN_TORCH_ONEDNN OFF)
if(_dcgan_aten_onednn)
  set(DCGAN_TORCH_ONEDNN ON)
endif()
set(DCGAN_HAVE_OPENMP OFF)
set(_dcgan_openmp_why "DCGAN_OPENMP=off")
if(NOT DCGAN_OPENMP STREQUAL "off")
  if(NOT _dcgan_aten_openmp)
    set(_dcgan_openmp_why "this LibTorch's ATen does not run on OpenMP")
  else()
    find_package(OpenMP COMPONENTS CXX)
    if(NOT OpenMP_CXX_FOUND)
      set(_dcgan_openmp_why "the compiler has no OpenMP")
    elseif(NOT "${OpenMP_CXX_LIB_NAMES}" MATCHES "gomp")
      set(_dcgan_openmp_why "the compiler's OpenMP is ${OpenMP_CXX_LIB_NAMES}, not LibTorch's libgomp")
    else()
      set(DCGAN_HAVE_OPENMP ON)
      target_compile_options(dcgan_torch INTERFACE
        "$<$<COMPILE_LANGUAGE:CXX>:SHELL:${OpenMP_CXX_FLAGS}>")
      target_compile_definitions(dcgan_torch INTERFACE DCGAN_WITH_OPENMP=1)
      # The libgomp beside LibTorch's libraries where there is one (a wheel's torch/lib/, or
      # Debian's /usr/lib/<arch>/): the copy it runs with, and no second one on the run path.
      find_file(DCGAN_LIBGOMP libgomp.so.1 PATHS "${_dcgan_torch_libdir}" NO_DEFAULT_PATH)
      if(DCGAN_LIBGOMP)
        target_link_libraries(dcgan_torch INTERFACE "${DCGAN_LIBGOMP}")
      else()
        target_link_libraries(dcgan_torch INTERFACE OpenMP::OpenMP_CXX)
      endif()
    endif()
  endif()
  if(DCGAN_OPENMP STREQUAL "on" AND NOT DCGAN_HAVE_OPENMP)
    message(FATAL_ERROR "DCGAN_OPENMP=on but ${_dcgan_openmp_why}")
  endif()
endif()
if(DCGAN_HAVE_OPENMP)
  message(STATUS "dcgan: OpenMP ON (dcgan's own CPU loops use run.threads)")
else()
  message(STATUS "dcgan: OpenMP OFF (${_dcgan_openmp_why}): dcgan's own CPU loops run on one thread")
endif()
