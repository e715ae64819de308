// In-memory image datasets. Images stay uint8 (4x smaller than float) and are converted per
// batch on the training device.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

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
};

// Loads what `options` names (format, train, test, val_fraction, limit). Throws DataError.
DataSplits load_data(const DataOptions& options);

// Splits `set` after its first round(size * (1 - val_fraction)) images into {head, tail}.
std::pair<ImageSet, ImageSet> split_validation(const ImageSet& set, double val_fraction);

// uint8 (B, C, H, W) in [0, 255] -> float (B, C, H, W) in [-1, 1] on `device`.
// The copy to the device happens on the uint8 data (4x less traffic than float).
torch::Tensor to_model_range(const torch::Tensor& images_u8, const torch::Device& device);

// float images in [-1, 1] -> uint8 in [0, 255] (rounded, clamped), on the CPU.
torch::Tensor to_pixel_range(const torch::Tensor& images);

}  // namespace dcgan
