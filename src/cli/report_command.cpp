// `dcgan report`: rebuilds a run directory's report.html from its files.
#include <cstdio>
#include <memory>

#include "dcgan/cli/commands.h"
#include "dcgan/report/report.h"

namespace dcgan {

void setup_report(CLI::App& app) {
  auto options = std::make_shared<ReportCommandOptions>();
  auto* cmd = app.add_subcommand(
      "report", "Rebuild RUN_DIR/report.html: curves, samples, config and status of a run");
  cmd->add_option("run_dir", options->run_dir, "run directory")->required();
  cmd->callback([options]() { run_report(*options); });
}

void run_report(const ReportCommandOptions& options) {
  const RunStatus status = read_run_status(options.run_dir);
  write_report(options.run_dir, status);
  std::printf("wrote %s/report.html (%s)\n", options.run_dir.c_str(), run_status_name(status));
}

}  // namespace dcgan
