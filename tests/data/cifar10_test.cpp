#include "dcgan/data/cifar10.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>

#include "dcgan/error.h"
#include "testing/image_writer.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

using testing::TempDir;

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const DataError& e) {
    return e.what();
  }
  return "<no error>";
}

// `count` images whose red plane counts 0, 1, .. from the top left (mod 256) plus the image index,
// green is 100 + index and blue 200; labels index % 10.
torch::Tensor pattern_images(int64_t count, int64_t first) {
  torch::Tensor images = torch::empty({count, 3, 32, 32}, torch::kUInt8);
  for (int64_t i = 0; i < count; ++i) {
    images[i][0].copy_((torch::arange(1024).view({32, 32}) + first + i).remainder(256));
    images[i][1].fill_(100 + first + i);
    images[i][2].fill_(200);
  }
  return images;
}

torch::Tensor pattern_labels(int64_t count, int64_t first) {
  return (torch::arange(count, torch::kLong) + first).remainder(10);
}

TEST(Cifar10, ReadsAFolderOfBatchesInNameOrderWithPlanesAndRowsInPlace) {
  TempDir dir;
  testing::write_cifar10(dir.file("data_batch_2.bin"), pattern_images(2, 3), pattern_labels(2, 3));
  testing::write_cifar10(dir.file("data_batch_1.bin"), pattern_images(3, 0), pattern_labels(3, 0));
  testing::write_cifar10(dir.file("test_batch.bin"), pattern_images(4, 50), pattern_labels(4, 50));
  const ImageSet set = load_cifar10(dir.path().string());
  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{5, 3, 32, 32}));
  EXPECT_TRUE(torch::equal(set.images, pattern_images(5, 0)));
  EXPECT_TRUE(torch::equal(set.labels, pattern_labels(5, 0)));

  const ImageSet test = load_cifar10(dir.file("test_batch.bin"));
  EXPECT_TRUE(torch::equal(test.images, pattern_images(4, 50)));
  EXPECT_TRUE(torch::equal(test.labels, pattern_labels(4, 50)));
}

TEST(Cifar10, LimitKeepsTheFirstRecordsAcrossFiles) {
  TempDir dir;
  testing::write_cifar10(dir.file("data_batch_1.bin"), pattern_images(3, 0), pattern_labels(3, 0));
  testing::write_cifar10(dir.file("data_batch_2.bin"), pattern_images(3, 3), pattern_labels(3, 3));
  const ImageSet set = load_cifar10(dir.path().string(), 4);
  EXPECT_TRUE(torch::equal(set.images, pattern_images(4, 0)));
  EXPECT_TRUE(torch::equal(set.labels, pattern_labels(4, 0)));
}

TEST(Cifar10, RefusesMalformedFilesWithOneLine) {
  TempDir dir;
  const std::string short_file = dir.file("short.bin");
  testing::write_text(short_file, std::string(3073 + 10, '\1'));
  EXPECT_EQ(error_of([&] { load_cifar10(short_file); }),
            short_file + ": CIFAR-10 records of 3073 bytes expected, found a file of 3083 bytes "
                         "(not a whole, non-zero number of records)");

  const std::string bad_label = dir.file("label.bin");
  torch::Tensor labels = pattern_labels(2, 0);
  labels[1] = 12;
  testing::write_cifar10(bad_label, pattern_images(2, 0), labels);
  EXPECT_EQ(error_of([&] { load_cifar10(bad_label); }),
            bad_label + ": a label in 0..9 expected, found 12 in record 1 (not a CIFAR-10 file? "
                        "CIFAR-100's records are 3074 bytes)");

  const std::string empty = dir.file("empty.bin");
  testing::write_text(empty, "");
  EXPECT_NE(error_of([&] { load_cifar10(empty); }).find("not a whole, non-zero number"),
            std::string::npos);

  std::filesystem::create_directory(dir.file("none"));
  EXPECT_EQ(error_of([&] { load_cifar10(dir.file("none")); }),
            dir.file("none") + ": a CIFAR-10 folder with data_batch_*.bin files expected, found "
                               "none (for the test set name test_batch.bin itself)");
  EXPECT_EQ(error_of([&] { load_cifar10(dir.file("missing.bin")); }),
            dir.file("missing.bin") + ": cannot open (missing?)");
}

TEST(Cifar10, LoadDataResizesToTheModelSizeAndSplitsTheTestFile) {
  TempDir dir;
  testing::write_cifar10(dir.file("data_batch_1.bin"), pattern_images(3, 0), pattern_labels(3, 0));
  testing::write_cifar10(dir.file("test_batch.bin"), pattern_images(4, 50), pattern_labels(4, 50));
  DataOptions options;
  options.format = "cifar10";
  options.train = dir.path().string();
  options.test = dir.file("test_batch.bin");
  LoadContext context;
  context.image_size = 64;
  std::string said;
  context.log = [&said](const std::string& line) { said += line + "\n"; };
  const DataSplits splits = load_data(options, context);
  ASSERT_EQ(splits.train.images.sizes(), (std::vector<int64_t>{3, 3, 64, 64}));
  EXPECT_EQ(splits.test.size() + splits.validation.size(), 4);
  // Constant planes stay constant through the filter.
  EXPECT_TRUE(torch::all(splits.train.images[1][1] == 101).item<bool>());
  EXPECT_NE(said.find("resizing 3 images from 32x32 to 64x64"), std::string::npos) << said;

  options.channels = 1;
  context.image_size = 32;
  const DataSplits grey = load_data(options, context);
  ASSERT_EQ(grey.train.images.sizes(), (std::vector<int64_t>{3, 1, 32, 32}));
}

}  // namespace
}  // namespace dcgan
