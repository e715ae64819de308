#include <cstdio>
#include <filesystem>
#include <memory>

#include "dcgan/cli/commands.h"
#include "dcgan/config/config.h"
#include "dcgan/error.h"
#include "dcgan/io/file.h"
#include "dcgan/io/generator_file.h"
#include "dcgan/io/png.h"
#include "dcgan/train/device.h"

namespace dcgan {
namespace {

constexpr int64_t kMaxImages = 1000000;

// "runs/x/generator.pt", 6x12, seed 3 => "runs/x/generator_6x12_seed3.png"
std::string default_grid_path(const std::string& checkpoint, GridSize grid, uint64_t seed) {
  std::filesystem::path path(checkpoint);
  return (path.parent_path() / (path.stem().string() + "_" + std::to_string(grid.rows) + "x" +
                                std::to_string(grid.cols) + "_seed" + std::to_string(seed) + ".png"))
      .string();
}

torch::Tensor generate(LoadedGenerator& loaded, int64_t n, at::Generator& noise,
                       const torch::Device& device, bool batch_stats, bool use_ema) {
  torch::NoGradGuard no_grad;
  Generator& generator = loaded.pick(use_ema);
  auto z = sample_noise(n, loaded.config.model.z_dim, device, noise);
  if (batch_stats) generator->train();  // running statistics are not saved afterwards
  auto images = generator->forward(z).to(torch::kCPU);  // (n, C, 32, 32)
  generator->eval();
  return images;
}

}  // namespace

void setup_sample(CLI::App& app) {
  auto options = std::make_shared<SampleCommandOptions>();
  auto* cmd = app.add_subcommand("sample", "Draw samples from a trained generator");
  cmd->add_option("--ckpt", options->checkpoint, "generator file (RUN_DIR/generator.pt)")
      ->required()
      ->check(CLI::ExistingFile);
  auto* grid = cmd->add_option("--grid", options->grid, "grid of ROWSxCOLS samples")->capture_default_str();
  auto* out = cmd->add_option("--out", options->out,
                              "grid PNG path (default: beside the checkpoint)");
  auto* num = cmd->add_option("--num", options->num, "write N individual PNG files (for FID tools)")
                  ->check(CLI::Range(int64_t{1}, kMaxImages));
  auto* out_dir = cmd->add_option("--out-dir", options->out_dir, "folder for --num images");
  num->needs(out_dir);
  out_dir->needs(num);
  num->excludes(grid);
  num->excludes(out);
  cmd->add_option("--seed", options->seed, "noise seed")->capture_default_str();
  cmd->add_flag("--batch-stats", options->batch_stats,
                "batch norm on each batch's statistics instead of the running averages");
  cmd->add_flag("--no-ema", options->no_ema,
                "use the trained weights, not their moving average (train.ema)");
  cmd->add_option("--batch-size", options->batch_size, "images per forward pass with --num")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{65536}));
  add_device_options(cmd, options->device, &options->threads);
  cmd->callback([options]() { run_sample(*options); });
}

void run_sample(const SampleCommandOptions& options) {
  const GridSize grid = parse_grid(options.grid, "--grid");
  const torch::Device device = resolve_device(options.device);
  configure_threads(options.threads);
  LoadedGenerator loaded = load_generator_file(options.checkpoint, device);
  auto noise = at::make_generator<at::CPUGeneratorImpl>(options.seed);

  if (options.num == 0) {
    const std::string out =
        options.out.empty() ? default_grid_path(options.checkpoint, grid, options.seed) : options.out;
    write_grid_png(out, generate(loaded, grid.rows * grid.cols, noise, device, options.batch_stats,
                            !options.no_ema),
                   grid);
    std::printf("wrote %s (%lldx%lld samples)\n", out.c_str(), static_cast<long long>(grid.rows),
                static_cast<long long>(grid.cols));
    return;
  }

  std::error_code error;
  if (std::filesystem::exists(options.out_dir, error) &&
      !std::filesystem::is_empty(options.out_dir, error)) {
    throw ConfigError("--out-dir " + options.out_dir +
                      " is not empty: FID tools read every image in it; use a new folder");
  }
  create_directories(options.out_dir);
  for (int64_t first = 0; first < options.num; first += options.batch_size) {
    const int64_t n = std::min(options.batch_size, options.num - first);
    auto images = generate(loaded, n, noise, device, options.batch_stats, !options.no_ema);
    for (int64_t i = 0; i < n; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "%06lld.png", static_cast<long long>(first + i));
      write_image_png((std::filesystem::path(options.out_dir) / name).string(), images[i]);
    }
  }
  std::printf("wrote %lld images to %s\n", static_cast<long long>(options.num),
              options.out_dir.c_str());
}

}  // namespace dcgan
