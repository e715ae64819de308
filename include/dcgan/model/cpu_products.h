// Batched fp32 matrix products for the model's own CPU layers (the Winograd form), on whichever of
// LibTorch's two CPU libraries runs them faster here.
//
// LibTorch's matrix products (at::bmm, at::mm) run on its BLAS; PyTorch's x86 wheels carry MKL,
// which on a CPU that is not Intel's takes a generic code path: on a 2-core AMD EPYC with AVX-512,
// a (512 x 512) by (512 x 256) fp32 product ran at about 155 GFLOP/s on 2 threads, while the same
// sums as a 1x1 convolution on oneDNN (LibTorch's convolution library, which picks its kernels by
// the CPU's instruction sets) ran at about 290 (docs/PERFORMANCE.md). So where LibTorch's BLAS is
// MKL, it has oneDNN, and the CPU is not Intel's, these products run as 1x1 convolutions; elsewhere
// (Intel CPUs, where MKL is fast; OpenBLAS builds such as Debian's LibTorch) as at::bmm.
//
// On oneDNN each product runs whole on one thread, the threads taking the batch's matrices between
// them: split over two threads, the 1x1 convolutions of the Winograd form's sizes (128 to 2048
// rows) ran at only 1.5 to 1.7 times their one-thread rate, and side by side the fp32 step gained
// a quarter (docs/PERFORMANCE.md). From LibTorch 2 each is oneDNN's dense layer rather than a 1x1
// convolution (the same sums, set up in less time per call: the fp32 step gained a fifth).
#pragma once

#include <torch/torch.h>

namespace dcgan {

enum class ProductLibrary { kBlas, kOneDnn };

// The library for this process's products (decided once): the rule's, or DCGAN_CPU_PRODUCTS's
// where that is set ("blas" or "onednn"; to measure one library where the rule picks the other).
ProductLibrary cpu_product_library();
constexpr const char* kCpuProductsEnv = "DCGAN_CPU_PRODUCTS";
// DCGAN_CPU_PRODUCTS's value (nullptr: unset) over the rule's choice; a ConfigError naming the
// variable for any other value.
ProductLibrary product_library_override(const char* value, ProductLibrary rule);
// The rule: oneDNN where the BLAS is MKL, oneDNN is there and the CPU is not Intel's.
ProductLibrary choose_product_library(bool blas_is_mkl, bool has_onednn, bool intel_cpu);
// "oneDNN" or "BLAS".
const char* product_library_name(ProductLibrary library);
// Whether products on oneDNN run as its dense layer (LibTorch's mkldnn::_linear_pointwise, from
// LibTorch 2 on), else as 1x1 convolutions.
bool onednn_products_are_dense_layers();

// The three products of a layer, batched over P matrices; every operand and `out` is (P, rows,
// columns) fp32 on the CPU, each matrix contiguous (row-major):
//   products_ab:  out (P, T, N) = a (P, T, K) . b (P, K, N)
//   products_abt: out (P, T, N) = a (P, T, K) . b (P, N, K) transposed
//   products_atb: out (P, K, N) = a (P, T, K) transposed . b (P, T, N)
void products_ab(torch::Tensor out, const torch::Tensor& a, const torch::Tensor& b,
                 ProductLibrary library = cpu_product_library());
void products_abt(torch::Tensor out, const torch::Tensor& a, const torch::Tensor& b,
                  ProductLibrary library = cpu_product_library());
void products_atb(torch::Tensor out, const torch::Tensor& a, const torch::Tensor& b,
                  ProductLibrary library = cpu_product_library());

}  // namespace dcgan
