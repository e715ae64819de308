#include "testing/svhn_writer.h"

#if DCGAN_WITH_MATIO
#include <matio.h>
#endif

#include <stdexcept>
#include <vector>

namespace dcgan::testing {

const char* mat_version_name(MatVersion version) {
  switch (version) {
    case MatVersion::kV5: return "v5";
    case MatVersion::kV5Compressed: return "v5_compressed";
    case MatVersion::kV73: return "v73";
  }
  return "?";
}

void write_svhn_mat(const std::string& path, const torch::Tensor& images, const torch::Tensor& labels,
                    MatVersion version) {
#if !DCGAN_WITH_MATIO
  (void)images;
  (void)labels;
  (void)version;
  throw std::runtime_error("cannot write " + path + ": this build has no matio");
#else
  const int64_t n = images.size(0);
  // (N, C, H, W) -> MATLAB column-major (H, W, C, N): C-order memory of (N, C, W, H).
  auto x = images.permute({0, 1, 3, 2}).contiguous();
  auto y = labels.to(torch::kDouble).clone();
  y.masked_fill_(y == 0, 10.0);
  y = y.contiguous();
  mat_t* mat = Mat_CreateVer(path.c_str(), nullptr,
                             version == MatVersion::kV73 ? MAT_FT_MAT73 : MAT_FT_MAT5);
  if (mat == nullptr) throw std::runtime_error("Mat_CreateVer failed: " + path);
  const matio_compression compression =
      version == MatVersion::kV5Compressed ? MAT_COMPRESSION_ZLIB : MAT_COMPRESSION_NONE;
  size_t x_dims[4] = {32, 32, 3, static_cast<size_t>(n)};
  size_t y_dims[2] = {static_cast<size_t>(n), 1};
  matvar_t* xv = Mat_VarCreate("X", MAT_C_UINT8, MAT_T_UINT8, 4, x_dims, x.data_ptr<uint8_t>(), 0);
  matvar_t* yv = Mat_VarCreate("y", MAT_C_DOUBLE, MAT_T_DOUBLE, 2, y_dims, y.data_ptr<double>(), 0);
  const bool ok = xv != nullptr && yv != nullptr && Mat_VarWrite(mat, xv, compression) == 0 &&
                  Mat_VarWrite(mat, yv, compression) == 0;
  Mat_VarFree(xv);
  Mat_VarFree(yv);
  Mat_Close(mat);
  if (!ok) throw std::runtime_error("writing " + path + " failed");
#endif
}

void write_random_svhn_mat(const std::string& path, int64_t n, uint64_t seed, MatVersion version) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  // Low-resolution noise upsampled: image-like structure rather than white noise.
  auto coarse = at::empty({n, 3, 4, 4}, torch::kFloat).uniform_(0, 255, gen);
  auto images = torch::nn::functional::interpolate(
                    coarse, torch::nn::functional::InterpolateFuncOptions()
                                .size(std::vector<int64_t>{32, 32})
                                .mode(torch::kBilinear)
                                .align_corners(false))
                    .round()
                    .clamp(0, 255)
                    .to(torch::kUInt8);
  write_svhn_mat(path, images, torch::arange(n, torch::kLong) % 10, version);
}

}  // namespace dcgan::testing
