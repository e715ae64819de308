// The training step captured in one CUDA graph and replayed (run.cuda_graphs). Private to the
// train library: Gan owns one when the option is on, and its step() goes through it.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>

#include "dcgan/train/gan.h"

namespace dcgan {

class CudaGraphStep {
 public:
  virtual ~CudaGraphStep() = default;
  // One training step of `gan` on (real, z): eager during warm-up, then captured once, then
  // replayed. The statistics returned are the step's own (not overwritten by later steps).
  virtual StepStats step(Gan& gan, const torch::Tensor& real, const torch::Tensor& z) = 0;
  // Drops the captured graph (the optimizers' options changed): the next step captures again.
  virtual void reset() = 0;

 protected:
  // Gan's eager step with `update` doing each optimizer's update.
  static StepStats eager_step(Gan& gan, const torch::Tensor& real, const torch::Tensor& z,
                              const std::function<void(torch::optim::Adam&)>& update) {
    return gan.eager_step(real, z, nullptr, update);
  }
};

// Throws ConfigError naming run.cuda_graphs where CUDA graphs cannot run on `device`: not a CUDA
// device, a build without CUDA, or LibTorch older than 2.1.
void check_cuda_graphs(const torch::Device& device);

// The graph step for a run on `device` (check_cuda_graphs first).
std::unique_ptr<CudaGraphStep> make_cuda_graph_step(const torch::Device& device);

}  // namespace dcgan
