// TorchScript: the forward pass is written out as TorchScript source for this architecture and
// compiled by LibTorch's own compiler (Module::define) over the stored tensors; no Python needed.
// safetensors: an 8-byte little-endian header length, a JSON header, the raw tensor bytes.
#include "dcgan/io/export.h"

#include <torch/script.h>

#include <cstdint>
#include <cstdio>
#include <sstream>

#include "dcgan/error.h"
#include "dcgan/io/file.h"
#include "dcgan/io/json.h"

namespace dcgan {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian; this writer copies memory as it is");

const char* dtype_name(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32: return "F32";
    case torch::kFloat64: return "F64";
    case torch::kInt64: return "I64";
    case torch::kUInt8: return "U8";
    default: return nullptr;
  }
}

// Exact decimal text for a double that TorchScript's parser reads back to the same value.
std::string literal(double value) {
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", value);
  std::string s = text;
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

// A TorchScript attribute name for a state name: "bn1.running_mean" -> "bn1_running_mean".
std::string attribute(std::string name) {
  for (char& c : name) {
    if (c == '.') c = '_';
  }
  return name;
}

}  // namespace

std::vector<std::pair<std::string, torch::Tensor>> generator_state(Generator& generator) {
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (const auto& p : generator->named_parameters()) {
    state.emplace_back(p.key(), p.value().detach().to(torch::kCPU).contiguous());
  }
  for (const auto& b : generator->named_buffers()) {
    state.emplace_back(b.key(), b.value().detach().to(torch::kCPU).contiguous());
  }
  return state;
}

std::map<std::string, std::string> generator_metadata(const ModelOptions& model, int64_t channels) {
  return {{"format", "dcgan-generator"},
          {"version", "1"},
          {"z_dim", std::to_string(model.z_dim)},
          {"g_channels", std::to_string(model.g_channels)},
          {"channels", std::to_string(channels)},
          {"image_size", std::to_string(model.image_size)},
          {"leaky_slope", literal(model.leaky_slope)},
          {"bn_eps", literal(model.bn_eps)}};
}

void export_torchscript(const std::string& path, Generator& generator, const ModelOptions& model,
                        int64_t channels) {
  torch::jit::Module module("dcgan.Generator");
  for (const auto& [name, tensor] : generator_state(generator)) {
    if (tensor.is_floating_point()) {
      module.register_parameter(attribute(name), tensor.clone(), /*is_buffer=*/false);
    }
  }
  const std::string slope = literal(model.leaky_slope);
  const std::string eps = literal(model.bn_eps);
  const int64_t stages = model.image_size == 64 ? 4 : 3;
  std::ostringstream src;
  src << "def forward(self, z):\n"
      << "    x = torch.linear(z, self.fc_weight, self.fc_bias).view(-1, " << model.g_channels
      << ", 4, 4)\n";
  auto batch_norm = [&](const std::string& bn) {
    src << "    x = torch.batch_norm(x, self." << bn << "_weight, self." << bn << "_bias, self."
        << bn << "_running_mean, self." << bn << "_running_var, False, 0.0, " << eps
        << ", True)\n"
        << "    x = torch.leaky_relu(x, " << slope << ")\n";
  };
  batch_norm("bn1");
  for (int64_t i = 0; i < stages; ++i) {
    const std::string t = "t" + std::to_string(i + 2);
    src << "    x = torch.conv_transpose2d(x, self." << t << "_weight, self." << t
        << "_bias, [2, 2], [2, 2], [1, 1])\n";
    if (i + 1 < stages) batch_norm("bn" + std::to_string(i + 2));
  }
  src << "    return torch.tanh(x)\n";
  try {
    module.define(src.str());
    module.register_attribute("z_dim", c10::IntType::get(), model.z_dim);
    module.register_attribute("image_size", c10::IntType::get(), model.image_size);
    module.register_attribute("channels", c10::IntType::get(), channels);
    module.eval();
    std::ostringstream bytes;
    module.save(bytes);
    write_file_atomic(path, bytes.str());
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    throw IoError(path + ": TorchScript export failed: " + what.substr(0, what.find('\n')));
  }
}

std::string encode_safetensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  std::string header = "{\"__metadata__\":{";
  bool first = true;
  for (const auto& [key, value] : metadata) {
    header += (first ? "" : ",") + json_string(key) + ":" + json_string(value);
    first = false;
  }
  header += "}";
  std::string data;
  for (const auto& [name, tensor] : tensors) {
    const char* dtype = dtype_name(tensor.scalar_type());
    if (name.empty() || name == "__metadata__" || dtype == nullptr) {
      throw std::invalid_argument("encode_safetensors: cannot encode tensor '" + name + "' of " +
                                  std::string(c10::toString(tensor.scalar_type())));
    }
    const torch::Tensor cpu = tensor.to(torch::kCPU).contiguous();
    const size_t begin = data.size();
    data.append(static_cast<const char*>(cpu.data_ptr()), cpu.nbytes());  // x86/ARM: little-endian
    header += "," + json_string(name) + ":{\"dtype\":\"" + dtype + "\",\"shape\":[";
    for (int64_t d = 0; d < cpu.dim(); ++d) header += (d ? "," : "") + std::to_string(cpu.size(d));
    header += "],\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(data.size()) + "]}";
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // the format allows padding with spaces
  std::string out(8, '\0');
  uint64_t length = header.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xff);
  return out + header + data;
}

void export_safetensors(const std::string& path, Generator& generator, const ModelOptions& model,
                        int64_t channels) {
  write_file_atomic(path, encode_safetensors(generator_state(generator),
                                             generator_metadata(model, channels)));
}

}  // namespace dcgan
