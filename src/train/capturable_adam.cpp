#include "dcgan/train/capturable_adam.h"

#include <torch/version.h>

#include <stdexcept>

#include "dcgan/io/checkpoint.h"

namespace dcgan {

CapturableAdam::CapturableAdam(torch::optim::Adam& adam) {
  if (adam.param_groups().size() != 1) {
    throw std::invalid_argument("CapturableAdam: one parameter group expected");
  }
  const auto& options = static_cast<const torch::optim::AdamOptions&>(adam.param_groups()[0].options());
  if (options.weight_decay() != 0 || options.amsgrad()) {
    throw std::invalid_argument("CapturableAdam: no weight decay and no AMSGrad expected");
  }
  lr_ = options.lr();
  beta1_ = std::get<0>(options.betas());
  beta2_ = std::get<1>(options.betas());
  eps_ = options.eps();
  for (const auto& p : adam.param_groups()[0].params()) {
    torch::optim::AdamParamState* state = find_adam_state(adam, p);
    if (state == nullptr) throw std::invalid_argument("CapturableAdam: Adam has not taken a step");
    params_.push_back(p);
    exp_avg_.push_back(state->exp_avg());
    exp_avg_sq_.push_back(state->exp_avg_sq());
    states_.push_back(state);
  }
  if (params_.empty()) throw std::invalid_argument("CapturableAdam: no parameters");
  step_ = torch::zeros({}, params_[0].options().dtype(torch::kFloat64));
  sync_from_host();
}

void CapturableAdam::sync_from_host() {
  const int64_t host = states_[0]->step();
  if (host == host_step_) return;
  step_.fill_(static_cast<double>(host));
  host_step_ = host;
}

void CapturableAdam::step() {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  grads.reserve(params_.size());
  for (const auto& p : params_) grads.push_back(p.grad());

  step_.add_(1);
  // As torch::optim::Adam: the corrections in double, the step size and the second moment's
  // correction then rounded to the parameters' precision.
  const torch::Tensor bias_correction1 = 1 - torch::pow(beta1_, step_);
  const torch::Tensor bias_correction2 = 1 - torch::pow(beta2_, step_);
  const torch::Tensor step_size = (lr_ / bias_correction1).to(params_[0].scalar_type());
  const torch::Tensor correction2_sqrt = bias_correction2.sqrt().to(params_[0].scalar_type());
#if TORCH_VERSION_MAJOR >= 2
  // One kernel per operation for all parameters: inside a graph, kernels still cost time each.
  torch::_foreach_mul_(exp_avg_, beta1_);
  torch::_foreach_add_(exp_avg_, grads, 1 - beta1_);
  torch::_foreach_mul_(exp_avg_sq_, beta2_);
  torch::_foreach_addcmul_(exp_avg_sq_, grads, grads, 1 - beta2_);
  std::vector<torch::Tensor> denom = torch::_foreach_sqrt(exp_avg_sq_);
  torch::_foreach_div_(denom, correction2_sqrt);
  torch::_foreach_add_(denom, eps_);
  std::vector<torch::Tensor> update = torch::_foreach_div(exp_avg_, denom);
  torch::_foreach_mul_(update, step_size);
  torch::_foreach_sub_(params_, update);
#else
  // LibTorch 1.13 has no foreach operations with a tensor scalar (and no CUDA graphs for dcgan).
  for (size_t i = 0; i < params_.size(); ++i) {
    exp_avg_[i].mul_(beta1_).add_(grads[i], 1 - beta1_);
    exp_avg_sq_[i].mul_(beta2_).addcmul_(grads[i], grads[i], 1 - beta2_);
    const torch::Tensor denom = exp_avg_sq_[i].sqrt().div_(correction2_sqrt).add_(eps_);
    params_[i].sub_(exp_avg_[i].div(denom).mul_(step_size));
  }
#endif
}

void CapturableAdam::advance_host_steps() {
  for (auto* state : states_) state->step(state->step() + 1);
  ++host_step_;
}

}  // namespace dcgan
