// Batch norm over a batch split across processes (distributed training with model.sync_bn), as
// PyTorch's SyncBatchNorm: the mean and variance are those of the global batch, and their
// gradients flow back to every process's shard. The model knows nothing of how processes talk:
// it is handed a sum over processes.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>

namespace dcgan {

struct BatchNormSync {
  // Sums a tensor element-wise over all processes, in place (every process calls it in the same
  // order with a tensor of the same shape).
  std::function<void(torch::Tensor&)> all_reduce_sum;
  // Processes; each holds an equal share of the global batch.
  int64_t world_size = 1;
};

// `bn` applied to `x` (N, C, H, W) with the statistics of the global batch when `bn` is in
// training mode: normalised with the global mean and biased variance (two sums over processes,
// each differentiable), running statistics updated with them (unbiased over the global count).
// In eval mode it is bn->forward(x). The statistics are computed in fp32; the result has x's
// dtype.
torch::Tensor sync_batch_norm(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn,
                              const BatchNormSync& sync);

}  // namespace dcgan
