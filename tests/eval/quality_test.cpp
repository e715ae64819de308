#include "dcgan/eval/quality.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

namespace dcgan {
namespace {

FeatureStats gaussian(const torch::Tensor& mean, const torch::Tensor& cov) {
  FeatureStats stats;
  stats.mean = mean.to(torch::kFloat64);
  stats.cov = cov.to(torch::kFloat64);
  stats.count = 1000;
  return stats;
}

// A random symmetric positive definite matrix.
torch::Tensor random_spd(int64_t d, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const torch::Tensor a = torch::randn({d, d}, gen, torch::kFloat64);
  return a.mm(a.t()) + 0.1 * torch::eye(d, torch::kFloat64);
}

// Diagonal covariances: FID = |m1 - m2|^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2.
TEST(FrechetDistance, DiagonalGaussiansGiveTheClosedForm) {
  const auto a = gaussian(torch::tensor({0.0, 1.0, -2.0}), torch::diag(torch::tensor({1.0, 4.0, 9.0})));
  const auto b = gaussian(torch::tensor({1.0, 1.0, 0.0}), torch::diag(torch::tensor({4.0, 1.0, 16.0})));
  const double expected = (1 + 0 + 4) + (1.0 + 1.0 + 1.0);
  EXPECT_NEAR(frechet_distance(a, b), expected, 1e-12);
  EXPECT_NEAR(frechet_distance(b, a), expected, 1e-12);
}

// C_b = c C_a with a full (non-diagonal) C_a: tr((C_a C_b)^1/2) = sqrt(c) tr(C_a), so
// FID = |m1 - m2|^2 + (1 - sqrt(c))^2 tr(C_a).
TEST(FrechetDistance, ScaledFullCovarianceGivesTheClosedForm) {
  const torch::Tensor cov = random_spd(8, 1);
  const torch::Tensor mean_a = torch::zeros({8}, torch::kFloat64);
  const torch::Tensor mean_b = torch::full({8}, 0.5, torch::kFloat64);
  const double c = 2.25;  // sqrt: 1.5
  const double expected = 8 * 0.25 + 0.25 * cov.trace().item<double>();
  const double fid = frechet_distance(gaussian(mean_a, cov), gaussian(mean_b, c * cov));
  EXPECT_NEAR(fid, expected, 1e-9 * expected) << fid;
}

TEST(FrechetDistance, ASetAgainstItselfIsZero) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  const torch::Tensor features = torch::randn({500, 16}, gen, torch::kFloat32) * 3 + 1;
  const FeatureStats stats = feature_stats(features);
  EXPECT_NEAR(frechet_distance(stats, stats), 0.0, 1e-9);
  EXPECT_EQ(stats.count, 500);
  EXPECT_EQ(stats.cov.scalar_type(), torch::kFloat64);
}

TEST(FrechetDistance, RefusesDifferentWidthsAndTooFewRows) {
  const FeatureStats a = feature_stats(torch::randn({10, 3}));
  const FeatureStats b = feature_stats(torch::randn({10, 4}));
  EXPECT_THROW(frechet_distance(a, b), std::invalid_argument);
  EXPECT_THROW(feature_stats(torch::randn({1, 3})), std::invalid_argument);
  EXPECT_THROW(feature_stats(torch::randn({10})), std::invalid_argument);
}

// Constant sets: every kernel value is known, and the unbiased estimate is exact with no spread:
// k(a,a) + k(b,b) - 2 k(a,b), k(x,y) = (x.y/d + 1)^3.
TEST(KernelInceptionDistance, ConstantSetsGiveTheExactMmd) {
  const torch::Tensor real = torch::tensor({1.0, 2.0}).repeat({30, 1});
  const torch::Tensor fake = torch::tensor({0.0, -1.0}).repeat({20, 1});
  auto k = [](double dot) { return std::pow(dot / 2 + 1, 3); };
  const double expected = k(5) + k(1) - 2 * k(-2);
  KidOptions options;
  options.subsets = 5;
  options.subset_size = 10;
  const KidResult kid = kernel_inception_distance(real, fake, options);
  EXPECT_NEAR(kid.mean, expected, 1e-12);
  EXPECT_NEAR(kid.std, 0.0, 1e-12);
}

// Two samples of one distribution: the unbiased estimate averages to 0 (the biased one would
// not: it adds the diagonal). Its spread over subsets is reported and not 0.
TEST(KernelInceptionDistance, IsUnbiasedForOneDistribution) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const torch::Tensor real = torch::randn({4000, 8}, gen, torch::kFloat64);
  const torch::Tensor fake = torch::randn({4000, 8}, gen, torch::kFloat64);
  KidOptions options;
  options.subsets = 50;
  options.subset_size = 200;
  const KidResult kid = kernel_inception_distance(real, fake, options);
  EXPECT_GT(kid.std, 0.0);
  // The mean of 50 subsets lies within a few standard errors of 0.
  EXPECT_LT(std::abs(kid.mean), 4 * kid.std / std::sqrt(50.0)) << kid.mean << " +- " << kid.std;
  // The same seed draws the same subsets.
  const KidResult again = kernel_inception_distance(real, fake, options);
  EXPECT_EQ(again.mean, kid.mean);
}

// Points on a line, k = 1 (every real ball has radius 1):
//   real 0 1 2 3 4; fake 0.5, 10, 2.2.
// 0.5 lies in the balls of 0 and 1, 2.2 in those of 2 and 3, 10 in none: precision 2/3, density
// 4/3; the balls of 0..3 hold a fake point, 4's does not: coverage 4/5. The fake balls have radii
// 1.7, 7.8, 1.7 and hold every real point: recall 1.
TEST(PrecisionRecall, PointSetsWithAKnownAnswer) {
  const torch::Tensor real = torch::tensor({0.0, 1.0, 2.0, 3.0, 4.0}).unsqueeze(1);
  const torch::Tensor fake = torch::tensor({0.5, 10.0, 2.2}).unsqueeze(1);
  const ManifoldResult m = precision_recall(real, fake, 1);
  EXPECT_DOUBLE_EQ(m.precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.recall, 1.0);
  EXPECT_DOUBLE_EQ(m.density, 4.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.coverage, 4.0 / 5.0);
}

TEST(PrecisionRecall, ASetAgainstItselfIsFullyCovered) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  // More rows than one distance block, so that the blocks are joined correctly.
  const torch::Tensor features = torch::randn({1500, 4}, gen, torch::kFloat64);
  const ManifoldResult m = precision_recall(features, features, 3);
  EXPECT_DOUBLE_EQ(m.precision, 1.0);
  EXPECT_DOUBLE_EQ(m.recall, 1.0);
  EXPECT_DOUBLE_EQ(m.coverage, 1.0);
}

TEST(PrecisionRecall, RefusesSetsNoLargerThanK) {
  EXPECT_THROW(precision_recall(torch::randn({3, 2}), torch::randn({10, 2}), 3), std::invalid_argument);
  EXPECT_THROW(precision_recall(torch::randn({10, 2}), torch::randn({10, 3}), 3), std::invalid_argument);
}

// The reference values of data/make_quality_reference.py (numpy, scipy's sqrtm, prdc's rules).
TEST(Quality, AgreesWithTheNumpyScipyReference) {
  const std::string path = std::string(DCGAN_EVAL_TEST_DATA) + "/quality_reference.txt";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::map<std::string, torch::Tensor> sets;
  std::map<std::string, double> values;
  std::string name;
  while (in >> name) {
    if (name == "real" || name == "fake") {
      int64_t rows = 0, cols = 0;
      in >> rows >> cols;
      torch::Tensor t = torch::empty({rows, cols}, torch::kFloat64);
      auto a = t.accessor<double, 2>();
      for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < cols; ++j) in >> a[i][j];
      }
      sets[name] = t;
    } else {
      in >> values[name];
    }
  }
  ASSERT_EQ(sets.size(), 2u);
  ASSERT_EQ(values.size(), 6u);
  const torch::Tensor real = sets["real"], fake = sets["fake"];
  auto relative = [](double got, double want) { return std::abs(got - want) / std::abs(want); };

  const double fid = frechet_distance(feature_stats(real), feature_stats(fake));
  EXPECT_LT(relative(fid, values["fid"]), 1e-6) << fid << " vs " << values["fid"];
  KidOptions one_subset_of_all;
  one_subset_of_all.subsets = 1;
  one_subset_of_all.subset_size = real.size(0);
  const double kid = kernel_inception_distance(real, fake, one_subset_of_all).mean;
  EXPECT_LT(relative(kid, values["kid"]), 1e-6) << kid << " vs " << values["kid"];
  const ManifoldResult m = precision_recall(real, fake, 3);
  EXPECT_LT(relative(m.precision, values["precision"]), 1e-6) << m.precision;
  EXPECT_LT(relative(m.recall, values["recall"]), 1e-6) << m.recall;
  EXPECT_LT(relative(m.density, values["density"]), 1e-6) << m.density;
  EXPECT_LT(relative(m.coverage, values["coverage"]), 1e-6) << m.coverage;
}

}  // namespace
}  // namespace dcgan
