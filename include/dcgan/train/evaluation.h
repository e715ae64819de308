// Quality of a generator, during training and in `dcgan eval`: which features, which real
// images, and the numbers of eval/quality.h on them.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "dcgan/config/config.h"
#include "dcgan/data/image_set.h"
#include "dcgan/eval/features.h"
#include "dcgan/eval/quality.h"
#include "dcgan/model/networks.h"

namespace dcgan {

constexpr int64_t kDefaultEvalNum = 10000;

struct QualityReport {
  int64_t num = 0;  // images of each side compared
  double fid = 0;
  KidResult kid;
  ManifoldResult manifold;
  double seconds = 0;  // generating, features and metrics
};

// quality.csv: one row per evaluation.
constexpr const char* kQualityHeader =
    "step,num,fid,kid_mean,kid_std,precision,recall,density,coverage,seconds";
std::string format_quality_row(int64_t step, const QualityReport& report);
// "FID 12.34 | KID 0.0123 ± 0.0010 | precision 0.712 recall 0.654 | density 0.95 coverage 0.80"
std::string describe_quality(const QualityReport& report);

// The feature network file that `eval.features: auto` stands for with this config's data:
// <run.out_dir>/features/<training file's stem>-<hash of the data files and feature settings>.pt
std::string auto_features_path(const Config& config);

// Trains the feature network on the labels of config.data's files (all of the training file,
// data.limit aside; the test file for the accuracy) with eval.feature_epochs, writes it to
// `path` (atomically, creating its folder) and returns it. `log` receives progress lines.
// Deterministic; sets the global LibTorch seed.
TrainedFeatureNet build_feature_net(const Config& config, const std::string& path,
                                    const torch::Device& device,
                                    const std::function<void(const std::string&)>& log);

// eval.features (or a --features path) opened on `device`: a path loads that file; `auto` loads
// auto_features_path(config), built first (build_feature_net) when there is none yet.
std::unique_ptr<FeatureExtractor> open_features(const Config& config, const std::string& features,
                                                const torch::Device& device,
                                                const ScriptInput& input,
                                                const std::function<void(const std::string&)>& log);

// The real images quality is measured against: the whole test file when there is one, else the
// training set.
ImageSet reference_images(const DataSplits& data);

// How many images to compare: `requested` (0: up to kDefaultEvalNum) of `available` real
// images. Throws ConfigError naming `what` when more are asked for than there are, or fewer than
// the metrics need.
int64_t resolve_eval_num(int64_t requested, int64_t available, const std::string& what);

class QualityEvaluator {
 public:
  // Takes the features of the first `num` images of `real` once. The generated images come
  // from noise drawn from a generator seeded with `seed`: the same noise at every evaluation.
  QualityEvaluator(std::unique_ptr<FeatureExtractor> features, const ImageSet& real, int64_t num,
                   uint64_t seed, const torch::Device& device);

  // `generator`'s `num` images (batch norm in eval mode; its mode is restored), rounded to 8 bits
  // as a PNG would hold them, against the real ones. Touches no other random state.
  QualityReport evaluate(Generator& generator);

  std::string describe() const { return features_->describe(); }
  int64_t num() const { return num_; }

 private:
  std::unique_ptr<FeatureExtractor> features_;
  int64_t num_;
  uint64_t seed_;
  torch::Device device_;
  torch::Tensor real_features_;  // (num, D) float64, CPU
  FeatureStats real_stats_;
};

}  // namespace dcgan
