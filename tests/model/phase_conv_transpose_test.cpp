#include "dcgan/model/phase_conv_transpose.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace dcgan {
namespace {

struct Case {
  int64_t in, out, kernel, padding, output_padding, h, w, batch;
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << "{in " << c.in << ", out " << c.out << ", k " << c.kernel << ", padding "
            << c.padding << ", output_padding " << c.output_padding << ", input " << c.h << "x"
            << c.w << ", batch " << c.batch << "}";
}

// The generator's three layers (at a small batch), then odd shapes: every kernel parity and
// padding parity, non-square inputs, 1x1 inputs and paddings that crop the input. The layer runs
// narrow outputs as one stacked convolution and wide ones (64 channels and up) as four, so the
// odd shapes come in both widths.
const std::vector<Case> kCases = {
    {512, 256, 5, 2, 1, 4, 4, 2},  // generator layer 2: 4x4 -> 8x8
    {256, 128, 5, 2, 1, 8, 8, 2},  // generator layer 3: 8x8 -> 16x16
    {128, 3, 5, 2, 1, 16, 16, 2},  // generator layer 4: 16x16 -> 32x32
    {3, 4, 5, 2, 0, 5, 7, 3},
    {3, 4, 4, 1, 0, 6, 3, 2},  // the usual DCGAN k4 s2 p1
    {3, 4, 4, 1, 1, 3, 6, 2},
    {2, 5, 4, 0, 0, 1, 1, 1},
    {2, 5, 4, 2, 1, 2, 5, 1},
    {3, 2, 3, 0, 0, 4, 5, 2},
    {3, 2, 3, 0, 1, 1, 2, 2},
    {3, 2, 3, 1, 0, 5, 4, 2},
    {3, 2, 3, 1, 1, 7, 2, 1},
    {3, 2, 3, 2, 0, 3, 4, 2},
    {3, 2, 3, 2, 1, 2, 3, 2},
    {4, 3, 5, 0, 0, 2, 3, 2},
    {4, 3, 5, 1, 1, 3, 2, 2},
    {4, 3, 5, 2, 0, 1, 1, 2},
    {4, 3, 5, 4, 1, 4, 5, 1},  // padding >= kernel / 2: the input is cropped
    {2, 3, 1, 0, 0, 3, 4, 2},  // kernel 1: odd output rows are bias only
    {2, 3, 1, 0, 1, 3, 4, 2},
    {2, 3, 2, 0, 1, 3, 2, 2},
    {2, 3, 2, 1, 0, 3, 3, 2},
    {2, 3, 6, 3, 1, 5, 4, 2},
    {2, 3, 7, 5, 1, 4, 6, 2},
    {3, 64, 5, 2, 0, 5, 7, 2},
    {3, 64, 4, 1, 0, 6, 3, 2},
    {2, 65, 4, 2, 1, 2, 5, 1},
    {3, 64, 3, 0, 1, 1, 2, 2},
    {3, 64, 3, 1, 1, 7, 2, 1},
    {3, 64, 3, 2, 0, 3, 4, 2},
    {4, 64, 5, 4, 1, 4, 5, 1},
    {2, 64, 1, 0, 1, 3, 4, 2},  // kernel 1 has a phase without taps: always stacked
    {2, 64, 2, 1, 0, 3, 3, 2},
    {2, 64, 6, 3, 1, 5, 4, 2},
    {2, 64, 7, 5, 1, 4, 6, 2},
};

torch::nn::ConvTranspose2d make_reference(const Case& c) {
  return torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(c.in, c.out, c.kernel)
                                        .stride(2)
                                        .padding(c.padding)
                                        .output_padding(c.output_padding));
}

PhaseConvTranspose2d make_phase(const Case& c) {
  return PhaseConvTranspose2d(PhaseConvTranspose2dOptions(c.in, c.out, c.kernel)
                                  .padding(c.padding)
                                  .output_padding(c.output_padding));
}

// Copies the reference's parameters by name, as loading its state dict would.
void copy_parameters(const torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  const auto source = from.named_parameters();
  for (auto& item : to.named_parameters()) item.value().copy_(source[item.key()]);
}

// allclose with atol scaled by the reference's largest magnitude: weight and bias gradients are
// sums over N * H * W terms whose rounding depends on the summation order, so in fp32 an element
// near zero carries the absolute error of the large sums around it.
bool close(const torch::Tensor& got, const torch::Tensor& want, double rtol, double atol) {
  const double scale = std::max(1.0, want.abs().max().item<double>());
  return torch::allclose(got, want, rtol, atol * scale);
}

std::string max_error(const torch::Tensor& a, const torch::Tensor& b) {
  return std::to_string((a - b).abs().max().item<double>());
}

// A reference and a phase layer holding the same parameters, with an input and an upstream
// gradient, in `dtype`.
struct Pair {
  torch::nn::ConvTranspose2d reference{nullptr};
  PhaseConvTranspose2d phase{nullptr};
  torch::Tensor input;          // (N, in, H, W)
  torch::Tensor upstream_grad;  // (N, out, H_out, W_out)
};

Pair make_pair(const Case& c, torch::Dtype dtype) {
  torch::manual_seed(0);
  Pair pair;
  pair.reference = make_reference(c);
  pair.reference->to(dtype);
  pair.phase = make_phase(c);
  pair.phase->to(dtype);
  copy_parameters(*pair.reference, *pair.phase);
  pair.input = torch::randn({c.batch, c.in, c.h, c.w}, torch::dtype(dtype));
  const int64_t out_h = 2 * (c.h - 1) - 2 * c.padding + c.kernel + c.output_padding;
  const int64_t out_w = 2 * (c.w - 1) - 2 * c.padding + c.kernel + c.output_padding;
  pair.upstream_grad = torch::randn({c.batch, c.out, out_h, out_w}, torch::dtype(dtype));
  return pair;
}

struct Grads {
  torch::Tensor output, input, weight, bias;
};

Grads forward_backward(torch::nn::Module& module, const torch::Tensor& input,
                       const torch::Tensor& upstream_grad,
                       const std::function<torch::Tensor(const torch::Tensor&)>& forward) {
  module.zero_grad();
  const torch::Tensor x = input.detach().requires_grad_(true);
  const torch::Tensor y = forward(x);
  y.backward(upstream_grad);
  const auto params = module.named_parameters();
  return {y.detach(), x.grad(), params["weight"].grad(), params["bias"].grad()};
}

void expect_same_forward_backward(const Case& c, torch::Dtype dtype, double rtol, double atol) {
  Pair pair = make_pair(c, dtype);
  const Grads want =
      forward_backward(*pair.reference, pair.input, pair.upstream_grad,
                       [&](const torch::Tensor& x) { return pair.reference->forward(x); });
  const Grads got =
      forward_backward(*pair.phase, pair.input, pair.upstream_grad,
                       [&](const torch::Tensor& x) { return pair.phase->forward(x); });

  ASSERT_EQ(got.output.sizes(), want.output.sizes()) << c;
  EXPECT_TRUE(close(got.output, want.output, rtol, atol))
      << c << " output, max error " << max_error(got.output, want.output);
  ASSERT_TRUE(got.input.defined() && got.weight.defined() && got.bias.defined()) << c;
  EXPECT_TRUE(close(got.input, want.input, rtol, atol))
      << c << " input grad, max error " << max_error(got.input, want.input);
  EXPECT_TRUE(close(got.weight, want.weight, rtol, atol))
      << c << " weight grad, max error " << max_error(got.weight, want.weight);
  EXPECT_TRUE(close(got.bias, want.bias, rtol, atol))
      << c << " bias grad, max error " << max_error(got.bias, want.bias);
}

TEST(PhaseConvTranspose2dTest, MatchesConvTranspose2dInDouble) {
  for (const Case& c : kCases) expect_same_forward_backward(c, torch::kDouble, 1e-10, 1e-12);
}

TEST(PhaseConvTranspose2dTest, MatchesConvTranspose2dInFloat) {
  for (const Case& c : kCases) expect_same_forward_backward(c, torch::kFloat, 1e-4, 1e-5);
}

// Random options, including paddings up to where the output would vanish, narrow and wide.
TEST(PhaseConvTranspose2dTest, MatchesConvTranspose2dOnRandomOptions) {
  torch::manual_seed(1);
  for (int trial = 0; trial < 80; ++trial) {
    auto draw = [](int64_t lo, int64_t hi) {
      return torch::randint(lo, hi + 1, {1}).item<int64_t>();
    };
    const int64_t out = trial % 2 == 0 ? draw(1, 4) : draw(64, 66);
    Case c{draw(1, 4), out, draw(1, 7), 0, draw(0, 1), draw(1, 6), draw(1, 6), draw(1, 2)};
    // ConvTranspose2d needs a non-empty output: 2 (min(H, W) - 1) - 2 padding + k + op >= 1.
    const int64_t max_padding =
        (2 * (std::min(c.h, c.w) - 1) + c.kernel + c.output_padding - 1) / 2;
    c.padding = draw(0, max_padding);
    expect_same_forward_backward(c, torch::kDouble, 1e-10, 1e-12);
  }
}

TEST(PhaseConvTranspose2dTest, UnbatchedInputMatchesConvTranspose2d) {
  const Case c{3, 4, 5, 2, 1, 5, 6, 1};
  Pair pair = make_pair(c, torch::kDouble);
  const torch::Tensor x = pair.input[0];  // (in, H, W)
  const torch::Tensor want = pair.reference->forward(x);
  const torch::Tensor got = pair.phase->forward(x);
  ASSERT_EQ(got.sizes(), want.sizes()) << c;
  EXPECT_TRUE(torch::allclose(got, want, 1e-10, 1e-12)) << c << " max error "
                                                          << max_error(got, want);
}

TEST(PhaseConvTranspose2dTest, ParametersNamedAndShapedAsConvTranspose2d) {
  for (const Case& c : kCases) {
    const auto want = make_reference(c)->named_parameters();
    const auto got = make_phase(c)->named_parameters();
    ASSERT_EQ(got.keys(), want.keys()) << c;
    for (const auto& item : want) {
      EXPECT_EQ(got[item.key()].sizes(), item.value().sizes()) << c << " " << item.key();
      EXPECT_TRUE(got[item.key()].requires_grad()) << c << " " << item.key();
    }
  }
}

TEST(PhaseConvTranspose2dTest, LoadsConvTranspose2dParameters) {
  for (const Case& c : kCases) {
    auto reference = make_reference(c);
    torch::manual_seed(7);  // different initial values from the reference
    auto phase = make_phase(c);
    copy_parameters(*reference, *phase);
    const torch::Tensor x = torch::randn({c.batch, c.in, c.h, c.w});
    torch::NoGradGuard no_grad;
    const torch::Tensor want = reference->forward(x);
    const torch::Tensor got = phase->forward(x);
    EXPECT_TRUE(torch::allclose(got, want, 1e-4, 1e-5)) << c << " max error "
                                                        << max_error(got, want);
  }
}

TEST(PhaseConvTranspose2dTest, SameInitialValuesAsConvTranspose2dUnderSameSeed) {
  for (const Case& c : kCases) {
    torch::manual_seed(42);
    const auto want = make_reference(c)->named_parameters();
    torch::manual_seed(42);
    const auto got = make_phase(c)->named_parameters();
    for (const auto& item : want) {
      EXPECT_TRUE(torch::equal(got[item.key()], item.value())) << c << " " << item.key();
    }
  }
}

TEST(PhaseConvTranspose2dTest, CloneCopiesParameters) {
  const Case c{3, 4, 5, 2, 1, 4, 4, 2};
  auto phase = make_phase(c);
  auto copy = std::dynamic_pointer_cast<PhaseConvTranspose2dImpl>(phase->clone());
  ASSERT_NE(copy, nullptr);
  EXPECT_TRUE(torch::equal(copy->weight, phase->weight));
  EXPECT_TRUE(torch::equal(copy->bias, phase->bias));
  EXPECT_NE(copy->weight.data_ptr(), phase->weight.data_ptr());
}

struct InvalidOptions {
  PhaseConvTranspose2dOptions options;
  std::string message;
};

TEST(PhaseConvTranspose2dTest, InvalidOptionsThrow) {
  const std::vector<InvalidOptions> cases = {
      {PhaseConvTranspose2dOptions(3, 4, 5).padding(2).output_padding(2),
       "PhaseConvTranspose2d: output_padding must be 0 or 1 (less than the stride 2), got 2"},
      {PhaseConvTranspose2dOptions(3, 4, 5).output_padding(-1),
       "PhaseConvTranspose2d: output_padding must be 0 or 1 (less than the stride 2), got -1"},
      {PhaseConvTranspose2dOptions(3, 4, 5).padding(-1),
       "PhaseConvTranspose2d: padding must be non-negative, got -1"},
      {PhaseConvTranspose2dOptions(3, 4, 0),
       "PhaseConvTranspose2d: kernel_size must be positive, got 0"},
      {PhaseConvTranspose2dOptions(0, 4, 5),
       "PhaseConvTranspose2d: in_channels must be positive, got 0"},
      {PhaseConvTranspose2dOptions(3, -2, 5),
       "PhaseConvTranspose2d: out_channels must be positive, got -2"},
  };
  for (const InvalidOptions& c : cases) {
    try {
      PhaseConvTranspose2d layer(c.options);
      ADD_FAILURE() << "expected std::invalid_argument: " << c.message;
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()), c.message);
    }
  }
}

struct InvalidInput {
  std::vector<int64_t> shape;
  std::string message;
};

TEST(PhaseConvTranspose2dTest, InvalidInputThrows) {
  PhaseConvTranspose2d layer(PhaseConvTranspose2dOptions(3, 4, 5).padding(4));
  const std::vector<InvalidInput> cases = {
      {{2, 3, 4}, "PhaseConvTranspose2d: expected 3 input channels, got 2"},
      {{1, 2, 3, 4, 4}, "PhaseConvTranspose2d: expected input (N, C, H, W) or (C, H, W), got 5 "
                        "dimensions"},
      {{2, 3}, "PhaseConvTranspose2d: expected input (N, C, H, W) or (C, H, W), got 2 dimensions"},
      {{1, 3, 2, 3}, "PhaseConvTranspose2d: input 2x3 gives an empty output -1x1"},
  };
  for (const InvalidInput& c : cases) {
    try {
      layer->forward(torch::zeros(c.shape));
      ADD_FAILURE() << "expected std::invalid_argument: " << c.message;
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()), c.message);
    }
  }
}

TEST(PhaseConvTranspose2dTest, MatchesConvTranspose2dOnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const Case c{16, 8, 5, 2, 1, 5, 4, 2};
  // Double: in float both sides may run TF32 convolutions, each rounding differently.
  Pair pair = make_pair(c, torch::kDouble);
  pair.reference->to(torch::kCUDA);
  pair.phase->to(torch::kCUDA);
  const torch::Tensor x = pair.input.to(torch::kCUDA);
  torch::NoGradGuard no_grad;
  const torch::Tensor want = pair.reference->forward(x);
  const torch::Tensor got = pair.phase->forward(x);
  EXPECT_TRUE(torch::allclose(got, want, 1e-10, 1e-12)) << c << " max error "
                                                          << max_error(got, want);
}

}  // namespace
}  // namespace dcgan
