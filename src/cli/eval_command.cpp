// `dcgan eval`: a generator's quality numbers; `dcgan train-features`: the feature network.
#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>

#include "dcgan/cli/commands.h"
#include "dcgan/config/config.h"
#include "dcgan/error.h"
#include "dcgan/io/file.h"
#include "dcgan/io/generator_file.h"
#include "dcgan/io/json.h"
#include "dcgan/train/device.h"
#include "dcgan/train/evaluation.h"

namespace dcgan {
namespace {

void print_line(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  char text[32];
  std::snprintf(text, sizeof text, "%.10g", value);
  return text;
}

// "LO,HI" -> the two numbers; ConfigError naming --features-range otherwise.
std::pair<double, double> parse_range(const std::string& text) {
  const size_t comma = text.find(',');
  char* end = nullptr;
  if (comma != std::string::npos) {
    const std::string lo = text.substr(0, comma), hi = text.substr(comma + 1);
    const double low = std::strtod(lo.c_str(), &end);
    const bool low_ok = !lo.empty() && *end == '\0';
    const double high = std::strtod(hi.c_str(), &end);
    if (low_ok && !hi.empty() && *end == '\0' && std::isfinite(low) && std::isfinite(high) &&
        low < high) {
      return {low, high};
    }
  }
  throw ConfigError("--features-range: LOW,HIGH with LOW < HIGH expected (like 0,1), got '" +
                    text + "'");
}

}  // namespace

void setup_eval(CLI::App& app) {
  auto options = std::make_shared<EvalCommandOptions>();
  auto* cmd = app.add_subcommand(
      "eval", "Measure a generator: FID, KID, precision/recall, density/coverage");
  cmd->add_option("--ckpt", options->checkpoint, "generator file (RUN_DIR/generator.pt)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--data", options->data,
                  "real images to compare with (default: the run's test file, else its training file)");
  cmd->add_option("--format", options->format, "format of --data (default: the run's data.format)");
  cmd->add_option("--num", options->num, "images of each side; 0 = up to 10000")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
  cmd->add_option("--features", options->features,
                  "feature network file or TorchScript module (default: the run's eval.features)");
  cmd->add_option("--features-size", options->features_size,
                  "TorchScript input side to resize to (0 = as is; default: its input_size)")
      ->check(CLI::Range(int64_t{0}, int64_t{4096}));
  cmd->add_option("--features-range", options->features_range,
                  "TorchScript input range LOW,HIGH (default: its input_range, else -1,1)");
  cmd->add_option("--features-channels", options->features_channels,
                  "TorchScript input channels, 1 or 3 (default: its input_channels)")
      ->check(CLI::IsMember({int64_t{1}, int64_t{3}}));
  cmd->add_option("--json", options->json, "also write the results to this JSON file");
  cmd->add_option("--seed", options->seed, "noise seed")->capture_default_str();
  cmd->add_flag("--no-ema", options->no_ema, "use the trained weights, not their moving average");
  add_device_options(cmd, options->device, &options->threads);
  cmd->callback([options]() { run_eval(*options); });
}

void run_eval(const EvalCommandOptions& options) {
  const torch::Device device = resolve_device(options.device);
  configure_threads(options.threads);
  LoadedGenerator loaded = load_generator_file(options.checkpoint, device);
  Config config = loaded.config;

  ScriptInput input;
  if (options.features_size >= 0) input.size = options.features_size;
  if (!options.features_range.empty()) {
    const auto range = parse_range(options.features_range);
    input.low = range.first;
    input.high = range.second;
  }
  if (options.features_channels > 0) input.channels = options.features_channels;

  // The real images, before the (possibly long) feature network: a bad file fails at once.
  ImageSet real;
  if (!options.data.empty()) {
    DataOptions data;
    data.format = options.format.empty() ? config.data.format : options.format;
    data.train = options.data;
    real = load_data(data, load_context(config)).train;
  } else {
    DataOptions data = config.data;
    data.limit = 0;
    if (data.train.empty()) {
      throw ConfigError(options.checkpoint + ": the run names no data file; give --data");
    }
    real = reference_images(load_data(data, load_context(config)));
  }
  if (real.channels() != loaded.channels) {
    throw ConfigError("--data: " + std::to_string(loaded.channels) + "-channel images expected " +
                      "(the generator's), found " + std::to_string(real.channels()));
  }
  const int64_t num = resolve_eval_num(options.num, real.size(), "--num");
  const std::string features = options.features.empty() ? config.eval.features : options.features;
  auto extractor = open_features(config, features, device, input, print_line);
  const std::string description = extractor->describe();
  QualityEvaluator evaluator(std::move(extractor), real, num, options.seed, device);
  const bool ema = !options.no_ema && loaded.ema;
  const QualityReport report = evaluator.evaluate(loaded.pick(!options.no_ema));
  print_line("features: " + description);
  print_line(std::string("generator: ") + options.checkpoint + (ema ? " (EMA weights)" : ""));
  print_line(describe_quality(report));
  if (!options.json.empty()) {
    std::ostringstream json;
    json << "{\n  \"checkpoint\": " << json_string(options.checkpoint)
         << ",\n  \"weights\": " << json_string(ema ? "ema" : "trained")
         << ",\n  \"features\": " << json_string(description) << ",\n  \"num\": " << report.num
         << ",\n  \"fid\": " << json_number(report.fid)
         << ",\n  \"kid_mean\": " << json_number(report.kid.mean)
         << ",\n  \"kid_std\": " << json_number(report.kid.std)
         << ",\n  \"precision\": " << json_number(report.manifold.precision)
         << ",\n  \"recall\": " << json_number(report.manifold.recall)
         << ",\n  \"density\": " << json_number(report.manifold.density)
         << ",\n  \"coverage\": " << json_number(report.manifold.coverage)
         << ",\n  \"seconds\": " << json_number(report.seconds) << "\n}\n";
    write_file_atomic(options.json, json.str());
  }
}

void setup_train_features(CLI::App& app) {
  auto options = std::make_shared<TrainFeaturesCommandOptions>();
  auto* cmd = app.add_subcommand(
      "train-features", "Train the feature network that measures quality, on a dataset's labels");
  cmd->add_option("--config", options->config_file, "YAML config file of the runs it serves")
      ->check(CLI::ExistingFile);
  cmd->add_option("--data", options->data, "labelled training file (data.train)");
  cmd->add_option("--test", options->test, "labelled test file for the accuracy (data.test)");
  cmd->add_option("--format", options->format, "svhn_mat, idx, cifar10 or folder (data.format)");
  cmd->add_option("--epochs", options->epochs, "training epochs (eval.feature_epochs)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  cmd->add_option("--out", options->out,
                  "output file (default: where `eval.features: auto` looks for it)");
  add_device_options(cmd, options->device, &options->threads);
  cmd->callback([options]() { run_train_features(*options); });
}

void run_train_features(const TrainFeaturesCommandOptions& options) {
  Config config;
  if (!options.config_file.empty()) apply_yaml_file(config, options.config_file);
  if (!options.data.empty()) config.data.train = options.data;
  if (!options.test.empty()) config.data.test = options.test;
  if (!options.format.empty()) set_key(config, "data.format", options.format, "--format");
  if (options.epochs > 0) config.eval.feature_epochs = options.epochs;
  validate(config);
  if (config.data.train.empty()) throw ConfigError("--data: name the labelled training file");
  const torch::Device device = resolve_device(options.device);
  configure_threads(options.threads);
  const std::string out = options.out.empty() ? auto_features_path(config) : options.out;
  build_feature_net(config, out, device, print_line);
  print_line("wrote " + out);
}

}  // namespace dcgan
