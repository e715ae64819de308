// Writes SVHN-format .mat files at test time through matio's own writer.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace dcgan::testing {

// False in a build without matio (cmake/Dependencies.cmake): it neither writes nor reads .mat
// files, so the tests that need one skip, saying why.
constexpr bool kHaveMatio = DCGAN_WITH_MATIO;
#define DCGAN_SKIP_WITHOUT_MATIO() \
  if (!::dcgan::testing::kHaveMatio) GTEST_SKIP() << "this build has no matio: no .mat files"

enum class MatVersion { kV5, kV5Compressed, kV73 };
const char* mat_version_name(MatVersion version);

// Writes `images` (N, 3, 32, 32) uint8 as X (32x32x3xN, X(row, col, c, n) = images[n][c][row][col])
// and `labels` (N) int64 in 0..9 as y (Nx1 double, digit 0 stored as 10). Throws
// std::runtime_error on failure, and always in a build without matio.
void write_svhn_mat(const std::string& path, const torch::Tensor& images, const torch::Tensor& labels,
                    MatVersion version);

// N images with smooth random content (seeded), and labels n % 10.
void write_random_svhn_mat(const std::string& path, int64_t n, uint64_t seed,
                           MatVersion version = MatVersion::kV5);

}  // namespace dcgan::testing
