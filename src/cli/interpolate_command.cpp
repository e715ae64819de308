// `dcgan interpolate`: latent walks, one row per walk between two random noise vectors.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "dcgan/cli/commands.h"
#include "dcgan/config/config.h"
#include "dcgan/error.h"
#include "dcgan/io/generator_file.h"
#include "dcgan/io/png.h"
#include "dcgan/model/cpu_math.h"
#include "dcgan/train/device.h"

namespace dcgan {

torch::Tensor latent_walk(const torch::Tensor& from, const torch::Tensor& to, int64_t steps,
                          bool spherical) {
  // t = 0, 1/(S-1), ..., 1: each row's first and last images are its end points.
  auto t = torch::linspace(0.0, 1.0, steps, torch::kFloat64).unsqueeze(1);  // (S, 1)
  auto a = from.to(torch::kFloat64).unsqueeze(0);                           // (1, D)
  auto b = to.to(torch::kFloat64).unsqueeze(0);
  torch::Tensor path;
  const double cos_omega =
      (a * b).sum().item<double>() / (a.norm().item<double>() * b.norm().item<double>());
  const double omega = std::acos(std::clamp(cos_omega, -1.0, 1.0));
  if (!spherical || std::sin(omega) < 1e-6) {
    path = a * (1 - t) + b * t;  // uniform noise lives in a cube: straight lines stay in it
  } else {
    // Along the great circle, the norm interpolated from |a| to |b| (Shoemake's slerp).
    path = (torch::sin((1 - t) * omega) * a + torch::sin(t * omega) * b) / std::sin(omega);
  }
  return path.to(from.scalar_type());
}

void setup_interpolate(CLI::App& app) {
  auto options = std::make_shared<InterpolateCommandOptions>();
  auto* cmd = app.add_subcommand("interpolate",
                                 "Walk between random latent points: a PNG grid, one walk per row");
  cmd->add_option("--ckpt", options->checkpoint, "generator file (RUN_DIR/generator.pt)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--rows", options->rows, "walks, one per row")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{256}));
  cmd->add_option("--steps", options->steps, "images per walk, end points included")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{2}, int64_t{256}));
  cmd->add_flag("--spherical", options->spherical,
                "spherical interpolation (slerp) instead of linear");
  cmd->add_option("--seed", options->seed, "noise seed")->capture_default_str();
  cmd->add_option("--out", options->out, "PNG path (default: beside the checkpoint)");
  cmd->add_flag("--no-ema", options->no_ema, "use the trained weights, not their moving average");
  add_device_options(cmd, options->device, nullptr);
  cmd->callback([options]() { run_interpolate(*options); });
}

void run_interpolate(const InterpolateCommandOptions& options) {
  resolve_cpu_math_kernels();  // LibTorch's own thread count here: it may be several
  const torch::Device device = resolve_device(options.device);
  LoadedGenerator loaded = load_generator_file(options.checkpoint, device);
  auto noise = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  const int64_t z_dim = loaded.config.model.z_dim;
  auto ends = sample_noise(2 * options.rows, z_dim, torch::kCPU, noise);  // (2R, D)
  std::vector<torch::Tensor> rows;
  for (int64_t r = 0; r < options.rows; ++r) {
    rows.push_back(latent_walk(ends[2 * r], ends[2 * r + 1], options.steps, options.spherical));
  }
  torch::Tensor images;
  {
    torch::NoGradGuard no_grad;
    images = loaded.pick(!options.no_ema)->forward(torch::cat(rows, 0).to(device)).to(torch::kCPU);
  }
  std::string out = options.out;
  if (out.empty()) {
    const std::filesystem::path path(options.checkpoint);
    out = (path.parent_path() /
           (path.stem().string() + "_walk_" + std::to_string(options.rows) + "x" +
            std::to_string(options.steps) + (options.spherical ? "_slerp" : "") + "_seed" +
            std::to_string(options.seed) + ".png"))
              .string();
  }
  write_grid_png(out, images, GridSize{options.rows, options.steps});
  std::printf("wrote %s (%lld walks of %lld steps, %s%s)\n", out.c_str(),
              static_cast<long long>(options.rows), static_cast<long long>(options.steps),
              options.spherical ? "spherical" : "linear",
              loaded.ema && !options.no_ema ? ", EMA weights" : "");
}

}  // namespace dcgan
