// Crash-safe file output.
#pragma once

#include <string>

namespace dcgan {

// Writes `bytes` to `path` so that `path` is always either the old file or the whole new one:
// the data goes to "<path>.tmp-<pid>", is flushed to disk (fsync), then renamed over `path`,
// and the directory entry is synced. On failure (no space, no permission) the temporary file is
// removed, `path` is untouched, and IoError "<path>: cannot write (<reason>)" is thrown.
void write_file_atomic(const std::string& path, const std::string& bytes);

// A file opened for appending (created if missing). Each append goes straight to the file, none
// held back in the process, so a crash loses no appended line; sync() makes everything appended
// so far durable against a power loss too (fsync). Each throws IoError "<path>: cannot ..."
// naming the reason (no space, no permission).
class AppendFile {
 public:
  explicit AppendFile(const std::string& path);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  void append(const std::string& bytes);
  void sync();

 private:
  std::string path_;
  int fd_ = -1;
};

// Creates `path` and its parents if needed; IoError naming the path if that fails.
void create_directories(const std::string& path);

}  // namespace dcgan
