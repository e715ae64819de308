// The GEMM form of the 5x5 stride-2 layers; the header has the idea, this file the geometry.
//
// Both layer kinds pair a small grid (H, W) with a large one (2H, 2W): the transposed
// convolution's input and output, the convolution's output and input. Small pixel (i, j) meets
// large pixel (2i - 2 + ky, 2j - 2 + kx) through tap (ky, kx), for the transposed convolution
// (padding 2, output padding 1) as for the convolution (padding 2). Two loops move between the
// grids, in NHWC with channels innermost:
//   spread: large (N, 2H, 2W, C) -> per small pixel its 25 taps' pixels, (N, H, W, 5, 5, C),
//           zero where a tap falls outside (a copy);
//   gather: (N, H, W, 5, 5, C) -> large (N, 2H, 2W, C), summing each large pixel's taps in fp32
//           (the transpose of spread).
#include "dcgan/model/gemm_conv.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/version.h>

#include <cstring>
#include <vector>

#include "buffer_pool.h"
#include "dcgan/model/precision.h"
#include "layout.h"

namespace dcgan {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t kKernel = 5;
constexpr int64_t kTaps = kKernel * kKernel;
constexpr int64_t kStride = 2, kPadding = 2, kOutputPadding = 1;

// Small-grid index i of large pixel o through tap k, or -1 where none: o = 2 i - 2 + k.
inline int64_t small_index(int64_t o, int64_t k, int64_t size) {
  const int64_t t = o + kPadding - k;
  if (t < 0 || t % kStride != 0) return -1;
  const int64_t i = t / kStride;
  return i < size ? i : -1;
}

template <typename T>
void spread_kernel(const T* large, T* taps, int64_t n, int64_t h, int64_t w, int64_t c) {
  const int64_t lh = kStride * h, lw = kStride * w;
  at::parallel_for(0, n * h, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / h, i = row % h;
      for (int64_t j = 0; j < w; ++j) {
        T* out = taps + ((row * w + j) * kTaps) * c;
        for (int64_t ky = 0; ky < kKernel; ++ky) {
          const int64_t y = kStride * i - kPadding + ky;
          for (int64_t kx = 0; kx < kKernel; ++kx, out += c) {
            const int64_t x = kStride * j - kPadding + kx;
            if (y < 0 || y >= lh || x < 0 || x >= lw) {
              std::memset(static_cast<void*>(out), 0, sizeof(T) * c);
            } else {
              std::memcpy(static_cast<void*>(out), large + ((b * lh + y) * lw + x) * c,
                          sizeof(T) * c);
            }
          }
        }
      }
    }
  });
}

template <typename T>
void gather_kernel(const T* taps, const T* bias, T* large, int64_t n, int64_t h, int64_t w,
                   int64_t c) {
  const int64_t lh = kStride * h, lw = kStride * w;
  at::parallel_for(0, n * lh, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> sum(c);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / lh, y = row % lh;
      for (int64_t x = 0; x < lw; ++x) {
        for (int64_t k = 0; k < c; ++k)
          sum[k] = bias != nullptr ? static_cast<float>(bias[k]) : 0.f;
        for (int64_t ky = 0; ky < kKernel; ++ky) {
          const int64_t i = small_index(y, ky, h);
          if (i < 0) continue;
          for (int64_t kx = 0; kx < kKernel; ++kx) {
            const int64_t j = small_index(x, kx, w);
            if (j < 0) continue;
            const T* in = taps + ((((b * h + i) * w + j) * kTaps) + ky * kKernel + kx) * c;
            for (int64_t k = 0; k < c; ++k) sum[k] += static_cast<float>(in[k]);
          }
        }
        T* out = large + (row * lw + x) * c;
        for (int64_t k = 0; k < c; ++k) out[k] = static_cast<T>(sum[k]);
      }
    }
  });
}

// Scratch (the products before the gather, the spread copies); see buffer_pool.h.
BufferPool& pool() {
  static BufferPool* p = new BufferPool;  // never destroyed: tensors may outlive static destruction
  return *p;
}

// (N, 2H, 2W, C) contiguous -> (N*H*W, 25*C), in a pooled buffer where `pooled`.
torch::Tensor spread(const torch::Tensor& large, int64_t h, int64_t w, bool pooled) {
  const int64_t n = large.size(0), c = large.size(3);
  RECORD_USER_SCOPE("dcgan::gemm_spread");
  auto taps = pool().get({n * h * w, kTaps * c}, large.options(), pooled);
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, large.scalar_type(), "spread", [&] {
    spread_kernel(large.data_ptr<scalar_t>(), taps.data_ptr<scalar_t>(), n, h, w, c);
  });
  return taps;
}

// (N*H*W, 25*C) -> (N, 2H, 2W, C), plus bias (C) where defined.
torch::Tensor gather(const torch::Tensor& taps, const torch::Tensor& bias, int64_t n, int64_t h,
                     int64_t w) {
  RECORD_USER_SCOPE("dcgan::gemm_gather");
  const int64_t c = taps.size(1) / kTaps;
  auto large = at::empty({n, kStride * h, kStride * w, c}, taps.options());
  const auto b = bias.defined() ? bias.to(taps.scalar_type()).contiguous() : bias;
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, taps.scalar_type(), "gather", [&] {
    gather_kernel(taps.data_ptr<scalar_t>(), b.defined() ? b.data_ptr<scalar_t>() : nullptr,
                  large.data_ptr<scalar_t>(), n, h, w, c);
  });
  return large;
}

// a x b into a pooled buffer where `pooled`.
torch::Tensor product(const torch::Tensor& a, const torch::Tensor& b, bool pooled) {
  auto out = pool().get({a.size(0), b.size(1)}, a.options(), pooled);
  return at::mm_out(out, a, b);
}

// Weight (a, b, 5, 5) -> (a, 25 * b), taps before b; and back.
torch::Tensor taps_last(const torch::Tensor& w) {
  return w.permute({0, 2, 3, 1}).reshape({w.size(0), kTaps * w.size(1)});
}
torch::Tensor taps_back(const torch::Tensor& m, int64_t a, int64_t b) {
  return m.view({a, kKernel, kKernel, b}).permute({0, 3, 1, 2}).contiguous();
}

void check_inputs(const torch::Tensor& x, const torch::Tensor& weight, const char* what) {
  TORCH_CHECK(x.dim() == 4 && weight.dim() == 4 && weight.size(2) == kKernel &&
                  weight.size(3) == kKernel && x.scalar_type() == weight.scalar_type() &&
                  x.device().is_cpu(),
              what, ": expected a CPU input (N, C, H, W) and a 5x5 weight of its dtype");
}

// Transposed convolution: inputs x, weight (in, out, 5, 5), bias (out, or an empty tensor).
class TransposedFunction : public torch::autograd::Function<TransposedFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               bool pooled) {
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCPU);
    const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
    const auto rows = nhwc(x).view({n * h * w, x.size(1)});
    const auto wt = taps_last(weight);
    ctx->save_for_backward({rows, wt});
    ctx->saved_data["shape"] = std::vector<int64_t>{n, h, w, weight.size(0), weight.size(1)};
    ctx->saved_data["bias"] = bias.numel() > 0;
    ctx->saved_data["x_nchw"] = is_nchw(x);
    const auto cols = product(rows, wt, pooled);
    return as_input(nchw_view(gather(cols, bias.numel() > 0 ? bias : torch::Tensor(), n, h, w)),
                    ctx->saved_data["x_nchw"].toBool());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCPU);
    const auto saved = ctx->get_saved_variables();
    const auto& rows = saved[0];
    const auto& wt = saved[1];
    const auto shape = ctx->saved_data["shape"].toIntVector();
    const int64_t n = shape[0], h = shape[1], w = shape[2], in = shape[3], out = shape[4];
    const auto gy = nhwc(grads[0]).to(rows.scalar_type());  // (N, 2H, 2W, out)
    const auto u = spread(gy, h, w, /*pooled=*/true);       // (N*H*W, 25*out)
    torch::Tensor gx, gw, gb;
    if (ctx->needs_input_grad(0)) {
      gx = as_input(nchw_view(at::mm(u, wt.t()).view({n, h, w, in})),
                    ctx->saved_data["x_nchw"].toBool());
    }
    if (ctx->needs_input_grad(1)) gw = taps_back(at::mm(rows.t().contiguous(), u), in, out);
    if (ctx->needs_input_grad(2) && ctx->saved_data["bias"].toBool()) {
      gb = gy.view({-1, out}).sum(0, false, at::kFloat).to(gy.scalar_type());
    }
    return {gx, gw, gb, torch::Tensor()};
  }
};

// Convolution: inputs x (N, in, 2H, 2W), weight (out, in, 5, 5), bias (out, or an empty tensor).
class ConvFunction : public torch::autograd::Function<ConvFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               bool pooled) {
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCPU);
    const int64_t n = x.size(0), h = x.size(2) / kStride, w = x.size(3) / kStride;
    const auto u = spread(nhwc(x), h, w, pooled);  // (N*H*W, 25*in), kept for the backward pass
    const auto wc = taps_last(weight);             // (out, 25*in)
    const bool has_bias = bias.numel() > 0;
    const auto y = has_bias ? at::addmm(bias.to(u.scalar_type()), u, wc.t()) : at::mm(u, wc.t());
    ctx->save_for_backward({u, wc});
    ctx->saved_data["shape"] = std::vector<int64_t>{n, h, w, weight.size(1), weight.size(0)};
    ctx->saved_data["bias"] = has_bias;
    ctx->saved_data["x_nchw"] = is_nchw(x);
    return as_input(nchw_view(y.view({n, h, w, weight.size(0)})),
                    ctx->saved_data["x_nchw"].toBool());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCPU);
    const auto saved = ctx->get_saved_variables();
    const auto& u = saved[0];
    const auto& wc = saved[1];
    const auto shape = ctx->saved_data["shape"].toIntVector();
    const int64_t n = shape[0], h = shape[1], w = shape[2], in = shape[3], out = shape[4];
    const auto gy = nhwc(grads[0]).to(u.scalar_type()).view({n * h * w, out});
    torch::Tensor gx, gw, gb;
    if (ctx->needs_input_grad(0)) {
      gx = as_input(nchw_view(gather(product(gy, wc, /*pooled=*/true), torch::Tensor(), n, h, w)),
                    ctx->saved_data["x_nchw"].toBool());
    }
    if (ctx->needs_input_grad(1)) gw = taps_back(at::mm(gy.t().contiguous(), u), out, in);
    if (ctx->needs_input_grad(2) && ctx->saved_data["bias"].toBool()) {
      gb = gy.sum(0, false, at::kFloat).to(gy.scalar_type());
    }
    return {gx, gw, gb, torch::Tensor()};
  }
};

// LibTorch 1.13 runs its own bf16 kernels under autocast (precision.h).
bool autocasts_to_native_bf16() {
  return TORCH_VERSION_MAJOR >= 2 && cpu_autocast_enabled() && !bf16_emulated() &&
         cpu_autocast_dtype() == at::kBFloat16;
}

// Whether autograd records this call: its scratch comes from the pool (training reuses the same
// shapes every step; a pass without gradients, one-off shapes, allocates its own).
bool recorded(const torch::Tensor& x, const torch::Tensor& weight) {
  return torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad());
}

// The bf16 operands of autocast's convolutions.
torch::Tensor to_bf16(const torch::Tensor& t) {
  return t.defined() ? t.to(at::kBFloat16) : at::empty({0}, at::TensorOptions(at::kBFloat16));
}

}  // namespace

bool gemm_conv_active() { return autocasts_to_native_bf16(); }

bool gemm_conv_applies(const torch::Tensor& x, const torch::Tensor& weight, bool transposed) {
  // Transposed: weight (in, out, 5, 5); convolution: (out, in, 5, 5).
  const bool wide = weight.dim() == 4 &&
                    weight.size(1) >= (transposed ? kMinTransposedOutChannels : kMinConvInChannels);
  return x.dim() == 4 && x.device().is_cpu() && wide && gemm_conv_active();
}

torch::Tensor gemm_conv_transpose(const torch::Tensor& x, const torch::Tensor& weight,
                                  const torch::Tensor& bias) {
  check_inputs(x, weight, "gemm_conv_transpose");
  TORCH_CHECK(weight.size(0) == x.size(1),
              "gemm_conv_transpose: weight (in, out, 5, 5) needs in = ", x.size(1));
  return TransposedFunction::apply(x, weight, bias.defined() ? bias : at::empty({0}, x.options()),
                                   recorded(x, weight));
}

torch::Tensor gemm_conv(const torch::Tensor& x, const torch::Tensor& weight,
                        const torch::Tensor& bias) {
  check_inputs(x, weight, "gemm_conv");
  TORCH_CHECK(weight.size(1) == x.size(1) && x.size(2) % kStride == 0 && x.size(3) % kStride == 0,
              "gemm_conv: weight (out, in, 5, 5) needs in = ", x.size(1), " and H, W even");
  return ConvFunction::apply(x, weight, bias.defined() ? bias : at::empty({0}, x.options()),
                             recorded(x, weight));
}

torch::Tensor gemm_layer_forward(torch::nn::ConvTranspose2d& layer, const torch::Tensor& x) {
  if (!gemm_conv_applies(x, layer->weight, /*transposed=*/true))
    return conv_transpose_forward(layer, x, kStride, kPadding, kOutputPadding);
  return gemm_conv_transpose(x.to(at::kBFloat16), layer->weight.to(at::kBFloat16),
                             to_bf16(layer->bias));
}

torch::Tensor gemm_layer_forward(torch::nn::Conv2d& layer, const torch::Tensor& x) {
  if (!gemm_conv_applies(x, layer->weight, /*transposed=*/false))
    return conv_forward(layer, x, kStride, kPadding);
  return gemm_conv(x.to(at::kBFloat16), layer->weight.to(at::kBFloat16), to_bf16(layer->bias));
}

}  // namespace dcgan
