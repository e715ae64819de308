#include "dcgan/train/trainer.h"

#include <gtest/gtest.h>
#include <stb_image.h>
#include <torch/version.h>

#include <cmath>
#include <filesystem>
#include <sstream>
#include <type_traits>

#include "dcgan/error.h"
#include "dcgan/io/checkpoint.h"
#include "dcgan/io/generator_file.h"
#include "dcgan/model/networks.h"
#include "dcgan/train/evaluation.h"
#include "testing/svhn_writer.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

// 36 images, batch 8: 4 steps per epoch (the last 4 images are dropped), 2 epochs.
Config tiny_config(const testing::TempDir& dir, const std::string& name) {
  Config config;
  config.data.train = dir.file("train.mat");
  config.model.g_channels = 16;
  config.model.d_channels = 4;
  config.train.epochs = 2;
  config.train.batch_size = 8;
  config.train.print_every = 1;
  config.train.show_every = 3;
  config.train.seed = 5;
  config.run.out_dir = dir.file("runs");
  config.run.name = name;
  config.run.device = "cpu";
  config.run.threads = 2;
  return config;
}

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DCGAN_SKIP_WITHOUT_MATIO();
    testing::write_random_svhn_mat(dir_.file("train.mat"), 36, 1);
  }
  std::string run(const std::string& name) const { return dir_.file("runs/" + name); }
  testing::TempDir dir_;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Metrics rows without the wall-clock column.
std::vector<std::string> metric_values(const std::string& run_dir) {
  std::vector<std::string> rows;
  for (const auto& line : lines_of(testing::read_text(run_dir + "/metrics.csv"))) {
    rows.push_back(line.substr(0, line.rfind(',')));
  }
  return rows;
}

void expect_png(const std::string& path, int width, int height, int channels) {
  int w = 0, h = 0, c = 0;
  ASSERT_EQ(stbi_info(path.c_str(), &w, &h, &c), 1) << path;
  EXPECT_EQ(w, width) << path;
  EXPECT_EQ(h, height) << path;
  EXPECT_EQ(c, channels) << path;
}

// An optimizer's state of parameter `p`. LibTorch 2 keys the state by the parameter's
// TensorImpl address, 1.13 by that address printed as text.
template <typename State>
const torch::optim::OptimizerParamState& state_of(const State& state, const torch::Tensor& p) {
  if constexpr (std::is_same_v<typename State::key_type, std::string>) {
    std::ostringstream key;
    key << p.unsafeGetTensorImpl();
    return *state.at(key.str());
  } else {
    return *state.at(p.unsafeGetTensorImpl());
  }
}

// Every parameter, buffer and optimizer-visible value of a training checkpoint.
std::map<std::string, torch::Tensor> checkpoint_tensors(const std::string& path) {
  Config config;
  CheckpointReader reader(path);
  apply_yaml_string(config, reader.read_string("config"), path);
  const int64_t channels = reader.read_int("channels");
  Generator g(config.model, channels, UpconvKind::kNative);
  Discriminator d(config.model, channels);
  reader.read_module("generator", *g);
  reader.read_module("discriminator", *d);
  std::map<std::string, torch::Tensor> all;
  for (const auto& p : g->named_parameters()) all["G." + p.key()] = p.value();
  for (const auto& b : g->named_buffers()) all["G." + b.key()] = b.value();
  for (const auto& p : d->named_parameters()) all["D." + p.key()] = p.value();
  for (const auto& b : d->named_buffers()) all["D." + b.key()] = b.value();
  // Adam's moments and step counts, per parameter in registration order.
  for (auto [name, module] : {std::pair<std::string, torch::nn::Module*>{"G", g.get()}, {"D", d.get()}}) {
    torch::optim::Adam adam(module->parameters());
    reader.read_optimizer(name == "G" ? "g_optimizer" : "d_optimizer", adam);
    int64_t i = 0;
    for (const auto& p : module->parameters()) {
      const auto& state =
          static_cast<const torch::optim::AdamParamState&>(state_of(adam.state(), p));
      const std::string prefix = name + "opt." + std::to_string(i++);
      all[prefix + ".exp_avg"] = state.exp_avg();
      all[prefix + ".exp_avg_sq"] = state.exp_avg_sq();
      all[prefix + ".step"] = torch::tensor(state.step());
    }
  }
  for (const char* key : {"noise_rng", "shuffle_rng", "fixed_noise"}) all[key] = reader.read_tensor(key);
  all["step"] = torch::tensor(reader.read_int("step"));
  return all;
}

void expect_same_checkpoints(const std::string& a, const std::string& b) {
  auto ta = checkpoint_tensors(a), tb = checkpoint_tensors(b);
  ASSERT_EQ(ta.size(), tb.size());
  for (const auto& [key, value] : ta) {
    EXPECT_TRUE(torch::equal(value, tb.at(key))) << key << " differs between " << a << " and " << b;
  }
}

TEST_F(TrainerTest, WritesTheWholeRunDirectory) {
  const Config config = tiny_config(dir_, "a");
  TrainOutcome outcome = train_new(config, "tiny");
  EXPECT_TRUE(outcome.finished);
  EXPECT_EQ(outcome.steps, 8);
  EXPECT_EQ(outcome.epochs, 2);
  EXPECT_EQ(outcome.run_dir, run("a"));

  Config saved;
  apply_yaml_file(saved, run("a") + "/config.yaml");
  EXPECT_EQ(to_yaml(saved), to_yaml(config));

  const auto rows = lines_of(testing::read_text(run("a") + "/metrics.csv"));
  ASSERT_EQ(rows.size(), 9u);
  EXPECT_EQ(rows[0], kMetricsHeader);
  for (int i = 1; i <= 8; ++i) {
    EXPECT_EQ(rows[i].rfind(std::to_string(i) + "," + std::to_string(i <= 4 ? 1 : 2) + ",", 0), 0u)
        << rows[i];
  }
  // 6x12 grids of 32x32 RGB cells with 2 px padding.
  expect_png(run("a") + "/samples/real.png", 12 * 34 + 2, 6 * 34 + 2, 3);
  for (int step : {3, 6, 8}) {
    expect_png(RunDir{run("a")}.step_samples(step), 12 * 34 + 2, 6 * 34 + 2, 3);
  }
  EXPECT_FALSE(std::filesystem::exists(RunDir{run("a")}.step_samples(4)));
  const std::string log = testing::read_text(run("a") + "/train.log");
  EXPECT_NE(log.find("done: 8 steps, 2 epochs"), std::string::npos);
  EXPECT_NE(log.find("effective config:\n" + to_yaml(config)), std::string::npos) << log;

  // generator.pt rebuilds G with the trained weights.
  LoadedGenerator loaded = load_generator_file(run("a") + "/generator.pt", torch::kCPU);
  EXPECT_EQ(loaded.channels, 3);
  auto trained = checkpoint_tensors(run("a") + "/checkpoint.pt");
  for (const auto& p : loaded.generator->named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value(), trained.at("G." + p.key()))) << p.key();
  }
}

TEST_F(TrainerTest, StoppedAndResumedRunEqualsUninterruptedRun) {
  train_new(tiny_config(dir_, "straight"), "tiny");

  // Stopped by the step limit mid-epoch (step 3 of 4), then resumed.
  Config limited = tiny_config(dir_, "limited");
  limited.train.max_steps = 3;
  TrainOutcome first = train_new(limited, "tiny");
  EXPECT_FALSE(first.finished);
  EXPECT_EQ(first.steps, 3);
  TrainOutcome rest = train_resume(run("limited"), {"train.max_steps=0"});
  EXPECT_TRUE(rest.finished);
  EXPECT_EQ(rest.steps, 8);

  // Stopped by a signal after the first step of epoch 2, then resumed.
  Config signalled = tiny_config(dir_, "signalled");
  signalled.train.max_steps = 5;
  train_new(signalled, "tiny");
  StopFlag stop;
  stop.requests = 1;
  try {
    train_resume(run("signalled"), {"train.max_steps=0"}, &stop);
    FAIL() << "no InterruptedError";
  } catch (const InterruptedError& e) {
    EXPECT_EQ(std::string(e.what()),
              "interrupted at step 6; checkpoint saved; continue with: dcgan train --resume " +
                  run("signalled"));
  }
  train_resume(run("signalled"), {"train.max_steps=0"});

  for (const char* name : {"limited", "signalled"}) {
    expect_same_checkpoints(run("straight") + "/checkpoint.pt", run(name) + "/checkpoint.pt");
    EXPECT_EQ(metric_values(run(name)), metric_values(run("straight"))) << name;
  }
}

// Beyond 2 threads `auto` has no measured pick on LibTorch 2: the run times LibTorch's layers and
// the form, logs both, runs the faster and records it in the checkpoint; a resume goes on in that
// form untimed, so that it computes as the run it continues. At 2 threads the pick is untimed.
TEST_F(TrainerTest, AutoTimesTheFormsBeyondTwoThreadsAndAResumeKeepsThePick) {
  Config two = tiny_config(dir_, "two");
  two.train.max_steps = 1;
  train_new(two, "tiny");
  const std::string measured =
      upconv_name(TORCH_VERSION_MAJOR < 2 ? UpconvKind::kPhase : UpconvKind::kWinograd);
  EXPECT_EQ(CheckpointReader(run("two") + "/checkpoint.pt").read_string("upconv"), measured);
  const std::string two_log = testing::read_text(run("two") + "/train.log");
  EXPECT_EQ(two_log.find("timed:"), std::string::npos) << two_log;
  EXPECT_NE(two_log.find("(" + measured + " upconv)"), std::string::npos) << two_log;

  Config three = tiny_config(dir_, "three");
  three.run.threads = 3;
  three.train.max_steps = 3;
  train_new(three, "tiny");
  const std::string ran = CheckpointReader(run("three") + "/checkpoint.pt").read_string("upconv");
  const std::string log = testing::read_text(run("three") + "/train.log");
  if (TORCH_VERSION_MAJOR < 2) {
    EXPECT_EQ(ran, "phase");
    EXPECT_EQ(log.find("timed:"), std::string::npos) << log;
    return;
  }
  EXPECT_TRUE(ran == "native" || ran == "winograd") << ran;
  EXPECT_NE(log.find("upconv " + ran + " (model.upconv auto at 3 threads, timed: native "),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("(" + ran + " upconv)"), std::string::npos) << log;

  train_resume(run("three"), {"train.max_steps=0"});
  const std::string resumed = testing::read_text(run("three") + "/train.log").substr(log.size());
  EXPECT_NE(resumed.find("upconv " + ran + ", as the checkpoint ran (model.upconv auto)"),
            std::string::npos)
      << resumed;
  EXPECT_EQ(resumed.find("timed:"), std::string::npos) << resumed;
  EXPECT_EQ(CheckpointReader(run("three") + "/checkpoint.pt").read_string("upconv"), ran);
}

// A checkpoint written before the layers' form was recorded (no "upconv" entry) ran `auto` beyond
// 2 threads as LibTorch's layers: resumed there, it goes on in them, untimed, and records them.
TEST_F(TrainerTest, ACheckpointWithoutItsFormGoesOnInLibTorchsLayers) {
  Config config = tiny_config(dir_, "old");
  config.run.threads = 3;
  config.train.max_steps = 2;
  train_new(config, "tiny");
  // The checkpoint again, entry by entry, without "upconv".
  const std::string path = run("old") + "/checkpoint.pt";
  {
    CheckpointReader reader(path);
    ASSERT_TRUE(reader.has("upconv"));
    ASSERT_FALSE(reader.has("generator_ema") || reader.has("best_fid") || reader.has("last_quality"));
    const int64_t channels = reader.read_int("channels");
    Generator g(config.model, channels, UpconvKind::kNative);
    Discriminator d(config.model, channels);
    reader.read_module("generator", *g);
    reader.read_module("discriminator", *d);
    torch::optim::Adam g_adam(g->parameters()), d_adam(d->parameters());
    reader.read_optimizer("g_optimizer", g_adam);
    reader.read_optimizer("d_optimizer", d_adam);
    CheckpointWriter writer(CheckpointKind::kTraining);
    writer.write_string("config", reader.read_string("config"));
    writer.write_int("channels", channels);
    writer.write_module("generator", *g);
    writer.write_module("discriminator", *d);
    writer.write_optimizer("g_optimizer", g_adam);
    writer.write_optimizer("d_optimizer", d_adam);
    for (const char* key : {"step", "epoch", "batch"}) writer.write_int(key, reader.read_int(key));
    for (const char* key : {"order", "fixed_noise", "noise_rng", "shuffle_rng"}) {
      writer.write_tensor(key, reader.read_tensor(key));
    }
    writer.save(path);
  }
  ASSERT_FALSE(CheckpointReader(path).has("upconv"));
  const std::string before = testing::read_text(run("old") + "/train.log");
  TrainOutcome outcome = train_resume(run("old"), {"train.max_steps=0"});
  EXPECT_TRUE(outcome.finished);
  const std::string resumed = testing::read_text(run("old") + "/train.log").substr(before.size());
  EXPECT_EQ(resumed.find("timed:"), std::string::npos) << resumed;
  // LibTorch 1.13 has one form for `auto` on the CPU, the phase form, and nothing to choose.
  const std::string expected = TORCH_VERSION_MAJOR < 2 ? "phase" : "native";
  EXPECT_NE(resumed.find("(" + expected + " upconv)"), std::string::npos) << resumed;
  EXPECT_EQ(CheckpointReader(path).read_string("upconv"), expected);
}

// Precision is a setting of the run, not of its files: a bf16 run's checkpoint holds fp32
// weights and Adam state, continues as an fp32 run, and that run's checkpoint continues in bf16.
TEST_F(TrainerTest, Bf16CheckpointsContinueInFp32AndBack) {
  Config config = tiny_config(dir_, "mixed");
  config.run.amp = "bf16";
  config.train.max_steps = 3;
  train_new(config, "tiny");
  for (const auto& [key, value] : checkpoint_tensors(run("mixed") + "/checkpoint.pt")) {
    if (value.is_floating_point()) {
      EXPECT_EQ(value.scalar_type(), torch::kFloat) << key;
    }
  }
  TrainOutcome fp32 = train_resume(run("mixed"), {"run.amp=none", "train.max_steps=6"});
  EXPECT_EQ(fp32.steps, 6);
  EXPECT_NE(testing::read_text(run("mixed") + "/config.yaml").find("amp: none"), std::string::npos);
  TrainOutcome back = train_resume(run("mixed"), {"run.amp=bf16", "train.max_steps=0"});
  EXPECT_TRUE(back.finished);
  EXPECT_EQ(back.steps, 8);
  EXPECT_TRUE(std::isfinite(back.last.d_loss) && std::isfinite(back.last.g_loss));
  const auto rows = lines_of(testing::read_text(run("mixed") + "/metrics.csv"));
  EXPECT_EQ(rows.size(), 9u);  // the header and steps 1..8, each once
}

TEST_F(TrainerTest, DivergenceStopsAndKeepsTheLastGoodCheckpoint) {
  Config config = tiny_config(dir_, "d");
  config.train.max_steps = 4;
  train_new(config, "tiny");
  const std::string good = testing::read_text(run("d") + "/checkpoint.pt");
  try {
    train_resume(run("d"), {"train.max_steps=0", "train.lr=1e30"});
    FAIL() << "no DivergedError";
  } catch (const DivergedError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("training diverged at step ", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("the last good checkpoint is kept in " + run("d") +
                                         "/checkpoint.pt"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(testing::read_text(run("d") + "/checkpoint.pt"), good);
}

TEST_F(TrainerTest, RefusesToOverwriteARun) {
  const Config config = tiny_config(dir_, "a");
  train_new(config, "tiny");
  try {
    train_new(config, "tiny");
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "run directory " + run("a") +
                                         " already exists and is not empty; continue it with "
                                         "--resume " + run("a") + " or choose another run.name");
  }
}

// A resume that is refused leaves the run as it was: the same config.yaml, metrics.csv and
// train.log (it is refused before the run logs its setup or times the layers' forms).
TEST_F(TrainerTest, ARefusedResumeChangesNothing) {
  Config config = tiny_config(dir_, "r");
  config.train.max_steps = 3;  // mid-epoch: batch 3 of 4
  train_new(config, "tiny");
  const std::string config_yaml = testing::read_text(run("r") + "/config.yaml");
  const std::string metrics = testing::read_text(run("r") + "/metrics.csv");
  const std::string log = testing::read_text(run("r") + "/train.log");
  auto refusal = [&](const std::vector<std::string>& overrides) -> std::string {
    try {
      train_resume(run("r"), overrides);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no ConfigError";
  };
  // Another batch size would go on from the wrong image of the epoch, or never end it.
  EXPECT_EQ(refusal({"train.max_steps=0", "train.batch_size=4"}),
            "key 'train.batch_size' cannot change on resume: " + run("r") +
                "/checkpoint.pt counts its steps in batches of 8 images");
  // The step limit that stopped it, not raised.
  EXPECT_EQ(refusal({"train.lr=0.001"}),
            "key 'train.max_steps' is 3 but the run is already at step 3; raise it (0 = no limit) "
            "to continue");
  EXPECT_EQ(testing::read_text(run("r") + "/config.yaml"), config_yaml);
  EXPECT_EQ(testing::read_text(run("r") + "/metrics.csv"), metrics);
  EXPECT_EQ(testing::read_text(run("r") + "/train.log"), log);
}

// quality.csv's rows after the checkpoint are of steps the resumed run repeats: they go at the
// resume, not at the first measurement after it, which need not come (here eval.every is 0).
TEST_F(TrainerTest, ResumeDropsQualityRowsAfterTheCheckpoint) {
  Config config = tiny_config(dir_, "q");
  config.train.max_steps = 3;
  config.eval.every = 0;
  train_new(config, "tiny");
  const std::string header = kQualityHeader;
  testing::write_text(run("q") + "/quality.csv",
                      header + "\n2,100,50.0,1.0,0.1,0.5,0.5,0.5,0.5,1.0\n"
                               "5,100,40.0,1.0,0.1,0.5,0.5,0.5,0.5,1.0\n");
  train_resume(run("q"), {"train.max_steps=0"});
  EXPECT_EQ(testing::read_text(run("q") + "/quality.csv"),
            header + "\n2,100,50.0,1.0,0.1,0.5,0.5,0.5,0.5,1.0\n");
}

TEST_F(TrainerTest, InputErrorsNameTheKey) {
  Config config = tiny_config(dir_, "b");
  config.train.batch_size = 64;
  try {
    train_new(config, "tiny");
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "key 'train.batch_size' is 64 but the training set has only 36 images");
  }
  config = tiny_config(dir_, "c");
  config.data.train.clear();
  EXPECT_THROW(train_new(config, "tiny"), ConfigError);
  // Rejected input leaves no run directory behind.
  EXPECT_FALSE(std::filesystem::exists(dir_.file("runs")));
  try {
    train_resume(dir_.file("nowhere"), {});
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "--resume: " + dir_.file("nowhere") + "/checkpoint.pt not found (not a run directory?)");
  }
}

}  // namespace
}  // namespace dcgan
