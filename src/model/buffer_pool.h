// Scratch buffers kept from one training step to the next, for the model's own layers.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <mutex>
#include <vector>

namespace dcgan {

// A buffer of tens of megabytes is beyond malloc's largest heap allocation (32 MB), so each fresh
// one is mapped and faulted in page by page: on a 2-core machine that took longer than the
// transform that fills it (62 to 84 ms to allocate and fill 103 MB against 8 ms to fill it again).
// A buffer is handed out again once nothing but the pool holds its storage (a tensor that autograd
// saved for the backward pass keeps its buffer until then), to any request of its dtype it is
// large enough for (the smallest such). Past kMaxBuffers, and where `pooled` is false, buffers
// are plain allocations.
class BufferPool {
 public:
  torch::Tensor get(at::IntArrayRef sizes, const torch::TensorOptions& options, bool pooled) {
    if (!pooled) return at::empty(sizes, options);
    int64_t numel = 1;
    for (const int64_t s : sizes) numel *= s;
    std::lock_guard<std::mutex> lock(mutex_);
    const torch::Tensor* best = nullptr;
    for (const auto& b : buffers_) {
      if (b.numel() >= numel && b.dtype() == options.dtype() && b.storage().use_count() == 1 &&
          (best == nullptr || b.numel() < best->numel())) {
        best = &b;
      }
    }
    if (best != nullptr) return best->narrow(0, 0, numel).view(sizes);
    if (buffers_.size() >= kMaxBuffers) return at::empty(sizes, options);
    buffers_.push_back(at::empty({numel}, options));
    return buffers_.back().view(sizes);
  }

  // Bytes the pool holds, in use or not.
  int64_t bytes() {
    std::lock_guard<std::mutex> lock(mutex_);
    int64_t total = 0;
    for (const auto& b : buffers_) total += b.numel() * static_cast<int64_t>(b.element_size());
    return total;
  }

 private:
  static constexpr size_t kMaxBuffers = 16;
  std::mutex mutex_;
  std::vector<torch::Tensor> buffers_;
};

}  // namespace dcgan
