#include "dcgan/model/cpu_math.h"

#include <torch/torch.h>

#include <mutex>

namespace dcgan {
namespace {

using Function = torch::Tensor (torch::Tensor::*)() const;
// The functions aten/src/ATen/cpu/vml.h sends to MKL, with three it once did (abs, expm1, log1p).
constexpr Function kFunctions[] = {
    &torch::Tensor::abs,   &torch::Tensor::acos,  &torch::Tensor::asin, &torch::Tensor::atan,
    &torch::Tensor::cos,   &torch::Tensor::erf,   &torch::Tensor::erfc, &torch::Tensor::erfinv,
    &torch::Tensor::exp,   &torch::Tensor::expm1, &torch::Tensor::log,  &torch::Tensor::log10,
    &torch::Tensor::log1p, &torch::Tensor::log2,  &torch::Tensor::sin,  &torch::Tensor::sqrt,
    &torch::Tensor::tan,   &torch::Tensor::tanh,  &torch::Tensor::trunc};

}  // namespace

void resolve_cpu_math_kernels() {
  static std::once_flag once;
  std::call_once(once, detail::call_cpu_math_functions);
}

namespace detail {
void call_cpu_math_functions() {
  torch::NoGradGuard no_grad;
  // A few contiguous elements: one chunk, on this thread, through VML.
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    const auto x = torch::full({8}, 0.5, torch::TensorOptions().dtype(dtype));
    for (const Function function : kFunctions) (x.*function)();
  }
}
}  // namespace detail

}  // namespace dcgan
