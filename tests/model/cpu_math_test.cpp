#include "dcgan/model/cpu_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace dcgan {
namespace {

// Settling the kernels leaves everything a run depends on as it was.
TEST(CpuMathTest, ChangesNoRandomStateThreadCountOrGradMode) {
  at::Generator global = at::detail::getDefaultCPUGenerator();
  const torch::Tensor before = global.get_state();
  const int threads = torch::get_num_threads();
  detail::call_cpu_math_functions();
  resolve_cpu_math_kernels();
  EXPECT_TRUE(torch::equal(global.get_state(), before));
  EXPECT_EQ(torch::get_num_threads(), threads);
  EXPECT_TRUE(torch::GradMode::is_enabled());
}

// What the settled kernels give, each thread on its chunk: float results within a few ulps of the
// double ones (a low-accuracy kernel is off by hundreds to thousands).
TEST(CpuMathTest, FloatFunctionsAreAccurateOnEveryChunk) {
  const int threads = torch::get_num_threads();
  torch::set_num_threads(2);
  const std::vector<std::pair<std::string, std::function<torch::Tensor(const torch::Tensor&)>>>
      functions = {
          {"tanh", [](const torch::Tensor& x) { return x.tanh(); }},
          {"sqrt", [](const torch::Tensor& x) { return x.sqrt(); }},
          {"exp", [](const torch::Tensor& x) { return x.exp(); }},
          {"log", [](const torch::Tensor& x) { return x.log(); }},
          {"log2", [](const torch::Tensor& x) { return x.log2(); }},
          {"log10", [](const torch::Tensor& x) { return x.log10(); }},
          {"sin", [](const torch::Tensor& x) { return x.sin(); }},
          {"cos", [](const torch::Tensor& x) { return x.cos(); }},
          {"tan", [](const torch::Tensor& x) { return x.tan(); }},
          {"asin", [](const torch::Tensor& x) { return x.asin(); }},
          {"acos", [](const torch::Tensor& x) { return x.acos(); }},
          {"atan", [](const torch::Tensor& x) { return x.atan(); }},
          {"erf", [](const torch::Tensor& x) { return x.erf(); }},
          {"erfc", [](const torch::Tensor& x) { return x.erfc(); }},
      };
  // (0.01, 0.99): inside every function's domain. 64 Ki values: a chunk on each thread.
  const auto x = torch::linspace(0.01, 0.99, 1 << 16, torch::kFloat);
  for (const auto& [name, f] : functions) {
    const torch::Tensor single = f(x);
    const torch::Tensor exact = f(x.to(torch::kDouble));
    const torch::Tensor ulps =
        (single.to(torch::kDouble) - exact).abs() / (exact.abs() * std::ldexp(1.0, -23));
    const auto worst = ulps.argmax().item<int64_t>();
    EXPECT_LE(ulps[worst].item<double>(), 4.0)
        << name << "(" << x[worst].item<float>() << ") = " << single[worst].item<float>()
        << ", in double " << exact[worst].item<double>();
  }
  torch::set_num_threads(threads);
}

}  // namespace
}  // namespace dcgan
