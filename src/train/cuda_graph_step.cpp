#include "cuda_graph_step.h"

#include <torch/version.h>

#include <optional>

#include "dcgan/error.h"
#include "dcgan/train/capturable_adam.h"

#if defined(DCGAN_WITH_CUDA) && \
    (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1))
#define DCGAN_CUDA_GRAPHS 1
#else
#define DCGAN_CUDA_GRAPHS 0
#endif

#if DCGAN_CUDA_GRAPHS
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace dcgan {

#if DCGAN_CUDA_GRAPHS
namespace {

// How the step becomes one graph.
//
// - Warm-up: the first kWarmupSteps steps run eagerly, with torch's Adam. They are real training
//   steps. They let cuDNN pick its algorithms (run.cudnn_benchmark) and create Adam's state,
//   which the capture needs to exist.
// - Streams: every step, warm-up included, runs on one side stream (the default stream cannot be
//   captured), so that what the first steps create for a stream (cuBLAS's workspace) exists
//   before the capture; events order it after the caller's stream and the caller's after it.
// - Capture: gradients set to none first, so that the backward passes inside the capture
//   allocate them from the graph's private memory pool: they stay at those addresses, and every
//   replay rewrites them. Inputs come from static buffers (static_real_, static_z_) that each
//   step copies its batch and noise into before the replay; the noise is drawn outside the
//   graph, as in an eager step, so a seed gives the same run with and without graphs. The step
//   has no random operation inside (no dropout), so the graph needs no RNG state of its own.
// - Optimizers: torch::optim::Adam computes its bias corrections on the host from a host step
//   count, which a capture would freeze. CapturableAdam does the same arithmetic from a device
//   step count, on the optimizer's own state; the host counts advance after each replay, so a
//   checkpoint written between replays holds the right count.
// - Autocast (run.amp bf16): its cache of bf16 weights lives within one autocast scope, which
//   lies inside the step, so each replay casts the weights it has just updated.
// - Statistics: the four numbers are stacked into one static tensor inside the graph; a step
//   returns a copy of it made on the caller's stream, which logging reads whenever it likes.
// - The capture itself runs nothing: the step that is captured is then replayed once.
// - Module modes, requires_grad flags and the like are host state: the graph records kernels
//   only, so sampling (batch norm in eval mode) in between replays is eager and unaffected.
// A resumed run builds a new Gan and captures again; so does a change of optimizer options.
class CudaGraphStepImpl final : public CudaGraphStep {
 public:
  static constexpr int kWarmupSteps = 3;

  StepStats step(Gan& gan, const torch::Tensor& real, const torch::Tensor& z) override {
    const c10::DeviceIndex index = real.device().index();
    const c10::cuda::CUDAStream current = c10::cuda::getCurrentCUDAStream(index);
    if (!side_) side_ = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, index);
    // Every step runs on the side stream, ordered after the caller's work on its stream (the
    // batch and noise copies) and before whatever the caller queues next.
    before_.record(current);
    before_.block(*side_);
    std::optional<StepStats> eager;
    {
      c10::cuda::CUDAStreamGuard on_side(*side_);
      eager = step_on_side(gan, real, z);
    }
    after_.record(*side_);
    after_.block(current);
    if (eager) {
      // Made on the side stream, used and freed on the caller's.
      for (auto* t : {&eager->d_loss, &eager->g_loss, &eager->d_real, &eager->d_fake}) {
        t->record_stream(current);
      }
      return *eager;
    }
    const torch::Tensor stats = stats_.clone();
    return StepStats{stats[0], stats[1], stats[2], stats[3]};
  }

  // The warm-up is not cut short: a resumed run sets its options before its first step, and a
  // capture before any eager step would create cuBLAS's handle inside it, which CUDA refuses.
  void reset() override {
    graph_.reset();
    d_adam_.reset();
    g_adam_.reset();
  }

 private:
  // An eager (warm-up) step's statistics, or none after a replay (they are in stats_).
  std::optional<StepStats> step_on_side(Gan& gan, const torch::Tensor& real, const torch::Tensor& z) {
    if (!graph_) {
      if (warmup_done_ < kWarmupSteps) {
        ++warmup_done_;
        return eager_step(gan, real, z, [](torch::optim::Adam& adam) { adam.step(); });
      }
      capture(gan, real, z);
    }
    d_adam_->sync_from_host();
    g_adam_->sync_from_host();
    static_real_.copy_(real, /*non_blocking=*/true);
    static_z_.copy_(z, /*non_blocking=*/true);
    graph_->replay();
    d_adam_->advance_host_steps();
    g_adam_->advance_host_steps();
    return std::nullopt;
  }

  void capture(Gan& gan, const torch::Tensor& real, const torch::Tensor& z) {
    static_real_ = real.clone();
    static_z_ = z.clone();
    d_adam_ = std::make_unique<CapturableAdam>(*gan.d_optimizer);
    g_adam_ = std::make_unique<CapturableAdam>(*gan.g_optimizer);
    for (auto* module : {static_cast<torch::nn::Module*>(gan.generator.ptr().get()),
                         static_cast<torch::nn::Module*>(gan.discriminator.ptr().get())}) {
      for (auto& p : module->parameters()) p.mutable_grad().reset();
    }
    side_->synchronize();
    auto graph = std::make_unique<at::cuda::CUDAGraph>();
    graph->capture_begin();
    const StepStats s = eager_step(gan, static_real_, static_z_, [this, &gan](torch::optim::Adam& adam) {
      (&adam == gan.d_optimizer.get() ? d_adam_ : g_adam_)->step();
    });
    stats_ = torch::stack({s.d_loss, s.g_loss, s.d_real, s.d_fake});
    graph->capture_end();
    graph_ = std::move(graph);
  }

  int warmup_done_ = 0;
  std::optional<c10::cuda::CUDAStream> side_;
  at::cuda::CUDAEvent before_, after_;
  std::unique_ptr<at::cuda::CUDAGraph> graph_;
  std::unique_ptr<CapturableAdam> d_adam_, g_adam_;
  torch::Tensor static_real_, static_z_, stats_;
};

}  // namespace
#endif

void check_cuda_graphs(const torch::Device& device) {
#if DCGAN_CUDA_GRAPHS
  if (!device.is_cuda()) {
    throw ConfigError("key 'run.cuda_graphs' is true, which needs a CUDA device; the run is on " +
                      device.str());
  }
#elif defined(DCGAN_WITH_CUDA)
  throw ConfigError("key 'run.cuda_graphs' is true, which needs LibTorch 2.1 or later; this build "
                    "has " + std::string(TORCH_VERSION));
#else
  throw ConfigError("key 'run.cuda_graphs' is true, which needs a build with CUDA support; this "
                    "build is for the CPU only (dcgan --version)");
#endif
}

std::unique_ptr<CudaGraphStep> make_cuda_graph_step(const torch::Device& device) {
  check_cuda_graphs(device);
#if DCGAN_CUDA_GRAPHS
  return std::make_unique<CudaGraphStepImpl>();
#else
  return nullptr;  // not reached: check_cuda_graphs threw
#endif
}

}  // namespace dcgan
