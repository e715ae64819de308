// In-memory image datasets. Images stay uint8 (4x smaller than float) and are converted per
// batch on the training device.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dcgan/config/config.h"

namespace dcgan {

struct ImageSet {
  torch::Tensor images;  // (N, C, H, W) uint8, contiguous, on the CPU
  torch::Tensor labels;  // (N) int64; undefined when the format has no labels at hand

  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  int64_t channels() const { return images.defined() ? images.size(1) : 0; }
};

// The training set and the reference's split of the test file.
struct DataSplits {
  ImageSet train;
  ImageSet test;        // first (1 - val_fraction) of the test file; empty without data.test
  ImageSet validation;  // the rest of the test file
  std::vector<std::string> notes;  // what loading reported (resizing, skipped files, cache use)
};

// What loading needs besides DataOptions.
struct LoadContext {
  int64_t image_size = 32;  // model.image_size: every format's images are resized to it
  std::string cache_dir;    // data.cache's folder (`folder` format); empty: no cache
  std::function<void(const std::string&)> log;  // progress, skips, resizing; may be empty
};

// The context a run's config gives: its model.image_size, the cache under run.out_dir/cache.
LoadContext load_context(const Config& config,
                         std::function<void(const std::string&)> log = nullptr);

// Loads what `options` names (format, train, test, val_fraction, limit, channels, strict, cache),
// as images of context.image_size. Throws DataError.
DataSplits load_data(const DataOptions& options, const LoadContext& context = {});

// Images (N, C, H, W) uint8 with C converted to `channels`: 1 is ITU-R 601 luma of RGB, 3 repeats
// grey; 0 or the same count returns them as they are.
torch::Tensor convert_channels(const torch::Tensor& images_u8, int64_t channels);

// Splits `set` after its first round(size * (1 - val_fraction)) images into {head, tail}.
std::pair<ImageSet, ImageSet> split_validation(const ImageSet& set, double val_fraction);

// uint8 (B, C, H, W) in [0, 255] -> float (B, C, H, W) in [-1, 1] on `device`.
// The copy to the device happens on the uint8 data (4x less traffic than float).
torch::Tensor to_model_range(const torch::Tensor& images_u8, const torch::Device& device);

// float images in [-1, 1] -> uint8 in [0, 255] (rounded, clamped), on the CPU.
torch::Tensor to_pixel_range(const torch::Tensor& images);

}  // namespace dcgan
