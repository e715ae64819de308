#include "dcgan/model/networks.h"

#include <torch/version.h>

#include <string>

#include "dcgan/error.h"
#include "dcgan/model/precision.h"

namespace dcgan {
namespace {

torch::nn::BatchNorm2d batch_norm(int64_t channels, const ModelOptions& options) {
  return torch::nn::BatchNorm2d(
      torch::nn::BatchNorm2dOptions(channels).eps(options.bn_eps).momentum(options.bn_momentum));
}

// k5 s2 "same": padding 2 (and output_padding 1 for the transposed form) doubles/halves H and W.
constexpr int64_t kKernel = 5;
constexpr int64_t kPadding = 2;
constexpr int64_t kStride = 2;

// LibTorch 1.13's CPU transposed convolution is several times slower than the phase form; from
// LibTorch 2 on, oneDNN's is faster than it (docs/PERFORMANCE.md).
constexpr bool kPhaseIsFasterOnCpu = TORCH_VERSION_MAJOR < 2;

}  // namespace

UpconvKind resolve_upconv(const std::string& name, const torch::Device& device) {
  if (name == "native") return UpconvKind::kNative;
  if (name == "phase") return UpconvKind::kPhase;
  if (name == "auto") return device.is_cpu() && kPhaseIsFasterOnCpu ? UpconvKind::kPhase : UpconvKind::kNative;
  throw ConfigError("key 'model.upconv' must be one of auto, native, phase; got '" + name + "'");
}

GeneratorImpl::GeneratorImpl(const ModelOptions& options, int64_t channels, UpconvKind upconv)
    : z_dim_(options.z_dim),
      channels_(channels),
      g_channels_(options.g_channels),
      slope_(options.leaky_slope) {
  const int64_t g = options.g_channels;
  fc_ = register_module("fc", torch::nn::Linear(options.z_dim, 4 * 4 * g));
  bn1_ = register_module("bn1", batch_norm(g, options));
  const int64_t widths[4] = {g, g / 2, g / 4, channels};
  for (size_t i = 0; i < 3; ++i) {
    const std::string name = "t" + std::to_string(i + 2);
    if (upconv == UpconvKind::kNative) {
      native_[i] = register_module(
          name, torch::nn::ConvTranspose2d(
                    torch::nn::ConvTranspose2dOptions(widths[i], widths[i + 1], kKernel)
                        .stride(kStride)
                        .padding(kPadding)
                        .output_padding(1)));
    } else {
      phase_[i] = register_module(
          name, PhaseConvTranspose2d(PhaseConvTranspose2dOptions(widths[i], widths[i + 1], kKernel)
                                         .padding(kPadding)
                                         .output_padding(1)));
    }
  }
  bn2_ = register_module("bn2", batch_norm(g / 2, options));
  bn3_ = register_module("bn3", batch_norm(g / 4, options));
}

torch::Tensor GeneratorImpl::upconv(size_t index, const torch::Tensor& x) {
  return native_[index]
             ? conv_transpose_forward(native_[index], x, kStride, kPadding, /*output_padding=*/1)
             : phase_[index]->forward(x);
}

torch::Tensor GeneratorImpl::forward(const torch::Tensor& z) {
  namespace F = torch::nn::functional;
  const auto lrelu = F::LeakyReLUFuncOptions().negative_slope(slope_);
  auto x = linear_forward(fc_, z).view({-1, g_channels_, 4, 4});      // (N, g, 4, 4)
  x = F::leaky_relu(bn1_->forward(x), lrelu);
  x = F::leaky_relu(bn2_->forward(upconv(0, x)), lrelu);       // (N, g/2, 8, 8)
  x = F::leaky_relu(bn3_->forward(upconv(1, x)), lrelu);       // (N, g/4, 16, 16)
  return torch::tanh(upconv(2, x));                             // (N, C, 32, 32)
}

DiscriminatorImpl::DiscriminatorImpl(const ModelOptions& options, int64_t channels)
    : slope_(options.leaky_slope) {
  const int64_t d = options.d_channels;
  auto conv = [](int64_t in, int64_t out) {
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kKernel).stride(kStride).padding(kPadding));
  };
  c1_ = register_module("c1", conv(channels, d));
  c2_ = register_module("c2", conv(d, 2 * d));
  bn2_ = register_module("bn2", batch_norm(2 * d, options));
  c3_ = register_module("c3", conv(2 * d, 4 * d));
  bn3_ = register_module("bn3", batch_norm(4 * d, options));
  fc_ = register_module("fc", torch::nn::Linear(4 * 4 * 4 * d, 1));
}

torch::Tensor DiscriminatorImpl::forward(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  const auto lrelu = F::LeakyReLUFuncOptions().negative_slope(slope_);
  auto h = F::leaky_relu(conv_forward(c1_, x, kStride, kPadding), lrelu);              // (N, d, 16, 16)
  h = F::leaky_relu(bn2_->forward(conv_forward(c2_, h, kStride, kPadding)), lrelu);    // (N, 2d, 8, 8)
  h = F::leaky_relu(bn3_->forward(conv_forward(c3_, h, kStride, kPadding)), lrelu);    // (N, 4d, 4, 4)
  return linear_forward(fc_, h.flatten(1));                                            // (N, 1)
}

void init_weights(torch::nn::Module& module, const std::string& init, double init_std) {
  if (init == "torch") return;  // keep what the layers' constructors drew
  if (init != "xavier_uniform" && init != "normal") {
    throw ConfigError("key 'model.init' must be one of xavier_uniform, normal, torch; got '" +
                      init + "'");
  }
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor& p = item.value();
    const bool is_weight = name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0;
    if (!is_weight) {
      p.zero_();  // biases, and batch-norm shifts (beta)
    } else if (p.dim() == 1) {
      p.fill_(1.0);  // batch-norm scales (gamma)
    } else if (init == "xavier_uniform") {
      torch::nn::init::xavier_uniform_(p);
    } else {
      torch::nn::init::normal_(p, 0.0, init_std);
    }
  }
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& p : module.parameters()) total += p.numel();
  return total;
}

torch::Tensor sample_noise(int64_t n, int64_t z_dim, const torch::Device& device,
                           c10::optional<at::Generator> generator) {
  // Drawn on the CPU so a seed gives the same noise on every device.
  auto z = at::empty({n, z_dim}, torch::kFloat).uniform_(-1.0, 1.0, generator);
  // To a GPU from page-locked memory, without holding the host (data/image_set.h's reason).
  return device.is_cuda() ? z.pin_memory().to(device, /*non_blocking=*/true) : z.to(device);
}

}  // namespace dcgan
