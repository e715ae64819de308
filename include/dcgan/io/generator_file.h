// The generator file that `dcgan sample` reads: G's parameters and buffers with the config that
// built it, so the network can be rebuilt without the run directory.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "dcgan/config/config.h"
#include "dcgan/model/networks.h"

namespace dcgan {

struct LoadedGenerator {
  Config config;
  int64_t channels = 0;
  Generator generator{nullptr};
};

// Writes `generator` (built from `config` for `channels`-channel images) to `path` atomically.
void save_generator_file(const std::string& path, const Config& config, int64_t channels,
                         Generator& generator);

// Rebuilds the generator stored in `path` on `device`. Throws CheckpointError for a missing,
// corrupt or foreign file, or for a training checkpoint given in its place.
LoadedGenerator load_generator_file(const std::string& path, const torch::Device& device);

}  // namespace dcgan
