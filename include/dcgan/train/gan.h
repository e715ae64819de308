// The GAN being trained: G, D, their Adam optimizers, and one training step.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dcgan/config/config.h"
#include "dcgan/model/networks.h"

namespace dcgan {

// Statistics of one step, as 0-dim tensors on the training device: reading them (.item())
// synchronises with the device, so the trainer only does it on logging steps.
struct StepStats {
  torch::Tensor d_loss;  // BCE(D(x), 1 - s) + BCE(D(G(z)), 0)
  torch::Tensor g_loss;  // BCE(D(G(z)), 1)
  torch::Tensor d_real;  // mean sigmoid(D(x))
  torch::Tensor d_fake;  // mean sigmoid(D(G(z))), before D's update
};

// Wall-clock seconds of each phase of one step; filled only when a step is timed (dcgan bench),
// which synchronises the device between phases.
struct StepPhases {
  double g_forward = 0;        // G(z)
  double d_forward_backward = 0;  // D on real and fake, D's loss backward
  double g_backward = 0;       // D on the fake batch again, G's loss backward through D and G
  double optimizers = 0;       // both Adam steps
  double communication = 0;    // distributed: averaging the gradients over ranks
  double total() const {
    return g_forward + d_forward_backward + g_backward + optimizers + communication;
  }
};

class CudaGraphStep;
class GradientBuckets;
class ProcessGroup;

class Gan {
 public:
  // Builds G and D for `channels`-channel images on `device`, initialised per options.model.init
  // from the global LibTorch generator (seed it first). run.amp = bf16 runs the forward passes
  // under the device's autocast (CPU or CUDA): weights, optimizer state and losses stay fp32. On
  // a CPU without native bf16, and with the Winograd form (UpconvKind::kWinograd), the
  // convolutions emulate it with fp32 kernels (model/precision.h).
  // run.cuda_graphs: the step is captured in a CUDA graph after a few eager steps and replayed
  // (ConfigError where that cannot run).
  Gan(const Config& config, int64_t channels, const torch::Device& device);
  // The same with G's and D's layers as `upconv` (e.g. upconv_choice.h's pick) rather than
  // resolve_upconv's for config.model.upconv.
  Gan(const Config& config, int64_t channels, const torch::Device& device, UpconvKind upconv);
  ~Gan();
  Gan(Gan&&) noexcept;
  Gan& operator=(Gan&&) noexcept;

  // One reference step: D on the real and the fake batch (separate batch statistics), D's Adam
  // step; then G through the updated D, G's Adam step. real: (N, C, 32, 32) in [-1, 1] on the
  // device; z: (N, z_dim) on the device. `phases`, when given, receives each phase's time; such
  // a step runs eagerly even under run.cuda_graphs (a graph has no phases to time).
  StepStats step(const torch::Tensor& real, const torch::Tensor& z, StepPhases* phases = nullptr);

  // Sets both optimizers' learning rate and betas from `train`. A resumed run loads Adam's state
  // from its checkpoint, which (from LibTorch 2 on) brings back the options it was saved with;
  // the run's current config must win.
  void set_optimizer_options(const TrainOptions& train);

  // Data-parallel training over `group`'s ranks, each stepping on its shard of the global batch:
  // D's and G's gradients are averaged over the ranks before each Adam step, so every rank
  // takes the same step. `sync_bn`: batch norm over the global batch (model.sync_bn). The group
  // must outlive the Gan. `overlap`: each network's gradients are averaged in buckets that start
  // while its backward pass still runs (as DDP); otherwise in one exchange after it. ConfigError
  // under run.cuda_graphs.
  void set_process_group(ProcessGroup* group, bool sync_bn, bool overlap = true);

  // The layers' form G and D were built with.
  UpconvKind upconv() const { return upconv_; }

  // What a bf16 run on a CPU without native bf16 is told once (which bf16 kernels run); empty
  // for every other run.
  std::string bf16_note() const { return bf16_note_; }

  // G(z) with batch norm in eval mode (population statistics), without gradients; the averaged
  // generator's when train.ema is on.
  torch::Tensor sample(const torch::Tensor& z);

  // The generator that samples and quality measurements use: the averaged one when there is one.
  Generator& sampling_generator() { return ema_generator ? ema_generator : generator; }

  // Starts the average from G's current weights (a new run, or a resumed run that had none).
  void reset_ema();

  Generator generator{nullptr};
  // train.ema > 0: the exponential moving average of G's parameters (batch-norm buffers copied),
  // updated after every step; always in eval mode. nullptr when off.
  Generator ema_generator{nullptr};
  Discriminator discriminator{nullptr};
  std::unique_ptr<torch::optim::Adam> g_optimizer;
  std::unique_ptr<torch::optim::Adam> d_optimizer;

 private:
  friend class CudaGraphStep;
  // The step as eager code, `update` doing each optimizer's update.
  StepStats eager_step(const torch::Tensor& real, const torch::Tensor& z, StepPhases* phases,
                       const std::function<void(torch::optim::Adam&)>& update);

  void update_ema();
  // Averages the gradients of `module`'s parameters over the ranks (distributed runs only): the
  // rest of what `buckets` started during backward, or all of them now when it is null.
  void average_gradients(GradientBuckets* buckets, torch::nn::Module& module, const char* what);

  UpconvKind upconv_;
  double real_label_;
  double ema_decay_;
  // With train.ema: G's and the average's parameters and buffers, in the same order.
  std::vector<torch::Tensor> g_params_, g_buffers_, ema_params_, ema_buffers_;
  bool bf16_autocast_;
  at::DeviceType device_type_;
  bool emulate_bf16_;  // CPU without native bf16, or the Winograd form: model/precision.h
  std::string bf16_note_;
  std::unique_ptr<CudaGraphStep> graph_;  // run.cuda_graphs
  ProcessGroup* group_ = nullptr;         // distributed runs
  // With overlap: D's and G's gradient buckets (nullptr: averaged after backward).
  std::unique_ptr<GradientBuckets> d_buckets_, g_buckets_;
};

}  // namespace dcgan
