#include "dcgan/train/evaluation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "dcgan/data/idx.h"
#include "dcgan/error.h"
#include "dcgan/io/checkpoint.h"
#include "dcgan/io/generator_file.h"
#include "dcgan/train/gan.h"
#include "dcgan/train/trainer.h"
#include "testing/idx_writer.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// quality.csv's rows without the wall-clock column, split into fields.
std::vector<std::vector<std::string>> quality_rows(const std::string& run_dir) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& line : lines_of(testing::read_text(run_dir + "/quality.csv"))) {
    std::vector<std::string> fields;
    std::istringstream in(line);
    for (std::string field; std::getline(in, field, ',');) fields.push_back(field);
    fields.pop_back();  // seconds
    rows.push_back(fields);
  }
  return rows;
}

void expect_same_module(torch::nn::Module& a, torch::nn::Module& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
  auto ba = a.named_buffers(), bb = b.named_buffers();
  for (const auto& p : ba) EXPECT_TRUE(torch::equal(p.value(), bb[p.key()])) << p.key();
}

TEST(Ema, IsTheMovingAverageOfGsParametersWithItsBuffersCopied) {
  torch::manual_seed(3);
  Config config;
  config.model.g_channels = 16;
  config.model.d_channels = 4;
  config.train.ema = 0.75;
  Gan gan(config, 1, torch::kCPU);
  ASSERT_TRUE(gan.ema_generator);
  expect_same_module(*gan.ema_generator, *gan.generator);  // starts at G
  EXPECT_FALSE(gan.ema_generator->is_training());
  std::vector<torch::Tensor> before;
  for (const auto& p : gan.generator->parameters()) before.push_back(p.detach().clone());

  auto real = torch::rand({8, 1, 32, 32}) * 2 - 1;
  auto z = torch::rand({8, 100}) * 2 - 1;
  gan.step(real, z);
  auto after = gan.generator->parameters();
  auto ema = gan.ema_generator->parameters();
  bool moved = false;
  for (size_t i = 0; i < ema.size(); ++i) {
    auto expected = before[i] + 0.25 * (after[i].detach() - before[i]);
    EXPECT_TRUE(torch::allclose(ema[i], expected, 1e-6, 1e-7)) << i;
    moved = moved || !torch::equal(after[i], before[i]);
  }
  EXPECT_TRUE(moved);
  auto g_buffers = gan.generator->buffers(), e_buffers = gan.ema_generator->buffers();
  for (size_t i = 0; i < e_buffers.size(); ++i) EXPECT_TRUE(torch::equal(e_buffers[i], g_buffers[i]));
  // Samples come from the average.
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(gan.sample(z), gan.ema_generator->forward(z)));
  EXPECT_EQ(&gan.sampling_generator(), &gan.ema_generator);

  config.train.ema = 0;
  Gan plain(config, 1, torch::kCPU);
  EXPECT_FALSE(plain.ema_generator);
  EXPECT_EQ(&plain.sampling_generator(), &plain.generator);
}

TEST(ResolveEvalNum, DefaultsToTenThousandOrWhatThereIsAndRefusesMore) {
  EXPECT_EQ(resolve_eval_num(0, 60000, "key 'eval.num'"), 10000);
  EXPECT_EQ(resolve_eval_num(0, 500, "key 'eval.num'"), 500);
  EXPECT_EQ(resolve_eval_num(300, 500, "key 'eval.num'"), 300);
  try {
    resolve_eval_num(600, 500, "--num");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "--num is 600 but there are only 500 real images to compare with");
  }
  EXPECT_THROW(resolve_eval_num(0, 5, "--num"), ConfigError);
}

class TrainingQualityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::set_num_threads(2);
    images_ = testing::write_labelled_idx(dir_.path().string(), 64, 40, 6, 11);
  }

  // 64 images, batch 8: 8 steps per epoch, 2 epochs; quality every 4 steps on the 40 test images.
  Config config(const std::string& name) const {
    Config c;
    c.data.format = "idx";
    c.data.train = images_;
    c.data.test = dir_.file("t10k-images-idx3-ubyte");
    c.model.g_channels = 16;
    c.model.d_channels = 4;
    c.train.epochs = 2;
    c.train.batch_size = 8;
    c.train.print_every = 2;
    c.train.show_every = 8;
    c.train.seed = 5;
    c.train.ema = 0.9;
    c.eval.every = 4;
    c.eval.feature_epochs = 1;
    c.run.out_dir = dir_.file("runs");
    c.run.name = name;
    c.run.device = "cpu";
    c.run.threads = 2;
    return c;
  }

  testing::TempDir dir_;
  std::string images_;
};

TEST_F(TrainingQualityTest, MeasuresKeepsTheBestAndResumesExactly) {
  const TrainOutcome whole = train_new(config("whole"), "x");
  const std::string run = dir_.file("runs/whole");

  // quality.csv: one row per 4 steps, every metric finite, precision etc. within [0, 1].
  const auto rows = quality_rows(run);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"step", "num", "fid", "kid_mean", "kid_std",
                                               "precision", "recall", "density", "coverage"}));
  double best = INFINITY;
  int64_t best_step = -1;
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i][0], std::to_string(4 * i));
    EXPECT_EQ(rows[i][1], "40");
    const double fid = std::stod(rows[i][2]);
    EXPECT_TRUE(std::isfinite(fid) && fid >= 0) << fid;
    for (size_t k = 5; k <= 6; ++k) {
      const double v = std::stod(rows[i][k]);
      EXPECT_TRUE(v >= 0 && v <= 1) << rows[i][k];
    }
    if (fid < best) {
      best = fid;
      best_step = 4 * static_cast<int64_t>(i);
    }
  }
  EXPECT_EQ(whole.best_step, best_step);
  EXPECT_NEAR(whole.best_fid, best, 1e-6 * best);
  // The checkpoint keeps the best FID and the last measurement.
  {
    CheckpointReader reader(run + "/checkpoint.pt");
    EXPECT_EQ(reader.read_int("best_step"), best_step);
    EXPECT_NEAR(reader.read_double("best_fid"), best, 1e-6 * best);
    const torch::Tensor last = reader.read_tensor("last_quality");
    ASSERT_EQ(last.numel(), 9);
    for (int64_t k = 0; k < 9; ++k) {
      const double csv = std::stod(rows.back()[static_cast<size_t>(k)]);
      EXPECT_NEAR(last[k].item<double>(), csv, 1e-6 * std::max(1.0, std::abs(csv))) << k;
    }
  }

  // The feature network was built once, under run.out_dir/features/.
  const std::string features = auto_features_path(config("whole"));
  EXPECT_EQ(std::filesystem::path(features).parent_path(), dir_.path() / "runs" / "features");
  Config other_seed = config("whole");
  other_seed.train.seed = 6;  // runs of every seed share one feature network
  EXPECT_EQ(auto_features_path(other_seed), features);
  other_seed.eval.feature_epochs = 2;
  EXPECT_NE(auto_features_path(other_seed), features);
  ASSERT_TRUE(std::filesystem::exists(features)) << features;
  const std::string log = testing::read_text(run + "/train.log");
  EXPECT_NE(log.find("building the feature network"), std::string::npos);

  // best_generator.pt holds the generator that scored the best FID: measured again the same way
  // (the trainer's evaluation noise is seed + 3), it gives that FID.
  LoadedGenerator best_file = load_generator_file(run + "/best_generator.pt", torch::kCPU);
  ASSERT_TRUE(best_file.ema);
  ImageSet real;
  real.images = load_idx_images(dir_.file("t10k-images-idx3-ubyte")).images;
  QualityEvaluator evaluator(open_features(config("whole"), "auto", torch::kCPU, {}, nullptr),
                             real, 40, 5 + 3, torch::kCPU);
  EXPECT_NEAR(evaluator.evaluate(best_file.ema).fid, best, 1e-6 * best);

  // Stopped at step 6 and resumed: the same quality rows, the same weights and average.
  Config first = config("resumed");
  first.train.max_steps = 6;
  train_new(first, "x");
  const std::string resumed = dir_.file("runs/resumed");
  EXPECT_EQ(quality_rows(resumed).size(), 2u);
  train_resume(resumed, {"train.max_steps=0"});
  EXPECT_EQ(quality_rows(resumed), rows);
  EXPECT_EQ(lines_of(testing::read_text(resumed + "/train.log")).size() > 0, true);
  // The second run reused the feature network.
  EXPECT_EQ(testing::read_text(resumed + "/train.log").find("building the feature network"),
            std::string::npos);
  LoadedGenerator a = load_generator_file(run + "/generator.pt", torch::kCPU);
  LoadedGenerator b = load_generator_file(resumed + "/generator.pt", torch::kCPU);
  expect_same_module(*a.generator, *b.generator);
  ASSERT_TRUE(a.ema && b.ema);
  expect_same_module(*a.ema, *b.ema);
  LoadedGenerator best_b = load_generator_file(resumed + "/best_generator.pt", torch::kCPU);
  expect_same_module(*best_file.ema, *best_b.ema);
}

TEST_F(TrainingQualityTest, UnlabelledDataTrainsWithoutQualityAndSaysSo) {
  std::filesystem::remove(dir_.file("train-labels-idx1-ubyte"));
  Config c = config("unlabelled");
  c.train.max_steps = 4;
  train_new(c, "x");
  const std::string run = dir_.file("runs/unlabelled");
  EXPECT_FALSE(std::filesystem::exists(run + "/quality.csv"));
  EXPECT_NE(testing::read_text(run + "/train.log").find("quality is not measured"),
            std::string::npos);
}

TEST_F(TrainingQualityTest, BadFeatureFileOrNumAreRefusedBeforeTheRunStarts) {
  Config c = config("bad");
  c.eval.features = dir_.file("train-images-idx3-ubyte");  // not a model
  EXPECT_THROW(train_new(c, "x"), CheckpointError);
  c.eval.features = "auto";
  c.eval.num = 41;
  try {
    train_new(c, "x");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "key 'eval.num' is 41 but there are only 40 real images to compare with");
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.file("runs/bad")));
}

}  // namespace
}  // namespace dcgan
