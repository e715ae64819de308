#include "dcgan/model/cpu_products.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <c10/util/Optional.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "dcgan/error.h"

namespace dcgan {
namespace {

bool intel_cpu() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(0, &eax, &ebx, &ecx, &edx) == 0) return false;
  char vendor[13] = {};
  std::memcpy(vendor, &ebx, 4);
  std::memcpy(vendor + 4, &edx, 4);
  std::memcpy(vendor + 8, &ecx, 4);
  return std::strcmp(vendor, "GenuineIntel") == 0;
#else
  return false;
#endif
}

// A row-major (T, K) matrix as a batch of 1x1-pixel-high images in channels-last order, (n, K, 1,
// T / n): the rows are its pixels, the columns its channels, with no copy. n is the largest divisor
// of T up to 16: LibTorch sends a 1x1 convolution of one image on one thread to its own loops over
// the BLAS rather than to oneDNN, and one of 16 or more images to oneDNN.
torch::Tensor as_pixels(const torch::Tensor& m) {
  const int64_t rows = m.size(0), cols = m.size(1);
  int64_t n = 16;
  while (rows % n != 0) --n;
  return m.view({n, 1, rows / n, cols}).permute({0, 3, 1, 2});
}

// Checks the batched operands: fp32 CPU (P, rows, cols), each matrix contiguous.
void check_batched(const torch::Tensor& t, const char* what) {
  TORCH_CHECK(t.dim() == 3 && t.device().is_cpu() && t.scalar_type() == torch::kFloat &&
                  t.stride(2) == 1 && t.stride(1) == t.size(2),
              "cpu products: ", what,
              " must be (P, rows, cols) fp32 on the CPU, each matrix "
              "contiguous; got sizes ",
              t.sizes(), ", strides ", t.strides());
}

// For the ops below: no autocast (they are fp32 kernels, also inside an emulated bf16 scope) and
// no graph (they run inside an autograd function's forward or backward pass).
struct PlainFp32 {
  c10::impl::ExcludeDispatchKeyGuard no_autocast{c10::DispatchKey::AutocastCPU};
  torch::NoGradGuard no_grad;
};

}  // namespace

ProductLibrary choose_product_library(bool blas_is_mkl, bool has_onednn, bool intel) {
  return blas_is_mkl && has_onednn && !intel ? ProductLibrary::kOneDnn : ProductLibrary::kBlas;
}

ProductLibrary product_library_override(const char* value, ProductLibrary rule) {
  if (value == nullptr) return rule;
  const std::string name = value;
  if (name == "blas") return ProductLibrary::kBlas;
  if (name == "onednn") {
    if (!at::hasMKLDNN()) {
      throw ConfigError(std::string(kCpuProductsEnv) + "=onednn: this LibTorch has no oneDNN");
    }
    return ProductLibrary::kOneDnn;
  }
  throw ConfigError(std::string(kCpuProductsEnv) + ": expected blas or onednn, got '" + name + "'");
}

ProductLibrary cpu_product_library() {
  static const ProductLibrary library =
      product_library_override(std::getenv(kCpuProductsEnv),
                               choose_product_library(at::hasMKL(), at::hasMKLDNN(), intel_cpu()));
  return library;
}

const char* product_library_name(ProductLibrary library) {
  return library == ProductLibrary::kOneDnn ? "oneDNN" : "BLAS";
}

namespace {
// Checks the operands, then runs `blas` (at::bmm on the BLAS) or `onednn` (matrix p of each, per
// p), both as plain fp32 ops. On oneDNN the threads take the matrices between them, each product
// on one thread (LibTorch runs an op inside a parallel region on the calling thread alone), each
// thread in the caller's thread-local state (grad mode, autocast, the profiler) before the guards.
template <class Blas, class OneDnn>
void run_products(const torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b,
                  ProductLibrary library, Blas blas, OneDnn onednn) {
  check_batched(out, "out");
  check_batched(a, "a");
  check_batched(b, "b");
  if (library == ProductLibrary::kBlas) {
    PlainFp32 plain;
    blas();
    return;
  }
  const at::ThreadLocalState caller;
  at::parallel_for(0, a.size(0), 1, [&](int64_t begin, int64_t end) {
    const at::ThreadLocalStateGuard same_state(caller);
    PlainFp32 plain;
    for (int64_t p = begin; p < end; ++p) onednn(out[p], a[p], b[p]);
  });
}

// oneDNN's dense layer as LibTorch 2 registers it for its compiler, mkldnn::_linear_pointwise:
// x (T, K) times w (N, K) transposed, w contiguous or a transposed view. Per call it sets up less
// than a 1x1 convolution: (128 x 512) by (512 x 256) on one thread of an Intel Xeon took 251 us
// against 330 (docs/PERFORMANCE.md). Absent (LibTorch 1.13, or no oneDNN), or with other
// arguments than linear_into passes (a later LibTorch's), nullopt.
const c10::optional<c10::OperatorHandle>& onednn_linear() {
  static const c10::optional<c10::OperatorHandle> op = [] {
    auto found = c10::Dispatcher::singleton().findSchema({"mkldnn::_linear_pointwise", ""});
    if (!found) return found;
    const std::vector<std::string> expected{"X", "W", "B", "attr", "scalars", "algorithm"};
    const auto& args = found->schema().arguments();
    bool same = args.size() == expected.size() && found->schema().returns().size() == 1;
    for (size_t i = 0; same && i < args.size(); ++i) same = args[i].name() == expected[i];
    return same ? found : c10::optional<c10::OperatorHandle>();
  }();
  return op;
}

// o = x . w^T through onednn_linear, with no activation after it.
void linear_into(const torch::Tensor& o, const torch::Tensor& x, const torch::Tensor& w) {
  torch::jit::Stack stack{x, w, c10::IValue(), c10::IValue(std::string("none")),
                          c10::IValue(c10::List<c10::optional<c10::Scalar>>()), c10::IValue()};
  onednn_linear()->callBoxed(&stack);
  o.copy_(stack.back().toTensor());
}
}  // namespace

bool onednn_products_are_dense_layers() { return onednn_linear().has_value(); }

void products_ab(torch::Tensor out, const torch::Tensor& a, const torch::Tensor& b,
                 ProductLibrary library) {
  const int64_t K = b.size(1), N = b.size(2);
  run_products(
      out, a, b, library, [&] { at::bmm_out(out, a, b); },
      [&](const torch::Tensor& o, const torch::Tensor& x, const torch::Tensor& y) {
        if (onednn_linear()) return linear_into(o, x, y.t());
        // A transposed 1x1 convolution with weight (in K, out N) is the product with y itself.
        as_pixels(o).copy_(at::conv_transpose2d(as_pixels(x), y.view({K, N, 1, 1})));
      });
}

void products_abt(torch::Tensor out, const torch::Tensor& a, const torch::Tensor& b,
                  ProductLibrary library) {
  const int64_t N = b.size(1), K = b.size(2);
  run_products(
      out, a, b, library, [&] { at::bmm_out(out, a, b.transpose(1, 2)); },
      [&](const torch::Tensor& o, const torch::Tensor& x, const torch::Tensor& y) {
        if (onednn_linear()) return linear_into(o, x, y);
        // A 1x1 convolution with weight (out N, in K).
        as_pixels(o).copy_(at::conv2d(as_pixels(x), y.view({N, K, 1, 1})));
      });
}

void products_atb(torch::Tensor out, const torch::Tensor& a, const torch::Tensor& b,
                  ProductLibrary library) {
  const int64_t T = a.size(1), N = b.size(2);
  run_products(
      out, a, b, library, [&] { at::bmm_out(out, a.transpose(1, 2), b); },
      [&](const torch::Tensor& o, const torch::Tensor& x, const torch::Tensor& y) {
        // x^T's K rows (T values each) times y: through the dense layer with weight y^T (N, T),
        // else the transposed 1x1 convolution with weight y (in T, out N), as products_ab. (The
        // weight gradient of the 1x1 convolution x -> y, at::convolution_backward, gave wrong
        // sums inside a parallel region.)
        const auto xt = x.t().contiguous();
        if (onednn_linear()) return linear_into(o, xt, y.t());
        as_pixels(o).copy_(at::conv_transpose2d(as_pixels(xt), y.view({T, N, 1, 1})));
      });
}

}  // namespace dcgan
