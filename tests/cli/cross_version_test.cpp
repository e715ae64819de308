// Checkpoints cross LibTorch versions: a run written by a dcgan built against another LibTorch
// (CMake's DCGAN_OTHER_DCGAN) resumes and samples here, and a run written
// here resumes and samples there. scripts/test.sh builds against Debian's LibTorch 1.13 beside
// the default one and runs this test in that build.
#include <gtest/gtest.h>
#include <stb_image.h>

#include <memory>

#include "testing/process.h"
#include "testing/svhn_writer.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

using testing::ProcessResult;

ProcessResult run(const std::string& exe, const std::string& args) {
  testing::Process process(exe, testing::split_args(args));
  auto result = process.wait(std::chrono::seconds(120));
  if (!result) throw std::runtime_error(exe + " " + args + ": still running after 120 s");
  return *result;
}

// The pixels of a PNG, as 8-bit RGB.
std::vector<unsigned char> pixels(const std::string& path) {
  int w = 0, h = 0, c = 0;
  std::unique_ptr<unsigned char, void (*)(void*)> data(stbi_load(path.c_str(), &w, &h, &c, 3),
                                                       stbi_image_free);
  if (!data) throw std::runtime_error(path + ": not a readable PNG");
  return {data.get(), data.get() + static_cast<size_t>(w) * h * 3};
}

class CrossVersionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string other = DCGAN_OTHER_EXE;
    if (other.empty()) {
      GTEST_SKIP() << "no other build to compare with (configure with -DDCGAN_OTHER_DCGAN=<dcgan>)";
    }
    DCGAN_SKIP_WITHOUT_MATIO();
    other_ = other;
    this_ = testing::dcgan_exe();
    testing::write_random_svhn_mat(dir_.file("train.mat"), 40, 2);
    testing::write_text(dir_.file("tiny.yaml"),
                        "data:\n  train: " + dir_.file("train.mat") +
                            "\nmodel:\n  g_channels: 16\n  d_channels: 4\n"
                            "train:\n  epochs: 2\n  batch_size: 8\n  print_every: 1\n"
                            "run:\n  out_dir: " + dir_.file("runs") + "\n  device: cpu\n");
  }

  // `writer` trains 3 steps, `reader` resumes that run to its end (10 steps); then both sample
  // the generator with the same seed and must draw the same images, up to rounding.
  void hand_over(const std::string& writer, const std::string& reader, const std::string& name) {
    SCOPED_TRACE(writer + " -> " + reader);
    const std::string run_dir = dir_.file("runs/" + name);
    ProcessResult first = run(writer, "train --config " + dir_.file("tiny.yaml") + " --name " +
                                          name + " --max-steps 3");
    ASSERT_EQ(first.code, 0) << first.output;
    ProcessResult second = run(reader, "train --resume " + run_dir + " --set train.max_steps=0");
    ASSERT_EQ(second.code, 0) << second.output;
    EXPECT_NE(second.output.find("resumed at step 3"), std::string::npos) << second.output;
    EXPECT_NE(second.output.find("done: 10 steps, 2 epochs"), std::string::npos) << second.output;

    const std::string sample = "sample --ckpt " + run_dir + "/generator.pt --grid 3x4 --seed 7 --out ";
    ProcessResult by_writer = run(writer, sample + dir_.file(name + "_writer.png"));
    ASSERT_EQ(by_writer.code, 0) << by_writer.output;
    ProcessResult by_reader = run(reader, sample + dir_.file(name + "_reader.png"));
    ASSERT_EQ(by_reader.code, 0) << by_reader.output;
    const auto a = pixels(dir_.file(name + "_writer.png"));
    const auto b = pixels(dir_.file(name + "_reader.png"));
    ASSERT_EQ(a.size(), b.size());
    int worst = 0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(int(a[i]) - int(b[i])));
    EXPECT_LE(worst, 2) << "the two builds draw different images from one generator file";
  }

  testing::TempDir dir_;
  std::string this_, other_;
};

TEST_F(CrossVersionTest, TheOtherBuildIsAnotherLibTorch) {
  ProcessResult mine = run(this_, "--version");
  ProcessResult theirs = run(other_, "--version");
  ASSERT_EQ(mine.code, 0) << mine.output;
  ASSERT_EQ(theirs.code, 0) << theirs.output;
  auto libtorch = [](const std::string& text) {
    const size_t at = text.find("LibTorch ");
    return at == std::string::npos ? std::string() : text.substr(at, text.find(',', at) - at);
  };
  EXPECT_NE(libtorch(mine.output), "") << mine.output;
  EXPECT_NE(libtorch(mine.output), libtorch(theirs.output)) << mine.output << theirs.output;
}

TEST_F(CrossVersionTest, ARunWrittenThereContinuesHere) { hand_over(other_, this_, "there"); }

TEST_F(CrossVersionTest, ARunWrittenHereContinuesThere) { hand_over(this_, other_, "here"); }

}  // namespace
}  // namespace dcgan
