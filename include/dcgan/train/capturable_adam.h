// Adam's update with every step-dependent number on the device, so that a CUDA graph can capture
// it once and replay it at every step.
//
// torch::optim::Adam keeps its step count on the host and computes the bias corrections there:
// captured, those numbers would be frozen at their values of the captured step. This update keeps
// the count in a device tensor and computes the corrections from it, with the arithmetic of
// torch::optim::Adam::step (no weight decay, no AMSGrad). It works on the optimizer's own state
// (the moments are updated in place, the host step counts are kept in step), so checkpoints and
// an eager step taken in between see the same optimizer.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace dcgan {

class CapturableAdam {
 public:
  // `adam` must have taken a step already (its state exists for every parameter), have one
  // parameter group, no weight decay and no AMSGrad; its options are read now. Throws
  // std::invalid_argument otherwise.
  explicit CapturableAdam(torch::optim::Adam& adam);

  // The update from the parameters' current gradients. Launches device work only (no host
  // synchronisation, no host-side number that changes between steps): safe to capture.
  void step();

  // Each time the update has run (an eager step(), or a replay of a captured one): advances the
  // host step counts by one, as the device's advanced.
  void advance_host_steps();

  // Before running the update, outside a capture: copies a count changed on the host (an eager
  // step of torch's Adam in between, a checkpoint loaded) to the device.
  void sync_from_host();

 private:
  std::vector<torch::Tensor> params_, exp_avg_, exp_avg_sq_;
  std::vector<torch::optim::AdamParamState*> states_;
  double lr_, beta1_, beta2_, eps_;
  torch::Tensor step_;      // 0-dim float64 on the parameters' device
  int64_t host_step_ = -1;  // the count step_ holds, as the host knows it
};

}  // namespace dcgan
