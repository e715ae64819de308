#include "dcgan/data/idx.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "dcgan/error.h"
#include "testing/idx_writer.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

using testing::read_text;
using testing::TempDir;
using testing::write_text;

const char* const kFashionMnist = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";

uint8_t pixel(int64_t n, int64_t row, int64_t col) {
  return static_cast<uint8_t>(1 + (7 * n + 3 * row + 5 * col) % 250);  // never 0, the padding
}

std::string big_endian(uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}

std::string idx_header(uint32_t magic, uint32_t count, uint32_t rows, uint32_t cols) {
  return big_endian(magic) + big_endian(count) + big_endian(rows) + big_endian(cols);
}

std::string idx_file(uint32_t count, uint32_t side) {
  std::string bytes = idx_header(0x00000803, count, side, side);
  for (uint32_t n = 0; n < count; ++n)
    for (uint32_t row = 0; row < side; ++row)
      for (uint32_t col = 0; col < side; ++col) bytes += static_cast<char>(pixel(n, row, col));
  return bytes;
}

void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  if (file == nullptr) throw std::runtime_error("gzopen failed: " + path);
  const int written =
      bytes.empty() ? 0 : gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  if (gzclose(file) != Z_OK || written != static_cast<int>(bytes.size())) {
    throw std::runtime_error("gzwrite failed: " + path);
  }
}

std::string message_of(const std::string& path, int64_t limit = 0) {
  try {
    load_idx_images(path, limit);
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no error)";
}

class IdxTest : public ::testing::TestWithParam<bool> {
 protected:
  // Writes `bytes` gzip-compressed (name ending in .gz) or plain, as the parameter says.
  std::string write(const std::string& stem, const std::string& bytes) {
    if (GetParam()) {
      const std::string path = dir_.file(stem + ".gz");
      write_gzip(path, bytes);
      return path;
    }
    const std::string path = dir_.file(stem);
    write_text(path, bytes);
    return path;
  }
  TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(PlainAndGzip, IdxTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "gzip" : "plain"; });

TEST_P(IdxTest, Pads28x28ImagesWithTwoZeroPixelsOnEachSide) {
  const ImageSet set = load_idx_images(write("images-idx3-ubyte", idx_file(3, 28)));

  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{3, 1, 32, 32}));
  EXPECT_EQ(set.images.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(set.images.is_contiguous());
  EXPECT_FALSE(set.labels.defined());
  auto images = set.images.accessor<uint8_t, 4>();
  int64_t wrong = 0;
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t row = 0; row < 32; ++row)
      for (int64_t col = 0; col < 32; ++col) {
        const bool inside = row >= 2 && row < 30 && col >= 2 && col < 30;
        wrong += images[n][0][row][col] != (inside ? pixel(n, row - 2, col - 2) : 0);
      }
  EXPECT_EQ(wrong, 0);
}

TEST_P(IdxTest, Keeps32x32ImagesAsTheyAre) {
  const ImageSet set = load_idx_images(write("images-idx3-ubyte", idx_file(2, 32)));

  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{2, 1, 32, 32}));
  auto images = set.images.accessor<uint8_t, 4>();
  int64_t wrong = 0;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t row = 0; row < 32; ++row)
      for (int64_t col = 0; col < 32; ++col) wrong += images[n][0][row][col] != pixel(n, row, col);
  EXPECT_EQ(wrong, 0);
}

TEST_P(IdxTest, LimitKeepsTheFirstImages) {
  const std::string path = write("images-idx3-ubyte", idx_file(5, 28));
  const ImageSet all = load_idx_images(path);

  const ImageSet two = load_idx_images(path, 2);
  ASSERT_EQ(two.size(), 2);
  EXPECT_TRUE(two.images.equal(all.images.narrow(0, 0, 2)));
  EXPECT_EQ(load_idx_images(path, 9).size(), 5);
}

// A chunked reader must not lose or repeat images across its chunk boundaries.
TEST_P(IdxTest, ReadsMoreImagesThanOneChunk) {
  const int64_t count = 4096 * 2 + 3;
  const ImageSet set = load_idx_images(write("images-idx3-ubyte", idx_file(count, 28)));

  ASSERT_EQ(set.size(), count);
  for (int64_t n : {int64_t{0}, int64_t{4095}, int64_t{4096}, int64_t{8191}, count - 1}) {
    EXPECT_EQ(set.images[n][0][2 + 27][2 + 13].item<uint8_t>(), pixel(n, 27, 13)) << n;
  }
}

TEST_P(IdxTest, RejectsMalformedFiles) {
  const std::string valid = idx_file(10, 28);
  struct Case {
    const char* name;
    std::string bytes;
    std::string expected;  // after "<path>: "
  };
  const Case cases[] = {
      {"empty", "", "an IDX header of 16 bytes expected, found 0 bytes"},
      {"header short", valid.substr(0, 10), "an IDX header of 16 bytes expected, found 10 bytes"},
      {"label file", idx_header(0x00000801, 10, 28, 28),
       "IDX magic 0x00000803 (uint8 images, 3 dimensions) expected, found 0x00000801 (a label "
       "file?)"},
      {"text", std::string("P5 28 28 255\n") + std::string(100, 'x'),
       "IDX magic 0x00000803 (uint8 images, 3 dimensions) expected, found 0x50352032"},
      {"27x28", idx_header(0x00000803, 1, 27, 28) + std::string(27 * 28, '\1'),
       "images of 28x28 or 32x32 expected, found 27x28"},
      {"no images", idx_header(0x00000803, 0, 28, 28), "at least one image expected, found 0"},
      {"data short", valid.substr(0, 16 + 784 * 5 + 100),
       "7840 bytes of pixels expected (10 images of 28x28), found 4020"},
      {"data long", valid + "extra",
       "end of file expected after 10 images of 28x28, found more data"},
  };
  for (const Case& c : cases) {
    const std::string path = write("bad", c.bytes);
    EXPECT_EQ(message_of(path), path + ": " + c.expected) << c.name;
  }
}

// A corrupt count must not size the allocation: 2^32 - 1 images padded to 32x32 are 4.4 TB, and
// the loader asked LibTorch for them before reading a pixel (found by fuzz/idx_fuzzer.cpp). A
// plain file must hold the images it promises; gzip data can inflate at most 1032-fold.
TEST_P(IdxTest, RefusesACountTheFileCannotHoldBeforeAllocating) {
  const std::string path =
      write("huge", idx_header(0x00000803, 0xffffffffu, 28, 28) + std::string(2 * 784, '\1'));
  const std::string expected =
      path + ": 3367254359280 bytes of pixels expected (4294967295 images of 28x28), found ";
  const auto size = std::filesystem::file_size(path);
  const std::string found = GetParam() ? "a gzip file of " + std::to_string(size) +
                                             " bytes, which inflates to at most " +
                                             std::to_string(size * 1032) + " (header corrupt?)"
                                       : "1568";
  EXPECT_EQ(message_of(path), expected + found);
  // A limit the file can satisfy still reads, as before; one it cannot is a truncated file.
  EXPECT_EQ(load_idx_images(path, 2).size(), 2);
  EXPECT_EQ(message_of(path, 3), expected + "1568");
}

TEST(Idx, RejectsMissingFilesAndDirectories) {
  TempDir dir;
  EXPECT_EQ(message_of(dir.file("missing.gz")),
            dir.file("missing.gz") + ": cannot open (missing?), No such file or directory");
  EXPECT_EQ(message_of(dir.path().string()),
            dir.path().string() + ": an IDX file expected, found a directory");
}

std::string random_idx_file(uint32_t count) {
  std::string bytes = idx_header(0x00000803, count, 28, 28);
  std::mt19937 generator(3);
  for (uint32_t i = 0; i < count * 784; ++i) bytes += static_cast<char>(generator());
  return bytes;
}

TEST(Idx, RejectsATruncatedGzipStream) {
  TempDir dir;
  const std::string path = dir.file("cut.gz");
  write_gzip(path, random_idx_file(20));
  const std::string bytes = read_text(path);
  write_text(path, bytes.substr(0, bytes.size() / 2));

  EXPECT_EQ(message_of(path), path +
                                  ": a complete gzip stream expected, found it truncated "
                                  "(zlib: unexpected end of file)");
}

// Random pixels compress to stored deflate blocks: flipped bytes inflate without complaint and
// only the gzip trailer's CRC-32 tells.
TEST(Idx, RejectsCorruptGzipDataByItsChecksum) {
  TempDir dir;
  const std::string path = dir.file("flipped.gz");
  write_gzip(path, random_idx_file(20));
  std::string bytes = read_text(path);
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 16; ++i) bytes[i] ^= 0x5a;
  write_text(path, bytes);

  EXPECT_EQ(message_of(path),
            path + ": valid gzip data expected, found corrupt data (zlib: incorrect data check)");
}

// Compressible pixels: flipped bytes break the Huffman-coded stream itself.
TEST(Idx, RejectsCorruptCompressedGzipData) {
  TempDir dir;
  const std::string path = dir.file("flipped.gz");
  write_gzip(path, idx_file(200, 28));
  std::string bytes = read_text(path);
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 16; ++i) bytes[i] ^= 0x5a;
  write_text(path, bytes);

  const std::string message = message_of(path);
  const std::string prefix = path + ": valid gzip data expected, found corrupt data (zlib: ";
  EXPECT_EQ(message.substr(0, prefix.size()), prefix) << message;
}

TEST(Idx, LoadsRealFashionMnist) {
  if (!std::filesystem::exists(kFashionMnist)) GTEST_SKIP() << kFashionMnist << " not installed";
  const ImageSet set = load_idx_images(kFashionMnist, 10);

  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{10, 1, 32, 32}));
  torch::Tensor border = torch::ones({32, 32}, torch::kBool);
  border.narrow(0, 2, 28).narrow(1, 2, 28).fill_(false);
  EXPECT_EQ(
      set.images.masked_select(border.expand({10, 1, 32, 32})).count_nonzero().item<int64_t>(), 0);
  EXPECT_GT(set.images.count_nonzero().item<int64_t>(), 1000);  // real pictures, not zeros

  // Its labels lie beside it under the MNIST names, and load_data picks them up.
  DataOptions options;
  options.format = "idx";
  options.train = kFashionMnist;
  options.limit = 1000;
  const ImageSet labelled = load_data(options).train;
  ASSERT_EQ(labelled.labels.sizes(), (std::vector<int64_t>{1000}));
  EXPECT_EQ(labelled.labels.min().item<int64_t>(), 0);
  EXPECT_EQ(labelled.labels.max().item<int64_t>(), 9);
  EXPECT_EQ(labelled.labels[0].item<int64_t>(), 9);  // the first training image is an ankle boot
}

TEST(IdxLabels, AreFoundBesideTheImagesAndMustMatchTheirCount) {
  testing::TempDir dir;
  const std::string images = testing::write_labelled_idx(dir.path().string(), 20, 0, 4, 1);
  EXPECT_EQ(idx_labels_beside(images), dir.file("train-labels-idx1-ubyte"));
  EXPECT_EQ(idx_labels_beside(dir.file("other.idx")), "");
  const torch::Tensor labels = load_idx_labels(dir.file("train-labels-idx1-ubyte"));
  ASSERT_EQ(labels.numel(), 20);
  EXPECT_TRUE(torch::equal(load_idx_labels(dir.file("train-labels-idx1-ubyte"), 5),
                           labels.narrow(0, 0, 5)));
  DataOptions options;
  options.format = "idx";
  options.train = images;
  EXPECT_TRUE(torch::equal(load_data(options).train.labels, labels));

  // A label file with another count, an image file given as labels.
  testing::write_idx_labels(dir.file("train-labels-idx1-ubyte"), torch::zeros({19}, torch::kLong));
  try {
    load_data(options);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_STREQ(e.what(), (dir.file("train-labels-idx1-ubyte") + ": one label per image of " +
                            images + " expected (20), found 19")
                               .c_str());
  }
  try {
    load_idx_labels(images);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(images + ": IDX magic 0x00000801"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace dcgan
