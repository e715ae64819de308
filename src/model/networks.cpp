#include "dcgan/model/networks.h"

#include <torch/version.h>

#include <string>

#include "dcgan/error.h"
#include "dcgan/model/batch_norm_leaky_relu.h"
#include "dcgan/model/gemm_conv.h"
#include "dcgan/model/precision.h"
#include "dcgan/model/winograd_conv_transpose.h"

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
// The Winograd form was faster than oneDNN's at 1 and 2 threads (a 2-core AMD EPYC; a 16-core
// Intel Xeon at 2 threads) and slower at 16 (the Xeon). That 16-thread run predates the build
// with OpenMP (cmake/LibTorch.cmake), when the form's transforms ran on one thread at any thread
// count; with every thread, beyond 2 threads it is unmeasured: there `auto` is LibTorch's layer
// for one-off uses (sampling), and training times both (upconv_candidates; scripts/gpu-check.sh
// measures the forms on that machine's CPU). The same range for the GEMM form under native bf16,
// the only thread counts it was measured at (docs/PERFORMANCE.md). Under bf16 on a CPU with
// AVX512-BF16 but no AMX, the GEMM form and the Winograd form (emulating bf16 with fp32 kernels)
// each won on one CPU, so training times both there too (cpu_upconv_forms).
constexpr int kMaxWinogradThreads = 2;

// Whether `auto` is unmeasured here: the CPU, LibTorch 2 or later, beyond kMaxWinogradThreads.
bool beyond_measured_threads(const torch::Device& device) {
  return device.is_cpu() && !kPhaseIsFasterOnCpu && at::get_num_threads() > kMaxWinogradThreads;
}

std::vector<UpconvKind> cpu_forms(const std::string& amp) {
  return cpu_upconv_forms(amp, cpu_has_native_bf16(), cpu_has_amx_bf16());
}
}  // namespace

std::vector<UpconvKind> cpu_upconv_forms(const std::string& amp, bool native_bf16, bool amx_bf16) {
  if (amp != "bf16" || !native_bf16) return {UpconvKind::kWinograd};
  if (amx_bf16) return {UpconvKind::kGemm};
  return {UpconvKind::kGemm, UpconvKind::kWinograd};
}

UpconvKind resolve_upconv(const std::string& name, const torch::Device& device,
                          const std::string& amp) {
  if (const auto kind = parse_upconv_kind(name)) return *kind;
  if (name == "auto") {
    if (!device.is_cpu()) return UpconvKind::kNative;
    if (kPhaseIsFasterOnCpu) return UpconvKind::kPhase;
    if (beyond_measured_threads(device)) return UpconvKind::kNative;
    return cpu_forms(amp).front();
  }
  throw ConfigError("key 'model.upconv' must be one of auto, native, phase, winograd, gemm; got '" +
                    name + "'");
}

std::vector<UpconvKind> upconv_candidates(const std::string& name, const torch::Device& device,
                                          const std::string& amp) {
  const UpconvKind pick = resolve_upconv(name, device, amp);  // checks the name
  if (name != "auto" || !device.is_cpu() || kPhaseIsFasterOnCpu) return {pick};
  std::vector<UpconvKind> kinds;
  if (beyond_measured_threads(device)) kinds.push_back(UpconvKind::kNative);
  for (const UpconvKind kind : cpu_forms(amp)) kinds.push_back(kind);
  return kinds;
}

const char* upconv_name(UpconvKind kind) {
  switch (kind) {
    case UpconvKind::kPhase: return "phase";
    case UpconvKind::kWinograd: return "winograd";
    case UpconvKind::kGemm: return "gemm";
    default: return "native";
  }
}

std::optional<UpconvKind> parse_upconv_kind(const std::string& name) {
  for (const UpconvKind kind :
       {UpconvKind::kNative, UpconvKind::kPhase, UpconvKind::kWinograd, UpconvKind::kGemm}) {
    if (name == upconv_name(kind)) return kind;
  }
  return std::nullopt;
}

namespace {
// Stages between 4x4 and the image: 3 for 32x32, 4 for 64x64.
int64_t stages_for(int64_t image_size) { return image_size == 64 ? 4 : 3; }

// leaky_relu(bn(x)): in one pass each way on the CPU in training (batch_norm_leaky_relu.h), else
// batch norm (over the global batch where `sync`) and leaky ReLU as LibTorch's layers.
torch::Tensor batch_norm_then_leaky_relu(torch::nn::BatchNorm2dImpl& bn, const BatchNormSync* sync,
                                         const torch::Tensor& x, double slope) {
  if (sync == nullptr && batch_norm_leaky_relu_applies(x, bn)) {
    return batch_norm_leaky_relu(x, bn, slope);
  }
  namespace F = torch::nn::functional;
  return F::leaky_relu(sync != nullptr ? sync_batch_norm(x, bn, *sync) : bn.forward(x),
                       F::LeakyReLUFuncOptions().negative_slope(slope));
}
}  // namespace

GeneratorImpl::GeneratorImpl(const ModelOptions& options, int64_t channels, UpconvKind upconv)
    : upconv_(upconv),
      z_dim_(options.z_dim),
      channels_(channels),
      g_channels_(options.g_channels),
      image_size_(options.image_size),
      slope_(options.leaky_slope) {
  if (image_size_ != 32 && image_size_ != 64) {
    throw ConfigError("key 'model.image_size' must be 32 or 64, got " + std::to_string(image_size_));
  }
  const int64_t g = options.g_channels;
  const int64_t stages = stages_for(image_size_);
  fc_ = register_module("fc", torch::nn::Linear(options.z_dim, 4 * 4 * g));
  bn1_ = register_module("bn1", batch_norm(g, options));
  std::vector<int64_t> widths;  // g, g/2, g/4 (, g/8), C
  for (int64_t i = 0; i < stages; ++i) widths.push_back(g >> i);
  widths.push_back(channels);
  for (int64_t i = 0; i < stages; ++i) {
    const std::string name = "t" + std::to_string(i + 2);
    if (upconv != UpconvKind::kPhase) {
      native_.push_back(register_module(
          name, torch::nn::ConvTranspose2d(
                    torch::nn::ConvTranspose2dOptions(widths[i], widths[i + 1], kKernel)
                        .stride(kStride)
                        .padding(kPadding)
                        .output_padding(1))));
    } else {
      phase_.push_back(register_module(
          name, PhaseConvTranspose2d(PhaseConvTranspose2dOptions(widths[i], widths[i + 1], kKernel)
                                         .padding(kPadding)
                                         .output_padding(1))));
    }
  }
  for (int64_t i = 0; i + 1 < stages; ++i) {
    bns_.push_back(register_module("bn" + std::to_string(i + 2), batch_norm(widths[i + 1], options)));
  }
}

torch::Tensor GeneratorImpl::upconv(size_t index, const torch::Tensor& x) {
  if (upconv_ == UpconvKind::kWinograd) return winograd_layer_forward(native_[index], x);
  if (upconv_ == UpconvKind::kGemm) return gemm_layer_forward(native_[index], x);
  return !native_.empty()
             ? conv_transpose_forward(native_[index], x, kStride, kPadding, /*output_padding=*/1)
             : phase_[index]->forward(x);
}

torch::Tensor GeneratorImpl::norm_leaky_relu(torch::nn::BatchNorm2d& bn, const torch::Tensor& x) {
  return batch_norm_then_leaky_relu(*bn, bn_sync_.get(), x, slope_);
}

torch::Tensor GeneratorImpl::forward(const torch::Tensor& z) {
  auto x = linear_forward(fc_, z).view({-1, g_channels_, 4, 4});  // (N, g, 4, 4)
  if (upconv_ == UpconvKind::kGemm && gemm_conv_active()) {
    x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  }
  x = norm_leaky_relu(bn1_, x);
  for (size_t i = 0; i < bns_.size(); ++i) {
    x = norm_leaky_relu(bns_[i], upconv(i, x));  // (N, g/2, 8, 8), (N, g/4, 16, 16), ..
  }
  return torch::tanh(upconv(bns_.size(), x));  // (N, C, S, S)
}

DiscriminatorImpl::DiscriminatorImpl(const ModelOptions& options, int64_t channels,
                                     UpconvKind upconv)
    : upconv_(upconv), slope_(options.leaky_slope), image_size_(options.image_size) {
  if (image_size_ != 32 && image_size_ != 64) {
    throw ConfigError("key 'model.image_size' must be 32 or 64, got " + std::to_string(image_size_));
  }
  const int64_t d = options.d_channels;
  const int64_t stages = stages_for(image_size_);
  auto conv = [](int64_t in, int64_t out) {
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kKernel).stride(kStride).padding(kPadding));
  };
  // Registered as the 32x32 network always was: c1, c2, bn2, c3, bn3 (, c4, bn4), fc.
  int64_t in = channels;
  for (int64_t i = 0; i < stages; ++i) {
    const int64_t out = d << i;
    const std::string index = std::to_string(i + 1);
    convs_.push_back(register_module("c" + index, conv(in, out)));
    if (i > 0) bns_.push_back(register_module("bn" + index, batch_norm(out, options)));
    in = out;
  }
  fc_ = register_module("fc", torch::nn::Linear(4 * 4 * in, 1));
}

torch::Tensor DiscriminatorImpl::norm_leaky_relu(torch::nn::BatchNorm2d& bn,
                                                 const torch::Tensor& x) {
  return batch_norm_then_leaky_relu(*bn, bn_sync_.get(), x, slope_);
}

torch::Tensor DiscriminatorImpl::conv(size_t index, const torch::Tensor& x) {
  if (upconv_ == UpconvKind::kWinograd) return winograd_layer_forward(convs_[index], x);
  if (upconv_ == UpconvKind::kGemm) return gemm_layer_forward(convs_[index], x);
  return conv_forward(convs_[index], x, kStride, kPadding);
}

torch::Tensor DiscriminatorImpl::forward(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  const bool channels_last = upconv_ == UpconvKind::kGemm && gemm_conv_active();
  const auto input = channels_last ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
  // In place: the convolution's backward pass reads its input and weight, not its output, and
  // leaky ReLU's reads the sign, which the output keeps (slope >= 0). A fresh output of this size
  // was most of the activation's time: its pages faulted in on every call.
  auto h = F::leaky_relu(conv(0, input),
                         F::LeakyReLUFuncOptions().negative_slope(slope_).inplace(true));
  for (size_t i = 1; i < convs_.size(); ++i) {
    auto y = conv(i, h);
    // The last activation in the dense layer's (NCHW) order: its gradient comes back through the
    // flatten in that order, and leaky ReLU's and batch norm's backward passes between tensors of
    // two layouts are many times slower.
    if (i + 1 == convs_.size()) y = y.contiguous();
    h = norm_leaky_relu(bns_[i - 1], y);
  }
  return linear_forward(fc_, h.flatten(1));  // (N, 1)
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
