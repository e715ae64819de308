#include "testing/image_writer.h"

#include <stb_image_write.h>

#include <fstream>
#include <stdexcept>

namespace dcgan::testing {
namespace {

torch::Tensor to_hwc(const torch::Tensor& image) {
  if (image.dim() != 3 || image.scalar_type() != torch::kUInt8) {
    throw std::invalid_argument("a (C, H, W) uint8 image expected");
  }
  return image.permute({1, 2, 0}).contiguous();
}

}  // namespace

void write_png_file(const std::string& path, const torch::Tensor& image) {
  const torch::Tensor hwc = to_hwc(image);
  const int h = static_cast<int>(hwc.size(0)), w = static_cast<int>(hwc.size(1)),
            c = static_cast<int>(hwc.size(2));
  if (stbi_write_png(path.c_str(), w, h, c, hwc.data_ptr<uint8_t>(), w * c) == 0) {
    throw std::runtime_error(path + ": cannot write PNG");
  }
}

void write_jpeg_file(const std::string& path, const torch::Tensor& image, int quality) {
  const torch::Tensor hwc = to_hwc(image);
  const int h = static_cast<int>(hwc.size(0)), w = static_cast<int>(hwc.size(1)),
            c = static_cast<int>(hwc.size(2));
  if (stbi_write_jpg(path.c_str(), w, h, c, hwc.data_ptr<uint8_t>(), quality) == 0) {
    throw std::runtime_error(path + ": cannot write JPEG");
  }
}

void write_cifar10(const std::string& path, const torch::Tensor& images, const torch::Tensor& labels) {
  const torch::Tensor pixels = images.contiguous();
  std::ofstream out(path, std::ios::binary);
  for (int64_t i = 0; i < pixels.size(0); ++i) {
    const char label = static_cast<char>(labels[i].item<int64_t>());
    out.write(&label, 1);
    out.write(reinterpret_cast<const char*>(pixels[i].data_ptr<uint8_t>()), 3 * 32 * 32);
  }
  if (!out) throw std::runtime_error(path + ": cannot write");
}

}  // namespace dcgan::testing
