// Exports of a trained generator for use outside dcgan:
//   - TorchScript: a self-contained module; in Python `torch.jit.load(path)(z)` generates images
//     with no dcgan code (batch norm on its running statistics, as `dcgan sample`);
//   - safetensors: the weights under the names of scripts/dcgan_generator.py's PyTorch module, with
//     the architecture in the header's __metadata__.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "dcgan/config/config.h"
#include "dcgan/model/networks.h"

namespace dcgan {

// The generator's parameters and buffers by their PyTorch names ("fc.weight", "bn1.running_mean",
// "t2.weight", ...), in registration order, on the CPU.
std::vector<std::pair<std::string, torch::Tensor>> generator_state(Generator& generator);

// The architecture as text key/values: z_dim, g_channels, channels, image_size, leaky_slope,
// bn_eps, format ("dcgan-generator"), version.
std::map<std::string, std::string> generator_metadata(const ModelOptions& model, int64_t channels);

// Writes a TorchScript module computing `generator` in eval mode. Throws IoError.
void export_torchscript(const std::string& path, Generator& generator, const ModelOptions& model,
                        int64_t channels);

// The safetensors encoding of `tensors` (float32, float64, int64, uint8; contiguous little-endian
// data in the given order) with `metadata` as __metadata__. Names must be unique and non-empty.
std::string encode_safetensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                               const std::map<std::string, std::string>& metadata);

// Writes generator_state and generator_metadata as a safetensors file, atomically. Throws IoError.
void export_safetensors(const std::string& path, Generator& generator, const ModelOptions& model,
                        int64_t channels);

}  // namespace dcgan
