// The GAN step in a process group, in one process: a group of one rank (a real Gloo group on
// 127.0.0.1) averages over itself, so every way of averaging must leave the step exactly as it
// is without a group. This checks the bucketing (which gradient lands where), the copy back and
// sync batch norm's bookkeeping; tests/cli/distributed_test.cpp runs several ranks.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <vector>

#include "dcgan/dist/process_group.h"
#include "dcgan/train/gan.h"
#include "testing/process.h"

namespace dcgan {
namespace {

std::unique_ptr<ProcessGroup> group_of_one() {
  DistEnv env;
  env.master_addr = "127.0.0.1";
  env.master_port = testing::free_local_port();
  return ProcessGroup::join(env, "gloo", torch::kCPU, std::chrono::seconds(30));
}

Config small_config() {
  Config config;
  config.model.g_channels = 16;
  config.model.d_channels = 4;
  return config;
}

// G's and D's parameters after three steps on fixed data, from the same initial weights.
std::vector<torch::Tensor> three_steps(Gan& gan) {
  torch::manual_seed(11);
  const auto real = torch::rand({6, 3, 32, 32}) * 2 - 1;
  for (int i = 0; i < 3; ++i) gan.step(real, torch::rand({6, 100}) * 2 - 1);
  std::vector<torch::Tensor> weights;
  for (auto* module : {static_cast<torch::nn::Module*>(gan.generator.get()),
                       static_cast<torch::nn::Module*>(gan.discriminator.get())}) {
    for (const auto& p : module->parameters()) weights.push_back(p.detach().clone());
  }
  return weights;
}

std::vector<torch::Tensor> run(const std::function<void(Gan&)>& setup) {
  const Config config = small_config();
  torch::manual_seed(3);
  Gan gan(config, 3, torch::kCPU);
  setup(gan);
  return three_steps(gan);
}

TEST(DistributedGanTest, AveragingOverOneRankLeavesTheStepExactlyAsItIs) {
  if (!backend_available("gloo")) GTEST_SKIP() << "this build has no Gloo backend";
  const auto group = group_of_one();
  const auto alone = run([](Gan&) {});
  const auto buckets = run([&](Gan& gan) { gan.set_process_group(group.get(), false, true); });
  const auto after = run([&](Gan& gan) { gan.set_process_group(group.get(), false, false); });
  ASSERT_EQ(alone.size(), buckets.size());
  for (size_t i = 0; i < alone.size(); ++i) {
    EXPECT_TRUE(torch::equal(alone[i], buckets[i])) << "parameter " << i << " (bucketed)";
    EXPECT_TRUE(torch::equal(alone[i], after[i])) << "parameter " << i << " (after backward)";
  }
}

// Sync batch norm over one rank is batch norm computed another way: equal up to rounding (the
// losses of the same three steps; the weights move by Adam's sign of near-zero gradients).
TEST(DistributedGanTest, SyncBatchNormOverOneRankIsBatchNorm) {
  if (!backend_available("gloo")) GTEST_SKIP() << "this build has no Gloo backend";
  const auto group = group_of_one();
  const Config config = small_config();
  std::vector<double> losses[2];
  for (int synced = 0; synced < 2; ++synced) {
    torch::manual_seed(3);
    Gan gan(config, 3, torch::kCPU);
    if (synced) gan.set_process_group(group.get(), true);
    torch::manual_seed(11);
    const auto real = torch::rand({6, 3, 32, 32}) * 2 - 1;
    for (int i = 0; i < 3; ++i) {
      const StepStats stats = gan.step(real, torch::rand({6, 100}) * 2 - 1);
      losses[synced].push_back(stats.d_loss.item<double>());
      losses[synced].push_back(stats.g_loss.item<double>());
    }
  }
  for (size_t i = 0; i < losses[0].size(); ++i) EXPECT_NEAR(losses[0][i], losses[1][i], 1e-5) << i;
}

}  // namespace
}  // namespace dcgan
