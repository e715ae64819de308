#include "dcgan/io/checkpoint.h"

#include <filesystem>
#include <sstream>
#include <type_traits>
#include <vector>

#include "dcgan/error.h"
#include "dcgan/io/file.h"

namespace dcgan {
namespace {

// c10::Error messages carry a multi-line backtrace; users get the first line only.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string shape_string(at::IntArrayRef sizes) {
  std::ostringstream s;
  for (size_t i = 0; i < sizes.size(); ++i) s << (i ? "x" : "") << sizes[i];
  return sizes.empty() ? "scalar" : s.str();
}

// The optimizer's parameters, group after group: the order in which states are stored.
std::vector<torch::Tensor> parameters_of(const torch::optim::Optimizer& optimizer) {
  std::vector<torch::Tensor> params;
  for (const auto& group : optimizer.param_groups()) {
    params.insert(params.end(), group.params().begin(), group.params().end());
  }
  return params;
}

// The key of `p`'s state: its TensorImpl's address, as text in LibTorch 1.13, as is from 2 on.
template <typename Optimizer>
auto state_key(Optimizer& optimizer, const torch::Tensor& p) {
  using Key = typename std::decay_t<decltype(optimizer.state())>::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream text;
    text << p.unsafeGetTensorImpl();
    return text.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

const torch::optim::AdamParamState* adam_state(const torch::optim::Adam& optimizer,
                                               const torch::Tensor& p) {
  return find_adam_state(const_cast<torch::optim::Adam&>(optimizer), p);
}

}  // namespace

torch::optim::AdamParamState* find_adam_state(torch::optim::Adam& optimizer, const torch::Tensor& p) {
  auto& states = optimizer.state();
  const auto found = states.find(state_key(optimizer, p));
  if (found == states.end()) return nullptr;
  return dynamic_cast<torch::optim::AdamParamState*>(found->second.get());
}

const char* checkpoint_kind_name(CheckpointKind kind) {
  switch (kind) {
    case CheckpointKind::kTraining: return "training checkpoint";
    case CheckpointKind::kGenerator: return "generator file";
    case CheckpointKind::kFeatures: return "feature network";
  }
  return "checkpoint";
}

bool is_dcgan_checkpoint(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) return false;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, torch::Device(torch::kCPU));
    c10::IValue magic;
    return archive.try_read("magic", magic) && magic.isString() &&
           magic.toStringRef() == kCheckpointMagic;
  } catch (const std::exception&) {
    return false;
  }
}

CheckpointWriter::CheckpointWriter(CheckpointKind kind) {
  archive_.write("magic", c10::IValue(std::string(kCheckpointMagic)));
  archive_.write("version", c10::IValue(kCheckpointVersion));
  archive_.write("kind", c10::IValue(static_cast<int64_t>(kind)));
}

void CheckpointWriter::write_module(const std::string& key, const torch::nn::Module& module) {
  torch::serialize::OutputArchive nested;
  for (const auto& p : module.named_parameters()) {
    nested.write(p.key(), p.value().detach().to(torch::kCPU));
  }
  for (const auto& b : module.named_buffers()) {
    nested.write(b.key(), b.value().to(torch::kCPU), /*is_buffer=*/true);
  }
  archive_.write(key, nested);
}

void CheckpointWriter::write_optimizer(const std::string& key, const torch::optim::Adam& optimizer) {
  torch::serialize::OutputArchive nested;
  const std::vector<torch::Tensor> params = parameters_of(optimizer);
  nested.write("count", c10::IValue(static_cast<int64_t>(params.size())));
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string prefix = std::to_string(i) + ".";
    const auto* state = adam_state(optimizer, params[i]);
    nested.write(prefix + "step", c10::IValue(state ? static_cast<int64_t>(state->step()) : int64_t{-1}));
    if (state == nullptr) continue;  // not stepped yet
    nested.write(prefix + "exp_avg", state->exp_avg().to(torch::kCPU));
    nested.write(prefix + "exp_avg_sq", state->exp_avg_sq().to(torch::kCPU));
  }
  archive_.write(key, nested);
}

void CheckpointWriter::write_int(const std::string& key, int64_t value) {
  archive_.write(key, c10::IValue(value));
}

void CheckpointWriter::write_string(const std::string& key, const std::string& value) {
  archive_.write(key, c10::IValue(value));
}

void CheckpointWriter::write_tensor(const std::string& key, const torch::Tensor& value) {
  archive_.write(key, value.detach().to(torch::kCPU));
}

void CheckpointWriter::write_double(const std::string& key, double value) {
  archive_.write(key, c10::IValue(value));
}

void CheckpointWriter::save(const std::string& path) {
  std::ostringstream bytes;
  archive_.save_to(bytes);
  write_file_atomic(path, bytes.str());
}

CheckpointReader::CheckpointReader(const std::string& path) : path_(path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) fail("cannot open checkpoint (missing?)");
  try {
    // Onto the CPU whatever device wrote it: a run trained on CUDA samples and resumes anywhere.
    archive_.load_from(path, torch::Device(torch::kCPU));
  } catch (const c10::Error& e) {
    fail("not a readable checkpoint (truncated or corrupted?): " +
         first_line(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    fail(std::string("not a readable checkpoint (truncated or corrupted?): ") + first_line(e.what()));
  }
  c10::IValue magic, version, kind;
  if (!archive_.try_read("magic", magic) || !magic.isString() ||
      magic.toStringRef() != kCheckpointMagic) {
    fail("not a dcgan checkpoint (no dcgan header)");
  }
  if (!archive_.try_read("version", version) || !version.isInt() || version.toInt() < 1 ||
      version.toInt() > kCheckpointVersion) {
    fail("unsupported checkpoint format version (this build reads versions 1 to " +
         std::to_string(kCheckpointVersion) + ")");
  }
  version_ = version.toInt();
  if (!archive_.try_read("kind", kind) || !kind.isInt() || kind.toInt() < 0 || kind.toInt() > 2) {
    fail("checkpoint kind is missing or unknown");
  }
  kind_ = static_cast<CheckpointKind>(kind.toInt());
}

void CheckpointReader::expect_kind(CheckpointKind wanted) const {
  if (kind_ != wanted) {
    fail(std::string("expected a ") + checkpoint_kind_name(wanted) + ", found a " +
         checkpoint_kind_name(kind_));
  }
}

void CheckpointReader::fail(const std::string& what) const { throw CheckpointError(path_ + ": " + what); }

void CheckpointReader::read_module(const std::string& key, torch::nn::Module& module) {
  torch::serialize::InputArchive nested;
  if (!archive_.try_read(key, nested)) fail("has no '" + key + "' section");
  torch::NoGradGuard no_grad;
  auto copy_into = [&](const std::string& name, torch::Tensor& target, bool is_buffer) {
    torch::Tensor stored;
    if (!nested.try_read(name, stored, is_buffer)) fail("'" + key + "' has no tensor '" + name + "'");
    if (stored.sizes() != target.sizes()) {
      fail("tensor '" + key + "." + name + "' has shape " + shape_string(stored.sizes()) +
           ", the model expects " + shape_string(target.sizes()) +
           " (a checkpoint of another architecture or image size?)");
    }
    target.copy_(stored);
  };
  for (auto& p : module.named_parameters()) copy_into(p.key(), p.value(), false);
  for (auto& b : module.named_buffers()) copy_into(b.key(), b.value(), true);
}

void CheckpointReader::read_optimizer(const std::string& key, torch::optim::Adam& optimizer) {
  torch::serialize::InputArchive nested;
  if (!archive_.try_read(key, nested)) fail("has no '" + key + "' section");
  const std::vector<torch::Tensor> params = parameters_of(optimizer);
  if (version_ == 1) {  // LibTorch's own layout, read by the LibTorch that wrote it
    try {
      optimizer.load(nested);
    } catch (const c10::Error& e) {
      fail("optimizer state '" + key + "' does not fit: " + first_line(e.what_without_backtrace()));
    }
    for (auto& entry : optimizer.state()) {  // read onto the CPU: join the parameters
      if (auto* adam = dynamic_cast<torch::optim::AdamParamState*>(entry.second.get())) {
        if (params.empty()) break;
        adam->exp_avg(adam->exp_avg().to(params.front().device()));
        adam->exp_avg_sq(adam->exp_avg_sq().to(params.front().device()));
      }
    }
    return;
  }
  c10::IValue count;
  if (!nested.try_read("count", count) || !count.isInt()) {
    fail("'" + key + "' has no integer parameter count");
  }
  if (count.toInt() != static_cast<int64_t>(params.size())) {
    fail("optimizer state '" + key + "' is for " + std::to_string(count.toInt()) +
         " parameters, the model has " + std::to_string(params.size()));
  }
  // Every state is read and checked before the optimizer's are replaced: all or nothing.
  std::vector<std::unique_ptr<torch::optim::AdamParamState>> states(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string prefix = std::to_string(i) + ".";
    c10::IValue step;
    if (!nested.try_read(prefix + "step", step) || !step.isInt()) {
      fail("'" + key + "' has no integer step count for parameter " + std::to_string(i));
    }
    if (step.toInt() < 0) continue;  // not stepped when saved
    auto state = std::make_unique<torch::optim::AdamParamState>();
    state->step(step.toInt());
    for (const char* name : {"exp_avg", "exp_avg_sq"}) {
      torch::Tensor moment;
      if (!nested.try_read(prefix + name, moment)) {
        fail("'" + key + "' has no " + name + " for parameter " + std::to_string(i));
      }
      if (moment.sizes() != params[i].sizes()) {
        fail("'" + key + "." + prefix + name + "' has shape " + shape_string(moment.sizes()) +
             ", the parameter expects " + shape_string(params[i].sizes()));
      }
      moment = moment.to(params[i].options());
      std::string(name) == "exp_avg" ? state->exp_avg(moment) : state->exp_avg_sq(moment);
    }
    states[i] = std::move(state);
  }
  optimizer.state().clear();
  for (size_t i = 0; i < params.size(); ++i) {
    if (states[i]) optimizer.state()[state_key(optimizer, params[i])] = std::move(states[i]);
  }
}

int64_t CheckpointReader::read_int(const std::string& key) {
  c10::IValue value;
  if (!archive_.try_read(key, value) || !value.isInt()) fail("has no integer '" + key + "'");
  return value.toInt();
}

std::string CheckpointReader::read_string(const std::string& key) {
  c10::IValue value;
  if (!archive_.try_read(key, value) || !value.isString()) fail("has no string '" + key + "'");
  return value.toStringRef();
}

torch::Tensor CheckpointReader::read_tensor(const std::string& key) {
  torch::Tensor value;
  if (!archive_.try_read(key, value)) fail("has no tensor '" + key + "'");
  return value;
}

double CheckpointReader::read_double(const std::string& key) {
  c10::IValue value;
  if (!archive_.try_read(key, value) || !value.isDouble()) fail("has no number '" + key + "'");
  return value.toDouble();
}

bool CheckpointReader::has(const std::string& key) {
  c10::IValue value;
  if (archive_.try_read(key, value)) return true;
  torch::serialize::InputArchive nested;
  return archive_.try_read(key, nested);
}

}  // namespace dcgan
