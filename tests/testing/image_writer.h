// Writes image files (PNG, JPEG) and CIFAR-10 binary files at test time.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace dcgan::testing {

// image: (C, H, W) uint8 with C of 1 or 3.
void write_png_file(const std::string& path, const torch::Tensor& image);
void write_jpeg_file(const std::string& path, const torch::Tensor& image, int quality = 95);

// images (N, 3, 32, 32) uint8 and labels (N) -> CIFAR-10 records.
void write_cifar10(const std::string& path, const torch::Tensor& images, const torch::Tensor& labels);

}  // namespace dcgan::testing
