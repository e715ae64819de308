// `dcgan info RUN_DIR|CKPT`: what a run directory or a checkpoint file holds, as plain lines.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "dcgan/cli/commands.h"
#include "dcgan/config/config.h"
#include "dcgan/error.h"
#include "dcgan/io/checkpoint.h"
#include "dcgan/model/networks.h"
#include "dcgan/train/evaluation.h"
#include "dcgan/train/metrics.h"
#include "dcgan/train/run_dir.h"

namespace dcgan {
namespace {

namespace fs = std::filesystem;

void line(const std::string& key, const std::string& value) {
  std::printf("%-18s %s\n", (key + ":").c_str(), value.c_str());
}

std::string count_text(int64_t n) {
  std::string digits = std::to_string(n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<size_t>(i), ",");
  return digits;
}

Config stored_config(CheckpointReader& reader) {
  Config config;
  try {
    apply_yaml_string(config, reader.read_string("config"), reader.path() + " (stored config)");
  } catch (const ConfigError& e) {
    throw CheckpointError(e.what());
  }
  return config;
}

void print_architecture(const Config& config, int64_t channels, bool discriminator) {
  const ModelOptions& m = config.model;
  line("images", std::to_string(m.image_size) + "x" + std::to_string(m.image_size) + ", " +
                     std::to_string(channels) + (channels == 1 ? " channel" : " channels"));
  line("architecture", "DCGAN, z " + std::to_string(m.z_dim) + ", G width " +
                           std::to_string(m.g_channels) + ", D width " +
                           std::to_string(m.d_channels) + ", " +
                           (m.image_size == 64 ? "4" : "3") + " stages each side");
  Generator generator(m, channels, UpconvKind::kNative);
  line("G parameters", count_text(count_parameters(*generator)));
  if (discriminator) {
    Discriminator d(m, channels);
    line("D parameters", count_text(count_parameters(*d)));
  }
}

void print_config(const Config& config) {
  std::printf("config:\n");
  std::istringstream yaml(to_yaml(config));
  for (std::string text; std::getline(yaml, text);) std::printf("  %s\n", text.c_str());
}

// The last data row of a CSV file with `header`, or "" when there is none.
std::string last_row(const std::string& path) {
  std::ifstream in(path);
  std::string text, last;
  while (std::getline(in, text)) {
    if (!text.empty() && text.find_first_not_of("0123456789") != 0) last = text;
  }
  return last;
}

void print_checkpoint(const std::string& path) {
  CheckpointReader reader(path);
  line("file", path);
  line("kind", checkpoint_kind_name(reader.kind()));
  if (reader.kind() == CheckpointKind::kFeatures) {
    line("images", std::to_string(reader.read_int("channels")) + " channels");
    line("classes", std::to_string(reader.read_int("classes")));
    line("width", std::to_string(reader.read_int("width")) + " (features of " +
                      std::to_string(8 * reader.read_int("width")) + ")");
    char accuracy[32];
    std::snprintf(accuracy, sizeof accuracy, "%.2f %%", 100.0 * reader.read_double("test_accuracy"));
    line("test accuracy", accuracy);
    line("trained on", reader.read_string("source") + " (" +
                           count_text(reader.read_int("train_images")) + " images, " +
                           count_text(reader.read_int("test_images")) + " test)");
    return;
  }
  const Config config = stored_config(reader);
  const int64_t channels = reader.read_int("channels");
  const bool training = reader.kind() == CheckpointKind::kTraining;
  print_architecture(config, channels, training);
  std::ostringstream decay;  // as the config shows it: 0.99, not std::to_string's 0.990000
  decay << config.train.ema;
  line("moving average", reader.has("generator_ema") ? "yes (train.ema " + decay.str() + ")" : "no");
  if (training) {
    // The form model.upconv resolved to (auto's timed pick, say); older files lack it.
    if (reader.has("upconv")) {
      line("upconv", reader.read_string("upconv") + " (model.upconv " + config.model.upconv + ")");
    }
    line("step", std::to_string(reader.read_int("step")));
    line("epoch", std::to_string(reader.read_int("epoch")) + " of " +
                      std::to_string(config.train.epochs) + " done, batch " +
                      std::to_string(reader.read_int("batch")));
    if (reader.has("best_fid")) {
      char best[64];
      std::snprintf(best, sizeof best, "%.4f at step %lld", reader.read_double("best_fid"),
                    static_cast<long long>(reader.read_int("best_step")));
      line("best FID", best);
    }
  }
  print_config(config);
}

}  // namespace

void setup_info(CLI::App& app) {
  auto options = std::make_shared<InfoCommandOptions>();
  auto* cmd = app.add_subcommand("info", "Show what a run directory or checkpoint file holds");
  cmd->add_option("target", options->target, "run directory or checkpoint file")->required();
  cmd->callback([options]() { run_info(*options); });
}

void run_info(const InfoCommandOptions& options) {
  std::error_code error;
  if (!fs::exists(options.target, error)) {
    throw ConfigError(options.target + ": no such run directory or checkpoint file");
  }
  if (!fs::is_directory(options.target, error)) {
    print_checkpoint(options.target);
    return;
  }
  const RunDir run{options.target};
  if (!fs::exists(run.checkpoint(), error)) {
    throw ConfigError(options.target + ": a run directory with checkpoint.pt expected, found none");
  }
  line("run", run.root);
  const std::string metrics = last_row(run.metrics());
  if (!metrics.empty()) line("last metrics", std::string(kMetricsHeader) + "\n" + std::string(19, ' ') + metrics);
  const std::string quality = last_row(run.quality());
  if (!quality.empty()) {
    line("last quality", std::string(kQualityHeader) + "\n" +
                             std::string(19, ' ') + quality);
  }
  std::string files;
  for (const char* name : {"generator.pt", "best_generator.pt", "report.html", "quality.csv"}) {
    if (fs::exists(run.root + "/" + name, error)) files += std::string(files.empty() ? "" : ", ") + name;
  }
  if (!files.empty()) line("files", files);
  print_checkpoint(run.checkpoint());
}

}  // namespace dcgan
