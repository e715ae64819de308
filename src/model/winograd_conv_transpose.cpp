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
#include <utility>
#include <vector>

#include "buffer_pool.h"
#include "cpu_features.h"
#include "dcgan/model/cpu_products.h"
#include "dcgan/model/precision.h"
#include "dcgan/model/thin_conv_transpose.h"
#include "layout.h"

namespace dcgan {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The 1-D transforms, each as its formula on vectors of n channels. x[k] and y[k] point to the
// k-th input and output vector; no two of them overlap (the tile loops point them at distinct
// rows of distinct buffers), which is what lets each loop over channels be vectorized.
//   F(2,3): BT = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], AT = [1 1 1 0; 0 1 -1 -1]
//   F(2,2): BT = [1 -1 0; 0 1 0; 0 -1 1],                 AT = [1 1 0; 0 1 1]
// (G, for the weights, is kG23 and kG22 below.) bt_t and at_t apply the transposes, for the
// backward pass; bt_t<true> adds its result to y (store).

// y[i][c] = r[i], or += with kAdd, for the N results of one channel.
template <bool kAdd, int N>
inline void store(float* const* y, int64_t c, const float (&r)[N]) {
  for (int i = 0; i < N; ++i) {
    if (kAdd) {
      y[i][c] += r[i];
    } else {
      y[i][c] = r[i];
    }
  }
}

struct F23 {
  static constexpr int kIn = 4, kOut = 2;
  static inline void bt(const float* const* x, float* const* y, int64_t n) {
    DCGAN_INDEPENDENT_ITERATIONS
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
    DCGAN_INDEPENDENT_ITERATIONS
    for (int64_t c = 0; c < n; ++c) {
      const float v0 = x[0][c], v1 = x[1][c], v2 = x[2][c], v3 = x[3][c];
      store<kAdd>(y, c, {v0, v1 - v2 + v3, v1 + v2 - v0, -v3});
    }
  }
  static inline void at(const float* const* x, float* const* y, int64_t n) {
    DCGAN_INDEPENDENT_ITERATIONS
    for (int64_t c = 0; c < n; ++c) {
      const float m1 = x[1][c], m2 = x[2][c];
      y[0][c] = x[0][c] + m1 + m2;
      y[1][c] = m1 - m2 - x[3][c];
    }
  }
  static inline void at_t(const float* const* x, float* const* y, int64_t n) {
    DCGAN_INDEPENDENT_ITERATIONS
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
  static constexpr int kIn = 3, kOut = 2;
  static inline void bt(const float* const* x, float* const* y, int64_t n) {
    DCGAN_INDEPENDENT_ITERATIONS
    for (int64_t c = 0; c < n; ++c) {
      const float d0 = x[0][c], d1 = x[1][c], d2 = x[2][c];
      y[0][c] = d0 - d1;
      y[1][c] = d1;
      y[2][c] = d2 - d1;
    }
  }
  template <bool kAdd>
  static inline void bt_t(const float* const* x, float* const* y, int64_t n) {
    DCGAN_INDEPENDENT_ITERATIONS
    for (int64_t c = 0; c < n; ++c) {
      const float v0 = x[0][c], v1 = x[1][c], v2 = x[2][c];
      store<kAdd>(y, c, {v0, v1 - v0 - v2, v2});
    }
  }
  static inline void at(const float* const* x, float* const* y, int64_t n) {
    DCGAN_INDEPENDENT_ITERATIONS
    for (int64_t c = 0; c < n; ++c) {
      const float m1 = x[1][c];
      y[0][c] = x[0][c] + m1;
      y[1][c] = m1 + x[2][c];
    }
  }
  static inline void at_t(const float* const* x, float* const* y, int64_t n) {
    DCGAN_INDEPENDENT_ITERATIONS
    for (int64_t c = 0; c < n; ++c) {
      const float y0 = x[0][c], y1 = x[1][c];
      y[0][c] = y0;
      y[1][c] = y0 + y1;
      y[2][c] = y1;
    }
  }
};

// The same with 4 outputs per tile: Toom-Cook at 0, 1, -1, 1/2, -2 and infinity for F(4,3), whose
// fp32 rounding errors were a quarter of those at 0, +-1, +-2 (the textbook points) in a
// simulation of these layers' sums, and at 0, 1, -1, 2 and infinity for F(4,2);
// scripts/winograd_matrices.py derives them (and the 2-output ones above, up to the sign of a row):
//   F(4,3): BT = [1 -3/2 -2 3/2 1 0; 0 -1 1/2 5/2 1 0; 0 1 -5/2 1/2 1 0; 0 -2 -1 2 1 0;
//                 0 1/2 -1 -1/2 1 0; 0 1 -3/2 -2 3/2 1],
//           AT = [1 1 1 1 1 0; 0 1 -1 1/2 -2 0; 0 1 1 1/4 4 0; 0 1 -1 1/8 -8 1]
//   F(4,2): BT = [2 -1 -2 1 0; 0 -2 -1 1 0; 0 2 -3 1 0; 0 -1 0 1 0; 0 2 -1 -2 1],
//           AT = [1 1 1 1 0; 0 1 -1 2 0; 0 1 1 4 0; 0 1 -1 8 1]
// 36 + 30 + 30 + 25 = 121 products per 4x4 output tile of each phase instead of 4 * 49 = 196.
struct F43 {
  static constexpr int kIn = 6, kOut = 4;
  static inline void bt(const float* const* x, float* const* y, int64_t n) {
    DCGAN_INDEPENDENT_ITERATIONS
    for (int64_t c = 0; c < n; ++c) {
      const float d0 = x[0][c], d1 = x[1][c], d2 = x[2][c], d3 = x[3][c], d4 = x[4][c],
                  d5 = x[5][c];
      const float t31 = d3 - d1, t42 = d4 - d2;
      y[0][c] = (d0 + d4) - 2 * d2 + 1.5f * t31;
      y[1][c] = 0.5f * d2 + 2.5f * d3 + d4 - d1;
      y[2][c] = d1 - 2.5f * d2 + 0.5f * d3 + d4;
      y[3][c] = t42 + 2 * t31;
      y[4][c] = t42 - 0.5f * t31;
      y[5][c] = (d1 + d5) - 2 * d3 + 1.5f * t42;
    }
  }
  template <bool kAdd>
  static inline void bt_t(const float* const* x, float* const* y, int64_t n) {
    DCGAN_INDEPENDENT_ITERATIONS
    for (int64_t c = 0; c < n; ++c) {
      const float v0 = x[0][c], v1 = x[1][c], v2 = x[2][c], v3 = x[3][c], v4 = x[4][c],
                  v5 = x[5][c];
      store<kAdd>(y, c,
                  {v0, (v2 - v1 + v5) - 1.5f * v0 - 2 * v3 + 0.5f * v4,
                   0.5f * v1 - 2 * v0 - 2.5f * v2 - v3 - v4 - 1.5f * v5,
                   1.5f * v0 + 2.5f * v1 + 0.5f * v2 + 2 * v3 - 0.5f * v4 - 2 * v5,
                   v0 + v1 + v2 + v3 + v4 + 1.5f * v5, v5});
    }
  }
  static inline void at(const float* const* x, float* const* y, int64_t n) {
    DCGAN_INDEPENDENT_ITERATIONS
    for (int64_t c = 0; c < n; ++c) {
      const float a = x[1][c] + x[2][c], b = x[1][c] - x[2][c], m3 = x[3][c], m4 = x[4][c];
      y[0][c] = x[0][c] + a + m3 + m4;
      y[1][c] = b + 0.5f * m3 - 2 * m4;
      y[2][c] = a + 0.25f * m3 + 4 * m4;
      y[3][c] = b + 0.125f * m3 - 8 * m4 + x[5][c];
    }
  }
  static inline void at_t(const float* const* x, float* const* y, int64_t n) {
    DCGAN_INDEPENDENT_ITERATIONS
    for (int64_t c = 0; c < n; ++c) {
      const float y0 = x[0][c], y1 = x[1][c], y2 = x[2][c], y3 = x[3][c];
      const float e = y0 + y2, o = y1 + y3;
      y[0][c] = y0;
      y[1][c] = e + o;
      y[2][c] = e - o;
      y[3][c] = y0 + 0.5f * y1 + 0.25f * y2 + 0.125f * y3;
      y[4][c] = y0 - 2 * y1 + 4 * y2 - 8 * y3;
      y[5][c] = y3;
    }
  }
};
struct F42 {
  static constexpr int kIn = 5, kOut = 4;
  static inline void bt(const float* const* x, float* const* y, int64_t n) {
    DCGAN_INDEPENDENT_ITERATIONS
    for (int64_t c = 0; c < n; ++c) {
      const float d0 = x[0][c], d1 = x[1][c], d2 = x[2][c], d3 = x[3][c], d4 = x[4][c];
      const float t31 = d3 - d1;
      y[0][c] = 2 * (d0 - d2) + t31;
      y[1][c] = t31 - d1 - d2;
      y[2][c] = 2 * d1 - 3 * d2 + d3;
      y[3][c] = t31;
      y[4][c] = d4 - d2 - 2 * t31;
    }
  }
  template <bool kAdd>
  static inline void bt_t(const float* const* x, float* const* y, int64_t n) {
    DCGAN_INDEPENDENT_ITERATIONS
    for (int64_t c = 0; c < n; ++c) {
      const float v0 = x[0][c], v1 = x[1][c], v2 = x[2][c], v3 = x[3][c], v4 = x[4][c];
      store<kAdd>(y, c,
                  {2 * v0, 2 * (v2 - v1 + v4) - v0 - v3, -2 * v0 - v1 - 3 * v2 - v4,
                   v0 + v1 + v2 + v3 - 2 * v4, v4});
    }
  }
  static inline void at(const float* const* x, float* const* y, int64_t n) {
    DCGAN_INDEPENDENT_ITERATIONS
    for (int64_t c = 0; c < n; ++c) {
      const float a = x[1][c] + x[2][c], b = x[1][c] - x[2][c], m3 = x[3][c];
      y[0][c] = x[0][c] + a + m3;
      y[1][c] = b + 2 * m3;
      y[2][c] = a + 4 * m3;
      y[3][c] = b + 8 * m3 + x[4][c];
    }
  }
  static inline void at_t(const float* const* x, float* const* y, int64_t n) {
    DCGAN_INDEPENDENT_ITERATIONS
    for (int64_t c = 0; c < n; ++c) {
      const float y0 = x[0][c], y1 = x[1][c], y2 = x[2][c], y3 = x[3][c];
      const float e = y0 + y2, o = y1 + y3;
      y[0][c] = y0;
      y[1][c] = e + o;
      y[2][c] = e - o;
      y[3][c] = y0 + 2 * y1 + 4 * y2 + 8 * y3;
      y[4][c] = y3;
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
  int64_t N, Hp, Wp, C, Co, th, tw, T, py, px, m;  // padded input (N, Hp, Wp, C); tiles; phase;
                                                   // outputs per tile and axis (2 or 4)
  int64_t Ho() const { return 2 * (Hp - 2); }
  int64_t Wo() const { return 2 * (Wp - 2); }
  // Where tile tl's input window starts in the padded input (channel 0).
  int64_t window(const Tile& tl) const {
    return ((tl.n * Hp + m * tl.y + py) * Wp + m * tl.x + px) * C;
  }
  // Where output pixel (p, q) of tile tl lies in the output (channel 0).
  int64_t pixel(const Tile& tl, int p, int q) const {
    const int64_t row = 2 * (m * tl.y + p) + py, col = 2 * (m * tl.x + q) + px;
    return ((tl.n * Ho() + row) * Wo() + col) * Co;
  }
};

// The tile loops. Each is written once, always inlined into the copies DCGAN_TILE_KERNEL makes.

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
  constexpr int A = Ty::kIn, B = Tx::kIn, P = Ty::kOut, Q = Tx::kOut;
  float tmp[P][B][kChunk];
  for (int64_t t = begin; t < end; ++t) {
    const Tile tl = tile_of(t, g.th, g.tw);
    for (int64_t o0 = 0; o0 < g.Co; o0 += kChunk) {
      const int64_t n = std::min(kChunk, g.Co - o0);
      for (int j = 0; j < B; ++j) {
        const float* in[A];
        float* o[P];
        for (int i = 0; i < A; ++i) in[i] = m + ((i * B + j) * g.T + t) * g.Co + o0;
        for (int p = 0; p < P; ++p) o[p] = tmp[p][j];
        Ty::at(in, o, n);
      }
      for (int p = 0; p < P; ++p) {
        const float* in[B];
        float* o[Q];
        for (int j = 0; j < B; ++j) in[j] = tmp[p][j];
        for (int q = 0; q < Q; ++q) {
          o[q] = out + g.pixel(tl, p, q) + o0;
        }
        Tx::at(in, o, n);
        if (bias != nullptr) {
          for (int q = 0; q < Q; ++q) {
            DCGAN_INDEPENDENT_ITERATIONS
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
  constexpr int A = Ty::kIn, B = Tx::kIn, P = Ty::kOut, Q = Tx::kOut;
  float tmp[P][B][kChunk];
  for (int64_t t = begin; t < end; ++t) {
    const Tile tl = tile_of(t, g.th, g.tw);
    for (int64_t o0 = 0; o0 < g.Co; o0 += kChunk) {
      const int64_t n = std::min(kChunk, g.Co - o0);
      for (int p = 0; p < P; ++p) {
        const float* in[Q];
        float* o[B];
        for (int q = 0; q < Q; ++q) {
          in[q] = gout + g.pixel(tl, p, q) + o0;
        }
        for (int j = 0; j < B; ++j) o[j] = tmp[p][j];
        Tx::at_t(in, o, n);
      }
      for (int j = 0; j < B; ++j) {
        const float* in[P];
        for (int p = 0; p < P; ++p) in[p] = tmp[p][j];
        float* o[A];
        for (int i = 0; i < A; ++i) o[i] = gm + ((i * B + j) * g.T + t) * g.Co + o0;
        Ty::at_t(in, o, n);
      }
    }
  }
}

// Runs name<Ty, Tx>(args..., begin, end) over [0, total) in parallel, in a copy compiled for
// AVX2 with FMA where the CPU has them (run_widest).
#define DCGAN_TILE_KERNEL(name)                                                         \
  template <class Ty, class Tx, class... Args>                                          \
  void name##_parallel(int64_t total, int64_t grain, Args... args) {                    \
    RECORD_USER_SCOPE("dcgan::winograd_" #name);                                        \
    at::parallel_for(0, total, grain, [&](int64_t begin, int64_t end) {                 \
      run_widest<CpuCopy::kAvx2>(                                                       \
          [&](auto) DCGAN_ALWAYS_INLINE_LAMBDA { name<Ty, Tx>(args..., begin, end); }); \
    });                                                                                 \
  }
DCGAN_TILE_KERNEL(input_tiles)
DCGAN_TILE_KERNEL(input_tiles_backward)
DCGAN_TILE_KERNEL(output_tiles)
DCGAN_TILE_KERNEL(output_tiles_backward)
#undef DCGAN_TILE_KERNEL

// The four phases: (row transform, column transform) by (py, px); parity 0 takes 3 taps, F(m,3),
// parity 1 takes 2, F(m,2), with m outputs per tile and axis, 2 or 4 (the tile).
constexpr int kPhases = 4;
int64_t axis_positions(int parity, int64_t tile) {
  if (tile == 4) return parity == 0 ? F43::kIn : F42::kIn;
  return parity == 0 ? F23::kIn : F22::kIn;
}
int64_t phase_positions(int phase, int64_t tile) {
  return axis_positions(phase / 2, tile) * axis_positions(phase % 2, tile);
}

template <class Three, class Two, typename Fn>
void dispatch_parities(int phase, Fn fn) {
  switch (phase) {
    case 0:
      fn(Three{}, Three{});
      break;
    case 1:
      fn(Three{}, Two{});
      break;
    case 2:
      fn(Two{}, Three{});
      break;
    default:
      fn(Two{}, Two{});
      break;
  }
}
template <typename Fn>
void dispatch_phase(int phase, int64_t tile, Fn fn) {
  if (tile == 4) {
    dispatch_parities<F43, F42>(phase, fn);
  } else {
    dispatch_parities<F23, F22>(phase, fn);
  }
}

// The geometry of one phase for input (N, C, H, W) and Co outputs, in tiles of `tile` outputs per
// axis (H and W its multiples).
PhaseGrid phase_grid(int64_t N, int64_t C, int64_t H, int64_t W, int64_t Co, int phase,
                     int64_t tile) {
  const int64_t th = H / tile, tw = W / tile;
  return {N, H + 2, W + 2, C, Co, th, tw, N * th * tw, phase / 2, phase % 2, tile};
}

// Scratch lives only within one forward or backward call (the backward pass recomputes the
// transformed input rather than keeping it), and a weight's transform from its forward pass to its
// backward pass, so the pool stops growing after the first step: it holds the scratch of one call
// and the transforms of the graphs a step keeps alive at once. For a forward pass that autograd
// does not record (sampling, evaluation: one-off shapes), buffers are plain allocations.
BufferPool& pool() {
  static BufferPool* p = new BufferPool;  // never destroyed: tensors may outlive static destruction
  return *p;
}

// All four phases' transform positions, in phase order: the weight's transform U (positions, C,
// Co) holds phase p's (A*B, C, Co) from row phase_offset(p) on; 16 + 12 + 12 + 9 = 49 positions
// for tiles of 2, 36 + 30 + 30 + 25 = 121 for tiles of 4, which is how u tells its tile.
int64_t positions(int64_t tile) {
  int64_t total = 0;
  for (int p = 0; p < kPhases; ++p) total += phase_positions(p, tile);
  return total;
}
int64_t tile_of_transform(const torch::Tensor& u) { return u.size(0) == positions(4) ? 4 : 2; }
int64_t phase_offset(int phase, int64_t tile) {
  int64_t offset = 0;
  for (int p = 0; p < phase; ++p) offset += phase_positions(p, tile);
  return offset;
}
torch::Tensor phase_part(const torch::Tensor& u, int phase) {
  const int64_t tile = tile_of_transform(u);
  return u.narrow(0, phase_offset(phase, tile), phase_positions(phase, tile));
}

// The transposed layer's three computations on NHWC data, for an input of (N, H, W, C) with one
// row and column of zeros on each side, xp (N, H + 2, W + 2, C), and the weight's transform u
// (positions, C, Co), contiguous. A stride-2 convolution is the same three read the other way
// (ConvFunction).

// xp -> (N, 2H, 2W, Co), plus the bias (Co; nullptr: none).
torch::Tensor transposed_nhwc(const torch::Tensor& xp, const torch::Tensor& u, const float* bias,
                              bool pooled) {
  const int64_t N = xp.size(0), H = xp.size(1) - 2, W = xp.size(2) - 2, C = xp.size(3);
  const int64_t Co = u.size(2), tile = tile_of_transform(u);
  auto out = at::empty({N, 2 * H, 2 * W, Co}, xp.options());  // an activation: not pooled
  for (int phase = 0; phase < kPhases; ++phase) {
    const PhaseGrid g = phase_grid(N, C, H, W, Co, phase, tile);
    auto v = pool().get({phase_positions(phase, tile), g.T, C}, xp.options(), pooled);
    auto m = pool().get({phase_positions(phase, tile), g.T, Co}, xp.options(), pooled);
    dispatch_phase(phase, tile, [&](auto ty, auto tx) {
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
  const int64_t C = u.size(1), tile = tile_of_transform(u);
  TransposedGrads grads;
  if (!want_x && !want_u) return grads;
  if (want_x) grads.gxp = at::zeros({N, H + 2, W + 2, C}, gout.options());
  // Scratch for the largest phase, narrowed for each: the transformed output gradient, and the
  // transformed input for the weight gradient, then the input's transformed gradient. Taken
  // before the weight gradient, which lives on after this call (its buffer is pooled too, not
  // allocated and faulted in afresh each time), so that it does not take a scratch buffer.
  const int64_t tiles = phase_grid(N, C, H, W, Co, 0, tile).T;
  auto gm_all = pool().get({phase_positions(0, tile), tiles, Co}, gout.options(), pooled);
  auto v_all = pool().get({phase_positions(0, tile), tiles, C}, gout.options(), pooled);
  if (want_u) grads.gu = pool().get(u.sizes(), gout.options(), pooled);
  for (int phase = 0; phase < kPhases; ++phase) {
    const PhaseGrid g = phase_grid(N, C, H, W, Co, phase, tile);
    auto gm = gm_all.narrow(0, 0, phase_positions(phase, tile));
    auto v = v_all.narrow(0, 0, phase_positions(phase, tile));
    dispatch_phase(phase, tile, [&](auto ty, auto tx) {
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

// The 1-D weight transforms G (rows: transform positions; columns: taps in correlation order)
// and the kernel taps they take, per output parity.
constexpr double kG23[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
constexpr double kG22[3][2] = {{1, 0}, {1, 1}, {0, 1}};
constexpr double kG43[6][3] = {{1, 0, 0},
                               {1.0 / 3, 1.0 / 3, 1.0 / 3},
                               {-1.0 / 3, 1.0 / 3, -1.0 / 3},
                               {-16.0 / 15, -8.0 / 15, -4.0 / 15},
                               {1.0 / 15, -2.0 / 15, 4.0 / 15},
                               {0, 0, 1}};
constexpr double kG42[5][2] = {
    {1.0 / 2, 0}, {-1.0 / 2, -1.0 / 2}, {-1.0 / 6, 1.0 / 6}, {1.0 / 6, 1.0 / 3}, {0, 1}};
constexpr int kTaps3[3] = {4, 2, 0};
constexpr int kTaps2[2] = {3, 1};

// G's entry (position i, tap k) for an axis of the given parity (0: 3 taps, 1: 2) and tile.
double g_entry(int parity, int64_t tile, int i, int k) {
  if (tile == 4) return parity == 0 ? kG43[i][k] : kG42[i][k];
  return parity == 0 ? kG23[i][k] : kG22[i][k];
}

// The kernel tap (0 .. 4 along an axis) of a phase's k-th tap, by the axis's output parity.
inline int kernel_tap(int parity, int k) { return parity == 0 ? kTaps3[k] : kTaps2[k]; }

// The weights' transforms, U = Gy g Gx^T per phase and channel pair (g the phase's taps of the
// 5x5 kernel), and its transpose for the gradient. Each runs over blocks of kWeightBlock kernels,
// separably (along x, then along y) and skipping G's zeros; the kernels' 25 taps, contiguous in
// the weight, are transposed into a block so that the arithmetic runs along the kernels.
constexpr int64_t kWeightBlock = 256;

// One phase's share of the weights' transforms: its positions per axis (ay, ax), taps per axis
// (ty, tx) and first row in U.
struct PhaseTaps {
  int py, px, ty, tx;
  int64_t ay, ax, offset;
  PhaseTaps(int phase, int64_t tile)
      : py(phase / 2),
        px(phase % 2),
        ty(py == 0 ? 3 : 2),
        tx(px == 0 ? 3 : 2),
        ay(axis_positions(py, tile)),
        ax(axis_positions(px, tile)),
        offset(phase_offset(phase, tile)) {}
  // The tap (k along y, l along x) in the kernel's 25.
  int tap(int k, int l) const { return kernel_tap(py, k) * 5 + kernel_tap(px, l); }
};

// dst[i] = sum over the terms of c * src[i] for i in [0, len), one store per element: the terms
// with c == 0 skipped, the others added in their order (at most kMaxTerms).
constexpr int kMaxTerms = 6;

template <int kTerms>
DCGAN_ALWAYS_INLINE void combine_terms(float* __restrict dst, int64_t len, const float* c,
                                       const float* const* src) {
  DCGAN_INDEPENDENT_ITERATIONS
  for (int64_t i = 0; i < len; ++i) {
    float sum = c[0] * src[0][i];
    for (int t = 1; t < kTerms; ++t) sum += c[t] * src[t][i];
    dst[i] = sum;
  }
}

// term(t) gives (c, src) for t in [0, terms).
template <typename Term>
DCGAN_ALWAYS_INLINE void combine(float* dst, int64_t len, int terms, Term term) {
  float c[kMaxTerms];
  const float* src[kMaxTerms];
  int used = 0;
  for (int t = 0; t < terms; ++t) {
    const auto [ct, st] = term(t);
    if (ct == 0) continue;
    c[used] = ct;
    src[used] = st;
    ++used;
  }
  switch (used) {
    case 0: std::fill(dst, dst + len, 0.f); return;
    case 1: return combine_terms<1>(dst, len, c, src);
    case 2: return combine_terms<2>(dst, len, c, src);
    case 3: return combine_terms<3>(dst, len, c, src);
    case 4: return combine_terms<4>(dst, len, c, src);
    case 5: return combine_terms<5>(dst, len, c, src);
    default: return combine_terms<6>(dst, len, c, src);
  }
}

// A block's scratch: the kernels' taps (25, kWeightBlock) and the first pass's rows
// (3, 6, kWeightBlock).
using BlockTaps = float (*)[kWeightBlock];
using BlockRows = float (*)[6][kWeightBlock];

// Kernels k0 .. k0 + len of w (n, 25), each kernel's taps contiguous -> u (positions, n): along x
// into rows[k][j] (sum_l Gx[j][l] g[k][l]), then along y into U.
DCGAN_ALWAYS_INLINE void weight_transform_block(const float* w, float* u, int64_t n, int64_t tile,
                                                int64_t k0, int64_t len, BlockTaps taps,
                                                BlockRows rows) {
  for (int64_t i = 0; i < len; ++i) {
    for (int t = 0; t < 25; ++t) taps[t][i] = w[(k0 + i) * 25 + t];
  }
  for (int phase = 0; phase < kPhases; ++phase) {
    const PhaseTaps p(phase, tile);
    for (int k = 0; k < p.ty; ++k) {
      for (int64_t j = 0; j < p.ax; ++j) {
        combine(rows[k][j], len, p.tx, [&](int l) {
          return std::pair<float, const float*>(static_cast<float>(g_entry(p.px, tile, j, l)),
                                                taps[p.tap(k, l)]);
        });
      }
    }
    for (int64_t iy = 0; iy < p.ay; ++iy) {
      for (int64_t j = 0; j < p.ax; ++j) {
        combine(u + (p.offset + iy * p.ax + j) * n + k0, len, p.ty, [&](int k) {
          return std::pair<float, const float*>(static_cast<float>(g_entry(p.py, tile, iy, k)),
                                                rows[k][j]);
        });
      }
    }
  }
}

// The transpose, for kernels k0 .. k0 + len: gu (positions, n) -> gw (n, 25), gw[k][t] = sum_p
// M[p][t] gu[p][k]: along y into rows[k][j] (sum_i Gy[i][k] gu[i][j]), then along x into the
// taps. Each tap belongs to one phase (by the parities of its row and column), so each is
// written once.
DCGAN_ALWAYS_INLINE void weight_transform_backward_block(const float* gu, float* gw, int64_t n,
                                                         int64_t tile, int64_t k0, int64_t len,
                                                         BlockTaps taps, BlockRows rows) {
  for (int phase = 0; phase < kPhases; ++phase) {
    const PhaseTaps p(phase, tile);
    for (int k = 0; k < p.ty; ++k) {
      for (int64_t j = 0; j < p.ax; ++j) {
        combine(rows[k][j], len, static_cast<int>(p.ay), [&](int iy) {
          return std::pair<float, const float*>(static_cast<float>(g_entry(p.py, tile, iy, k)),
                                                gu + (p.offset + iy * p.ax + j) * n + k0);
        });
      }
    }
    for (int k = 0; k < p.ty; ++k) {
      for (int l = 0; l < p.tx; ++l) {
        combine(taps[p.tap(k, l)], len, static_cast<int>(p.ax), [&](int j) {
          return std::pair<float, const float*>(static_cast<float>(g_entry(p.px, tile, j, l)),
                                                rows[k][j]);
        });
      }
    }
  }
  for (int64_t i = 0; i < len; ++i) {
    for (int t = 0; t < 25; ++t) gw[(k0 + i) * 25 + t] = taps[t][i];
  }
}

// Blocks b0 .. b1 of the n kernels, forward or backward, with the blocks' scratch on the stack.
template <bool kBackward>
DCGAN_ALWAYS_INLINE void weight_blocks(const float* in, float* out, int64_t n, int64_t tile,
                                       int64_t b0, int64_t b1) {
  float taps[25][kWeightBlock];
  float rows[3][6][kWeightBlock];
  for (int64_t b = b0; b < b1; ++b) {
    const int64_t k0 = b * kWeightBlock;
    const int64_t len = std::min(kWeightBlock, n - k0);
    if constexpr (kBackward) {
      weight_transform_backward_block(in, out, n, tile, k0, len, taps, rows);
    } else {
      weight_transform_block(in, out, n, tile, k0, len, taps, rows);
    }
  }
}

// The blocks of n kernels in parallel, in a copy compiled for AVX2 with FMA where the CPU has them
// (the tile kernels' way).
template <bool kBackward>
void weight_transform_blocks(const float* in, float* out, int64_t n, int64_t tile) {
  const int64_t blocks = (n + kWeightBlock - 1) / kWeightBlock;
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    run_widest<CpuCopy::kAvx2>([&](auto) DCGAN_ALWAYS_INLINE_LAMBDA {
      weight_blocks<kBackward>(in, out, n, tile, b0, b1);
    });
  });
}

// weight (C, Co, 5, 5) -> U (positions, C, Co), from the pool where `pooled` (it lives until the
// backward pass, which reads it; a fresh one of tens of megabytes would be mapped and faulted in
// on every step).
torch::Tensor weight_transform(const torch::Tensor& weight, int64_t tile, bool pooled) {
  RECORD_USER_SCOPE("dcgan::winograd_weight_transform");
  const auto w = weight.contiguous();
  const int64_t C = w.size(0), Co = w.size(1);
  auto u = pool().get({positions(tile), C, Co}, w.options(), pooled);
  weight_transform_blocks<false>(w.data_ptr<float>(), u.data_ptr<float>(), C * Co, tile);
  return u;
}

// U's gradient (positions, C, Co) -> the weight's (C, Co, 5, 5).
torch::Tensor weight_transform_backward(const torch::Tensor& gu, int64_t tile) {
  RECORD_USER_SCOPE("dcgan::winograd_weight_transform_backward");
  const int64_t C = gu.size(1), Co = gu.size(2);
  auto gw = at::empty({C, Co, 5, 5}, gu.options());
  weight_transform_blocks<true>(gu.data_ptr<float>(), gw.data_ptr<float>(), C * Co, tile);
  return gw;
}

class WinogradFunction : public torch::autograd::Function<WinogradFunction> {
 public:
  // x (N, C, H, W); weight (C, Co, 5, 5); bias (Co). Returns (N, Co, 2H, 2W), channels-last.
  // pooled: scratch buffers from the pool (a recorded forward pass and its backward); tile: 2 or
  // 4, fitting H and W.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& bias, const torch::Tensor& weight, bool pooled,
                               int64_t tile) {
    const auto uc = weight_transform(weight, tile, pooled);
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
    variable_list out(5);  // the last two for `pooled` and `tile`
    if (want_x) out[0] = as_input(interior_nchw(g.gxp), ctx->saved_data["x_nchw"].toBool());
    if (ctx->needs_input_grad(1)) out[1] = gout.view({-1, gout.size(3)}).sum(0);
    if (g.gu.defined()) out[2] = weight_transform_backward(g.gu, tile_of_transform(saved[1]));
    return out;
  }
};

// conv2d(x, weight, bias, stride 2, padding 2) is the input gradient of the transposed layer with
// the same weight, read as (C, Co, 5, 5) = (out, in, 5, 5): the forward pass here is that
// gradient, the input gradient the transposed layer's forward pass, and the weight gradient the
// transposed layer's with the two activations' roles swapped.
class ConvFunction : public torch::autograd::Function<ConvFunction> {
 public:
  // x (N, in, H, W), H and W multiples of 4; weight (out, in, 5, 5), whose transform is
  // (positions, out, in); bias (out). Returns (N, out, H/2, W/2), channels-last.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& bias, const torch::Tensor& weight, bool pooled,
                               int64_t tile) {
    const auto uc = weight_transform(weight, tile, pooled);
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
    variable_list out(5);
    if (ctx->needs_input_grad(0)) {
      out[0] = as_input(nchw_view(transposed_nhwc(gyp, saved[1], nullptr, pooled)),
                        ctx->saved_data["x_nchw"].toBool());
    }
    if (ctx->needs_input_grad(1)) out[1] = grads[0].sum({0, 2, 3});
    const auto gu = transposed_backward_nhwc(gyp, saved[0], saved[1], /*want_x=*/false,
                                             ctx->needs_input_grad(2), pooled)
                        .gu;
    if (gu.defined()) out[2] = weight_transform_backward(gu, tile_of_transform(saved[1]));
    return out;
  }
};

// Narrower layers are slower this way than LibTorch's (2 threads, batch 128, forward and backward,
// in tiles of 2): 128 -> 3 at 16x16 265 to 278 ms against 34 to 42, 64 -> 3 at 32x32 530 to 565
// against 145 to 155; their matrix products are too narrow, and their tiles' transforms too large,
// for the fewer multiplications to pay. 64 channels were level in tiles of 2 (G's 128 -> 64 at
// 16x16, D's 64 -> 128 at 16x16) and pay in tiles of 4: the reference step with D's 64 -> 128
// this way is about 5 % faster (docs/PERFORMANCE.md, "What was tried").
constexpr int64_t kMinOutChannels = 64;

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

// Applies Function (WinogradFunction or ConvFunction) in tiles of `tile`.
template <class Function>
torch::Tensor apply_winograd(const torch::Tensor& x, const torch::Tensor& weight,
                             const torch::Tensor& bias, int64_t out_channels, int64_t tile) {
  const auto b = bias.defined() ? bias : at::zeros({out_channels}, weight.options());
  const bool pooled =
      torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad());
  return Function::apply(x, b, weight, pooled, tile);
}

// A side of the transposed layer's input, from a side of x (the convolution's input is that
// layer's output: twice as large).
int64_t transposed_side(int64_t side, bool transposed) { return transposed ? side : side / 2; }

// tile, or winograd_tile's where 0; checked against the transposed layer's input size (H, W).
int64_t checked_tile(int64_t tile, int64_t h, int64_t w, bool transposed) {
  const int64_t chosen = tile == 0 ? winograd_tile(h, w, transposed) : tile;
  TORCH_CHECK((chosen == 2 || chosen == 4) && transposed_side(h, transposed) % chosen == 0 &&
                  transposed_side(w, transposed) % chosen == 0,
              "winograd: tile ", chosen, " does not fit an input of ", h, "x", w);
  return chosen;
}

}  // namespace

bool winograd_conv_transpose_applies(const torch::Tensor& x, const torch::Tensor& weight) {
  return winograd_applies(x, weight, 0);
}

int64_t winograd_tile(int64_t h, int64_t w, bool transposed) {
  return transposed_side(h, transposed) % 4 == 0 && transposed_side(w, transposed) % 4 == 0 ? 4 : 2;
}

bool winograd_conv_applies(const torch::Tensor& x, const torch::Tensor& weight) {
  return winograd_applies(x, weight, 1);
}

torch::Tensor winograd_conv_transpose(const torch::Tensor& x, const torch::Tensor& weight,
                                      const torch::Tensor& bias, int64_t tile) {
  return apply_winograd<WinogradFunction>(x, weight, bias, weight.size(1),
                                          checked_tile(tile, x.size(2), x.size(3), true));
}

torch::Tensor winograd_conv(const torch::Tensor& x, const torch::Tensor& weight,
                            const torch::Tensor& bias, int64_t tile) {
  TORCH_CHECK(winograd_shapes(x, weight, 1),
              "winograd_conv: needs x (N, in, H, W) with H and W multiples of 4 and a weight "
              "(out, in, 5, 5)");
  return apply_winograd<ConvFunction>(x, weight, bias, weight.size(0),
                                      checked_tile(tile, x.size(2), x.size(3), false));
}

namespace {

// Whether the direct form for a few channels on the image side (thin_conv_transpose.h) computes
// this layer: under the Winograd form's conditions other than width (training, no CPU autocast).
bool thin_applies(const torch::Tensor& x, const torch::Tensor& weight, bool transposed) {
  return torch::GradMode::is_enabled() && !cpu_autocast_enabled() &&
         (transposed ? thin_conv_transpose_applies(x, weight) : thin_conv_applies(x, weight));
}

torch::Tensor transposed_layer(const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& b) {
  if (winograd_conv_transpose_applies(x, w)) return winograd_conv_transpose(x, w, b);
  if (thin_applies(x, w, true)) return thin_layer_conv_transpose(x, w, b);
  return torch::conv_transpose2d(x, w, b, kStride, kPadding, kOutputPadding);
}

torch::Tensor conv_layer(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  if (winograd_conv_applies(x, w)) return winograd_conv(x, w, b);
  if (thin_applies(x, w, false)) return thin_layer_conv(x, w, b);
  return torch::conv2d(x, w, b, kStride, kPadding);
}

}  // namespace

// Inside an emulated bf16 scope (precision.h) the emulation runs an fp32 kernel on the rounded
// operands, with autocast off: these where they apply.
torch::Tensor winograd_layer_forward(torch::nn::ConvTranspose2d& layer, const torch::Tensor& x) {
  if (bf16_emulated()) return emulate_bf16(x, layer->weight, layer->bias, transposed_layer);
  if (winograd_conv_transpose_applies(x, layer->weight) || thin_applies(x, layer->weight, true)) {
    return transposed_layer(x, layer->weight, layer->bias);
  }
  return conv_transpose_forward(layer, x, kStride, kPadding, kOutputPadding);
}

torch::Tensor winograd_layer_forward(torch::nn::Conv2d& layer, const torch::Tensor& x) {
  if (bf16_emulated()) return emulate_bf16(x, layer->weight, layer->bias, conv_layer);
  if (winograd_conv_applies(x, layer->weight) || thin_applies(x, layer->weight, false)) {
    return conv_layer(x, layer->weight, layer->bias);
  }
  return conv_forward(layer, x, kStride, kPadding);
}

int64_t winograd_scratch_bytes() { return pool().bytes(); }

}  // namespace dcgan
