#include "dcgan/model/winograd_conv_transpose.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <ostream>
#include <vector>

#include "dcgan/model/networks.h"
#include "dcgan/model/precision.h"
#include "dcgan/model/thin_conv_transpose.h"
#include "testing/conv_checks.h"
#include "testing/cpu_copies.h"

namespace dcgan {
namespace {

using testing::for_each_cpu_copy;
using testing::relative;

namespace F = torch::nn::functional;

using Case = testing::LayerCase;

// The generator's two wide layers at a small batch, then channel counts below, at and past the
// 64-channel blocks the transforms work in, non-square inputs and a single 2x2 tile. (The layer
// itself is only used for 64 outputs and more; the arithmetic holds for any.)
// The first three and the last three also fit tiles of 4.
const std::vector<Case> kCases = {
    {512, 256, 4, 4, 2}, {256, 128, 8, 8, 2}, {128, 3, 16, 16, 2}, {3, 5, 2, 2, 1},
    {5, 7, 4, 6, 3},     {64, 64, 6, 4, 2},   {70, 130, 2, 4, 2},  {1, 1, 8, 2, 1},
    {5, 7, 4, 8, 3},     {70, 130, 4, 4, 2},  {1, 1, 12, 4, 1},
};

torch::Tensor reference(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  return F::conv_transpose2d(
      x, w, F::ConvTranspose2dFuncOptions().stride(2).padding(2).output_padding(1).bias(b));
}

// The bound on the largest difference from float64 sums, relative to the largest value: with tiles
// of 2 about LibTorch's own fp32 kernel's (the cases below reach 7e-7); with tiles of 4, whose
// transforms' coefficients reach 8 and 16/15, several times that (they reach 5.7e-6), still
// several hundred times below bf16's rounding.
double bound(int64_t tile) { return tile == 4 ? 1e-5 : 2e-6; }

// The tiles a case is tested with: 2, and 4 where its transposed layer's input fits them.
std::vector<int64_t> tiles_for(int64_t h, int64_t w) {
  std::vector<int64_t> tiles = {2};
  if (h % 4 == 0 && w % 4 == 0) tiles.push_back(4);
  return tiles;
}

// The layer (x, b) -> y with weight w, on a random input (c.batch, c.in, c.h, c.w) and bias,
// against `exact` (x, w, b) -> y on the same values in float64: the output, of `sizes`, and all
// three gradients within bound(tile).
template <class Layer, class Exact>
void expect_float64_sums(const Case& c, int64_t tile, const torch::Tensor& w,
                         const std::vector<int64_t>& sizes, Layer layer, Exact exact) {
  auto x = torch::randn({c.batch, c.in, c.h, c.w}).requires_grad_(true);
  auto b = torch::randn({sizes[1]}).requires_grad_(true);
  auto y = layer(x, b);
  ASSERT_EQ(y.sizes(), sizes);
  auto g = torch::randn_like(y);
  auto grads = torch::autograd::grad({y}, {x, w, b}, {g});

  auto x64 = x.detach().to(torch::kDouble).requires_grad_(true);
  auto w64 = w.detach().to(torch::kDouble).requires_grad_(true);
  auto b64 = b.detach().to(torch::kDouble).requires_grad_(true);
  auto y64 = exact(x64, w64, b64);
  auto grads64 = torch::autograd::grad({y64}, {x64, w64, b64}, {g.to(torch::kDouble)});

  EXPECT_LT(relative(y, y64), bound(tile)) << c << " tile " << tile;
  const char* names[] = {"input", "weight", "bias"};
  for (int i = 0; i < 3; ++i) {
    EXPECT_LT(relative(grads[i], grads64[i]), bound(tile))
        << c << " tile " << tile << " " << names[i] << " gradient";
  }
}

class WinogradTest : public ::testing::TestWithParam<Case> {};

// Against the direct sums in float64 the Winograd form is as close as LibTorch's fp32 kernel, in
// the output and in all three gradients (the same sums, rounded differently), in tiles of 2 and 4.
TEST_P(WinogradTest, MatchesConvTranspose2dToFloatRounding) {
  const Case c = GetParam();
  for_each_cpu_copy([&] {
    for (const int64_t tile : tiles_for(c.h, c.w)) {
      torch::manual_seed(3);
      auto w = (torch::randn({c.in, c.out, 5, 5}) * 0.1).requires_grad_(true);
      expect_float64_sums(
          c, tile, w, {c.batch, c.out, 2 * c.h, 2 * c.w},
          [&](const torch::Tensor& x, const torch::Tensor& b) {
            return winograd_conv_transpose(x, w, b, tile);
          },
          reference);
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Shapes, WinogradTest, ::testing::ValuesIn(kCases));

// D's stride-2 convolution the same way (as the transposed layer read the other way), against
// direct float64 sums, for D's wide layer, the narrower ones it is not used for, and odd shapes.
class WinogradConvTest : public ::testing::TestWithParam<Case> {};

TEST_P(WinogradConvTest, MatchesConv2dToFloatRounding) {
  const Case c = GetParam();
  for_each_cpu_copy([&] {
    for (const int64_t tile : tiles_for(c.h / 2, c.w / 2)) {
      torch::manual_seed(7);
      auto w = (torch::randn({c.out, c.in, 5, 5}) * 0.1).requires_grad_(true);
      expect_float64_sums(
          c, tile, w, {c.batch, c.out, c.h / 2, c.w / 2},
          [&](const torch::Tensor& x, const torch::Tensor& b) {
            return winograd_conv(x, w, b, tile);
          },
          [](const torch::Tensor& x, const torch::Tensor& w64, const torch::Tensor& b) {
            return F::conv2d(x, w64, F::Conv2dFuncOptions().stride(2).padding(2).bias(b));
          });
    }
  });
}

// Sizes are the convolution's input: D's 128 -> 256 at 8x8 and 64 -> 128 at 16x16, its first
// layer, and odd channel counts, non-square inputs and a single 2x2 output tile.
INSTANTIATE_TEST_SUITE_P(Shapes, WinogradConvTest,
                         ::testing::ValuesIn(std::vector<Case>{{128, 256, 8, 8, 2},
                                                               {64, 128, 16, 16, 2},
                                                               {3, 64, 32, 32, 1},
                                                               {5, 7, 8, 12, 3},
                                                               {130, 70, 4, 8, 2},
                                                               {1, 1, 4, 4, 1},
                                                               {5, 7, 8, 16, 3},
                                                               {130, 70, 8, 8, 2}}));

// In a channels-last input, and without gradients for the input (D's first layer on real
// images) or for the weight (the G step, D frozen): the same results.
TEST(WinogradConvTest, LayoutsAndPartialGradients) {
  torch::manual_seed(8);
  auto x = torch::randn({2, 128, 8, 8});
  auto w = (torch::randn({16, 128, 5, 5}) * 0.1).requires_grad_(true);
  auto b = torch::randn({16});
  const auto expected = F::conv2d(x, w, F::Conv2dFuncOptions().stride(2).padding(2).bias(b));
  auto y = winograd_conv(x.contiguous(torch::MemoryFormat::ChannelsLast), w, b);
  EXPECT_TRUE(torch::allclose(y, expected, 1e-4, 1e-5));
  const auto gw = torch::autograd::grad({y.square().sum()}, {w})[0];
  const auto ew = torch::autograd::grad({expected.square().sum()}, {w})[0];
  EXPECT_TRUE(torch::allclose(gw, ew, 1e-4, 1e-3));

  auto xg = x.clone().requires_grad_(true);
  const auto wf = w.detach();
  const auto gx = torch::autograd::grad({winograd_conv(xg, wf, b).square().sum()}, {xg})[0];
  const auto ex = torch::autograd::grad(
      {F::conv2d(xg, wf, F::Conv2dFuncOptions().stride(2).padding(2).bias(b)).square().sum()},
      {xg})[0];
  EXPECT_TRUE(torch::allclose(gx, ex, 1e-4, 1e-4));
}

TEST(WinogradConvTest, AppliesOnlyToWideInputs) {
  const auto x = torch::zeros({1, 128, 8, 8});
  const auto w = torch::zeros({256, 128, 5, 5});
  EXPECT_TRUE(winograd_conv_applies(x, w));
  EXPECT_TRUE(winograd_conv_applies(torch::zeros({1, 64, 16, 16}), torch::zeros({128, 64, 5, 5})));
  EXPECT_FALSE(winograd_conv_applies(torch::zeros({1, 32, 16, 16}), torch::zeros({64, 32, 5, 5})));
  EXPECT_FALSE(winograd_conv_applies(torch::zeros({1, 128, 7, 8}), w));  // odd height
  EXPECT_FALSE(winograd_conv_applies(torch::zeros({1, 128, 8, 6}), w));  // odd output width
  EXPECT_FALSE(winograd_conv_applies(torch::zeros({1, 256, 8, 8}), w));  // channels mismatch
  {
    torch::NoGradGuard no_grad;
    EXPECT_FALSE(winograd_conv_applies(x, w));
  }
  Bf16Autocast autocast(true, at::kCPU, /*emulate=*/false);
  EXPECT_FALSE(winograd_conv_applies(x, w));
}

// The discriminator with G's kind winograd holds LibTorch's layers and gives their outputs and
// gradients: the reference D's c2 (64 -> 128) and c3 (128 -> 256) are computed the Winograd way,
// c1 (3 -> 64) by LibTorch with its input gradient the thin way (thin_conv_transpose.h).
TEST(WinogradConvTest, DiscriminatorMatchesTheNativeOne) {
  ModelOptions options;
  torch::manual_seed(9);
  Discriminator native(options, 3, UpconvKind::kNative);
  Discriminator winograd(options, 3, UpconvKind::kWinograd);
  ASSERT_TRUE(winograd_conv_applies(torch::zeros({4, 128, 8, 8}),
                                    winograd->named_parameters()["c3.weight"]));
  ASSERT_TRUE(winograd_conv_applies(torch::zeros({4, 64, 16, 16}),
                                    winograd->named_parameters()["c2.weight"]));
  ASSERT_FALSE(winograd_conv_applies(torch::zeros({4, 3, 32, 32}),
                                     winograd->named_parameters()["c1.weight"]));
  ASSERT_TRUE(
      thin_conv_applies(torch::zeros({4, 3, 32, 32}), winograd->named_parameters()["c1.weight"]));
  {
    torch::NoGradGuard no_grad;
    auto from = native->named_parameters();
    ASSERT_EQ(from.size(), winograd->named_parameters().size());
    for (auto& p : winograd->named_parameters()) p.value().copy_(from[p.key()]);
  }
  auto x = (torch::rand({4, 3, 32, 32}) * 2 - 1).requires_grad_(true);
  auto a = native->forward(x);
  auto b = winograd->forward(x);
  EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-5));
  auto na = native->named_parameters();
  auto nb = winograd->named_parameters();
  auto ga = torch::autograd::grad({a.square().sum()},
                                  {x, na["c1.weight"], na["c2.weight"], na["c3.weight"]});
  auto gb = torch::autograd::grad({b.square().sum()},
                                  {x, nb["c1.weight"], nb["c2.weight"], nb["c3.weight"]});
  for (size_t i = 0; i < ga.size(); ++i) {
    EXPECT_LT((ga[i] - gb[i]).abs().max().item<double>(), 1e-4 * ga[i].abs().max().item<double>())
        << i;
  }
}

// Scratch buffers are reused between calls: two graphs alive at once, then their backward passes
// in the other order, must each get their own gradients.
TEST(WinogradConvTransposeTest, GraphsAliveTogetherKeepTheirOwnBuffers) {
  torch::manual_seed(4);
  auto w = (torch::randn({16, 128, 5, 5}) * 0.1).requires_grad_(true);
  auto b = torch::randn({128}).requires_grad_(true);
  auto x1 = torch::randn({2, 16, 4, 4});
  auto x2 = torch::randn({2, 16, 4, 4});
  auto y1 = winograd_conv_transpose(x1, w, b);
  auto y2 = winograd_conv_transpose(x2, w, b);
  auto g2 = torch::autograd::grad({y2.sum()}, {w})[0];
  auto g1 = torch::autograd::grad({y1.square().sum()}, {w})[0];
  auto e1 = torch::autograd::grad({reference(x1, w, b).square().sum()}, {w})[0];
  auto e2 = torch::autograd::grad({reference(x2, w, b).sum()}, {w})[0];
  EXPECT_TRUE(torch::allclose(g1, e1, 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(g2, e2, 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(y1, reference(x1, w, b), 1e-4, 1e-5));
}

// Scratch lives within one forward or backward call, and the weight's transform from a forward
// pass to its backward pass, so what the layer keeps does not grow with the steps: after the first
// step, more steps take no more, and the first took no more than one call's two largest buffers (a
// transformed input and a product of 36 positions, tiles of 4), the weight's transform and its
// gradient (121 positions each). Two graphs alive at once take one more weight transform, and two
// again no more than that.
TEST(WinogradConvTransposeTest, ScratchDoesNotGrowWithSteps) {
  torch::manual_seed(6);
  const int64_t n = 32, c = 96, co = 128, h = 8;  // larger than the other tests' buffers
  auto w = (torch::randn({c, co, 5, 5}) * 0.1).requires_grad_(true);
  auto b = torch::randn({co}).requires_grad_(true);
  auto x = torch::randn({n, c, h, h}).requires_grad_(true);
  const int64_t before = winograd_scratch_bytes();
  winograd_conv_transpose(x, w, b).square().sum().backward();
  const int64_t first = winograd_scratch_bytes();
  ASSERT_EQ(winograd_tile(h, h, /*transposed=*/true), 4);
  const int64_t tiles = n * (h / 4) * (h / 4), transform = 121 * c * co * 4;
  EXPECT_LE(first - before, 36 * tiles * (c + co) * 4 + 2 * transform);
  for (int step = 0; step < 3; ++step) winograd_conv_transpose(x, w, b).sum().backward();
  EXPECT_EQ(winograd_scratch_bytes(), first);
  for (int round = 0; round < 2; ++round) {
    auto y1 = winograd_conv_transpose(x, w, b);
    auto y2 = winograd_conv_transpose(x * 2, w, b);
    (y1.sum() + y2.square().sum()).backward();
    EXPECT_LE(winograd_scratch_bytes(), first + transform) << "round " << round;
  }
}

// Tiles of 4 wherever the transposed layer's input sides are multiples of 4 (all of the reference
// networks' wide layers), of 2 elsewhere; a tile that does not fit is refused.
TEST(WinogradConvTransposeTest, TakesTilesOfFourWhereTheyFit) {
  EXPECT_EQ(winograd_tile(4, 4, /*transposed=*/true), 4);   // G's 512 -> 256
  EXPECT_EQ(winograd_tile(8, 8, true), 4);                  // G's 256 -> 128
  EXPECT_EQ(winograd_tile(8, 8, /*transposed=*/false), 4);  // D's 128 -> 256
  EXPECT_EQ(winograd_tile(16, 16, false), 4);
  EXPECT_EQ(winograd_tile(2, 4, true), 2);
  EXPECT_EQ(winograd_tile(6, 4, true), 2);
  EXPECT_EQ(winograd_tile(4, 4, false), 2);
  EXPECT_EQ(winograd_tile(12, 8, false), 2);
  const auto w = torch::zeros({4, 8, 5, 5});
  EXPECT_THROW(winograd_conv_transpose(torch::zeros({1, 4, 2, 4}), w, torch::Tensor(), 4),
               c10::Error);
  EXPECT_THROW(winograd_conv_transpose(torch::zeros({1, 4, 4, 4}), w, torch::Tensor(), 3),
               c10::Error);
  EXPECT_THROW(winograd_conv(torch::zeros({1, 8, 4, 4}), w, torch::Tensor(), 4), c10::Error);
}

TEST(WinogradConvTransposeTest, AppliesOnlyWhereItComputesTheLayer) {
  const auto w = torch::zeros({4, 128, 5, 5});
  const auto x = torch::zeros({1, 4, 4, 4});
  EXPECT_TRUE(winograd_conv_transpose_applies(x, w));
  EXPECT_FALSE(winograd_conv_transpose_applies(torch::zeros({1, 4, 5, 4}), w));  // odd height
  EXPECT_FALSE(winograd_conv_transpose_applies(x.to(torch::kDouble), w.to(torch::kDouble)));
  EXPECT_FALSE(winograd_conv_transpose_applies(x, torch::zeros({4, 128, 4, 4})));  // 4x4 kernel
  EXPECT_TRUE(winograd_conv_transpose_applies(x, torch::zeros({4, 64, 5, 5})));
  EXPECT_FALSE(winograd_conv_transpose_applies(x, torch::zeros({4, 32, 5, 5})));  // narrow
  {
    torch::NoGradGuard no_grad;  // sampling
    EXPECT_FALSE(winograd_conv_transpose_applies(x, w));
  }
  Bf16Autocast autocast(true, at::kCPU, /*emulate=*/false);
  EXPECT_FALSE(winograd_conv_transpose_applies(x, w));
}

// The generator with model.upconv: winograd holds LibTorch's layers (same parameters and names)
// and gives their outputs and gradients.
TEST(WinogradConvTransposeTest, GeneratorMatchesTheNativeOne) {
  ModelOptions options;
  options.g_channels = 256;  // t2 (256 -> 128) and t3 (128 -> 64) the Winograd way, t4 (64 -> 3)
                             // the thin way
  torch::manual_seed(5);
  Generator native(options, 3, UpconvKind::kNative);
  Generator winograd(options, 3, UpconvKind::kWinograd);
  ASSERT_TRUE(winograd_conv_transpose_applies(torch::zeros({4, 256, 4, 4}),
                                              winograd->named_parameters()["t2.weight"]));
  ASSERT_TRUE(winograd_conv_transpose_applies(torch::zeros({4, 128, 8, 8}),
                                              winograd->named_parameters()["t3.weight"]));
  ASSERT_FALSE(winograd_conv_transpose_applies(torch::zeros({4, 64, 16, 16}),
                                               winograd->named_parameters()["t4.weight"]));
  ASSERT_TRUE(thin_conv_transpose_applies(torch::zeros({4, 64, 16, 16}),
                                          winograd->named_parameters()["t4.weight"]));
  {
    torch::NoGradGuard no_grad;
    auto from = native->named_parameters();
    ASSERT_EQ(from.size(), winograd->named_parameters().size());
    for (auto& p : winograd->named_parameters()) p.value().copy_(from[p.key()]);
  }
  auto z = sample_noise(4, 100, torch::kCPU);
  auto a = native->forward(z);
  auto b = winograd->forward(z);
  EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-5));
  a.square().sum().backward();
  b.square().sum().backward();
  for (const char* name : {"t2.weight", "t3.weight", "t4.weight", "t4.bias"}) {
    auto wn = native->named_parameters()[name].grad();
    auto ww = winograd->named_parameters()[name].grad();
    EXPECT_LT((wn - ww).abs().max().item<double>(), 1e-4 * wn.abs().max().item<double>()) << name;
  }
}

}  // namespace
}  // namespace dcgan
