#include "dcgan/train/run_dir.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <filesystem>

#include "dcgan/error.h"
#include "dcgan/io/file.h"

namespace dcgan {
namespace {

// A writer killed inside write_file_atomic (SIGKILL, power loss, a second Ctrl-C) leaves its
// "<file>.tmp-<pid>" beside the intact <file>. Nothing reads them; without this, every such
// kill would leave up to a checkpoint's worth of bytes behind for good. Best effort: a file that
// cannot be removed is left alone. ("checkpoint.pt.tmp-4242" is removed, "notes.tmp-x" is not.)
void remove_stale_temp_files(const std::string& dir) {
  std::error_code error;
  for (std::filesystem::directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    const size_t at = name.rfind(".tmp-");
    if (at == std::string::npos || at == 0) continue;
    const std::string pid = name.substr(at + 5);
    if (pid.empty() || !std::all_of(pid.begin(), pid.end(),
                                    [](unsigned char c) { return std::isdigit(c) != 0; })) {
      continue;
    }
    std::error_code ignored;
    if (it->is_regular_file(ignored)) std::filesystem::remove(it->path(), ignored);
  }
}

}  // namespace

RunDir create_run_dir(const std::string& out_dir, const std::string& name, const std::string& stem) {
  std::string leaf = name;
  if (leaf.empty()) {
    char stamp[32];
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
    leaf = stem + "-" + stamp;
  }
  RunDir run{(std::filesystem::path(out_dir) / leaf).string()};
  std::error_code error;
  if (std::filesystem::exists(run.root, error) && !std::filesystem::is_empty(run.root, error)) {
    throw ConfigError("run directory " + run.root +
                      " already exists and is not empty; continue it with --resume " + run.root +
                      " or choose another run.name");
  }
  create_directories(run.samples());
  return run;
}

RunDir open_run_dir(const std::string& root) {
  RunDir run{root};
  std::error_code error;
  if (!std::filesystem::is_regular_file(run.checkpoint(), error)) {
    throw ConfigError("--resume: " + run.checkpoint() + " not found (not a run directory?)");
  }
  create_directories(run.samples());
  remove_stale_temp_files(run.root);
  remove_stale_temp_files(run.samples());
  return run;
}

}  // namespace dcgan
