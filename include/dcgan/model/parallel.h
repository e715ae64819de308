// The threads dcgan's own CPU loops run on, and the vector instructions they run.
//
// The Winograd and GEMM forms' transforms are at::parallel_for loops, a template in LibTorch's
// headers that parallelises only in code compiled with OpenMP (cmake/LibTorch.cmake,
// DCGAN_OPENMP); compiled without it, each loop runs on the calling thread alone.
#pragma once

#include <cstdint>

namespace dcgan {

// How many of LibTorch's intra-op threads (at::get_num_threads()) an at::parallel_for loop in
// this library runs on now: all of them where it was built with OpenMP, else 1 (and 1 inside
// another parallel region).
int64_t parallel_loop_threads();

// The copies those loops are compiled in, narrowest first: the build's baseline (SSE2 on x86-64),
// AVX2 with FMA, and AVX-512 (Foundation and Byte-Word). Each loop runs its widest copy that the
// CPU runs and the cap below allows; the Winograd form's transforms have no AVX-512 copy.
enum class CpuCopy { kBaseline, kAvx2, kAvx512 };

// The widest copy the loops may run now: the CPU's widest, or the cap where that is narrower.
CpuCopy cpu_copy();

// Caps the copies at `widest` for every loop from now on, in every thread (so that one CPU can
// check each copy); returns the cap before. The cap starts at kAvx512.
CpuCopy limit_cpu_copy(CpuCopy widest);

// "baseline", "AVX2" or "AVX-512".
const char* cpu_copy_name(CpuCopy copy);

}  // namespace dcgan
