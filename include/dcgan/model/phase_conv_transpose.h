// A stride-2 transposed convolution computed as stride-1 convolutions, one per output phase.
//
// LibTorch 1.13 runs torch::nn::ConvTranspose2d on the CPU through slow_conv_transpose2d, several
// times slower than a Conv2d of the same arithmetic. Output pixel (2i + p, 2j + q) of a stride-2
// transposed convolution only ever meets the kernel taps of one parity (p, q), so the output is
// four ordinary convolutions of the input, interleaved: the same sums through the fast path.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace dcgan {

// Same constructor arguments, parameters and outputs as
// torch::nn::ConvTranspose2d(ConvTranspose2dOptions(in, out, kernel).stride(2).padding(padding)
//                            .output_padding(output_padding)),
// restricted to stride 2, square kernels, dilation 1, groups 1, with bias.
// Parameters: `weight` (in, out, kernel, kernel) and `bias` (out), named and shaped as
// ConvTranspose2d's, so state dicts and checkpoints are interchangeable.
struct PhaseConvTranspose2dOptions {
  PhaseConvTranspose2dOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel_size);
  TORCH_ARG(int64_t, padding) = 0;
  TORCH_ARG(int64_t, output_padding) = 0;
};

class PhaseConvTranspose2dImpl : public torch::nn::Cloneable<PhaseConvTranspose2dImpl> {
 public:
  explicit PhaseConvTranspose2dImpl(PhaseConvTranspose2dOptions options);
  void reset() override;
  // input (N, in, H, W) -> (N, out, 2H - 2 padding + kernel - 2 + output_padding, ...)
  torch::Tensor forward(const torch::Tensor& input);

  PhaseConvTranspose2dOptions options;
  torch::Tensor weight;  // (in, out, k, k), as ConvTranspose2d
  torch::Tensor bias;    // (out)
};
TORCH_MODULE(PhaseConvTranspose2d);

}  // namespace dcgan
