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
  Generator ema{nullptr};  // the averaged weights (train.ema), when the file has them

  // The averaged generator when there is one and `use_ema`, else the trained one.
  Generator& pick(bool use_ema) { return use_ema && ema ? ema : generator; }
};

// Writes `generator` (built from `config` for `channels`-channel images), and its moving average
// `ema` when given, to `path` atomically.
void save_generator_file(const std::string& path, const Config& config, int64_t channels,
                         Generator& generator, Generator* ema = nullptr);

// Rebuilds the generator stored in `path` on `device`. Throws CheckpointError for a missing,
// corrupt or foreign file, or for a training checkpoint given in its place.
LoadedGenerator load_generator_file(const std::string& path, const torch::Device& device);

}  // namespace dcgan
