#include "dcgan/model/cpu_products.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dcgan/error.h"
#include "dcgan/model/precision.h"
#include "testing/conv_checks.h"
#include "testing/threads.h"

namespace dcgan {
namespace {

using testing::relative;

// The libraries this LibTorch can run the products on.
std::vector<ProductLibrary> libraries() {
  std::vector<ProductLibrary> out = {ProductLibrary::kBlas};
  if (at::hasMKLDNN()) out.push_back(ProductLibrary::kOneDnn);
  return out;
}

struct Shape {
  int64_t p, t, k, n;
};
// The Winograd form's shapes at a small batch, and row counts that 16 does not divide (7, 18, 49:
// fewer images in the convolution's batch), odd widths, a single row.
const std::vector<Shape> kShapes = {{12, 32, 512, 256}, {9, 128, 256, 128}, {16, 18, 70, 130},
                                    {4, 49, 25, 3},     {3, 7, 5, 9},       {2, 1, 4, 6}};

// LibTorch 2 built with oneDNN registers oneDNN's dense layer, whose setup per product is the
// shorter; a LibTorch that renamed it would fall back to the 1x1 convolutions, correct but a fifth
// slower. Without oneDNN (or before LibTorch 2) there is no such layer.
TEST(CpuProductsTest, OneDnnRunsThemAsItsDenseLayerFromLibTorch2) {
  EXPECT_EQ(onednn_products_are_dense_layers(), at::hasMKLDNN() && TORCH_VERSION_MAJOR >= 2);
}

TEST(CpuProductsTest, OneDnnOnlyWhereMklRunsOnACpuNotIntels) {
  EXPECT_EQ(choose_product_library(true, true, false), ProductLibrary::kOneDnn);
  EXPECT_EQ(choose_product_library(true, true, true), ProductLibrary::kBlas);
  EXPECT_EQ(choose_product_library(false, true, false), ProductLibrary::kBlas);  // OpenBLAS
  EXPECT_EQ(choose_product_library(true, false, false), ProductLibrary::kBlas);
  EXPECT_EQ(cpu_product_library(), cpu_product_library());
  // DCGAN_CPU_PRODUCTS over the rule, and nothing else.
  EXPECT_EQ(product_library_override(nullptr, ProductLibrary::kOneDnn), ProductLibrary::kOneDnn);
  EXPECT_EQ(product_library_override("blas", ProductLibrary::kOneDnn), ProductLibrary::kBlas);
  if (at::hasMKLDNN()) {
    EXPECT_EQ(product_library_override("onednn", ProductLibrary::kBlas), ProductLibrary::kOneDnn);
  }
  try {
    product_library_override("BLAS ", ProductLibrary::kBlas);
    ADD_FAILURE() << "an unknown value was taken";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "DCGAN_CPU_PRODUCTS: expected blas or onednn, got 'BLAS '");
  }
  const std::string name = product_library_name(cpu_product_library());
  EXPECT_TRUE(name == "oneDNN" || name == "BLAS") << name;
}

// Each product on each library against float64 sums of the same operands, on one thread and on
// several (oneDNN's products then run side by side, one per thread; three threads for fewer
// matrices than threads in the last shapes).
TEST(CpuProductsTest, AllThreeProductsMatchFloat64OnEveryLibrary) {
  torch::manual_seed(5);
  for (const int threads : {1, 2, 3}) {
    testing::IntraOpThreads intra_op(threads);
    for (const ProductLibrary library : libraries()) {
      for (const Shape& s : kShapes) {
        SCOPED_TRACE(std::string(product_library_name(library)) + " on " + std::to_string(threads) +
                     " threads, P " + std::to_string(s.p) + " T " + std::to_string(s.t) + " K " +
                     std::to_string(s.k) + " N " + std::to_string(s.n));
        const auto a = torch::randn({s.p, s.t, s.k});
        const auto b = torch::randn({s.p, s.k, s.n});
        const auto c = torch::randn({s.p, s.t, s.n});
        const auto a64 = a.to(torch::kDouble), b64 = b.to(torch::kDouble),
                   c64 = c.to(torch::kDouble);

        auto ab = torch::full({s.p, s.t, s.n}, 7.0);  // overwritten, not added to
        products_ab(ab, a, b, library);
        EXPECT_LT(relative(ab, at::bmm(a64, b64)), 1e-5);

        // a . bt where bt is (P, N, K): here b's transpose, made contiguous.
        auto abt = torch::full({s.p, s.t, s.n}, 7.0);
        products_abt(abt, a, b.transpose(1, 2).contiguous(), library);
        EXPECT_LT(relative(abt, at::bmm(a64, b64)), 1e-5);

        auto atb = torch::full({s.p, s.k, s.n}, 7.0);
        products_atb(atb, a, c, library);
        EXPECT_LT(relative(atb, at::bmm(a64.transpose(1, 2), c64)), 1e-5);
      }
    }
  }
}

// Into part of a larger buffer, as the layer writes each phase's products.
TEST(CpuProductsTest, WritesIntoANarrowedBufferAndNothingAroundIt) {
  torch::manual_seed(6);
  for (const ProductLibrary library : libraries()) {
    SCOPED_TRACE(product_library_name(library));
    const auto a = torch::randn({3, 40, 24});
    const auto b = torch::randn({3, 24, 20});
    auto buffer = torch::full({7, 40, 20}, -3.0);
    products_ab(buffer.narrow(0, 2, 3), a, b, library);
    EXPECT_LT(relative(buffer.narrow(0, 2, 3), at::bmm(a.to(at::kDouble), b.to(at::kDouble))),
              1e-5);
    EXPECT_TRUE(buffer.narrow(0, 0, 2).eq(-3.0).all().item<bool>());
    EXPECT_TRUE(buffer.narrow(0, 5, 2).eq(-3.0).all().item<bool>());
  }
}

// They are fp32 kernels: under CPU bf16 autocast they compute exactly what they compute outside
// it (a convolution would otherwise run in bf16), and they record no graph on `out`.
TEST(CpuProductsTest, IgnoreAutocastAndRecordNoGraph) {
  torch::manual_seed(7);
  const auto a = torch::randn({4, 64, 96}).requires_grad_(true);
  const auto b = torch::randn({4, 96, 80}).requires_grad_(true);
  const auto c = torch::randn({4, 64, 80}).requires_grad_(true);
  for (const ProductLibrary library : libraries()) {
    SCOPED_TRACE(product_library_name(library));
    auto plain = torch::empty({4, 64, 80});
    auto plain_atb = torch::empty({4, 96, 80});
    products_ab(plain, a, b, library);
    products_atb(plain_atb, a, c, library);
    auto cast = torch::empty({4, 64, 80});
    auto cast_atb = torch::empty({4, 96, 80});
    {
      Bf16Autocast autocast(/*enabled=*/true, at::kCPU, /*emulate=*/false);
      products_ab(cast, a, b, library);
      products_atb(cast_atb, a, c, library);
    }
    EXPECT_TRUE(torch::equal(cast, plain));
    EXPECT_TRUE(torch::equal(cast_atb, plain_atb));
    EXPECT_FALSE(plain.requires_grad());
    EXPECT_FALSE(cast_atb.requires_grad());
  }
}

TEST(CpuProductsTest, RejectsMatricesThatAreNotRowMajor) {
  const auto a = torch::randn({2, 8, 6});
  const auto b = torch::randn({2, 6, 5});
  auto out = torch::empty({2, 8, 5});
  for (const ProductLibrary library : libraries()) {
    EXPECT_THROW(products_ab(out, a.transpose(1, 2).contiguous().transpose(1, 2), b, library),
                 c10::Error);
    EXPECT_THROW(products_ab(out.transpose(1, 2), a, b, library), c10::Error);
    EXPECT_THROW(products_ab(out, a.to(torch::kDouble), b, library), c10::Error);
  }
}

}  // namespace
}  // namespace dcgan
