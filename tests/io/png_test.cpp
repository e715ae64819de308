#include "dcgan/io/png.h"

#include <gtest/gtest.h>
#include <stb_image.h>

#include "dcgan/error.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

struct Decoded {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
  uint8_t at(int row, int col, int c) const {
    return pixels[static_cast<size_t>((row * width + col) * channels + c)];
  }
};

Decoded decode(const std::string& path) {
  Decoded d;
  uint8_t* data = stbi_load(path.c_str(), &d.width, &d.height, &d.channels, 0);
  if (data == nullptr) throw std::runtime_error("stbi_load failed: " + path);
  d.pixels.assign(data, data + static_cast<size_t>(d.width) * d.height * d.channels);
  stbi_image_free(data);
  return d;
}

// Image i is filled with a distinct flat colour per channel: (i*20 + c*5) in [0, 255].
torch::Tensor flat_images(int64_t n, int64_t channels, int64_t size) {
  auto values = (torch::arange(n).view({n, 1}) * 20 + torch::arange(channels).view({1, channels}) * 5)
                    .to(torch::kFloat);
  return (values.view({n, channels, 1, 1}).expand({n, channels, size, size}) / 127.5 - 1).contiguous();
}

TEST(PngTest, GridReadsBackWithSizePaddingAndPixels) {
  testing::TempDir dir;
  const std::string path = dir.file("grid.png");
  const GridSize grid{2, 3};
  write_grid_png(path, flat_images(5, 3, 4), grid, /*padding=*/2);
  const Decoded d = decode(path);
  ASSERT_EQ(d.width, 3 * (4 + 2) + 2);
  ASSERT_EQ(d.height, 2 * (4 + 2) + 2);
  ASSERT_EQ(d.channels, 3);
  for (int i = 0; i < 6; ++i) {
    const int top = 2 + (i / 3) * 6, left = 2 + (i % 3) * 6;
    for (int c = 0; c < 3; ++c) {
      const int expected = i < 5 ? i * 20 + c * 5 : kGridPadValue;  // the sixth cell is empty
      EXPECT_EQ(d.at(top, left, c), expected) << "cell " << i << " channel " << c;
      EXPECT_EQ(d.at(top + 3, left + 3, c), expected) << "cell " << i << " channel " << c;
    }
  }
  for (int x = 0; x < d.width; ++x) {
    EXPECT_EQ(d.at(0, x, 0), kGridPadValue) << "top border, column " << x;
    EXPECT_EQ(d.at(7, x, 1), kGridPadValue) << "gap between rows, column " << x;
  }
}

TEST(PngTest, GrayscaleStaysOneChannelAndRangeMapsToBytes) {
  testing::TempDir dir;
  auto image = torch::tensor({-1.0f, 0.0f, 1.0f, 0.5f}).view({1, 1, 2, 2});
  write_grid_png(dir.file("g.png"), image, GridSize{1, 1}, 0);
  const Decoded d = decode(dir.file("g.png"));
  ASSERT_EQ(d.channels, 1);
  EXPECT_EQ(d.at(0, 0, 0), 0);
  EXPECT_EQ(d.at(0, 1, 0), 128);  // round(127.5)
  EXPECT_EQ(d.at(1, 0, 0), 255);
  EXPECT_EQ(d.at(1, 1, 0), 191);  // round(191.25)
}

TEST(PngTest, SingleImage) {
  testing::TempDir dir;
  auto images = flat_images(2, 3, 32);
  write_image_png(dir.file("one.png"), images[1]);
  const Decoded d = decode(dir.file("one.png"));
  EXPECT_EQ(d.width, 32);
  EXPECT_EQ(d.height, 32);
  EXPECT_EQ(d.at(31, 31, 2), 30);
}

TEST(PngTest, TooManyImagesForTheGrid) {
  EXPECT_THROW(make_grid(flat_images(7, 1, 2), GridSize{2, 3}), std::invalid_argument);
}

TEST(PngTest, UnwritablePathIsAnIoErrorNamingIt) {
  testing::TempDir dir;
  const std::string path = dir.file("missing/grid.png");
  try {
    write_grid_png(path, flat_images(1, 1, 2), GridSize{1, 1});
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": cannot write (No such file or directory)");
  }
}

}  // namespace
}  // namespace dcgan
