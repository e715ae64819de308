#include "dcgan/io/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "dcgan/error.h"

namespace dcgan {
namespace {

std::string reason(int error) { return std::strerror(error); }

// fsync on the directory makes the rename itself durable.
void sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // best effort: the data itself is already on disk
  ::fsync(fd);
  ::close(fd);
}

// Writes all of bytes to fd; 0, or the errno of the write that failed.
int write_all(int fd, const std::string& bytes) {
  const char* data = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError(path + ": cannot write (" + reason(errno) + ")");
  auto fail = [&](int error) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw IoError(path + ": cannot write (" + reason(error) + ")");
  };
  if (const int error = write_all(fd, bytes)) fail(error);
  if (::fsync(fd) != 0) fail(errno);
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    throw IoError(path + ": cannot write (" + reason(error) + ")");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    throw IoError(path + ": cannot write (" + reason(error) + ")");
  }
  sync_directory(std::filesystem::path(path).parent_path());
}

AppendFile::AppendFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw IoError(path + ": cannot open for appending (" + reason(errno) + ")");
}

AppendFile::~AppendFile() { ::close(fd_); }

void AppendFile::append(const std::string& bytes) {
  if (const int error = write_all(fd_, bytes)) {
    throw IoError(path_ + ": cannot write (" + reason(error) + ")");
  }
}

void AppendFile::sync() {
  if (::fsync(fd_) != 0) throw IoError(path_ + ": cannot sync to disk (" + reason(errno) + ")");
}

void create_directories(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) throw IoError(path + ": cannot create directory (" + error.message() + ")");
}

}  // namespace dcgan
