// The direct transposed convolution for a few output channels; the header has the idea.
//
// Along one axis, output 2m + p takes kernel taps k of parity p from input m + (p + 2 - k) / 2:
//   p = 0: taps 0, 2, 4 from inputs m + 1, m, m - 1;   p = 1: taps 1, 3 from inputs m + 1, m.
// The weight is rearranged once per call into (tap, out, in) rows, so that each tap's weights for
// one output channel are contiguous along the input channels, as the NHWC input is.
#include "dcgan/model/thin_conv_transpose.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <array>
#include <cstdint>
#include <tuple>
#include <vector>

#include "cpu_features.h"
#include "layout.h"

namespace dcgan {
namespace {

constexpr int64_t kKernel = 5;
// The geometry of one call.
struct Shape {
  int64_t H, W, C;  // the input's (N, H, W, C); the output is (N, 2H, 2W, Co)
};

// An axis's taps for output index o of an axis of n inputs: their kernel taps and input indices,
// the count returned (taps falling outside the input are left out).
inline int axis_taps(int64_t o, int64_t n, int64_t (&tap)[3], int64_t (&in)[3]) {
  const int64_t p = o & 1, m = o >> 1;
  int count = 0;
  for (int64_t k = p; k < kKernel; k += 2) {
    const int64_t i = m + (p + 2 - k) / 2;
    if (i < 0 || i >= n) continue;
    tap[count] = k;
    in[count] = i;
    ++count;
  }
  return count;
}

// Lanes floats as one value (GCC's and Clang's vector extensions): one vector register in the copy
// compiled for that width, so that the sums below stay in registers.
template <int Lanes>
struct Vec {
  typedef float type __attribute__((vector_size(Lanes * sizeof(float))));
};

template <int Lanes>
DCGAN_ALWAYS_INLINE void load(typename Vec<Lanes>::type& v, const float* p) {
  __builtin_memcpy(&v, p, sizeof(v));
}

// P output pixels of one row and x parity, ox = ox0, ox0 + 2, .., whose taps along x all fall
// inside the input (or P = 1, any pixel): each tap's weights are loaded once for the P pixels,
// whose input pixels along x are consecutive. Sums in one vector of Lanes partial sums per pixel
// and output channel.
template <int Co, int P, int Lanes>
DCGAN_ALWAYS_INLINE void pixels(const Shape& s, const float* x, const float* wt, const float* bias,
                                float* y, int64_t n, int64_t ny, const int64_t (&ky)[3],
                                const int64_t (&iy)[3], int64_t row, int64_t ox0) {
  using V = typename Vec<Lanes>::type;
  const int64_t C = s.C;
  int64_t kx[3], ix[3];
  const int nx = axis_taps(ox0, s.W, kx, ix);
  V acc[P][Co];
  float tail[P][Co];
  for (int p = 0; p < P; ++p) {
    for (int o = 0; o < Co; ++o) {
      acc[p][o] = V{};
      tail[p][o] = 0.f;
    }
  }
  for (int a = 0; a < ny; ++a) {
    for (int b = 0; b < nx; ++b) {
      const float* xr = x + ((n * s.H + iy[a]) * s.W + ix[b]) * C;
      const float* wr = wt + (ky[a] * kKernel + kx[b]) * Co * C;
      int64_t c = 0;
      for (; c + Lanes <= C; c += Lanes) {
        V w[Co];
        for (int o = 0; o < Co; ++o) load<Lanes>(w[o], wr + o * C + c);
        for (int p = 0; p < P; ++p) {
          V v;
          load<Lanes>(v, xr + p * C + c);
          for (int o = 0; o < Co; ++o) acc[p][o] += v * w[o];
        }
      }
      for (; c < C; ++c) {
        for (int o = 0; o < Co; ++o) {
          for (int p = 0; p < P; ++p) tail[p][o] += xr[p * C + c] * wr[o * C + c];
        }
      }
    }
  }
  for (int p = 0; p < P; ++p) {
    float* out = y + (row * 2 * s.W + ox0 + 2 * p) * Co;
    for (int o = 0; o < Co; ++o) {
      float sum = tail[p][o];
      for (int j = 0; j < Lanes; ++j) sum += acc[p][o][j];
      out[o] = (bias != nullptr ? bias[o] : 0.f) + sum;
    }
  }
}

constexpr int kGroup = 4;  // output pixels per group

// Output rows [begin, end) of the (N * 2H) rows: x (N, H, W, C), wt (25, Co, C), y (N, 2H, 2W, Co).
// Per parity along x, the pixels whose taps all fall inside (input m - 1 .. m + 1 for parity 0,
// m .. m + 1 for parity 1) go in groups of kGroup, the rest one by one.
template <int Co, int Lanes>
DCGAN_ALWAYS_INLINE void output_rows(const Shape& s, const float* x, const float* wt,
                                     const float* bias, float* y, int64_t begin, int64_t end) {
  const int64_t Ho = 2 * s.H;
  for (int64_t r = begin; r < end; ++r) {
    const int64_t n = r / Ho, oy = r % Ho;
    int64_t ky[3], iy[3];
    const int ny = axis_taps(oy, s.H, ky, iy);
    for (int64_t px = 0; px < 2; ++px) {
      const int64_t first = px == 0 ? 1 : 0, last = s.W - 2;  // inner range of m
      int64_t m = 0;
      for (; m < first && m < s.W; ++m)
        pixels<Co, 1, Lanes>(s, x, wt, bias, y, n, ny, ky, iy, r, 2 * m + px);
      for (; m + kGroup - 1 <= last; m += kGroup) {
        pixels<Co, kGroup, Lanes>(s, x, wt, bias, y, n, ny, ky, iy, r, 2 * m + px);
      }
      for (; m < s.W; ++m) pixels<Co, 1, Lanes>(s, x, wt, bias, y, n, ny, ky, iy, r, 2 * m + px);
    }
  }
}

template <int Co>
void output_rows_any(const Shape& s, const float* x, const float* wt, const float* bias, float* y,
                     int64_t begin, int64_t end) {
  run_widest<CpuCopy::kAvx512>([&](auto lanes) DCGAN_ALWAYS_INLINE_LAMBDA {
    output_rows<Co, decltype(lanes)::value>(s, x, wt, bias, y, begin, end);
  });
}

template <int Co>
void run(const Shape& s, int64_t rows, const float* x, const float* wt, const float* bias,
         float* y) {
  at::parallel_for(0, rows, 4, [&](int64_t begin, int64_t end) {
    output_rows_any<Co>(s, x, wt, bias, y, begin, end);
  });
}

// Both layers' conditions on the tensors: a CPU input (N, C, H, W) and 5x5 weight, both fp32 or
// both bf16, and `thin` channels (the weight's dimension that must be narrow) from 1 to
// kThinMaxOutChannels.
bool cpu_5x5(const torch::Tensor& x, const torch::Tensor& weight, int64_t thin) {
  const auto type = x.scalar_type();
  return x.dim() == 4 && weight.dim() == 4 && x.device().is_cpu() && weight.device().is_cpu() &&
         (type == torch::kFloat || type == torch::kBFloat16) && weight.scalar_type() == type &&
         weight.size(2) == kKernel && weight.size(3) == kKernel && thin >= 1 &&
         thin <= kThinMaxOutChannels;
}

}  // namespace

bool thin_conv_transpose_applies(const torch::Tensor& x, const torch::Tensor& weight) {
  return cpu_5x5(x, weight, weight.dim() == 4 ? weight.size(1) : 0) &&
         weight.size(0) == x.size(1);
}

namespace {

void check_transposed(const torch::Tensor& x, const torch::Tensor& weight, const char* what) {
  TORCH_CHECK(thin_conv_transpose_applies(x, weight), what,
              ": needs a CPU input (N, in, H, W) and a weight (in, out, 5, 5) with at most ",
              kThinMaxOutChannels, " outputs, both fp32 or both bf16");
}

}  // namespace

torch::Tensor thin_conv_transpose(const torch::Tensor& x, const torch::Tensor& weight,
                                  const torch::Tensor& bias) {
  check_transposed(x, weight, "thin_conv_transpose");
  TORCH_CHECK(!bias.defined() || (bias.device().is_cpu() && bias.scalar_type() == x.scalar_type() &&
                                  bias.dim() == 1 && bias.size(0) == weight.size(1)),
              "thin_conv_transpose: the bias must be a CPU vector of ", weight.size(1),
              " (the outputs) in the input's type");
  RECORD_USER_SCOPE("dcgan::thin_conv_transpose");
  torch::NoGradGuard no_grad;
  const int64_t N = x.size(0), C = x.size(1), Co = weight.size(1);
  const Shape s{x.size(2), x.size(3), C};
  // bf16 operands are summed in fp32 (their values exactly), the output rounded to bf16 once.
  const auto xn = nhwc(x.to(torch::kFloat));
  const auto wt = weight.to(torch::kFloat).permute({2, 3, 1, 0}).contiguous();  // (5, 5, out, in)
  const auto b = bias.defined() ? bias.to(torch::kFloat).contiguous() : torch::Tensor();
  auto y = at::empty({N, 2 * s.H, 2 * s.W, Co}, xn.options());
  const float* bp = b.defined() ? b.data_ptr<float>() : nullptr;
  const int64_t rows = N * 2 * s.H;
  const float* xp = xn.data_ptr<float>();
  const float* wp = wt.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  switch (Co) {
    case 1:
      run<1>(s, rows, xp, wp, bp, yp);
      break;
    case 2:
      run<2>(s, rows, xp, wp, bp, yp);
      break;
    case 3:
      run<3>(s, rows, xp, wp, bp, yp);
      break;
    default:
      run<4>(s, rows, xp, wp, bp, yp);
      break;
  }
  return nchw_view(y.to(x.scalar_type()));
}

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

const std::vector<int64_t> kStride{2, 2}, kPadding{2, 2}, kDilation{1, 1}, kOutputPadding{1, 1};

// The gradients of conv_transpose2d (transposed) or conv2d with the reference geometry, those of
// `mask` (input, weight, bias), from LibTorch's kernels.
std::tuple<at::Tensor, at::Tensor, at::Tensor> libtorch_grads(const at::Tensor& gout,
                                                              const at::Tensor& x,
                                                              const at::Tensor& weight,
                                                              bool transposed,
                                                              std::array<bool, 3> mask) {
  const std::vector<int64_t> bias_sizes{transposed ? weight.size(1) : weight.size(0)};
  return at::convolution_backward(gout, x, weight, bias_sizes, kStride, kPadding, kDilation,
                                  transposed,
                                  transposed ? kOutputPadding : std::vector<int64_t>{0, 0},
                                  /*groups=*/1, mask);
}

// A Function's inputs are all defined tensors: an empty one stands for no bias.
torch::Tensor or_empty(const torch::Tensor& bias, const torch::Tensor& x) {
  return bias.defined() ? bias : at::empty({0}, x.options());
}

// The transposed layer: its output from thin_conv_transpose, its gradients from LibTorch, the
// output and the input's gradient in x's layout.
class ThinTransposeFunction : public torch::autograd::Function<ThinTransposeFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias) {
    ctx->save_for_backward({x, weight});
    ctx->saved_data["bias"] = bias.numel() > 0;
    return as_input(thin_conv_transpose(x, weight, bias.numel() > 0 ? bias : torch::Tensor()),
                    is_nchw(x));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const bool want_b = ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2);
    auto g = libtorch_grads(grads[0], saved[0], saved[1], /*transposed=*/true,
                            {ctx->needs_input_grad(0), ctx->needs_input_grad(1), want_b});
    // In x's layout, as the Winograd form gives it (LibTorch 1.13's kernel returns NCHW).
    auto gx =
        std::get<0>(g).defined() ? as_input(std::get<0>(g), is_nchw(saved[0])) : torch::Tensor();
    return {gx, std::get<1>(g), want_b ? std::get<2>(g) : torch::Tensor()};
  }
};

// The convolution: its output and its weight's and bias's gradients from LibTorch, its input's
// gradient (the transposed layer with the same weight) from thin_conv_transpose.
class ThinConvFunction : public torch::autograd::Function<ThinConvFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias) {
    ctx->save_for_backward({x, weight});
    ctx->saved_data["bias"] = bias.numel() > 0;
    return at::conv2d(x, weight, bias.numel() > 0 ? bias : torch::Tensor(), kStride, kPadding);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const bool want_b = ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2);
    variable_list out(3);
    if (ctx->needs_input_grad(0)) {
      out[0] =
          as_input(thin_conv_transpose(grads[0], saved[1], torch::Tensor()), is_nchw(saved[0]));
    }
    if (ctx->needs_input_grad(1) || want_b) {
      auto g = libtorch_grads(grads[0], saved[0], saved[1], /*transposed=*/false,
                              {false, ctx->needs_input_grad(1), want_b});
      out[1] = std::get<1>(g);
      if (want_b) out[2] = std::get<2>(g);
    }
    return out;
  }
};

}  // namespace

bool thin_conv_applies(const torch::Tensor& x, const torch::Tensor& weight) {
  return cpu_5x5(x, weight, x.dim() == 4 ? x.size(1) : 0) && weight.size(1) == x.size(1) &&
         x.size(2) % 2 == 0 && x.size(3) % 2 == 0;
}

torch::Tensor thin_layer_conv_transpose(const torch::Tensor& x, const torch::Tensor& weight,
                                        const torch::Tensor& bias) {
  check_transposed(x, weight, "thin_layer_conv_transpose");
  return ThinTransposeFunction::apply(x, weight, or_empty(bias, x));
}

torch::Tensor thin_layer_conv(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& bias) {
  TORCH_CHECK(
      thin_conv_applies(x, weight),
      "thin_layer_conv: needs a CPU input (N, in, H, W) with even H and W and a weight "
      "(out, in, 5, 5) with at most ",
      kThinMaxOutChannels, " inputs, both fp32 or both bf16");
  return ThinConvFunction::apply(x, weight, or_empty(bias, x));
}

}  // namespace dcgan
