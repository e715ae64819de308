// `dcgan eval`, `train-features`, `interpolate` and the EMA choice, through the real executable.
#include <gtest/gtest.h>
#include <stb_image.h>

#include <cmath>
#include <filesystem>

#include "dcgan/cli/commands.h"
#include "dcgan/error.h"
#include "testing/idx_writer.h"
#include "testing/process.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

using Result = testing::ProcessResult;
using testing::last_line;
using testing::run_dcgan;

// The number after `"key": ` in a flat JSON object.
double json_value(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\": ");
  if (at == std::string::npos) return NAN;
  return std::stod(json.substr(at + key.size() + 4));
}

std::vector<unsigned char> png_pixels(const std::string& path, int& w, int& h) {
  int c = 0;
  unsigned char* data = stbi_load(path.c_str(), &w, &h, &c, 3);
  if (data == nullptr) return {};
  std::vector<unsigned char> pixels(data, data + static_cast<size_t>(w) * h * 3);
  stbi_image_free(data);
  return pixels;
}

class QualityCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    images_ = testing::write_labelled_idx(dir_.path().string(), 48, 30, 6, 7);
    testing::write_text(
        dir_.file("tiny.yaml"),
        "data:\n  format: idx\n  train: " + images_ + "\n  test: " +
            dir_.file("t10k-images-idx3-ubyte") +
            "\nmodel:\n  g_channels: 16\n  d_channels: 4\n"
            "train:\n  epochs: 1\n  batch_size: 8\n  print_every: 2\n  show_every: 6\n  ema: 0.9\n"
            "eval:\n  every: 3\n  feature_epochs: 1\n"
            "run:\n  out_dir: " + dir_.file("runs") + "\n  device: cpu\n  threads: 2\n");
  }
  testing::TempDir dir_;
  std::string images_;
};

TEST_F(QualityCliTest, EvalPrintsAndWritesTheRunsNumbers) {
  Result train = run_dcgan("train --config " + dir_.file("tiny.yaml") + " --name r");
  ASSERT_EQ(train.code, 0) << train.output;
  EXPECT_NE(train.output.find("quality at step 6 (EMA generator): FID "), std::string::npos)
      << train.output;
  const std::string run = dir_.file("runs/r");
  ASSERT_TRUE(std::filesystem::exists(run + "/best_generator.pt"));

  // `eval` on the generator, against the run's test file with the run's features and the same
  // noise seed as training (train.seed 0, plus 3): the last row of quality.csv again.
  Result eval = run_dcgan("eval --ckpt " + run + "/generator.pt --seed 3 --json " +
                          dir_.file("q.json"));
  ASSERT_EQ(eval.code, 0) << eval.output;
  EXPECT_NE(eval.output.find("(EMA weights)"), std::string::npos) << eval.output;
  const std::string json = testing::read_text(dir_.file("q.json"));
  const auto rows = testing::read_text(run + "/quality.csv");
  const std::string last = rows.substr(rows.rfind('\n', rows.size() - 2) + 1);
  ASSERT_EQ(last.rfind("6,30,", 0), 0u) << last;
  const double fid = std::stod(last.substr(5));
  // Near, not equal: on a 16-core Intel Xeon (LibTorch 2.11) the two processes' FIDs differed by
  // 6e-5 of the value, the same in every run, whatever the thread count or oneDNN's instruction
  // set (here they agree to 1e-6). The exact check is in TrainingQualityTest, in one process:
  // the best generator, loaded and measured again, gives its FID to 1e-6; it passed there too.
  EXPECT_NEAR(json_value(json, "fid"), fid, 1e-3 * fid) << json;
  EXPECT_EQ(json_value(json, "num"), 30);
  for (const char* key : {"kid_mean", "kid_std", "precision", "recall", "density", "coverage"}) {
    EXPECT_TRUE(std::isfinite(json_value(json, key))) << key << "\n" << json;
  }
  EXPECT_NE(json.find("\"weights\": \"ema\""), std::string::npos) << json;

  // The trained weights differ from their average.
  Result raw = run_dcgan("eval --ckpt " + run + "/generator.pt --seed 3 --no-ema --json " +
                         dir_.file("raw.json"));
  ASSERT_EQ(raw.code, 0) << raw.output;
  const std::string raw_json = testing::read_text(dir_.file("raw.json"));
  EXPECT_NE(raw_json.find("\"weights\": \"trained\""), std::string::npos);
  EXPECT_NE(json_value(raw_json, "fid"), json_value(json, "fid"));

  // Bad input: one line naming what is wrong, the right exit code.
  Result too_many = run_dcgan("eval --ckpt " + run + "/generator.pt --num 31");
  EXPECT_EQ(too_many.code, kExitUsage) << too_many.output;
  EXPECT_EQ(last_line(too_many.output),
            "dcgan: error: --num is 31 but there are only 30 real images to compare with");
  Result wrong_kind = run_dcgan("eval --ckpt " + run + "/generator.pt --features " + run +
                                "/checkpoint.pt");
  EXPECT_EQ(wrong_kind.code, kExitCheckpoint) << wrong_kind.output;
  EXPECT_EQ(last_line(wrong_kind.output), "dcgan: error: " + run +
                                              "/checkpoint.pt: expected a feature network, found "
                                              "a training checkpoint");
  Result not_generator = run_dcgan("eval --ckpt " + run + "/checkpoint.pt");
  EXPECT_EQ(not_generator.code, kExitCheckpoint) << not_generator.output;
}

TEST_F(QualityCliTest, TrainFeaturesWritesWhereAutoLooksAndSamplesChooseTheWeights) {
  Result features = run_dcgan("train-features --config " + dir_.file("tiny.yaml") + " --epochs 1");
  ASSERT_EQ(features.code, 0) << features.output;
  EXPECT_NE(features.output.find("test accuracy "), std::string::npos) << features.output;
  EXPECT_NE(features.output.find("on 30 test images"), std::string::npos) << features.output;
  // A run with the same data and feature settings uses it instead of building one.
  Result train = run_dcgan("train --config " + dir_.file("tiny.yaml") + " --name r");
  ASSERT_EQ(train.code, 0) << train.output;
  EXPECT_EQ(train.output.find("building the feature network"), std::string::npos) << train.output;

  // sample: the average by default, the trained weights with --no-ema.
  const std::string gen = dir_.file("runs/r/generator.pt");
  ASSERT_EQ(run_dcgan("sample --ckpt " + gen + " --grid 2x2 --out " + dir_.file("a.png")).code, 0);
  ASSERT_EQ(run_dcgan("sample --ckpt " + gen + " --grid 2x2 --out " + dir_.file("b.png") +
                      " --no-ema")
                .code,
            0);
  int w = 0, h = 0;
  const auto a = png_pixels(dir_.file("a.png"), w, h);
  const auto b = png_pixels(dir_.file("b.png"), w, h);
  ASSERT_FALSE(a.empty());
  EXPECT_NE(a, b);

  // interpolate: rows x steps cells of 32 pixels and 2 of padding; the walk's first image is
  // its start point's sample.
  Result walk = run_dcgan("interpolate --ckpt " + gen + " --rows 3 --steps 5 --out " +
                          dir_.file("walk.png"));
  ASSERT_EQ(walk.code, 0) << walk.output;
  const auto pixels = png_pixels(dir_.file("walk.png"), w, h);
  EXPECT_EQ(w, 5 * 34 + 2);
  EXPECT_EQ(h, 3 * 34 + 2);
  Result slerp = run_dcgan("interpolate --ckpt " + gen + " --rows 3 --steps 5 --spherical --out " +
                           dir_.file("slerp.png"));
  ASSERT_EQ(slerp.code, 0) << slerp.output;
  int w2 = 0, h2 = 0;
  const auto spherical = png_pixels(dir_.file("slerp.png"), w2, h2);
  ASSERT_EQ(spherical.size(), pixels.size());
  EXPECT_NE(spherical, pixels);
  // The end columns are the same points either way.
  for (int row = 0; row < h; ++row) {
    for (int col : {2, 4 * 34 + 2}) {
      for (int x = col; x < col + 32; ++x) {
        const size_t i = (static_cast<size_t>(row) * w + x) * 3;
        ASSERT_EQ(spherical[i], pixels[i]) << "row " << row << " x " << x;
      }
    }
  }
  Result bad = run_dcgan("interpolate --ckpt " + gen + " --steps 1");
  EXPECT_EQ(bad.code, kExitUsage) << bad.output;
}

TEST(LatentWalk, LinearAndSphericalPathsMeetTheEndPoints) {
  auto a = torch::tensor({1.0f, 0.0f});
  auto b = torch::tensor({0.0f, 1.0f});
  auto linear = latent_walk(a, b, 3, false);
  EXPECT_TRUE(torch::allclose(linear, torch::tensor({{1.0f, 0.0f}, {0.5f, 0.5f}, {0.0f, 1.0f}})));
  auto spherical = latent_walk(a, b, 3, true);
  const float s = std::sqrt(0.5f);
  EXPECT_TRUE(torch::allclose(spherical, torch::tensor({{1.0f, 0.0f}, {s, s}, {0.0f, 1.0f}}), 1e-6,
                              1e-6))
      << spherical;
  // Parallel end points: no great circle, a straight line.
  EXPECT_TRUE(torch::allclose(latent_walk(a, 2 * a, 3, true), latent_walk(a, 2 * a, 3, false)));
}

}  // namespace
}  // namespace dcgan
