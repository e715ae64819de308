#include "dcgan/io/file.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>

#include <filesystem>

#include "dcgan/error.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

TEST(FileTest, AtomicWriteReplacesWholeAndLeavesNoTemporary) {
  testing::TempDir dir;
  const std::string path = dir.file("a.bin");
  write_file_atomic(path, "old contents");
  write_file_atomic(path, std::string(100000, 'x'));
  EXPECT_EQ(testing::read_text(path), std::string(100000, 'x'));
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++files;
    EXPECT_EQ(entry.path().filename(), "a.bin");
  }
  EXPECT_EQ(files, 1);
}

// A file size limit makes write() fail with EFBIG as a full disk fails with ENOSPC, even as root.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &old_);
    rlimit limit = old_;
    limit.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
};

TEST(FileTest, FailedWriteKeepsThePreviousFileAndNoTemporary) {
  testing::TempDir dir;
  const std::string path = dir.file("a.bin");
  write_file_atomic(path, "precious");
  {
    FileSizeLimit limit(4096);
    try {
      write_file_atomic(path, std::string(100000, 'x'));
      FAIL() << "no error";
    } catch (const IoError& e) {
      EXPECT_EQ(std::string(e.what()), path + ": cannot write (File too large)");
    }
  }
  EXPECT_EQ(testing::read_text(path), "precious");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
}

// Appends reach the file at once (nothing held back in the process: a crash loses none) and
// after what the file already held; sync() succeeds on an ordinary file.
TEST(FileTest, AppendFileWritesThroughAfterWhatWasThere) {
  testing::TempDir dir;
  const std::string path = dir.file("log.csv");
  testing::write_text(path, "header\n");
  AppendFile file(path);
  file.append("1,a\n");
  EXPECT_EQ(testing::read_text(path), "header\n1,a\n");
  std::string long_line(70000, 'x');
  long_line.push_back('\n');
  file.append(long_line);
  file.sync();
  EXPECT_EQ(testing::read_text(path), "header\n1,a\n" + long_line);
}

TEST(FileTest, AppendFileErrorsNameThePathAndTheReason) {
  testing::TempDir dir;
  const std::string missing = dir.file("no/such/dir/log.csv");
  try {
    AppendFile file(missing);
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()),
              missing + ": cannot open for appending (No such file or directory)");
  }
  const std::string path = dir.file("log.csv");
  AppendFile file(path);
  file.append("kept\n");
  {
    FileSizeLimit limit(4096);
    try {
      file.append(std::string(100000, 'x'));
      FAIL() << "no error";
    } catch (const IoError& e) {
      EXPECT_EQ(std::string(e.what()), path + ": cannot write (File too large)");
    }
  }
  EXPECT_EQ(testing::read_text(path).substr(0, 5), "kept\n");
}

TEST(FileTest, CreateDirectoriesNamesThePath) {
  testing::TempDir dir;
  testing::write_text(dir.file("plain"), "x");
  const std::string path = dir.file("plain/sub");
  try {
    create_directories(path);
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": cannot create directory (", 0), 0u) << e.what();
  }
  create_directories(dir.file("x/y/z"));
  EXPECT_TRUE(std::filesystem::is_directory(dir.file("x/y/z")));
}

}  // namespace
}  // namespace dcgan
