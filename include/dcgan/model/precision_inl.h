// Template definitions for precision.h.
#pragma once

#include <c10/core/impl/LocalDispatchKeySet.h>

namespace dcgan {

template <typename Forward>
torch::Tensor emulate_bf16(const torch::Tensor& x, const torch::Tensor& weight,
                           const torch::Tensor& bias, Forward fp32_forward) {
  const torch::Tensor rounded_x = round_to_bf16(x);
  const torch::Tensor rounded_weight = round_to_bf16(weight);
  const torch::Tensor rounded_bias = round_to_bf16(bias);
  torch::Tensor y;
  {
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCPU);
    y = fp32_forward(rounded_x, rounded_weight, rounded_bias);
  }
  return y.to(torch::kBFloat16);
}

}  // namespace dcgan
