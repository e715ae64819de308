// The reference networks' transposed convolutions (5x5 kernel, stride 2, padding 2, output padding
// 1) with a few output channels, computed directly on the CPU in fp32: G's last layer (128 -> 3, or
// -> 1 for grey images) and the input gradient of D's first convolution (the same layer read the
// other way: 64 -> 3). LibTorch's oneDNN kernels run these at a fraction of their rate on wider
// layers (G's 128 -> 3 forward pass at 16x16, batch 128, 2 threads: 12 ms for 0.63 GFLOP), and the
// Winograd form does not pay for them (winograd_conv_transpose.h): with 3 outputs per pixel the
// sums are dot products along the input channels, which a loop over NHWC rows runs at the
// arithmetic rate.
//
// Output pixel (2m + p, 2n + q) takes the kernel taps of parity p along y and q along x (3 taps for
// parity 0, 2 for parity 1; phase_conv_transpose.h), each against the input pixel it lands from,
// so each output pixel is a dot product of at most 9 input pixels' channels with the taps' weights.
//
// In bf16 (the GEMM form's narrow layers under native bf16 autocast without AMX, gemm_conv.h) the
// operands' values are summed in fp32 and the output rounded to bf16 once, as oneDNN's bf16
// kernels do, which without AMX run these layers at a fraction of the fp32 loop's rate; the other
// gradients stay LibTorch's bf16 kernels.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace dcgan {

// The most output channels the direct form takes.
constexpr int64_t kThinMaxOutChannels = 4;

// Whether thin_conv_transpose computes this layer: a CPU input (N, in, H, W) and a weight
// (in, out, 5, 5) with at most kThinMaxOutChannels outputs, both fp32 or both bf16.
bool thin_conv_transpose_applies(const torch::Tensor& x, const torch::Tensor& weight);

// conv_transpose2d(x, weight, bias) with stride 2, padding 2 and output padding 1, forward only
// (no autograd: the callers' Functions give the gradients): the output (N, out, 2H, 2W) in
// channels-last layout and x's type. x in any layout; bias may be undefined, else of x's type.
torch::Tensor thin_conv_transpose(const torch::Tensor& x, const torch::Tensor& weight,
                                  const torch::Tensor& bias);

// The transposed layer, differentiable in x, weight and bias (bias may be undefined): the output
// from thin_conv_transpose, the gradients from LibTorch's kernels; the output and x's gradient in
// x's layout.
torch::Tensor thin_layer_conv_transpose(const torch::Tensor& x, const torch::Tensor& weight,
                                        const torch::Tensor& bias);

// Whether thin_layer_conv computes conv2d(x, weight) with stride 2 and padding 2: a CPU input
// (N, in, H, W) with even H and W and a weight (out, in, 5, 5) with at most kThinMaxOutChannels
// inputs, both fp32 or both bf16.
bool thin_conv_applies(const torch::Tensor& x, const torch::Tensor& weight);

// That convolution, differentiable in all three: the output and the weight's and bias's gradients
// from LibTorch's kernels, the input's gradient (the transposed layer with the same weight, from
// out channels to in) from thin_conv_transpose, in x's layout.
torch::Tensor thin_layer_conv(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& bias);

}  // namespace dcgan
