// Distributed training with real processes: ranks of the real executable on 127.0.0.1, joined
// through c10d's TCPStore and Gloo, launched as torchrun would (RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR, MASTER_PORT).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cmath>
#include <fstream>
#include <sstream>
#include <functional>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <torch/version.h>

#include "dcgan/config/config.h"
#include "dcgan/dist/process_group.h"
#include "dcgan/io/checkpoint.h"
#include "dcgan/model/networks.h"
#include "testing/image_writer.h"
#include "testing/process.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using testing::last_line;
using testing::Process;
using testing::ProcessResult;

constexpr int64_t kImages = 48;
constexpr int64_t kBatch = 12;  // the global batch: splits over 1, 2, 3 and 4 ranks
constexpr int64_t kStepsPerEpoch = kImages / kBatch;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The environment torchrun gives rank `rank` of `world`.
std::vector<std::string> rank_env(int rank, int world, int port) {
  return {"RANK=" + std::to_string(rank), "WORLD_SIZE=" + std::to_string(world),
          "LOCAL_RANK=" + std::to_string(rank), "MASTER_ADDR=127.0.0.1",
          "MASTER_PORT=" + std::to_string(port)};
}

// The ranks of one distributed run, started together.
class Ranks {
 public:
  // `per_rank(r)`: extra arguments for rank r only.
  Ranks(int world, const std::vector<std::string>& args,
        const std::function<std::vector<std::string>(int)>& per_rank = nullptr)
      : port_(testing::free_local_port()) {
    for (int r = 0; r < world; ++r) {
      std::vector<std::string> all = args;
      if (per_rank) {
        const auto extra = per_rank(r);
        all.insert(all.end(), extra.begin(), extra.end());
      }
      testing::ProcessOptions options;
      options.env = rank_env(r, world, port_);
      processes_.push_back(std::make_unique<Process>(testing::dcgan_exe(), all, options));
    }
  }
  Process& operator[](int rank) { return *processes_[rank]; }
  int port() const { return port_; }

  // Every rank's result; a rank still running after `timeout` fails the test.
  std::vector<ProcessResult> wait(seconds timeout = seconds(180)) {
    std::vector<ProcessResult> results;
    for (size_t r = 0; r < processes_.size(); ++r) {
      auto result = processes_[r]->wait(timeout);
      if (!result) {
        ADD_FAILURE() << "rank " << r << " still runs after " << timeout.count() << " s:\n"
                      << processes_[r]->output();
        results.push_back(ProcessResult{});
      } else {
        results.push_back(*result);
      }
    }
    return results;
  }

 private:
  int port_;
  std::vector<std::unique_ptr<Process>> processes_;
};

void expect_all_succeeded(const std::vector<ProcessResult>& results) {
  for (size_t r = 0; r < results.size(); ++r) {
    EXPECT_EQ(results[r].code, 0) << "rank " << r << ":\n" << results[r].output;
  }
}

// G's and D's parameters and batch-norm buffers from a run's checkpoint.
std::vector<torch::Tensor> checkpoint_weights(const std::string& run) {
  CheckpointReader reader(run + "/checkpoint.pt");
  Config config;
  apply_yaml_string(config, reader.read_string("config"), "stored config");
  Generator g(config.model, 3, UpconvKind::kNative);
  Discriminator d(config.model, 3);
  reader.read_module("generator", *g);
  reader.read_module("discriminator", *d);
  std::vector<torch::Tensor> weights;
  for (auto* module : {static_cast<torch::nn::Module*>(g.get()), static_cast<torch::nn::Module*>(d.get())}) {
    for (const auto& p : module->parameters()) weights.push_back(p.detach().clone());
  }
  return weights;
}

// ||a - b|| / ||a|| over all tensors: Adam's first steps move a weight by about the learning rate
// whatever the size of its gradient, so a weight whose gradient is near zero can move either way
// on a rounding difference. The relative distance over all weights is what tells runs apart.
double relative_distance(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  EXPECT_EQ(a.size(), b.size());
  double diff = 0, norm = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    diff += (a[i] - b[i]).to(torch::kDouble).square().sum().item<double>();
    norm += a[i].to(torch::kDouble).square().sum().item<double>();
  }
  return std::sqrt(diff / norm);
}

// metrics.csv's d_loss, g_loss, D(x) and D(G(z)), step by step.
std::vector<double> logged_losses(const std::string& run) {
  std::ifstream in(run + "/metrics.csv");
  std::vector<double> values;
  std::string line;
  std::getline(in, line);  // header: step,epoch,d_loss,g_loss,d_real,d_fake,...
  while (std::getline(in, line)) {
    std::stringstream fields(line);
    std::string field;
    for (int column = 0; column < 6 && std::getline(fields, field, ','); ++column) {
      if (column >= 2) values.push_back(std::stod(field));
    }
  }
  return values;
}

double max_difference(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

class DistributedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    shared_ = new testing::TempDir;
    fs::create_directories(shared_->file("cifar"));
    torch::manual_seed(5);
    testing::write_cifar10(shared_->file("cifar/data_batch_1.bin"),
                           torch::randint(0, 256, {kImages, 3, 32, 32}, torch::kUInt8),
                           torch::arange(kImages, torch::kLong) % 10);
    testing::write_text(
        shared_->file("tiny.yaml"),
        "data:\n  format: cifar10\n  train: " + shared_->file("cifar") +
            "\nmodel:\n  g_channels: 16\n  d_channels: 4\n"
            "train:\n  epochs: 2\n  batch_size: " + std::to_string(kBatch) +
            "\n  print_every: 1\n  show_every: 100\n"
            "run:\n  device: cpu\n  threads: 1\n  dist_timeout: 60\n  out_dir: " +
            shared_->file("runs") + "\nsample:\n  grid: 2x3\neval:\n  every: 0\n");
  }
  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
  }
  void SetUp() override {
    if (!backend_available("gloo")) GTEST_SKIP() << "this build has no Gloo backend";
  }

  static std::string config() { return shared_->file("tiny.yaml"); }
  static std::string run(const std::string& name) { return shared_->file("runs/" + name); }
  // `dcgan train` arguments for a run called `name`, with `sets` as --set overrides.
  static std::vector<std::string> train(const std::string& name, const std::vector<std::string>& sets = {}) {
    std::vector<std::string> args{"train", "--config", config(), "--name", name};
    for (const auto& s : sets) {
      args.push_back("--set");
      args.push_back(s);
    }
    return args;
  }
  // One process, no distributed environment: the run every distributed one is compared with.
  static void single_process(const std::string& name, const std::vector<std::string>& sets = {}) {
    const ProcessResult result = testing::run_dcgan(train(name, sets));
    ASSERT_EQ(result.code, 0) << result.output;
  }

  static testing::TempDir* shared_;
};

testing::TempDir* DistributedTest::shared_ = nullptr;

class RanksTest : public DistributedTest, public ::testing::WithParamInterface<int> {};

// Every rank holds the same weights after every step (run.dist_verify compares them bit for bit
// and stops the run otherwise); only rank 0 writes, and it logs the global batch's statistics.
TEST_P(RanksTest, WeightsStayIdenticalAndOnlyRankZeroWrites) {
  const int world = GetParam();
  const std::string name = "verify" + std::to_string(world);
  Ranks ranks(world, train(name, {"run.dist_verify=true"}));
  const auto results = ranks.wait();
  expect_all_succeeded(results);
  const int64_t steps = 2 * kStepsPerEpoch;
  EXPECT_TRUE(contains(results[0].output,
                       "dist_verify: the " + std::to_string(world) +
                           " ranks held identical weights after each of " + std::to_string(steps) +
                           " steps"))
      << results[0].output;
  EXPECT_TRUE(contains(results[0].output, std::to_string(world) + " ranks over gloo; global batch 12, " +
                                               std::to_string(12 / world) + " per rank"))
      << results[0].output;
  for (int r = 1; r < world; ++r) {
    EXPECT_FALSE(contains(results[r].output, "[info]")) << "rank " << r << ":\n" << results[r].output;
  }
  // One run directory, one metrics row per step.
  int entries = 0;
  for (const auto& entry : fs::directory_iterator(shared_->file("runs"))) {
    entries += contains(entry.path().filename().string(), "verify" + std::to_string(world));
  }
  EXPECT_EQ(entries, 1);
  std::ifstream metrics(run(name) + "/metrics.csv");
  int lines = 0;
  for (std::string line; std::getline(metrics, line);) ++lines;
  EXPECT_EQ(lines, 1 + steps);
  EXPECT_EQ(CheckpointReader(run(name) + "/checkpoint.pt").read_int("step"), steps);
}

INSTANTIATE_TEST_SUITE_P(Gloo, RanksTest, ::testing::Values(2, 3),
                         [](const auto& info) { return std::to_string(info.param) + "Ranks"; });

// The largest difference in logged losses between two runs that are the same run up to the order
// of floating-point sums; different runs here differ by 1e-3 and more.
constexpr double kSameRun = 1e-4;

// With model.sync_bn, 2 ranks on 6 images each train the run that 1 process trains on the 12:
// the same data order, noise and batch statistics, up to the order of floating-point sums
// (LibTorch 1.13's on a 2-core AMD EPYC: 1.6e-5 in the losses after 8 steps; kSameRun).
// Without it each rank normalises its own 6 images: a different run (0.047 there).
TEST_F(DistributedTest, SyncBatchNormEqualsOneProcessOnTheGlobalBatch) {
  ASSERT_NO_FATAL_FAILURE(single_process("single"));
  for (const std::string sync : {"true", "false"}) {
    Ranks ranks(2, train("two-sync-" + sync, {"model.sync_bn=" + sync}));
    expect_all_succeeded(ranks.wait());
  }
  // The losses and D's outputs of all 8 steps (the mean over ranks of a distributed run).
  const auto single = logged_losses(run("single"));
  ASSERT_EQ(single.size(), 4u * 2 * kStepsPerEpoch);
  const double synced = max_difference(single, logged_losses(run("two-sync-true")));
  const double local = max_difference(single, logged_losses(run("two-sync-false")));
  EXPECT_LT(synced, kSameRun) << "per-rank statistics: " << local;
  EXPECT_GT(local, 1e-3) << "synced: " << synced;
  // The weights: Adam turns rounding differences in near-zero gradients into steps of about the
  // learning rate, so their distance is small rather than tiny.
  const auto weights = checkpoint_weights(run("single"));
  const double synced_weights = relative_distance(weights, checkpoint_weights(run("two-sync-true")));
  const double local_weights = relative_distance(weights, checkpoint_weights(run("two-sync-false")));
  EXPECT_LT(synced_weights, 1e-3);
  EXPECT_GT(local_weights, 5 * synced_weights);
}

// A run stopped on 2 ranks and resumed on 3 is the run 1 process makes straight through (with
// sync_bn, which makes the world size immaterial).
TEST_F(DistributedTest, ResumesUnderAnotherWorldSize) {
  ASSERT_NO_FATAL_FAILURE(single_process("straight"));
  {
    Ranks two(2, train("resized", {"model.sync_bn=true", "train.max_steps=3"}));
    expect_all_succeeded(two.wait());
  }
  ASSERT_EQ(CheckpointReader(run("resized") + "/checkpoint.pt").read_int("step"), 3);
  Ranks three(3, {"train", "--resume", run("resized"), "--set", "train.max_steps=0"});
  const auto results = three.wait();
  expect_all_succeeded(results);
  EXPECT_TRUE(contains(results[0].output, "resumed at step 3")) << results[0].output;
  EXPECT_TRUE(contains(results[0].output, "3 ranks over gloo")) << results[0].output;
  EXPECT_EQ(CheckpointReader(run("resized") + "/checkpoint.pt").read_int("step"), 2 * kStepsPerEpoch);
  EXPECT_LT(max_difference(logged_losses(run("straight")), logged_losses(run("resized"))),
            kSameRun);
  EXPECT_LT(relative_distance(checkpoint_weights(run("straight")), checkpoint_weights(run("resized"))),
            1e-3);
}

// A killed rank ends the others within seconds, with one line naming it; the last checkpoint
// stays whole and a relaunch resumes from it.
TEST_F(DistributedTest, KilledRankEndsTheOthersAndTheRunResumes) {
  const std::string name = "killed";
  Ranks ranks(3, train(name, {"train.epochs=1000"}));
  ASSERT_TRUE(ranks[0].wait_for_output("checkpoint at step " + std::to_string(kStepsPerEpoch),
                                       seconds(120)))
      << ranks[0].output();
  ranks[2].send_signal(SIGKILL);
  const auto killed_at = std::chrono::steady_clock::now();
  const auto results = ranks.wait(seconds(60));
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, seconds(30));
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(results[r].code, 7) << results[r].output;
    const std::string line = last_line(results[r].output);
    EXPECT_EQ(line.rfind("dcgan: error: rank " + std::to_string(r) + ": ", 0), 0u) << line;
    EXPECT_TRUE(contains(line, "rank 2 did not answer (exited, killed or hung)")) << line;
  }
  const int64_t saved = CheckpointReader(run(name) + "/checkpoint.pt").read_int("step");
  EXPECT_GE(saved, kStepsPerEpoch);
  Ranks again(2, {"train", "--resume", run(name), "--set",
                  "train.max_steps=" + std::to_string(saved + 2)});
  const auto resumed = again.wait();
  expect_all_succeeded(resumed);
  EXPECT_TRUE(contains(resumed[0].output, "resumed at step " + std::to_string(saved)))
      << resumed[0].output;
}

// Ctrl-C reaches one rank (or all): every rank stops after the same step, rank 0 writes the
// checkpoint, and a relaunch goes on from it.
TEST_F(DistributedTest, InterruptOnOneRankStopsAllWithACheckpoint) {
  const std::string name = "interrupted";
  Ranks ranks(2, train(name, {"train.epochs=1000"}));
  ASSERT_TRUE(ranks[0].wait_for_output("step 3 |", seconds(120))) << ranks[0].output();
  ranks[1].send_signal(SIGINT);
  const auto results = ranks.wait(seconds(60));
  for (int r = 0; r < 2; ++r) EXPECT_EQ(results[r].code, 130) << results[r].output;
  EXPECT_TRUE(contains(last_line(results[0].output), "checkpoint saved; continue with: dcgan train --resume " + run(name)))
      << results[0].output;
  const int64_t saved = CheckpointReader(run(name) + "/checkpoint.pt").read_int("step");
  EXPECT_GE(saved, 3);
  Ranks again(2, {"train", "--resume", run(name), "--set", "train.max_steps=" + std::to_string(saved + 1)});
  expect_all_succeeded(again.wait());
  EXPECT_EQ(CheckpointReader(run(name) + "/checkpoint.pt").read_int("step"), saved + 1);
}

// scripts/launch.sh starts the ranks as torchrun would, prefixes their output and passes on the
// first failure's exit status.
TEST_F(DistributedTest, LaunchScriptStartsTheRanks) {
  const std::string script = std::string(DCGAN_SOURCE_DIR) + "/scripts/launch.sh";
  std::vector<std::string> args{script, "2", "--port", std::to_string(testing::free_local_port()), "--",
                                testing::dcgan_exe()};
  for (const auto& a : train("launched", {"run.dist_verify=true", "train.max_steps=2"})) args.push_back(a);
  const ProcessResult ok = testing::run_process("/bin/bash", args, seconds(180));
  EXPECT_EQ(ok.code, 0) << ok.output;
  EXPECT_TRUE(contains(ok.output, "[rank 0] ")) << ok.output;
  EXPECT_TRUE(contains(ok.output, "the 2 ranks held identical weights after each of 2 steps")) << ok.output;
  const ProcessResult bad = testing::run_process(
      "/bin/bash", {script, "2", "--", testing::dcgan_exe(), "train", "--config", config(), "--set",
                    "train.batch_size=5"},
      seconds(60));
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_TRUE(contains(bad.output, "[rank 1] dcgan: error: key 'train.batch_size' is 5")) << bad.output;
}

// Ctrl-C reaches the launcher (each rank runs in a session of its own, so only through it): it
// passes the signal on once, and every rank stops with rank 0's checkpoint.
TEST_F(DistributedTest, LaunchScriptPassesCtrlCOnOnce) {
  const std::string script = std::string(DCGAN_SOURCE_DIR) + "/scripts/launch.sh";
  std::vector<std::string> args{script, "2", "--port", std::to_string(testing::free_local_port()), "--",
                                testing::dcgan_exe()};
  for (const auto& a : train("launch-interrupted", {"train.epochs=1000"})) args.push_back(a);
  Process launcher("/bin/bash", args);
  ASSERT_TRUE(launcher.wait_for_output("step 3 |", seconds(120))) << launcher.output();
  launcher.send_signal(SIGINT);
  const auto result = launcher.wait(seconds(60));
  ASSERT_TRUE(result.has_value()) << launcher.output();
  EXPECT_EQ(result->code, 130) << result->output;
  for (const std::string rank : {"0", "1"}) {
    EXPECT_TRUE(contains(result->output, "[rank " + rank + "] dcgan: error: interrupted at step"))
        << result->output;
  }
  EXPECT_FALSE(contains(result->output, "second signal")) << result->output;
  EXPECT_GE(CheckpointReader(run("launch-interrupted") + "/checkpoint.pt").read_int("step"), 3);
}

// dcgan bench under a launcher: each rank times its share with the gradients averaged, and rank 0
// reports every rank's rate, the total and the communication share.
TEST_F(DistributedTest, BenchReportsEveryRankAndTheTotal) {
  const std::string script = std::string(DCGAN_SOURCE_DIR) + "/scripts/launch.sh";
  const ProcessResult result = testing::run_process(
      "/bin/bash",
      {script, "2", "--port", std::to_string(testing::free_local_port()), "--", testing::dcgan_exe(),
       "bench", "--device", "cpu", "--threads", "1", "--batch-size", "8", "--steps", "2", "--warmup", "1"},
      seconds(180));
  EXPECT_EQ(result.code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "[rank 0] distributed: 2 ranks over gloo, 4 images per rank")) << result.output;
  const auto at = result.output.find("[rank 0] per rank: ");
  ASSERT_NE(at, std::string::npos) << result.output;
  double first = 0, second = 0, total = 0;
  ASSERT_EQ(std::sscanf(result.output.c_str() + at, "[rank 0] per rank: %lf, %lf images/s; total %lf", &first,
                        &second, &total),
            3)
      << result.output;
  EXPECT_GT(first, 0);
  EXPECT_GT(second, 0);
  EXPECT_NEAR(total, 2 * std::min(first, second), 0.2);
  EXPECT_TRUE(contains(result.output, "communication ")) << result.output;
  EXPECT_FALSE(contains(result.output, "[rank 1] per rank")) << result.output;
}

// A rank that hangs (stopped, not dead) ends the others after run.dist_timeout.
TEST_F(DistributedTest, HungRankEndsTheOthersAfterTheTimeout) {
  Ranks ranks(2, train("hung", {"train.epochs=1000", "run.dist_timeout=8"}));
  ASSERT_TRUE(ranks[0].wait_for_output("step 2 |", seconds(120))) << ranks[0].output();
  ranks[1].send_signal(SIGSTOP);
  const auto stopped_at = std::chrono::steady_clock::now();
  const auto result = ranks[0].wait(seconds(60));
  ASSERT_TRUE(result.has_value()) << ranks[0].output();
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, seconds(30));
  EXPECT_EQ(result->code, 7) << result->output;
  EXPECT_TRUE(contains(last_line(result->output), "rank 1 did not answer")) << result->output;
  ranks[1].send_signal(SIGKILL);
}

TEST_F(DistributedTest, UnreachableStoreIsNamed) {
  const int port = testing::free_local_port();
  testing::ProcessOptions options;
  options.env = rank_env(1, 2, port);
  Process lonely(testing::dcgan_exe(), train("lonely", {"run.dist_timeout=2"}), options);
  const auto result = lonely.wait(seconds(60));
  ASSERT_TRUE(result.has_value()) << lonely.output();
  EXPECT_EQ(result->code, 7) << result->output;
  EXPECT_EQ(last_line(result->output).rfind("dcgan: error: rank 1: cannot join the store at 127.0.0.1:" +
                                                std::to_string(port) + " within 2 s",
                                            0),
            0u)
      << result->output;
  EXPECT_FALSE(fs::exists(run("lonely")));
}

TEST_F(DistributedTest, MismatchedConfigsAreRefusedBeforeAnythingIsWritten) {
  Ranks ranks(2, train("mismatch"), [](int rank) {
    return rank == 1 ? std::vector<std::string>{"--set", "train.lr=0.001"} : std::vector<std::string>{};
  });
  const auto results = ranks.wait();
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(results[r].code, 7) << results[r].output;
    EXPECT_TRUE(contains(last_line(results[r].output), "the config or training data of rank(s) 1 differ"))
        << results[r].output;
  }
  EXPECT_FALSE(fs::exists(run("mismatch")));
}

TEST_F(DistributedTest, IncompleteOrImpossibleLaunchIsRefused) {
  auto one = [](const std::vector<std::string>& env, const std::vector<std::string>& args) {
    testing::ProcessOptions options;
    options.env = env;
    Process p(testing::dcgan_exe(), args, options);
    return *p.wait(seconds(60));
  };
  const ProcessResult no_rank = one({"WORLD_SIZE=2"}, train("incomplete"));
  EXPECT_EQ(no_rank.code, 2) << no_rank.output;
  EXPECT_EQ(last_line(no_rank.output),
            "dcgan: error: environment variable RANK is not set (WORLD_SIZE is 2); torchrun and "
            "scripts/launch.sh set it for each process");
  const ProcessResult bad = one({"WORLD_SIZE=two"}, train("incomplete"));
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_EQ(last_line(bad.output),
            "dcgan: error: environment variable WORLD_SIZE must be an integer from 1 to 1048576, "
            "got 'two'");
  const ProcessResult uneven = one(rank_env(0, 5, testing::free_local_port()), train("incomplete"));
  EXPECT_EQ(uneven.code, 2) << uneven.output;
  EXPECT_EQ(last_line(uneven.output),
            "dcgan: error: key 'train.batch_size' is 12, the global batch, which must split evenly "
            "over the 5 ranks (WORLD_SIZE)");
  EXPECT_FALSE(fs::exists(run("incomplete")));
}

// A backend the build or the device lacks is one line, before anything is written.
TEST_F(DistributedTest, UnavailableBackendIsRefused) {
  testing::ProcessOptions options;
  options.env = rank_env(0, 1, testing::free_local_port());
  Process nccl(testing::dcgan_exe(), train("nccl", {"run.dist_backend=nccl"}), options);
  const auto result = nccl.wait(seconds(60));
  ASSERT_TRUE(result.has_value()) << nccl.output();
  EXPECT_EQ(result->code, 2) << result->output;
  const std::string expected =
      backend_available("nccl")
          ? "dcgan: error: key 'run.dist_backend' is nccl, which needs a CUDA device; the run is on cpu"
          : "dcgan: error: key 'run.dist_backend' is nccl but this dcgan was built without it (NCCL "
            "needs a CUDA build of LibTorch 2.x and nccl.h)";
  EXPECT_EQ(last_line(result->output), expected);
  EXPECT_FALSE(fs::exists(run("nccl")));
}

// torchrun itself, where the Python beside the build has the PyTorch it links against: its agent
// hosts the store and every rank joins it.
TEST_F(DistributedTest, TorchrunLaunchesTheRanks) {
  const std::string python = DCGAN_PYTHON;
  if (python.empty()) GTEST_SKIP() << "no Python with PyTorch configured (DCGAN_PYTHON)";
  const ProcessResult version = testing::run_process(
      python, {"-c", "import torch; print(torch.__version__.split('+')[0])"});
  const std::string ours = std::to_string(TORCH_VERSION_MAJOR) + "." +
                           std::to_string(TORCH_VERSION_MINOR) + "." +
                           std::to_string(TORCH_VERSION_PATCH);
  if (version.code != 0 || last_line(version.output) != ours) {
    GTEST_SKIP() << python << " has no PyTorch " << ours << " (" << last_line(version.output) << ")";
  }
  std::vector<std::string> args{"-m", "torch.distributed.run", "--nproc-per-node", "2",
                                "--master-addr", "127.0.0.1", "--master-port",
                                std::to_string(testing::free_local_port()), "--no-python", testing::dcgan_exe()};
  for (const auto& a : train("torchrun", {"run.dist_verify=true", "train.max_steps=3"})) args.push_back(a);
  const ProcessResult result = testing::run_process(python, args, seconds(180));
  EXPECT_EQ(result.code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "(torchrun's)") || contains(result.output, "2 ranks over gloo"))
      << result.output;
  EXPECT_TRUE(contains(result.output, "the 2 ranks held identical weights after each of 3 steps"))
      << result.output;
  EXPECT_EQ(CheckpointReader(run("torchrun") + "/checkpoint.pt").read_int("step"), 3);
}

}  // namespace
}  // namespace dcgan
