// Which form training builds G's and D's wide layers in (model.upconv) where more than one may be
// the faster on this machine: both timed at the start of the run, on the run's own model.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dcgan/config/config.h"
#include "dcgan/model/networks.h"

namespace dcgan {

class ProcessGroup;

struct UpconvTrial {
  UpconvKind kind;
  double seconds;  // the fastest of its timed steps
};

// Times training steps (Gan::step: G and D forward and backward, both Adam steps) of the model
// `config` describes on `device`, for synthetic images of `channels` channels in batches of
// `batch`, once built with each of `kinds`: one warm-up step each, then `rounds` rounds of one
// step of each kind in turn. Trials in the order of `kinds`. LibTorch's global random generator
// is left as it was found (the run seeds its weights from it).
std::vector<UpconvTrial> time_upconv_steps(const Config& config, int64_t channels, int64_t batch,
                                           const torch::Device& device,
                                           const std::vector<UpconvKind>& kinds, int rounds = 3);

struct UpconvChoice {
  UpconvKind kind = UpconvKind::kNative;
  std::vector<UpconvTrial> trials;  // what was timed; empty where nothing was
  bool from_checkpoint = false;     // the kind the resumed run's checkpoint ran as
};

using UpconvTimer = std::function<std::vector<UpconvTrial>(const std::vector<UpconvKind>&)>;

// The pick among `candidates` (upconv_candidates, not empty): the only one; else `stored`, the
// kind a resumed run's checkpoint ran as, where it is one of them, so that the run goes on
// computing as it did; else the fastest as `time` measures them.
UpconvChoice choose_upconv(const std::vector<UpconvKind>& candidates,
                           std::optional<UpconvKind> stored, const UpconvTimer& time);

// choose_upconv for training `config` on `device` now (set the thread count first), timing with
// time_upconv_steps at `batch` images (a rank's share of a distributed run's batch). In a
// distributed run (`group`) every rank takes rank 0's pick.
UpconvChoice choose_training_upconv(const Config& config, int64_t channels, int64_t batch,
                                    const torch::Device& device, std::optional<UpconvKind> stored,
                                    ProcessGroup* group);

// What the log says of a choice that was timed or came from a checkpoint, e.g. "upconv winograd
// (model.upconv auto at 16 threads, timed: native 0.2100 s, winograd 0.1800 s per step)"; empty
// for a kind that was the only candidate.
std::string describe_upconv_choice(const UpconvChoice& choice, const std::string& name);

}  // namespace dcgan
