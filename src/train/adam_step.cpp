#include "dcgan/train/adam_step.h"

#include <torch/version.h>

#include <optional>
#include <vector>

#include "dcgan/io/checkpoint.h"

namespace dcgan {
namespace {

// at::_fused_adam_ has a CPU kernel from PyTorch 2.4 on.
#define DCGAN_FUSED_CPU_ADAM \
  (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4))

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

// One parameter group's operands for the kernel: its parameters with a gradient.
struct Operands {
  const torch::optim::AdamOptions* options;
  std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs;
  std::vector<torch::optim::AdamParamState*> states;
};

// Every group's operands, or nothing where the kernel does not take `adam` now
// (adam_step_is_fused).
std::optional<std::vector<Operands>> fused_operands(torch::optim::Adam& adam) {
  if (!DCGAN_FUSED_CPU_ADAM) return std::nullopt;
  std::vector<Operands> groups;
  for (auto& group : adam.param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(group.options());
    if (options.amsgrad()) return std::nullopt;
    Operands o{&options, {}, {}, {}, {}, {}};
    for (const auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      torch::optim::AdamParamState* state = find_adam_state(adam, p);
      if (!fusable(p, p.grad(), state)) return std::nullopt;
      o.params.push_back(p);
      o.grads.push_back(p.grad());
      o.exp_avgs.push_back(state->exp_avg());
      o.exp_avg_sqs.push_back(state->exp_avg_sq());
      o.states.push_back(state);
    }
    groups.push_back(std::move(o));
  }
  return groups;
}

}  // namespace

bool adam_step_is_fused(torch::optim::Adam& adam) { return fused_operands(adam).has_value(); }

void adam_step(torch::optim::Adam& adam) {
  const auto groups = fused_operands(adam);
  if (!groups) {
    adam.step();
    return;
  }
#if DCGAN_FUSED_CPU_ADAM
  torch::NoGradGuard no_grad;
  for (const Operands& o : *groups) {
    if (o.params.empty()) continue;
    // As Adam::step: the count first, the corrections from the new count.
    std::vector<torch::Tensor> steps;
    for (torch::optim::AdamParamState* state : o.states) {
      state->step(state->step() + 1);
      steps.push_back(
          torch::full({}, static_cast<double>(state->step()), torch::TensorOptions(torch::kFloat)));
    }
    at::_fused_adam_(o.params, o.grads, o.exp_avgs, o.exp_avg_sqs, /*max_exp_avg_sqs=*/{}, steps,
                     o.options->lr(), std::get<0>(o.options->betas()),
                     std::get<1>(o.options->betas()), o.options->weight_decay(), o.options->eps(),
                     /*amsgrad=*/false, /*maximize=*/false);
  }
#endif
}

}  // namespace dcgan
