#include "dcgan/train/metrics.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "dcgan/error.h"
#include "dcgan/io/file.h"

namespace dcgan {

std::string format_metrics_row(const MetricsRow& r) {
  char line[256];
  std::snprintf(line, sizeof line, "%lld,%lld,%.9g,%.9g,%.9g,%.9g,%.1f",
                static_cast<long long>(r.step), static_cast<long long>(r.epoch), r.d_loss, r.g_loss,
                r.d_real, r.d_fake, r.images_per_sec);
  return line;
}

MetricsLog::MetricsLog(const std::string& path, int64_t resume_step, const std::string& header)
    : path_(path) {
  std::string kept = header + "\n";
  if (resume_step >= 0) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      char* end = nullptr;
      const long long step = std::strtoll(line.c_str(), &end, 10);
      if (end == line.c_str() || *end != ',' || step > resume_step) break;  // later or torn row
      kept += line + "\n";
    }
  }
  write_file_atomic(path, kept);
  out_.open(path, std::ios::app);
  if (!out_) throw IoError(path + ": cannot open for appending");
}

void MetricsLog::append(const MetricsRow& row) { append_line(format_metrics_row(row)); }

void MetricsLog::append_line(const std::string& line) {
  out_ << line << '\n';
  out_.flush();
  if (!out_) throw IoError(path_ + ": cannot write (disk full?)");
}

}  // namespace dcgan
