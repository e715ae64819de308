// Configuration: every hyperparameter of a run in one struct tree with in-class defaults.
//
// Precedence: these defaults < a YAML file (apply_yaml_file) < command-line overrides
// (apply_override, `--set key=value`). Keys are dotted `section.name`, e.g. `train.lr`.
// validate() checks every value once; errors are ConfigError with one line naming the key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dcgan {

struct DataOptions {
  // `svhn_mat`: SVHN cropped-digit .mat files (X: 32x32x3xN uint8, y: Nx1).
  // `idx`: MNIST-format IDX image files (.gz or plain), 28x28 grayscale padded to 32x32.
  // `cifar10`: CIFAR-10 binary files (data_batch_N.bin, test_batch.bin), or a folder of them.
  // `folder`: PNG/JPEG files under a folder (recursively), centre-cropped and resized to
  // model.image_size; labelled by their first-level subfolder when every file lies in one.
  // Images of another size than model.image_size are resized (antialiased bilinear).
  std::string format = "svhn_mat";
  // Training file (for `idx`, the images file, e.g. train-images-idx3-ubyte.gz; for `cifar10`
  // a .bin file or a folder whose data_batch_*.bin are read; for `folder` the folder).
  std::string train;
  // Optional test file (or folder), split into test and validation sets; empty skips it.
  std::string test;
  // Share of the test file that becomes the validation set (its last part), as the reference.
  double val_fraction = 0.5;
  // Reshuffle the training set every epoch with a seeded generator. The reference did not shuffle.
  bool shuffle = true;
  // Use only the first N training images; 0 uses all. For smoke tests and quick looks.
  int64_t limit = 0;
  // Image channels: 0 keeps the format's own (folder: 3), 1 converts to grey (ITU-R 601 luma),
  // 3 to RGB (grey repeated).
  int64_t channels = 0;
  // `folder`: refuse a file that cannot be decoded instead of skipping it with a count in the log.
  bool strict = false;
  // `folder`: keep the decoded images in <run.out_dir>/cache/ and reuse them while the folder's
  // file list and sizes are unchanged.
  bool cache = true;
};

struct ModelOptions {
  // Side of the square images, 32 or 64 (one more up- and down-sampling stage, as the DCGAN
  // paper's 64x64 network).
  int64_t image_size = 32;
  // Length of the uniform [-1, 1] noise vector fed to G.
  int64_t z_dim = 100;
  // Width of G's first feature map (4x4xg_channels); it halves at every upsampling.
  int64_t g_channels = 512;
  // Width of D's first convolution; it doubles at every downsampling.
  int64_t d_channels = 64;
  double leaky_slope = 0.2;
  // Batch norm as in the reference framework: eps 1e-3, running = 0.99 running + 0.01 batch.
  double bn_eps = 1e-3;
  double bn_momentum = 0.01;
  // Weight initialisation: `xavier_uniform` (the reference framework's Glorot uniform, zero
  // biases), `normal` (DCGAN paper: N(0, init_std), zero biases), or `torch` (LibTorch defaults).
  std::string init = "xavier_uniform";
  double init_std = 0.02;
  // Transposed convolution implementation: `auto` (the fastest per device and precision), `native`
  // (torch::nn::ConvTranspose2d), `phase` (four stride-1 convolutions), `winograd` or `gemm`
  // (networks.h's UpconvKind); the same parameters every way.
  std::string upconv = "auto";
  // Distributed training: batch norm's statistics over the global batch (all ranks' mean and
  // variance, as PyTorch's SyncBatchNorm) instead of each rank's own shard.
  bool sync_bn = false;
};

struct TrainOptions {
  int64_t epochs = 25;
  int64_t batch_size = 128;
  double lr = 2e-4;
  double beta1 = 0.5;
  double beta2 = 0.999;
  // Real labels are 1 - label_smoothing in D's loss.
  double label_smoothing = 0.1;
  uint64_t seed = 0;
  // Report losses every N steps (console and metrics.csv).
  int64_t print_every = 10;
  // Draw the fixed-noise sample grid every N steps.
  int64_t show_every = 100;
  // Stop after this many steps in total (0: run all epochs). A run stopped this way can resume.
  int64_t max_steps = 0;
  // Exponential moving average of G's weights, updated after every G step with this decay
  // (0: off; 0.999 is usual). Batch-norm buffers are copied, not averaged. Sample grids,
  // `dcgan sample`, `eval` and `interpolate` use the averaged generator when there is one.
  double ema = 0;
};

struct RunOptions {
  // Parent folder of run directories.
  std::string out_dir = "runs";
  // Run directory name under out_dir; empty: `<config name>-<YYYYmmdd-HHMMSS>`.
  std::string name;
  // `auto` (CUDA when available), `cpu`, `cuda` or `cuda:N`.
  std::string device = "auto";
  // CPU threads for LibTorch; 0 uses every core.
  int64_t threads = 0;
  // Mixed precision: `none` (fp32) or `bf16` (the forward passes under the device's autocast, CPU
  // or CUDA; weights, optimizer and losses stay fp32). On a CPU without native bf16 it is
  // emulated with fp32 kernels: no faster than fp32 (model/precision.h).
  std::string amp = "none";
  // Let cuDNN time its algorithms on the first steps and keep the fastest (CUDA only).
  bool cudnn_benchmark = true;
  // Capture the whole training step in one CUDA graph after a few eager steps, and replay it
  // (CUDA only; LibTorch 2.1 or later built with CUDA).
  bool cuda_graphs = false;
  // Distributed training (launched by torchrun or scripts/launch.sh; docs/DISTRIBUTED.md): the
  // c10d backend, `auto` (NCCL on CUDA, Gloo on CPUs), `gloo` or `nccl`.
  std::string dist_backend = "auto";
  // Seconds a rank waits for the others (joining, or any collective) before it gives up with an
  // error naming the ranks that did not answer. Longer than rank 0's slowest pause (a quality
  // measurement with eval.every) and shorter than you want to wait for a hung rank.
  int64_t dist_timeout = 600;
  // Check after every step that all ranks hold bit-identical weights (one small all-gather per
  // step); a difference stops the run naming the rank.
  bool dist_verify = false;
};

struct SampleOptions {
  // Rows x columns of the fixed-noise grid, e.g. `6x12` (72 vectors).
  std::string grid = "6x12";
};

struct EvalOptions {
  // Measure FID, KID, precision/recall and density/coverage every N steps of training (0: off).
  int64_t every = 1000;
  // Generated and real images compared; 0: 10,000 or as many real images as there are. The real
  // images are the test file's (all of it) when data.test is set, else the training set's.
  int64_t num = 0;
  // Feature network: `auto` (dcgan's classifier trained on the training file's labels, built once
  // into <run.out_dir>/features/ and reused) or the path of a feature network file or of a
  // TorchScript module mapping images to feature vectors.
  std::string features = "auto";
  // Epochs of training for an `auto` feature network.
  int64_t feature_epochs = 3;
};

struct Config {
  DataOptions data;
  ModelOptions model;
  TrainOptions train;
  RunOptions run;
  SampleOptions sample;
  EvalOptions eval;
};

struct GridSize {
  int64_t rows = 0;
  int64_t cols = 0;
};

// Applies a YAML file on top of `config`. Throws ConfigError "<path>: ..." for a missing file,
// a syntax error ("<path>:<line>: ..."), an unknown key (with the nearest valid key suggested),
// or a value of the wrong type.
void apply_yaml_file(Config& config, const std::string& path);
// Same, for YAML text; `source` names it in messages.
void apply_yaml_string(Config& config, const std::string& yaml, const std::string& source);
// Applies one `key=value` override (the `--set` syntax).
void apply_override(Config& config, const std::string& assignment);
// Sets one dotted key from its textual value, parsed to the key's type.
// `source` names where it came from in messages (a file, "--set", "--epochs").
void set_key(Config& config, const std::string& key, const std::string& value,
             const std::string& source);
// Throws ConfigError naming the first key whose value is out of range or not an allowed choice.
void validate(const Config& config);
// Every valid dotted key, in declaration order.
std::vector<std::string> config_keys();
// The effective config as YAML, every key present; apply_yaml_string() of it reproduces `config`.
std::string to_yaml(const Config& config);
// Parses "ROWSxCOLS" ("6x12"); throws ConfigError naming `what` if malformed or out of 1..256.
GridSize parse_grid(const std::string& text, const std::string& what);

}  // namespace dcgan
