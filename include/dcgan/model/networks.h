// The reference DCGAN for 32x32 images (docs: SPEC.md), and the DCGAN paper's 64x64 form with one
// more stage each side: Generator and Discriminator modules.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dcgan/config/config.h"
#include "dcgan/model/phase_conv_transpose.h"
#include "dcgan/model/sync_batch_norm.h"

namespace dcgan {

// The reference's image size; model.image_size may also be 64.
constexpr int64_t kImageSize = 32;

// Which transposed-convolution implementation G uses, and for kWinograd and kGemm D's convolutions
// too. All hold the same parameters.
// kWinograd: winograd_conv_transpose.h on the CPU in fp32, and under CPU bf16 autocast (from
// LibTorch 2 on) as the fp32 kernel of emulated bf16 (precision.h), on any CPU, for G's and D's
// wide layers; LibTorch's (kNative) elsewhere. kGemm: gemm_conv.h's form, for G's and D's wide
// layers, under CPU bf16 autocast on a CPU with native bf16, LibTorch's elsewhere.
enum class UpconvKind { kNative, kPhase, kWinograd, kGemm };
// `auto` picks, on the CPU, kPhase with LibTorch 1.13 (its CPU transposed conv is slow); from
// LibTorch 2 on, at 1 or 2 intra-op threads (at::get_num_threads() now: set the thread count
// first), the first of cpu_upconv_forms (kGemm for `amp` bf16 on a CPU with native bf16,
// kWinograd otherwise), and kNative beyond 2 threads (where training times the forms:
// upconv_candidates); kNative (cuDNN's) on CUDA. Throws ConfigError for another name.
UpconvKind resolve_upconv(const std::string& name, const torch::Device& device,
                          const std::string& amp = "none");
// The forms measured faster than LibTorch's layers on the CPU at 1 or 2 threads, for `amp` on a
// CPU with or without native bf16 and AMX: kWinograd in fp32 and for emulated bf16; kGemm under
// bf16 with AMX; under bf16 with AVX512-BF16 alone both, each faster on one CPU (timed).
std::vector<UpconvKind> cpu_upconv_forms(const std::string& amp, bool native_bf16, bool amx_bf16);
// "native", "phase", "winograd" or "gemm".
const char* upconv_name(UpconvKind kind);
// The kind upconv_name names `name`; nullopt for any other, e.g. "auto".
std::optional<UpconvKind> parse_upconv_kind(const std::string& name);
// The kinds `name` may run as for training on `device` now, LibTorch's first: resolve_upconv's
// pick alone, but for `auto` on the CPU from LibTorch 2 on, where no one form has been measured
// fastest, the forms to time (train/upconv_choice.h): beyond 2 threads LibTorch's and
// cpu_upconv_forms, at 1 or 2 threads cpu_upconv_forms where it names two. Throws ConfigError for
// an unknown name.
std::vector<UpconvKind> upconv_candidates(const std::string& name, const torch::Device& device,
                                          const std::string& amp = "none");

// G(z): z (N, z_dim) in [-1, 1] -> images (N, channels, S, S) in [-1, 1], S = model.image_size.
// dense -> 4x4xg -> BN, lrelu -> tconv g/2 -> BN, lrelu -> tconv g/4 -> BN, lrelu -> tconv C, tanh
// (S = 32); S = 64 has one more stage, tconv g/8 -> BN, lrelu, before the last.
// Layers: fc, bn1, t2..t4 (t5 at 64), bn2, bn3 (bn4 at 64).
class GeneratorImpl : public torch::nn::Module {
 public:
  GeneratorImpl(const ModelOptions& options, int64_t channels, UpconvKind upconv);
  torch::Tensor forward(const torch::Tensor& z);

  int64_t z_dim() const { return z_dim_; }
  int64_t channels() const { return channels_; }
  int64_t image_size() const { return image_size_; }

  // Batch norm over the global batch of a distributed run (model.sync_bn); nullptr: this
  // process's batch, as always.
  void set_batch_norm_sync(std::shared_ptr<const BatchNormSync> sync) { bn_sync_ = std::move(sync); }

 private:
  torch::Tensor upconv(size_t index, const torch::Tensor& x);
  // leaky_relu(bn(x)) (batch_norm_then_leaky_relu).
  torch::Tensor norm_leaky_relu(torch::nn::BatchNorm2d& bn, const torch::Tensor& x);

  std::shared_ptr<const BatchNormSync> bn_sync_;

  UpconvKind upconv_;
  int64_t z_dim_;
  int64_t channels_;
  int64_t g_channels_;
  int64_t image_size_;
  double slope_;
  torch::nn::Linear fc_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  std::vector<torch::nn::BatchNorm2d> bns_;  // after every upconv but the last
  // Exactly one of each pair is set, per UpconvKind (native_ for kNative and kWinograd); either
  // registers as "t2", "t3", ...
  std::vector<torch::nn::ConvTranspose2d> native_;
  std::vector<PhaseConvTranspose2d> phase_;
};
TORCH_MODULE(Generator);

// D(x): images (N, channels, S, S) in [-1, 1] -> logits (N, 1).
// conv d, lrelu -> conv 2d, BN, lrelu -> conv 4d, BN, lrelu -> flatten -> dense 1 (S = 32);
// S = 64 has one more stage, conv 8d, BN, lrelu, before the dense layer.
// Layers: c1..c3 (c4 at 64), bn2, bn3 (bn4 at 64), fc.
class DiscriminatorImpl : public torch::nn::Module {
 public:
  // upconv: G's kind, whose kWinograd and kGemm also take D's wide convolutions where they apply
  // (winograd_conv_transpose.h, gemm_conv.h); kNative and kPhase keep LibTorch's.
  DiscriminatorImpl(const ModelOptions& options, int64_t channels,
                    UpconvKind upconv = UpconvKind::kNative);
  torch::Tensor forward(const torch::Tensor& x);

  // As GeneratorImpl::set_batch_norm_sync.
  void set_batch_norm_sync(std::shared_ptr<const BatchNormSync> sync) { bn_sync_ = std::move(sync); }

 private:
  torch::Tensor conv(size_t index, const torch::Tensor& x);
  // leaky_relu(bn(x)) (batch_norm_then_leaky_relu).
  torch::Tensor norm_leaky_relu(torch::nn::BatchNorm2d& bn, const torch::Tensor& x);

  std::shared_ptr<const BatchNormSync> bn_sync_;
  UpconvKind upconv_;
  double slope_;
  int64_t image_size_;
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<torch::nn::BatchNorm2d> bns_;  // after every conv but the first
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
