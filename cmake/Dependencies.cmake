# Where the libraries besides LibTorch come from. Each one is taken from the system where
# find_package finds it, or built from third_party/ (the same versions as Debian's packages,
# fetched by scripts/vendor.sh), so that a machine with only LibTorch, CMake and a compiler builds
# dcgan. matio is the exception: it is not in third_party/, and without it .mat files cannot be read.
#
#   DCGAN_DEPS   auto (default): the system's where found, else third_party/
#                system: all from the system, an error where one is missing
#                bundled: all from third_party/, whatever the system has
#   DCGAN_MATIO  auto (default): .mat support where matio is found; on: required; off: none

set(DCGAN_DEPS auto CACHE STRING "Libraries besides LibTorch: auto, system or bundled")
set_property(CACHE DCGAN_DEPS PROPERTY STRINGS auto system bundled)
set(DCGAN_MATIO auto CACHE STRING "MAT-file support through matio: auto, on or off")
set_property(CACHE DCGAN_MATIO PROPERTY STRINGS auto on off)
if(NOT DCGAN_DEPS MATCHES "^(auto|system|bundled)$")
  message(FATAL_ERROR "DCGAN_DEPS: auto, system or bundled expected, found '${DCGAN_DEPS}'")
endif()
if(NOT DCGAN_MATIO MATCHES "^(auto|on|off)$")
  message(FATAL_ERROR "DCGAN_MATIO: auto, on or off expected, found '${DCGAN_MATIO}'")
endif()

# dcgan_dependency(name package): finds `package` or queues `name` for third_party/.
set(DCGAN_BUNDLED "")
macro(dcgan_dependency name package)
  if(DCGAN_DEPS STREQUAL "bundled")
    list(APPEND DCGAN_BUNDLED ${name})
  else()
    if(DCGAN_DEPS STREQUAL "system")
      find_package(${package} REQUIRED)
    else()
      find_package(${package} QUIET)
    endif()
    if(${package}_FOUND)
      message(STATUS "dcgan: ${name} from the system")
    else()
      list(APPEND DCGAN_BUNDLED ${name})
    endif()
  endif()
endmacro()

dcgan_dependency(cli11 CLI11)
dcgan_dependency(yaml-cpp yaml-cpp)
dcgan_dependency(spdlog spdlog)
dcgan_dependency(stb Stb)
dcgan_dependency(zlib ZLIB)
if(DCGAN_BUILD_TESTS)
  dcgan_dependency(googletest GTest)
endif()
if(DCGAN_BUNDLED)
  add_subdirectory("${PROJECT_SOURCE_DIR}/third_party" "${PROJECT_BINARY_DIR}/third_party")
endif()

set(DCGAN_WITH_MATIO OFF)
if(DCGAN_MATIO STREQUAL "on")
  find_package(Matio REQUIRED)
  set(DCGAN_WITH_MATIO ON)
elseif(DCGAN_MATIO STREQUAL "auto")
  find_package(Matio QUIET)
  set(DCGAN_WITH_MATIO ${Matio_FOUND})
endif()
# dcgan_matio: what a target that reads or writes .mat files links; it carries matio when there
# is one and, either way, DCGAN_WITH_MATIO (1 or 0) for the code to test.
add_library(dcgan_matio INTERFACE)
target_compile_definitions(dcgan_matio INTERFACE DCGAN_WITH_MATIO=$<BOOL:${DCGAN_WITH_MATIO}>)
if(DCGAN_WITH_MATIO)
  target_link_libraries(dcgan_matio INTERFACE Matio::Matio)
  message(STATUS "dcgan: matio from the system: .mat files are read")
else()
  message(STATUS "dcgan: no matio (DCGAN_MATIO=${DCGAN_MATIO}): this build cannot read .mat files")
endif()
