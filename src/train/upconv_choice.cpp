#include "dcgan/train/upconv_choice.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>

#include "dcgan/dist/process_group.h"
#include "dcgan/train/device.h"
#include "dcgan/train/gan.h"
#include "global_rng.h"

namespace dcgan {

std::vector<UpconvTrial> time_upconv_steps(const Config& config, int64_t channels, int64_t batch,
                                           const torch::Device& device,
                                           const std::vector<UpconvKind>& kinds, int rounds) {
  GlobalRngGuard rng;
  Config timed = config;
  timed.train.ema = 0;  // the same for every kind
  timed.run.cuda_graphs = false;
  const int64_t size = config.model.image_size;
  const torch::Tensor real = (torch::rand({batch, channels, size, size}) * 2 - 1).to(device);
  const torch::Tensor z = sample_noise(batch, config.model.z_dim, torch::kCPU).to(device);
  std::vector<std::unique_ptr<Gan>> gans;
  for (const UpconvKind kind : kinds) {
    gans.push_back(std::make_unique<Gan>(timed, channels, device, kind));
    gans.back()->step(real, z);  // buffers, oneDNN's primitives
  }
  synchronize(device);
  std::vector<UpconvTrial> trials;
  for (const UpconvKind kind : kinds) trials.push_back({kind, std::numeric_limits<double>::infinity()});
  for (int r = 0; r < rounds; ++r) {
    for (size_t i = 0; i < gans.size(); ++i) {
      const auto start = std::chrono::steady_clock::now();
      gans[i]->step(real, z);
      synchronize(device);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      trials[i].seconds = std::min(trials[i].seconds, seconds);
    }
  }
  return trials;
}

UpconvChoice choose_upconv(const std::vector<UpconvKind>& candidates,
                           std::optional<UpconvKind> stored, const UpconvTimer& time) {
  UpconvChoice choice;
  choice.kind = candidates.front();
  if (candidates.size() == 1) return choice;
  if (stored && std::find(candidates.begin(), candidates.end(), *stored) != candidates.end()) {
    choice.kind = *stored;
    choice.from_checkpoint = true;
    return choice;
  }
  choice.trials = time(candidates);
  // The first of equals: LibTorch's layer, candidates' first.
  const auto best = std::min_element(
      choice.trials.begin(), choice.trials.end(),
      [](const UpconvTrial& a, const UpconvTrial& b) { return a.seconds < b.seconds; });
  if (best != choice.trials.end()) choice.kind = best->kind;
  return choice;
}

UpconvChoice choose_training_upconv(const Config& config, int64_t channels, int64_t batch,
                                    const torch::Device& device, std::optional<UpconvKind> stored,
                                    ProcessGroup* group) {
  UpconvChoice choice = choose_upconv(
      upconv_candidates(config.model.upconv, device, config.run.amp), stored,
      [&](const std::vector<UpconvKind>& kinds) {
        return time_upconv_steps(config, channels, batch, device, kinds);
      });
  if (group != nullptr) {
    // Every rank, whatever it timed (or, on another machine, whether it timed at all).
    const std::string agreed = group->broadcast_string(upconv_name(choice.kind), "sharing the layers' form");
    if (const auto kind = parse_upconv_kind(agreed)) choice.kind = *kind;
  }
  return choice;
}

std::string describe_upconv_choice(const UpconvChoice& choice, const std::string& name) {
  const std::string kind = upconv_name(choice.kind);
  if (choice.from_checkpoint) {
    return "upconv " + kind + ", as the checkpoint ran (model.upconv " + name + ")";
  }
  if (choice.trials.empty()) return "";
  std::string text = "upconv " + kind + " (model.upconv " + name + " at " +
                     std::to_string(at::get_num_threads()) + " threads, timed: ";
  for (size_t i = 0; i < choice.trials.size(); ++i) {
    char figure[64];
    std::snprintf(figure, sizeof figure, "%s%s %.4f s", i == 0 ? "" : ", ",
                  upconv_name(choice.trials[i].kind), choice.trials[i].seconds);
    text += figure;
  }
  return text + " per step)";
}

}  // namespace dcgan
