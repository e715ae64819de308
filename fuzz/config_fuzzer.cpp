// libFuzzer target: a YAML config text through apply_yaml_string and validate. A ConfigError is
// the documented refusal; any other exception, a crash, a sanitizer report or a timeout is a bug.
// A config that passes must also survive the round trip the app relies on: to_yaml of it, read
// back, is the same config (the run directory's config.yaml must reproduce the run).
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "dcgan/config/config.h"
#include "dcgan/error.h"
#include "fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  dcgan::Config config;
  try {
    dcgan::apply_yaml_string(config, text, "fuzz");
    dcgan::validate(config);
  } catch (const dcgan::ConfigError&) {
    return 0;  // refused: fine
  } catch (const std::exception& e) {
    dcgan::fuzz::abort_on_unexpected(e.what(), "exception");
  }
  try {
    const std::string saved = dcgan::to_yaml(config);
    dcgan::Config reread;
    dcgan::apply_yaml_string(reread, saved, "saved");
    dcgan::validate(reread);
    if (dcgan::to_yaml(reread) != saved) {
      dcgan::fuzz::abort_on_unexpected(("to_yaml does not round-trip:\n" + saved).c_str(),
                                       "result");
    }
  } catch (const std::exception& e) {
    dcgan::fuzz::abort_on_unexpected(e.what(), "exception reading back to_yaml's output");
  }
  return 0;
}
