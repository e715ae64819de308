// Feature networks for the quality metrics: images in, one feature vector per image out.
//
// Two sources:
//   - dcgan's own classifier (FeatureNet), trained on a dataset's labels and stored as a
//     "feature network" file; its penultimate layer gives the features. Real features of the
//     data the GAN learns, with no download.
//   - any TorchScript module mapping images to (N, D) features, e.g. the Inception network of
//     pytorch-fid exported by scripts/export_inception.py, so that FID compares with papers'.
//     Its input size, range and channels are read from the module's attributes `input_size`
//     (0: as is), `input_range` ([lo, hi]) and `input_channels`, or given by the caller.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "dcgan/data/image_set.h"

namespace dcgan {

// The side of the images dcgan's feature network is trained on; larger images are reduced to it.
constexpr int64_t kFeatureNetSize = 32;

struct FeatureNetOptions {
  int64_t channels = 3;  // image channels
  int64_t classes = 10;
  int64_t width = 16;    // first convolution's width; features are 8 * width wide
};

// conv3x3 -> three stride-2 conv4x4 stages (32 -> 4), each with batch norm and ReLU, global
// average pooling (the features), a linear classifier.
class FeatureNetImpl : public torch::nn::Module {
 public:
  explicit FeatureNetImpl(const FeatureNetOptions& options);
  torch::Tensor features(const torch::Tensor& images);  // (N, C, 32, 32) in [-1, 1] -> (N, 8w)
  torch::Tensor forward(const torch::Tensor& images);   // logits (N, classes)
  const FeatureNetOptions& options() const { return options_; }

 private:
  FeatureNetOptions options_;
  torch::nn::Sequential body_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(FeatureNet);

struct FeatureTrainOptions {
  int64_t epochs = 3;
  int64_t batch_size = 128;
  double lr = 1e-3;
  uint64_t seed = 0;
  int64_t width = 16;
};

struct TrainedFeatureNet {
  FeatureNet net{nullptr};
  double test_accuracy = 0;  // on `test`, or on the held-out tenth of the training images
  int64_t train_images = 0;
  int64_t test_images = 0;
  std::string source;        // what it was trained on, for messages
};

// Trains a FeatureNet on labelled uint8 images (labels 0..K-1). Without test images the last
// tenth of `train` is held out for the accuracy. Deterministic for a seed; sets the global
// LibTorch seed (callers seed again afterwards). `log` receives one line per epoch.
// Throws DataError when the images have no labels or too few.
TrainedFeatureNet train_feature_net(const ImageSet& train, const ImageSet& test,
                                    const FeatureTrainOptions& options, const torch::Device& device,
                                    const std::string& source,
                                    const std::function<void(const std::string&)>& log);

// Writes a feature network file (atomically) / reads one onto `device`. Reading throws
// CheckpointError for a file of another kind.
void save_feature_net(const std::string& path, const TrainedFeatureNet& trained);
TrainedFeatureNet load_feature_net(const std::string& path, const torch::Device& device);

// How a TorchScript module wants its images; unset fields come from its attributes, then from
// the defaults (as is, [-1, 1], the images' channels).
struct ScriptInput {
  std::optional<int64_t> size;      // square side to resize to; 0: as is
  std::optional<double> low, high;  // value range of the input
  std::optional<int64_t> channels;  // 1 or 3; grey images are repeated to 3
};

class FeatureExtractor {
 public:
  virtual ~FeatureExtractor() = default;
  // images: float (N, C, 32, 32) in [-1, 1] on the extractor's device -> float (N, D).
  virtual torch::Tensor extract(const torch::Tensor& images) = 0;
  // One line for logs: what the features are.
  virtual std::string describe() const = 0;
};

// A feature network file or a TorchScript module, whichever `path` is. Throws CheckpointError
// "<path>: ..." for anything else (a generator file, a training checkpoint, a corrupt file) and
// ConfigError for a ScriptInput out of range.
std::unique_ptr<FeatureExtractor> load_feature_extractor(const std::string& path,
                                                         const torch::Device& device,
                                                         const ScriptInput& input = {});

// Features of `total` images produced `batch` at a time by `images(first, n)` (float, [-1, 1]),
// in eval mode without gradients; (total, D) float64 on the CPU.
torch::Tensor extract_features(FeatureExtractor& extractor,
                               const std::function<torch::Tensor(int64_t, int64_t)>& images,
                               int64_t total, int64_t batch = 500);

}  // namespace dcgan
