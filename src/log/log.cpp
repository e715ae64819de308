#include "dcgan/log/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <vector>

#include "dcgan/error.h"

namespace dcgan {

RunLog::RunLog(const std::string& file, bool quiet) {
  constexpr const char* kPattern = "[%Y-%m-%d %H:%M:%S] [%l] %v";
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stdout_sink_mt>());
  if (!file.empty()) {
    try {
      sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(file));
    } catch (const spdlog::spdlog_ex& e) {
      throw IoError(file + ": cannot open log file (" + e.what() + ")");
    }
    file_logger_ = std::make_shared<spdlog::logger>("dcgan-file", sinks.back());
    file_logger_->set_pattern(kPattern);
    file_logger_->flush_on(spdlog::level::err);
  }
  logger_ = std::make_shared<spdlog::logger>("dcgan", sinks.begin(), sinks.end());
  logger_->set_pattern(kPattern);
  logger_->set_level(quiet ? spdlog::level::warn : spdlog::level::info);
  logger_->flush_on(spdlog::level::info);
}

RunLog::~RunLog() = default;

void RunLog::info(const std::string& line) { logger_->info("{}", line); }

void RunLog::warn(const std::string& line) { logger_->warn("{}", line); }

void RunLog::error_to_file(const std::string& line) {
  if (file_logger_) file_logger_->error("{}", line);
}

std::string format(const char* pattern, ...) {
  va_list args;
  va_start(args, pattern);
  va_list again;
  va_copy(again, args);
  const int size = std::vsnprintf(nullptr, 0, pattern, args);
  va_end(args);
  std::string text(size > 0 ? static_cast<size_t>(size) : 0, '\0');
  if (size > 0) std::vsnprintf(text.data(), text.size() + 1, pattern, again);
  va_end(again);
  return text;
}

}  // namespace dcgan
