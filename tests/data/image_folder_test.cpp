#include "dcgan/data/image_folder.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "dcgan/error.h"
#include "testing/image_writer.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const DataError& e) {
    return e.what();
  }
  return "<no error>";
}

torch::Tensor constant(int64_t channels, int64_t height, int64_t width, int value) {
  return torch::full({channels, height, width}, value, torch::kUInt8);
}

struct Captured {
  std::string text;
  std::function<void(const std::string&)> sink() {
    return [this](const std::string& line) { text += line + "\n"; };
  }
};

FolderOptions options_for(int64_t size, int64_t channels = 3) {
  FolderOptions options;
  options.image_size = size;
  options.channels = channels;
  options.threads = 2;
  return options;
}

TEST(ImageFolder, ReadsRecursivelyInPathOrderWithSubfolderLabels) {
  TempDir dir;
  fs::create_directories(dir.path() / "cats");
  fs::create_directories(dir.path() / "dogs" / "small");
  testing::write_png_file(dir.file("dogs/b.png"), constant(3, 32, 32, 30));
  testing::write_png_file(dir.file("cats/z.png"), constant(3, 32, 32, 20));
  testing::write_png_file(dir.file("cats/a.PNG"), constant(3, 32, 32, 10));
  testing::write_png_file(dir.file("dogs/small/c.png"), constant(1, 32, 32, 40));  // grey -> RGB
  testing::write_png_file(dir.file("dogs/.hidden.png"), constant(3, 32, 32, 99));
  const ImageSet set = load_image_folder(dir.path().string(), options_for(32));
  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{4, 3, 32, 32}));
  const int expected[] = {10, 20, 30, 40};  // cats/a, cats/z, dogs/b, dogs/small/c
  for (int64_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(torch::all(set.images[i] == expected[i]).item<bool>()) << "image " << i;
  }
  ASSERT_TRUE(set.labels.defined());
  EXPECT_TRUE(torch::equal(set.labels, torch::tensor({0, 0, 1, 1}, torch::kLong)));
}

TEST(ImageFolder, FlatFolderHasNoLabels) {
  TempDir dir;
  testing::write_png_file(dir.file("one.png"), constant(3, 32, 32, 1));
  testing::write_jpeg_file(dir.file("two.jpg"), constant(3, 32, 32, 128));
  const ImageSet set = load_image_folder(dir.path().string(), options_for(32));
  EXPECT_EQ(set.size(), 2);
  EXPECT_FALSE(set.labels.defined());
  // JPEG is lossy, but a flat grey survives within a step or two.
  EXPECT_LE((set.images[1].to(torch::kInt) - 128).abs().max().item<int>(), 2);
}

TEST(ImageFolder, CropsTheCentredSquare) {
  TempDir dir;
  // 64 wide, 32 high: the centred square is columns 16..47, which are 200; the rest is 0.
  torch::Tensor wide = torch::zeros({3, 32, 64}, torch::kUInt8);
  wide.narrow(2, 16, 32).fill_(200);
  testing::write_png_file(dir.file("wide.png"), wide);
  // 32 wide, 64 high: rows 16..47.
  torch::Tensor tall = torch::zeros({3, 64, 32}, torch::kUInt8);
  tall.narrow(1, 16, 32).fill_(100);
  testing::write_png_file(dir.file("x_tall.png"), tall);
  const ImageSet set = load_image_folder(dir.path().string(), options_for(32));
  EXPECT_TRUE(torch::all(set.images[0] == 200).item<bool>());
  EXPECT_TRUE(torch::all(set.images[1] == 100).item<bool>());
}

TEST(ImageFolder, ResizesWithAFilterNotNearestNeighbour) {
  TempDir dir;
  // A 1-pixel checkerboard of 0 and 254 at 128x128: any nearest-neighbour pick gives 0 or 254,
  // a filter that averages gives 127 everywhere.
  torch::Tensor board = ((torch::arange(128).view({128, 1}) + torch::arange(128).view({1, 128}))
                             .remainder(2) * 254).to(torch::kUInt8);
  testing::write_png_file(dir.file("board.png"), board.unsqueeze(0).expand({3, 128, 128}).contiguous());
  const ImageSet set = load_image_folder(dir.path().string(), options_for(64));
  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{1, 3, 64, 64}));
  const torch::Tensor inner = set.images[0].narrow(1, 2, 60).narrow(2, 2, 60).to(torch::kInt);
  EXPECT_LE((inner - 127).abs().max().item<int>(), 1);
}

TEST(ImageFolder, ConvertsToGreyWithLuma) {
  TempDir dir;
  torch::Tensor red = torch::zeros({3, 32, 32}, torch::kUInt8);
  red[0].fill_(255);
  testing::write_png_file(dir.file("red.png"), red);
  const ImageSet set = load_image_folder(dir.path().string(), options_for(32, 1));
  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{1, 1, 32, 32}));
  EXPECT_NEAR(set.images[0][0][0][0].item<int>(), 76, 1);  // 0.299 * 255
}

TEST(ImageFolder, DecodesSixteenBitAndPalettePngs) {
  const std::string files = DCGAN_DATA_TEST_FILES;
  TempDir dir;
  fs::copy_file(files + "/grey16.png", dir.file("grey16.png"));
  fs::copy_file(files + "/palette.png", dir.file("palette.png"));
  const ImageSet set = load_image_folder(dir.path().string(), options_for(8));
  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{2, 3, 8, 8}));
  // grey16.png: 8-bit value 4 * i at pixel i.
  EXPECT_TRUE(torch::equal(set.images[0][1].flatten(),
                           (torch::arange(64) * 4).to(torch::kUInt8)));
  // palette.png: black, red, green in turn.
  EXPECT_EQ(set.images[1][0].flatten()[1].item<int>(), 255);
  EXPECT_EQ(set.images[1][1].flatten()[2].item<int>(), 255);
  EXPECT_EQ(set.images[1][2].flatten()[1].item<int>(), 0);
}

TEST(ImageFolder, SkipsWhatDoesNotDecodeAndSaysSo) {
  TempDir dir;
  testing::write_png_file(dir.file("a.png"), constant(3, 32, 32, 5));
  testing::write_png_file(dir.file("d.png"), constant(3, 32, 32, 6));
  testing::write_text(dir.file("b.jpg"), "this is not a JPEG");
  testing::write_text(dir.file("c.txt"), "notes");
  testing::write_text(dir.file("e.png"), "");
  Captured log;
  FolderOptions options = options_for(32);
  options.log = log.sink();
  const ImageSet set = load_image_folder(dir.path().string(), options);
  ASSERT_EQ(set.size(), 2);
  EXPECT_TRUE(torch::all(set.images[0] == 5).item<bool>());
  EXPECT_TRUE(torch::all(set.images[1] == 6).item<bool>());
  EXPECT_NE(log.text.find("2 images of 32x32"), std::string::npos) << log.text;
  EXPECT_NE(log.text.find("skipped 3 files (1 not images, 2 unreadable)"), std::string::npos)
      << log.text;
  EXPECT_NE(log.text.find("skipped " + dir.file("b.jpg") + ": a PNG, JPEG, BMP, GIF or TGA image "
                          "expected, found data that does not decode"),
            std::string::npos)
      << log.text;

  options.strict = true;
  EXPECT_EQ(error_of([&] { load_image_folder(dir.path().string(), options); }),
            dir.file("c.txt") + ": an image file (.png, .jpg, .jpeg, .bmp, .gif, .tga) expected, "
                                "found another kind of file (data.strict is on)");
  fs::remove(dir.file("c.txt"));
  const std::string error = error_of([&] { load_image_folder(dir.path().string(), options); });
  EXPECT_EQ(error.rfind(dir.file("b.jpg") + ": a PNG, JPEG", 0), 0u) << error;
  EXPECT_NE(error.find("(data.strict is on)"), std::string::npos) << error;
}

TEST(ImageFolder, RefusesEmptyMissingAndUndecodableFolders) {
  TempDir dir;
  fs::create_directories(dir.path() / "empty");
  EXPECT_EQ(error_of([&] { load_image_folder(dir.file("empty"), options_for(32)); }),
            dir.file("empty") + ": a folder of images expected, found it empty");
  EXPECT_EQ(error_of([&] { load_image_folder(dir.file("nope"), options_for(32)); }),
            dir.file("nope") + ": cannot open the folder (missing?)");
  testing::write_text(dir.file("file.png"), "x");
  EXPECT_EQ(error_of([&] { load_image_folder(dir.file("file.png"), options_for(32)); }),
            dir.file("file.png") +
                ": a folder of images expected (data.format folder), found a file");
  fs::create_directories(dir.path() / "junk");
  testing::write_text(dir.file("junk/a.png"), "not a png");
  const std::string error = error_of([&] { load_image_folder(dir.file("junk"), options_for(32)); });
  EXPECT_EQ(error.rfind(dir.file("junk") + ": images that decode expected, found none among 1 "
                                           "files (first: ",
                        0),
            0u)
      << error;
}

TEST(ImageFolder, HugeDimensionsAreRefusedBeforeDecoding) {
  // A PNG header claiming 100000 x 1 pixels; nothing that large is allocated.
  const unsigned char header[] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a,  // signature
                                  0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                  0x00, 0x01, 0x86, 0xa0,  // width 100000
                                  0, 0, 0, 1,              // height 1
                                  8, 2, 0, 0, 0, 0, 0, 0, 0};
  const std::string error = error_of([&] { decode_image(header, sizeof header, 32, 3, "huge.png"); });
  EXPECT_TRUE(error.rfind("huge.png: ", 0) == 0) << error;
}

TEST(ImageFolder, CacheStartsTheSecondRunAndFollowsChanges) {
  TempDir dir;
  fs::create_directories(dir.path() / "images");
  testing::write_png_file(dir.file("images/a.png"), constant(3, 40, 40, 7));
  testing::write_png_file(dir.file("images/b.png"), constant(3, 40, 40, 8));
  testing::write_text(dir.file("images/c.txt"), "skipped");
  FolderOptions options = options_for(32);
  options.cache_dir = dir.file("cache");
  Captured first;
  options.log = first.sink();
  const ImageSet decoded = load_image_folder(dir.file("images"), options);
  EXPECT_EQ(first.text.find("from the cache"), std::string::npos) << first.text;
  ASSERT_EQ(std::distance(fs::directory_iterator(dir.file("cache")), fs::directory_iterator()), 1);

  Captured second;
  options.log = second.sink();
  const ImageSet cached = load_image_folder(dir.file("images"), options);
  EXPECT_NE(second.text.find("2 images from the cache"), std::string::npos) << second.text;
  EXPECT_NE(second.text.find("(1 files skipped when it was made)"), std::string::npos) << second.text;
  EXPECT_TRUE(torch::equal(cached.images, decoded.images));

  // A changed file (another size) is decoded again, not read from a stale cache.
  testing::write_png_file(dir.file("images/b.png"), constant(3, 48, 48, 9));
  Captured third;
  options.log = third.sink();
  const ImageSet changed = load_image_folder(dir.file("images"), options);
  EXPECT_EQ(third.text.find("from the cache"), std::string::npos) << third.text;
  EXPECT_TRUE(torch::all(changed.images[1] == 9).item<bool>());

  // A corrupt cache file is ignored and rewritten.
  const fs::path cache_file = fs::directory_iterator(dir.file("cache"))->path();
  testing::write_text(cache_file.string(), "DCGANFOLDER1garbage");
  Captured fourth;
  options.log = fourth.sink();
  EXPECT_TRUE(torch::equal(load_image_folder(dir.file("images"), options).images, changed.images));
  EXPECT_EQ(fourth.text.find("from the cache"), std::string::npos) << fourth.text;
}

TEST(ImageFolder, LoadDataTakesTheModelSizeChannelsAndLimit) {
  TempDir dir;
  for (int i = 0; i < 3; ++i) {
    testing::write_png_file(dir.file("img" + std::to_string(i) + ".png"), constant(3, 50, 50, 10 * i));
  }
  DataOptions data;
  data.format = "folder";
  data.train = dir.path().string();
  data.cache = false;
  LoadContext context;
  context.image_size = 64;
  const DataSplits splits = load_data(data, context);
  ASSERT_EQ(splits.train.images.sizes(), (std::vector<int64_t>{3, 3, 64, 64}));
  EXPECT_TRUE(torch::all(splits.train.images[2] == 20).item<bool>());
  data.channels = 1;
  EXPECT_EQ(load_data(data, context).train.channels(), 1);
  data.limit = 2;
  EXPECT_EQ(load_data(data, context).train.size(), 2);
}

}  // namespace
}  // namespace dcgan
