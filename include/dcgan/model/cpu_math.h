// LibTorch's CPU math functions, made safe for their first use from several threads.
//
// With MKL (PyTorch's x86 builds), the float and double forms of tanh, exp, log, sqrt and other
// elementwise functions run on MKL's vector math library (VML), each intra-op thread on its own
// chunk. oneMKL 2024.2, the one PyTorch 2's wheels carry, picks each VML function's kernel on its
// first call in the process, and that choice races: when the first call runs on several threads
// at once, one thread can run a low-accuracy kernel on its whole chunk (thousands of ulps), once.
// It showed as `dcgan sample` of one generator giving a different grid about once in 150 runs on
// a busy 2-core machine: the generator's final tanh. (pytorch/pytorch#188792; oneMKL 2025 no
// longer races.) Calling each function once on one thread first settles every choice.
#pragma once

namespace dcgan {

// Calls each of LibTorch's VML-backed functions once, in float and in double, on one thread, so
// that no first call runs concurrently. Once per process; later calls return at once. Changes no
// visible state: no random generator is drawn from, the thread count stays. Harmless without MKL
// (Debian's LibTorch runs on OpenBLAS and its own kernels).
void resolve_cpu_math_kernels();

namespace detail {
// Its calls, made every time (for tests).
void call_cpu_math_functions();
}  // namespace detail

}  // namespace dcgan
