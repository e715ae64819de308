// How close a set of generated images is to the real ones, measured on feature vectors (one row
// per image, from whatever feature network the caller runs):
//   - FID, the Fréchet distance between Gaussians fitted to each set (Heusel et al. 2017);
//   - KID, the squared MMD with the kernel (x.y/d + 1)^3, unbiased, averaged over random subsets
//     (Bińkowski et al. 2018);
//   - precision and recall of the k-nearest-neighbour manifolds (Kynkäänniemi et al. 2019), and
//     density and coverage (Naeem et al. 2020).
// Everything is computed in double precision, whatever the features' type. Inputs are
// (N, D) tensors on the CPU or a GPU; results are plain numbers.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace dcgan {

// Mean and covariance of a feature set.
struct FeatureStats {
  torch::Tensor mean;  // (D) float64
  torch::Tensor cov;   // (D, D) float64, unbiased (divided by N - 1)
  int64_t count = 0;
};

// features: (N, D) with N >= 2. Throws std::invalid_argument otherwise.
FeatureStats feature_stats(const torch::Tensor& features);

// ||m1 - m2||^2 + tr(C1) + tr(C2) - 2 tr((C1^1/2 C2 C1^1/2)^1/2). The square-root term comes from
// symmetric eigendecompositions (C1^1/2, then the eigenvalues of the symmetric C1^1/2 C2 C1^1/2),
// never from a general sqrtm of the non-symmetric C1 C2; eigenvalues that rounding makes slightly
// negative count as 0. Throws std::invalid_argument when the dimensions differ.
double frechet_distance(const FeatureStats& a, const FeatureStats& b);

struct KidOptions {
  int64_t subsets = 100;       // random subsets averaged over
  int64_t subset_size = 1000;  // images per subset from each set (at most the smaller set's size)
  uint64_t seed = 0;           // which subsets
};

struct KidResult {
  double mean = 0;
  double std = 0;  // standard deviation over the subsets (population, as torch-fidelity)
};

// KID of fake against real features (each (N, D), same D): for each subset, m real and m fake
// rows drawn without replacement, the unbiased MMD^2 estimate
//   sum_{i!=j} k(x_i,x_j)/(m(m-1)) + sum_{i!=j} k(y_i,y_j)/(m(m-1)) - 2 sum_{i,j} k(x_i,y_j)/m^2.
KidResult kernel_inception_distance(const torch::Tensor& real, const torch::Tensor& fake,
                                    const KidOptions& options = {});

struct ManifoldResult {
  double precision = 0;  // share of fake rows inside the real manifold
  double recall = 0;     // share of real rows inside the fake manifold
  double density = 0;    // mean number of real balls a fake row falls in, over k (may exceed 1)
  double coverage = 0;   // share of real balls that hold a fake row
};

// A set's manifold is the union of balls around its rows, each with the radius of the distance
// to the row's k-th nearest neighbour in its own set (itself excluded). Needs more than k rows
// in each set; throws std::invalid_argument otherwise.
ManifoldResult precision_recall(const torch::Tensor& real, const torch::Tensor& fake, int64_t k = 3);

}  // namespace dcgan
