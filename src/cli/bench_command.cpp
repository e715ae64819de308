#include "dcgan/cli/commands.h"

namespace dcgan {

void setup_bench(CLI::App& app) {}

}  // namespace dcgan
