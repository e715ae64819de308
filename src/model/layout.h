// Memory layouts at the boundary of the model's own layers (the GEMM and Winograd forms), which
// compute on NHWC rows while the networks around them run in NCHW or channels-last.
#pragma once

#include <torch/torch.h>

namespace dcgan {

// (N, C, H, W) in any layout -> NHWC contiguous (N, H, W, C).
inline torch::Tensor nhwc(const torch::Tensor& t) { return t.permute({0, 2, 3, 1}).contiguous(); }

// NHWC (N, H, W, C) -> the (N, C, H, W) view of it (channels-last strides).
inline torch::Tensor nchw_view(const torch::Tensor& t) { return t.permute({0, 3, 1, 2}); }

// Whether x is in NCHW order (else channels-last).
inline bool is_nchw(const torch::Tensor& x) {
  return x.suggest_memory_format() == at::MemoryFormat::Contiguous;
}

// A layer's output or input gradient in its input's layout (`nchw`: is_nchw of the input), as
// LibTorch's convolutions give them: an elementwise op between tensors of different layouts (an
// activation and its gradient, in leaky ReLU's or batch norm's backward pass) runs 10 to 20 times
// slower than between two of one layout (2 threads).
inline torch::Tensor as_input(const torch::Tensor& t, bool nchw) {
  return nchw ? t.contiguous() : t.contiguous(at::MemoryFormat::ChannelsLast);
}

}  // namespace dcgan
