// Where training runs: device choice and CPU threads.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace dcgan {

// `auto` -> cuda:0 when LibTorch sees a GPU, else cpu; `cpu`; `cuda`; `cuda:N`.
// Throws ConfigError naming key 'run.device' when CUDA is asked for but absent or N is too big.
torch::Device resolve_device(const std::string& name);

// Sets LibTorch's intra-op thread count: `threads`, or every core when 0. Returns the count.
// (Debian's LibTorch starts with one thread, leaving most of the machine idle.)
int64_t configure_threads(int64_t threads);

}  // namespace dcgan
