// The training loop: the reference schedule around Gan::step, with logging, sampling and
// checkpointing on their own schedules, and exact resume from a run directory.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dcgan/config/config.h"
#include "dcgan/dist/env.h"
#include "dcgan/train/metrics.h"
#include "dcgan/train/run_dir.h"

namespace dcgan {

struct TrainOutcome {
  std::string run_dir;
  int64_t steps = 0;          // total steps done, this run and earlier ones
  int64_t epochs = 0;         // epochs completed
  bool finished = false;      // all epochs done (false: stopped at train.max_steps)
  MetricsRow last;            // the last logged row
  double best_fid = 0;        // the lowest FID measured (eval.every), at best_step
  int64_t best_step = -1;     // -1: quality was not measured
};

// Set from a signal handler (or a test) to stop after the current step with a checkpoint.
// The trainer then throws InterruptedError saying how to resume.
struct StopFlag {
  std::atomic<int> requests{0};
};

// Starts a new run from `config` in a new run directory; `stem` names it when run.name is empty.
// Throws ConfigError/DataError/IoError/DivergedError/InterruptedError.
// `dist`: this process's place in a distributed run (docs/DISTRIBUTED.md): it joins the others,
// trains on its share of every global batch (train.batch_size) with gradients averaged over all
// ranks, and only rank 0 writes the run directory. Failures of the group: DistributedError.
TrainOutcome train_new(const Config& config, const std::string& stem, StopFlag* stop = nullptr,
                       const std::optional<DistEnv>& dist = std::nullopt);

// Continues the run in `run_dir` from its checkpoint.pt, with `overrides` (`key=value`) applied on
// top of the config stored in the checkpoint. The continued run matches an uninterrupted one.
// Under `dist`, every rank resumes from the same checkpoint; the number of ranks may differ from
// the run's earlier ones.
TrainOutcome train_resume(const std::string& run_dir, const std::vector<std::string>& overrides,
                          StopFlag* stop = nullptr,
                          const std::optional<DistEnv>& dist = std::nullopt);

}  // namespace dcgan
