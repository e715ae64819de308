// Format dispatch, the test/validation split and the pixel <-> model range conversions.
#include "dcgan/data/image_set.h"

#include <cmath>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "dcgan/data/idx.h"
#include "dcgan/data/svhn_mat.h"
#include "dcgan/error.h"

namespace dcgan {
namespace {

ImageSet load_file(const std::string& format, const std::string& path, int64_t limit) {
  if (format == "svhn_mat") return load_svhn_mat(path, limit);
  if (format == "idx") {
    // Labels, when a label file lies beside the images under the MNIST names: the feature
    // network that measures quality trains on them.
    ImageSet set = load_idx_images(path, limit);
    const std::string labels = idx_labels_beside(path);
    if (!labels.empty()) {
      set.labels = load_idx_labels(labels, limit);
      if (set.labels.size(0) != set.size()) {
        throw DataError(labels + ": one label per image of " + path + " expected (" +
                        std::to_string(set.size()) + "), found " +
                        std::to_string(set.labels.size(0)));
      }
    }
    return set;
  }
  throw DataError("data.format: svhn_mat or idx expected, found '" + format + "'");
}

// The first `count` images from `start` (labels too, when there are any); views, no copy.
ImageSet slice(const ImageSet& set, int64_t start, int64_t count) {
  ImageSet part;
  part.images = set.images.narrow(0, start, count);
  if (set.labels.defined() && set.labels.numel() > 0) {
    part.labels = set.labels.narrow(0, start, count);
  } else {
    part.labels = set.labels;
  }
  return part;
}

}  // namespace

DataSplits load_data(const DataOptions& options) {
  if (options.train.empty()) throw DataError("data.train: no training file given");
  DataSplits splits;
  splits.train = load_file(options.format, options.train, options.limit);
  if (!options.test.empty()) {
    // The limit is for the training set only: validation numbers stay comparable across runs.
    std::tie(splits.test, splits.validation) =
        split_validation(load_file(options.format, options.test, 0), options.val_fraction);
  }
  return splits;
}

std::pair<ImageSet, ImageSet> split_validation(const ImageSet& set, double val_fraction) {
  if (!(val_fraction >= 0.0 && val_fraction <= 1.0)) {
    throw std::invalid_argument("split_validation: val_fraction must be in [0, 1], got " +
                                std::to_string(val_fraction));
  }
  const int64_t size = set.size();
  if (size == 0) return {set, set};
  const int64_t head = std::llround(static_cast<double>(size) * (1.0 - val_fraction));
  return {slice(set, 0, head), slice(set, head, size - head)};
}

torch::Tensor to_model_range(const torch::Tensor& images_u8, const torch::Device& device) {
  if (images_u8.scalar_type() != torch::kUInt8) {
    throw std::invalid_argument("to_model_range: uint8 images expected, got " +
                                std::string(c10::toString(images_u8.scalar_type())));
  }
  // To a GPU from page-locked memory without waiting: a copy from pageable memory would hold the
  // host until the device has caught up, and the next step could not be queued meanwhile.
  const torch::Tensor on_device = images_u8.is_cpu() && device.is_cuda()
                                      ? images_u8.pin_memory().to(device, /*non_blocking=*/true)
                                      : images_u8.to(device);
  // x / 127.5 - 1 maps 0 -> -1 and 255 -> 1 exactly.
  return on_device.to(torch::kFloat32).div_(127.5).sub_(1.0);
}

torch::Tensor to_pixel_range(const torch::Tensor& images) {
  // NaN has no uint8 value (the cast would be undefined): it becomes black, like -1.
  torch::Tensor pixels = torch::nan_to_num(images.to(torch::kFloat32), -1.0)
                             .add(1.0)
                             .mul_(127.5)
                             .round_()
                             .clamp_(0.0, 255.0)
                             .to(torch::kUInt8);
  return pixels.to(torch::kCPU);
}

}  // namespace dcgan
