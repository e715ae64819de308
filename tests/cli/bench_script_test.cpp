// scripts/bench.sh, the side-by-side benchmark, with stand-ins for the reference script, its
// Python and dcgan that print known rates: what it reports from them, and in which order it runs
// the sides.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "testing/process.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

namespace fs = std::filesystem;

void write_script(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
  fs::permissions(path, fs::perms::owner_all);
}

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class BenchScriptTest : public ::testing::Test {
 protected:
  // Each stand-in prints the next rate of its list on each call and logs the call.
  void SetUp() override {
    const fs::path dir = tmp_.path();
    write_script(dir / "python",
                 "#!/bin/bash\n"
                 "if [ \"$1\" = -c ]; then case \"$2\" in *print*) echo 'PyTorch 0.0';; esac; exit 0; fi\n"
                 "exec bash \"$@\"\n");
    write_script(dir / "ref.py",
                 "#!/bin/bash\n" + stand_in("reference", "100.0 200.0 100.0", "0.500 s/step  $rate images/s"));
    write_script(dir / "dcgan", "#!/bin/bash\nif [ \"$1\" = --version ]; then echo 'dcgan 0.0'; exit 0; fi\n" +
                                    stand_in("dcgan", "130.0 220.0 140.0",
                                             "dcgan bench: device cpu, 1 threads, batch 128, upconv "
                                             "winograd, amp none\nimages_per_sec=$rate"));
  }

  // Script lines that log `side` and print `line` with $rate the n-th of `rates` on its n-th call.
  std::string stand_in(const std::string& side, const std::string& rates, const std::string& line) const {
    const std::string count = (tmp_.path() / (side + ".count")).string();
    return "n=$(($(cat " + count + " 2>/dev/null || echo 0) + 1))\n"
           "echo $n > " + count + "\n"
           "echo " + side + " >> " + (tmp_.path() / "calls.log").string() + "\n"
           "rates=(0 " + rates + "); rate=${rates[$n]}\n"
           "echo \"" + line + "\"\n";
  }

  testing::ProcessResult bench(const std::vector<std::string>& extra_env = {}) {
    const fs::path dir = tmp_.path();
    std::vector<std::string> args{"THREADS=1", "AMP=none", "COMPILE=0",
                                  "PYTHON=" + (dir / "python").string(),
                                  "DCGAN=" + (dir / "dcgan").string(),
                                  "REF_DCGAN=" + (dir / "ref.py").string()};
    args.insert(args.end(), extra_env.begin(), extra_env.end());
    args.insert(args.end(), {"/bin/bash", std::string(DCGAN_SOURCE_DIR) + "/scripts/bench.sh", "3", "1"});
    return testing::run_process("/usr/bin/env", args, std::chrono::seconds(60));
  }

  std::string calls() const { return read(tmp_.path() / "calls.log"); }

  testing::TempDir tmp_;
};

// The ratio of the medians (140 / 100), and the ratio within each round (130/100, 220/200,
// 140/100) with their median and lowest: a machine whose speed doubled in round 2 shows there.
TEST_F(BenchScriptTest, ReportsTheRatioOfMediansAndRoundByRound) {
  const auto result = bench();
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "amp none, best of each: dcgan 140.0 (1 threads) / reference "
                                      "100.0 (1 threads) = 1.40x; round by round 1.30x 1.10x 1.40x "
                                      "(median 1.30x, lowest 1.10x)"))
      << result.output;
}

// The order of the sides reverses from one round to the next, so neither always runs first.
TEST_F(BenchScriptTest, AlternatesWhichSideRunsFirst) {
  const auto result = bench();
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_EQ(calls(), "reference\ndcgan\ndcgan\nreference\nreference\ndcgan\n");
}

// Each round's line names the form dcgan ran: under `auto` it may have timed the forms, and a
// round that ran another form than the rest shows why its rate stands out.
TEST_F(BenchScriptTest, NamesTheFormDcganRanInEachRound) {
  const auto result = bench();
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_TRUE(contains(result.output, "round 2, amp none, 1 threads: dcgan 220.0 (winograd) reference "
                                      "200.0 images/s"))
      << result.output;
}

TEST_F(BenchScriptTest, RefusesAnUnknownForm) {
  const auto result = bench({"UPCONV=fast"});
  EXPECT_EQ(result.code, 2) << result.output;
  EXPECT_EQ(testing::last_line(result.output),
            "bench: UPCONV has 'fast'; expected auto, native, phase, winograd or gemm");
}

}  // namespace
}  // namespace dcgan
