#include "fuzz_file.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

namespace dcgan::fuzz {
namespace {

class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/dcgan-fuzz-XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    if (mkdtemp(name.data()) == nullptr) {
      std::perror(("dcgan fuzz: mkdtemp " + pattern).c_str());
      std::abort();
    }
    path_ = name.data();
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

std::string write_input(const std::string& name, const void* bytes, size_t size) {
  static const ScratchDir dir;
  const std::string path = dir.path() + "/" + name;
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    std::perror(("dcgan fuzz: fopen " + path).c_str());
    std::abort();
  }
  const bool written = size == 0 || std::fwrite(bytes, 1, size, file) == size;
  if (std::fclose(file) != 0 || !written) {
    std::perror(("dcgan fuzz: writing " + path).c_str());
    std::abort();
  }
  return path;
}

void abort_on_unexpected(const char* what, const char* type) {
  std::fprintf(stderr, "dcgan fuzz: unexpected %s: %s\n", type, what);
  std::abort();
}

}  // namespace dcgan::fuzz
