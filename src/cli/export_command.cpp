// `dcgan export`: a generator file as TorchScript or safetensors, for use from Python.
#include <cstdio>
#include <memory>

#include "dcgan/cli/commands.h"
#include "dcgan/error.h"
#include "dcgan/io/export.h"
#include "dcgan/io/generator_file.h"

namespace dcgan {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

void setup_export(CLI::App& app) {
  auto options = std::make_shared<ExportCommandOptions>();
  auto* cmd = app.add_subcommand(
      "export", "Write a generator as TorchScript (torch.jit.load) or safetensors, for Python");
  cmd->add_option("--ckpt", options->checkpoint, "generator file (RUN_DIR/generator.pt)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", options->out, "output file")->required();
  cmd->add_option("--format", options->format,
                  "torchscript or safetensors (default: safetensors for a .safetensors file, "
                  "else torchscript)")
      ->check(CLI::IsMember({"torchscript", "safetensors"}));
  cmd->add_flag("--no-ema", options->no_ema,
                "export the trained weights, not their moving average (train.ema)");
  cmd->callback([options]() { run_export(*options); });
}

void run_export(const ExportCommandOptions& options) {
  LoadedGenerator loaded = load_generator_file(options.checkpoint, torch::kCPU);
  Generator& generator = loaded.pick(!options.no_ema);
  generator->eval();
  const std::string format = !options.format.empty()          ? options.format
                             : ends_with(options.out, ".safetensors") ? "safetensors"
                                                                      : "torchscript";
  const ModelOptions& model = loaded.config.model;
  if (format == "safetensors") {
    export_safetensors(options.out, generator, model, loaded.channels);
  } else {
    export_torchscript(options.out, generator, model, loaded.channels);
  }
  std::printf("wrote %s (%s, %s weights): %lldx%lld images with %lld channel%s from z of %lld\n",
              options.out.c_str(), format.c_str(),
              !options.no_ema && loaded.ema ? "averaged" : "trained",
              static_cast<long long>(model.image_size), static_cast<long long>(model.image_size),
              static_cast<long long>(loaded.channels), loaded.channels == 1 ? "" : "s",
              static_cast<long long>(model.z_dim));
}

}  // namespace dcgan
