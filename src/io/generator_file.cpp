#include "dcgan/io/generator_file.h"

#include "dcgan/error.h"
#include "dcgan/io/checkpoint.h"

namespace dcgan {

void save_generator_file(const std::string& path, const Config& config, int64_t channels,
                         Generator& generator, Generator* ema) {
  CheckpointWriter writer(CheckpointKind::kGenerator);
  writer.write_string("config", to_yaml(config));
  writer.write_int("channels", channels);
  writer.write_module("generator", *generator);
  if (ema != nullptr && *ema) writer.write_module("generator_ema", **ema);
  writer.save(path);
}

LoadedGenerator load_generator_file(const std::string& path, const torch::Device& device) {
  CheckpointReader reader(path);
  reader.expect_kind(CheckpointKind::kGenerator);
  LoadedGenerator loaded;
  try {
    apply_yaml_string(loaded.config, reader.read_string("config"), path + " (stored config)");
    validate(loaded.config);
  } catch (const ConfigError& e) {
    throw CheckpointError(e.what());
  }
  loaded.channels = reader.read_int("channels");
  if (loaded.channels != 1 && loaded.channels != 3) {
    throw CheckpointError(path + ": stored image channels must be 1 or 3, found " +
                          std::to_string(loaded.channels));
  }
  loaded.generator = Generator(loaded.config.model, loaded.channels,
                               resolve_upconv(loaded.config.model.upconv, device));
  reader.read_module("generator", *loaded.generator);
  loaded.generator->to(device);
  loaded.generator->eval();
  if (reader.has("generator_ema")) {
    loaded.ema = Generator(loaded.config.model, loaded.channels,
                           resolve_upconv(loaded.config.model.upconv, device));
    reader.read_module("generator_ema", *loaded.ema);
    loaded.ema->to(device);
    loaded.ema->eval();
  }
  return loaded;
}

}  // namespace dcgan
