#include "dcgan/train/upconv_choice.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

namespace dcgan {
namespace {

using Kinds = std::vector<UpconvKind>;
constexpr UpconvKind kNative = UpconvKind::kNative;
constexpr UpconvKind kWinograd = UpconvKind::kWinograd;
constexpr UpconvKind kGemm = UpconvKind::kGemm;

// A timer that answers `seconds` per kind, in the order asked, and counts its calls.
struct FakeTimer {
  std::vector<double> seconds;
  int calls = 0;
  UpconvTimer timer() {
    return [this](const Kinds& kinds) {
      ++calls;
      std::vector<UpconvTrial> trials;
      for (size_t i = 0; i < kinds.size(); ++i) trials.push_back({kinds[i], seconds.at(i)});
      return trials;
    };
  }
};

TEST(UpconvChoiceTest, TheFasterOfTwoIsPicked) {
  FakeTimer form_faster{{0.30, 0.20}};
  UpconvChoice choice = choose_upconv({kNative, kWinograd}, std::nullopt, form_faster.timer());
  EXPECT_EQ(choice.kind, kWinograd);
  EXPECT_EQ(form_faster.calls, 1);
  ASSERT_EQ(choice.trials.size(), 2u);
  EXPECT_FALSE(choice.from_checkpoint);
  EXPECT_EQ(describe_upconv_choice(choice, "auto"),
            "upconv winograd (model.upconv auto at " + std::to_string(at::get_num_threads()) +
                " threads, timed: native 0.3000 s, winograd 0.2000 s per step)");

  FakeTimer native_faster{{0.20, 0.30}};
  EXPECT_EQ(choose_upconv({kNative, kGemm}, std::nullopt, native_faster.timer()).kind, kNative);
  // A tie keeps LibTorch's layer, the first candidate.
  FakeTimer tie{{0.25, 0.25}};
  EXPECT_EQ(choose_upconv({kNative, kGemm}, std::nullopt, tie.timer()).kind, kNative);
}

TEST(UpconvChoiceTest, OneCandidateIsNotTimed) {
  FakeTimer timer{{}};
  UpconvChoice choice = choose_upconv({kWinograd}, kNative, timer.timer());
  EXPECT_EQ(choice.kind, kWinograd);
  EXPECT_EQ(timer.calls, 0);
  EXPECT_TRUE(choice.trials.empty());
  EXPECT_EQ(describe_upconv_choice(choice, "auto"), "");
}

// A resumed run goes on in the form its checkpoint ran as, timing nothing, where that is a
// candidate now; a form that is not (another amp, say) is timed afresh.
TEST(UpconvChoiceTest, AResumedRunKeepsItsCheckpointsForm) {
  FakeTimer timer{{0.10, 0.90}};
  UpconvChoice kept = choose_upconv({kNative, kWinograd}, kWinograd, timer.timer());
  EXPECT_EQ(kept.kind, kWinograd);
  EXPECT_TRUE(kept.from_checkpoint);
  EXPECT_EQ(timer.calls, 0);
  EXPECT_EQ(describe_upconv_choice(kept, "auto"),
            "upconv winograd, as the checkpoint ran (model.upconv auto)");

  UpconvChoice timed = choose_upconv({kNative, kWinograd}, kGemm, timer.timer());
  EXPECT_EQ(timed.kind, kNative);
  EXPECT_FALSE(timed.from_checkpoint);
  EXPECT_EQ(timer.calls, 1);
}

// The real timer: one trial per kind in the asked order, each a real step's time, and the
// global generator (which seeds the run's weights) where it was.
TEST(UpconvChoiceTest, TimingStepsLeavesTheGlobalGeneratorAlone) {
  Config config;
  config.model.g_channels = 16;
  config.model.d_channels = 4;
  config.train.ema = 0.99;
  torch::manual_seed(11);
  const torch::Tensor expected = torch::rand({4});
  torch::manual_seed(11);
  const auto trials = time_upconv_steps(config, 1, 4, torch::kCPU, {kWinograd, kNative}, 2);
  EXPECT_TRUE(torch::equal(torch::rand({4}), expected));
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].kind, kWinograd);
  EXPECT_EQ(trials[1].kind, kNative);
  for (const auto& trial : trials) {
    EXPECT_TRUE(std::isfinite(trial.seconds)) << upconv_name(trial.kind);
    EXPECT_GT(trial.seconds, 0) << upconv_name(trial.kind);
  }
}

}  // namespace
}  // namespace dcgan
