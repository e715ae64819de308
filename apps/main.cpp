// dcgan: command-line trainer for deep convolutional GANs. Errors end here: one line, one code.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "dcgan/cli/commands.h"
#include "dcgan/error.h"
#include "dcgan/train/device.h"

int main(int argc, char** argv) {
  CLI::App app{"dcgan: train deep convolutional GANs (DCGAN) on 32x32 and 64x64 images"};
  app.require_subcommand(1);
  app.set_version_flag("--version", [] {
    return std::string("dcgan " DCGAN_VERSION "\n") + dcgan::describe_build();
  });
  dcgan::setup_train(app);
  dcgan::setup_sample(app);
  dcgan::setup_bench(app);
  dcgan::setup_eval(app);
  dcgan::setup_train_features(app);
  dcgan::setup_interpolate(app);
  dcgan::setup_export(app);
  dcgan::setup_info(app);
  dcgan::setup_report(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "dcgan: error: %s (see dcgan --help)\n", e.what());
    return dcgan::kExitUsage;
  } catch (const dcgan::Error& e) {
    std::fprintf(stderr, "dcgan: error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    const std::string what = e.what();
    std::fprintf(stderr, "dcgan: internal error: %s\n", what.substr(0, what.find('\n')).c_str());
    return dcgan::kExitFailure;
  }
  return dcgan::kExitOk;
}
