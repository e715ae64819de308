// The run's log: each line to the console and to the run's log file, with a time stamp and level.
//
// spdlog is used here and only here, behind an interface that carries plain strings: this library
// is compiled without LibTorch's headers, because PyTorch's LibTorch ships its own (newer) fmt in
// its include folder, which would otherwise replace the fmt that spdlog was built against.
#pragma once

#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace dcgan {

class RunLog {
 public:
  // Appends to `file` (created if missing) and prints to stdout. Throws IoError "<file>: cannot
  // open log file (...)". An empty `file`: stdout only. `quiet`: warnings only (the ranks of a
  // distributed run other than rank 0, which say the same as it does).
  explicit RunLog(const std::string& file, bool quiet = false);
  ~RunLog();
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;

  void info(const std::string& line);
  void warn(const std::string& line);
  // At level "error", to the log file only (nothing without one): what ended a run, which the
  // command prints on stderr itself, once.
  void error_to_file(const std::string& line);

 private:
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<spdlog::logger> file_logger_;  // the file sink alone; null without a file
};

// printf-style formatting into a string: format("%d of %s", 3, "ten") => "3 of ten".
std::string format(const char* pattern, ...) __attribute__((format(printf, 1, 2)));

}  // namespace dcgan
