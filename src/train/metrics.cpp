#include "dcgan/train/metrics.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

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

namespace {

// The file's header and, on a resume, its rows up to resume_step, written atomically.
const std::string& rewrite(const std::string& path, int64_t resume_step, const std::string& header) {
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
  return path;
}

}  // namespace

MetricsLog::MetricsLog(const std::string& path, int64_t resume_step, const std::string& header)
    : file_(rewrite(path, resume_step, header)) {}

void MetricsLog::append(const MetricsRow& row) { append_line(format_metrics_row(row)); }

void MetricsLog::append_line(const std::string& line) { file_.append(line + "\n"); }

}  // namespace dcgan
