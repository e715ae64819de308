// The threads dcgan's own CPU loops run on.
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

}  // namespace dcgan
