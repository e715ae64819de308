// The networks' 5x5 stride-2 layers as one matrix product each, for bf16 on CPUs with native bf16
// (AVX512-BF16, AMX).
//
// There, oneDNN's bf16 matrix product runs near the matrix unit's rate (about 900 GFLOP/s on two
// cores of an Intel Xeon with AMX) while its direct bf16 convolutions at these small spatial sizes
// run at a sixth of that, no faster than fp32: G's 512 -> 256 transposed convolution at 4x4 took
// 98 ms forward in bf16 and 92 ms in fp32, the same products as one matrix product took 15 ms.
//
// With NHWC rows, a transposed convolution (weight (in, out, 5, 5)) is
//   cols = rows(x) (N*H*W, in) x W (in, 25*out)      one matrix product
//   y[n, oy, ox, :] = sum of cols[n, iy, ix, ky, kx, :] over oy = 2 iy - 2 + ky, ox likewise
// (the gather: at most 9 taps per output pixel, summed in fp32), and its backward pass is
//   U = the 25 shifted copies of gy per input pixel (zero outside: "im2col"), then
//   gx = U x W^T, gW = rows(x)^T x U: two matrix products and a copy.
// A stride-2 convolution (D's) is the same pair read the other way: its forward pass is the
// copy and a product, its input gradient a product and the gather.
//
// Inputs in bf16 give bf16 products (fp32 accumulation inside oneDNN, as its convolutions) and
// fp32 sums in the gather; inputs in fp32 give the fp32 layer to rounding (the tests' check).
//
// A pixel near the border has taps outside the image, where U is zero: with all 25 taps the
// products spend 28 % of their multiplications on zeros at a 4x4 small grid and 14 % at 8x8.
// GemmTaps::kInside leaves them out: the small pixels fall into at most 3 x 3 classes of equal
// taps (the first row or column, the inner ones, the last), each class one product over its own
// taps, the weight's gradient the sum of the classes' products (one rounding each in bf16, so a
// little more than one product's). Without AMX that is faster (avx512_core_bf16 kernels keep their
// rate on the smaller products); with AMX the one product is (the matrix unit loses more on small
// products than the zeros cost): docs/PERFORMANCE.md.
#pragma once

#include <torch/torch.h>

namespace dcgan {

// Whether gemm_layer_forward takes this layer: CPU autocast in bf16 on a CPU with native bf16 (not
// the emulation, precision.h; LibTorch 2), a 4-d CPU input, and a wide layer: a transposed
// convolution with at least kMinTransposedOutChannels outputs, a convolution with at least
// kMinConvInChannels inputs. Narrower layers were faster in oneDNN's kernels (2 threads, batch 128,
// channels-last, forward and backward, ms, GEMM form against oneDNN's, two runs; sizes are the
// inputs'):
//   transposed 512 -> 256 at 4x4    36.5, 66.7 against 176.7, 387.6
//              256 -> 128 at 8x8    99.1, 92.7 against 208.1, 216.1
//              128 -> 64 at 16x16  154.9, 167.4 against 121.0, 137.7
//              128 -> 3 at 16x16    29.6, 33.6 against 13.2, 16.8
//   conv       3 -> 64 at 32x32     16.5, 25.2 against 6.4, 9.8
//              64 -> 128 at 16x16   25.0, 35.4 against 36.6, 44.1
//              128 -> 256 at 8x8    17.8, 27.0 against 72.7, 95.2
bool gemm_conv_applies(const torch::Tensor& x, const torch::Tensor& weight, bool transposed);
constexpr int64_t kMinTransposedOutChannels = 128;
constexpr int64_t kMinConvInChannels = 64;
// The first condition alone: whether wide layers take the GEMM form on this thread now. The
// networks then run in channels-last layout, the GEMM form's own (NHWC rows), which LibTorch's
// narrow layers also take without copies.
bool gemm_conv_active();

// Which taps the products take: all 25 per small pixel, or those inside the image.
enum class GemmTaps { kAll, kInside };
// kAll on a CPU whose bf16 runs on AMX (cpu_has_amx_bf16, precision.h), else kInside.
GemmTaps gemm_taps_for_cpu();

// conv_transpose2d(x, weight, bias, stride 2, padding 2, output padding 1), differentiable in all
// three, computed as above in x's and weight's dtype (which must match); the output, and x's
// gradient, in x's layout (NCHW or channels-last). bias (out) may be undefined.
torch::Tensor gemm_conv_transpose(const torch::Tensor& x, const torch::Tensor& weight,
                                  const torch::Tensor& bias, GemmTaps taps = gemm_taps_for_cpu());

// conv2d(x, weight, bias, stride 2, padding 2) for a weight (out, in, 5, 5) and even H, W; as
// above.
torch::Tensor gemm_conv(const torch::Tensor& x, const torch::Tensor& weight,
                        const torch::Tensor& bias, GemmTaps taps = gemm_taps_for_cpu());

// Which kernels the narrow layers the direct form takes (G's last, D's first:
// thin_conv_transpose.h) run on in bf16 training: LibTorch's (oneDNN's bf16 kernels), or the direct
// form on autocast's bf16 operands (fp32 sums, rounded once). Batch 128, 2 threads, ms per step
// for both layers, forward and backward, under LibTorch's profiler: on an Intel Xeon capped to
// avx512_core_bf16 kernels 45.3 with oneDNN's against 28.4 direct (G's last forward pass alone
// took 15.6 in oneDNN's kernel, the direct form's two calls, that pass and D's first input
// gradient, 6.9 together); with AMX 13.8 against 17.1 (oneDNN's AMX kernels run G's last forward
// pass in 1.9).
enum class NarrowLayers { kLibTorch, kDirect };
// kLibTorch on a CPU whose bf16 runs on AMX (cpu_has_amx_bf16, precision.h), else kDirect.
NarrowLayers narrow_layers_for_cpu();

// The layers' forward passes: under native CPU bf16 autocast (gemm_conv_applies), the GEMM form on
// the input, weight and bias cast to bf16, with a bf16 output, as autocast's convolutions; in
// training there with NarrowLayers::kDirect, the narrow layers the direct form takes in that form
// on the same bf16 operands; elsewhere conv_forward's and conv_transpose_forward's (precision.h).
torch::Tensor gemm_layer_forward(torch::nn::ConvTranspose2d& layer, const torch::Tensor& x,
                                 NarrowLayers narrow = narrow_layers_for_cpu());
torch::Tensor gemm_layer_forward(torch::nn::Conv2d& layer, const torch::Tensor& x,
                                 NarrowLayers narrow = narrow_layers_for_cpu());

}  // namespace dcgan
