#include "dcgan/train/run_dir.h"

#include <ctime>
#include <filesystem>

#include "dcgan/error.h"
#include "dcgan/io/file.h"

namespace dcgan {

std::string RunDir::step_samples(int64_t step) const {
  char name[32];
  std::snprintf(name, sizeof name, "/step_%06lld.png", static_cast<long long>(step));
  return samples() + name;
}

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
  return run;
}

}  // namespace dcgan
