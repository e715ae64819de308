#include "dcgan/model/networks.h"

#include <gtest/gtest.h>
#include <torch/version.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "dcgan/error.h"
#include "dcgan/model/precision.h"
#include "testing/threads.h"

namespace dcgan {
namespace {

struct CountCase {
  int64_t channels;
  int64_t g_params;
  int64_t d_params;
};

class ParameterCountTest : public ::testing::TestWithParam<CountCase> {};

// The figures of SPEC.md: a different layer width or a missing bias changes them.
TEST_P(ParameterCountTest, MatchesReference) {
  const auto& c = GetParam();
  for (auto kind : {UpconvKind::kNative, UpconvKind::kPhase, UpconvKind::kWinograd, UpconvKind::kGemm}) {
    Generator g(ModelOptions{}, c.channels, kind);
    EXPECT_EQ(count_parameters(*g), c.g_params) << "channels " << c.channels;
  }
  Discriminator d(ModelOptions{}, c.channels);
  EXPECT_EQ(count_parameters(*d), c.d_params) << "channels " << c.channels;
}

INSTANTIATE_TEST_SUITE_P(Reference, ParameterCountTest,
                         ::testing::Values(CountCase{3, 4935171, 1034113},
                                           CountCase{1, 4928769, 1030913}));

TEST(NetworksTest, OutputShapesAndRanges) {
  for (int64_t channels : {1, 3}) {
    Generator g(ModelOptions{}, channels, UpconvKind::kPhase);
    Discriminator d(ModelOptions{}, channels);
    auto images = g->forward(sample_noise(5, 100, torch::kCPU));
    EXPECT_EQ(images.sizes(), (std::vector<int64_t>{5, channels, 32, 32}));
    EXPECT_LE(images.abs().max().item<float>(), 1.0f);
    EXPECT_EQ(d->forward(images).sizes(), (std::vector<int64_t>{5, 1}));
  }
}

// The DCGAN paper's 64x64 network: one more stage each side, by hand from the layer shapes:
// G adds t5 (64 -> C, 5x5) and bn4 (128); D adds c4 (256 -> 512) and bn4, and its dense layer
// reads 4x4x512.
TEST(NetworksTest, SixtyFourPixelNetworksHaveOneMoreStage) {
  ModelOptions options;
  options.image_size = 64;
  for (auto kind : {UpconvKind::kNative, UpconvKind::kPhase, UpconvKind::kWinograd, UpconvKind::kGemm}) {
    Generator g(options, 3, kind);
    EXPECT_EQ(count_parameters(*g), 5135363);
    auto images = g->forward(sample_noise(2, 100, torch::kCPU));
    EXPECT_EQ(images.sizes(), (std::vector<int64_t>{2, 3, 64, 64}));
    EXPECT_TRUE(g->named_parameters().contains("t5.weight"));
    EXPECT_TRUE(g->named_parameters().contains("bn4.weight"));
  }
  Discriminator d(options, 3);
  EXPECT_EQ(count_parameters(*d), 4316545);
  EXPECT_EQ(d->forward(torch::zeros({2, 3, 64, 64})).sizes(), (std::vector<int64_t>{2, 1}));
  EXPECT_TRUE(d->named_parameters().contains("c4.weight"));
  // The 32x32 network keeps its names (and so its checkpoints).
  Generator small(ModelOptions{}, 3, UpconvKind::kNative);
  EXPECT_FALSE(small->named_parameters().contains("t5.weight"));
  EXPECT_TRUE(small->named_buffers().contains("bn3.running_mean"));
}

TEST(NetworksTest, BatchNormFollowsReferenceFramework) {
  Generator g(ModelOptions{}, 3, UpconvKind::kNative);
  for (const auto& child : g->named_children()) {
    if (auto* bn = child.value()->as<torch::nn::BatchNorm2d>()) {
      EXPECT_DOUBLE_EQ(bn->options.eps(), 1e-3) << child.key();
      EXPECT_DOUBLE_EQ(bn->options.momentum().value(), 0.01) << child.key();
    }
  }
}

TEST(NetworksTest, RunningStatisticsMoveByMomentum) {
  ModelOptions options;
  options.g_channels = 16;
  Generator g(options, 3, UpconvKind::kPhase);
  auto z = sample_noise(8, 100, torch::kCPU);
  auto h = g->named_children()[0].value()->as<torch::nn::Linear>()->forward(z).view({-1, 16, 4, 4});
  g->forward(z);  // train mode: one update of bn1's running mean from 0
  auto* bn1 = g->named_children()[1].value()->as<torch::nn::BatchNorm2d>();
  ASSERT_NE(bn1, nullptr);
  auto expected = 0.01 * h.mean({0, 2, 3});
  EXPECT_TRUE(torch::allclose(bn1->running_mean, expected, 1e-4, 1e-6));
}

TEST(NetworksTest, EvalModeUsesRunningStatistics) {
  ModelOptions options;
  options.g_channels = 16;
  Generator g(options, 3, UpconvKind::kPhase);
  for (int i = 0; i < 3; ++i) g->forward(sample_noise(16, 100, torch::kCPU));
  g->eval();
  torch::NoGradGuard no_grad;
  auto z = sample_noise(16, 100, torch::kCPU);
  // With population statistics an image does not depend on the rest of its batch.
  auto whole = g->forward(z);
  auto alone = g->forward(z.slice(0, 3, 4));
  EXPECT_TRUE(torch::allclose(whole.slice(0, 3, 4), alone, 1e-5, 1e-6));
  g->train();
  auto batch_stats = g->forward(z);
  EXPECT_FALSE(torch::allclose(batch_stats, whole, 1e-3, 1e-4));
}

// D written out with LibTorch's functional layers, on D's own parameters and a copy of its
// running statistics, out of place throughout: D's first activation runs in place.
torch::Tensor plain_discriminator(Discriminator& d, const torch::Tensor& x, double slope,
                                  double eps, double momentum) {
  namespace F = torch::nn::functional;
  auto p = d->named_parameters();
  auto b = d->named_buffers();
  const auto conv = [&](const torch::Tensor& h, const std::string& name) {
    return F::conv2d(h, p[name + ".weight"],
                     F::Conv2dFuncOptions().bias(p[name + ".bias"]).stride(2).padding(2));
  };
  const auto act = F::LeakyReLUFuncOptions().negative_slope(slope);
  auto h = F::leaky_relu(conv(x, "c1"), act);
  for (const std::string i : {"2", "3"}) {
    auto y = conv(h, "c" + i);
    y = F::batch_norm(y, b["bn" + i + ".running_mean"].clone(), b["bn" + i + ".running_var"].clone(),
                      F::BatchNormFuncOptions()
                          .weight(p["bn" + i + ".weight"])
                          .bias(p["bn" + i + ".bias"])
                          .training(true)
                          .momentum(momentum)
                          .eps(eps));
    h = F::leaky_relu(y, act);
  }
  return F::linear(h.flatten(1), p["fc.weight"], p["fc.bias"]);
}

// D's logits and the gradients of its input and every parameter are those of the same layers
// written out in LibTorch, with leaky ReLU's slope 0.2 and 0 (plain ReLU, where D's first
// activation, in place, must still pass the gradient only where its output is positive).
TEST(NetworksTest, DiscriminatorMatchesPlainLayers) {
  for (const double slope : {0.2, 0.0}) {
    ModelOptions options;
    options.d_channels = 16;
    options.leaky_slope = slope;
    torch::manual_seed(4);
    Discriminator d(options, 3, UpconvKind::kNative);
    auto x = (torch::rand({6, 3, 32, 32}) * 2 - 1).requires_grad_(true);
    auto expected = plain_discriminator(d, x, slope, options.bn_eps, options.bn_momentum);
    auto params = d->parameters();
    std::vector<torch::Tensor> inputs = {x};
    inputs.insert(inputs.end(), params.begin(), params.end());
    auto want = torch::autograd::grad({expected.square().sum()}, inputs);
    auto logits = d->forward(x);
    EXPECT_TRUE(torch::allclose(logits, expected, 1e-5, 1e-6)) << "slope " << slope;
    auto got = torch::autograd::grad({logits.square().sum()}, inputs);
    ASSERT_EQ(got.size(), want.size());
    // The biases before batch norm have no gradient in exact arithmetic (batch norm takes the
    // mean out), only rounding: each gradient is held to its own scale or, below it, D's.
    double largest = 0;
    for (const auto& g : want) largest = std::max(largest, g.abs().max().item<double>());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_LT((got[i] - want[i]).abs().max().item<double>(),
                1e-5 * std::max(want[i].abs().max().item<double>(), 1e-2 * largest))
          << "slope " << slope << ", gradient " << i;
    }
  }
}

TEST(NetworksTest, NativeAndPhaseGeneratorsAgree) {
  ModelOptions options;
  options.g_channels = 32;
  torch::manual_seed(1);
  Generator native(options, 3, UpconvKind::kNative);
  Generator phase(options, 3, UpconvKind::kPhase);
  torch::NoGradGuard no_grad;
  auto from = native->named_parameters();
  for (auto& p : phase->named_parameters()) p.value().copy_(from[p.key()]);
  auto z = sample_noise(4, 100, torch::kCPU);
  EXPECT_TRUE(torch::allclose(native->forward(z), phase->forward(z), 1e-4, 1e-5));
}

TEST(NetworksTest, InitSchemes) {
  torch::manual_seed(0);
  Discriminator d(ModelOptions{}, 3);
  init_weights(*d, "normal", 0.02);
  for (const auto& p : d->named_parameters()) {
    const auto& name = p.key();
    if (name.find("bias") != std::string::npos) {
      EXPECT_EQ(p.value().abs().max().item<float>(), 0.0f) << name;
    } else if (p.value().dim() == 1) {
      EXPECT_EQ((p.value() - 1).abs().max().item<float>(), 0.0f) << name;  // BN gamma
    } else if (p.value().numel() > 10000) {
      EXPECT_NEAR(p.value().std().item<double>(), 0.02, 0.002) << name;
    }
  }
  init_weights(*d, "xavier_uniform", 0.02);
  auto w = d->named_parameters()["c2.weight"];  // (128, 64, 5, 5)
  const double bound = std::sqrt(6.0 / (64 * 25 + 128 * 25));
  EXPECT_LE(w.abs().max().item<double>(), bound);
  EXPECT_GT(w.abs().max().item<double>(), 0.9 * bound);
}

TEST(NetworksTest, UnknownNamesAreConfigErrors) {
  Discriminator d(ModelOptions{}, 1);
  try {
    init_weights(*d, "he", 0.02);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "key 'model.init' must be one of xavier_uniform, normal, torch; got 'he'");
  }
  // auto on the CPU: the phase form where LibTorch's transposed convolution is slow (1.13), else
  // the Winograd form at 1 or 2 threads and LibTorch's beyond; LibTorch's on CUDA.
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  EXPECT_EQ(resolve_upconv("auto", torch::kCPU),
            TORCH_VERSION_MAJOR < 2 ? UpconvKind::kPhase : UpconvKind::kWinograd);
  // In bf16, the GEMM form where the CPU has native bf16 (else the emulation's Winograd form;
  // with AVX512-BF16 alone training times both: UpconvCandidates).
  EXPECT_EQ(resolve_upconv("auto", torch::kCPU, "bf16"),
            TORCH_VERSION_MAJOR < 2  ? UpconvKind::kPhase
            : cpu_has_native_bf16() ? UpconvKind::kGemm
                                    : UpconvKind::kWinograd);
  at::set_num_threads(3);
  EXPECT_EQ(resolve_upconv("auto", torch::kCPU),
            TORCH_VERSION_MAJOR < 2 ? UpconvKind::kPhase : UpconvKind::kNative);
  EXPECT_EQ(resolve_upconv("auto", torch::kCPU, "bf16"),
            TORCH_VERSION_MAJOR < 2 ? UpconvKind::kPhase : UpconvKind::kNative);
  at::set_num_threads(threads);
  EXPECT_EQ(resolve_upconv("auto", torch::Device("cuda:0")), UpconvKind::kNative);
  EXPECT_EQ(resolve_upconv("auto", torch::Device("cuda:0"), "bf16"), UpconvKind::kNative);
  EXPECT_EQ(resolve_upconv("native", torch::kCPU), UpconvKind::kNative);
  EXPECT_EQ(resolve_upconv("winograd", torch::kCPU), UpconvKind::kWinograd);
  EXPECT_EQ(resolve_upconv("gemm", torch::kCPU), UpconvKind::kGemm);
  EXPECT_THROW(resolve_upconv("fast", torch::kCPU), ConfigError);
}

TEST(NetworksTest, UpconvKindsParseByName) {
  for (const UpconvKind kind :
       {UpconvKind::kNative, UpconvKind::kPhase, UpconvKind::kWinograd, UpconvKind::kGemm}) {
    EXPECT_EQ(parse_upconv_kind(upconv_name(kind)), kind) << upconv_name(kind);
  }
  EXPECT_EQ(parse_upconv_kind("auto"), std::nullopt);
  EXPECT_EQ(parse_upconv_kind(""), std::nullopt);
}

// The forms measured faster than LibTorch's layers at 1 or 2 threads, by precision and CPU: the
// Winograd form in fp32 and for emulated bf16, the GEMM form under bf16 with AMX, and both with
// AVX512-BF16 alone, where each was the faster on one CPU.
TEST(NetworksTest, CpuUpconvFormsFollowPrecisionAndCpu) {
  using V = std::vector<UpconvKind>;
  const V winograd{UpconvKind::kWinograd};
  for (const bool native : {false, true}) {
    for (const bool amx : {false, true}) {
      EXPECT_EQ(cpu_upconv_forms("none", native, amx), winograd) << native << amx;
    }
  }
  EXPECT_EQ(cpu_upconv_forms("bf16", false, false), winograd);
  EXPECT_EQ(cpu_upconv_forms("bf16", true, true), V{UpconvKind::kGemm});
  EXPECT_EQ(cpu_upconv_forms("bf16", true, false), (V{UpconvKind::kGemm, UpconvKind::kWinograd}));
}

// Training may time forms only where `auto` has no measured pick: the CPU, LibTorch 2, beyond 2
// threads, or under bf16 with AVX512-BF16 alone. Everywhere else it runs resolve_upconv's, untimed.
TEST(NetworksTest, UpconvCandidates) {
  using V = std::vector<UpconvKind>;
  const bool v2 = TORCH_VERSION_MAJOR >= 2;
  const V bf16_forms = cpu_upconv_forms("bf16", cpu_has_native_bf16(), cpu_has_amx_bf16());
  {
    testing::IntraOpThreads two(2);
    EXPECT_EQ(upconv_candidates("auto", torch::kCPU), V{resolve_upconv("auto", torch::kCPU)});
    EXPECT_EQ(upconv_candidates("auto", torch::kCPU, "bf16"),
              v2 ? bf16_forms : V{resolve_upconv("auto", torch::kCPU, "bf16")});
    EXPECT_EQ(upconv_candidates("auto", torch::kCPU, "bf16").front(),
              resolve_upconv("auto", torch::kCPU, "bf16"));
  }
  {
    testing::IntraOpThreads three(3);
    V bf16{UpconvKind::kPhase};
    if (v2) {
      bf16 = {UpconvKind::kNative};
      bf16.insert(bf16.end(), bf16_forms.begin(), bf16_forms.end());
    }
    const V fp32 = v2 ? V{UpconvKind::kNative, UpconvKind::kWinograd} : V{UpconvKind::kPhase};
    EXPECT_EQ(upconv_candidates("auto", torch::kCPU), fp32);
    EXPECT_EQ(upconv_candidates("auto", torch::kCPU, "bf16"), bf16);
    // A form the config names is the form, at any thread count and on any device.
    EXPECT_EQ(upconv_candidates("winograd", torch::kCPU), V{UpconvKind::kWinograd});
    EXPECT_EQ(upconv_candidates("native", torch::kCPU, "bf16"), V{UpconvKind::kNative});
    EXPECT_EQ(upconv_candidates("gemm", torch::kCPU, "bf16"), V{UpconvKind::kGemm});
    EXPECT_EQ(upconv_candidates("auto", torch::Device("cuda:0")), V{UpconvKind::kNative});
    EXPECT_EQ(upconv_candidates("auto", torch::Device("cuda:0"), "bf16"), V{UpconvKind::kNative});
    EXPECT_THROW(upconv_candidates("fast", torch::kCPU), ConfigError);
  }
}

TEST(NetworksTest, NoiseIsUniformInRangeAndSeeded) {
  auto a = at::make_generator<at::CPUGeneratorImpl>(7);
  auto b = at::make_generator<at::CPUGeneratorImpl>(7);
  auto za = sample_noise(1000, 100, torch::kCPU, a);
  EXPECT_TRUE(torch::equal(za, sample_noise(1000, 100, torch::kCPU, b)));
  EXPECT_GE(za.min().item<float>(), -1.0f);
  EXPECT_LE(za.max().item<float>(), 1.0f);
  EXPECT_NEAR(za.mean().item<double>(), 0.0, 0.01);
}

}  // namespace
}  // namespace dcgan
