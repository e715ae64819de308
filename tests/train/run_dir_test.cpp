#include "dcgan/train/run_dir.h"

#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <set>

#include "dcgan/error.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

namespace fs = std::filesystem;

// Runs without a name started in the same second (a sweep launched in a loop) each get a folder
// of their own, numbered after the first: the folders of this second and the next few already
// hold runs here, so the stamped name is taken whenever the calls happen.
TEST(RunDirTest, UnnamedRunsOfOneSecondGetTheirOwnFolders) {
  testing::TempDir dir;
  const std::string out = dir.file("runs");
  std::set<std::string> taken;
  const std::time_t now = std::time(nullptr);
  for (std::time_t t = now; t < now + 5; ++t) {
    char stamp[32];
    std::tm local{};
    localtime_r(&t, &local);
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
    const std::string root = (fs::path(out) / (std::string("sweep-") + stamp)).string();
    fs::create_directories(root);
    testing::write_text(root + "/checkpoint.pt", "another run's");
    taken.insert(root);
  }
  const RunDir first = create_run_dir(out, "", "sweep");
  const RunDir second = create_run_dir(out, "", "sweep");
  EXPECT_NE(first.root, second.root);
  for (const RunDir& run : {first, second}) {
    EXPECT_EQ(taken.count(run.root), 0u) << run.root;
    EXPECT_EQ(run.root.rfind(out + "/sweep-", 0), 0u) << run.root;
    EXPECT_EQ(run.root.substr(run.root.size() - 2, 1), "-") << run.root;  // "...-2", "...-3"
    EXPECT_TRUE(fs::is_directory(run.samples())) << run.root;
  }
  for (const std::string& root : taken) {
    EXPECT_EQ(testing::read_text(root + "/checkpoint.pt"), "another run's") << root;
  }
}

// A run named on purpose is not renamed: its folder holding a run is an error.
TEST(RunDirTest, ANamedRunDoesNotTakeAnotherName) {
  testing::TempDir dir;
  const RunDir run = create_run_dir(dir.file("runs"), "mine", "sweep");
  EXPECT_EQ(run.root, dir.file("runs/mine"));
  EXPECT_THROW(create_run_dir(dir.file("runs"), "mine", "sweep"), ConfigError);
}

}  // namespace
}  // namespace dcgan
