// Format dispatch, the test/validation split and the pixel <-> model range conversions.
#include "dcgan/data/image_set.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "dcgan/data/cifar10.h"
#include "dcgan/data/idx.h"
#include "dcgan/data/image_folder.h"
#include "dcgan/data/svhn_mat.h"
#include "dcgan/error.h"

namespace dcgan {
namespace {

ImageSet load_file(const DataOptions& options, const LoadContext& context,
                   const std::string& path, int64_t limit) {
  const std::string& format = options.format;
  if (format == "svhn_mat") return load_svhn_mat(path, limit);
  if (format == "cifar10") return load_cifar10(path, limit);
  if (format == "folder") {
    FolderOptions folder;
    folder.image_size = context.image_size;
    folder.channels = options.channels == 0 ? 3 : options.channels;
    folder.strict = options.strict;
    folder.limit = limit;
    folder.cache_dir = options.cache ? context.cache_dir : "";
    folder.log = context.log;
    return load_image_folder(path, folder);
  }
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
  throw DataError("data.format: svhn_mat, idx, cifar10 or folder expected, found '" + format + "'");
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

// One file's images in the channels and size the model wants.
ImageSet load_shaped(const DataOptions& options, const LoadContext& context,
                     const std::string& path, int64_t limit) {
  ImageSet set = load_file(options, context, path, limit);
  set.images = convert_channels(set.images, options.channels);
  const int64_t side = set.images.size(2);
  if (side != context.image_size || set.images.size(3) != context.image_size) {
    if (context.log) {
      context.log(path + ": resizing " + std::to_string(set.size()) + " images from " +
                  std::to_string(side) + "x" + std::to_string(set.images.size(3)) + " to " +
                  std::to_string(context.image_size) + "x" + std::to_string(context.image_size));
    }
    set.images = resize_images(set.images, context.image_size);
  }
  return set;
}

}  // namespace

LoadContext load_context(const Config& config, std::function<void(const std::string&)> log) {
  LoadContext context;
  context.image_size = config.model.image_size;
  context.cache_dir = config.run.out_dir + "/cache";
  context.log = std::move(log);
  return context;
}

DataSplits load_data(const DataOptions& options, const LoadContext& context) {
  if (options.train.empty()) throw DataError("data.train: no training file given");
  DataSplits splits;
  splits.train = load_shaped(options, context, options.train, options.limit);
  if (!options.test.empty()) {
    // The limit is for the training set only: validation numbers stay comparable across runs.
    std::tie(splits.test, splits.validation) =
        split_validation(load_shaped(options, context, options.test, 0), options.val_fraction);
  }
  return splits;
}

torch::Tensor convert_channels(const torch::Tensor& images_u8, int64_t channels) {
  const int64_t have = images_u8.size(1);
  if (channels == 0 || channels == have) return images_u8;
  if (channels == 3 && have == 1) return images_u8.expand({-1, 3, -1, -1}).contiguous();
  if (channels == 1 && have == 3) {
    const torch::Tensor weights = torch::tensor({0.299, 0.587, 0.114}, torch::kFloat32).view({1, 3, 1, 1});
    torch::Tensor grey = torch::empty({images_u8.size(0), 1, images_u8.size(2), images_u8.size(3)},
                                      torch::kUInt8);
    constexpr int64_t kChunk = 4096;  // float copies of a chunk, not of the whole set
    for (int64_t first = 0; first < images_u8.size(0); first += kChunk) {
      const int64_t n = std::min(kChunk, images_u8.size(0) - first);
      grey.narrow(0, first, n)
          .copy_((images_u8.narrow(0, first, n).to(torch::kFloat32) * weights)
                     .sum(1, /*keepdim=*/true)
                     .round_()
                     .clamp_(0, 255));
    }
    return grey;
  }
  throw std::invalid_argument("convert_channels: 1 or 3 channels expected, got " +
                              std::to_string(have) + " -> " + std::to_string(channels));
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
