#include "dcgan/eval/quality.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace dcgan {
namespace {

// Rows at a time in the distance computations: a (rows, N) block of doubles, not (N, N).
constexpr int64_t kRowChunk = 1024;

torch::Tensor as_features(const torch::Tensor& t, const char* what) {
  if (t.dim() != 2) {
    throw std::invalid_argument(std::string(what) + ": (N, D) features expected, got " +
                                std::to_string(t.dim()) + " dimensions");
  }
  return t.to(torch::kFloat64);
}

void expect_same_width(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.size(1) != b.size(1)) {
    throw std::invalid_argument("features of different widths: " + std::to_string(a.size(1)) +
                                " and " + std::to_string(b.size(1)));
  }
}

// For each row of `x`, the distance to its k-th nearest other row of `x`. (N)
torch::Tensor kth_neighbour_radii(const torch::Tensor& x, int64_t k) {
  std::vector<torch::Tensor> radii;
  for (int64_t start = 0; start < x.size(0); start += kRowChunk) {
    const torch::Tensor rows = x.slice(0, start, std::min(start + kRowChunk, x.size(0)));
    // The row itself is among the nearest, at distance 0: the k-th other row is the (k+1)-th.
    radii.push_back(std::get<0>(torch::cdist(rows, x).kthvalue(k + 1, /*dim=*/1)));
  }
  return torch::cat(radii);
}

}  // namespace

FeatureStats feature_stats(const torch::Tensor& features) {
  const torch::Tensor x = as_features(features, "feature_stats");
  if (x.size(0) < 2) throw std::invalid_argument("feature_stats: at least 2 rows needed");
  FeatureStats stats;
  stats.count = x.size(0);
  stats.mean = x.mean(0);
  const torch::Tensor centred = x - stats.mean;
  stats.cov = centred.t().mm(centred).div_(static_cast<double>(stats.count - 1));
  return stats;
}

double frechet_distance(const FeatureStats& a, const FeatureStats& b) {
  if (a.mean.numel() != b.mean.numel()) {
    throw std::invalid_argument("frechet_distance: features of different widths: " +
                                std::to_string(a.mean.numel()) + " and " +
                                std::to_string(b.mean.numel()));
  }
  const torch::Tensor mean_a = a.mean.to(torch::kCPU, torch::kFloat64);
  const torch::Tensor mean_b = b.mean.to(torch::kCPU, torch::kFloat64);
  const torch::Tensor cov_a = a.cov.to(torch::kCPU, torch::kFloat64);
  const torch::Tensor cov_b = b.cov.to(torch::kCPU, torch::kFloat64);
  // C_a^1/2 from C_a's eigendecomposition (C_a = V diag(w) V^T, so C_a^1/2 = V diag(sqrt w) V^T).
  const auto [w_a, v_a] = torch::linalg_eigh(cov_a);
  const torch::Tensor sqrt_a = (v_a * w_a.clamp_min(0).sqrt().unsqueeze(0)).mm(v_a.t());
  // C_a^1/2 C_b C_a^1/2 is symmetric positive semi-definite and has the eigenvalues of C_a C_b:
  // tr((C_a C_b)^1/2) is the sum of their square roots. Symmetrised against rounding.
  torch::Tensor inner = sqrt_a.mm(cov_b).mm(sqrt_a);
  inner = (inner + inner.t()) * 0.5;
  const double trace_sqrt = torch::linalg_eigvalsh(inner).clamp_min(0).sqrt().sum().item<double>();
  const torch::Tensor diff = mean_a - mean_b;
  return diff.dot(diff).item<double>() + cov_a.trace().item<double>() +
         cov_b.trace().item<double>() - 2 * trace_sqrt;
}

KidResult kernel_inception_distance(const torch::Tensor& real, const torch::Tensor& fake,
                                    const KidOptions& options) {
  const torch::Tensor x_all = as_features(real, "kernel_inception_distance (real)");
  const torch::Tensor y_all = as_features(fake, "kernel_inception_distance (fake)");
  expect_same_width(x_all, y_all);
  const int64_t m = std::min({options.subset_size, x_all.size(0), y_all.size(0)});
  if (m < 2 || options.subsets < 1) {
    throw std::invalid_argument("kernel_inception_distance: at least 2 rows per set and 1 subset "
                                "needed");
  }
  const double width = static_cast<double>(x_all.size(1));
  auto kernel = [width](const torch::Tensor& p, const torch::Tensor& q) {
    return (p.mm(q.t()) / width + 1).pow(3);
  };
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  const double md = static_cast<double>(m);
  std::vector<double> values;
  values.reserve(static_cast<size_t>(options.subsets));
  for (int64_t s = 0; s < options.subsets; ++s) {
    const auto pick = [&](const torch::Tensor& all) {
      const torch::Tensor order = torch::randperm(all.size(0), generator, torch::kLong);
      return all.index_select(0, order.slice(0, 0, m).to(all.device()));
    };
    const torch::Tensor x = pick(x_all);
    const torch::Tensor y = pick(y_all);
    const torch::Tensor kxx = kernel(x, x), kyy = kernel(y, y), kxy = kernel(x, y);
    const double within = ((kxx.sum() - kxx.diagonal().sum()) + (kyy.sum() - kyy.diagonal().sum()))
                              .item<double>() / (md * (md - 1));
    values.push_back(within - 2 * kxy.sum().item<double>() / (md * md));
  }
  KidResult result;
  for (double v : values) result.mean += v;
  result.mean /= static_cast<double>(values.size());
  for (double v : values) result.std += (v - result.mean) * (v - result.mean);
  result.std = std::sqrt(result.std / static_cast<double>(values.size()));
  return result;
}

ManifoldResult precision_recall(const torch::Tensor& real, const torch::Tensor& fake, int64_t k) {
  const torch::Tensor r = as_features(real, "precision_recall (real)");
  const torch::Tensor f = as_features(fake, "precision_recall (fake)");
  expect_same_width(r, f);
  if (k < 1 || r.size(0) <= k || f.size(0) <= k) {
    throw std::invalid_argument("precision_recall: more than k = " + std::to_string(k) +
                                " rows needed in each set");
  }
  const torch::Tensor real_radii = kth_neighbour_radii(r, k);  // (N_r)
  const torch::Tensor fake_radii = kth_neighbour_radii(f, k);  // (N_f)
  // Strict inequalities, as the reference implementation of density and coverage (prdc).
  torch::Tensor fake_in_real = torch::zeros({f.size(0)}, r.options().dtype(torch::kLong));  // (N_f)
  std::vector<torch::Tensor> real_in_fake, real_covered;
  for (int64_t start = 0; start < r.size(0); start += kRowChunk) {
    const int64_t end = std::min(start + kRowChunk, r.size(0));
    const torch::Tensor d = torch::cdist(r.slice(0, start, end), f);  // (rows, N_f)
    const torch::Tensor radii = real_radii.slice(0, start, end).unsqueeze(1);
    fake_in_real += (d < radii).sum(0);
    real_in_fake.push_back((d < fake_radii.unsqueeze(0)).any(1));
    real_covered.push_back(std::get<0>(d.min(1)) < radii.squeeze(1));
  }
  ManifoldResult result;
  result.precision = (fake_in_real > 0).to(torch::kFloat64).mean().item<double>();
  result.recall = torch::cat(real_in_fake).to(torch::kFloat64).mean().item<double>();
  result.density = fake_in_real.to(torch::kFloat64).mean().item<double>() / static_cast<double>(k);
  result.coverage = torch::cat(real_covered).to(torch::kFloat64).mean().item<double>();
  return result;
}

}  // namespace dcgan
