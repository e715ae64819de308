// G's transposed convolutions (5x5 kernel, stride 2, padding 2, output padding 1) on the CPU in
// fp32 with Winograd's minimal filtering: half the multiplications of the direct form, or under a
// third in tiles of 4.
//
// Output pixel (2m + p, 2n + q) meets only the kernel taps of one parity per axis, so the layer is
// four stride-1 correlations of the input, one per output phase (p, q), with 3 or 2 taps per axis
// (phase_conv_transpose.h derives it). Winograd's F(2,3) and F(2,2) compute two outputs of a 3- or
// 2-tap correlation from 4 or 3 inputs with 4 or 3 products instead of 6 or 4. Per 2x2 output tile
// of each phase, per input/output channel pair, that is 16 + 12 + 12 + 9 = 49 products instead of
// 36 + 24 + 24 + 16 = 100. With 4 outputs per tile and axis, F(4,3) and F(4,2) from 6 or 5 inputs,
// a 4x4 output tile takes 36 + 30 + 30 + 25 = 121 products instead of 4 * 49 = 196 (and 400
// directly); the layers take it where the input's sides are multiples of 4, as all of the reference
// networks' wide layers. The sums are the same in real arithmetic; in fp32 they differ from the
// direct form's by rounding only (the coefficients of the 2-output transforms are 0, +-1 and 1/2;
// those of the 4-output ones reach 8 and 16/15, so their rounding errors are several times larger,
// still several hundred times below bf16's: tests/model/winograd_conv_transpose_test.cpp).
//
// The products are one batched matrix product per phase (tiles x in-channels by in-channels x
// out-channels, one matrix per transform position); the input and output transforms are loops over
// NHWC tiles. The backward pass is the transposed transforms around the same products, with the
// input's transform computed again rather than kept from the forward pass. The weight's transform
// is the layer's own loop too (a sparse, separable product). Scratch buffers live within one
// call, the weight's transform from a forward pass to its backward pass, and both are kept between
// training steps.
//
// D's stride-2 convolutions (5x5, padding 2) are the same layer read the other way: conv2d(x, w)
// is the input gradient of the transposed layer with the same weight (out, in, 5, 5) read as
// (in', out', 5, 5). So winograd_conv's forward pass is that backward computation, its input
// gradient the transposed layer's forward pass, and its weight gradient the transposed layer's
// with the activations' roles swapped: the same 49 (or 121) products instead of 100 (400). It
// pays where the transposed layer's does, from 64 of the convolution's inputs up (D's 128 -> 256
// at 8x8 in tiles of 2: 50 against 65 ms forward and backward, 2 threads, batch 128; its
// 64 -> 128 at 16x16 level in tiles of 2, ahead in tiles of 4).
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace dcgan {

// Whether winograd_conv_transpose computes this layer: a CPU fp32 input (N, in, H, W) with even H
// and W, a weight (in, out, 5, 5) with at least 64 outputs (narrower layers are faster directly),
// no autocast active on the CPU, and autograd recording (training: without gradients, sampling
// and evaluation keep LibTorch's layer, which needs no scratch buffers).
bool winograd_conv_transpose_applies(const torch::Tensor& x, const torch::Tensor& weight);

// torch::nn::functional::conv_transpose2d(x, weight, bias) with stride 2, padding 2 and output
// padding 1, differentiable in all three; the output (N, out, 2H, 2W) is in channels-last layout.
// Requires a CPU fp32 input with even H and W and a weight (in, out, 5, 5), as in
// winograd_conv_transpose_applies, whose other conditions are about speed.
// tile: outputs per tile and axis of each phase, 2 or 4; 0 for winograd_tile's.
torch::Tensor winograd_conv_transpose(const torch::Tensor& x, const torch::Tensor& weight,
                                      const torch::Tensor& bias, int64_t tile = 0);

// layer->forward(x) for one of G's transposed convolutions (5x5, stride 2, padding 2, output
// padding 1): winograd_conv_transpose where it applies, thin_layer_conv_transpose
// (thin_conv_transpose.h) for a layer of at most 4 outputs under the same conditions otherwise,
// also inside an emulated bf16 scope (precision.h: on the bf16-rounded operands, the output
// rounded to bf16, as the emulated layers there), and conv_transpose_forward elsewhere.
torch::Tensor winograd_layer_forward(torch::nn::ConvTranspose2d& layer, const torch::Tensor& x);

// The same for conv2d(x, weight, bias) with stride 2 and padding 2, weight (out, in, 5, 5) with at
// least 64 inputs (thin_layer_conv for a layer of at most 4 inputs); the output (N, out, H/2, W/2)
// in channels-last layout. H and W must be multiples of 4 (the output's tiles are 2x2; 4x4 where
// H and W are multiples of 8).
bool winograd_conv_applies(const torch::Tensor& x, const torch::Tensor& weight);
torch::Tensor winograd_conv(const torch::Tensor& x, const torch::Tensor& weight,
                            const torch::Tensor& bias, int64_t tile = 0);
torch::Tensor winograd_layer_forward(torch::nn::Conv2d& layer, const torch::Tensor& x);

// The tile both layers take for an input of H x W (the transposed layer's, or with `transposed`
// false the convolution's): 4 where the transposed layer's input sides (the convolution's output
// sides) are multiples of 4, 2 otherwise.
int64_t winograd_tile(int64_t h, int64_t w, bool transposed);

// Bytes of scratch buffers kept for reuse by winograd_conv_transpose in this process.
int64_t winograd_scratch_bytes();

}  // namespace dcgan
