#include "dcgan/model/gemm_conv.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "dcgan/model/networks.h"
#include "dcgan/model/precision.h"
#include "testing/conv_checks.h"
#include "testing/cpu_copies.h"

namespace dcgan {
namespace {

using testing::for_each_cpu_copy;
using testing::relative;

namespace F = torch::nn::functional;

// small: the transposed convolution's input, the convolution's output (the large grid is twice
// its size).
struct Case {
  bool transposed;
  int64_t in, out, h, w, batch;
};
std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << (c.transposed ? "transposed" : "conv") << " {in " << c.in << ", out " << c.out
            << ", small grid " << c.h << "x" << c.w << ", batch " << c.batch << "}";
}

// The networks' wide layers at a small batch, then narrow, non-square and single-pixel grids,
// where every tap of a pixel falls outside the image but one.
const std::vector<Case> kCases = {
    {true, 512, 256, 4, 4, 2}, {true, 256, 128, 8, 8, 2}, {false, 128, 256, 4, 4, 2},
    {true, 3, 5, 2, 3, 1},     {false, 5, 7, 3, 2, 3},    {true, 1, 1, 1, 1, 1},
    {false, 2, 3, 1, 1, 2},    {true, 7, 4, 5, 3, 2},
};

torch::Tensor weight_for(const Case& c, torch::Dtype dtype) {
  const auto shape = c.transposed ? std::vector<int64_t>{c.in, c.out, 5, 5}
                                  : std::vector<int64_t>{c.out, c.in, 5, 5};
  return (torch::randn(shape) * 0.1).to(dtype).requires_grad_();
}

torch::Tensor input_for(const Case& c, torch::Dtype dtype) {
  const int64_t scale = c.transposed ? 1 : 2;
  return torch::randn({c.batch, c.in, scale * c.h, scale * c.w}).to(dtype).requires_grad_();
}

torch::Tensor reference(const Case& c, const torch::Tensor& x, const torch::Tensor& w,
                        const torch::Tensor& b) {
  return c.transposed ? torch::conv_transpose2d(x, w, b, 2, 2, 1) : torch::conv2d(x, w, b, 2, 2);
}

const char* taps_name(GemmTaps taps) { return taps == GemmTaps::kAll ? "all" : "inside"; }
}  // namespace
// How a failing case names its tap choice.
void PrintTo(GemmTaps taps, std::ostream* os) { *os << taps_name(taps); }
namespace {

// Each case with all 25 taps per small pixel and with those inside the image only.
class GemmConvTest : public ::testing::TestWithParam<std::tuple<Case, GemmTaps>> {
 protected:
  const Case c = std::get<0>(GetParam());
  torch::Tensor gemm_form(const Case& k, const torch::Tensor& x, const torch::Tensor& w,
                          const torch::Tensor& b) const {
    const GemmTaps taps = std::get<1>(GetParam());
    return k.transposed ? gemm_conv_transpose(x, w, b, taps) : gemm_conv(x, w, b, taps);
  }
};

// In fp32 the GEMM form is LibTorch's layer up to fp32 rounding, in the output and in all three
// gradients, with and without a bias, and its output and input gradient are in the input's layout.
TEST_P(GemmConvTest, MatchesLibTorchInFp32) {
  for_each_cpu_copy([&] {
    torch::manual_seed(5);
    const auto x = input_for(c, torch::kFloat);
    const auto w = weight_for(c, torch::kFloat);
    const auto b = torch::randn({c.out}).requires_grad_();
    const auto y = gemm_form(c, x, w, b);
    const auto expected = reference(c, x, w, b);
    ASSERT_EQ(y.sizes(), expected.sizes());
    EXPECT_EQ(y.scalar_type(), torch::kFloat);
    EXPECT_TRUE(y.is_contiguous());
    EXPECT_LE(relative(y, expected), 1e-5);
    const auto gy = torch::randn_like(expected);
    const auto got = torch::autograd::grad({y}, {x, w, b}, {gy});
    const auto want = torch::autograd::grad({expected}, {x, w, b}, {gy});
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got[i].sizes(), want[i].sizes()) << "gradient " << i;
      EXPECT_LE(relative(got[i], want[i]), 1e-5) << "gradient " << i;
    }
    EXPECT_TRUE(got[0].is_contiguous());
    // A channels-last input: channels-last output and gradient, the same values.
    const auto x_cl = x.detach().contiguous(torch::MemoryFormat::ChannelsLast).requires_grad_();
    const auto y_cl = gemm_form(c, x_cl, w, b);
    EXPECT_TRUE(y_cl.is_contiguous(torch::MemoryFormat::ChannelsLast));
    EXPECT_LE(relative(y_cl, expected), 1e-5);
    const auto gx_cl = torch::autograd::grad({y_cl}, {x_cl}, {gy})[0];
    EXPECT_TRUE(gx_cl.is_contiguous(torch::MemoryFormat::ChannelsLast));
    EXPECT_LE(relative(gx_cl, want[0]), 1e-5);
    // No bias: no bias term, and the other gradients as before.
    const auto y0 = gemm_form(c, x, w, torch::Tensor());
    EXPECT_LE(relative(y0, reference(c, x, w, torch::Tensor())), 1e-5);
    const auto got0 = torch::autograd::grad({y0}, {x, w}, {gy});
    EXPECT_LE(relative(got0[0], want[0]), 1e-5);
    EXPECT_LE(relative(got0[1], want[1]), 1e-5);
  });
}

// In bf16 the products come rounded to bf16 from the matrix product and the transposed form sums
// up to 9 of them in fp32 before one more rounding (with the taps inside, the weight's gradient
// adds up to 9 classes' products, one rounding each): within a few bf16 roundings (2^-8 relative)
// of a float64 computation on the same bf16 operands, in the output and the gradients.
TEST_P(GemmConvTest, Bf16IsWithinBf16RoundingOfExactSums) {
  for_each_cpu_copy([&] {
    torch::manual_seed(6);
    const auto x = input_for(c, torch::kBFloat16);
    const auto w = weight_for(c, torch::kBFloat16);
    const auto b = torch::randn({c.out}).to(torch::kBFloat16).requires_grad_();
    const auto y = gemm_form(c, x, w, b);
    EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
    const auto x64 = x.detach().to(torch::kDouble).requires_grad_();
    const auto w64 = w.detach().to(torch::kDouble).requires_grad_();
    const auto b64 = b.detach().to(torch::kDouble).requires_grad_();
    const auto expected = reference(c, x64, w64, b64);
    EXPECT_LE(relative(y, expected), 4.0 / 256);
    const auto gy = torch::randn(expected.sizes()).to(torch::kBFloat16);
    const auto got = torch::autograd::grad({y}, {x, w, b}, {gy});
    const auto want = torch::autograd::grad({expected}, {x64, w64, b64}, {gy.to(torch::kDouble)});
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i].scalar_type(), torch::kBFloat16) << "gradient " << i;
      EXPECT_LE(relative(got[i], want[i]), 4.0 / 256) << "gradient " << i;
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmConvTest,
                         ::testing::Combine(::testing::ValuesIn(kCases),
                                            ::testing::Values(GemmTaps::kAll, GemmTaps::kInside)),
                         [](const ::testing::TestParamInfo<std::tuple<Case, GemmTaps>>& info) {
                           return std::to_string(info.index) + "_" +
                                  taps_name(std::get<1>(info.param));
                         });

// Both tap choices compute the same sums: with the taps inside, the products leave out only
// products with zeros, so in fp32 the two agree to rounding in the output and every gradient, on
// the networks' grids and on grids of one and two pixels a side (every band shape).
TEST(GemmTapsTest, InsideTapsGiveWhatAllTapsGive) {
  torch::manual_seed(9);
  for (const Case& c : kCases) {
    const auto x = input_for(c, torch::kFloat);
    const auto w = weight_for(c, torch::kFloat);
    const auto b = torch::randn({c.out}).requires_grad_();
    auto form = [&](GemmTaps taps) {
      return c.transposed ? gemm_conv_transpose(x, w, b, taps) : gemm_conv(x, w, b, taps);
    };
    const auto all = form(GemmTaps::kAll);
    const auto inside = form(GemmTaps::kInside);
    EXPECT_LE(relative(inside, all), 1e-6) << c;
    const auto gy = torch::randn_like(all);
    const auto g_all = torch::autograd::grad({all}, {x, w, b}, {gy});
    const auto g_inside = torch::autograd::grad({inside}, {x, w, b}, {gy});
    for (size_t i = 0; i < g_all.size(); ++i) {
      EXPECT_LE(relative(g_inside[i], g_all[i]), 1e-6) << c << " gradient " << i;
    }
  }
}

// An input with no rows or columns, which has no taps to group, is refused with a message rather
// than read past, with either tap choice.
TEST(GemmTapsTest, RefusesAnEmptyGrid) {
  for (const GemmTaps taps : {GemmTaps::kAll, GemmTaps::kInside}) {
    const auto w = torch::randn({4, 4, 5, 5});
    EXPECT_THROW(gemm_conv_transpose(torch::randn({2, 4, 0, 3}), w, torch::Tensor(), taps),
                 c10::Error);
    EXPECT_THROW(gemm_conv(torch::randn({2, 4, 4, 0}), w, torch::Tensor(), taps), c10::Error);
  }
}

// gemm_layer_forward takes a wide layer only under CPU bf16 autocast with native kernels (the
// emulation has its own fp32 path), and gives autocast's bf16 output there; its gradients reach
// the fp32 parameters.
TEST(GemmLayerTest, TakesWideLayersUnderNativeBf16AutocastOnly) {
  torch::manual_seed(7);
  torch::nn::ConvTranspose2d wide(
      torch::nn::ConvTranspose2dOptions(128, 128, 5).stride(2).padding(2).output_padding(1));
  torch::nn::ConvTranspose2d narrow(
      torch::nn::ConvTranspose2dOptions(128, 3, 5).stride(2).padding(2).output_padding(1));
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(128, 128, 5).stride(2).padding(2));
  torch::nn::Conv2d narrow_conv(torch::nn::Conv2dOptions(32, 128, 5).stride(2).padding(2));
  const auto x = torch::randn({2, 128, 4, 4});
  const auto big = torch::randn({2, 128, 8, 8});
  // Which function made the output.
  auto took_gemm = [](const torch::Tensor& y) {
    const auto name = y.grad_fn() ? y.grad_fn()->name() : std::string();
    return name.find("::TransposedFunction>") != std::string::npos ||
           name.find("::ConvFunction>") != std::string::npos;
  };
  EXPECT_FALSE(took_gemm(gemm_layer_forward(wide, x)));
  EXPECT_FALSE(took_gemm(gemm_layer_forward(conv, big)));
  {
    Bf16Autocast emulated(true, at::kCPU, /*emulate=*/true);
    EXPECT_FALSE(took_gemm(gemm_layer_forward(wide, x)));
  }
  Bf16Autocast native(true, at::kCPU, /*emulate=*/false);
  const auto y = gemm_layer_forward(wide, x);
  const auto yc = gemm_layer_forward(conv, big);
  EXPECT_FALSE(took_gemm(gemm_layer_forward(narrow, x)));
  EXPECT_FALSE(took_gemm(gemm_layer_forward(narrow_conv, torch::randn({2, 32, 8, 8}))));
  if (TORCH_VERSION_MAJOR < 2) {
    EXPECT_FALSE(took_gemm(y)) << "LibTorch 1.13 keeps its own bf16 kernels";
    return;
  }
  EXPECT_TRUE(took_gemm(y));
  EXPECT_TRUE(took_gemm(yc));
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(yc.scalar_type(), torch::kBFloat16);
  EXPECT_LE(relative(y, wide->forward(x).to(torch::kFloat)), 4.0 / 256);
  (y.to(torch::kFloat).sum() + yc.to(torch::kFloat).sum()).backward();
  for (const auto& p : {wide->weight, wide->bias, conv->weight, conv->bias}) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad().scalar_type(), torch::kFloat);
  }
}

// In training under native bf16 autocast with NarrowLayers::kDirect, the narrow layers (G's last,
// D's first) take the direct form (thin_conv_transpose.h) on autocast's bf16 operands: a bf16
// output within bf16 rounding of LibTorch's bf16 layer, and gradients that reach the fp32
// parameters and the input. With kLibTorch, without gradients or without autocast, LibTorch's
// layers as before.
TEST(GemmLayerTest, NarrowLayersTakeTheDirectFormInBf16Training) {
  torch::manual_seed(9);
  torch::nn::ConvTranspose2d last(
      torch::nn::ConvTranspose2dOptions(128, 3, 5).stride(2).padding(2).output_padding(1));
  torch::nn::Conv2d first(torch::nn::Conv2dOptions(3, 64, 5).stride(2).padding(2));
  const auto x = torch::randn({2, 128, 8, 8});
  const auto images = torch::randn({2, 3, 16, 16}).requires_grad_();
  auto made_by = [](const torch::Tensor& y) {
    return y.grad_fn() ? y.grad_fn()->name() : std::string("no grad_fn");
  };
  auto direct = [&](const torch::Tensor& y) {
    const auto name = made_by(y);
    return name.find("::ThinTransposeFunction>") != std::string::npos ||
           name.find("::ThinConvFunction>") != std::string::npos;
  };
  const auto kDirect = NarrowLayers::kDirect;
  EXPECT_FALSE(direct(gemm_layer_forward(last, x, kDirect)));
  EXPECT_FALSE(direct(gemm_layer_forward(first, images, kDirect)));
  Bf16Autocast native(true, at::kCPU, /*emulate=*/false);
  {
    torch::NoGradGuard no_grad;
    EXPECT_FALSE(direct(gemm_layer_forward(last, x, kDirect)));
  }
  EXPECT_FALSE(direct(gemm_layer_forward(last, x, NarrowLayers::kLibTorch)));
  EXPECT_FALSE(direct(gemm_layer_forward(first, images, NarrowLayers::kLibTorch)));
  const auto y = gemm_layer_forward(last, x, kDirect);
  const auto yc = gemm_layer_forward(first, images, kDirect);
  if (TORCH_VERSION_MAJOR < 2) {
    EXPECT_FALSE(direct(y)) << "LibTorch 1.13 keeps its own bf16 kernels";
    return;
  }
  EXPECT_TRUE(direct(y)) << made_by(y);
  EXPECT_TRUE(direct(yc)) << made_by(yc);
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(yc.scalar_type(), torch::kBFloat16);
  EXPECT_LE(relative(y, last->forward(x).to(torch::kFloat)), 4.0 / 256);
  EXPECT_LE(relative(yc, first->forward(images).to(torch::kFloat)), 4.0 / 256);
  (y.to(torch::kFloat).sum() + yc.to(torch::kFloat).square().sum()).backward();
  for (const auto& p : {last->weight, last->bias, first->weight, first->bias}) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad().scalar_type(), torch::kFloat);
  }
  ASSERT_TRUE(images.grad().defined());
  EXPECT_EQ(images.grad().scalar_type(), torch::kFloat);
}

// The networks with the GEMM form under native bf16 autocast compute what they compute with
// LibTorch's bf16 layers, up to bf16 rounding: the images and logits agree, and every gradient
// is about as close to fp32's as LibTorch's bf16 layers' are (the gradients pass through many bf16
// roundings, which compound, so they are compared with fp32's).
TEST(GemmLayerTest, NetworksMatchLibTorchsBf16Layers) {
  if (TORCH_VERSION_MAJOR < 2) GTEST_SKIP() << "LibTorch 1.13 keeps its own bf16 kernels";
  ModelOptions options;
  options.g_channels = 256;  // G's first layer, 256 -> 128, and D's last, 128 -> 256: GEMM form
  options.d_channels = 64;
  struct Pass {
    torch::Tensor images, logits;
    std::vector<torch::Tensor> grads;
  };
  // 0: fp32, 1: LibTorch's bf16 layers, 2: the GEMM form.
  auto run = [&](int mode) {
    torch::manual_seed(8);
    Generator g(options, 3, mode == 2 ? UpconvKind::kGemm : UpconvKind::kNative);
    Discriminator d(options, 3, mode == 2 ? UpconvKind::kGemm : UpconvKind::kNative);
    init_weights(*g, "normal", 0.05);
    init_weights(*d, "normal", 0.05);
    g->eval();  // batch norm on running statistics: the same function in every pass
    d->eval();
    const auto z = sample_noise(8, 100, torch::kCPU);
    Pass pass;
    {
      Bf16Autocast autocast(mode > 0, at::kCPU, /*emulate=*/false);
      pass.images = g->forward(z);
      pass.logits = d->forward(pass.images);
    }
    pass.logits.to(torch::kFloat).sum().backward();
    for (auto* m :
         {static_cast<torch::nn::Module*>(g.get()), static_cast<torch::nn::Module*>(d.get())}) {
      for (const auto& p : m->parameters()) pass.grads.push_back(p.grad().clone());
    }
    return pass;
  };
  auto mean_error = [](const torch::Tensor& a, const torch::Tensor& b) {
    const auto b64 = b.to(torch::kDouble);
    return ((a.to(torch::kDouble) - b64).abs().mean() / b64.abs().mean()).item<double>();
  };
  const Pass fp32 = run(0);
  const Pass native = run(1);
  const Pass gemm = run(2);
  EXPECT_EQ(gemm.images.scalar_type(), torch::kBFloat16);
  EXPECT_LE(mean_error(gemm.images, native.images), 0.01);
  EXPECT_LE(mean_error(gemm.logits, native.logits), 0.02);
  ASSERT_EQ(gemm.grads.size(), native.grads.size());
  double gemm_total = 0, native_total = 0;
  for (size_t i = 0; i < native.grads.size(); ++i) {
    EXPECT_EQ(gemm.grads[i].scalar_type(), torch::kFloat);
    const double e = mean_error(gemm.grads[i], fp32.grads[i]);
    EXPECT_LE(e, 0.2) << "gradient " << i;
    gemm_total += e;
    native_total += mean_error(native.grads[i], fp32.grads[i]);
  }
  EXPECT_LE(gemm_total, 1.25 * native_total);
}

}  // namespace
}  // namespace dcgan
