// The reliability promises of the README, checked through the real `dcgan` executable: runs that
// are killed, interrupted, fed damaged checkpoints or bad configs, or cannot write their output.
// Every case checks the exit code, the one-line message and that nothing partial is left behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "dcgan/config/config.h"
#include "dcgan/error.h"
#include "dcgan/io/generator_file.h"
#include "dcgan/model/networks.h"
#include "testing/process.h"
#include "testing/svhn_writer.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::last_line;
using testing::Process;
using testing::ProcessOptions;
using testing::ProcessResult;
using testing::read_text;
using testing::run_dcgan;
using testing::write_text;

// The tiny run every test trains: 40 images, batch 8 => 5 steps per epoch, 4 epochs.
constexpr int kStepsPerEpoch = 5;
constexpr int kSteps = 4 * kStepsPerEpoch;
const std::string kDone = "done: " + std::to_string(kSteps) + " steps";

// Output that must never appear, whatever happens: an uncaught exception or a LibTorch backtrace.
void expect_no_crash_text(const std::string& output, const std::string& what) {
  for (const char* bad : {"terminate called", "Exception raised from", "frame #", "internal error",
                          "LOG ERROR", "Aborted"}) {
    EXPECT_EQ(output.find(bad), std::string::npos) << what << ": printed '" << bad << "':\n"
                                                   << output;
  }
}

// A failure is exactly one `dcgan: error:` line, the last one.
void expect_one_error_line(const ProcessResult& result, const std::string& what) {
  size_t count = 0;
  for (size_t at = 0; (at = result.output.find("dcgan: error:", at)) != std::string::npos; ++at)
    ++count;
  EXPECT_EQ(count, 1u) << what << ":\n" << result.output;
  EXPECT_EQ(last_line(result.output).rfind("dcgan: error: ", 0), 0u) << what << ":\n"
                                                                     << result.output;
  expect_no_crash_text(result.output, what);
}

// Every path under `root`, relative, with the bytes of regular files: a snapshot to compare.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> files;
  std::error_code error;
  if (!fs::exists(root, error)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const std::string name = fs::relative(entry.path(), root).string();
    files[name] = entry.is_regular_file() ? read_text(entry.path().string()) : "<dir>";
  }
  return files;
}

// Leftovers of write_file_atomic: "<file>.tmp-<pid>".
std::vector<std::string> temp_files(const fs::path& root) {
  std::vector<std::string> found;
  std::error_code error;
  if (!fs::exists(root, error)) return found;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) {
      found.push_back(entry.path().string());
    }
  }
  return found;
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

// metrics.csv rows without the wall-clock column (images_per_sec), which no two runs share.
std::vector<std::string> metrics_without_speed(const std::string& run) {
  std::istringstream in(read_text(run + "/metrics.csv"));
  std::vector<std::string> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(line.substr(0, line.rfind(',')));
  return rows;
}

// metrics.csv has one row per step 1..kSteps (print_every 1), in order: a resume drops the rows
// written after the checkpoint it continues from.
void expect_one_row_per_step(const std::string& run) {
  const auto rows = metrics_without_speed(run);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kSteps + 1)) << join(rows);
  EXPECT_EQ(rows[0].rfind("step,epoch,", 0), 0u) << rows[0];
  for (int step = 1; step <= kSteps; ++step) {
    EXPECT_EQ(rows[step].substr(0, rows[step].find(',')), std::to_string(step)) << join(rows);
  }
}

void copy_run(const std::string& from, const std::string& to) {
  fs::create_directories(fs::path(to).parent_path());
  fs::copy(from, to, fs::copy_options::recursive);
}

class ReliabilityTest : public ::testing::Test {
 protected:
  // The data and config every test trains on. The reference runs below are made on first use,
  // once per test process (ctest runs each test in a process of its own).
  static void SetUpTestSuite() {
    shared_ = new testing::TempDir;
    if (!testing::kHaveMatio) return;  // SetUp skips every test
    testing::write_random_svhn_mat(shared_->file("train.mat"), 40, 3);
    write_text(shared_->file("tiny.yaml"),
               "data:\n  train: " + shared_->file("train.mat") +
                   "\nmodel:\n  g_channels: 16\n  d_channels: 4\n"
                   "train:\n  epochs: 4\n  batch_size: 8\n  print_every: 1\n  show_every: 2\n"
                   "run:\n  device: cpu\n  threads: 1\n  out_dir: " +
                   shared_->file("runs") + "\nsample:\n  grid: 2x3\n");
  }
  void SetUp() override { DCGAN_SKIP_WITHOUT_MATIO(); }
  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
    straight_grid_.clear();  // InterruptTest, a suite of its own, makes its own runs
  }

  // The uninterrupted run that every interrupted one must equal, timed so that kills can be
  // aimed at start-up and at the training steps. Use through ASSERT_NO_FATAL_FAILURE.
  static void need_straight_run() {
    if (straight_grid_.empty()) {
      const auto start = std::chrono::steady_clock::now();
      Process straight(testing::dcgan_exe(), {"train", "--config", config(), "--name", "straight"});
      ASSERT_TRUE(straight.wait_for_output("step 1 |", seconds(120))) << straight.output();
      startup_time_ =
          std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
      const auto result = straight.wait(seconds(120));
      ASSERT_TRUE(result.has_value()) << straight.output();
      ASSERT_EQ(result->code, 0) << result->output;
      ASSERT_NE(result->output.find(kDone), std::string::npos) << result->output;
      const auto run_time =
          std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
      step_time_ = std::max(milliseconds(1), (run_time - startup_time_) / kSteps);
      straight_grid_ = sample_grid(straight_run());
    }
    ASSERT_EQ(straight_grid_.rfind("sample failed", 0), std::string::npos) << straight_grid_;
  }

  // A run stopped by train.max_steps at the end of epoch 1, with its first checkpoint; tests
  // copy it before changing anything. Use through ASSERT_NO_FATAL_FAILURE.
  static void need_partial_run() {
    if (!fs::exists(partial_run() + "/checkpoint.pt")) {
      const ProcessResult result = run_dcgan({"train", "--config", config(), "--name", "partial",
                                              "--max-steps", std::to_string(kStepsPerEpoch)});
      ASSERT_EQ(result.code, 0) << result.output;
    }
    ASSERT_TRUE(fs::exists(partial_run() + "/checkpoint.pt"));
  }

  static std::string config() { return shared_->file("tiny.yaml"); }
  static std::string straight_run() { return shared_->file("runs/straight"); }
  // Resume it with --set train.max_steps=0.
  static std::string partial_run() { return shared_->file("runs/partial"); }

  // `dcgan sample --seed 1` through the run's generator.pt: the bytes of the PNG grid.
  static std::string sample_grid(const std::string& run) {
    const std::string out = run + "-grid.png";
    const ProcessResult result = run_dcgan(
        {"sample", "--ckpt", run + "/generator.pt", "--grid", "3x4", "--seed", "1", "--out", out});
    if (result.code != 0) return "sample failed: " + result.output;
    std::string bytes = read_text(out);
    fs::remove(out);
    return bytes;
  }

  // The run in `run` finished and is the uninterrupted run, bit for bit.
  void expect_same_as_straight(const std::string& run) {
    const auto rows = metrics_without_speed(run);
    const auto reference = metrics_without_speed(straight_run());
    for (size_t i = 0; i < std::min(rows.size(), reference.size()); ++i) {
      if (rows[i] != reference[i]) {
        ADD_FAILURE() << run << ": metrics.csv row " << i << " is\n  " << rows[i]
                      << "\nin the straight run\n  " << reference[i];
        break;
      }
    }
    EXPECT_TRUE(sample_grid(run) == straight_grid_)
        << run << ": samples differ from the straight run";
    EXPECT_TRUE(read_text(run + "/samples/step_000020.png") ==
                read_text(straight_run() + "/samples/step_000020.png"))
        << run << ": the last fixed-noise grid differs from the straight run's";
    expect_one_row_per_step(run);
    EXPECT_EQ(temp_files(run), std::vector<std::string>{});
  }

  ProcessResult resume(const std::string& run, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"train", "--resume", run};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_dcgan(args);
  }

  static testing::TempDir* shared_;
  static milliseconds startup_time_;  // from exec to the first step's log line
  static milliseconds step_time_;     // per step after that, checkpoints and samples included
  static std::string straight_grid_;  // `dcgan sample --seed 1` of the straight run
  testing::TempDir dir_;
};

testing::TempDir* ReliabilityTest::shared_ = nullptr;
milliseconds ReliabilityTest::startup_time_{0};
milliseconds ReliabilityTest::step_time_{0};
std::string ReliabilityTest::straight_grid_;

// ---------------------------------------------------------------------------------------------
// 1. SIGKILL at random moments: the last complete checkpoint always survives and resumes.

TEST_F(ReliabilityTest, KilledAtRandomMomentsResumesToTheSameRun) {
  ASSERT_NO_FATAL_FAILURE(need_straight_run());
  const std::string run = dir_.file("runs/k");
  const std::string exe = testing::dcgan_exe();
  std::mt19937 rng(20261126);  // the kill schedule is the same on every run of the test
  auto uniform = [&rng](int64_t low, int64_t high) {
    return std::uniform_int_distribution<int64_t>(low, high)(rng);
  };
  constexpr int kKills = 5;
  int kills = 0;
  int64_t last_resumed_step = 0;
  int early_ends = 0;  // runs that ended before a start-up kill could land
  std::string history;  // what happened so far, for failure messages
  std::set<std::string> killed_pids;
  while (true) {
    const bool resuming = fs::exists(run + "/checkpoint.pt");
    if (!resuming && fs::exists(run)) {
      // Killed before its first checkpoint: nothing to resume, and the directory is taken.
      const ProcessResult refused = resume(run);
      EXPECT_EQ(refused.code, kExitUsage) << history << refused.output;
      EXPECT_EQ(last_line(refused.output), "dcgan: error: --resume: " + run +
                                               "/checkpoint.pt not found (not a run directory?)");
      fs::remove_all(run);
    }
    const std::vector<std::string> args =
        resuming ? std::vector<std::string>{"train", "--resume", run}
                 : std::vector<std::string>{"train",           "--config", config(), "--out",
                                            dir_.file("runs"), "--name",   "k"};
    history += resuming ? "resume: " : "new run: ";
    Process process(exe, args);
    std::optional<ProcessResult> result;
    if (kills < kKills) {
      // The first kill lands in start-up, the others in start-up or training at random.
      if (kills == 0 || uniform(0, 2) == 0) {
        // During start-up: loading, checking, creating the run directory or restoring.
        const int64_t delay = uniform(0, startup_time_.count());
        history += "kill " + std::to_string(delay) + " ms after start";
        result = process.wait(milliseconds(delay));
        if (result && result->code == 0 && early_ends < 3) {
          // The whole run took less than the straight run's start-up, measured on a busier
          // machine: no kill landed. Start the schedule's run again from nothing.
          ++early_ends;
          history += ": ended before the kill, started again\n";
          fs::remove_all(run);
          last_resumed_step = 0;
          continue;
        }
      } else {
        // During training: after step `at`'s log line, and somewhere before the next step ends,
        // which may be in the middle of writing samples, metrics or a checkpoint.
        int64_t from = 0;
        if (resuming) {
          // "resumed at step 5 (epoch 2, batch 0)": the checkpoint the last kill left loaded.
          ASSERT_TRUE(process.wait_for_output(", batch ", seconds(60))) << history << "\n"
                                                                        << process.output();
          from =
              std::atoll(process.output().c_str() + process.output().find("resumed at step ") + 16);
          ASSERT_LT(from, kSteps - 2) << "checkpoints are written at epoch ends";
        }
        const int64_t at = uniform(from + 1, kSteps - 2);
        const int64_t delay = uniform(0, step_time_.count());
        history += "kill " + std::to_string(delay) + " ms after step " + std::to_string(at);
        ASSERT_TRUE(process.wait_for_output("step " + std::to_string(at) + " |", seconds(60)))
            << history << "\n"
            << process.output();
        result = process.wait(milliseconds(delay));
      }
      if (!result) {
        process.send_signal(SIGKILL);
        result = process.wait(seconds(30));
        ASSERT_TRUE(result.has_value()) << "SIGKILL did not end dcgan";
      }
    } else {
      history += "run to the end";
      result = process.wait(seconds(120));
      ASSERT_TRUE(result.has_value()) << history << "\n" << process.output();
    }
    expect_no_crash_text(result->output, history);
    const size_t resumed = result->output.find("resumed at step ");
    if (resumed != std::string::npos) {
      // A checkpoint never goes back: each resume starts at or after the one before.
      const int64_t step = std::atoll(result->output.c_str() + resumed + 16);
      EXPECT_GE(step, last_resumed_step) << history;
      last_resumed_step = step;
      history += " (resumed at step " + std::to_string(step) + ")";
    }
    if (result->signal == SIGKILL) {
      ++kills;
      history += ": killed\n";
      // Only a killed writer can have left a temporary file; a resume killed before its
      // clean-up keeps an earlier one.
      killed_pids.insert(std::to_string(process.pid()));
      for (const auto& tmp : temp_files(run)) {
        EXPECT_EQ(killed_pids.count(tmp.substr(tmp.rfind(".tmp-") + 5)), 1u) << history << tmp;
        history += "  left " + tmp + "\n";
      }
      continue;
    }
    history += ": finished\n";
    ASSERT_EQ(result->code, 0) << history << result->output;
    EXPECT_NE(result->output.find(kDone), std::string::npos) << result->output;
    break;
  }
  EXPECT_EQ(kills, kKills) << history;
  ASSERT_TRUE(fs::exists(run + "/checkpoint.pt")) << history;
  expect_same_as_straight(run);
  std::cout << history;
}

TEST_F(ReliabilityTest, ResumeRemovesTemporaryFilesOfAKilledWriter) {
  ASSERT_NO_FATAL_FAILURE(need_straight_run());
  ASSERT_NO_FATAL_FAILURE(need_partial_run());
  const std::string run = dir_.file("p");
  copy_run(partial_run(), run);
  // What a SIGKILL in the middle of write_file_atomic leaves behind.
  write_text(run + "/checkpoint.pt.tmp-999999", "half a checkpoint");
  write_text(run + "/samples/step_000006.png.tmp-999998", "half a png");
  const ProcessResult result = resume(run, {"--set", "train.max_steps=0"});
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find(kDone), std::string::npos) << result.output;
  expect_same_as_straight(run);
}

// ---------------------------------------------------------------------------------------------
// 2. SIGINT/SIGTERM: finish the step, checkpoint, exit 130, and the resumed run is the same run.

class InterruptTest : public ReliabilityTest, public ::testing::WithParamInterface<int> {};

TEST_P(InterruptTest, StopsWithACheckpointAndResumesToTheSameRun) {
  ASSERT_NO_FATAL_FAILURE(need_straight_run());
  const int signal = GetParam();
  const std::string run = dir_.file("runs/i");
  Process process(testing::dcgan_exe(),
                  {"train", "--config", config(), "--out", dir_.file("runs"), "--name", "i"});
  ASSERT_TRUE(process.wait_for_output("step 7 |", seconds(60))) << process.output();
  process.send_signal(signal);
  const auto result = process.wait(seconds(60));
  ASSERT_TRUE(result.has_value()) << process.output();
  EXPECT_EQ(result->code, kExitInterrupted) << result->output;
  EXPECT_NE(last_line(result->output)
                .find("; checkpoint saved; continue with: dcgan train --resume " + run),
            std::string::npos)
      << result->output;
  expect_one_error_line(*result, "interrupted");
  EXPECT_NE(last_line(read_text(run + "/train.log")).find("] [error] interrupted at step "),
            std::string::npos);
  EXPECT_EQ(temp_files(run), std::vector<std::string>{});
  const size_t at = result->output.find("interrupted at step ");
  ASSERT_NE(at, std::string::npos) << result->output;
  const int64_t step = std::atoll(result->output.c_str() + at + 20);
  EXPECT_GE(step, 7);
  EXPECT_LT(step, kSteps) << "the run ended before the signal arrived";
  // The report says what happened, and the resumed run's says it finished.
  EXPECT_EQ(testing::read_text(run + "/status"), "stopped\n");
  EXPECT_NE(testing::read_text(run + "/report.html").find("stopped"), std::string::npos);

  const ProcessResult resumed = resume(run);
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resumed at step " + std::to_string(step) + " "), std::string::npos)
      << resumed.output;
  EXPECT_NE(resumed.output.find(kDone), std::string::npos) << resumed.output;
  expect_no_crash_text(resumed.output, "resume");
  expect_same_as_straight(run);
  EXPECT_EQ(testing::read_text(run + "/status"), "finished\n");
}

INSTANTIATE_TEST_SUITE_P(Signals, InterruptTest, ::testing::Values(SIGTERM, SIGINT),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == SIGTERM ? "SIGTERM" : "SIGINT");
                         });

TEST_F(ReliabilityTest, SecondSignalStopsAtOnceAndTheCheckpointStillResumes) {
  ASSERT_NO_FATAL_FAILURE(need_straight_run());
  const std::string run = dir_.file("runs/twice");
  Process process(testing::dcgan_exe(),
                  {"train", "--config", config(), "--out", dir_.file("runs"), "--name", "twice"});
  ASSERT_TRUE(process.wait_for_output("checkpoint at step 5", seconds(60))) << process.output();
  // Two different signals, so the kernel cannot merge them into one. Whether the second arrives
  // while the first is still being handled depends on timing: accept either way of stopping.
  process.send_signal(SIGTERM);
  process.send_signal(SIGINT);
  const auto result = process.wait(seconds(60));
  ASSERT_TRUE(result.has_value()) << process.output();
  EXPECT_EQ(result->code, kExitInterrupted) << result->output;
  const bool at_once =
      result->output.find("dcgan: stopped at once (second signal)") != std::string::npos;
  const bool graceful =
      result->output.find("continue with: dcgan train --resume " + run) != std::string::npos;
  EXPECT_TRUE(at_once || graceful) << result->output;
  expect_no_crash_text(result->output, "two signals");

  const ProcessResult resumed = resume(run);
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find(kDone), std::string::npos) << resumed.output;
  expect_same_as_straight(run);
}

// ---------------------------------------------------------------------------------------------
// 3. Checkpoints as bad input: exit 4, one line naming the file (and the tensor), nothing changed.

struct BadCheckpointCase {
  const char* name;
  void (*damage)(const std::string& run);  // nullptr: the run as it is
  std::vector<std::string> extra;          // after `train --resume RUN`
  std::string message;                     // the expected last line; {run} for the run directory
  bool prefix_only;                        // the message continues with LibTorch's reason
};

using Placeholders = std::vector<std::pair<std::string, std::string>>;

// "{dir}/x.yaml" with {{"{dir}", "/tmp/t"}} => "/tmp/t/x.yaml"
std::string expand(std::string text, const Placeholders& values) {
  for (const auto& [key, value] : values) {
    for (size_t at; (at = text.find(key)) != std::string::npos;)
      text.replace(at, key.size(), value);
  }
  return text;
}

// IDX images, 28x28, one channel: the Fashion-MNIST format.
void write_idx(const std::string& path, uint32_t count) {
  std::string bytes;
  for (uint32_t word : {0x00000803u, count, 28u, 28u}) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes += static_cast<char>((word >> shift) & 0xff);
  }
  for (uint32_t i = 0; i < count * 28 * 28; ++i) bytes += static_cast<char>((i * 37) % 251);
  write_text(path, bytes);
}

TEST_F(ReliabilityTest, DamagedOrForeignCheckpointsAreRefused) {
  ASSERT_NO_FATAL_FAILURE(need_partial_run());
  write_idx(dir_.file("gray-idx3-ubyte"), 40);
  const BadCheckpointCase cases[] = {
      {"truncated",
       [](const std::string& run) {
         fs::resize_file(run + "/checkpoint.pt", fs::file_size(run + "/checkpoint.pt") / 2);
       },
       {},
       "dcgan: error: {run}/checkpoint.pt: not a readable checkpoint (truncated or corrupted?): ",
       true},
      {"empty",
       [](const std::string& run) { fs::resize_file(run + "/checkpoint.pt", 0); },
       {},
       "dcgan: error: {run}/checkpoint.pt: not a readable checkpoint (truncated or corrupted?): ",
       true},
      {"generator file as checkpoint",
       [](const std::string& run) {
         fs::copy_file(run + "/generator.pt", run + "/checkpoint.pt",
                       fs::copy_options::overwrite_existing);
       },
       {},
       "dcgan: error: {run}/checkpoint.pt: expected a training checkpoint, found a generator file",
       false},
      {"wider generator on resume",
       nullptr,
       {"--set", "model.g_channels=32"},
       "dcgan: error: {run}/checkpoint.pt: tensor 'generator.fc.weight' has shape 256x100, the "
       "model expects 512x100 (a checkpoint of another architecture or image size?)",
       false},
      {"gray data for an RGB run",
       nullptr,
       {"--set", "data.format=idx", "--set", "data.train={dir}/gray-idx3-ubyte"},
       "dcgan: error: {run}/checkpoint.pt: tensor 'generator.t4.weight' has shape 4x3x5x5, the "
       "model expects 4x1x5x5 (a checkpoint of another architecture or image size?)",
       false},
  };
  int index = 0;
  for (const auto& c : cases) {
    const std::string run = dir_.file("case" + std::to_string(index++));
    copy_run(partial_run(), run);
    if (c.damage != nullptr) c.damage(run);
    const auto before = snapshot(run);
    std::vector<std::string> args{"train", "--resume", run, "--set", "train.max_steps=0"};
    for (const auto& word : c.extra)
      args.push_back(expand(word, {{"{dir}", dir_.path().string()}}));
    const ProcessResult result = run_dcgan(args);
    EXPECT_EQ(result.code, kExitCheckpoint) << c.name << "\n" << result.output;
    const std::string expected = expand(c.message, {{"{run}", run}});
    const std::string got = last_line(result.output);
    EXPECT_EQ(c.prefix_only ? got.substr(0, expected.size()) : got, expected) << c.name;
    expect_one_error_line(result, c.name);
    // The refused run is untouched but for its log.
    auto after = snapshot(run);
    after.erase("train.log");
    auto expected_files = before;
    expected_files.erase("train.log");
    EXPECT_TRUE(after == expected_files) << c.name << ": the run directory changed";
  }
}

TEST_F(ReliabilityTest, GeneratorOfAnotherArchitectureIsRefusedBySample) {
  // A generator file whose tensors are 32 channels wide but whose stored config says 16.
  Config wide;
  wide.model.g_channels = 32;
  torch::manual_seed(0);
  Generator generator(wide.model, 3, UpconvKind::kNative);
  Config narrow = wide;
  narrow.model.g_channels = 16;
  const std::string path = dir_.file("mismatched.pt");
  save_generator_file(path, narrow, 3, generator);
  const auto before = snapshot(dir_.path());
  const ProcessResult result = run_dcgan({"sample", "--ckpt", path, "--grid", "2x2"});
  EXPECT_EQ(result.code, kExitCheckpoint) << result.output;
  EXPECT_EQ(last_line(result.output),
            "dcgan: error: " + path +
                ": tensor 'generator.fc.weight' has shape 512x100, the model "
                "expects 256x100 (a checkpoint of another architecture or image size?)");
  expect_one_error_line(result, "sample");
  EXPECT_TRUE(snapshot(dir_.path()) == before) << "sample left a file behind";
}

// ---------------------------------------------------------------------------------------------
// 4. Config as bad input: exit 2, one exact line, and no run directory.

struct BadConfigCase {
  const char* name;
  std::string args;     // {dir} for the temp dir, {cfg} for the tiny config, {gen} for a generator
  std::string message;  // the expected last line
};

TEST_F(ReliabilityTest, BadConfigIsRefusedBeforeAnythingIsWritten) {
  const std::string data = shared_->file("train.mat");
  write_text(dir_.file("syntax.yaml"),
             "data:\n  train: " + data + "\ntrain:\n  lr: [0.1, 0.2\n  epochs: 2\n");
  write_text(dir_.file("type.yaml"), "data:\n  train: " + data + "\ntrain:\n  epochs: many\n");
  write_text(dir_.file("typo.yaml"), "data:\n  train: " + data + "\ntrian:\n  lr: 0.1\n");
  const BadConfigCase cases[] = {
      {"YAML syntax error", "train --config {dir}/syntax.yaml --out {dir}/runs",
       "dcgan: error: {dir}/syntax.yaml:5: YAML syntax error: end of sequence flow not found"},
      {"wrong type in YAML", "train --config {dir}/type.yaml --out {dir}/runs",
       "dcgan: error: {dir}/type.yaml:4: key 'train.epochs' expects an integer, got 'many'"},
      {"wrong type in --set", "train --config {cfg} --set data.shuffle=maybe",
       "dcgan: error: --set: key 'data.shuffle' expects true or false, got 'maybe'"},
      {"negative learning rate", "train --config {cfg} --set train.lr=-1",
       "dcgan: error: key 'train.lr' must be > 0, got -1"},
      {"negative epochs", "train --config {cfg} --epochs -1",
       "dcgan: error: key 'train.epochs' must be between 1 and 1000000, got -1"},
      {"zero grid rows", "train --config {cfg} --set sample.grid=0x12",
       "dcgan: error: key 'sample.grid': expected ROWSxCOLS with each between 1 and 256 (like "
       "6x12), got '0x12'"},
      {"grid too large", "train --config {cfg} --set sample.grid=300x2",
       "dcgan: error: key 'sample.grid': expected ROWSxCOLS with each between 1 and 256 (like "
       "6x12), got '300x2'"},
      {"unknown key in --set", "train --config {cfg} --set train.lrr=0.1",
       "dcgan: error: --set: unknown key 'train.lrr' (did you mean 'train.lr'?)"},
      {"unknown section in YAML", "train --config {dir}/typo.yaml --out {dir}/runs",
       "dcgan: error: {dir}/typo.yaml:4: unknown key 'trian.lr' (did you mean 'train.lr'?)"},
      {"CUDA graphs on the CPU", "train --config {cfg} --device cpu --set run.cuda_graphs=true",
#ifdef DCGAN_WITH_CUDA
       "dcgan: error: key 'run.cuda_graphs' is true, which needs a CUDA device; the run is on cpu"},
#else
       "dcgan: error: key 'run.cuda_graphs' is true, which needs a build with CUDA support; this "
       "build is for the CPU only (dcgan --version)"},
#endif
      {"--config with --resume", "train --config {cfg} --resume {dir}",
       "dcgan: error: --config excludes --resume (see dcgan --help)"},
      {"unknown option", "train --config {cfg} --frobnicate",
       "dcgan: error: The following argument was not expected: --frobnicate (see dcgan --help)"},
      {"--num with --grid", "sample --ckpt {gen} --num 3 --out-dir {dir}/fid --grid 2x2",
       "dcgan: error: --grid excludes --num (see dcgan --help)"},
      {"malformed --grid", "sample --ckpt {gen} --grid 6x",
       "dcgan: error: --grid: expected ROWSxCOLS with each between 1 and 256 (like 6x12), got "
       "'6x'"},
      {"zero --grid", "sample --ckpt {gen} --grid 0x12",
       "dcgan: error: --grid: expected ROWSxCOLS with each between 1 and 256 (like 6x12), got "
       "'0x12'"},
  };
  // The tiny config with run.out_dir in this test's directory: nothing may appear there.
  std::string own_config = read_text(config());
  const std::string shared_out = "out_dir: " + shared_->file("runs");
  own_config.replace(own_config.find(shared_out), shared_out.size(),
                     "out_dir: " + dir_.file("runs"));
  write_text(dir_.file("tiny.yaml"), own_config);
  const Placeholders placeholders{{"{dir}", dir_.path().string()},
                                  {"{cfg}", dir_.file("tiny.yaml")},
                                  {"{gen}", dir_.file("generator.pt")}};
  // Never read: the command line is refused first.
  write_text(dir_.file("generator.pt"), "not read");
  const auto before = snapshot(dir_.path());
  for (const auto& c : cases) {
    const ProcessResult result = run_dcgan(expand(c.args, placeholders));
    EXPECT_EQ(result.code, kExitUsage) << c.name << "\n" << result.output;
    EXPECT_EQ(last_line(result.output), expand(c.message, placeholders)) << c.name;
    expect_one_error_line(result, c.name);
    EXPECT_TRUE(snapshot(dir_.path()) == before) << c.name << ": left files behind";
  }
}

// ---------------------------------------------------------------------------------------------
// 5. Outputs that cannot be written: exit 5, one line naming the path, nothing partial.

TEST_F(ReliabilityTest, RunDirectoryUnderARegularFileIsRefused) {
  write_text(dir_.file("file"), "a regular file");
  const ProcessResult result =
      run_dcgan({"train", "--config", config(), "--out", dir_.file("file/runs"), "--name", "r"});
  EXPECT_EQ(result.code, kExitIo) << result.output;
  EXPECT_EQ(last_line(result.output), "dcgan: error: " + dir_.file("file/runs/r/samples") +
                                          ": cannot create directory (Not a directory)");
  expect_one_error_line(result, "out_dir under a file");
  EXPECT_EQ(read_text(dir_.file("file")), "a regular file");
}

// Large enough for config.yaml, the log, metrics.csv and the sample grids of the tiny run, too
// small for its checkpoint.
constexpr rlim_t kFileSizeLimit = 48 * 1024;

TEST_F(ReliabilityTest, FullDiskAtTheFirstCheckpointLeavesNoCheckpoint) {
  const std::string run = dir_.file("runs/full");
  ProcessOptions full_disk;
  full_disk.file_size_limit = kFileSizeLimit;
  const ProcessResult result = run_dcgan(
      {"train", "--config", config(), "--out", dir_.file("runs"), "--name", "full"}, full_disk);
  EXPECT_EQ(result.code, kExitIo) << result.output;
  EXPECT_EQ(last_line(result.output),
            "dcgan: error: " + run + "/checkpoint.pt: cannot write (File too large)");
  expect_one_error_line(result, "full disk");
  EXPECT_NE(result.output.find("step 5 |"), std::string::npos) << "it failed before the checkpoint";
  EXPECT_FALSE(fs::exists(run + "/checkpoint.pt"));
  EXPECT_FALSE(fs::exists(run + "/generator.pt"));
  EXPECT_EQ(temp_files(run), std::vector<std::string>{});
  EXPECT_EQ(read_text(run + "/status"), "failed\n");  // not "running": the run has ended
  EXPECT_EQ(last_line(read_text(run + "/train.log")).substr(20),  // from the time stamp's "]"
            "] [error] " + run + "/checkpoint.pt: cannot write (File too large)");
}

TEST_F(ReliabilityTest, FullDiskKeepsThePreviousCheckpoint) {
  ASSERT_NO_FATAL_FAILURE(need_straight_run());
  ASSERT_NO_FATAL_FAILURE(need_partial_run());
  const std::string run = dir_.file("p");
  copy_run(partial_run(), run);
  const std::string checkpoint = read_text(run + "/checkpoint.pt");
  const std::string generator = read_text(run + "/generator.pt");
  ProcessOptions full_disk;
  full_disk.file_size_limit = kFileSizeLimit;
  const ProcessResult result =
      run_dcgan({"train", "--resume", run, "--set", "train.max_steps=0"}, full_disk);
  EXPECT_EQ(result.code, kExitIo) << result.output;
  EXPECT_EQ(last_line(result.output),
            "dcgan: error: " + run + "/checkpoint.pt: cannot write (File too large)");
  expect_one_error_line(result, "full disk on resume");
  EXPECT_NE(result.output.find("step 10 |"), std::string::npos) << result.output;
  EXPECT_TRUE(read_text(run + "/checkpoint.pt") == checkpoint) << "the old checkpoint changed";
  EXPECT_TRUE(read_text(run + "/generator.pt") == generator) << "the old generator changed";
  EXPECT_EQ(temp_files(run), std::vector<std::string>{});
  EXPECT_EQ(read_text(run + "/status"), "failed\n");

  // With space again, the run continues from the kept checkpoint as if nothing had happened.
  const ProcessResult again = resume(run, {"--set", "train.max_steps=0"});
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_NE(again.output.find("resumed at step 5 "), std::string::npos) << again.output;
  expect_same_as_straight(run);
}

// ---------------------------------------------------------------------------------------------
// 6. Divergence: exit 6, one line naming the step, the last good checkpoint kept.

TEST_F(ReliabilityTest, DivergenceKeepsTheLastGoodCheckpoint) {
  ASSERT_NO_FATAL_FAILURE(need_partial_run());
  const std::string run = dir_.file("p");
  copy_run(partial_run(), run);
  const std::string checkpoint = read_text(run + "/checkpoint.pt");
  const std::string generator = read_text(run + "/generator.pt");
  const ProcessResult result =
      resume(run, {"--set", "train.max_steps=0", "--set", "train.lr=1e30"});
  EXPECT_EQ(result.code, kExitDiverged) << result.output;
  const std::string line = last_line(result.output);
  EXPECT_EQ(line.rfind("dcgan: error: training diverged at step 6: ", 0), 0u) << line;
  EXPECT_NE(line.find("; the last good checkpoint is kept in " + run + "/checkpoint.pt"),
            std::string::npos)
      << line;
  expect_one_error_line(result, "diverged");
  EXPECT_NE(last_line(read_text(run + "/train.log")).find("] [error] training diverged at step 6: "),
            std::string::npos);
  EXPECT_TRUE(read_text(run + "/checkpoint.pt") == checkpoint) << "the good checkpoint changed";
  EXPECT_TRUE(read_text(run + "/generator.pt") == generator) << "the good generator changed";
  EXPECT_EQ(temp_files(run), std::vector<std::string>{});
}

}  // namespace
}  // namespace dcgan
