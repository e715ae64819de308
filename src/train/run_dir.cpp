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
  std::error_code error;
  if (name.empty()) {
    // The stamp has one-second resolution: runs started in the same second (a sweep launched in
    // a loop) each claim their own folder, "<stem>-<stamp>", then "-2", "-3", ... Making the
    // folder is the claim: std::filesystem::create_directory is true for one caller only.
    char stamp[32];
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
    const std::string leaf = stem + "-" + stamp;
    if (!out_dir.empty()) create_directories(out_dir);
    for (int n = 1; n <= 1000; ++n) {
      const std::string numbered = n == 1 ? leaf : leaf + "-" + std::to_string(n);
      RunDir run{(std::filesystem::path(out_dir) / numbered).string()};
      if (std::filesystem::create_directory(run.root, error)) {
        create_directories(run.samples());
        return run;
      }
      if (error) throw IoError(run.root + ": cannot create directory (" + error.message() + ")");
    }
    throw IoError((std::filesystem::path(out_dir) / leaf).string() +
                  ": cannot create directory (1000 runs of that name and second exist)");
  }
  RunDir run{(std::filesystem::path(out_dir) / name).string()};
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
