// PNG output of images and sample grids (stb_image_write).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "dcgan/config/config.h"

namespace dcgan {

// Pixel value of the gaps between grid cells: white separates dark and light images alike.
constexpr uint8_t kGridPadValue = 255;

// Tiles images (N, C, H, W), float in [-1, 1], row-major into a grid of `grid.rows` x `grid.cols`
// cells with `padding` pixels around every cell. Returns (rows*(H+p)+p, cols*(W+p)+p, C) uint8.
// Cells past N stay at kGridPadValue. Throws std::invalid_argument if N > rows*cols.
torch::Tensor make_grid(const torch::Tensor& images, GridSize grid, int64_t padding = 2);

// Encodes an (H, W, C) uint8 image, C in {1, 3}, as PNG bytes.
std::string encode_png(const torch::Tensor& image_hwc);

// Writes make_grid(images, grid, padding) to `path` as a PNG (atomically). Throws IoError.
void write_grid_png(const std::string& path, const torch::Tensor& images, GridSize grid,
                    int64_t padding = 2);

// Writes one image (C, H, W), float in [-1, 1], to `path` as a PNG. Throws IoError.
void write_image_png(const std::string& path, const torch::Tensor& image);

}  // namespace dcgan
