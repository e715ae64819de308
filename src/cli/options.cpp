// Options that several subcommands share.
#include "dcgan/cli/commands.h"

namespace dcgan {

void add_device_options(CLI::App* cmd, std::string& device, int64_t* threads) {
  cmd->add_option("--device", device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  if (threads == nullptr) return;
  cmd->add_option("--threads", *threads, "CPU threads, 0 = all cores")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1024}));
}

}  // namespace dcgan
