// Writes MNIST-format IDX files (plain, not gzip) at test time.
#pragma once

#include <torch/torch.h>

#include <string>

namespace dcgan::testing {

// images: (N, H, W) uint8 -> an IDX3 image file.
void write_idx_images(const std::string& path, const torch::Tensor& images);
// labels: (N) integers 0..255 -> an IDX1 label file.
void write_idx_labels(const std::string& path, const torch::Tensor& labels);

// A labelled set in the MNIST layout under `dir`: train-images-idx3-ubyte and
// train-labels-idx1-ubyte (and t10k-* when `test` > 0). Class k (< 8) is a bright centred square
// of side 4 + 3k on dark noise, so a small classifier learns it. Returns the images path.
std::string write_labelled_idx(const std::string& dir, int64_t train, int64_t test,
                               int64_t classes, uint64_t seed);

}  // namespace dcgan::testing
