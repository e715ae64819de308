#include "dcgan/data/image_set.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "dcgan/error.h"
#include "testing/svhn_writer.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

using testing::TempDir;
using testing::write_text;

std::string big_endian(uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}

// An uncompressed IDX file of `count` 28x28 images, image n filled with the value n + 1.
std::string idx_file(uint32_t count) {
  std::string bytes = big_endian(0x00000803) + big_endian(count) + big_endian(28) + big_endian(28);
  for (uint32_t n = 0; n < count; ++n) bytes += std::string(784, static_cast<char>(n + 1));
  return bytes;
}

// An SVHN-style file of `count` images, image n filled with n + 1, labelled (n % 10) + 1.
void write_svhn(const std::string& path, int64_t count) {
  const torch::Tensor fill = torch::arange(1, count + 1, torch::kLong).to(torch::kUInt8);
  testing::write_svhn_mat(path, fill.view({count, 1, 1, 1}).expand({count, 3, 32, 32}),
                          torch::arange(count, torch::kLong) % 10 + 1,
                          testing::MatVersion::kV5Compressed);
}

std::string load_message(const DataOptions& options) {
  try {
    load_data(options);
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no error)";
}

ImageSet numbered_set(int64_t count, bool with_labels) {
  ImageSet set;
  set.images = torch::arange(count, torch::kUInt8)
                   .view({count, 1, 1, 1})
                   .expand({count, 1, 2, 2})
                   .contiguous();
  if (with_labels) set.labels = torch::arange(count, torch::kInt64) % 10;
  return set;
}

TEST(SplitValidation, TestGetsTheFirstRoundedShare) {
  struct Case {
    int64_t size;
    double val_fraction;
    int64_t test_size;
  };
  const Case cases[] = {
      {10, 0.5, 5},        {7, 0.5, 4},                  // round(3.5) = 4
      {10, 0.0, 10},       {10, 1.0, 0}, {10, 0.25, 8},  // round(7.5) = 8
      {26032, 0.5, 13016},                               // the SVHN test file
  };
  for (const Case& c : cases) {
    for (bool with_labels : {true, false}) {
      const ImageSet set = numbered_set(c.size, with_labels);
      const auto [test, validation] = split_validation(set, c.val_fraction);
      ASSERT_EQ(test.size(), c.test_size) << c.size << " " << c.val_fraction;
      ASSERT_EQ(validation.size(), c.size - c.test_size) << c.size << " " << c.val_fraction;
      EXPECT_TRUE(test.images.equal(set.images.narrow(0, 0, c.test_size)));
      EXPECT_TRUE(validation.images.equal(set.images.narrow(0, c.test_size, c.size - c.test_size)));
      EXPECT_EQ(test.labels.defined(), with_labels);
      if (with_labels) {
        EXPECT_TRUE(test.labels.equal(set.labels.narrow(0, 0, c.test_size)));
        EXPECT_TRUE(
            validation.labels.equal(set.labels.narrow(0, c.test_size, c.size - c.test_size)));
      }
    }
  }
}

TEST(SplitValidation, RejectsFractionsOutsideZeroToOne) {
  for (double fraction : {-0.1, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    EXPECT_THROW(split_validation(numbered_set(4, true), fraction), std::invalid_argument)
        << fraction;
  }
}

TEST(ModelRange, MapsEveryPixelValueLinearlyOntoMinusOneToOne) {
  const torch::Tensor pixels =
      torch::arange(256, torch::kInt32).to(torch::kUInt8).view({1, 1, 16, 16});
  const torch::Tensor model = to_model_range(pixels, torch::kCPU);

  ASSERT_EQ(model.scalar_type(), torch::kFloat32);
  ASSERT_EQ(model.sizes(), pixels.sizes());
  const float* values = model.data_ptr<float>();
  EXPECT_EQ(values[0], -1.0f);
  EXPECT_EQ(values[255], 1.0f);
  for (int v = 0; v < 256; ++v) {
    EXPECT_EQ(values[v], static_cast<float>(v) / 127.5f - 1.0f) << v;
  }
}

TEST(ModelRange, RejectsNonUint8Input) {
  EXPECT_THROW(to_model_range(torch::zeros({1, 1, 2, 2}), torch::kCPU), std::invalid_argument);
}

TEST(PixelRange, RoundTripsEveryValueExactly) {
  const torch::Tensor pixels =
      torch::arange(256, torch::kInt32).to(torch::kUInt8).view({1, 1, 16, 16});
  const torch::Tensor back = to_pixel_range(to_model_range(pixels, torch::kCPU));

  ASSERT_EQ(back.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(back.device().is_cpu());
  EXPECT_TRUE(back.equal(pixels));
}

TEST(PixelRange, RoundsAndClamps) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  struct Case {
    float model;
    int pixel;
  };
  const Case cases[] = {
      {-1.0f, 0},
      {1.0f, 255},
      {0.0f, 128},  // 127.5 rounds to even
      {-1.0f + 0.4f / 127.5f, 0},
      {-1.0f + 0.6f / 127.5f, 1},
      {-3.0f, 0},
      {2.0f, 255},
      {-inf, 0},
      {inf, 255},
      {nan, 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(to_pixel_range(torch::full({1}, c.model)).item<uint8_t>(), c.pixel) << c.model;
  }
}

TEST(ModelRange, CopiesUint8ToCudaFirst) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Tensor pixels =
      torch::arange(256, torch::kInt32).to(torch::kUInt8).view({1, 1, 16, 16});
  const torch::Tensor model = to_model_range(pixels, torch::kCUDA);
  EXPECT_TRUE(model.is_cuda());
  EXPECT_TRUE(to_pixel_range(model).equal(pixels));
}

TEST(LoadData, RequiresATrainingFileAndAKnownFormat) {
  TempDir dir;
  write_text(dir.file("train"), idx_file(2));
  DataOptions no_train;
  DataOptions bad_format;
  bad_format.format = "png";
  bad_format.train = dir.file("train");
  EXPECT_EQ(load_message(no_train), "data.train: no training file given");
  EXPECT_EQ(load_message(bad_format), "data.format: svhn_mat, idx, cifar10 or folder expected, found 'png'");
}

TEST(LoadData, SplitsTheTestFileAndLimitsOnlyTraining) {
  TempDir dir;
  write_text(dir.file("train"), idx_file(6));
  write_text(dir.file("test"), idx_file(5));
  DataOptions options;
  options.format = "idx";
  options.train = dir.file("train");
  options.test = dir.file("test");
  options.val_fraction = 0.4;
  options.limit = 4;

  const DataSplits splits = load_data(options);
  EXPECT_EQ(splits.train.size(), 4);
  EXPECT_EQ(splits.train.channels(), 1);
  ASSERT_EQ(splits.test.size(), 3);
  ASSERT_EQ(splits.validation.size(), 2);
  EXPECT_EQ(splits.test.images[0][0][16][16].item<uint8_t>(), 1);
  EXPECT_EQ(splits.validation.images[0][0][16][16].item<uint8_t>(), 4);  // image 3 of the file
}

TEST(LoadData, WithoutATestFileLeavesTestAndValidationEmpty) {
  DCGAN_SKIP_WITHOUT_MATIO();
  TempDir dir;
  write_svhn(dir.file("train.mat"), 3);
  DataOptions options;
  options.train = dir.file("train.mat");  // format defaults to svhn_mat

  const DataSplits splits = load_data(options);
  ASSERT_EQ(splits.train.size(), 3);
  EXPECT_EQ(splits.train.channels(), 3);
  EXPECT_TRUE(splits.train.labels.equal(torch::tensor({1, 2, 3}, torch::kInt64)));
  EXPECT_EQ(splits.train.images[2][1][7][9].item<uint8_t>(), 3);
  EXPECT_EQ(splits.test.size(), 0);
  EXPECT_EQ(splits.validation.size(), 0);
}

TEST(LoadData, PassesLoaderErrorsThrough) {
  DCGAN_SKIP_WITHOUT_MATIO();
  TempDir dir;
  DataOptions options;
  options.train = dir.file("absent.mat");
  EXPECT_EQ(load_message(options),
            dir.file("absent.mat") + ": cannot open (missing?), No such file or directory");
}

}  // namespace
}  // namespace dcgan
