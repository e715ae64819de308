// The layout of a run directory; everything a run writes lands inside it. The paths alone: the
// trainer makes and opens run directories (dcgan/train/run_dir.h), the report reads them.
//
//   <run>/config.yaml       effective config (all keys)
//   <run>/train.log         the console log
//   <run>/metrics.csv       one row per print_every steps
//   <run>/samples/real.png  training images as the loader read them
//   <run>/samples/step_NNNNNN.png  fixed-noise grids
//   <run>/checkpoint.pt     full training state, for --resume
//   <run>/generator.pt      the generator alone, for `dcgan sample`
//   <run>/quality.csv       FID, KID, precision/recall, density/coverage every eval.every steps
//   <run>/best_generator.pt the generator with the lowest FID so far
//   <run>/report.html       the run report, one self-contained page (dcgan/report/report.h),
//                           rewritten at the start, at every checkpoint and at the end
//   <run>/status            running, finished, stopped, diverged or failed: what the run was doing
//                           when it last wrote report.html (`dcgan report` rebuilds the page
//                           from it)
#pragma once

#include <cstdint>
#include <string>

namespace dcgan {

struct RunDir {
  std::string root;

  std::string config() const { return root + "/config.yaml"; }
  std::string log() const { return root + "/train.log"; }
  std::string metrics() const { return root + "/metrics.csv"; }
  std::string samples() const { return root + "/samples"; }
  std::string real_samples() const { return samples() + "/real.png"; }
  std::string step_samples(int64_t step) const;  // samples/step_000100.png
  std::string checkpoint() const { return root + "/checkpoint.pt"; }
  std::string generator() const { return root + "/generator.pt"; }
  std::string quality() const { return root + "/quality.csv"; }
  std::string best_generator() const { return root + "/best_generator.pt"; }
  std::string report() const { return root + "/report.html"; }
  std::string status() const { return root + "/status"; }
};

}  // namespace dcgan
