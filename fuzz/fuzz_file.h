// Scratch files for the fuzz targets: the loaders under test read paths (matio and zlib open
// files themselves), so every input goes through a file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace dcgan::fuzz {

// Writes `bytes` to `name` in this process's scratch directory and returns the file's path.
// The directory is made once under $TMPDIR (else /tmp) and removed at a normal exit; aborts
// if it cannot be written, as no input can be tested then.
std::string write_input(const std::string& name, const void* bytes, size_t size);

// Ends the process with the exception's text on stderr: libFuzzer then keeps the input as a
// crash. For exceptions of a type that the loader's contract does not allow.
[[noreturn]] void abort_on_unexpected(const char* what, const char* type);

}  // namespace dcgan::fuzz
