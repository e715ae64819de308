// What the CPU dcgan's own loops run on offers, and the copies of a loop compiled for it: for the
// build's baseline and for wider vector instructions.
#pragma once

#include <atomic>
#include <type_traits>

#include "dcgan/model/parallel.h"

// A loop written once and inlined into each compiled copy, so that each copy's body is compiled
// for that copy's instructions.
#if defined(__GNUC__) || defined(__clang__)
#define DCGAN_ALWAYS_INLINE __attribute__((always_inline)) inline
#define DCGAN_ALWAYS_INLINE_LAMBDA __attribute__((always_inline))
#else
#define DCGAN_ALWAYS_INLINE inline
#define DCGAN_ALWAYS_INLINE_LAMBDA
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DCGAN_X86_COPIES 1
#else
#define DCGAN_X86_COPIES 0
#endif

// Before a loop over channels whose iterations read and write disjoint arrays reached through
// arrays of pointers: the compiler cannot prove that, and without this keeps the loop scalar (GCC
// 12 needs a run-time check per pair of pointers, more than it will emit).
#if defined(__clang__)
#define DCGAN_INDEPENDENT_ITERATIONS _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define DCGAN_INDEPENDENT_ITERATIONS _Pragma("GCC ivdep")
#else
#define DCGAN_INDEPENDENT_ITERATIONS
#endif

namespace dcgan {

// The widest copy the loops may take (set by limit_cpu_copy).
inline std::atomic<CpuCopy> cpu_copy_cap{CpuCopy::kAvx512};

// Whether the CPU runs AVX2 and FMA instructions (x86-64 with GCC or Clang; false elsewhere).
inline bool cpu_supports_avx2() {
#if DCGAN_X86_COPIES
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}

// Whether it runs AVX-512 Foundation (32 vector registers of 16 floats) and Byte-Word (the 16-bit
// lanes of bf16 loads and stores) instructions, both of which the AVX-512 copies are compiled for.
inline bool cpu_supports_avx512() {
#if DCGAN_X86_COPIES
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  return yes;
#else
  return false;
#endif
}

// Whether the loops take their AVX2 and AVX-512 copies now: the CPU runs them, and the cap allows.
inline bool cpu_has_avx2() {
  return cpu_supports_avx2() && cpu_copy_cap.load(std::memory_order_relaxed) >= CpuCopy::kAvx2;
}
inline bool cpu_has_avx512() {
  return cpu_supports_avx512() && cpu_copy_cap.load(std::memory_order_relaxed) >= CpuCopy::kAvx512;
}

// A vector width in floats, as run_widest passes it to a loop: 16 (AVX-512), 8 (AVX2 with FMA) or
// 4 (the build's baseline).
template <int L>
using Lanes = std::integral_constant<int, L>;

namespace detail {
#if DCGAN_X86_COPIES
template <class Body>
__attribute__((target("avx512f,avx512bw"))) void run_avx512(const Body& body) {
  body(Lanes<16>{});
}
template <class Body>
__attribute__((target("avx2,fma"))) void run_avx2(const Body& body) {
  body(Lanes<8>{});
}
#endif
}  // namespace detail

// Runs body(Lanes<L>{}) once, in a copy compiled for the widest vector instructions the CPU runs up
// to kWidest (kAvx2 where wider vectors measured no faster), else in the build's baseline code
// (and there alone off x86-64). The loop is written once: body is a lambda marked
// DCGAN_ALWAYS_INLINE_LAMBDA whose functions are DCGAN_ALWAYS_INLINE, so that all of it is
// inlined, and compiled, into each copy.
template <CpuCopy kWidest, class Body>
void run_widest(const Body& body) {
  static_assert(kWidest != CpuCopy::kBaseline, "a loop with no wider copy needs no run_widest");
#if DCGAN_X86_COPIES
  if constexpr (kWidest == CpuCopy::kAvx512) {
    if (cpu_has_avx512()) return detail::run_avx512(body);
  }
  if (cpu_has_avx2()) return detail::run_avx2(body);
#endif
  body(Lanes<4>{});
}

}  // namespace dcgan
