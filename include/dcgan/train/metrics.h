// metrics.csv: one row per logging step, appended as training goes.
#pragma once

#include <cstdint>
#include <string>

#include "dcgan/io/file.h"

namespace dcgan {

struct MetricsRow {
  int64_t step = 0;
  int64_t epoch = 0;
  double d_loss = 0, g_loss = 0, d_real = 0, d_fake = 0;
  double images_per_sec = 0;  // wall-clock: the only column that differs between identical runs
};

constexpr const char* kMetricsHeader = "step,epoch,d_loss,g_loss,d_real,d_fake,images_per_sec";

// Formats a row as CSV (losses with 9 significant digits, enough to tell float32 values apart).
std::string format_metrics_row(const MetricsRow& row);

class MetricsLog {
 public:
  // Opens `path` for appending. With `resume_step` >= 0 the rows after that step are dropped
  // first (a run killed after logging past its last checkpoint repeats those steps).
  // Throws IoError naming the path.
  MetricsLog(const std::string& path, int64_t resume_step,
             const std::string& header = kMetricsHeader);
  void append(const MetricsRow& row);
  // A row already formatted, whose first column is the step (another CSV, e.g. quality.csv).
  void append_line(const std::string& line);
  // Makes the rows appended so far durable: called before a checkpoint is written, so that the
  // checkpoint on disk never runs ahead of the rows a resume keeps.
  void sync() { file_.sync(); }

 private:
  AppendFile file_;
};

}  // namespace dcgan
