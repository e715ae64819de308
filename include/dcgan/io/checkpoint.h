// The checkpoint container: a LibTorch archive with a magic string, a format version and a kind,
// written atomically, read back with every tensor's shape checked.
//
// What goes in is up to the caller (the trainer stores G, D, both optimizers and its counters;
// a generator file stores G and the config). Loading never changes a module's shapes: a tensor
// of another shape is an error naming the checkpoint and the tensor, not a silent resize.
// Files do not depend on the device: everything is read onto the CPU first and then joins the
// module or optimizer it belongs to, so a run trained on CUDA resumes or samples on a CPU.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

namespace dcgan {

constexpr const char* kCheckpointMagic = "dcgan-checkpoint";
// Version 2 stores Adam's state per parameter, in registration order, in dcgan's own layout: the
// layout of LibTorch's Optimizer::save differs between versions (1.13 cannot read 2.x's). Version
// 1 files (LibTorch's layout) are still read.
constexpr int64_t kCheckpointVersion = 2;

enum class CheckpointKind { kTraining, kGenerator, kFeatures };
// "training checkpoint", "generator file", "feature network"
const char* checkpoint_kind_name(CheckpointKind kind);

// Whether `path` is a readable file with dcgan's checkpoint header (of any kind).
bool is_dcgan_checkpoint(const std::string& path);

// The state torch's Adam keeps for parameter `p`, or nullptr before its first step (the map's
// key differs between LibTorch 1.13 and 2).
torch::optim::AdamParamState* find_adam_state(torch::optim::Adam& optimizer, const torch::Tensor& p);

class CheckpointWriter {
 public:
  explicit CheckpointWriter(CheckpointKind kind);
  void write_module(const std::string& key, const torch::nn::Module& module);
  // Adam's moments and step count for each parameter, in the optimizer's parameter order.
  void write_optimizer(const std::string& key, const torch::optim::Adam& optimizer);
  void write_int(const std::string& key, int64_t value);
  void write_string(const std::string& key, const std::string& value);
  void write_tensor(const std::string& key, const torch::Tensor& value);
  void write_double(const std::string& key, double value);
  // Serialises everything to `path` with write_file_atomic. Throws IoError.
  void save(const std::string& path);

 private:
  torch::serialize::OutputArchive archive_;
};

class CheckpointReader {
 public:
  // Opens `path` and checks magic and version. Throws CheckpointError "<path>: ..." for a
  // missing, truncated, corrupted or foreign file.
  explicit CheckpointReader(const std::string& path);
  CheckpointKind kind() const { return kind_; }
  // Throws CheckpointError "<path>: expected a <wanted>, found a <kind>" on a mismatch.
  void expect_kind(CheckpointKind wanted) const;

  // Copies the stored parameters and buffers into `module`, whose shapes must match exactly.
  void read_module(const std::string& key, torch::nn::Module& module);
  // Loads Adam's state onto its parameters' device; a state of another parameter count or shape
  // is a CheckpointError. The options (learning rate, betas) are the caller's to set.
  void read_optimizer(const std::string& key, torch::optim::Adam& optimizer);
  int64_t read_int(const std::string& key);
  std::string read_string(const std::string& key);
  torch::Tensor read_tensor(const std::string& key);
  double read_double(const std::string& key);
  // Whether the file has an entry `key` (sections written by newer versions, e.g. an EMA model).
  bool has(const std::string& key);

  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail(const std::string& what) const;

  std::string path_;
  torch::serialize::InputArchive archive_;
  CheckpointKind kind_ = CheckpointKind::kTraining;
  int64_t version_ = kCheckpointVersion;
};

}  // namespace dcgan
