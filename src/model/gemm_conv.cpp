// The GEMM form of the 5x5 stride-2 layers; the header has the idea, this file the geometry.
//
// Both layer kinds pair a small grid (H, W) with a large one (2H, 2W): the transposed
// convolution's input and output, the convolution's output and input. Small pixel (i, j) meets
// large pixel (2i - 2 + ky, 2j - 2 + kx) through tap (ky, kx), for the transposed convolution
// (padding 2, output padding 1) as for the convolution (padding 2). Two loops move between the
// grids, in NHWC with channels innermost:
//   spread: large (N, 2H, 2W, C) -> per small pixel its taps' pixels (a copy);
//   gather: per small pixel its taps' values -> large (N, 2H, 2W, C), summing each large pixel's
//           taps in fp32 (the transpose of spread).
// Which taps a small pixel keeps is the plan's (TapPlan): all 25 (GemmTaps::kAll), zero where one
// falls outside the image, or only those inside (GemmTaps::kInside).
#include "dcgan/model/gemm_conv.h"

#include "dcgan/model/thin_conv_transpose.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/version.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "buffer_pool.h"
#include "cpu_features.h"
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

// The classes of small pixels that share their taps (the header has why): along one side, small
// index 0 meets the large grid through taps 2..4 only, the last index through taps 0..3, the others
// through all five; a class is a band of rows by a band of columns (at most 3 x 3), its rows kept
// together ("class-major" order), one product over its own taps. With all taps there is one class.

// A run [i0, i1) of small indices along one side, whose taps are [k0, k1).
struct Band {
  int64_t i0, i1, k0, k1;
  int64_t size() const { return i1 - i0; }
  int64_t taps() const { return k1 - k0; }
};

// A side of `size` small indices in bands: one of every tap, or runs of equal taps inside.
std::vector<Band> bands(int64_t size, GemmTaps taps) {
  if (taps == GemmTaps::kAll) return {{0, size, 0, kKernel}};
  std::vector<Band> out;
  for (int64_t i = 0; i < size; ++i) {
    const int64_t k0 = std::max<int64_t>(0, kPadding - kStride * i);
    const int64_t k1 = std::min<int64_t>(kKernel, kStride * size + kPadding - kStride * i);
    if (!out.empty() && out.back().k0 == k0 && out.back().k1 == k1) {
      out.back().i1 = i + 1;
    } else {
      out.push_back({i, i + 1, k0, k1});
    }
  }
  return out;
}

struct TapClass {
  Band y, x;
  int64_t x_band;      // x's index among the bands along W
  int64_t row0, rows;  // its rows in class-major order
  int64_t t0;          // its block's offset in the taps matrix, in units of channels
  int64_t taps() const { return y.taps() * x.taps(); }
};

// The classes of an (N, H, W) small grid, and where each small pixel lies among them.
struct TapPlan {
  int64_t n, h, w;
  std::vector<Band> ys, xs;
  std::vector<TapClass> classes;
  std::vector<int64_t> band_of_i, band_of_j;  // small index -> its band along that side
  std::vector<int64_t> class_of;              // (band along H, band along W) -> class
  int64_t t_units = 0;                        // the taps matrix holds t_units * channels values

  TapPlan(int64_t n_, int64_t h_, int64_t w_, GemmTaps taps)
      : n(n_), h(h_), w(w_), ys(bands(h_, taps)), xs(bands(w_, taps)) {
    for (size_t b = 0; b < ys.size(); ++b) band_of_i.resize(ys[b].i1, static_cast<int64_t>(b));
    for (size_t b = 0; b < xs.size(); ++b) band_of_j.resize(xs[b].i1, static_cast<int64_t>(b));
    std::vector<std::pair<int64_t, int64_t>> order;  // (band along H, band along W)
    for (size_t a = 0; a < ys.size(); ++a) {
      for (size_t b = 0; b < xs.size(); ++b) order.emplace_back(a, b);
    }
    // Smallest first: the weight gradient adds the classes' products up in their dtype, one
    // rounding each, so the largest comes last, onto the smallest partial sums.
    std::stable_sort(order.begin(), order.end(), [&](const auto& p, const auto& q) {
      return ys[p.first].size() * xs[p.second].size() < ys[q.first].size() * xs[q.second].size();
    });
    class_of.assign(ys.size() * xs.size(), 0);
    int64_t row0 = 0;
    for (const auto& [a, b] : order) {
      class_of[a * xs.size() + b] = static_cast<int64_t>(classes.size());
      TapClass c{ys[a], xs[b], b, row0, n * ys[a].size() * xs[b].size(), t_units};
      row0 += c.rows;
      t_units += c.rows * c.taps();
      classes.push_back(c);
    }
  }

  bool one_class() const { return classes.size() == 1; }
  const TapClass& class_at(int64_t i, int64_t j) const {
    return classes[class_of[band_of_i[i] * xs.size() + band_of_j[j]]];
  }
  // Small pixel (b, i, j)'s row in class-major order, and its taps' first value in units of
  // channels.
  static int64_t row_of(const TapClass& c, int64_t b, int64_t i, int64_t j) {
    return c.row0 + (b * c.y.size() + (i - c.y.i0)) * c.x.size() + (j - c.x.i0);
  }
  static int64_t taps_of(const TapClass& c, int64_t b, int64_t i, int64_t j) {
    return c.t0 + (row_of(c, b, i, j) - c.row0) * c.taps();
  }
};

// Runs body(b, i, j) for every small pixel, split over the threads by rows (b, i).
template <class Body>
void for_small_pixels(const TapPlan& plan, const Body& body) {
  at::parallel_for(0, plan.n * plan.h, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      for (int64_t j = 0; j < plan.w; ++j) body(row / plan.h, row % plan.h, j);
    }
  });
}

// NHWC rows <-> class-major rows (a permutation; `back` reads class-major).
template <typename T>
void permute_rows_kernel(const T* in, T* out, const TapPlan& plan, int64_t c, bool back) {
  for_small_pixels(plan, [&](int64_t b, int64_t i, int64_t j) {
    const int64_t nhwc = (b * plan.h + i) * plan.w + j;
    const int64_t cm = TapPlan::row_of(plan.class_at(i, j), b, i, j);
    std::memcpy(static_cast<void*>(out + (back ? nhwc : cm) * c), in + (back ? cm : nhwc) * c,
                sizeof(T) * c);
  });
}

template <typename T>
void spread_kernel(const T* large, T* taps, const TapPlan& plan, int64_t c) {
  const int64_t lh = kStride * plan.h, lw = kStride * plan.w;
  for_small_pixels(plan, [&](int64_t b, int64_t i, int64_t j) {
    const TapClass& cls = plan.class_at(i, j);
    T* out = taps + TapPlan::taps_of(cls, b, i, j) * c;
    for (int64_t ky = cls.y.k0; ky < cls.y.k1; ++ky) {
      const int64_t y = kStride * i - kPadding + ky;
      for (int64_t kx = cls.x.k0; kx < cls.x.k1; ++kx, out += c) {
        const int64_t x = kStride * j - kPadding + kx;
        if (y < 0 || y >= lh || x < 0 || x >= lw) {
          std::memset(static_cast<void*>(out), 0, sizeof(T) * c);
        } else {
          std::memcpy(static_cast<void*>(out), large + ((b * lh + y) * lw + x) * c, sizeof(T) * c);
        }
      }
    }
  });
}

// Large rows [begin, end) of the gather; inlined into one copy per instruction set below.
template <typename T>
DCGAN_ALWAYS_INLINE void gather_rows(const T* taps, const T* bias, T* large, const TapPlan& plan,
                                     int64_t c, float* __restrict sum, int64_t begin, int64_t end) {
  const int64_t h = plan.h, w = plan.w, lh = kStride * h, lw = kStride * w;
  for (int64_t row = begin; row < end; ++row) {
    const int64_t b = row / lh, y = row % lh;
    for (int64_t x = 0; x < lw; ++x) {
      for (int64_t k = 0; k < c; ++k) sum[k] = bias != nullptr ? static_cast<float>(bias[k]) : 0.f;
      for (int64_t ky = 0; ky < kKernel; ++ky) {
        const int64_t i = small_index(y, ky, h);
        if (i < 0) continue;
        for (int64_t kx = 0; kx < kKernel; ++kx) {
          const int64_t j = small_index(x, kx, w);
          if (j < 0) continue;
          const TapClass& cls = plan.class_at(i, j);
          const int64_t tap = (ky - cls.y.k0) * cls.x.taps() + (kx - cls.x.k0);
          const T* __restrict in = taps + (TapPlan::taps_of(cls, b, i, j) + tap) * c;
          for (int64_t k = 0; k < c; ++k) sum[k] += static_cast<float>(in[k]);
        }
      }
      T* __restrict out = large + (row * lw + x) * c;
      for (int64_t k = 0; k < c; ++k) out[k] = static_cast<T>(sum[k]);
    }
  }
}

template <typename T>
void gather_kernel(const T* taps, const T* bias, T* large, const TapPlan& plan, int64_t c) {
  at::parallel_for(0, plan.n * kStride * plan.h, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> sum(c);
    run_widest<CpuCopy::kAvx512>([&](auto) DCGAN_ALWAYS_INLINE_LAMBDA {
      gather_rows(taps, bias, large, plan, c, sum.data(), begin, end);
    });
  });
}

// Scratch (the products before the gather, the spread copies); see buffer_pool.h.
BufferPool& pool() {
  static BufferPool* p = new BufferPool;  // never destroyed: tensors may outlive static destruction
  return *p;
}

// NHWC (N, H, W, C) contiguous -> class-major rows (N*H*W, C): the same tensor with one class.
torch::Tensor to_classes(const torch::Tensor& rows, const TapPlan& plan) {
  const int64_t c = rows.size(-1);
  if (plan.one_class()) return rows.view({-1, c});
  auto out = at::empty({plan.n * plan.h * plan.w, c}, rows.options());
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, rows.scalar_type(), "to_classes", [&] {
    permute_rows_kernel(rows.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), plan, c, false);
  });
  return out;
}

// Class-major rows (N*H*W, C) -> NHWC (N, H, W, C).
torch::Tensor from_classes(const torch::Tensor& rows, const TapPlan& plan) {
  const int64_t c = rows.size(1);
  if (plan.one_class()) return rows.view({plan.n, plan.h, plan.w, c});
  auto out = at::empty({plan.n, plan.h, plan.w, c}, rows.options());
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, rows.scalar_type(), "from_classes", [&] {
    permute_rows_kernel(rows.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), plan, c, true);
  });
  return out;
}

// (N, 2H, 2W, C) contiguous -> the taps matrix (t_units * C values), in a pooled buffer where
// `pooled`.
torch::Tensor spread(const torch::Tensor& large, const TapPlan& plan, bool pooled) {
  const int64_t c = large.size(3);
  RECORD_USER_SCOPE("dcgan::gemm_spread");
  auto taps = pool().get({plan.t_units * c}, large.options(), pooled);
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, large.scalar_type(), "spread", [&] {
    spread_kernel(large.data_ptr<scalar_t>(), taps.data_ptr<scalar_t>(), plan, c);
  });
  return taps;
}

// The taps matrix of C channels -> (N, 2H, 2W, C), plus bias (C) where defined.
torch::Tensor gather(const torch::Tensor& taps, const torch::Tensor& bias, const TapPlan& plan,
                     int64_t c) {
  RECORD_USER_SCOPE("dcgan::gemm_gather");
  auto large = at::empty({plan.n, kStride * plan.h, kStride * plan.w, c}, taps.options());
  const auto b = bias.defined() ? bias.to(taps.scalar_type()).contiguous() : bias;
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, taps.scalar_type(), "gather", [&] {
    gather_kernel(taps.data_ptr<scalar_t>(), b.defined() ? b.data_ptr<scalar_t>() : nullptr,
                  large.data_ptr<scalar_t>(), plan, c);
  });
  return large;
}

// Weight (a, b, 5, 5) -> (a, 25 * b), taps before b; and back.
torch::Tensor taps_last(const torch::Tensor& w) {
  return w.permute({0, 2, 3, 1}).reshape({w.size(0), kTaps * w.size(1)});
}
torch::Tensor taps_back(const torch::Tensor& m, int64_t a, int64_t b) {
  return m.view({a, kKernel, kKernel, b}).permute({0, 3, 1, 2}).contiguous();
}

// A layer's three products, in the terms of both layer kinds: rows R (class-major, one per small
// pixel, cr channels), the taps matrix T (ct channels per tap) and the weight as wm (cr, 25 * ct),
// columns (ky, kx, channel). Per class c, with wm_c its taps' columns:
//   taps_from_rows:  T_c = R_c wm_c         (transposed: forward; convolution: input gradient)
//   rows_from_taps:  R_c = T_c wm_c^T       (transposed: input gradient; convolution: forward)
//   weight_grad:     wm_c += R_c^T T_c      (both: the weight's gradient)
// wm_c is one block of columns where its class takes every kx; for the bands along W that take
// fewer, wm restricted to their kx ("packs", one per band along W) makes it one block too.
std::vector<torch::Tensor> weight_packs(const torch::Tensor& wm, const TapPlan& plan) {
  const int64_t cr = wm.size(0), ct = wm.size(1) / kTaps;
  std::vector<torch::Tensor> packs;
  for (const Band& x : plan.xs) {
    packs.push_back(x.taps() == kKernel ? wm
                                        : wm.view({cr, kKernel, kKernel, ct})
                                              .narrow(2, x.k0, x.taps())
                                              .contiguous()
                                              .view({cr, -1}));
  }
  return packs;
}

torch::Tensor class_columns(const std::vector<torch::Tensor>& packs, const TapClass& c) {
  const auto& pack = packs[c.x_band];
  const int64_t per_ky = pack.size(1) / kKernel;  // x.taps() * ct
  return pack.narrow(1, c.y.k0 * per_ky, c.y.taps() * per_ky);
}

torch::Tensor class_taps(const torch::Tensor& taps, const TapClass& c, int64_t ct) {
  return taps.narrow(0, c.t0 * ct, c.rows * c.taps() * ct).view({c.rows, c.taps() * ct});
}

torch::Tensor taps_from_rows(const torch::Tensor& rows, const std::vector<torch::Tensor>& packs,
                             const TapPlan& plan, int64_t ct, bool pooled) {
  auto taps = pool().get({plan.t_units * ct}, rows.options(), pooled);
  for (const TapClass& c : plan.classes) {
    auto out = class_taps(taps, c, ct);
    at::mm_out(out, rows.narrow(0, c.row0, c.rows), class_columns(packs, c));
  }
  return taps;
}

// bias (cr) is added where defined.
torch::Tensor rows_from_taps(const torch::Tensor& taps, const std::vector<torch::Tensor>& packs,
                             const torch::Tensor& bias, const TapPlan& plan, int64_t ct) {
  const int64_t cr = packs[0].size(0);
  auto rows = at::empty({plan.n * plan.h * plan.w, cr}, taps.options());
  for (const TapClass& c : plan.classes) {
    auto out = rows.narrow(0, c.row0, c.rows);
    const auto t = class_taps(taps, c, ct);
    const auto w = class_columns(packs, c).t();
    if (bias.defined()) {
      at::addmm_out(out, bias, t, w);
    } else {
      at::mm_out(out, t, w);
    }
  }
  return rows;
}

// (cr, 25 * ct), in the taps' dtype.
torch::Tensor weight_grad(const torch::Tensor& rows, const torch::Tensor& taps, const TapPlan& plan,
                          int64_t ct) {
  const auto rt = rows.t().contiguous();  // (cr, rows)
  if (plan.one_class() && plan.classes[0].taps() == kTaps)
    return at::mm(rt, taps.view({rt.size(1), kTaps * ct}));
  auto grad = at::zeros({rt.size(0), kTaps * ct}, rows.options());
  for (const TapClass& c : plan.classes) {
    const auto a = rt.narrow(1, c.row0, c.rows);
    const auto t = class_taps(taps, c, ct);
    const int64_t width = c.x.taps() * ct;  // one ky's columns in t
    if (c.x.taps() == kKernel) {
      grad.narrow(1, c.y.k0 * width, c.y.taps() * width).addmm_(a, t);
      continue;
    }
    for (int64_t ky = c.y.k0; ky < c.y.k1; ++ky) {
      grad.narrow(1, (ky * kKernel + c.x.k0) * ct, width)
          .addmm_(a, t.narrow(1, (ky - c.y.k0) * width, width));
    }
  }
  return grad;
}

// The bias's gradient: the column sums of the output gradient's rows (R, C), in their dtype. As
// one product with a row of ones (oneDNN sums bf16 products in fp32, rounding once), for bf16
// the same sums as in fp32 and then rounded; LibTorch's sum with an fp32 result first copies the
// whole gradient to fp32 (G's 256 -> 128 layer: 1.9 ms against 0.3 ms, 2 threads).
torch::Tensor bias_grad(const torch::Tensor& gy_rows) {
  return at::mm(at::ones({1, gy_rows.size(0)}, gy_rows.options()), gy_rows).view({-1});
}

void check_inputs(const torch::Tensor& x, const torch::Tensor& weight, const char* what) {
  TORCH_CHECK(x.dim() == 4 && weight.dim() == 4 && weight.size(2) == kKernel &&
                  weight.size(3) == kKernel && x.scalar_type() == weight.scalar_type() &&
                  x.device().is_cpu() && x.size(2) > 0 && x.size(3) > 0,
              what, ": expected a CPU input (N, C, H, W), H and W at least 1, and a 5x5 weight of ",
              "its dtype");
}

// What a layer's forward pass keeps for its backward pass: its shape and options, then the
// tensors (the rows or the taps matrix, then the weight's packs).
void save(AutogradContext* ctx, const torch::Tensor& kept, const std::vector<torch::Tensor>& packs,
          std::vector<int64_t> shape, bool bias, bool x_nchw, GemmTaps taps) {
  std::vector<torch::Tensor> saved{kept};
  saved.insert(saved.end(), packs.begin(), packs.end());
  ctx->save_for_backward(saved);
  ctx->saved_data["shape"] = std::move(shape);
  ctx->saved_data["bias"] = bias;
  ctx->saved_data["x_nchw"] = x_nchw;
  ctx->saved_data["inside"] = taps == GemmTaps::kInside;
}

GemmTaps saved_taps(AutogradContext* ctx) {
  return ctx->saved_data["inside"].toBool() ? GemmTaps::kInside : GemmTaps::kAll;
}

// Transposed convolution: inputs x, weight (in, out, 5, 5), bias (out, or an empty tensor).
class TransposedFunction : public torch::autograd::Function<TransposedFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias, bool pooled,
                               GemmTaps taps) {
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCPU);
    const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
    const TapPlan plan(n, h, w, taps);
    const auto rows = to_classes(nhwc(x), plan);  // (N*H*W, in)
    const auto packs = weight_packs(taps_last(weight), plan);
    const bool has_bias = bias.numel() > 0;
    save(ctx, rows, packs, {n, h, w, weight.size(0), weight.size(1)}, has_bias, is_nchw(x), taps);
    const auto t = taps_from_rows(rows, packs, plan, weight.size(1), pooled);
    return as_input(nchw_view(gather(t, has_bias ? bias : torch::Tensor(), plan, weight.size(1))),
                    is_nchw(x));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCPU);
    const auto saved = ctx->get_saved_variables();
    const auto& rows = saved[0];
    const std::vector<torch::Tensor> packs(saved.begin() + 1, saved.end());
    const auto shape = ctx->saved_data["shape"].toIntVector();
    const int64_t n = shape[0], h = shape[1], w = shape[2], in = shape[3], out = shape[4];
    const TapPlan plan(n, h, w, saved_taps(ctx));
    const auto gy = nhwc(grads[0]).to(rows.scalar_type());  // (N, 2H, 2W, out)
    const auto t = spread(gy, plan, /*pooled=*/true);
    torch::Tensor gx, gw, gb;
    if (ctx->needs_input_grad(0)) {
      gx = as_input(
          nchw_view(from_classes(rows_from_taps(t, packs, torch::Tensor(), plan, out), plan)),
          ctx->saved_data["x_nchw"].toBool());
    }
    if (ctx->needs_input_grad(1)) gw = taps_back(weight_grad(rows, t, plan, out), in, out);
    if (ctx->needs_input_grad(2) && ctx->saved_data["bias"].toBool()) {
      gb = bias_grad(gy.view({-1, out}));
    }
    return {gx, gw, gb, torch::Tensor(), torch::Tensor()};
  }
};

// Convolution: inputs x (N, in, 2H, 2W), weight (out, in, 5, 5), bias (out, or an empty tensor).
class ConvFunction : public torch::autograd::Function<ConvFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias, bool pooled,
                               GemmTaps taps) {
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCPU);
    const int64_t n = x.size(0), h = x.size(2) / kStride, w = x.size(3) / kStride;
    const TapPlan plan(n, h, w, taps);
    const auto t = spread(nhwc(x), plan, pooled);              // kept for the backward pass
    const auto packs = weight_packs(taps_last(weight), plan);  // (out, 25*in)
    const bool has_bias = bias.numel() > 0;
    save(ctx, t, packs, {n, h, w, weight.size(1), weight.size(0)}, has_bias, is_nchw(x), taps);
    const auto y = rows_from_taps(t, packs, has_bias ? bias.to(t.scalar_type()) : torch::Tensor(),
                                  plan, weight.size(1));
    return as_input(nchw_view(from_classes(y, plan)), is_nchw(x));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCPU);
    const auto saved = ctx->get_saved_variables();
    const auto& t = saved[0];
    const std::vector<torch::Tensor> packs(saved.begin() + 1, saved.end());
    const auto shape = ctx->saved_data["shape"].toIntVector();
    const int64_t n = shape[0], h = shape[1], w = shape[2], in = shape[3], out = shape[4];
    const TapPlan plan(n, h, w, saved_taps(ctx));
    const auto gy = nhwc(grads[0]).to(t.scalar_type());  // (N, H, W, out)
    const auto rows = to_classes(gy, plan);
    torch::Tensor gx, gw, gb;
    if (ctx->needs_input_grad(0)) {
      gx = as_input(nchw_view(gather(taps_from_rows(rows, packs, plan, in, /*pooled=*/true),
                                     torch::Tensor(), plan, in)),
                    ctx->saved_data["x_nchw"].toBool());
    }
    if (ctx->needs_input_grad(1)) gw = taps_back(weight_grad(rows, t, plan, in), out, in);
    if (ctx->needs_input_grad(2) && ctx->saved_data["bias"].toBool()) {
      gb = bias_grad(gy.view({-1, out}));
    }
    return {gx, gw, gb, torch::Tensor(), torch::Tensor()};
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

torch::Tensor bf16_or_none(const torch::Tensor& t) {
  return t.defined() ? t.to(at::kBFloat16) : torch::Tensor();
}

// Whether gemm_layer_forward gives narrow layers to the direct form (thin_conv_transpose.h) in
// bf16: kDirect, training (as the Winograd form's narrow layers) under native bf16 autocast; which
// layers, the direct form's own check says on autocast's bf16 operands.
bool thin_in_bf16(NarrowLayers narrow) {
  return narrow == NarrowLayers::kDirect && torch::GradMode::is_enabled() &&
         autocasts_to_native_bf16();
}

}  // namespace

bool gemm_conv_active() { return autocasts_to_native_bf16(); }

GemmTaps gemm_taps_for_cpu() { return cpu_has_amx_bf16() ? GemmTaps::kAll : GemmTaps::kInside; }

NarrowLayers narrow_layers_for_cpu() {
  return cpu_has_amx_bf16() ? NarrowLayers::kLibTorch : NarrowLayers::kDirect;
}

bool gemm_conv_applies(const torch::Tensor& x, const torch::Tensor& weight, bool transposed) {
  // Transposed: weight (in, out, 5, 5); convolution: (out, in, 5, 5).
  const bool wide = weight.dim() == 4 &&
                    weight.size(1) >= (transposed ? kMinTransposedOutChannels : kMinConvInChannels);
  return x.dim() == 4 && x.device().is_cpu() && wide && gemm_conv_active();
}

torch::Tensor gemm_conv_transpose(const torch::Tensor& x, const torch::Tensor& weight,
                                  const torch::Tensor& bias, GemmTaps taps) {
  check_inputs(x, weight, "gemm_conv_transpose");
  TORCH_CHECK(weight.size(0) == x.size(1),
              "gemm_conv_transpose: weight (in, out, 5, 5) needs in = ", x.size(1));
  return TransposedFunction::apply(x, weight, bias.defined() ? bias : at::empty({0}, x.options()),
                                   recorded(x, weight), taps);
}

torch::Tensor gemm_conv(const torch::Tensor& x, const torch::Tensor& weight,
                        const torch::Tensor& bias, GemmTaps taps) {
  check_inputs(x, weight, "gemm_conv");
  TORCH_CHECK(weight.size(1) == x.size(1) && x.size(2) % kStride == 0 && x.size(3) % kStride == 0,
              "gemm_conv: weight (out, in, 5, 5) needs in = ", x.size(1), " and H, W even");
  return ConvFunction::apply(x, weight, bias.defined() ? bias : at::empty({0}, x.options()),
                             recorded(x, weight), taps);
}

torch::Tensor gemm_layer_forward(torch::nn::ConvTranspose2d& layer, const torch::Tensor& x,
                                 NarrowLayers narrow) {
  if (gemm_conv_applies(x, layer->weight, /*transposed=*/true)) {
    return gemm_conv_transpose(x.to(at::kBFloat16), layer->weight.to(at::kBFloat16),
                               to_bf16(layer->bias));
  }
  if (thin_in_bf16(narrow)) {
    const auto xb = x.to(at::kBFloat16), wb = layer->weight.to(at::kBFloat16);
    if (thin_conv_transpose_applies(xb, wb))
      return thin_layer_conv_transpose(xb, wb, bf16_or_none(layer->bias));
  }
  return conv_transpose_forward(layer, x, kStride, kPadding, kOutputPadding);
}

torch::Tensor gemm_layer_forward(torch::nn::Conv2d& layer, const torch::Tensor& x,
                                 NarrowLayers narrow) {
  if (gemm_conv_applies(x, layer->weight, /*transposed=*/false))
    return gemm_conv(x.to(at::kBFloat16), layer->weight.to(at::kBFloat16), to_bf16(layer->bias));
  if (thin_in_bf16(narrow)) {
    const auto xb = x.to(at::kBFloat16), wb = layer->weight.to(at::kBFloat16);
    if (thin_conv_applies(xb, wb)) return thin_layer_conv(xb, wb, bf16_or_none(layer->bias));
  }
  return conv_forward(layer, x, kStride, kPadding);
}

}  // namespace dcgan
