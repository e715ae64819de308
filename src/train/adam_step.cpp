#include "dcgan/train/adam_step.h"

#include <torch/version.h>

#include <vector>

#include "dcgan/io/checkpoint.h"

namespace dcgan {
namespace {

// at::_fused_adam_ has a CPU kernel from PyTorch 2.4 on.
#define DCGAN_FUSED_CPU_ADAM \
  (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4))
constexpr bool kHasFusedCpuAdam = DCGAN_FUSED_CPU_ADAM;

// The kernel walks each tensor's values in memory order: all four contiguous, of one size.
bool fusable(const torch::Tensor& p, const torch::Tensor& grad,
             const torch::optim::AdamParamState* state) {
  const auto same = [&](const torch::Tensor& t) {
    return t.device().is_cpu() && t.scalar_type() == torch::kFloat &&
           t.layout() == torch::kStrided && t.sizes() == p.sizes() && t.is_contiguous();
  };
  return state != nullptr && same(p) && same(grad) && same(state->exp_avg()) &&
         same(state->exp_avg_sq());
}

}  // namespace

bool adam_step_is_fused(torch::optim::Adam& adam) {
  if (!kHasFusedCpuAdam) return false;
  for (auto& group : adam.param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(group.options());
    if (options.amsgrad()) return false;
    for (const auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      if (!fusable(p, p.grad(), find_adam_state(adam, p))) return false;
    }
  }
  return true;
}

void adam_step(torch::optim::Adam& adam) {
  if (!adam_step_is_fused(adam)) {
    adam.step();
    return;
  }
#if DCGAN_FUSED_CPU_ADAM
  torch::NoGradGuard no_grad;
  for (auto& group : adam.param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(group.options());
    std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
    for (const auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      torch::optim::AdamParamState* state = find_adam_state(adam, p);
      // As Adam::step: the count first, the corrections from the new count.
      state->step(state->step() + 1);
      params.push_back(p);
      grads.push_back(p.grad());
      exp_avgs.push_back(state->exp_avg());
      exp_avg_sqs.push_back(state->exp_avg_sq());
      steps.push_back(
          torch::full({}, static_cast<double>(state->step()), torch::TensorOptions(torch::kFloat)));
    }
    if (params.empty()) continue;
    at::_fused_adam_(params, grads, exp_avgs, exp_avg_sqs, /*max_exp_avg_sqs=*/{}, steps,
                     options.lr(), std::get<0>(options.betas()), std::get<1>(options.betas()),
                     options.weight_decay(), options.eps(), /*amsgrad=*/false, /*maximize=*/false);
  }
#endif
}

}  // namespace dcgan
