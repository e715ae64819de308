#include "dcgan/log/log.h"

#include <gtest/gtest.h>

#include "dcgan/error.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

TEST(LogTest, FormatIsPrintfIntoAString) {
  EXPECT_EQ(format("%d of %s", 3, "ten"), "3 of ten");
  EXPECT_EQ(format("d_loss %.4f", 1.23456), "d_loss 1.2346");
  EXPECT_EQ(format("%s", ""), "");
  const std::string long_text(5000, 'x');
  EXPECT_EQ(format("[%s]", long_text.c_str()), "[" + long_text + "]");
}

TEST(LogTest, LinesReachTheFileWithTheirLevel) {
  testing::TempDir dir;
  const std::string file = dir.file("train.log");
  {
    RunLog log(file);
    log.info("first line");
    log.warn("a warning: 50%");
  }
  {
    RunLog log(file);  // a resumed run appends
    log.info("after resume");
  }
  const std::string text = testing::read_text(file);
  EXPECT_NE(text.find("[info] first line\n"), std::string::npos) << text;
  EXPECT_NE(text.find("[warning] a warning: 50%\n"), std::string::npos) << text;
  EXPECT_LT(text.find("first line"), text.find("after resume")) << text;
}

// What ended a run goes to the file only: the command prints it on stderr itself, once.
TEST(LogTest, AnErrorGoesToTheFileAlone) {
  testing::TempDir dir;
  const std::string file = dir.file("train.log");
  ::testing::internal::CaptureStdout();
  {
    RunLog log(file);
    log.info("a step");
    log.error_to_file("disk full");
  }
  const std::string console = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(console.find("[info] a step"), std::string::npos) << console;
  EXPECT_EQ(console.find("disk full"), std::string::npos) << console;
  const std::string text = testing::read_text(file);
  EXPECT_EQ(text.substr(text.size() - 20), "] [error] disk full\n") << text;
  RunLog console_only("");
  console_only.error_to_file("nowhere to go");  // no file: nothing, and no crash
}

TEST(LogTest, AnUnwritableFileIsAnIoErrorNamingIt) {
  testing::TempDir dir;
  testing::write_text(dir.file("plain"), "a regular file, not a folder");
  const std::string file = dir.file("plain/train.log");
  try {
    RunLog log(file);
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(file + ": cannot open log file (", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace dcgan
