// Batch norm in training and leaky ReLU in one pass each way; the header has the idea.
//
// Per channel c, over the M = N*H*W values x of the batch:
//   mean, var (biased) from sums in double; invstd = 1 / sqrt(var + eps)
//   forward:  u = x * scale + shift (scale = weight * invstd, shift = bias - mean * scale, as
//             LibTorch's CPU batch norm), z = u > 0 ? u : slope * u
//   backward: dy = dz (u > 0) or slope * dz, xhat = (x - mean) * invstd,
//             dbias = sum dy, dweight = sum dy * xhat,
//             dx = (dy - dbias / M - xhat * dweight / M) * weight * invstd
#include "dcgan/model/batch_norm_leaky_relu.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <c10/util/BFloat16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cpu_features.h"

namespace dcgan {
namespace {

// NHWC: pixels per block of the channels' fp32 partial sums (fixed, so that the sums do not
// depend on how the blocks fall to threads; NCHW: one plane per partial sum).
constexpr int64_t kBlockRows = 256;

// N images of S = H*W pixels and C channels: NCHW planes of S values, or NHWC rows of C.
struct Geometry {
  int64_t n, c, s;
  bool rows;
  int64_t count() const { return n * s; }
  int64_t blocks() const { return (count() + kBlockRows - 1) / kBlockRows; }
};

// Scalar loads and stores, for the values past the last whole vector (and everything where there
// are no vector types): bf16 through c10::BFloat16's own conversions (round to nearest even).
DCGAN_ALWAYS_INLINE float load(const float* p) { return *p; }
DCGAN_ALWAYS_INLINE float load(const c10::BFloat16* p) { return static_cast<float>(*p); }
DCGAN_ALWAYS_INLINE void store(float* p, float v) { *p = v; }
DCGAN_ALWAYS_INLINE void store(c10::BFloat16* p, float v) { *p = c10::BFloat16(v); }

// One pass over the values, for a range of its units: NHWC blocks of rows (sums) or rows
// (outputs); NCHW channels (sums) or planes (outputs).
enum class Op {
  kStatistics,  // sums of x and x^2
  kForward,     // out = leaky_relu(x * scale + shift)
  kSums,        // sums of dy and dy * xhat
  kInputGrad,   // out = dx
};

// A job's channel constants, restrict-qualified so that the loops below vectorize (the output is
// never one of them).
struct Consts {
  const float* __restrict scale;
  const float* __restrict shift;
  const float* __restrict mean;
  const float* __restrict invstd;
  const float* __restrict mean_dy;
  const float* __restrict k_xhat;
  const float* __restrict gain;
  float slope;
};

template <typename T>
struct Job {
  Op op;
  Geometry g;
  const T* x;
  const T* dz;
  T* out;
  Consts k;
  float* partial;          // NHWC sums: 2 * C per block
  double *first, *second;  // NCHW sums: per channel
};

// Vectors of L floats (GCC's and Clang's vector extensions), and their loads and stores from
// fp32 or bf16 memory (bf16 as c10::BFloat16 converts: round to nearest even, NaN to 0x7FC0);
// scalar code where those are missing.
#if defined(__GNUC__) || defined(__clang__)
#define DCGAN_BN_VECTORS 1
template <int L>
struct Vec {
  typedef float f __attribute__((vector_size(4 * L)));
  typedef uint32_t u __attribute__((vector_size(4 * L)));
  typedef uint16_t h __attribute__((vector_size(2 * L)));
};

// (Vectors pass by reference: these are inlined into each compiled copy, and a vector passed by
// value to a function compiled without its instructions would change the ABI.)
template <int L>
DCGAN_ALWAYS_INLINE void vload(typename Vec<L>::f& v, const float* p) {
  std::memcpy(&v, p, sizeof v);
}
template <int L>
DCGAN_ALWAYS_INLINE void vload(typename Vec<L>::f& v, const c10::BFloat16* p) {
  typename Vec<L>::h h;
  std::memcpy(&h, p, sizeof h);
  v = (typename Vec<L>::f)(__builtin_convertvector(h, typename Vec<L>::u) << 16);
}
template <int L>
DCGAN_ALWAYS_INLINE void vstore(float* p, const typename Vec<L>::f& v) {
  std::memcpy(p, &v, sizeof v);
}
template <int L>
DCGAN_ALWAYS_INLINE void vstore(c10::BFloat16* p, const typename Vec<L>::f& v) {
  using U = typename Vec<L>::u;
  const U bits = (U)v;
  const U nan = (U)(v != v);  // all ones for a NaN
  const U r = (((bits + 0x7FFFu + ((bits >> 16) & 1u)) & ~nan) | (0x7FC00000u & nan)) >> 16;
  const typename Vec<L>::h h = __builtin_convertvector(r, typename Vec<L>::h);
  std::memcpy(p, &h, sizeof h);
}

// A channel constant for the values from channel c on: one per lane along NHWC rows (channels
// c, c + 1, ..), the same in every lane along an NCHW plane (channel c).
template <int L, bool kRows>
DCGAN_ALWAYS_INLINE void lanes(typename Vec<L>::f& v, const float* __restrict a, int64_t c) {
  if constexpr (kRows) {
    vload<L>(v, a + c);
  } else {
    v = typename Vec<L>::f{} + a[c];
  }
}
#else
#define DCGAN_BN_VECTORS 0
#endif

// The element-wise arithmetic, for a float or a vector of them (F).
template <class F>
DCGAN_ALWAYS_INLINE void leaky(F& z, const F& u, float slope) {
  z = u > 0.f ? u : u * slope;
}
template <class F>
DCGAN_ALWAYS_INLINE void leaky_grad(F& dy, const F& u, const F& d, float slope) {
  dy = u > 0.f ? d : d * slope;
}
// The input gradient from dy, with the channel's constants.
template <class F>
DCGAN_ALWAYS_INLINE void input_grad(F& dx, const F& dy, const F& v, const F& mean, const F& invstd,
                                    const F& mean_dy, const F& k_xhat, const F& gain) {
  dx = (dy - mean_dy - (v - mean) * invstd * k_xhat) * gain;
}

// Values [base, base + len) of channels c0, c0 + 1, .. (NHWC) or c0 (NCHW): out = forward or
// input gradient.
template <int L, bool kRows, bool kForward, typename T>
DCGAN_ALWAYS_INLINE void values_segment(const Consts k, const T* __restrict x,
                                        const T* __restrict dz, T* __restrict out, int64_t base,
                                        int64_t len, int64_t c0) {
  int64_t i = 0;
#if DCGAN_BN_VECTORS
  using F = typename Vec<L>::f;
  for (; i + L <= len; i += L) {
    const int64_t c = kRows ? c0 + i : c0;
    F v, scale, shift, u, r;
    vload<L>(v, x + base + i);
    lanes<L, kRows>(scale, k.scale, c);
    lanes<L, kRows>(shift, k.shift, c);
    u = v * scale + shift;
    if constexpr (kForward) {
      leaky(r, u, k.slope);
    } else {
      F d, dy, mean, invstd, mean_dy, k_xhat, gain;
      vload<L>(d, dz + base + i);
      leaky_grad(dy, u, d, k.slope);
      lanes<L, kRows>(mean, k.mean, c);
      lanes<L, kRows>(invstd, k.invstd, c);
      lanes<L, kRows>(mean_dy, k.mean_dy, c);
      lanes<L, kRows>(k_xhat, k.k_xhat, c);
      lanes<L, kRows>(gain, k.gain, c);
      input_grad(r, dy, v, mean, invstd, mean_dy, k_xhat, gain);
    }
    vstore<L>(out + base + i, r);
  }
#endif
  for (; i < len; ++i) {
    const int64_t c = kRows ? c0 + i : c0;
    const float v = load(x + base + i);
    const float u = v * k.scale[c] + k.shift[c];
    float r;
    if constexpr (kForward) {
      leaky(r, u, k.slope);
    } else {
      float dy;
      leaky_grad(dy, u, load(dz + base + i), k.slope);
      input_grad(r, dy, v, k.mean[c], k.invstd[c], k.mean_dy[c], k.k_xhat[c], k.gain[c]);
    }
    store(out + base + i, r);
  }
}

// The two summands of a value (or a vector of them) for the sums: x and x^2, or dy and dy * xhat.
template <bool kStatistics, class F>
DCGAN_ALWAYS_INLINE void terms(F& a, F& b, const F& v, const F& d, const F& scale, const F& shift,
                               const F& mean, const F& invstd, float slope) {
  if constexpr (kStatistics) {
    a = v;
    b = v * v;
  } else {
    const F u = v * scale + shift;
    leaky_grad(a, u, d, slope);
    b = a * ((v - mean) * invstd);
  }
}

// NHWC: the sums of one row of C values into p1, p2 (C each).
template <int L, bool kStatistics, typename T>
DCGAN_ALWAYS_INLINE void row_sums(const Consts k, const T* __restrict x, const T* __restrict dz,
                                  int64_t base, int64_t C, float* __restrict p1,
                                  float* __restrict p2) {
  int64_t c = 0;
#if DCGAN_BN_VECTORS
  using F = typename Vec<L>::f;
  for (; c + L <= C; c += L) {
    F v, a, b, s1, s2;
    vload<L>(v, x + base + c);
    if constexpr (kStatistics) {
      terms<true>(a, b, v, v, v, v, v, v, 0.f);
    } else {
      F d, scale, shift, mean, invstd;
      vload<L>(d, dz + base + c);
      vload<L>(scale, k.scale + c);
      vload<L>(shift, k.shift + c);
      vload<L>(mean, k.mean + c);
      vload<L>(invstd, k.invstd + c);
      terms<false>(a, b, v, d, scale, shift, mean, invstd, k.slope);
    }
    vload<L>(s1, p1 + c);
    vload<L>(s2, p2 + c);
    s1 += a;
    s2 += b;
    vstore<L>(p1 + c, s1);
    vstore<L>(p2 + c, s2);
  }
#endif
  for (; c < C; ++c) {
    float a, b;
    const float v = load(x + base + c);
    if constexpr (kStatistics) {
      terms<true>(a, b, v, v, v, v, v, v, 0.f);
    } else {
      terms<false>(a, b, v, load(dz + base + c), k.scale[c], k.shift[c], k.mean[c], k.invstd[c],
                   k.slope);
    }
    p1[c] += a;
    p2[c] += b;
  }
}

// NCHW: the sums of one plane of S values of channel c, added to s1, s2.
template <int L, bool kStatistics, typename T>
DCGAN_ALWAYS_INLINE void plane_sums(const Consts k, const T* __restrict x, const T* __restrict dz,
                                    int64_t base, int64_t S, int64_t c, double& s1, double& s2) {
  int64_t i = 0;
  float t1 = 0.f, t2 = 0.f;
  const float scale = kStatistics ? 0.f : k.scale[c], shift = kStatistics ? 0.f : k.shift[c];
  const float mean = kStatistics ? 0.f : k.mean[c], invstd = kStatistics ? 0.f : k.invstd[c];
#if DCGAN_BN_VECTORS
  using F = typename Vec<L>::f;
  const F vscale = F{} + scale, vshift = F{} + shift, vmean = F{} + mean, vinvstd = F{} + invstd;
  F l1{}, l2{};
  for (; i + L <= S; i += L) {
    F v, d, a, b;
    vload<L>(v, x + base + i);
    if constexpr (kStatistics) {
      d = v;
    } else {
      vload<L>(d, dz + base + i);
    }
    terms<kStatistics>(a, b, v, d, vscale, vshift, vmean, vinvstd, k.slope);
    l1 += a;
    l2 += b;
  }
  for (int q = 0; q < L; ++q) {
    t1 += l1[q];
    t2 += l2[q];
  }
#endif
  for (; i < S; ++i) {
    float a, b;
    const float v = load(x + base + i);
    terms<kStatistics>(a, b, v, kStatistics ? v : load(dz + base + i), scale, shift, mean, invstd,
                       k.slope);
    t1 += a;
    t2 += b;
  }
  s1 += t1;
  s2 += t2;
}

template <int L, bool kStatistics, typename T>
DCGAN_ALWAYS_INLINE void sums_range(const Job<T>& j, const Consts k, int64_t begin, int64_t end) {
  const Geometry g = j.g;
  if (g.rows) {
    for (int64_t blk = begin; blk < end; ++blk) {
      float* p1 = j.partial + 2 * blk * g.c;
      float* p2 = p1 + g.c;
      std::fill(p1, p1 + 2 * g.c, 0.f);
      const int64_t r1 = std::min(g.count(), (blk + 1) * kBlockRows);
      for (int64_t r = blk * kBlockRows; r < r1; ++r) {
        row_sums<L, kStatistics>(k, j.x, j.dz, r * g.c, g.c, p1, p2);
      }
    }
    return;
  }
  for (int64_t c = begin; c < end; ++c) {
    double s1 = 0, s2 = 0;
    for (int64_t n = 0; n < g.n; ++n) {
      plane_sums<L, kStatistics>(k, j.x, j.dz, (n * g.c + c) * g.s, g.s, c, s1, s2);
    }
    j.first[c] = s1;
    j.second[c] = s2;
  }
}

template <int L, bool kForward, typename T>
DCGAN_ALWAYS_INLINE void values_range(const Job<T>& j, const Consts k, int64_t begin, int64_t end) {
  const Geometry g = j.g;
  if (g.rows) {
    for (int64_t r = begin; r < end; ++r) {
      values_segment<L, true, kForward>(k, j.x, j.dz, j.out, r * g.c, g.c, 0);
    }
    return;
  }
  for (int64_t plane = begin; plane < end; ++plane) {
    values_segment<L, false, kForward>(k, j.x, j.dz, j.out, plane * g.s, g.s, plane % g.c);
  }
}

// One range of a job's units, in vectors of L floats.
template <int L, typename T>
DCGAN_ALWAYS_INLINE void run_range(const Job<T>& j, int64_t begin, int64_t end) {
  const Consts k = j.k;
  switch (j.op) {
    case Op::kStatistics:
      return sums_range<L, true>(j, k, begin, end);
    case Op::kSums:
      return sums_range<L, false>(j, k, begin, end);
    case Op::kForward:
      return values_range<L, true>(j, k, begin, end);
    case Op::kInputGrad:
      return values_range<L, false>(j, k, begin, end);
  }
}

template <typename T>
void run_any(const Job<T>& j, int64_t begin, int64_t end) {
  run_widest<CpuCopy::kAvx512>([&](auto lanes) DCGAN_ALWAYS_INLINE_LAMBDA {
    run_range<decltype(lanes)::value>(j, begin, end);
  });
}

// The pass over every unit; for the sums, `first` and `second` per channel in double.
template <typename T>
void run(Job<T> j, double* first = nullptr, double* second = nullptr) {
  const Geometry& g = j.g;
  const bool sums = j.op == Op::kStatistics || j.op == Op::kSums;
  std::vector<float> partial;
  int64_t units, grain = 1;
  if (sums && g.rows) {
    units = g.blocks();
    partial.resize(static_cast<size_t>(2 * units * g.c));
    j.partial = partial.data();
  } else if (sums) {
    units = g.c;
    j.first = first;
    j.second = second;
  } else {
    units = g.rows ? g.count() : g.n * g.c;
    grain = g.rows ? kBlockRows : 1;
  }
  at::parallel_for(0, units, grain, [&](int64_t begin, int64_t end) { run_any(j, begin, end); });
  if (sums && g.rows) {
    std::fill(first, first + g.c, 0.0);
    std::fill(second, second + g.c, 0.0);
    for (int64_t blk = 0; blk < units; ++blk) {
      const float* p = partial.data() + 2 * blk * g.c;
      for (int64_t c = 0; c < g.c; ++c) {
        first[c] += p[c];
        second[c] += p[g.c + c];
      }
    }
  }
}

// f(T{}) for x's type T: float or c10::BFloat16 (the layer's check admits no other).
template <class F>
void dispatch(const torch::Tensor& x, const F& f) {
  if (x.scalar_type() == torch::kBFloat16) {
    f(c10::BFloat16());
  } else {
    f(0.f);
  }
}

// Per-channel constants of one call, in fp32.
struct Channel {
  std::vector<float> mean, invstd, scale, shift;
};

Channel channel_constants(const torch::Tensor& mean, const torch::Tensor& invstd,
                          const torch::Tensor& weight, const torch::Tensor& bias) {
  const int64_t c = mean.size(0);
  Channel k{std::vector<float>(mean.data_ptr<float>(), mean.data_ptr<float>() + c),
            std::vector<float>(invstd.data_ptr<float>(), invstd.data_ptr<float>() + c),
            std::vector<float>(c), std::vector<float>(c)};
  const float* w = weight.data_ptr<float>();
  const float* b = bias.data_ptr<float>();
  for (int64_t i = 0; i < c; ++i) {
    k.scale[i] = w[i] * k.invstd[i];
    k.shift[i] = b[i] - k.mean[i] * k.scale[i];
  }
  return k;
}

// A job on x with the channel constants k.
template <typename T>
Job<T> job(Op op, const Geometry& g, const torch::Tensor& x, const Channel* k, float slope) {
  Job<T> j{};
  j.op = op;
  j.g = g;
  j.x = x.data_ptr<T>();
  if (k != nullptr) {
    j.k.scale = k->scale.data();
    j.k.shift = k->shift.data();
    j.k.mean = k->mean.data();
    j.k.invstd = k->invstd.data();
  }
  j.k.slope = slope;
  return j;
}

// x's layout: channels-last rows where x is only that, else NCHW planes (a tensor of one channel or
// of 1x1 pixels is both, and either reading is the same memory).
torch::MemoryFormat layout_of(const torch::Tensor& x) {
  return !x.is_contiguous() && x.is_contiguous(torch::MemoryFormat::ChannelsLast)
             ? torch::MemoryFormat::ChannelsLast
             : torch::MemoryFormat::Contiguous;
}

Geometry geometry_of(const torch::Tensor& x, torch::MemoryFormat layout) {
  return {x.size(0), x.size(1), x.size(2) * x.size(3), layout == torch::MemoryFormat::ChannelsLast};
}

// The batch's mean and biased variance per channel (double), x in `layout` already.
void batch_statistics(const torch::Tensor& x, const Geometry& g, std::vector<double>& mean,
                      std::vector<double>& var) {
  std::vector<double> sum(g.c), squares(g.c);
  dispatch(x, [&](auto tag) {
    using T = decltype(tag);
    run(job<T>(Op::kStatistics, g, x, nullptr, 0.f), sum.data(), squares.data());
  });
  const double m = static_cast<double>(g.count());
  mean.resize(g.c);
  var.resize(g.c);
  for (int64_t c = 0; c < g.c; ++c) {
    mean[c] = sum[c] / m;
    var[c] = std::max(0.0, squares[c] / m - mean[c] * mean[c]);
  }
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class BatchNormLeakyReluFunction : public torch::autograd::Function<BatchNormLeakyReluFunction> {
 public:
  // x in its layout (layout_of), mean and invstd fp32 (C).
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               const torch::Tensor& mean, const torch::Tensor& invstd,
                               double slope) {
    RECORD_USER_SCOPE("dcgan::batch_norm_leaky_relu");
    ctx->save_for_backward({x, weight, bias, mean, invstd});
    ctx->saved_data["slope"] = slope;
    const auto layout = layout_of(x);
    const Geometry g = geometry_of(x, layout);
    const Channel k = channel_constants(mean, invstd, weight, bias);
    auto z = at::empty(x.sizes(), x.options(), layout);
    dispatch(x, [&](auto tag) {
      using T = decltype(tag);
      auto j = job<T>(Op::kForward, g, x, &k, static_cast<float>(slope));
      j.out = z.data_ptr<T>();
      run(j);
    });
    return z;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    RECORD_USER_SCOPE("dcgan::batch_norm_leaky_relu_backward");
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& weight = saved[1];
    const float slope = static_cast<float>(ctx->saved_data["slope"].toDouble());
    const auto layout = layout_of(x);
    const Geometry g = geometry_of(x, layout);
    const Channel k = channel_constants(saved[3], saved[4], weight, saved[2]);
    const auto dz = grads[0].to(x.scalar_type()).contiguous(layout);
    std::vector<double> sum_dy(g.c), sum_dy_xhat(g.c);
    torch::Tensor dx;
    dispatch(x, [&](auto tag) {
      using T = decltype(tag);
      auto j = job<T>(Op::kSums, g, x, &k, slope);
      j.dz = dz.data_ptr<T>();
      run(j, sum_dy.data(), sum_dy_xhat.data());
      if (!ctx->needs_input_grad(0)) return;
      const double m = static_cast<double>(g.count());
      std::vector<float> mean_dy(g.c), k_xhat(g.c), gain(g.c);
      const float* w = weight.data_ptr<float>();
      for (int64_t c = 0; c < g.c; ++c) {
        mean_dy[c] = static_cast<float>(sum_dy[c] / m);
        k_xhat[c] = static_cast<float>(sum_dy_xhat[c] / m);
        gain[c] = w[c] * k.invstd[c];
      }
      dx = at::empty(x.sizes(), x.options(), layout);
      j.op = Op::kInputGrad;
      j.out = dx.data_ptr<T>();
      j.k.mean_dy = mean_dy.data();
      j.k.k_xhat = k_xhat.data();
      j.k.gain = gain.data();
      run(j);
    });
    auto to_tensor = [&](const std::vector<double>& v) {
      return torch::tensor(std::vector<float>(v.begin(), v.end()), weight.options());
    };
    return {dx,
            ctx->needs_input_grad(1) ? to_tensor(sum_dy_xhat) : torch::Tensor(),
            ctx->needs_input_grad(2) ? to_tensor(sum_dy) : torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

bool batch_norm_leaky_relu_applies(const torch::Tensor& x, const torch::nn::BatchNorm2dImpl& bn) {
  const auto& o = bn.options;
  const auto type = x.scalar_type();
  const auto cpu_fp32 = [](const torch::Tensor& t) {
    return t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat;
  };
  return bn.is_training() && o.affine() && o.track_running_stats() && o.momentum().has_value() &&
         cpu_fp32(bn.weight) && cpu_fp32(bn.bias) && cpu_fp32(bn.running_mean) &&
         cpu_fp32(bn.running_var) && bn.num_batches_tracked.defined() && x.dim() == 4 &&
         x.device().is_cpu() && (type == torch::kFloat || type == torch::kBFloat16) &&
         x.size(1) == o.num_features() && x.size(0) * x.size(2) * x.size(3) > 1;
}

torch::Tensor batch_norm_leaky_relu(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn,
                                    double slope) {
  TORCH_CHECK(batch_norm_leaky_relu_applies(x, bn),
              "batch_norm_leaky_relu: needs a batch norm in training with affine weights, running "
              "statistics and a momentum, and a CPU input (N, ",
              bn.options.num_features(),
              ", H, W) in fp32 or bf16 with more than one value per channel");
  const auto layout = layout_of(x);
  const auto xc = x.contiguous(layout);
  const Geometry g = geometry_of(xc, layout);
  std::vector<double> mean, var;
  {
    RECORD_USER_SCOPE("dcgan::batch_norm_statistics");
    torch::NoGradGuard no_grad;
    batch_statistics(xc, g, mean, var);
  }
  const double eps = bn.options.eps(), momentum = *bn.options.momentum();
  const double m = static_cast<double>(g.count());
  std::vector<float> mean_f(g.c), invstd_f(g.c);
  {
    torch::NoGradGuard no_grad;
    float* rm = bn.running_mean.data_ptr<float>();
    float* rv = bn.running_var.data_ptr<float>();
    for (int64_t c = 0; c < g.c; ++c) {
      mean_f[c] = static_cast<float>(mean[c]);
      invstd_f[c] = static_cast<float>(1.0 / std::sqrt(var[c] + eps));
      rm[c] = static_cast<float>(momentum * mean[c] + (1.0 - momentum) * rm[c]);
      rv[c] = static_cast<float>(momentum * var[c] * m / (m - 1.0) + (1.0 - momentum) * rv[c]);
    }
    bn.num_batches_tracked.add_(1);
  }
  const auto options = torch::TensorOptions(torch::kFloat);
  return BatchNormLeakyReluFunction::apply(xc, bn.weight, bn.bias, torch::tensor(mean_f, options),
                                           torch::tensor(invstd_f, options), slope);
}

}  // namespace dcgan
