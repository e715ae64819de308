// LibTorch's global CPU generator, put back as it was on leaving a scope.
#pragma once

#include <torch/torch.h>

namespace dcgan {

// Work that draws from the global generator (building a module initialises its weights from it)
// without moving the run's own state: the state at construction is restored at destruction,
// exception or not.
class GlobalRngGuard {
 public:
  GlobalRngGuard() : generator_(at::detail::getDefaultCPUGenerator()), state_(generator_.get_state()) {}
  ~GlobalRngGuard() { generator_.set_state(state_); }
  GlobalRngGuard(const GlobalRngGuard&) = delete;
  GlobalRngGuard& operator=(const GlobalRngGuard&) = delete;

 private:
  at::Generator generator_;  // a handle to the global one
  torch::Tensor state_;
};

}  // namespace dcgan
