#include "dcgan/eval/features.h"

#include <gtest/gtest.h>
#include <torch/script.h>

#include <string>

#include "dcgan/error.h"
#include "dcgan/io/checkpoint.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

// Class k: a bright centred square of side 4 + 6k on dark noise. (Not told apart by position:
// the features are averaged over the image.)
ImageSet squares(int64_t n, int64_t classes, int64_t channels, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  ImageSet set;
  set.images = torch::randint(0, 60, {n, channels, 32, 32}, gen, torch::kInt64).to(torch::kUInt8);
  set.labels = torch::arange(n, torch::kInt64).remainder(classes);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = i % classes;
    const int64_t side = 4 + 6 * k, start = (32 - side) / 2;
    set.images[i].narrow(1, start, side).narrow(2, start, side).fill_(230);
  }
  return set;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(FeatureNet, LearnsLabelsAndRoundTripsThroughItsFile) {
  torch::set_num_threads(2);
  const ImageSet train = squares(400, 4, 1, 1);
  const ImageSet test = squares(80, 4, 1, 2);
  FeatureTrainOptions options;
  options.epochs = 4;  // batch norm's running statistics need a few epochs to catch up
  options.batch_size = 32;
  options.width = 8;
  std::vector<std::string> lines;
  TrainedFeatureNet trained = train_feature_net(train, test, options, torch::kCPU, "squares",
                                                [&](const std::string& l) { lines.push_back(l); });
  EXPECT_GE(trained.test_accuracy, 0.95);
  EXPECT_EQ(trained.test_images, 80);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[3].find("epoch 4/4"), std::string::npos) << lines[3];

  testing::TempDir dir;
  save_feature_net(dir.file("f.pt"), trained);
  TrainedFeatureNet loaded = load_feature_net(dir.file("f.pt"), torch::kCPU);
  EXPECT_DOUBLE_EQ(loaded.test_accuracy, trained.test_accuracy);
  EXPECT_EQ(loaded.source, "squares");
  auto images = to_model_range(test.images.narrow(0, 0, 16), torch::kCPU);
  torch::NoGradGuard no_grad;
  trained.net->eval();
  auto expected = trained.net->features(images);
  EXPECT_EQ(expected.sizes(), (std::vector<int64_t>{16, 64}));
  EXPECT_TRUE(torch::equal(loaded.net->features(images), expected));

  // Through the extractor, batch by batch: the same rows in the same order.
  auto extractor = load_feature_extractor(dir.file("f.pt"), torch::kCPU);
  EXPECT_NE(extractor->describe().find("feature network"), std::string::npos);
  auto batched = extract_features(
      *extractor, [&](int64_t first, int64_t n) { return images.narrow(0, first, n); }, 16, 5);
  EXPECT_EQ(batched.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::allclose(batched, expected.to(torch::kFloat64), 1e-6, 1e-6));
}

TEST(FeatureNet, SameSeedSameNetwork) {
  const ImageSet train = squares(64, 2, 3, 3);
  FeatureTrainOptions options;
  options.epochs = 1;
  options.batch_size = 16;
  options.width = 4;
  auto a = train_feature_net(train, {}, options, torch::kCPU, "a", nullptr);
  auto b = train_feature_net(train, {}, options, torch::kCPU, "b", nullptr);
  // Without test images the last tenth is held out.
  EXPECT_EQ(a.test_images, 6);
  EXPECT_EQ(a.train_images, 58);
  auto pa = a.net->parameters(), pb = b.net->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i]));
}

TEST(FeatureNet, UnlabelledImagesAreADataErrorNamingTheSource) {
  ImageSet train = squares(64, 2, 1, 4);
  train.labels = torch::Tensor();
  EXPECT_THROW(train_feature_net(train, {}, {}, torch::kCPU, "x.idx", nullptr), DataError);
  EXPECT_NE(error_of([&] { train_feature_net(train, {}, {}, torch::kCPU, "x.idx", nullptr); })
                .find("x.idx: labels expected"),
            std::string::npos);
  ImageSet negative = squares(64, 2, 1, 4);
  negative.labels[3] = -1;
  EXPECT_NE(error_of([&] { train_feature_net(negative, {}, {}, torch::kCPU, "y", nullptr); })
                .find("labels 0..K-1"),
            std::string::npos);
}

// A scripted module made here: mean of each channel, then the two channel statistics, so the
// features show what the extractor fed it.
void save_script(const std::string& path, int64_t size, std::vector<double> range,
                 int64_t channels) {
  torch::jit::Module module("Features");
  if (size >= 0) module.register_attribute("input_size", c10::IntType::get(), size);
  if (!range.empty()) {
    module.register_attribute("input_range", c10::ListType::ofFloats(),
                              c10::List<double>(range));
  }
  if (channels > 0) module.register_attribute("input_channels", c10::IntType::get(), channels);
  module.define(R"(
def forward(self, x):
    return torch.cat([x.mean(dim=[2, 3]), torch.full([x.size(0), 1], float(x.size(2)))], 1)
)");
  module.save(path);
}

TEST(ScriptedFeatures, FollowsTheModulesSizeRangeAndChannels) {
  testing::TempDir dir;
  save_script(dir.file("m.pt"), 8, {0.0, 1.0}, 3);
  auto extractor = load_feature_extractor(dir.file("m.pt"), torch::kCPU);
  EXPECT_NE(extractor->describe().find("TorchScript"), std::string::npos);
  // Grey images of value v in [-1, 1]: three channels of (v + 1) / 2 at 8x8.
  auto images = torch::tensor({-1.0f, 0.0f, 0.5f}).view({3, 1, 1, 1}).expand({3, 1, 32, 32});
  auto features = extractor->extract(images.contiguous());
  ASSERT_EQ(features.sizes(), (std::vector<int64_t>{3, 4}));
  auto expected = torch::tensor({{0.0f, 0.0f, 0.0f, 8.0f},
                                 {0.5f, 0.5f, 0.5f, 8.0f},
                                 {0.75f, 0.75f, 0.75f, 8.0f}});
  EXPECT_TRUE(torch::allclose(features, expected, 1e-6, 1e-6)) << features;

  // What the caller gives wins over the attributes.
  ScriptInput input;
  input.size = 0;
  input.low = 0;
  input.high = 255;
  auto given = load_feature_extractor(dir.file("m.pt"), torch::kCPU, input)
                   ->extract(torch::zeros({2, 3, 32, 32}));
  EXPECT_TRUE(torch::allclose(given, torch::tensor({{127.5f, 127.5f, 127.5f, 32.0f},
                                                    {127.5f, 127.5f, 127.5f, 32.0f}})))
      << given;
}

TEST(ScriptedFeatures, WithoutAttributesTakesImagesAsTheyAre) {
  testing::TempDir dir;
  save_script(dir.file("plain.pt"), -1, {}, 0);
  auto features = load_feature_extractor(dir.file("plain.pt"), torch::kCPU)
                      ->extract(torch::full({2, 1, 32, 32}, -0.5f));
  EXPECT_TRUE(torch::allclose(features, torch::tensor({{-0.5f, 32.0f}, {-0.5f, 32.0f}})))
      << features;
}

TEST(FeatureExtractor, FilesOfAnotherKindAreRefusedNamingThem) {
  testing::TempDir dir;
  CheckpointWriter generator(CheckpointKind::kGenerator);
  generator.write_int("channels", 3);
  generator.save(dir.file("generator.pt"));
  EXPECT_EQ(error_of([&] { load_feature_extractor(dir.file("generator.pt"), torch::kCPU); }),
            dir.file("generator.pt") + ": expected a feature network, found a generator file");

  testing::write_text(dir.file("junk.pt"), "not a model");
  const std::string junk = error_of([&] { load_feature_extractor(dir.file("junk.pt"), torch::kCPU); });
  EXPECT_EQ(junk.rfind(dir.file("junk.pt") + ": neither a dcgan feature network nor a TorchScript "
                                             "module",
                       0),
            0u)
      << junk;
  EXPECT_EQ(junk.find('\n'), std::string::npos);
  EXPECT_THROW(load_feature_extractor(dir.file("missing.pt"), torch::kCPU), CheckpointError);

  // An attribute of the wrong type is an error, not a silent default.
  torch::jit::Module odd("Odd");
  odd.register_attribute("input_range", c10::StringType::get(), std::string("0,1"));
  odd.define("def forward(self, x):\n    return x.flatten(1)\n");
  odd.save(dir.file("odd.pt"));
  EXPECT_EQ(error_of([&] { load_feature_extractor(dir.file("odd.pt"), torch::kCPU); }),
            dir.file("odd.pt") + ": attribute 'input_range' must be two numbers [low, high]");

  save_script(dir.file("m.pt"), 0, {}, 0);
  ScriptInput bad;
  bad.low = 1;
  bad.high = 0;
  EXPECT_THROW(load_feature_extractor(dir.file("m.pt"), torch::kCPU, bad), ConfigError);
}

}  // namespace
}  // namespace dcgan
