// The subcommands of the `dcgan` executable. Each has setup_x(CLI::App&), which adds the
// subcommand with its options and runs it through run_x when it is chosen.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace dcgan {

struct TrainCommandOptions {
  std::string config_file;               // --config
  std::string resume_dir;                // --resume
  std::vector<std::string> overrides;    // --set key=value, then the shortcut flags, in order
};

struct SampleCommandOptions {
  std::string checkpoint;     // --ckpt: a generator file (RUN/generator.pt)
  std::string grid = "6x12";  // --grid
  uint64_t seed = 0;          // --seed
  std::string out;            // --out (grid mode); default: next to the checkpoint
  int64_t num = 0;            // --num (folder mode)
  std::string out_dir;        // --out-dir (folder mode)
  bool batch_stats = false;   // --batch-stats: batch norm on batch statistics, not running ones
  int64_t batch_size = 128;   // --batch-size: images generated per forward pass in folder mode
  std::string device = "auto";
  int64_t threads = 0;
};

struct BenchCommandOptions {
  int64_t batch_size = 128;
  int64_t steps = 10;          // timed steps
  int64_t warmup = 2;          // untimed steps first (allocator, cuDNN autotuning)
  int64_t channels = 3;
  std::string upconv = "auto";
  std::string device = "auto";
  int64_t threads = 0;
  std::string amp = "none";
  bool cuda_graphs = false;  // run.cuda_graphs
  std::string data;            // also time loading this file
  std::string format;          // its data.format; default from the extension
};

void setup_train(CLI::App& app);
void setup_sample(CLI::App& app);
void setup_bench(CLI::App& app);

// Run a parsed command; throw dcgan::Error subclasses on failure.
void run_train(const TrainCommandOptions& options);
void run_sample(const SampleCommandOptions& options);
void run_bench(const BenchCommandOptions& options);

}  // namespace dcgan
