// The reference DCGAN for 32x32 images (docs: SPEC.md): Generator and Discriminator modules.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "dcgan/config/config.h"
#include "dcgan/model/phase_conv_transpose.h"

namespace dcgan {

constexpr int64_t kImageSize = 32;

// Which transposed-convolution implementation G uses. Both hold the same parameters.
enum class UpconvKind { kNative, kPhase };
// `auto` picks kPhase on the CPU with LibTorch 1.13 (its CPU transposed conv is slow) and kNative
// elsewhere (oneDNN's from LibTorch 2 on, cuDNN's on CUDA). Throws ConfigError for another name.
UpconvKind resolve_upconv(const std::string& name, const torch::Device& device);

// G(z): z (N, z_dim) in [-1, 1] -> images (N, channels, 32, 32) in [-1, 1].
// dense -> 4x4xg -> BN, lrelu -> tconv g/2 -> BN, lrelu -> tconv g/4 -> BN, lrelu -> tconv C, tanh.
class GeneratorImpl : public torch::nn::Module {
 public:
  GeneratorImpl(const ModelOptions& options, int64_t channels, UpconvKind upconv);
  torch::Tensor forward(const torch::Tensor& z);

  int64_t z_dim() const { return z_dim_; }
  int64_t channels() const { return channels_; }

 private:
  torch::Tensor upconv(size_t index, const torch::Tensor& x);

  int64_t z_dim_;
  int64_t channels_;
  int64_t g_channels_;
  double slope_;
  torch::nn::Linear fc_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  // Exactly one of each pair is set, per UpconvKind; either registers as "t2", "t3", "t4".
  torch::nn::ConvTranspose2d native_[3] = {nullptr, nullptr, nullptr};
  PhaseConvTranspose2d phase_[3] = {nullptr, nullptr, nullptr};
};
TORCH_MODULE(Generator);

// D(x): images (N, channels, 32, 32) in [-1, 1] -> logits (N, 1).
// conv d, lrelu -> conv 2d, BN, lrelu -> conv 4d, BN, lrelu -> flatten -> dense 1.
class DiscriminatorImpl : public torch::nn::Module {
 public:
  DiscriminatorImpl(const ModelOptions& options, int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  double slope_;
  torch::nn::Conv2d c1_{nullptr}, c2_{nullptr}, c3_{nullptr};
  torch::nn::BatchNorm2d bn2_{nullptr}, bn3_{nullptr};
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(Discriminator);

// Initialises weights per `init` (`xavier_uniform`, `normal`, `torch`; see ModelOptions) using
// the global LibTorch generator: seed it first for reproducible weights. BN: gamma 1, beta 0.
void init_weights(torch::nn::Module& module, const std::string& init, double init_std);

// Number of trainable parameters.
int64_t count_parameters(const torch::nn::Module& module);

// Uniform noise in [-1, 1], (n, z_dim).
torch::Tensor sample_noise(int64_t n, int64_t z_dim, const torch::Device& device,
                           c10::optional<at::Generator> generator = c10::nullopt);

}  // namespace dcgan
