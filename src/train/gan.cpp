#include "dcgan/train/gan.h"

#include <torch/version.h>

#include <chrono>

#include "dcgan/dist/process_group.h"
#include "dcgan/error.h"
#include "dcgan/model/precision.h"
#include "dcgan/train/adam_step.h"
#include "dcgan/train/device.h"
#include "cuda_graph_step.h"
#include "gradient_buckets.h"

namespace dcgan {
namespace {

// Gradient buckets of about 4 MB of fp32: small enough that the first starts early in backward.
constexpr int64_t kBucketElements = 1 << 20;

// The bf16 emulation rounds where LibTorch 2's CPU autocast runs bf16; 1.13's lists differ.
constexpr bool kEmulationFollowsThisAutocast = TORCH_VERSION_MAJOR >= 2;

// Measures phases only when asked: the untimed step pays one null check per phase.
class PhaseClock {
 public:
  PhaseClock(StepPhases* phases, const torch::Device& device)
      : phases_(phases), cuda_(device.is_cuda()), last_(now()) {}
  void lap(double StepPhases::*phase) {
    if (phases_ == nullptr) return;
    if (cuda_) torch::cuda::synchronize();
    const auto t = now();
    phases_->*phase += std::chrono::duration<double>(t - last_).count();
    last_ = t;
  }

 private:
  static std::chrono::steady_clock::time_point now() { return std::chrono::steady_clock::now(); }
  StepPhases* phases_;
  bool cuda_;
  std::chrono::steady_clock::time_point last_;
};

torch::optim::AdamOptions adam_options(const TrainOptions& train) {
  return torch::optim::AdamOptions(train.lr).betas({train.beta1, train.beta2});
}

// Freezes a module's parameters while alive (their gradients are not computed), even when the
// scope is left by an exception.
class FrozenParameters {
 public:
  explicit FrozenParameters(torch::nn::Module& module) : module_(module) { set(false); }
  ~FrozenParameters() { set(true); }
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  void set(bool flag) {
    for (auto& p : module_.parameters()) p.set_requires_grad(flag);
  }
  torch::nn::Module& module_;
};

}  // namespace

Gan::Gan(const Config& config, int64_t channels, const torch::Device& device)
    : Gan(config, channels, device, resolve_upconv(config.model.upconv, device, config.run.amp)) {}

Gan::Gan(const Config& config, int64_t channels, const torch::Device& device, UpconvKind upconv)
    : upconv_(upconv),
      real_label_(1.0 - config.train.label_smoothing),
      ema_decay_(config.train.ema),
      bf16_autocast_(config.run.amp == "bf16"),
      device_type_(device.type()),
      // Where the CPU has no bf16 arithmetic, and for the Winograd form, whose kernels are fp32.
      emulate_bf16_(kEmulationFollowsThisAutocast && device.is_cpu() &&
                    (!cpu_has_native_bf16() || upconv == UpconvKind::kWinograd)) {
  if (config.run.cuda_graphs) graph_ = make_cuda_graph_step(device);
  if (bf16_autocast_ && !device.is_cuda() && !device.is_cpu()) {
    throw ConfigError("key 'run.amp' is bf16, which needs a CPU or CUDA device; the run is on " +
                      device.str());
  }
  if (bf16_autocast_ && device.is_cpu() && !cpu_has_native_bf16()) {
    // LibTorch 1.13 sends bf16 convolutions to oneDNN wherever the CPU has AVX-512, whatever the
    // cap, and oneDNN fails them below AVX-512 ("could not create a primitive descriptor").
    if (!kEmulationFollowsThisAutocast && !bf16_isa_cap().empty() && onednn_isa_cap_below_avx512()) {
      throw ConfigError("key 'run.amp' is bf16, which LibTorch " TORCH_VERSION " cannot run on "
                        "this CPU under " + bf16_isa_cap() + ": its bf16 convolutions go to oneDNN, "
                        "which has no bf16 kernels below AVX512_CORE; unset it, or use run.amp none "
                        "or LibTorch 2");
    }
    bf16_note_ = no_native_bf16_note(emulate_bf16_, bf16_isa_cap());
  }
  generator = Generator(config.model, channels, upconv);
  discriminator = Discriminator(config.model, channels, upconv);
  init_weights(*generator, config.model.init, config.model.init_std);
  init_weights(*discriminator, config.model.init, config.model.init_std);
  generator->to(device);
  discriminator->to(device);
  if (ema_decay_ > 0) {
    ema_generator = Generator(config.model, channels, upconv);
    ema_generator->to(device);
    ema_generator->eval();
    // Gathered once: the step updates these tensors in place (loading a checkpoint copies into
    // them too), so the lists stay valid and the per-step update walks no module tree.
    g_params_ = generator->parameters();
    g_buffers_ = generator->buffers();
    ema_params_ = ema_generator->parameters();
    ema_buffers_ = ema_generator->buffers();
    reset_ema();
  }
  g_optimizer = std::make_unique<torch::optim::Adam>(generator->parameters(), adam_options(config.train));
  d_optimizer =
      std::make_unique<torch::optim::Adam>(discriminator->parameters(), adam_options(config.train));
}

Gan::~Gan() = default;
Gan::Gan(Gan&&) noexcept = default;
Gan& Gan::operator=(Gan&&) noexcept = default;

StepStats Gan::step(const torch::Tensor& real, const torch::Tensor& z, StepPhases* phases) {
  StepStats stats = graph_ && phases == nullptr
                        ? graph_->step(*this, real, z)
                        : eager_step(real, z, phases, adam_step);
  if (ema_generator) update_ema();
  return stats;
}

void Gan::reset_ema() {
  if (!ema_generator) return;
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < ema_params_.size(); ++i) ema_params_[i].copy_(g_params_[i]);
  for (size_t i = 0; i < ema_buffers_.size(); ++i) ema_buffers_[i].copy_(g_buffers_[i]);
}

void Gan::update_ema() {
  // ema = decay * ema + (1 - decay) * p, i.e. ema.lerp_(p, 1 - decay). Batch norm's running
  // statistics are copied: an average of running averages would lag twice.
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < ema_params_.size(); ++i) {
    ema_params_[i].lerp_(g_params_[i], 1.0 - ema_decay_);
  }
  for (size_t i = 0; i < ema_buffers_.size(); ++i) ema_buffers_[i].copy_(g_buffers_[i]);
}

StepStats Gan::eager_step(const torch::Tensor& real, const torch::Tensor& z, StepPhases* phases,
                          const std::function<void(torch::optim::Adam&)>& update) {
  namespace F = torch::nn::functional;
  PhaseClock clock(phases, real.device());
  torch::Tensor fake, real_logits, fake_logits;
  {
    Bf16Autocast autocast(bf16_autocast_, device_type_, emulate_bf16_);
    fake = generator->forward(z);  // (N, C, 32, 32)
    clock.lap(&StepPhases::g_forward);
    // D step. The fake batch is detached: G's graph is kept for its own step below.
    real_logits = discriminator->forward(real);           // (N, 1)
    fake_logits = discriminator->forward(fake.detach());  // (N, 1)
  }
  // The losses in fp32, whatever precision the logits came in.
  real_logits = real_logits.to(torch::kFloat);
  fake_logits = fake_logits.to(torch::kFloat);
  const torch::Tensor d_loss =
      F::binary_cross_entropy_with_logits(real_logits, torch::full_like(real_logits, real_label_)) +
      F::binary_cross_entropy_with_logits(fake_logits, torch::zeros_like(fake_logits));
  d_optimizer->zero_grad();
  if (d_buckets_) d_buckets_->arm();
  d_loss.backward();
  clock.lap(&StepPhases::d_forward_backward);
  if (group_ != nullptr) {
    average_gradients(d_buckets_.get(), *discriminator, "averaging D's gradients");
    clock.lap(&StepPhases::communication);
  }
  update(*d_optimizer);
  clock.lap(&StepPhases::optimizers);

  // G step through the updated D. D's weight gradients are not needed here: freezing its
  // parameters skips computing them (the gradient still flows through D to G).
  torch::Tensor g_loss;
  {
    FrozenParameters frozen(*discriminator);
    torch::Tensor g_logits;
    {
      Bf16Autocast autocast(bf16_autocast_, device_type_, emulate_bf16_);
      g_logits = discriminator->forward(fake).to(torch::kFloat);
    }
    g_loss = F::binary_cross_entropy_with_logits(g_logits, torch::ones_like(g_logits));
    g_optimizer->zero_grad();
    if (g_buckets_) g_buckets_->arm();
    g_loss.backward();
  }
  clock.lap(&StepPhases::g_backward);
  if (group_ != nullptr) {
    average_gradients(g_buckets_.get(), *generator, "averaging G's gradients");
    clock.lap(&StepPhases::communication);
  }
  update(*g_optimizer);
  clock.lap(&StepPhases::optimizers);

  torch::NoGradGuard no_grad;
  StepStats stats;
  stats.d_loss = d_loss.detach();
  stats.g_loss = g_loss.detach();
  stats.d_real = torch::sigmoid(real_logits.detach()).mean();
  stats.d_fake = torch::sigmoid(fake_logits.detach()).mean();
  return stats;
}

void Gan::set_process_group(ProcessGroup* group, bool sync_bn, bool overlap) {
  if (graph_ && group != nullptr) {
    throw ConfigError("key 'run.cuda_graphs' cannot be used in distributed training: a captured "
                      "step cannot take part in collectives");
  }
  group_ = group;
  d_buckets_.reset();
  g_buckets_.reset();
  if (group != nullptr && overlap) {
    d_buckets_ = std::make_unique<GradientBuckets>(discriminator->parameters(), *group,
                                                   kBucketElements, "averaging D's gradients");
    g_buckets_ = std::make_unique<GradientBuckets>(generator->parameters(), *group,
                                                   kBucketElements, "averaging G's gradients");
  }
  std::shared_ptr<const BatchNormSync> sync;
  if (group != nullptr && sync_bn) {
    auto shared = std::make_shared<BatchNormSync>();
    shared->world_size = group->size();
    shared->all_reduce_sum = [group](torch::Tensor& t) {
      group->all_reduce_sum({t}, "syncing batch norm statistics");
    };
    sync = std::move(shared);
  }
  generator->set_batch_norm_sync(sync);
  discriminator->set_batch_norm_sync(sync);
}

void Gan::average_gradients(GradientBuckets* buckets, torch::nn::Module& module, const char* what) {
  if (buckets != nullptr) {
    buckets->finish();  // started during backward
    return;
  }
  std::vector<torch::Tensor> grads;
  for (auto& p : module.parameters()) {
    if (p.grad().defined()) grads.push_back(p.mutable_grad());
  }
  group_->all_reduce_mean(grads, what);
}

void Gan::set_optimizer_options(const TrainOptions& train) {
  for (auto* optimizer : {g_optimizer.get(), d_optimizer.get()}) {
    for (auto& group : optimizer->param_groups()) {
      group.set_options(std::make_unique<torch::optim::AdamOptions>(adam_options(train)));
    }
  }
  if (graph_) graph_->reset();  // the captured update holds the old options
}

torch::Tensor Gan::sample(const torch::Tensor& z) {
  torch::NoGradGuard no_grad;
  if (ema_generator) return ema_generator->forward(z);
  generator->eval();
  auto images = generator->forward(z);
  generator->train();
  return images;
}

}  // namespace dcgan
