#include "dcgan/model/precision.h"

#include <gtest/gtest.h>

#include <torch/version.h>

#include <functional>

#include "dcgan/model/networks.h"
#include "dcgan/model/winograd_conv_transpose.h"

namespace dcgan {
namespace {

ModelOptions small_model() {
  ModelOptions options;
  options.g_channels = 32;
  options.d_channels = 8;
  return options;
}

// D(G(z)) and every weight gradient of it under CPU bf16 autocast, with LibTorch's bf16 kernels
// or emulated by fp32 kernels.
struct Pass {
  torch::Tensor images, logits;
  std::vector<torch::Tensor> grads;
};

// mode: 0 fp32, 1 LibTorch's bf16 kernels, 2 emulated.
Pass run(Generator& g, Discriminator& d, const torch::Tensor& z, int mode) {
  g->zero_grad();
  d->zero_grad();
  Pass pass;
  {
    Bf16Autocast autocast(mode != 0, at::kCPU, mode == 2);
    EXPECT_EQ(bf16_emulated(), mode == 2);
    pass.images = g->forward(z);
    pass.logits = d->forward(pass.images);
  }
  EXPECT_FALSE(bf16_emulated());
  pass.logits.to(torch::kFloat).sum().backward();
  for (auto* module : {static_cast<torch::nn::Module*>(g.get()), static_cast<torch::nn::Module*>(d.get())}) {
    for (const auto& p : module->parameters()) pass.grads.push_back(p.grad().clone());
  }
  return pass;
}

// Mean |a - b| relative to mean |b|.
double mean_error(const torch::Tensor& a, const torch::Tensor& b) {
  const torch::Tensor x = a.to(torch::kDouble), y = b.to(torch::kDouble);
  return (x - y).abs().mean().item<double>() / (y.abs().mean().item<double>() + 1e-12);
}

class EmulatedBf16Test : public ::testing::TestWithParam<UpconvKind> {};

// The emulation is LibTorch's bf16 arithmetic on other kernels: the forward outputs (bf16, as
// autocast's) agree with the native bf16 pass up to rounding. The gradients pass through many bf16
// roundings, which compound, so they are compared with fp32's instead: the emulation's are at
// least as close to them as LibTorch's bf16 kernels' (on a CPU without native bf16 those carry
// about twice the error of fp32 sums: see SingleLayersAreExactUpToOneBf16Rounding).
TEST_P(EmulatedBf16Test, MatchesLibTorchsBf16Kernels) {
  if (TORCH_VERSION_MAJOR < 2) {
    GTEST_SKIP() << "LibTorch 1.13's CPU autocast keeps more ops in fp32; dcgan emulates 2.x's";
  }
  torch::manual_seed(0);
  ModelOptions options = small_model();
  // The Winograd form computes layers of 64 outputs and more: G's first two, here.
  if (GetParam() == UpconvKind::kWinograd) options.g_channels = 256;
  Generator g(options, 3, GetParam());
  Discriminator d(options, 3);
  init_weights(*g, "normal", 0.05);
  init_weights(*d, "normal", 0.05);
  const torch::Tensor z = sample_noise(8, 100, torch::kCPU);
  g->eval();  // batch norm on running statistics: the same function in every pass
  d->eval();

  const Pass fp32 = run(g, d, z, 0);
  const Pass native = run(g, d, z, 1);
  const Pass emulated = run(g, d, z, 2);
  EXPECT_EQ(emulated.images.scalar_type(), native.images.scalar_type());
  EXPECT_EQ(emulated.logits.scalar_type(), torch::kBFloat16);
  EXPECT_LE(mean_error(emulated.images, native.images), 0.01);
  EXPECT_LE(mean_error(emulated.logits, native.logits), 0.02);
  EXPECT_GT(mean_error(emulated.images, fp32.images), 0.0) << "no bf16 rounding happened";
  ASSERT_EQ(emulated.grads.size(), native.grads.size());
  double emulated_total = 0, native_total = 0;
  for (size_t i = 0; i < native.grads.size(); ++i) {
    EXPECT_EQ(emulated.grads[i].scalar_type(), torch::kFloat);
    const double e = mean_error(emulated.grads[i], fp32.grads[i]);
    const double n = mean_error(native.grads[i], fp32.grads[i]);
    EXPECT_LE(e, 0.2) << "gradient " << i;
    emulated_total += e;
    native_total += n;
  }
  EXPECT_LE(emulated_total, 1.25 * native_total);
}

INSTANTIATE_TEST_SUITE_P(Upconv, EmulatedBf16Test,
                         ::testing::Values(UpconvKind::kNative, UpconvKind::kPhase,
                                           UpconvKind::kWinograd));

// Each emulated layer computes, on bf16-rounded inputs, the exact sums rounded once to bf16: its
// output and its gradients (for a bf16 incoming gradient) are within one bf16 rounding (2^-8
// relative, 2^-9 on average) of a float64 computation on the same rounded operands.
TEST(PrecisionTest, SingleLayersAreExactUpToOneBf16Rounding) {
  torch::manual_seed(1);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(16, 32, 5).stride(2).padding(2));
  torch::nn::ConvTranspose2d up(
      torch::nn::ConvTranspose2dOptions(32, 16, 5).stride(2).padding(2).output_padding(1));
  PhaseConvTranspose2d phase(PhaseConvTranspose2dOptions(32, 16, 5).padding(2).output_padding(1));
  torch::nn::ConvTranspose2d wide(  // wide enough for the Winograd form
      torch::nn::ConvTranspose2dOptions(32, 128, 5).stride(2).padding(2).output_padding(1));
  torch::nn::Linear dense(64, 24);
  using Layer = std::function<torch::Tensor(const torch::Tensor&)>;
  struct Case {
    std::string name;
    torch::nn::Module* module;
    torch::Tensor input;
    Layer layer;
    bool winograd = false;  // the Winograd form, whose output is channels-last, must have run
  };
  std::vector<Case> cases = {
      {"conv", conv.get(), torch::randn({4, 16, 16, 16}),
       [&](const torch::Tensor& x) { return conv_forward(conv, x, 2, 2); }},
      {"transposed conv", up.get(), torch::randn({4, 32, 8, 8}),
       [&](const torch::Tensor& x) { return conv_transpose_forward(up, x, 2, 2, 1); }},
      {"phase transposed conv", phase.get(), torch::randn({4, 32, 8, 8}),
       [&](const torch::Tensor& x) { return phase->forward(x); }},
      {"dense", dense.get(), torch::randn({8, 64}),
       [&](const torch::Tensor& x) { return linear_forward(dense, x); }},
      {"Winograd transposed conv", wide.get(), torch::randn({4, 32, 4, 4}),
       [&](const torch::Tensor& x) { return winograd_layer_forward(wide, x); }, true},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.name);
    // The float64 truth on the bf16-rounded input and parameters.
    std::vector<torch::Tensor> originals;
    torch::Tensor x64 = round_to_bf16(c.input).to(torch::kDouble).requires_grad_();
    {
      torch::NoGradGuard no_grad;
      for (auto& p : c.module->parameters()) {
        originals.push_back(p.detach().clone());
        p.copy_(round_to_bf16(p));
      }
    }
    c.module->to(torch::kDouble);
    const torch::Tensor y64 = c.layer(x64);
    const torch::Tensor upstream = round_to_bf16(torch::randn_like(y64, torch::kFloat));
    y64.backward(upstream.to(torch::kDouble));
    std::vector<torch::Tensor> grads64;
    for (auto& p : c.module->parameters()) grads64.push_back(p.grad().clone());
    c.module->to(torch::kFloat);
    c.module->zero_grad();

    torch::Tensor x = c.input.clone().requires_grad_();
    torch::Tensor y;
    {
      Bf16Autocast autocast(true, at::kCPU, /*emulate=*/true);
      y = c.layer(x);
    }
    EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
    if (c.winograd) {
      EXPECT_TRUE(y.is_contiguous(at::MemoryFormat::ChannelsLast) && !y.is_contiguous());
    }
    y.backward(upstream.to(torch::kBFloat16));
    auto relative = [](const torch::Tensor& got, const torch::Tensor& truth) {
      const torch::Tensor g = got.to(torch::kDouble);
      return std::pair{((g - truth).abs() / (truth.abs() + 1e-3 * truth.abs().max())).max().item<double>(),
                       (g - truth).abs().mean().item<double>() / truth.abs().mean().item<double>()};
    };
    std::vector<std::pair<std::string, std::pair<double, double>>> errors = {
        {"output", relative(y, y64.detach())}, {"input gradient", relative(x.grad(), x64.grad())}};
    size_t i = 0;
    for (auto& p : c.module->parameters()) {
      errors.push_back({"parameter gradient " + std::to_string(i), relative(p.grad(), grads64[i])});
      ++i;
    }
    for (const auto& [what, error] : errors) {
      EXPECT_LE(error.first, 1.0 / 256 + 1e-6) << what;  // the worst: one rounding, 2^-8
      EXPECT_LE(error.second, 1.0 / 384) << what;        // the mean: well under it
    }
    torch::NoGradGuard no_grad;
    i = 0;
    for (auto& p : c.module->parameters()) p.copy_(originals[i++]);
  }
}

TEST(PrecisionTest, RoundToBf16KeepsEightSignificantBits) {
  const torch::Tensor x = torch::tensor({1.0f, 1.0f + 1.0f / 256, 1.0f + 1.0f / 128, -3.14159f});
  const torch::Tensor r = round_to_bf16(x);
  EXPECT_EQ(r.scalar_type(), torch::kFloat);
  EXPECT_FLOAT_EQ(r[0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(r[1].item<float>(), 1.0f);  // halfway: to even
  EXPECT_FLOAT_EQ(r[2].item<float>(), 1.0f + 1.0f / 128);
  EXPECT_FLOAT_EQ(r[3].item<float>(), -3.140625f);
  EXPECT_FALSE(round_to_bf16(torch::Tensor()).defined());
}

TEST(PrecisionTest, DisabledAutocastChangesNothing) {
  {
    Bf16Autocast off(false, at::kCPU, true);
    EXPECT_FALSE(bf16_emulated());
    EXPECT_EQ(torch::mm(torch::ones({2, 2}), torch::ones({2, 2})).scalar_type(), torch::kFloat);
  }
  {
    Bf16Autocast on(true, at::kCPU, false);
    EXPECT_EQ(torch::mm(torch::ones({2, 2}), torch::ones({2, 2})).scalar_type(), torch::kBFloat16);
  }
  EXPECT_EQ(torch::mm(torch::ones({2, 2}), torch::ones({2, 2})).scalar_type(), torch::kFloat);
}

// oneDNN's instruction set cap takes away what it names as out of bounds, and nothing else.
TEST(PrecisionTest, OneDnnIsaCapLimitsBf16Support) {
  auto same = [](Bf16Support a, Bf16Support b) { return a.native == b.native && a.amx == b.amx; };
  EXPECT_TRUE(same(bf16_support_under_isa_cap(true, true, nullptr), {true, true}));
  EXPECT_TRUE(same(bf16_support_under_isa_cap(true, false, nullptr), {true, false}));
  EXPECT_TRUE(same(bf16_support_under_isa_cap(true, true, "AVX512_CORE_BF16"), {true, false}));
  EXPECT_TRUE(same(bf16_support_under_isa_cap(true, true, "AVX10_1_512"), {true, false}));
  EXPECT_TRUE(same(bf16_support_under_isa_cap(true, true, "AVX512_CORE"), {false, false}));
  EXPECT_TRUE(same(bf16_support_under_isa_cap(true, true, "AVX2"), {false, false}));
  EXPECT_TRUE(same(bf16_support_under_isa_cap(true, true, "AVX512_CORE_AMX"), {true, true}));
  EXPECT_TRUE(same(bf16_support_under_isa_cap(true, true, "ALL"), {true, true}));
  // A cap does not add what the CPU lacks.
  EXPECT_TRUE(same(bf16_support_under_isa_cap(false, false, "AVX512_CORE_AMX"), {false, false}));
  EXPECT_TRUE(same(bf16_support_under_isa_cap(true, false, "ALL"), {true, false}));
}

// Below AVX-512 oneDNN has no bf16 convolution at all; AVX512_CORE emulates one.
TEST(PrecisionTest, OneDnnIsaCapBelowAvx512) {
  for (const char* cap : {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2"}) {
    EXPECT_TRUE(isa_cap_below_avx512(cap)) << cap;
  }
  for (const char* cap : {"AVX512_CORE", "AVX512_CORE_VNNI", "AVX512_CORE_BF16", "ALL"}) {
    EXPECT_FALSE(isa_cap_below_avx512(cap)) << cap;
  }
  EXPECT_FALSE(isa_cap_below_avx512(nullptr));
}

}  // namespace
}  // namespace dcgan
