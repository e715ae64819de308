#include "testing/idx_writer.h"

#include <fstream>
#include <stdexcept>

namespace dcgan::testing {
namespace {

std::string big_endian(uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}

void write_bytes(const std::string& path, const std::string& header, const torch::Tensor& data) {
  std::ofstream out(path, std::ios::binary);
  const torch::Tensor bytes = data.to(torch::kUInt8).contiguous();
  out << header;
  out.write(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()), bytes.numel());
  if (!out) throw std::runtime_error(path + ": cannot write");
}

}  // namespace

void write_idx_images(const std::string& path, const torch::Tensor& images) {
  write_bytes(path,
              big_endian(0x00000803) + big_endian(static_cast<uint32_t>(images.size(0))) +
                  big_endian(static_cast<uint32_t>(images.size(1))) +
                  big_endian(static_cast<uint32_t>(images.size(2))),
              images);
}

void write_idx_labels(const std::string& path, const torch::Tensor& labels) {
  write_bytes(path, big_endian(0x00000801) + big_endian(static_cast<uint32_t>(labels.size(0))),
              labels);
}

std::string write_labelled_idx(const std::string& dir, int64_t train, int64_t test,
                               int64_t classes, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto make = [&](const std::string& prefix, int64_t n) {
    auto images = torch::randint(0, 50, {n, 28, 28}, gen, torch::kInt64).to(torch::kUInt8);
    auto labels = torch::randint(0, classes, {n}, gen, torch::kInt64);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = labels[i].item<int64_t>();
      const int64_t side = 4 + 3 * k, start = (28 - side) / 2;  // a centred square, larger per class
      images[i].narrow(0, start, side).narrow(1, start, side).fill_(220);
    }
    write_idx_images(dir + "/" + prefix + "-images-idx3-ubyte", images);
    write_idx_labels(dir + "/" + prefix + "-labels-idx1-ubyte", labels);
  };
  make("train", train);
  if (test > 0) make("t10k", test);
  return dir + "/train-images-idx3-ubyte";
}

}  // namespace dcgan::testing
