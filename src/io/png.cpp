#include "dcgan/io/png.h"

#include <stb_image_write.h>

#include <stdexcept>

#include "dcgan/data/image_set.h"
#include "dcgan/error.h"
#include "dcgan/io/file.h"

namespace dcgan {

torch::Tensor make_grid(const torch::Tensor& images, GridSize grid, int64_t padding) {
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  if (n > grid.rows * grid.cols) {
    throw std::invalid_argument("make_grid: " + std::to_string(n) + " images do not fit a " +
                                std::to_string(grid.rows) + "x" + std::to_string(grid.cols) +
                                " grid");
  }
  auto pixels = to_pixel_range(images).permute({0, 2, 3, 1});  // (N, H, W, C)
  auto out = torch::full({grid.rows * (h + padding) + padding, grid.cols * (w + padding) + padding, c},
                         kGridPadValue, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t top = padding + (i / grid.cols) * (h + padding);
    const int64_t left = padding + (i % grid.cols) * (w + padding);
    out.slice(0, top, top + h).slice(1, left, left + w).copy_(pixels[i]);
  }
  return out;
}

std::string encode_png(const torch::Tensor& image_hwc) {
  auto image = image_hwc.to(torch::kCPU).to(torch::kUInt8).contiguous();
  const int h = static_cast<int>(image.size(0)), w = static_cast<int>(image.size(1));
  const int c = static_cast<int>(image.size(2));
  std::string bytes;
  auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data),
                                               static_cast<size_t>(size));
  };
  if (stbi_write_png_to_func(append, &bytes, w, h, c, image.data_ptr<uint8_t>(), w * c) == 0) {
    throw std::runtime_error("PNG encoding failed");
  }
  return bytes;
}

void write_grid_png(const std::string& path, const torch::Tensor& images, GridSize grid,
                    int64_t padding) {
  write_file_atomic(path, encode_png(make_grid(images, grid, padding)));
}

void write_image_png(const std::string& path, const torch::Tensor& image) {
  write_file_atomic(path, encode_png(to_pixel_range(image.unsqueeze(0))[0].permute({1, 2, 0})));
}

}  // namespace dcgan
