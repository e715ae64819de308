// The subcommands of the `dcgan` executable. Each has setup_x(CLI::App&), which adds the
// subcommand with its options and runs it through run_x when it is chosen.
#pragma once

#include <CLI/CLI.hpp>
#include <torch/torch.h>

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
  bool no_ema = false;        // --no-ema: the trained weights even when the file has an average
  std::string device = "auto";
  int64_t threads = 0;
};

struct EvalCommandOptions {
  std::string checkpoint;        // --ckpt: a generator file
  std::string data;              // --data: real images (default: the run's test or training file)
  std::string format;            // --format of --data (default: the run's data.format)
  int64_t num = 0;               // --num: images of each side (0: up to 10,000)
  std::string features;          // --features (default: the run's eval.features)
  int64_t features_size = -1;    // --features-size (-1: the module's own)
  std::string features_range;    // --features-range LOW,HIGH
  int64_t features_channels = 0; // --features-channels (0: the module's own)
  std::string json;              // --json FILE
  uint64_t seed = 0;             // --seed: noise seed
  bool no_ema = false;           // --no-ema
  std::string device = "auto";
  int64_t threads = 0;
};

struct TrainFeaturesCommandOptions {
  std::string config_file;  // --config: data.* and eval.feature_epochs from a run's config
  std::string data;         // --data: labelled training file
  std::string test;         // --test: labelled test file
  std::string format;       // --format
  int64_t epochs = 0;       // --epochs (0: eval.feature_epochs)
  std::string out;          // --out (default: auto_features_path of the config)
  std::string device = "auto";
  int64_t threads = 0;
};

struct InterpolateCommandOptions {
  std::string checkpoint;  // --ckpt: a generator file
  int64_t rows = 6;        // --rows: walks
  int64_t steps = 10;      // --steps: images per walk
  bool spherical = false;  // --spherical: slerp instead of linear
  uint64_t seed = 0;
  std::string out;
  bool no_ema = false;
  std::string device = "auto";
};

struct ExportCommandOptions {
  std::string checkpoint;  // --ckpt: a generator file
  std::string out;         // --out
  std::string format;      // --format: torchscript or safetensors (default: from --out)
  bool no_ema = false;     // --no-ema
};

struct InfoCommandOptions {
  std::string target;  // a run directory or a checkpoint file
};

struct BenchCommandOptions {
  int64_t batch_size = 128;
  int64_t steps = 10;          // timed steps
  int64_t warmup = 2;          // untimed steps first (allocator, cuDNN autotuning)
  int64_t channels = 3;
  int64_t image_size = 32;     // model.image_size
  std::string upconv = "auto";
  std::string device = "auto";
  int64_t threads = 0;
  std::string amp = "none";
  bool cuda_graphs = false;  // run.cuda_graphs
  std::string dist_backend = "auto";  // under torchrun: run.dist_backend
  bool sync_bn = false;               // under torchrun: model.sync_bn
  bool no_overlap = false;            // under torchrun: average after backward, not during it
  std::string data;            // also time loading this file
  std::string format;          // its data.format; default from the extension
  std::string cache_dir;       // --cache: the folder format's cache folder (empty: none)
  int64_t profile = 0;         // --profile N: the N largest operators of `steps` more steps
};

struct ReportCommandOptions {
  std::string run_dir;  // RUN_DIR: the run whose report.html is rebuilt
};

// --device (auto, cpu, cuda, cuda:N) and, when `threads` is given, --threads (0 = every core).
void add_device_options(CLI::App* cmd, std::string& device, int64_t* threads);

void setup_train(CLI::App& app);
void setup_sample(CLI::App& app);
void setup_bench(CLI::App& app);
void setup_eval(CLI::App& app);
void setup_train_features(CLI::App& app);
void setup_interpolate(CLI::App& app);
void setup_export(CLI::App& app);
void setup_info(CLI::App& app);
void setup_report(CLI::App& app);

// Run a parsed command; throw dcgan::Error subclasses on failure.
void run_train(const TrainCommandOptions& options);
void run_sample(const SampleCommandOptions& options);
void run_bench(const BenchCommandOptions& options);
void run_eval(const EvalCommandOptions& options);
void run_train_features(const TrainFeaturesCommandOptions& options);
void run_interpolate(const InterpolateCommandOptions& options);
void run_export(const ExportCommandOptions& options);
// Prints what a run directory or checkpoint holds.
void run_info(const InfoCommandOptions& options);
// Rebuilds report.html with the status the run's files say (read_run_status).
void run_report(const ReportCommandOptions& options);

// `steps` points from `from` to `to` (both (D)), end points included, as (steps, D): straight,
// or along the great circle with the norm interpolated (`spherical`).
torch::Tensor latent_walk(const torch::Tensor& from, const torch::Tensor& to, int64_t steps,
                          bool spherical);

}  // namespace dcgan
