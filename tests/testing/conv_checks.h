// Shared by the tests of the model's own convolution kernels: a layer's sizes, printed in a
// failure's message, and the distance of a result from exact (float64) sums.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <ostream>

namespace dcgan::testing {

// A 5x5 layer's channels, its input's height and width, and the batch.
struct LayerCase {
  int64_t in, out, h, w, batch;
};

inline std::ostream& operator<<(std::ostream& os, const LayerCase& c) {
  return os << "{in " << c.in << ", out " << c.out << ", input " << c.h << "x" << c.w << ", batch "
            << c.batch << "}";
}

// The largest difference relative to the largest magnitude of `expected`, in float64.
inline double relative(const torch::Tensor& actual, const torch::Tensor& expected) {
  const auto e = expected.to(torch::kDouble);
  return ((actual.to(torch::kDouble) - e).abs().max() / e.abs().max()).item<double>();
}

}  // namespace dcgan::testing
