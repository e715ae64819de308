#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <unistd.h>

#include "dcgan/cli/commands.h"
#include "dcgan/config/config.h"
#include "dcgan/error.h"
#include "dcgan/train/trainer.h"

namespace dcgan {
namespace {

// Signal handlers can reach only static storage: the flag of the run in progress.
StopFlag* g_stop = nullptr;

extern "C" void on_stop_signal(int) {
  if (g_stop == nullptr) return;
  if (g_stop->requests.fetch_add(1) > 0) {
    // A second signal: leave now. Checkpoints are written atomically, so none is left torn.
    const char message[] = "\ndcgan: stopped at once (second signal)\n";
    (void)!::write(STDERR_FILENO, message, sizeof message - 1);
    ::_exit(kExitInterrupted);
  }
}

// Routes SIGINT and SIGTERM to `flag` while alive: the run finishes its step, saves and stops.
class SignalScope {
 public:
  explicit SignalScope(StopFlag* flag) {
    g_stop = flag;
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~SignalScope() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    g_stop = nullptr;
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

struct Shortcut {
  const char* flag;
  const char* key;
  const char* help;
};

// Flags for the most used keys; each is the same as `--set key=value`.
constexpr Shortcut kShortcuts[] = {
    {"--data", "data.train", "training file (data.train)"},
    {"--limit", "data.limit", "use the first N training images (data.limit)"},
    {"--epochs", "train.epochs", "number of epochs (train.epochs)"},
    {"--batch-size", "train.batch_size", "batch size (train.batch_size)"},
    {"--max-steps", "train.max_steps", "stop after N steps in total (train.max_steps)"},
    {"--seed", "train.seed", "random seed (train.seed)"},
    {"--out", "run.out_dir", "parent folder of run directories (run.out_dir)"},
    {"--name", "run.name", "run directory name (run.name)"},
    {"--device", "run.device", "auto, cpu, cuda or cuda:N (run.device)"},
    {"--threads", "run.threads", "CPU threads, 0 = all cores (run.threads)"},
};

}  // namespace

void setup_train(CLI::App& app) {
  auto options = std::make_shared<TrainCommandOptions>();
  auto* cmd = app.add_subcommand("train", "Train a DCGAN; writes a run directory");
  auto* config = cmd->add_option("--config", options->config_file, "YAML config file")
                     ->check(CLI::ExistingFile);
  auto* resume = cmd->add_option("--resume", options->resume_dir,
                                 "continue the run in this directory from its checkpoint")
                     ->check(CLI::ExistingDirectory);
  config->excludes(resume);
  // Shortcuts and --set land in one ordered list, so the last word on a key wins.
  auto overrides = std::make_shared<std::vector<std::pair<std::string, std::string>>>();
  cmd->add_option_function<std::vector<std::string>>(
         "--set",
         [overrides](const std::vector<std::string>& values) {
           for (const auto& v : values) overrides->emplace_back("--set", v);
         },
         "override a config key: --set train.lr=1e-4 (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  for (const auto& shortcut : kShortcuts) {
    const std::string key = shortcut.key;
    const std::string flag = shortcut.flag;
    cmd->add_option_function<std::string>(
           flag,
           [overrides, key, flag](const std::string& v) {
             Config scratch;
             set_key(scratch, key, v, flag);  // a malformed value is named by its flag
             overrides->emplace_back(flag, key + "=" + v);
           },
           shortcut.help)
        ->type_name("VALUE");
  }
  cmd->callback([options, overrides]() {
    for (const auto& [source, assignment] : *overrides) options->overrides.push_back(assignment);
    run_train(*options);
  });
}

namespace {

}  // namespace

void run_train(const TrainCommandOptions& options) {
  // Under torchrun (or scripts/launch.sh) each process is one rank of a distributed run.
  const std::optional<DistEnv> dist = read_dist_env();
  StopFlag stop;
  SignalScope signals(&stop);
  if (!options.resume_dir.empty()) {
    train_resume(options.resume_dir, options.overrides, &stop, dist);
    return;
  }
  Config config;
  std::string stem = "run";
  if (!options.config_file.empty()) {
    apply_yaml_file(config, options.config_file);
    stem = std::filesystem::path(options.config_file).stem().string();
  }
  for (const auto& assignment : options.overrides) apply_override(config, assignment);
  train_new(config, stem, &stop, dist);
}

}  // namespace dcgan
