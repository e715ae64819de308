#include "dcgan/model/batch_norm_leaky_relu.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <ostream>
#include <vector>

#include "testing/conv_checks.h"
#include "testing/cpu_copies.h"

namespace dcgan {
namespace {

using testing::for_each_cpu_copy;
using testing::relative;

namespace F = torch::nn::functional;

constexpr double kSlope = 0.2;

struct Shape {
  int64_t n, c, h, w;
};
std::ostream& operator<<(std::ostream& os, const Shape& s) {
  return os << s.n << "x" << s.c << "x" << s.h << "x" << s.w;
}

// Channel counts below, at and past the vector widths (4, 8, 16 floats) with remainders, planes
// of fewer pixels than a vector (1x1, 2x3) and of more with a remainder (5x7), a batch of one,
// and the reference networks' shapes at a smaller batch.
const std::vector<Shape> kShapes = {{4, 8, 5, 7},  {3, 20, 4, 4},  {5, 3, 2, 3},  {2, 17, 1, 1},
                                    {1, 33, 3, 5}, {8, 128, 8, 8}, {8, 256, 4, 4}};

// A batch norm as the networks build it (eps 1e-3, momentum 0.01), its weight, bias and running
// statistics away from their defaults, the same for every call with the same seed.
torch::nn::BatchNorm2d make_bn(int64_t channels, uint64_t seed) {
  torch::manual_seed(seed);
  torch::nn::BatchNorm2d bn(torch::nn::BatchNorm2dOptions(channels).eps(1e-3).momentum(0.01));
  torch::NoGradGuard no_grad;
  bn->weight.uniform_(0.5, 1.5);
  bn->bias.uniform_(-0.5, 0.5);
  bn->running_mean.uniform_(-0.1, 0.1);
  bn->running_var.uniform_(0.9, 1.1);
  return bn;
}

// An input with a mean and spread per channel, as a layer's output has.
torch::Tensor input(const Shape& s, torch::MemoryFormat format, torch::ScalarType type) {
  const auto mean = torch::randn({1, s.c, 1, 1});
  const auto spread = torch::rand({1, s.c, 1, 1}) + 0.5;
  return (torch::randn({s.n, s.c, s.h, s.w}) * spread + mean).to(type).contiguous(format);
}

struct Pass {
  torch::Tensor y, gx, gw, gb;
};

// leaky_relu(bn(x)) and its gradients for the upstream gradient g, fused or as LibTorch's layers.
Pass run(torch::nn::BatchNorm2d& bn, const torch::Tensor& x, const torch::Tensor& g, bool fused) {
  const auto xg = x.detach().clone(x.suggest_memory_format()).requires_grad_(true);
  const auto y =
      fused ? batch_norm_leaky_relu(xg, *bn, kSlope)
            : F::leaky_relu(bn->forward(xg), F::LeakyReLUFuncOptions().negative_slope(kSlope));
  const auto grads = torch::autograd::grad({y}, {xg, bn->weight, bn->bias}, {g});
  return {y.detach(), grads[0], grads[1], grads[2]};
}

// Both layouts of shape s, each under a trace naming the shape and layout: x and g drawn with
// `seed` (x in `type`, g in `grad_type`), then check(x, g, format).
template <class Check>
void each_layout(const Shape& s, uint64_t seed, torch::ScalarType type, torch::ScalarType grad_type,
                 const Check& check) {
  for (const auto format : {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast}) {
    SCOPED_TRACE(::testing::Message()
                 << s
                 << (format == torch::MemoryFormat::ChannelsLast ? " channels-last" : " NCHW"));
    torch::manual_seed(seed);
    const auto x = input(s, format, type);
    const auto g = torch::randn(x.sizes()).to(grad_type).contiguous(format);
    check(x, g, format);
  }
}

class BatchNormLeakyReluTest : public ::testing::TestWithParam<Shape> {};

// The output, the three gradients and the running statistics as LibTorch's layers give them, in
// the input's layout: in fp32 to fp32 rounding; in bf16 (autocast leaves batch norm in its input's
// type) a bf16 output and input gradient within bf16 rounding, fp32 gradients of the weight and
// bias.
TEST_P(BatchNormLeakyReluTest, MatchesLibTorchsLayers) {
  const Shape s = GetParam();
  for_each_cpu_copy([&] {
    struct Bounds {
      torch::ScalarType type;
      double y, gx, gw, gb, stats;
    };
    for (const Bounds b :
         {Bounds{torch::kFloat, 1e-5, 1e-4, 1e-4, 1e-5, 1e-6},
          Bounds{torch::kBFloat16, 2.0 / 256, 4.0 / 256, 4.0 / 256, 4.0 / 256, 1e-3}}) {
      each_layout(s, 21, b.type, b.type, [&](auto x, auto g, auto format) {
        auto fused_bn = make_bn(s.c, 5);
        auto plain_bn = make_bn(s.c, 5);
        const Pass fused = run(fused_bn, x, g, true);
        const Pass plain = run(plain_bn, x, g, false);
        EXPECT_EQ(fused.y.scalar_type(), b.type);
        EXPECT_EQ(fused.gx.scalar_type(), b.type);
        EXPECT_EQ(fused.gw.scalar_type(), torch::kFloat);
        EXPECT_TRUE(fused.y.is_contiguous(format));
        EXPECT_TRUE(fused.gx.is_contiguous(format));
        EXPECT_LE(relative(fused.y, plain.y), b.y);
        EXPECT_LE(relative(fused.gx, plain.gx), b.gx);
        EXPECT_LE(relative(fused.gw, plain.gw), b.gw);
        EXPECT_LE(relative(fused.gb, plain.gb), b.gb);
        EXPECT_LE(relative(fused_bn->running_mean, plain_bn->running_mean), b.stats);
        EXPECT_LE(relative(fused_bn->running_var, plain_bn->running_var), b.stats);
        EXPECT_EQ(fused_bn->num_batches_tracked.item<int64_t>(), 1);
        EXPECT_EQ(plain_bn->num_batches_tracked.item<int64_t>(), 1);
      });
    }
  });
}

// In bf16 the arithmetic is fp32's on the same values, each output rounded once: the bf16 pass is
// the fp32 pass on the bf16 values, rounded, bit for bit (as c10::BFloat16 rounds, to nearest
// even); and the weight's and bias's gradients are the same.
TEST_P(BatchNormLeakyReluTest, Bf16RoundsTheFp32ResultsOnce) {
  const Shape s = GetParam();
  for_each_cpu_copy([&] {
    each_layout(s, 23, torch::kBFloat16, torch::kBFloat16, [&](auto x, auto g, auto) {
      auto bn16 = make_bn(s.c, 7);
      auto bn32 = make_bn(s.c, 7);
      const Pass p16 = run(bn16, x, g, true);
      const Pass p32 = run(bn32, x.to(torch::kFloat), g.to(torch::kFloat), true);
      EXPECT_TRUE(torch::equal(p16.y, p32.y.to(torch::kBFloat16)));
      EXPECT_TRUE(torch::equal(p16.gx, p32.gx.to(torch::kBFloat16)));
      EXPECT_TRUE(torch::equal(p16.gw, p32.gw));
      EXPECT_TRUE(torch::equal(p16.gb, p32.gb));
      EXPECT_TRUE(torch::equal(bn16->running_var, bn32->running_var));
    });
  });
}

INSTANTIATE_TEST_SUITE_P(Shapes, BatchNormLeakyReluTest, ::testing::ValuesIn(kShapes));

// The sums run in fixed blocks: the same results, bit for bit, on one thread and on two.
TEST(BatchNormLeakyReluFixedTest, ResultsDoNotDependOnTheThreadCount) {
  const int threads = at::get_num_threads();
  for (const auto format : {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast}) {
    torch::manual_seed(24);
    const Shape s{16, 64, 8, 8};
    const auto x = input(s, format, torch::kFloat);
    const auto g = torch::randn(x.sizes()).contiguous(format);
    std::vector<Pass> passes;
    for (const int n : {1, 2}) {
      at::set_num_threads(n);
      auto bn = make_bn(s.c, 8);
      passes.push_back(run(bn, x, g, true));
    }
    at::set_num_threads(threads);
    EXPECT_TRUE(torch::equal(passes[0].y, passes[1].y));
    EXPECT_TRUE(torch::equal(passes[0].gx, passes[1].gx));
    EXPECT_TRUE(torch::equal(passes[0].gw, passes[1].gw));
  }
}

// A frozen batch norm (the G step's D): only the input's gradient, the same as with all three.
TEST(BatchNormLeakyReluFixedTest, InputGradientAlone) {
  torch::manual_seed(25);
  const Shape s{4, 16, 4, 4};
  const auto x = input(s, torch::MemoryFormat::ChannelsLast, torch::kFloat).requires_grad_(true);
  const auto g = torch::randn(x.sizes());
  auto bn = make_bn(s.c, 9);
  auto frozen = make_bn(s.c, 9);
  frozen->weight.requires_grad_(false);
  frozen->bias.requires_grad_(false);
  const auto all = torch::autograd::grad({batch_norm_leaky_relu(x, *bn, kSlope)}, {x}, {g})[0];
  const auto alone =
      torch::autograd::grad({batch_norm_leaky_relu(x, *frozen, kSlope)}, {x}, {g})[0];
  EXPECT_TRUE(torch::equal(all, alone));
}

// Where it does not compute the layer: evaluation, no affine weights, no running statistics or
// momentum, one value per channel, a type other than fp32 and bf16, the wrong channel count.
TEST(BatchNormLeakyReluFixedTest, AppliesOnlyWhereItComputesTheLayer) {
  auto bn = make_bn(4, 10);
  const auto x = torch::randn({2, 4, 3, 3});
  EXPECT_TRUE(batch_norm_leaky_relu_applies(x, *bn));
  EXPECT_TRUE(batch_norm_leaky_relu_applies(x.to(torch::kBFloat16), *bn));
  EXPECT_FALSE(batch_norm_leaky_relu_applies(x.to(torch::kDouble), *bn));
  EXPECT_FALSE(batch_norm_leaky_relu_applies(torch::randn({2, 5, 3, 3}), *bn));
  EXPECT_FALSE(batch_norm_leaky_relu_applies(torch::randn({1, 4, 1, 1}), *bn));
  EXPECT_FALSE(batch_norm_leaky_relu_applies(torch::randn({2, 4, 3}), *bn));
  EXPECT_THROW(batch_norm_leaky_relu(torch::randn({1, 4, 1, 1}), *bn, kSlope), c10::Error);
  bn->eval();
  EXPECT_FALSE(batch_norm_leaky_relu_applies(x, *bn));
  EXPECT_THROW(batch_norm_leaky_relu(x, *bn, kSlope), c10::Error);
  torch::nn::BatchNorm2d no_affine(torch::nn::BatchNorm2dOptions(4).affine(false));
  EXPECT_FALSE(batch_norm_leaky_relu_applies(x, *no_affine));
  torch::nn::BatchNorm2d no_stats(torch::nn::BatchNorm2dOptions(4).track_running_stats(false));
  EXPECT_FALSE(batch_norm_leaky_relu_applies(x, *no_stats));
  torch::nn::BatchNorm2d cumulative(torch::nn::BatchNorm2dOptions(4).momentum(c10::nullopt));
  EXPECT_FALSE(batch_norm_leaky_relu_applies(x, *cumulative));
}

}  // namespace
}  // namespace dcgan
