// Making and opening run directories; their layout is dcgan/io/run_layout.h.
#pragma once

#include <string>

#include "dcgan/io/run_layout.h"

namespace dcgan {

// A new run directory `out_dir/name`; an empty name becomes "<stem>-YYYYmmdd-HHMMSS", with "-2",
// "-3", ... after it where another run took that name in the same second. Throws ConfigError if
// a named directory already holds a run (resume it instead), IoError if it cannot be made.
RunDir create_run_dir(const std::string& out_dir, const std::string& name, const std::string& stem);

// An existing run directory to resume; ConfigError if it has no checkpoint.pt. Removes the
// "<file>.tmp-<pid>" files a writer killed mid-write leaves behind (the files themselves are intact).
RunDir open_run_dir(const std::string& root);

}  // namespace dcgan
