// A one-line progress bar with ETA for interactive terminals; silent otherwise (the periodic
// log lines are the progress report in files and pipes).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace dcgan {

// Formats seconds as "1h02m", "3m05s" or "42s".
std::string format_duration(double seconds);

class ProgressBar {
 public:
  // `enabled` is usually isatty(stdout). `first_step` is where a resumed run starts.
  ProgressBar(int64_t total_steps, int64_t first_step, bool enabled);
  // Redraws at most ~5 times a second.
  void update(int64_t step, int64_t epoch, int64_t epochs);
  // Erases the bar so a log line can be printed in its place.
  void clear();
  bool enabled() const { return enabled_; }

 private:
  int64_t total_;
  int64_t first_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace dcgan
