#include "dcgan/model/thin_conv_transpose.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cstdint>
#include <vector>

#include "testing/conv_checks.h"
#include "testing/cpu_copies.h"

namespace dcgan {
namespace {

using testing::for_each_cpu_copy;
using testing::relative;

namespace F = torch::nn::functional;

using Case = testing::LayerCase;

// G's last layer (128 -> 3 at 16x16; 128 -> 1 for grey images), D's first read the other way
// (64 -> 3), channel counts below, at and past the vector widths (4, 8 and 16 floats) with a
// remainder, every output count up to 4, and inputs too small for a group of 4 pixels (1x1, 2x3)
// or with pixels left over past the groups (5x4).
const std::vector<Case> kCases = {
    {128, 3, 16, 16, 2}, {128, 1, 16, 16, 1}, {64, 3, 16, 16, 2}, {1, 1, 1, 1, 1},
    {3, 2, 2, 3, 2},     {17, 4, 5, 4, 3},    {20, 3, 16, 16, 1}, {33, 2, 4, 8, 2},
};

torch::Tensor transposed(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  return F::conv_transpose2d(
      x, w, F::ConvTranspose2dFuncOptions().stride(2).padding(2).output_padding(1).bias(b));
}

torch::Tensor conv(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  return F::conv2d(x, w, F::Conv2dFuncOptions().stride(2).padding(2).bias(b));
}

// LibTorch's own fp32 kernels reach about 5e-7 on these cases; the direct sums run along the input
// channels in another order, no further from float64.
constexpr double kBound = 2e-6;
// In bf16 the direct form rounds its fp32 sums once (2^-8 relative at most); LibTorch's bf16
// kernels, which give the other gradients, stay within a few such roundings.
constexpr double kBf16Bound = 4.0 / 256;

// The layer (x, w, b) -> y, on a random input (c.batch, c.in, c.h, c.w) in `format` and `type`,
// with and without a bias, against `exact` on the same values in float64: the output, of `sizes`
// and `type`, and its gradients in x, w and b; y and the input gradient in x's layout (as LibTorch
// reads it: a tensor of one channel, or of 1x1 pixels, is both).
template <class Layer, class Exact>
void expect_float64_sums(const Case& c, const std::vector<int64_t>& weight_sizes,
                         const std::vector<int64_t>& sizes, torch::MemoryFormat format, Layer layer,
                         Exact exact, torch::ScalarType type = torch::kFloat) {
  const double bound = type == torch::kFloat ? kBound : kBf16Bound;
  for (const bool with_bias : {true, false}) {
    SCOPED_TRACE(::testing::Message()
                 << c << (with_bias ? " with" : " without") << " bias, "
                 << (format == torch::MemoryFormat::ChannelsLast ? "channels-last" : "NCHW") << ", "
                 << type);
    auto x =
        torch::randn({c.batch, c.in, c.h, c.w}).to(type).contiguous(format).requires_grad_(true);
    auto w = (torch::randn(weight_sizes) * 0.1).to(type).requires_grad_(true);
    auto b = with_bias ? torch::randn({sizes[1]}).to(type).requires_grad_(true) : torch::Tensor();
    const auto layout = x.suggest_memory_format();
    auto y = layer(x, w, b);
    ASSERT_EQ(y.sizes(), sizes);
    EXPECT_EQ(y.scalar_type(), type);
    EXPECT_TRUE(y.is_contiguous(layout));
    auto g = torch::randn_like(y);
    std::vector<torch::Tensor> inputs = {x, w};
    if (with_bias) inputs.push_back(b);
    auto grads = torch::autograd::grad({y}, inputs, {g});
    EXPECT_TRUE(grads[0].is_contiguous(layout));

    std::vector<torch::Tensor> inputs64;
    for (const auto& t : inputs)
      inputs64.push_back(t.detach().to(torch::kDouble).requires_grad_(true));
    auto y64 = exact(inputs64[0], inputs64[1], with_bias ? inputs64[2] : torch::Tensor());
    auto grads64 = torch::autograd::grad({y64}, inputs64, {g.to(torch::kDouble)});

    EXPECT_LT(relative(y, y64), bound);
    const char* names[] = {"input", "weight", "bias"};
    for (size_t i = 0; i < grads.size(); ++i) {
      EXPECT_EQ(grads[i].scalar_type(), type) << names[i] << " gradient";
      EXPECT_LT(relative(grads[i], grads64[i]), bound) << names[i] << " gradient";
    }
  }
}

class ThinConvTransposeTest : public ::testing::TestWithParam<Case> {};

// The direct transposed layer against float64 sums: the output and all three gradients.
TEST_P(ThinConvTransposeTest, MatchesConvTranspose2dToFloatRounding) {
  const Case c = GetParam();
  for_each_cpu_copy([&] {
    for (const auto format : {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast}) {
      torch::manual_seed(11);
      expect_float64_sums(c, {c.in, c.out, 5, 5}, {c.batch, c.out, 2 * c.h, 2 * c.w}, format,
                          thin_layer_conv_transpose, transposed);
    }
  });
}

// In bf16 (the GEMM form's narrow layers under bf16 autocast): the same, within bf16 rounding.
// Only with LibTorch 2, the one that runs it (gemm_conv.h): the layer's gradients are LibTorch's
// bf16 kernels, and 1.13's fail on some CPUs ("could not create a descriptor for a dilated
// convolution"). The bf16 forward kernel, dcgan's own, is checked on 1.13 too (next test).
TEST_P(ThinConvTransposeTest, Bf16MatchesConvTranspose2dToBf16Rounding) {
  if (TORCH_VERSION_MAJOR < 2) GTEST_SKIP() << "LibTorch 1.13 never runs the direct form in bf16";
  const Case c = GetParam();
  for_each_cpu_copy([&] {
    for (const auto format : {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast}) {
      torch::manual_seed(15);
      expect_float64_sums(c, {c.in, c.out, 5, 5}, {c.batch, c.out, 2 * c.h, 2 * c.w}, format,
                          thin_layer_conv_transpose, transposed, torch::kBFloat16);
    }
  });
}

// The bf16 kernel is the fp32 kernel on the operands' values, its output rounded to bf16 once:
// bit for bit.
TEST_P(ThinConvTransposeTest, Bf16KernelRoundsTheFp32SumsOnce) {
  const Case c = GetParam();
  for_each_cpu_copy([&] {
    torch::manual_seed(16);
    const auto x = torch::randn({c.batch, c.in, c.h, c.w}).to(torch::kBFloat16);
    const auto w = (torch::randn({c.in, c.out, 5, 5}) * 0.1).to(torch::kBFloat16);
    const auto b = torch::randn({c.out}).to(torch::kBFloat16);
    const auto y = thin_conv_transpose(x, w, b);
    EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(y.is_contiguous(torch::MemoryFormat::ChannelsLast));
    const auto y32 =
        thin_conv_transpose(x.to(torch::kFloat), w.to(torch::kFloat), b.to(torch::kFloat));
    EXPECT_TRUE(torch::equal(y, y32.to(torch::kBFloat16)));
  });
}

// The forward kernel alone, with no autograd: the same output, in channels-last layout.
TEST_P(ThinConvTransposeTest, ForwardKernelIsChannelsLast) {
  const Case c = GetParam();
  torch::manual_seed(12);
  const auto x = torch::randn({c.batch, c.in, c.h, c.w});
  const auto w = torch::randn({c.in, c.out, 5, 5}) * 0.1;
  const auto b = torch::randn({c.out});
  const auto y = thin_conv_transpose(x, w, b);
  EXPECT_TRUE(y.is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_LT(
      relative(y, transposed(x.to(torch::kDouble), w.to(torch::kDouble), b.to(torch::kDouble))),
      kBound);
}

INSTANTIATE_TEST_SUITE_P(Shapes, ThinConvTransposeTest, ::testing::ValuesIn(kCases));

// The convolution whose input gradient is the thin transposed layer: D's first layer (3 -> 64 at
// 32x32; 1 -> 64 for grey images) and narrow odd shapes. Sizes are the convolution's input, whose
// height and width are even; "in" is the convolution's input channels (the thin side).
class ThinConvTest : public ::testing::TestWithParam<Case> {};

TEST_P(ThinConvTest, MatchesConv2dToFloatRounding) {
  const Case c = GetParam();
  for_each_cpu_copy([&] {
    for (const auto format : {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast}) {
      torch::manual_seed(13);
      expect_float64_sums(c, {c.out, c.in, 5, 5}, {c.batch, c.out, c.h / 2, c.w / 2}, format,
                          thin_layer_conv, conv);
    }
  });
}

TEST_P(ThinConvTest, Bf16MatchesConv2dToBf16Rounding) {
  const Case c = GetParam();
  for_each_cpu_copy([&] {
    for (const auto format : {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast}) {
      torch::manual_seed(17);
      expect_float64_sums(c, {c.out, c.in, 5, 5}, {c.batch, c.out, c.h / 2, c.w / 2}, format,
                          thin_layer_conv, conv, torch::kBFloat16);
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Shapes, ThinConvTest,
                         ::testing::ValuesIn(std::vector<Case>{{3, 64, 32, 32, 2},
                                                               {1, 64, 32, 32, 1},
                                                               {2, 5, 2, 2, 1},
                                                               {4, 17, 10, 6, 3},
                                                               {3, 40, 4, 12, 2}}));

// D's first layer on real images: no gradient for the input, only for the weight and bias; and
// the G step's view, D frozen: only the input's.
TEST(ThinConvTest, PartialGradients) {
  torch::manual_seed(14);
  const auto x = torch::randn({2, 3, 8, 8});
  auto w = (torch::randn({16, 3, 5, 5}) * 0.1).requires_grad_(true);
  auto b = torch::randn({16}).requires_grad_(true);
  const auto expected = conv(x, w, b);
  const auto y = thin_layer_conv(x, w, b);
  EXPECT_TRUE(torch::allclose(y, expected, 1e-5, 1e-6));
  const auto g = torch::autograd::grad({y.square().sum()}, {w, b});
  const auto e = torch::autograd::grad({expected.square().sum()}, {w, b});
  EXPECT_TRUE(torch::allclose(g[0], e[0], 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(g[1], e[1], 1e-4, 1e-4));

  auto xg = x.clone().requires_grad_(true);
  const auto wf = w.detach(), bf = b.detach();
  const auto gx = torch::autograd::grad({thin_layer_conv(xg, wf, bf).square().sum()}, {xg})[0];
  const auto ex = torch::autograd::grad({conv(xg, wf, bf).square().sum()}, {xg})[0];
  EXPECT_TRUE(torch::allclose(gx, ex, 1e-4, 1e-5));
}

TEST(ThinConvTransposeTest, AppliesOnlyWhereItComputesTheLayer) {
  const auto x = torch::zeros({1, 128, 4, 4});
  const auto w = torch::zeros({128, 3, 5, 5});
  EXPECT_TRUE(thin_conv_transpose_applies(x, w));
  EXPECT_TRUE(thin_conv_transpose_applies(torch::zeros({1, 128, 3, 5}), w));  // any size
  EXPECT_TRUE(thin_conv_transpose_applies(x, torch::zeros({128, 4, 5, 5})));
  EXPECT_FALSE(thin_conv_transpose_applies(x, torch::zeros({128, 5, 5, 5})));  // 5 outputs
  EXPECT_FALSE(thin_conv_transpose_applies(x, torch::zeros({128, 3, 4, 4})));  // 4x4 kernel
  EXPECT_FALSE(thin_conv_transpose_applies(x, torch::zeros({64, 3, 5, 5})));   // channels mismatch
  EXPECT_FALSE(thin_conv_transpose_applies(x.to(torch::kDouble), w.to(torch::kDouble)));
  EXPECT_TRUE(thin_conv_transpose_applies(x.to(torch::kBFloat16), w.to(torch::kBFloat16)));
  EXPECT_FALSE(thin_conv_transpose_applies(x.to(torch::kBFloat16), w));  // types differ
  EXPECT_FALSE(thin_conv_transpose_applies(x, w.to(torch::kBFloat16)));
  EXPECT_THROW(thin_conv_transpose(x, torch::zeros({128, 5, 5, 5}), torch::Tensor()), c10::Error);
  EXPECT_THROW(thin_conv_transpose(x, w, torch::zeros({4})), c10::Error);  // bias of 3 outputs
  EXPECT_THROW(thin_conv_transpose(x, w, torch::zeros({3}, torch::kDouble)), c10::Error);
  EXPECT_THROW(thin_conv_transpose(x, w, torch::zeros({3}, torch::kBFloat16)), c10::Error);
  EXPECT_THROW(thin_conv_transpose(x.to(torch::kBFloat16), w, torch::Tensor()), c10::Error);
  EXPECT_NO_THROW(thin_conv_transpose(x, w, torch::zeros({3})));
  EXPECT_THROW(
      thin_layer_conv_transpose(x.to(torch::kDouble), w.to(torch::kDouble), torch::Tensor()),
      c10::Error);
}

TEST(ThinConvTest, AppliesOnlyWhereItComputesTheLayer) {
  const auto x = torch::zeros({1, 3, 32, 32});
  const auto w = torch::zeros({64, 3, 5, 5});
  EXPECT_TRUE(thin_conv_applies(x, w));
  EXPECT_TRUE(thin_conv_applies(torch::zeros({1, 4, 2, 6}), torch::zeros({8, 4, 5, 5})));
  EXPECT_FALSE(thin_conv_applies(torch::zeros({1, 3, 31, 32}), w));  // odd height
  EXPECT_FALSE(thin_conv_applies(torch::zeros({1, 3, 32, 31}), w));  // odd width
  EXPECT_FALSE(thin_conv_applies(torch::zeros({1, 5, 32, 32}), torch::zeros({64, 5, 5, 5})));
  EXPECT_FALSE(thin_conv_applies(x, torch::zeros({64, 3, 4, 4})));   // 4x4 kernel
  EXPECT_FALSE(thin_conv_applies(torch::zeros({1, 1, 32, 32}), w));  // channels mismatch
  EXPECT_FALSE(thin_conv_applies(x.to(torch::kDouble), w.to(torch::kDouble)));
  EXPECT_TRUE(thin_conv_applies(x.to(torch::kBFloat16), w.to(torch::kBFloat16)));
  EXPECT_FALSE(thin_conv_applies(x.to(torch::kBFloat16), w));  // types differ
  EXPECT_THROW(thin_layer_conv(torch::zeros({1, 3, 31, 32}), w, torch::Tensor()), c10::Error);
}

}  // namespace
}  // namespace dcgan
