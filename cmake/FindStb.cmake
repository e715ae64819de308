# Finds the stb single-file libraries (stb_image_write, stb_image); defines Stb::Stb.
# Debian's libstb-dev ships the headers and a compiled libstb with their implementations.
find_path(STB_INCLUDE_DIR stb_image_write.h PATH_SUFFIXES stb)
find_library(STB_LIBRARY stb)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Stb REQUIRED_VARS STB_INCLUDE_DIR STB_LIBRARY)
if(Stb_FOUND AND NOT TARGET Stb::Stb)
  add_library(Stb::Stb UNKNOWN IMPORTED)
  set_target_properties(Stb::Stb PROPERTIES IMPORTED_LOCATION "${STB_LIBRARY}"
                                            INTERFACE_INCLUDE_DIRECTORIES "${STB_INCLUDE_DIR}")
endif()
