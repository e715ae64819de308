#include "dcgan/train/gan.h"

#include <gtest/gtest.h>

namespace dcgan {
namespace {

Config small_config() {
  Config config;
  config.model.g_channels = 16;
  config.model.d_channels = 4;
  return config;
}

TEST(GanTest, StepReportsTheReferenceLossesAndUpdatesBothNetworks) {
  Config config = small_config();
  torch::manual_seed(0);
  Gan gan(config, 3, torch::kCPU);
  auto real = torch::rand({8, 3, 32, 32}) * 2 - 1;
  auto z = sample_noise(8, 100, torch::kCPU);

  // The D loss of this step, computed independently before the step changes anything.
  torch::Tensor expected_d_loss, expected_d_real, expected_d_fake;
  {
    torch::NoGradGuard no_grad;
    auto real_logits = gan.discriminator->forward(real);
    auto fake_logits = gan.discriminator->forward(gan.generator->forward(z));
    expected_d_loss = torch::binary_cross_entropy_with_logits(real_logits, torch::full_like(real_logits, 0.9)) +
                      torch::binary_cross_entropy_with_logits(fake_logits, torch::zeros_like(fake_logits));
    expected_d_real = torch::sigmoid(real_logits).mean();
    expected_d_fake = torch::sigmoid(fake_logits).mean();
  }
  auto g_before = gan.generator->named_parameters()["fc.weight"].clone();
  auto d_before = gan.discriminator->named_parameters()["fc.weight"].clone();

  StepStats stats = gan.step(real, z);
  EXPECT_NEAR(stats.d_loss.item<double>(), expected_d_loss.item<double>(), 1e-5);
  EXPECT_NEAR(stats.d_real.item<double>(), expected_d_real.item<double>(), 1e-6);
  EXPECT_NEAR(stats.d_fake.item<double>(), expected_d_fake.item<double>(), 1e-6);
  EXPECT_TRUE(std::isfinite(stats.g_loss.item<double>()));
  EXPECT_FALSE(torch::equal(g_before, gan.generator->named_parameters()["fc.weight"]));
  EXPECT_FALSE(torch::equal(d_before, gan.discriminator->named_parameters()["fc.weight"]));
  for (const auto& p : gan.discriminator->parameters()) EXPECT_TRUE(p.requires_grad());
}

TEST(GanTest, LearningRateAndBetasReachAdam) {
  Config config = small_config();
  config.train.lr = 1e-3;
  config.train.beta1 = 0.3;
  Gan gan(config, 1, torch::kCPU);
  for (auto* optimizer : {gan.g_optimizer.get(), gan.d_optimizer.get()}) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(
        optimizer->param_groups()[0].options());
    EXPECT_DOUBLE_EQ(options.lr(), 1e-3);
    EXPECT_DOUBLE_EQ(std::get<0>(options.betas()), 0.3);
    EXPECT_DOUBLE_EQ(std::get<1>(options.betas()), 0.999);
  }
}

TEST(GanTest, SampleUsesEvalModeAndRestoresTraining) {
  Gan gan(small_config(), 3, torch::kCPU);
  auto z = sample_noise(6, 100, torch::kCPU);
  auto all = gan.sample(z);
  EXPECT_TRUE(gan.generator->is_training());
  EXPECT_TRUE(torch::allclose(all.slice(0, 2, 3), gan.sample(z.slice(0, 2, 3)), 1e-5, 1e-6));
}

// A tiny task: G must learn to output a constant image. Fails if the update direction is wrong.
TEST(GanTest, LearnsAConstantImage) {
  Config config = small_config();
  config.train.lr = 2e-3;
  torch::manual_seed(3);
  Gan gan(config, 1, torch::kCPU);
  auto target = torch::full({16, 1, 32, 32}, 0.5);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
  auto distance = [&] {
    return (gan.sample(sample_noise(64, 100, torch::kCPU, gen)) - 0.5).abs().mean().item<double>();
  };
  const double before = distance();
  for (int i = 0; i < 150; ++i) gan.step(target, sample_noise(16, 100, torch::kCPU, gen));
  const double after = distance();
  EXPECT_LT(after, 0.5 * before) << "before " << before << " after " << after;
}

}  // namespace
}  // namespace dcgan
