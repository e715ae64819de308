// What the CPU dcgan's own loops run on offers, for the loops compiled twice: for the build's
// baseline and for wider vector instructions.
#pragma once

// A loop written once and inlined into each compiled copy, so that each copy's body is compiled
// for that copy's instructions.
#if defined(__GNUC__) || defined(__clang__)
#define DCGAN_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define DCGAN_ALWAYS_INLINE inline
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

// Whether the CPU runs AVX2 and FMA instructions (x86-64 with GCC or Clang; false elsewhere).
inline bool cpu_has_avx2() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}

// Whether it runs AVX-512 Foundation instructions (32 vector registers of 16 floats).
inline bool cpu_has_avx512() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes;
#else
  return false;
#endif
}

}  // namespace dcgan
