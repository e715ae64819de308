#include "dcgan/train/evaluation.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "dcgan/error.h"
#include "dcgan/io/file.h"

namespace dcgan {
namespace {


// FNV-1a, 64 bits: names the auto feature network after what it was trained on.
uint64_t fnv1a(const std::string& text, uint64_t hash = 1469598103934665603ull) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

// A data file as the feature network's name depends on it: where it is and how large.
std::string file_identity(const std::string& path) {
  if (path.empty()) return "-";
  std::error_code error;
  const auto canonical = std::filesystem::weakly_canonical(path, error);
  const auto size = std::filesystem::file_size(path, error);
  return (canonical.empty() ? path : canonical.string()) + ":" +
         std::to_string(error ? 0 : static_cast<unsigned long long>(size));
}

}  // namespace

std::string format_quality_row(int64_t step, const QualityReport& r) {
  char line[320];
  std::snprintf(line, sizeof line, "%lld,%lld,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.3f",
                static_cast<long long>(step), static_cast<long long>(r.num), r.fid, r.kid.mean,
                r.kid.std, r.manifold.precision, r.manifold.recall, r.manifold.density,
                r.manifold.coverage, r.seconds);
  return line;
}

std::string describe_quality(const QualityReport& r) {
  char line[320];
  std::snprintf(line, sizeof line,
                "FID %.4f | KID %.5f ± %.5f | precision %.4f recall %.4f | density %.4f "
                "coverage %.4f | %lld images, %.1f s",
                r.fid, r.kid.mean, r.kid.std, r.manifold.precision, r.manifold.recall,
                r.manifold.density, r.manifold.coverage, static_cast<long long>(r.num), r.seconds);
  return line;
}

std::string auto_features_path(const Config& config) {
  const DataOptions& data = config.data;
  const std::string identity = data.format + "\n" + file_identity(data.train) + "\n" +
                               file_identity(data.test) + "\nepochs " +
                               std::to_string(config.eval.feature_epochs) + "\nwidth " +
                               std::to_string(FeatureTrainOptions{}.width) +
                               (data.channels != 0 ? "\nchannels " + std::to_string(data.channels)
                                                   : std::string());
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a(identity)));
  std::string stem = std::filesystem::path(data.train).filename().string();
  for (const char* suffix : {".gz", ".mat", "-idx3-ubyte"}) {
    const std::string s = suffix;
    if (stem.size() > s.size() && stem.compare(stem.size() - s.size(), s.size(), s) == 0) {
      stem.erase(stem.size() - s.size());
    }
  }
  return (std::filesystem::path(config.run.out_dir) / "features" /
          (stem + "-" + std::string(hash, 8) + ".pt"))
      .string();
}

TrainedFeatureNet build_feature_net(const Config& config, const std::string& path,
                                    const torch::Device& device,
                                    const std::function<void(const std::string&)>& log) {
  // All of the training file (data.limit is for the GAN), the test file for the accuracy.
  DataOptions data = config.data;
  data.limit = 0;
  data.val_fraction = 0;
  if (data.train.empty()) throw ConfigError("key 'data.train' is empty: name the training file");
  LoadContext context = load_context(config, log);
  context.image_size = kFeatureNetSize;  // the network's own size, whatever the model's
  DataSplits splits = load_data(data, context);
  if (log) {
    log("building the feature network " + path + " from the labels of " + data.train + " (" +
        std::to_string(splits.train.size()) + " images; once per dataset)");
  }
  // The default seed, not train.seed: runs of every seed share one feature network.
  FeatureTrainOptions options;
  options.epochs = config.eval.feature_epochs;
  TrainedFeatureNet trained =
      train_feature_net(splits.train, splits.test, options, device, data.train, log);
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) create_directories(parent.string());
  save_feature_net(path, trained);
  if (log) {
    const bool test_file = splits.test.size() > 0 && splits.test.labels.defined();
    char line[160];
    std::snprintf(line, sizeof line, "feature network: test accuracy %.2f %% on %lld %s images",
                  100.0 * trained.test_accuracy, static_cast<long long>(trained.test_images),
                  test_file ? "test" : "held-out training");
    log(line);
  }
  return trained;
}

std::unique_ptr<FeatureExtractor> open_features(const Config& config, const std::string& features,
                                                const torch::Device& device,
                                                const ScriptInput& input,
                                                const std::function<void(const std::string&)>& log) {
  if (features != "auto") return load_feature_extractor(features, device, input);
  const std::string path = auto_features_path(config);
  std::error_code error;
  if (!std::filesystem::exists(path, error)) build_feature_net(config, path, device, log);
  return load_feature_extractor(path, device, input);
}

ImageSet reference_images(const DataSplits& data) {
  if (data.test.size() + data.validation.size() == 0) return data.train;
  ImageSet all;
  all.images = torch::cat({data.test.images, data.validation.images}, 0);
  return all;
}

int64_t resolve_eval_num(int64_t requested, int64_t available, const std::string& what) {
  const int64_t num = requested > 0 ? requested : std::min(kDefaultEvalNum, available);
  if (num > available) {
    throw ConfigError(what + " is " + std::to_string(requested) + " but there are only " +
                      std::to_string(available) + " real images to compare with");
  }
  if (num < 10) {
    throw ConfigError(what + ": at least 10 images are needed to measure quality, found " +
                      std::to_string(num) + " real images");
  }
  return num;
}

QualityEvaluator::QualityEvaluator(std::unique_ptr<FeatureExtractor> features, const ImageSet& real,
                                   int64_t num, uint64_t seed, const torch::Device& device)
    : features_(std::move(features)), num_(num), seed_(seed), device_(device) {
  real_features_ = extract_features(
      *features_,
      [&](int64_t first, int64_t n) { return to_model_range(real.images.narrow(0, first, n), device_); },
      num_);
  real_stats_ = feature_stats(real_features_);
}

QualityReport QualityEvaluator::evaluate(Generator& generator) {
  const auto start = std::chrono::steady_clock::now();
  const bool was_training = generator->is_training();
  generator->eval();
  auto noise = at::make_generator<at::CPUGeneratorImpl>(seed_);
  torch::Tensor fake_features;
  {
    torch::NoGradGuard no_grad;
    fake_features = extract_features(
        *features_,
        [&](int64_t, int64_t n) {
          auto z = sample_noise(n, generator->z_dim(), torch::kCPU, noise).to(device_);
          // Rounded to 8 bits, as the real images are and as a PNG of the samples would be.
          return to_model_range(to_pixel_range(generator->forward(z)), device_);
        },
        num_);
  }
  if (was_training) generator->train();
  QualityReport report;
  report.num = num_;
  report.fid = frechet_distance(real_stats_, feature_stats(fake_features));
  KidOptions kid;
  kid.seed = seed_;
  report.kid = kernel_inception_distance(real_features_, fake_features, kid);
  report.manifold = precision_recall(real_features_, fake_features, 3);
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace dcgan
