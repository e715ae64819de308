// Batch norm in training followed by leaky ReLU, the pair every wide layer of the reference
// networks ends with, as one autograd function on the CPU.
//
// LibTorch runs the pair as four passes over the activation forward and backward (batch norm's
// statistics and output, the activation, the activation's gradient, batch norm's two backward
// passes), each reading or writing the whole tensor: 13 reads and writes of it per step on the
// CPU, where these loops are bound by memory (the 128 -> 128 activation at 16x16, batch 128, in
// bf16: 7.2 ms forward and backward on 2 threads of an Intel Xeon, about 15 GB/s). Here the
// activation's input is never stored: the forward pass reads x twice (statistics, then output)
// and writes the output; the backward pass recomputes the activation's sign from x and reads the
// gradient and x twice (the sums, then the input gradient) and writes it: 8 in all.
//
// The same function as batch_norm (training: the batch's statistics, the biased variance to
// normalise, the unbiased one into running_var, momentum as BatchNorm2d's) then leaky_relu,
// to fp32 rounding: each element's arithmetic in fp32, the channels' sums in fp32 within fixed
// blocks of pixels (256, or one NCHW plane) and in double across them, so the result does not
// depend on the thread count. In bf16 the output and the input gradient are rounded once from
// fp32, as LibTorch's bf16 batch norm and leaky ReLU round their outputs (autocast leaves batch
// norm in its input's type).
#pragma once

#include <torch/torch.h>

namespace dcgan {

// Whether batch_norm_leaky_relu computes leaky_relu(bn(x)): bn in training with affine weights,
// running statistics and a momentum; x a 4-d CPU tensor (N, C, H, W) of bn's channels, fp32 or
// bf16, NCHW or channels-last, with more than one value per channel.
bool batch_norm_leaky_relu_applies(const torch::Tensor& x, const torch::nn::BatchNorm2dImpl& bn);

// leaky_relu(bn(x), slope), differentiable in x and bn's weight and bias, updating bn's running
// statistics and its count of batches as bn->forward(x) does; the output in x's type and layout.
torch::Tensor batch_norm_leaky_relu(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn,
                                    double slope);

}  // namespace dcgan
