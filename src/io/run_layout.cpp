#include "dcgan/io/run_layout.h"

#include <cstdio>

namespace dcgan {

std::string RunDir::step_samples(int64_t step) const {
  char name[32];
  std::snprintf(name, sizeof name, "/step_%06lld.png", static_cast<long long>(step));
  return samples() + name;
}

}  // namespace dcgan
