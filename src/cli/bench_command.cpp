// dcgan bench: the training step's throughput on synthetic data, its phases, and data loading.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "dcgan/cli/commands.h"
#include "dcgan/config/config.h"
#include "dcgan/data/image_set.h"
#include "dcgan/dist/env.h"
#include "dcgan/dist/process_group.h"
#include "dcgan/error.h"
#include "dcgan/model/networks.h"
#include "dcgan/train/device.h"
#include "dcgan/train/gan.h"
#include "dcgan/train/profile.h"
#include "dcgan/train/upconv_choice.h"

namespace dcgan {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string format_rate(double rate) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", rate);
  return text;
}

// "x.mat" => svhn_mat, anything else => idx.
std::string format_of(const std::string& path) {
  const auto ends_with = [&path](const std::string& suffix) {
    return path.size() >= suffix.size() &&
           path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (std::filesystem::is_directory(path)) return "folder";
  if (ends_with(".mat")) return "svhn_mat";
  if (ends_with(".bin")) return "cifar10";
  return "idx";
}

}  // namespace

void setup_bench(CLI::App& app) {
  auto options = std::make_shared<BenchCommandOptions>();
  auto* cmd = app.add_subcommand("bench", "Time the training step on synthetic data (and a data load)");
  cmd->add_option("--batch-size", options->batch_size, "images per step")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{2}, int64_t{65536}));
  cmd->add_option("--steps", options->steps, "timed steps")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{100000}));
  cmd->add_option("--warmup", options->warmup, "untimed steps first")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{100000}));
  cmd->add_option("--channels", options->channels, "image channels")
      ->capture_default_str()
      ->check(CLI::IsMember({int64_t{1}, int64_t{3}}));
  cmd->add_option("--image-size", options->image_size, "32 or 64 (model.image_size)")
      ->capture_default_str()
      ->check(CLI::IsMember({int64_t{32}, int64_t{64}}));
  cmd->add_option("--upconv", options->upconv, "auto, native, phase, winograd or gemm (model.upconv)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "native", "phase", "winograd", "gemm"}));
  add_device_options(cmd, options->device, &options->threads);
  cmd->add_option("--amp", options->amp, "none or bf16 (autocast, CPU or CUDA)")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "bf16"}));
  cmd->add_flag("--cuda-graphs", options->cuda_graphs,
                "capture the step in a CUDA graph and replay it (run.cuda_graphs; CUDA only)");
  cmd->add_option("--dist-backend", options->dist_backend,
                  "under torchrun: auto, gloo or nccl (run.dist_backend)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "gloo", "nccl"}));
  cmd->add_flag("--sync-bn", options->sync_bn,
                "under torchrun: batch norm over the global batch (model.sync_bn)");
  cmd->add_flag("--no-overlap", options->no_overlap,
                "under torchrun: average the gradients after each backward pass instead of in "
                "buckets during it (to measure what the overlap gains)");
  cmd->add_option("--data", options->data, "also time loading this data file or image folder")
      ->check(CLI::ExistingPath);
  cmd->add_option("--format", options->format,
                  "svhn_mat, idx, cifar10 or folder (default: from the extension; folder for a "
                  "folder)")
      ->check(CLI::IsMember({"svhn_mat", "idx", "cifar10", "folder"}));
  cmd->add_option("--cache", options->cache_dir,
                  "folder format: keep the decoded images in this folder and reuse them "
                  "(data.cache; default: no cache, every load decodes)");
  cmd->add_option("--profile", options->profile,
                  "also run --steps steps under LibTorch's profiler and print the N operators "
                  "(by name and input shapes) with the most self time")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}));
  cmd->callback([options]() { run_bench(*options); });
}

void run_bench(const BenchCommandOptions& options) {
  Config config;
  config.train.batch_size = options.batch_size;
  config.model.upconv = options.upconv;
  config.model.image_size = options.image_size;
  config.run.device = options.device;
  config.run.amp = options.amp;
  config.run.cuda_graphs = options.cuda_graphs;
  validate(config);
  // Under torchrun (or scripts/launch.sh) every rank times its share of the global batch with the
  // gradients averaged over ranks, as training does; rank 0 reports for all.
  const std::optional<DistEnv> dist = read_dist_env();
  std::unique_ptr<ProcessGroup> group;
  int64_t local_batch = options.batch_size;
  torch::Device device = resolve_device(options.device);
  int64_t threads = 0;
  if (dist) {
    if (options.batch_size % dist->world_size != 0) {
      throw ConfigError("--batch-size " + std::to_string(options.batch_size) +
                        " (the global batch) must split evenly over the " +
                        std::to_string(dist->world_size) + " ranks (WORLD_SIZE)");
    }
    device = resolve_device(options.device, dist->local_rank);
    threads = configure_threads(options.threads, dist->local_world_size);
    group = ProcessGroup::join(*dist, options.dist_backend, device, std::chrono::seconds(600));
    local_batch = options.batch_size / dist->world_size;
    if (group->rank() != 0 && std::freopen("/dev/null", "w", stdout) == nullptr) {
      throw IoError("cannot silence rank " + std::to_string(group->rank()) + "'s output");
    }
  } else {
    threads = configure_threads(options.threads);
  }
  // All ranks start a timed section together.
  const auto line_up = [&] {
    if (!group) return;
    group->all_reduce_sum({torch::zeros({1}, torch::TensorOptions().device(group->device()))},
                          "lining up");
  };
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(config.run.cudnn_benchmark);
  // As training picks it: beyond the thread counts `auto` was measured at, both forms timed.
  const UpconvChoice upconv =
      choose_training_upconv(config, options.channels, local_batch, device, std::nullopt, group.get());
  std::printf("dcgan bench: device %s, %lld threads, batch %lld, %lld channels, %lldx%lld, "
              "upconv %s, amp %s, CUDA graphs %s\n",
              device.str().c_str(), static_cast<long long>(threads),
              static_cast<long long>(options.batch_size), static_cast<long long>(options.channels),
              static_cast<long long>(options.image_size), static_cast<long long>(options.image_size),
              upconv_name(upconv.kind), options.amp.c_str(), options.cuda_graphs ? "on" : "off");
  std::printf("%s\n", describe_build().c_str());
  if (const std::string line = describe_upconv_choice(upconv, options.upconv); !line.empty()) {
    std::printf("%s\n", line.c_str());
  }
  if (group) {
    std::printf("distributed: %d ranks over %s, %lld images per rank, batch norm %s, gradients "
                "averaged %s\n", group->size(), group->backend().c_str(),
                static_cast<long long>(local_batch),
                options.sync_bn ? "over the global batch" : "per rank",
                options.no_overlap ? "after each backward pass" : "in buckets during backward");
  }

  torch::manual_seed(0);
  Gan gan(config, options.channels, device, upconv.kind);
  if (group) gan.set_process_group(group.get(), options.sync_bn, !options.no_overlap);
  if (!gan.bf16_note().empty()) std::printf("warning: %s\n", gan.bf16_note().c_str());
  // Synthetic data as the reference benchmark: uniform in [-1, 1], already on the device.
  auto real = (torch::rand({local_batch, options.channels, options.image_size, options.image_size}) * 2 - 1)
                  .to(device);
  auto noise = at::make_generator<at::CPUGeneratorImpl>(0);
  auto step = [&](StepPhases* phases) {
    return gan.step(real, sample_noise(local_batch, config.model.z_dim, device, noise), phases);
  };

  for (int64_t i = 0; i < options.warmup; ++i) step(nullptr);
  synchronize(device);
  line_up();
  const auto start = Clock::now();
  StepStats stats;
  for (int64_t i = 0; i < options.steps; ++i) stats = step(nullptr);
  synchronize(device);
  const double elapsed = seconds_since(start);
  double images_per_sec = static_cast<double>(local_batch * options.steps) / elapsed;
  if (group) {
    // Each rank's own rate (milli-images/s, to gather as integers) and the run's: the global
    // batch over the slowest rank's time, as every step waits for the slowest.
    const auto rates =
        group->all_gather({static_cast<int64_t>(images_per_sec * 1000)}, "gathering the rates");
    std::string per_rank;
    double slowest = images_per_sec;
    for (size_t r = 0; r < rates.size(); ++r) {
      const double rate = static_cast<double>(rates[r][0]) / 1000;
      slowest = std::min(slowest, rate);
      per_rank += (r == 0 ? "" : ", ") + format_rate(rate);
    }
    images_per_sec = slowest * static_cast<double>(group->size());
    std::printf("per rank: %s images/s; total %.1f images/s\n", per_rank.c_str(), images_per_sec);
  }
  std::printf("step: %.4f s/step, %.1f images/s over %lld steps (losses d %.3f g %.3f)\n",
              elapsed / static_cast<double>(options.steps), images_per_sec,
              static_cast<long long>(options.steps), stats.d_loss.item<double>(),
              stats.g_loss.item<double>());

  // Phase shares from separate timed steps: their device synchronisation would slow the run above.
  StepPhases phases;
  line_up();
  for (int64_t i = 0; i < options.steps; ++i) step(&phases);
  const double total = phases.total();
  std::printf("phases%s: G forward %.1f%%, D forward+backward %.1f%%, G backward through D %.1f%%, "
              "optimizers %.1f%%", options.cuda_graphs ? " (of eager steps: a graph has none)" : "",
              100 * phases.g_forward / total, 100 * phases.d_forward_backward / total,
              100 * phases.g_backward / total, 100 * phases.optimizers / total);
  // Averaging the gradients, waiting for the slowest rank included.
  if (group) std::printf(", communication %.1f%%", 100 * phases.communication / total);
  std::printf("\n");

  if (options.profile > 0) {
    const auto times = profile_operators([&] {
      for (int64_t i = 0; i < options.steps; ++i) step(nullptr);
      synchronize(device);
    });
    std::printf("profile: self time per step over %lld steps, by operator and input shapes\n%s",
                static_cast<long long>(options.steps),
                format_profile(times, options.steps, static_cast<size_t>(options.profile)).c_str());
  }

  // Preparing a batch: gather uint8 images in epoch order, copy to the device, scale to [-1, 1].
  {
    const int64_t n = 8 * options.batch_size;
    auto images = torch::randint(0, 256, {n, options.channels, options.image_size, options.image_size}, torch::kUInt8);
    auto order = torch::randperm(n, torch::kLong);
    constexpr int kRepeats = 50;
    const auto prep_start = Clock::now();
    for (int i = 0; i < kRepeats; ++i) {
      auto index = order.slice(0, (i % 8) * options.batch_size, (i % 8 + 1) * options.batch_size);
      to_model_range(images.index_select(0, index), device);
    }
    synchronize(device);
    const double per_batch = seconds_since(prep_start) / kRepeats;
    std::printf("batch preparation: %.2f ms per batch (%.2f%% of a step)\n", 1e3 * per_batch,
                100 * per_batch / (elapsed / static_cast<double>(options.steps)));
  }

  if (!options.data.empty()) {
    DataOptions data;
    data.format = options.format.empty() ? format_of(options.data) : options.format;
    data.train = options.data;
    const auto load_start = Clock::now();
    data.channels = options.channels;
    data.cache = !options.cache_dir.empty();
    LoadContext context;
    context.image_size = options.image_size;
    context.cache_dir = options.cache_dir;
    context.log = [](const std::string& line) { std::printf("%s\n", line.c_str()); };
    DataSplits loaded = load_data(data, context);
    const double load_seconds = seconds_since(load_start);
    std::printf("load: %s, %lld images in %.2f s\n", options.data.c_str(),
                static_cast<long long>(loaded.train.size()), load_seconds);
  }
  std::printf("images_per_sec=%.1f\n", images_per_sec);
}

}  // namespace dcgan
