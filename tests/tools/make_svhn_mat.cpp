// Writes a synthetic SVHN-format .mat file, for benchmarks of loading and memory:
//   make_svhn_mat OUT.mat N [v5|v5_compressed|v73]
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "testing/svhn_writer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s OUT.mat N [v5|v5_compressed|v73]\n", argv[0]);
    return 2;
  }
  using dcgan::testing::MatVersion;
  const std::string version = argc > 3 ? argv[3] : "v5_compressed";
  MatVersion v = MatVersion::kV5Compressed;
  if (version == "v5") {
    v = MatVersion::kV5;
  } else if (version == "v73") {
    v = MatVersion::kV73;
  } else if (version != "v5_compressed") {
    std::fprintf(stderr, "unknown version %s\n", version.c_str());
    return 2;
  }
  try {
    dcgan::testing::write_random_svhn_mat(argv[1], std::atoll(argv[2]), 0, v);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_svhn_mat: %s\n", e.what());
    return 1;
  }
  return 0;
}
