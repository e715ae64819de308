// Winograd transposed convolution; the header has the idea, this file the geometry.
//
// Per axis, with kernel 5, stride 2, padding 2 (phase_conv_transpose.cpp derives it):
//   phase 0: y[2m]     = x[m-1] w[4] + x[m] w[2] + x[m+1] w[0]   (F(2,3), taps 4, 2, 0)
//   phase 1: y[2m + 1] = x[m] w[3]   + x[m+1] w[1]               (F(2,2), taps 3, 1)
// The input is padded by one row and column on each side (rows -1 .. H), so tile t (outputs
// m = 2t, 2t + 1) reads padded rows 2t .. 2t+3 in phase 0 and 2t+1 .. 2t+3 in phase 1.
//
// For a phase with transforms (BTy, Gy, ATy) on rows and (BTx, Gx, ATx) on columns:
//   U[i][j] = sum_kl Gy[i][k] Gx[j][l] g[k][l]          (weight, per channel pair; autograd)
//   V[i][j] = sum_kl BTy[i][k] BTx[j][l] d[k][l]        (input tile, per channel)
//   M[i][j] = sum_c V[i][j][c] U[i][j][c][o]             (one matrix product per (i, j))
//   Y[p][q] = sum_ij ATy[p][i] ATx[q][j] M[i][j]         (2x2 output tile, per channel)
#include "dcgan/model/winograd_conv_transpose.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "buffer_pool.h"
#include "dcgan/model/cpu_products.h"
#include "dcgan/model/precision.h"
#include "layout.h"

namespace dcgan {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The 1-D transforms, each as its formula on vectors of n channels. x[k] and y[k] point to the
// k-th input and output vector.
//   F(2,3): BT = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], AT = [1 1 1 0; 0 1 -1 -1]
//   F(2,2): BT = [1 -1 0; 0 1 0; 0 -1 1],                 AT = [1 1 0; 0 1 1]
// (G, for the weights, is in weight_transform_matrix.) bt_t and at_t apply the transposes, for the
// backward pass; bt_t<true> adds its result to y.
struct F23 {
  static constexpr int kIn = 4;
  static inline void bt(const float* const* x, float* const* y, int64_t n) {
    for (int64_t c = 0; c < n; ++c) {
      const float d0 = x[0][c], d1 = x[1][c], d2 = x[2][c], d3 = x[3][c];
      y[0][c] = d0 - d2;
      y[1][c] = d1 + d2;
      y[2][c] = d2 - d1;
      y[3][c] = d1 - d3;
    }
  }
  template <bool kAdd>
  static inline void bt_t(const float* const* x, float* const* y, int64_t n) {
    for (int64_t c = 0; c < n; ++c) {
      const float v0 = x[0][c], v1 = x[1][c], v2 = x[2][c], v3 = x[3][c];
      const float r0 = v0, r1 = v1 - v2 + v3, r2 = v1 + v2 - v0, r3 = -v3;
      if (kAdd) {
        y[0][c] += r0, y[1][c] += r1, y[2][c] += r2, y[3][c] += r3;
      } else {
        y[0][c] = r0, y[1][c] = r1, y[2][c] = r2, y[3][c] = r3;
      }
    }
  }
  static inline void at(const float* const* x, float* const* y, int64_t n) {
    for (int64_t c = 0; c < n; ++c) {
      const float m1 = x[1][c], m2 = x[2][c];
      y[0][c] = x[0][c] + m1 + m2;
      y[1][c] = m1 - m2 - x[3][c];
    }
  }
  static inline void at_t(const float* const* x, float* const* y, int64_t n) {
    for (int64_t c = 0; c < n; ++c) {
      const float y0 = x[0][c], y1 = x[1][c];
      y[0][c] = y0;
      y[1][c] = y0 + y1;
      y[2][c] = y0 - y1;
      y[3][c] = -y1;
    }
  }
};
struct F22 {
  static constexpr int kIn = 3;
  static inline void bt(const float* const* x, float* const* y, int64_t n) {
    for (int64_t c = 0; c < n; ++c) {
      const float d0 = x[0][c], d1 = x[1][c], d2 = x[2][c];
      y[0][c] = d0 - d1;
      y[1][c] = d1;
      y[2][c] = d2 - d1;
    }
  }
  template <bool kAdd>
  static inline void bt_t(const float* const* x, float* const* y, int64_t n) {
    for (int64_t c = 0; c < n; ++c) {
      const float v0 = x[0][c], v1 = x[1][c], v2 = x[2][c];
      const float r0 = v0, r1 = v1 - v0 - v2, r2 = v2;
      if (kAdd) {
        y[0][c] += r0, y[1][c] += r1, y[2][c] += r2;
      } else {
        y[0][c] = r0, y[1][c] = r1, y[2][c] = r2;
      }
    }
  }
  static inline void at(const float* const* x, float* const* y, int64_t n) {
    for (int64_t c = 0; c < n; ++c) {
      const float m1 = x[1][c];
      y[0][c] = x[0][c] + m1;
      y[1][c] = m1 + x[2][c];
    }
  }
  static inline void at_t(const float* const* x, float* const* y, int64_t n) {
    for (int64_t c = 0; c < n; ++c) {
      const float y0 = x[0][c], y1 = x[1][c];
      y[0][c] = y0;
      y[1][c] = y0 + y1;
      y[2][c] = y1;
    }
  }
};

constexpr int64_t kChunk = 64;  // channels per pass through a tile, kept on the stack

// Tile t of an (N, th, tw) grid.
struct Tile {
  int64_t n, y, x;
};
inline Tile tile_of(int64_t t, int64_t th, int64_t tw) {
  return {t / (th * tw), (t / tw) % th, t % tw};
}

// The geometry of one phase's transforms.
struct PhaseGrid {
  int64_t N, Hp, Wp, C, Co, th, tw, T, py, px;  // padded input (N, Hp, Wp, C); tiles; phase
  int64_t Ho() const { return 2 * (Hp - 2); }
  int64_t Wo() const { return 2 * (Wp - 2); }
  // Where tile tl's input window starts in the padded input (channel 0).
  int64_t window(const Tile& tl) const {
    return ((tl.n * Hp + 2 * tl.y + py) * Wp + 2 * tl.x + px) * C;
  }
  // Where output pixel (p, q) of tile tl lies in the output (channel 0).
  int64_t pixel(const Tile& tl, int p, int q) const {
    const int64_t row = 2 * (2 * tl.y + p) + py, col = 2 * (2 * tl.x + q) + px;
    return ((tl.n * Ho() + row) * Wo() + col) * Co;
  }
};

// The tile loops. Each is written once, always inlined into the copies DCGAN_TILE_KERNEL makes.
#if defined(__GNUC__) || defined(__clang__)
#define DCGAN_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define DCGAN_ALWAYS_INLINE inline
#endif

// xp (N, Hp, Wp, C) -> v (A*B, T, C) for tiles [begin, end).
template <class Ty, class Tx>
DCGAN_ALWAYS_INLINE void input_tiles(const PhaseGrid& g, const float* xp, float* v, int64_t begin,
                                     int64_t end) {
  constexpr int A = Ty::kIn, B = Tx::kIn;
  float tmp[A][B][kChunk];
  for (int64_t t = begin; t < end; ++t) {
    const Tile tl = tile_of(t, g.th, g.tw);
    const float* base = xp + g.window(tl);
    for (int64_t c0 = 0; c0 < g.C; c0 += kChunk) {
      const int64_t n = std::min(kChunk, g.C - c0);
      for (int l = 0; l < B; ++l) {  // down each column of the window
        const float* in[A];
        float* out[A];
        for (int k = 0; k < A; ++k) in[k] = base + (k * g.Wp + l) * g.C + c0;
        for (int i = 0; i < A; ++i) out[i] = tmp[i][l];
        Ty::bt(in, out, n);
      }
      for (int i = 0; i < A; ++i) {  // along each transformed row
        const float* in[B];
        float* out[B];
        for (int l = 0; l < B; ++l) in[l] = tmp[i][l];
        for (int j = 0; j < B; ++j) out[j] = v + ((i * B + j) * g.T + t) * g.C + c0;
        Tx::bt(in, out, n);
      }
    }
  }
}

// gv (A*B, T, C) -> gxp (N, Hp, Wp, C), added: the transpose of input_tiles, for images
// [begin, end) (tiles of one image overlap).
template <class Ty, class Tx>
DCGAN_ALWAYS_INLINE void input_tiles_backward(const PhaseGrid& g, const float* gv, float* gxp,
                                              int64_t begin, int64_t end) {
  constexpr int A = Ty::kIn, B = Tx::kIn;
  float tmp[A][B][kChunk];
  for (int64_t t = begin * g.th * g.tw; t < end * g.th * g.tw; ++t) {
    const Tile tl = tile_of(t, g.th, g.tw);
    float* base = gxp + g.window(tl);
    for (int64_t c0 = 0; c0 < g.C; c0 += kChunk) {
      const int64_t n = std::min(kChunk, g.C - c0);
      for (int i = 0; i < A; ++i) {
        const float* in[B];
        float* out[B];
        for (int j = 0; j < B; ++j) in[j] = gv + ((i * B + j) * g.T + t) * g.C + c0;
        for (int l = 0; l < B; ++l) out[l] = tmp[i][l];
        Tx::template bt_t<false>(in, out, n);
      }
      for (int l = 0; l < B; ++l) {
        const float* in[A];
        float* out[A];
        for (int i = 0; i < A; ++i) in[i] = tmp[i][l];
        for (int k = 0; k < A; ++k) out[k] = base + (k * g.Wp + l) * g.C + c0;
        Ty::template bt_t<true>(in, out, n);
      }
    }
  }
}

// m (A*B, T, Co) -> out (N, Ho, Wo, Co) at the phase's pixels, plus the bias, for tiles [begin,
// end).
template <class Ty, class Tx>
DCGAN_ALWAYS_INLINE void output_tiles(const PhaseGrid& g, const float* m, const float* bias,
                                      float* out, int64_t begin, int64_t end) {
  constexpr int A = Ty::kIn, B = Tx::kIn;
  float tmp[2][B][kChunk];
  for (int64_t t = begin; t < end; ++t) {
    const Tile tl = tile_of(t, g.th, g.tw);
    for (int64_t o0 = 0; o0 < g.Co; o0 += kChunk) {
      const int64_t n = std::min(kChunk, g.Co - o0);
      for (int j = 0; j < B; ++j) {
        const float* in[A];
        float* o[2] = {tmp[0][j], tmp[1][j]};
        for (int i = 0; i < A; ++i) in[i] = m + ((i * B + j) * g.T + t) * g.Co + o0;
        Ty::at(in, o, n);
      }
      for (int p = 0; p < 2; ++p) {
        const float* in[B];
        float* o[2];
        for (int j = 0; j < B; ++j) in[j] = tmp[p][j];
        for (int q = 0; q < 2; ++q) {
          o[q] = out + g.pixel(tl, p, q) + o0;
        }
        Tx::at(in, o, n);
        if (bias != nullptr) {
          for (int q = 0; q < 2; ++q) {
            for (int64_t c = 0; c < n; ++c) o[q][c] += bias[o0 + c];
          }
        }
      }
    }
  }
}

// gout (N, Ho, Wo, Co) -> gm (A*B, T, Co): the transpose of output_tiles, for tiles [begin, end).
template <class Ty, class Tx>
DCGAN_ALWAYS_INLINE void output_tiles_backward(const PhaseGrid& g, const float* gout, float* gm,
                                               int64_t begin, int64_t end) {
  constexpr int A = Ty::kIn, B = Tx::kIn;
  float tmp[2][B][kChunk];
  for (int64_t t = begin; t < end; ++t) {
    const Tile tl = tile_of(t, g.th, g.tw);
    for (int64_t o0 = 0; o0 < g.Co; o0 += kChunk) {
      const int64_t n = std::min(kChunk, g.Co - o0);
      for (int p = 0; p < 2; ++p) {
        const float* in[2];
        float* o[B];
        for (int q = 0; q < 2; ++q) {
          in[q] = gout + g.pixel(tl, p, q) + o0;
        }
        for (int j = 0; j < B; ++j) o[j] = tmp[p][j];
        Tx::at_t(in, o, n);
      }
      for (int j = 0; j < B; ++j) {
        const float* in[2] = {tmp[0][j], tmp[1][j]};
        float* o[A];
        for (int i = 0; i < A; ++i) o[i] = gm + ((i * B + j) * g.T + t) * g.Co + o0;
        Ty::at_t(in, o, n);
      }
    }
  }
}

// Runs name<Ty, Tx>(args..., begin, end) over [0, total) in parallel: on x86-64, a copy
// compiled for AVX2 with FMA where the CPU has them; elsewhere the build's baseline code.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
bool cpu_has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
#define DCGAN_TILE_KERNEL(name)                                         \
  template <class Ty, class Tx, class... Args>                          \
  __attribute__((target("avx2,fma"))) void name##_avx2(Args... args) {  \
    name<Ty, Tx>(args...);                                              \
  }                                                                     \
  template <class Ty, class Tx, class... Args>                          \
  void name##_base(Args... args) {                                      \
    name<Ty, Tx>(args...);                                              \
  }                                                                     \
  template <class Ty, class Tx, class... Args>                          \
  void name##_parallel(int64_t total, int64_t grain, Args... args) {    \
    RECORD_USER_SCOPE("dcgan::winograd_" #name);                        \
    at::parallel_for(0, total, grain, [&](int64_t begin, int64_t end) { \
      if (cpu_has_avx2()) {                                             \
        name##_avx2<Ty, Tx>(args..., begin, end);                       \
      } else {                                                          \
        name##_base<Ty, Tx>(args..., begin, end);                       \
      }                                                                 \
    });                                                                 \
  }
#else
#define DCGAN_TILE_KERNEL(name)                                                               \
  template <class Ty, class Tx, class... Args>                                                \
  void name##_parallel(int64_t total, int64_t grain, Args... args) {                          \
    RECORD_USER_SCOPE("dcgan::winograd_" #name);                                              \
    at::parallel_for(0, total, grain,                                                         \
                     [&](int64_t begin, int64_t end) { name<Ty, Tx>(args..., begin, end); }); \
  }
#endif
DCGAN_TILE_KERNEL(input_tiles)
DCGAN_TILE_KERNEL(input_tiles_backward)
DCGAN_TILE_KERNEL(output_tiles)
DCGAN_TILE_KERNEL(output_tiles_backward)
#undef DCGAN_TILE_KERNEL

// The four phases: (row transform, column transform) by (py, px); phase 0 is F(2,3), 1 is F(2,2).
constexpr int kPhases = 4;
int64_t phase_positions(int phase) {
  return ((phase / 2) == 0 ? F23::kIn : F22::kIn) * ((phase % 2) == 0 ? F23::kIn : F22::kIn);
}

template <typename Fn>
void dispatch_phase(int phase, Fn fn) {
  switch (phase) {
    case 0:
      fn(F23{}, F23{});
      break;
    case 1:
      fn(F23{}, F22{});
      break;
    case 2:
      fn(F22{}, F23{});
      break;
    default:
      fn(F22{}, F22{});
      break;
  }
}

// The geometry of one phase for input (N, C, H, W) and Co outputs.
PhaseGrid phase_grid(int64_t N, int64_t C, int64_t H, int64_t W, int64_t Co, int phase) {
  return {N, H + 2, W + 2, C, Co, H / 2, W / 2, N * (H / 2) * (W / 2), phase / 2, phase % 2};
}

// Scratch lives only within one forward or backward call (the backward pass recomputes the
// transformed input rather than keeping it), so training needs two buffers at a time and the pool
// stops growing after the first step: three buffers, about 60 MB for the reference G at batch 128.
// For a forward pass that autograd does not record (sampling, evaluation: one-off shapes),
// buffers are plain allocations.
BufferPool& pool() {
  static BufferPool* p = new BufferPool;  // never destroyed: tensors may outlive static destruction
  return *p;
}

// All four phases' transform positions, in phase order: the weight's transform U (kPositions, C,
// Co) holds phase p's (A*B, C, Co) from row phase_offset(p) on.
constexpr int64_t kPositions = 16 + 12 + 12 + 9;
int64_t phase_offset(int phase) {
  int64_t offset = 0;
  for (int p = 0; p < phase; ++p) offset += phase_positions(p);
  return offset;
}
torch::Tensor phase_part(const torch::Tensor& u, int phase) {
  return u.narrow(0, phase_offset(phase), phase_positions(phase));
}

// The transposed layer's three computations on NHWC data, for an input of (N, H, W, C) with one
// row and column of zeros on each side, xp (N, H + 2, W + 2, C), and the weight's transform u
// (kPositions, C, Co), contiguous. A stride-2 convolution is the same three read the other way
// (ConvFunction).

// xp -> (N, 2H, 2W, Co), plus the bias (Co; nullptr: none).
torch::Tensor transposed_nhwc(const torch::Tensor& xp, const torch::Tensor& u, const float* bias,
                              bool pooled) {
  const int64_t N = xp.size(0), H = xp.size(1) - 2, W = xp.size(2) - 2, C = xp.size(3);
  const int64_t Co = u.size(2);
  auto out = at::empty({N, 2 * H, 2 * W, Co}, xp.options());  // an activation: not pooled
  for (int phase = 0; phase < kPhases; ++phase) {
    const PhaseGrid g = phase_grid(N, C, H, W, Co, phase);
    auto v = pool().get({phase_positions(phase), g.T, C}, xp.options(), pooled);
    auto m = pool().get({phase_positions(phase), g.T, Co}, xp.options(), pooled);
    dispatch_phase(phase, [&](auto ty, auto tx) {
      using Ty = decltype(ty);
      using Tx = decltype(tx);
      input_tiles_parallel<Ty, Tx>(g.T, 8, g, static_cast<const float*>(xp.data_ptr<float>()),
                                   v.data_ptr<float>());
      products_ab(m, v, phase_part(u, phase));
      output_tiles_parallel<Ty, Tx>(g.T, 8, g, static_cast<const float*>(m.data_ptr<float>()), bias,
                                    out.data_ptr<float>());
    });
  }
  return out;
}

// The gradients for an output gradient gout (N, 2H, 2W, Co), contiguous: the padded input's
// (N, H + 2, W + 2, C) where want_x, and u's where want_u (from xp, undefined otherwise).
struct TransposedGrads {
  torch::Tensor gxp, gu;
};
TransposedGrads transposed_backward_nhwc(const torch::Tensor& xp, const torch::Tensor& gout,
                                         const torch::Tensor& u, bool want_x, bool want_u,
                                         bool pooled) {
  const int64_t N = gout.size(0), H = gout.size(1) / 2, W = gout.size(2) / 2, Co = gout.size(3);
  const int64_t C = u.size(1);
  TransposedGrads grads;
  if (!want_x && !want_u) return grads;
  if (want_x) grads.gxp = at::zeros({N, H + 2, W + 2, C}, gout.options());
  // Scratch for the largest phase, narrowed for each: the transformed output gradient, and the
  // transformed input for the weight gradient, then the input's transformed gradient. Taken
  // before the weight gradient, which lives on after this call (its buffer is pooled too, not
  // allocated and faulted in afresh each time), so that it does not take a scratch buffer.
  const int64_t tiles = phase_grid(N, C, H, W, Co, 0).T;
  auto gm_all = pool().get({phase_positions(0), tiles, Co}, gout.options(), pooled);
  auto v_all = pool().get({phase_positions(0), tiles, C}, gout.options(), pooled);
  if (want_u) grads.gu = pool().get(u.sizes(), gout.options(), pooled);
  for (int phase = 0; phase < kPhases; ++phase) {
    const PhaseGrid g = phase_grid(N, C, H, W, Co, phase);
    auto gm = gm_all.narrow(0, 0, phase_positions(phase));
    auto v = v_all.narrow(0, 0, phase_positions(phase));
    dispatch_phase(phase, [&](auto ty, auto tx) {
      using Ty = decltype(ty);
      using Tx = decltype(tx);
      output_tiles_backward_parallel<Ty, Tx>(
          g.T, 8, g, static_cast<const float*>(gout.data_ptr<float>()), gm.data_ptr<float>());
      if (want_u) {
        input_tiles_parallel<Ty, Tx>(g.T, 8, g, static_cast<const float*>(xp.data_ptr<float>()),
                                     v.data_ptr<float>());
        auto gu = phase_part(grads.gu, phase);
        products_atb(gu, v, gm);
      }
      if (want_x) {
        products_abt(v, gm, phase_part(u, phase));
        input_tiles_backward_parallel<Ty, Tx>(
            N, 1, g, static_cast<const float*>(v.data_ptr<float>()), grads.gxp.data_ptr<float>());
      }
    });
  }
  return grads;
}

// (N, C, H, W) in any layout -> NHWC, contiguous, with one row and column of zeros on each side.
torch::Tensor padded_nhwc(const torch::Tensor& x) {
  return at::constant_pad_nd(x.permute({0, 2, 3, 1}), {0, 0, 1, 1, 1, 1}).contiguous();
}

// The interior of a padded NHWC tensor, as (N, C, H, W) (channels-last strides).
torch::Tensor interior_nchw(const torch::Tensor& padded) {
  return nchw_view(padded.narrow(1, 1, padded.size(1) - 2).narrow(2, 1, padded.size(2) - 2));
}

class WinogradFunction : public torch::autograd::Function<WinogradFunction> {
 public:
  // x (N, C, H, W); u (kPositions, C, Co); bias (Co). Returns (N, Co, 2H, 2W), channels-last.
  // pooled: scratch buffers from the pool (a recorded forward pass and its backward).
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& bias, const torch::Tensor& u, bool pooled) {
    const auto uc = u.contiguous();
    const auto b = bias.contiguous();
    const auto xp = padded_nhwc(x);
    const auto out = transposed_nhwc(xp, uc, b.data_ptr<float>(), pooled);
    // The padded input, not its transform: the transform is 49/4 times larger per tile, and
    // computing it again in the backward pass took no measurable time (docs/PERFORMANCE.md).
    ctx->save_for_backward({xp, uc});
    ctx->saved_data["pooled"] = pooled;
    ctx->saved_data["x_nchw"] = is_nchw(x);
    return nchw_view(out);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto gout = nhwc(grads[0]);
    const bool want_x = ctx->needs_input_grad(0);
    const auto g =
        transposed_backward_nhwc(saved[0], gout, saved[1], want_x, ctx->needs_input_grad(2),
                                 ctx->saved_data["pooled"].toBool());
    variable_list out(4);  // the last for `pooled`
    if (want_x) out[0] = as_input(interior_nchw(g.gxp), ctx->saved_data["x_nchw"].toBool());
    if (ctx->needs_input_grad(1)) out[1] = gout.view({-1, gout.size(3)}).sum(0);
    out[2] = g.gu;
    return out;
  }
};

// conv2d(x, weight, bias, stride 2, padding 2) is the input gradient of the transposed layer with
// the same weight, read as (C, Co, 5, 5) = (out, in, 5, 5): the forward pass here is that
// gradient, the input gradient the transposed layer's forward pass, and the weight gradient the
// transposed layer's with the two activations' roles swapped.
class ConvFunction : public torch::autograd::Function<ConvFunction> {
 public:
  // x (N, in, H, W), H and W multiples of 4; u (kPositions, out, in); bias (out). Returns
  // (N, out, H/2, W/2), channels-last.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& bias, const torch::Tensor& u, bool pooled) {
    const auto uc = u.contiguous();
    const auto xn = nhwc(x);
    const auto g = transposed_backward_nhwc(torch::Tensor(), xn, uc, /*want_x=*/true,
                                            /*want_u=*/false, pooled);
    auto out = interior_nchw(g.gxp) + bias.view({1, -1, 1, 1});  // channels-last
    ctx->save_for_backward({xn, uc});
    ctx->saved_data["pooled"] = pooled;
    ctx->saved_data["x_nchw"] = is_nchw(x);
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const bool pooled = ctx->saved_data["pooled"].toBool();
    const auto gyp = padded_nhwc(grads[0]);
    variable_list out(4);
    if (ctx->needs_input_grad(0)) {
      out[0] = as_input(nchw_view(transposed_nhwc(gyp, saved[1], nullptr, pooled)),
                        ctx->saved_data["x_nchw"].toBool());
    }
    if (ctx->needs_input_grad(1)) out[1] = grads[0].sum({0, 2, 3});
    out[2] = transposed_backward_nhwc(gyp, saved[0], saved[1], /*want_x=*/false,
                                      ctx->needs_input_grad(2), pooled)
                 .gu;
    return out;
  }
};

// The 1-D weight transforms G (rows: transform positions; columns: taps in correlation order)
// and the kernel taps they take, per output parity.
constexpr float kG23[4][3] = {{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}};
constexpr float kG22[3][2] = {{1, 0}, {1, 1}, {0, 1}};
constexpr int kTaps23[3] = {4, 2, 0};
constexpr int kTaps22[2] = {3, 1};

// The (kPositions, 25) matrix taking a 5x5 kernel to all four phases' transform positions: row
// phase_offset + i*B + j, column ky*5 + kx holds Gy[i][k] Gx[j][l], where ky and kx are the
// phase's k-th and l-th taps (Gy (x) Gx applied to the phase's taps).
torch::Tensor weight_transform_matrix() {
  auto m = torch::zeros({kPositions, 25});
  auto a = m.accessor<float, 2>();
  for (int phase = 0; phase < kPhases; ++phase) {
    const bool y23 = phase / 2 == 0, x23 = phase % 2 == 0;
    const int rows_y = y23 ? 4 : 3, rows_x = x23 ? 4 : 3, taps_y = y23 ? 3 : 2,
              taps_x = x23 ? 3 : 2;
    const int64_t offset = phase_offset(phase);
    for (int i = 0; i < rows_y; ++i) {
      for (int j = 0; j < rows_x; ++j) {
        for (int k = 0; k < taps_y; ++k) {
          for (int l = 0; l < taps_x; ++l) {
            const float gy = y23 ? kG23[i][k] : kG22[i][k];
            const float gx = x23 ? kG23[j][l] : kG22[j][l];
            const int ky = y23 ? kTaps23[k] : kTaps22[k], kx = x23 ? kTaps23[l] : kTaps22[l];
            a[offset + i * rows_x + j][ky * 5 + kx] = gy * gx;
          }
        }
      }
    }
  }
  return m;
}

// weight (C, Co, 5, 5) -> U (kPositions, C, Co), differentiably: one matrix product.
torch::Tensor weight_transform(const torch::Tensor& weight) {
  static const torch::Tensor matrix = weight_transform_matrix();
  const int64_t C = weight.size(0), Co = weight.size(1);
  return product_wide(matrix.to(weight.dtype()), weight.reshape({C * Co, 25}).t())
      .view({kPositions, C, Co});
}

// Narrower layers are slower this way than LibTorch's (2 threads, batch 128, forward and backward):
// 128 -> 3 at 16x16 265 to 278 ms against 34 to 42, 64 -> 3 at 32x32 530 to 565 against 145 to
// 155, 128 -> 64 at 16x16 level (336 to 383 against 341 to 495); 256 -> 128 at 8x8 213 to 242
// against 280 to 322 and 512 -> 256 at 4x4 204 to 206 against 361 to 457. Their matrix products
// are too narrow, and their tiles' transforms too large, for the halved multiplications to pay.
constexpr int64_t kMinOutChannels = 128;

// G's geometry, the one winograd_conv_transpose computes (and D's, winograd_conv).
constexpr int64_t kStride = 2, kPadding = 2, kOutputPadding = 1;

// Whether the transposed layer's sizes fit the tiles: an input (N, C, H, W) with even H and W, and
// a 5x5 weight whose dimension x_channels_dim matches C. The convolution (x_channels_dim 1) is
// the transposed layer from its output to its input, whose H / 2 and W / 2 must then be even.
bool winograd_shapes(const torch::Tensor& x, const torch::Tensor& weight, int64_t x_channels_dim) {
  const int64_t multiple = x_channels_dim == 0 ? 2 : 4;
  return x.dim() == 4 && weight.dim() == 4 && x.size(2) % multiple == 0 &&
         x.size(3) % multiple == 0 && weight.size(x_channels_dim) == x.size(1) &&
         weight.size(2) == 5 && weight.size(3) == 5;
}

// Whether the layer here computes this input and weight: training, CPU fp32 operands of fitting
// sizes, a weight dimension 1 (the transposed layer's outputs, the convolution's inputs) of at
// least kMinOutChannels, and no CPU autocast.
bool winograd_applies(const torch::Tensor& x, const torch::Tensor& weight, int64_t x_channels_dim) {
  return torch::GradMode::is_enabled() && winograd_shapes(x, weight, x_channels_dim) &&
         weight.size(1) >= kMinOutChannels && x.device().is_cpu() &&
         x.scalar_type() == torch::kFloat && weight.scalar_type() == torch::kFloat &&
         !cpu_autocast_enabled();
}

// Applies Function (WinogradFunction or ConvFunction) with the weight's transform.
template <class Function>
torch::Tensor apply_winograd(const torch::Tensor& x, const torch::Tensor& weight,
                             const torch::Tensor& bias, int64_t out_channels) {
  const auto b = bias.defined() ? bias : at::zeros({out_channels}, weight.options());
  const bool pooled =
      torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad());
  return Function::apply(x, b, weight_transform(weight), pooled);
}

}  // namespace

bool winograd_conv_transpose_applies(const torch::Tensor& x, const torch::Tensor& weight) {
  return winograd_applies(x, weight, 0);
}

bool winograd_conv_applies(const torch::Tensor& x, const torch::Tensor& weight) {
  return winograd_applies(x, weight, 1);
}

torch::Tensor winograd_conv_transpose(const torch::Tensor& x, const torch::Tensor& weight,
                                      const torch::Tensor& bias) {
  return apply_winograd<WinogradFunction>(x, weight, bias, weight.size(1));
}

torch::Tensor winograd_conv(const torch::Tensor& x, const torch::Tensor& weight,
                            const torch::Tensor& bias) {
  TORCH_CHECK(winograd_shapes(x, weight, 1),
              "winograd_conv: needs x (N, in, H, W) with H and W multiples of 4 and a weight "
              "(out, in, 5, 5)");
  return apply_winograd<ConvFunction>(x, weight, bias, weight.size(0));
}

// Inside an emulated bf16 scope (precision.h) the emulation runs an fp32 kernel on the rounded
// operands, with autocast off: these where they apply.
torch::Tensor winograd_layer_forward(torch::nn::ConvTranspose2d& layer, const torch::Tensor& x) {
  if (bf16_emulated()) {
    return emulate_bf16(
        x, layer->weight, layer->bias,
        [](const torch::Tensor& in, const torch::Tensor& w, const torch::Tensor& b) {
          return winograd_conv_transpose_applies(in, w)
                     ? winograd_conv_transpose(in, w, b)
                     : torch::conv_transpose2d(in, w, b, kStride, kPadding, kOutputPadding);
        });
  }
  if (winograd_conv_transpose_applies(x, layer->weight)) {
    return winograd_conv_transpose(x, layer->weight, layer->bias);
  }
  return conv_transpose_forward(layer, x, kStride, kPadding, kOutputPadding);
}

torch::Tensor winograd_layer_forward(torch::nn::Conv2d& layer, const torch::Tensor& x) {
  if (bf16_emulated()) {
    return emulate_bf16(
        x, layer->weight, layer->bias,
        [](const torch::Tensor& in, const torch::Tensor& w, const torch::Tensor& b) {
          return winograd_conv_applies(in, w) ? winograd_conv(in, w, b)
                                              : torch::conv2d(in, w, b, kStride, kPadding);
        });
  }
  if (winograd_conv_applies(x, layer->weight)) return winograd_conv(x, layer->weight, layer->bias);
  return conv_forward(layer, x, kStride, kPadding);
}

int64_t winograd_scratch_bytes() { return pool().bytes(); }

}  // namespace dcgan
