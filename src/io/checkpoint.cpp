#include "dcgan/io/checkpoint.h"

#include <filesystem>
#include <sstream>

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

}  // namespace

const char* checkpoint_kind_name(CheckpointKind kind) {
  return kind == CheckpointKind::kTraining ? "training checkpoint" : "generator file";
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

void CheckpointWriter::write_optimizer(const std::string& key,
                                       const torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive nested;
  optimizer.save(nested);
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
  if (!archive_.try_read("version", version) || !version.isInt() ||
      version.toInt() != kCheckpointVersion) {
    fail("unsupported checkpoint format version (this build reads version " +
         std::to_string(kCheckpointVersion) + ")");
  }
  if (!archive_.try_read("kind", kind) || !kind.isInt() || kind.toInt() < 0 || kind.toInt() > 1) {
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

void CheckpointReader::read_optimizer(const std::string& key, torch::optim::Optimizer& optimizer) {
  torch::serialize::InputArchive nested;
  if (!archive_.try_read(key, nested)) fail("has no '" + key + "' section");
  try {
    optimizer.load(nested);
  } catch (const c10::Error& e) {
    fail("optimizer state '" + key + "' does not fit: " + first_line(e.what_without_backtrace()));
  }
  // The state was read onto the CPU: it joins the parameters (one device for all of them).
  const auto& groups = optimizer.param_groups();
  if (groups.empty() || groups.front().params().empty()) return;
  const torch::Device device = groups.front().params().front().device();
  auto to_device = [&](const torch::Tensor& t) { return t.defined() ? t.to(device) : t; };
  for (auto& entry : optimizer.state()) {
    if (auto* adam = dynamic_cast<torch::optim::AdamParamState*>(entry.second.get())) {
      adam->exp_avg(to_device(adam->exp_avg()));
      adam->exp_avg_sq(to_device(adam->exp_avg_sq()));
      adam->max_exp_avg_sq(to_device(adam->max_exp_avg_sq()));
    }
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

}  // namespace dcgan
