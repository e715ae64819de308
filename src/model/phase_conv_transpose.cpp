// Stride-2 transposed convolution as stride-1 convolutions, one per output phase.
//
// Derivation, per spatial dimension (rows and columns are independent). With stride 2,
// padding P, kernel K and input length H, ConvTranspose2d computes
//   y[Y] = b + sum over (i, a) with Y = 2 i + a - P   of x[i] * w[a],   0 <= i < H, 0 <= a < K.
// Split Y = 2 m + p (phase p in {0, 1}). Then a = Y + P - 2 i has the parity of p + P:
//   r = (p + P) % 2,  a = r + 2 t,  0 <= t < T = ceil((K - r) / 2),  i = m + d - t,  d = (p + P) / 2.
// Substituting u = T - 1 - t gives a correlation, which is what conv2d computes:
//   y[2 m + p] = b + sum_u x[m + u - L_p] * w[r + 2 (T - 1 - u)],   L_p = T - 1 - d,
// i.e. phase p is a stride-1 convolution with the flipped odd or even taps of w, reading input
// rows m - L_p ... m - L_p + T - 1. Example K=5, P=2: phase 0 uses taps (4, 2, 0) on rows
// m-1..m+1, phase 1 taps (3, 1) on rows m..m+1.
//
// Phase 0 always has the most output rows, M = ceil(Hout / 2), Hout = 2 (H - 1) - 2 P + K + op.
// Every phase is computed for M rows (for odd Hout phase 1's last row lies past the output and is
// cropped), so phase p reads input rows -L_p ... H - 1 + R_p with
//   R_p = M - H - L_p + T - 1 = ceil((K + op) / 2) - 2 - P - L_p + T,
// which does not depend on H. Negative L_p or R_p crop the input instead of padding it.
//
// Two ways to run the four (p, q) phases, chosen by output channels (kMinPerPhaseChannels):
// - per phase: four conv2d with kernels of T_p x T_q taps (25 taps in all for K=5), each result
//   copied into its strided slot of the output;
// - stacked: both phases fit one window of input offsets [lo, hi], lo = min_p(-L_p),
//   hi = max_p(-L_p + T_p - 1); each phase kernel is zero-padded to T_u = hi - lo + 1 taps
//   starting at -L_p - lo (36 taps in all for K=5), the four stacked as output channels
//   4 o + 2 p + q of a single conv2d, whose output pixel_shuffle(2) interleaves into
//   y[2 m + p, 2 n + q]. It reads input rows -L ... H - 1 + R with L = -lo,
//   R = ceil((K + op) / 2) - 2 - P - L + T_u.
//
// The phase kernels are gathered from `weight` (tap u of phase p is weight tap r + 2 (T - 1 - u))
// with differentiable ops, so autograd yields the weight gradient; see gather_taps for the layout.
#include "dcgan/model/phase_conv_transpose.h"

#include "dcgan/model/precision.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace dcgan {
namespace {

using torch::indexing::Slice;

constexpr int64_t kPhases = 2;  // the stride: two phases per spatial dimension

// From this many output channels up, four per-phase convolutions (25 taps for K=5) beat one
// stacked convolution (36 taps, 4x the channels). Measured on CPU (oneDNN, 2 threads, batch 128,
// forward + backward): 512->256 at 4x4 187 vs 312 ms, 256->128 at 8x8 192 vs 275 ms, 128->64 at
// 16x16 360 vs 378 ms, 128->32 220 vs 187 ms, 128->3 88 vs 28 ms: narrow convolutions run far
// below peak, and stacking quadruples their width.
constexpr int64_t kMinPerPhaseChannels = 64;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Rows (or columns) of input a convolution reads around the input, per side; negative: cropped.
struct Pads {
  int64_t before = 0;
  int64_t after = 0;
};

// Geometry of the decomposition along one spatial dimension; see the derivation above.
struct PhaseGeometry {
  // Per phase: weight tap of each of its taps (empty: the phase only gets the bias, K=1) and
  // the input rows it reads around the input.
  std::vector<int64_t> taps[kPhases];
  Pads pads[kPhases];
  // Stacked: weight tap at tap v of phase p's zero-padded kernel, -1 for a zero tap.
  std::vector<int64_t> stacked_taps[kPhases];
  Pads stacked_pads;
};

PhaseGeometry phase_geometry(int64_t kernel, int64_t padding, int64_t output_padding) {
  PhaseGeometry g;
  const int64_t half_extent = ceil_div(kernel + output_padding, 2) - 2 - padding;
  int64_t offset[kPhases];  // -L_p: first input row read for output row m, relative to m
  int64_t lo = std::numeric_limits<int64_t>::max();
  int64_t hi = std::numeric_limits<int64_t>::min();
  for (int64_t p = 0; p < kPhases; ++p) {
    const int64_t parity = (p + padding) % 2;
    const int64_t count = ceil_div(kernel - parity, 2);
    for (int64_t u = 0; u < count; ++u) g.taps[p].push_back(parity + 2 * (count - 1 - u));
    offset[p] = (p + padding) / 2 - (count - 1);
    g.pads[p] = {-offset[p], half_extent + offset[p] + count};
    if (count == 0) continue;  // reads no rows, so does not widen the stacked window
    lo = std::min(lo, offset[p]);
    hi = std::max(hi, offset[p] + count - 1);
  }
  const int64_t window = hi - lo + 1;
  g.stacked_pads = {-lo, half_extent + lo + window};
  for (int64_t p = 0; p < kPhases; ++p) {
    g.stacked_taps[p].assign(window, -1);
    std::copy(g.taps[p].begin(), g.taps[p].end(), g.stacked_taps[p].begin() + (offset[p] - lo));
  }
  return g;
}

// Appends the flat tap indices of the kernel with taps `rows` x `cols` of a k x k weight, row
// major; tap -1 (stacked kernels' padding) reads the zero tap at k * k.
void append_kernel_index(int64_t k, const std::vector<int64_t>& rows,
                         const std::vector<int64_t>& cols, std::vector<int64_t>& index) {
  for (int64_t a : rows) {
    for (int64_t b : cols) index.push_back(a < 0 || b < 0 ? k * k : a * k + b);
  }
}

// (index.size(), out, in): the kernel taps of `weight` (in, out, k, k) at the flat tap indices
// `index`, taps first. One copy lays the taps out first (with a zero tap appended) so that the
// gather moves whole contiguous (out, in) planes and its backward is one index_add of them;
// gathering along the last dimension, or slicing per phase, cost several weight-sized zero-fills
// and sums in the backward pass.
torch::Tensor gather_taps(const torch::Tensor& weight, const std::vector<int64_t>& index) {
  const int64_t k = weight.size(2);
  // (k * k + 1, out, in)
  const torch::Tensor taps = torch::constant_pad_nd(
      weight.permute({2, 3, 1, 0}).reshape({k * k, weight.size(1), weight.size(0)}),
      {0, 0, 0, 0, 0, 1});
  return taps.index_select(0, torch::tensor(index, torch::dtype(torch::kLong)).to(taps.device()));
}

// conv2d (stride 1) of x (N, C, H, W) that reads `rows` and `cols` of input around it (padding,
// or cropping where negative) and returns (N, out, out_rows, out_cols). conv2d pads both sides
// alike: pad by the larger amount and drop the surplus output rows instead.
torch::Tensor padded_conv(const torch::Tensor& x, const torch::Tensor& kernel,
                          const torch::Tensor& bias, Pads rows, Pads cols, int64_t out_rows,
                          int64_t out_cols) {
  torch::Tensor input = x;
  if (rows.before < 0 || rows.after < 0 || cols.before < 0 || cols.after < 0) {
    const int64_t top = std::max<int64_t>(0, -rows.before);
    const int64_t left = std::max<int64_t>(0, -cols.before);
    input = x.index({Slice(), Slice(), Slice(top, x.size(2) - std::max<int64_t>(0, -rows.after)),
                     Slice(left, x.size(3) - std::max<int64_t>(0, -cols.after))});
  }
  const Pads r{std::max<int64_t>(0, rows.before), std::max<int64_t>(0, rows.after)};
  const Pads c{std::max<int64_t>(0, cols.before), std::max<int64_t>(0, cols.after)};
  const int64_t pad_rows = std::max(r.before, r.after);
  const int64_t pad_cols = std::max(c.before, c.after);
  torch::Tensor y = torch::conv2d(input, kernel, bias, /*stride=*/1, {pad_rows, pad_cols});
  if (y.size(2) != out_rows || y.size(3) != out_cols) {
    const int64_t top = pad_rows - r.before;
    const int64_t left = pad_cols - c.before;
    y = y.index({Slice(), Slice(), Slice(top, top + out_rows), Slice(left, left + out_cols)});
  }
  return y;
}

// (N, out, 2 rows, 2 cols): the four phases as one convolution with stacked kernels.
torch::Tensor forward_stacked(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& bias, const PhaseGeometry& g, int64_t rows,
                              int64_t cols) {
  const int64_t in = weight.size(0);
  const int64_t out = weight.size(1);
  const int64_t k = weight.size(2);
  const int64_t window = static_cast<int64_t>(g.stacked_taps[0].size());
  std::vector<int64_t> index;  // (2, 2, T_u, T_u): phase (p, q), tap (v, u)
  for (int64_t p = 0; p < kPhases; ++p) {
    for (int64_t q = 0; q < kPhases; ++q) {
      append_kernel_index(k, g.stacked_taps[p], g.stacked_taps[q], index);
    }
  }
  // (2 * 2 * T_u * T_u, out, in) -> (4 out, in, T_u, T_u): channel 4 o + 2 p + q, the order
  // pixel_shuffle reads. conv2d needs it contiguous: one copy here rather than one inside each of
  // its forward and backward calls.
  const torch::Tensor kernel = gather_taps(weight, index)
                                   .view({kPhases * kPhases, window, window, out, in})
                                   .permute({3, 0, 4, 1, 2})
                                   .reshape({out * kPhases * kPhases, in, window, window});
  // (4 out): each channel's bias repeated for its four phases.
  const torch::Tensor stacked_bias =
      bias.unsqueeze(1).expand({out, kPhases * kPhases}).reshape({-1});
  const torch::Tensor phases =
      padded_conv(x, kernel, stacked_bias, g.stacked_pads, g.stacked_pads, rows, cols);
  return torch::pixel_shuffle(phases, 2);
}

// (N, out, 2 rows, 2 cols): the four phases as four convolutions, interleaved. Needs every phase
// to have taps (kernel >= 2).
torch::Tensor forward_per_phase(const torch::Tensor& x, const torch::Tensor& weight,
                                const torch::Tensor& bias, const PhaseGeometry& g, int64_t rows,
                                int64_t cols) {
  const int64_t in = weight.size(0);
  const int64_t out = weight.size(1);
  const int64_t k = weight.size(2);
  std::vector<int64_t> index;  // phase (p, q)'s taps, one block per phase
  std::vector<int64_t> sizes;
  for (int64_t p = 0; p < kPhases; ++p) {
    for (int64_t q = 0; q < kPhases; ++q) {
      append_kernel_index(k, g.taps[p], g.taps[q], index);
      sizes.push_back(static_cast<int64_t>(g.taps[p].size() * g.taps[q].size()));
    }
  }
  // (T_p * T_q, out, in) per phase; every weight tap lands in exactly one.
  const std::vector<torch::Tensor> blocks = gather_taps(weight, index).split_with_sizes(sizes, 0);
  // (N, out, rows, 2, cols, 2): phase (p, q) of row m, column n at [.., m, p, n, q].
  torch::Tensor y = torch::empty({x.size(0), out, rows, kPhases, cols, kPhases}, x.options());
  for (int64_t p = 0; p < kPhases; ++p) {
    for (int64_t q = 0; q < kPhases; ++q) {
      const auto taps_p = static_cast<int64_t>(g.taps[p].size());
      const auto taps_q = static_cast<int64_t>(g.taps[q].size());
      // (out, in, T_p, T_q), made contiguous once here rather than inside conv2d's forward and
      // backward.
      const torch::Tensor kernel = blocks[p * kPhases + q]
                                       .view({taps_p, taps_q, out, in})
                                       .permute({2, 3, 0, 1})
                                       .contiguous();
      // Each phase's convolution adds the bias: its gradient sums over all four.
      y.select(3, p).select(4, q).copy_(
          padded_conv(x, kernel, bias, g.pads[p], g.pads[q], rows, cols));  // (N, out, rows, cols)
    }
  }
  return y.view({x.size(0), out, kPhases * rows, kPhases * cols});
}

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument("PhaseConvTranspose2d: " + message);
}

}  // namespace

PhaseConvTranspose2dImpl::PhaseConvTranspose2dImpl(PhaseConvTranspose2dOptions opts)
    : options(opts) {
  reset();
}

void PhaseConvTranspose2dImpl::reset() {
  require(options.in_channels() > 0,
          "in_channels must be positive, got " + std::to_string(options.in_channels()));
  require(options.out_channels() > 0,
          "out_channels must be positive, got " + std::to_string(options.out_channels()));
  require(options.kernel_size() > 0,
          "kernel_size must be positive, got " + std::to_string(options.kernel_size()));
  require(options.padding() >= 0,
          "padding must be non-negative, got " + std::to_string(options.padding()));
  // ConvTranspose2d requires output_padding < stride; the stride here is always 2.
  require(options.output_padding() == 0 || options.output_padding() == 1,
          "output_padding must be 0 or 1 (less than the stride 2), got " +
              std::to_string(options.output_padding()));

  const int64_t k = options.kernel_size();
  weight = register_parameter(
      "weight", torch::empty({options.in_channels(), options.out_channels(), k, k}));
  bias = register_parameter("bias", torch::empty({options.out_channels()}));

  // Same calls, in the same order, as LibTorch 1.13's ConvNdImpl::reset_parameters, so that a
  // given seed draws the same initial values as torch::nn::ConvTranspose2d.
  torch::nn::init::kaiming_uniform_(weight, /*a=*/std::sqrt(5.0));
  const int64_t fan_in = std::get<0>(torch::nn::init::_calculate_fan_in_and_fan_out(weight));
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  torch::nn::init::uniform_(bias, -bound, bound);
}

torch::Tensor PhaseConvTranspose2dImpl::forward(const torch::Tensor& input) {
  // ConvTranspose2d also takes an unbatched (C, H, W) input.
  const bool unbatched = input.dim() == 3;
  require(input.dim() == 4 || unbatched,
          "expected input (N, C, H, W) or (C, H, W), got " + std::to_string(input.dim()) +
              " dimensions");
  const torch::Tensor x = unbatched ? input.unsqueeze(0) : input;  // (N, in, H, W)
  require(x.size(1) == options.in_channels(),
          "expected " + std::to_string(options.in_channels()) + " input channels, got " +
              std::to_string(x.size(1)));

  const int64_t k = options.kernel_size();
  const int64_t pad = options.padding();
  const int64_t out_h = 2 * (x.size(2) - 1) - 2 * pad + k + options.output_padding();
  const int64_t out_w = 2 * (x.size(3) - 1) - 2 * pad + k + options.output_padding();
  require(out_h > 0 && out_w > 0,
          "input " + std::to_string(x.size(2)) + "x" + std::to_string(x.size(3)) +
              " gives an empty output " + std::to_string(out_h) + "x" +
              std::to_string(out_w));

  // Rows and columns share kernel size and padding, hence one geometry.
  const PhaseGeometry g = phase_geometry(k, pad, options.output_padding());
  const int64_t rows = (out_h + 1) / 2;
  const int64_t cols = (out_w + 1) / 2;
  // A phase without taps (K = 1) has no kernel to convolve with; stacked pads it with zeros.
  const bool per_phase = options.out_channels() >= kMinPerPhaseChannels && !g.taps[0].empty() &&
                         !g.taps[1].empty();
  auto phases = [&](const torch::Tensor& in, const torch::Tensor& w, const torch::Tensor& b) {
    return per_phase ? forward_per_phase(in, w, b, g, rows, cols)
                     : forward_stacked(in, w, b, g, rows, cols);
  };
  torch::Tensor y = bf16_emulated() ? emulate_bf16(x, weight, bias, phases) : phases(x, weight, bias);
  // (N, out, 2 rows, 2 cols) -> (N, out, H_out, W_out)
  if (y.size(2) != out_h || y.size(3) != out_w) {
    y = y.index({Slice(), Slice(), Slice(0, out_h), Slice(0, out_w)});
  }
  return unbatched ? y.squeeze(0) : y;
}

}  // namespace dcgan
