// Runs the real `dcgan` executable (DCGAN_EXE) as a user would.
#include <gtest/gtest.h>
#include <stb_image.h>
#include <torch/version.h>

#include <filesystem>
#include <regex>

#include "dcgan/error.h"
#include "dcgan/model/cpu_products.h"
#include "dcgan/model/parallel.h"
#include "dcgan/model/precision.h"
#include "dcgan/train/device.h"
#include "testing/process.h"
#include "testing/svhn_writer.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

using Result = testing::ProcessResult;
using testing::last_line;
using testing::run_dcgan;

void expect_png(const std::string& path, int width, int height) {
  int w = 0, h = 0, c = 0;
  ASSERT_EQ(stbi_info(path.c_str(), &w, &h, &c), 1) << path;
  EXPECT_EQ(w, width) << path;
  EXPECT_EQ(h, height) << path;
  EXPECT_EQ(c, 3) << path;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DCGAN_SKIP_WITHOUT_MATIO();
    testing::write_random_svhn_mat(dir_.file("train.mat"), 40, 2, testing::MatVersion::kV5Compressed);
    testing::write_text(dir_.file("tiny.yaml"),
                        "data:\n  train: " + dir_.file("train.mat") +
                            "\nmodel:\n  g_channels: 16\n  d_channels: 4\n"
                            "train:\n  epochs: 2\n  batch_size: 8\n  print_every: 2\n  show_every: 4\n"
                            "run:\n  out_dir: " + dir_.file("runs") + "\n  device: cpu\n");
  }
  testing::TempDir dir_;
};

// --version names the LibTorch and whether CUDA support is in the binary: LibTorch's CUDA
// library registers itself when loaded, so this fails if linking dropped it.
TEST(VersionTest, SaysWhetherCudaSupportIsBuiltIn) {
  Result version = run_dcgan("--version");
  ASSERT_EQ(version.code, 0) << version.output;
  EXPECT_EQ(version.output.rfind("dcgan ", 0), 0u) << version.output;
  EXPECT_NE(version.output.find("\nLibTorch "), std::string::npos) << version.output;
  const bool cuda = version.output.find(" built in") != std::string::npos;
  EXPECT_EQ(cuda, DCGAN_EXPECT_CUDA == 1) << version.output;
  EXPECT_NE(version.output.find(", " + describe_cpu_bf16(cpu_has_native_bf16(), cpu_has_amx_bf16(),
                                                         bf16_isa_cap()) + ","),
            std::string::npos)
      << version.output;
  // The model's own loops on every intra-op thread where the build has OpenMP, else on one, in
  // the widest copy the CPU runs.
  std::smatch loops;
  const std::regex pattern(
      ", own CPU loops on ([0-9]+) of ([0-9]+) threads \\(([-A-Za-z0-9]+) copies\\)");
  ASSERT_TRUE(std::regex_search(version.output, loops, pattern)) << version.output;
#if DCGAN_WITH_OPENMP
  EXPECT_EQ(loops[1].str(), loops[2].str()) << version.output;
#else
  EXPECT_EQ(loops[1].str(), "1") << version.output;
#endif
  EXPECT_EQ(loops[3].str(), cpu_copy_name(cpu_copy())) << version.output;
  // The library of the model's own matrix products, as the model picks it.
  EXPECT_NE(version.output.find(std::string(", fp32 products on ") +
                                product_library_name(cpu_product_library())),
            std::string::npos)
      << version.output;
}

// Under an instruction set cap below oneDNN's bf16 kernels, --version and a bf16 run say that the
// cap, not the CPU, rules out native bf16 (on a CPU that has it; elsewhere the cap changes nothing).
// LibTorch 1.13 cannot run bf16 there at all (its bf16 convolutions fail in oneDNN below AVX-512):
// the run is refused in one line naming the cap.
TEST(VersionTest, NamesOneDnnsCapWhereItHoldsBackBf16) {
  testing::ProcessOptions capped;
  capped.env = {"ONEDNN_MAX_CPU_ISA=AVX2"};
  Result version = run_dcgan({"--version"}, capped);
  ASSERT_EQ(version.code, 0) << version.output;
  const bool native = cpu_has_native_bf16();
  EXPECT_NE(version.output.find(native ? ", CPU bf16 emulated (under ONEDNN_MAX_CPU_ISA=AVX2),"
                                       : ", CPU bf16 emulated,"),
            std::string::npos)
      << version.output;
  Result bench = run_dcgan({"bench", "--device", "cpu", "--threads", "1", "--batch-size", "4",
                            "--steps", "1", "--warmup", "0", "--amp", "bf16", "--upconv", "native"},
                           capped);
  if (native && TORCH_VERSION_MAJOR < 2) {
    EXPECT_EQ(bench.code, 2) << bench.output;
    // (bench's own lines on stdout may come after it, stdout being a pipe here)
    EXPECT_NE(bench.output.find(
                  "dcgan: error: key 'run.amp' is bf16, which LibTorch " TORCH_VERSION " cannot run "
                  "on this CPU under ONEDNN_MAX_CPU_ISA=AVX2: its bf16 convolutions go to oneDNN, "
                  "which has no bf16 kernels below AVX512_CORE; unset it, or use run.amp none or "
                  "LibTorch 2\n"),
              std::string::npos)
        << bench.output;
    EXPECT_EQ(bench.output.find("internal error"), std::string::npos) << bench.output;
    return;
  }
  ASSERT_EQ(bench.code, 0) << bench.output;
  EXPECT_NE(bench.output.find(native ? "warning: ONEDNN_MAX_CPU_ISA=AVX2 holds oneDNN below this "
                                       "CPU's native bf16"
                                     : "warning: this CPU has no native bf16"),
            std::string::npos)
      << bench.output;
}

// DCGAN_CPU_PRODUCTS picks the library of the model's own products, and --version says it was
// chosen so; another value is refused in one line naming the variable.
TEST(VersionTest, ProductsFollowDcganCpuProducts) {
  testing::ProcessOptions blas;
  blas.env = {"DCGAN_CPU_PRODUCTS=blas"};
  Result version = run_dcgan({"--version"}, blas);
  ASSERT_EQ(version.code, 0) << version.output;
  EXPECT_NE(version.output.find(", fp32 products on BLAS (under DCGAN_CPU_PRODUCTS=blas)"),
            std::string::npos)
      << version.output;
  if (at::hasMKLDNN()) {
    testing::ProcessOptions onednn;
    onednn.env = {"DCGAN_CPU_PRODUCTS=onednn"};
    version = run_dcgan({"--version"}, onednn);
    ASSERT_EQ(version.code, 0) << version.output;
    EXPECT_NE(version.output.find(", fp32 products on oneDNN (under DCGAN_CPU_PRODUCTS=onednn)"),
              std::string::npos)
        << version.output;
  }
  testing::ProcessOptions wrong;
  wrong.env = {"DCGAN_CPU_PRODUCTS=mkl"};
  Result bench = run_dcgan({"bench", "--device", "cpu", "--steps", "1", "--warmup", "0"}, wrong);
  EXPECT_EQ(bench.code, 2) << bench.output;
  // (bench's own lines on stdout may come after it, stdout being a pipe here)
  EXPECT_NE(bench.output.find("dcgan: error: DCGAN_CPU_PRODUCTS: expected blas or onednn, got "
                              "'mkl'\n"),
            std::string::npos)
      << bench.output;
  EXPECT_EQ(bench.output.find("internal error"), std::string::npos) << bench.output;
}

// --profile lists the operators of the step by self time, the model's own layers' loops among
// them, with a line for the rest and the total.
TEST(BenchTest, ProfileListsTheStepsOperators) {
  Result bench = run_dcgan("bench --device cpu --threads 2 --batch-size 4 --steps 2 --warmup 1 "
                           "--upconv winograd --profile 400");
  ASSERT_EQ(bench.code, 0) << bench.output;
  EXPECT_NE(bench.output.find("profile: self time per step over 2 steps"), std::string::npos)
      << bench.output;
  EXPECT_NE(bench.output.find(" aten::mm ["), std::string::npos) << bench.output;
  EXPECT_NE(bench.output.find(" dcgan::winograd_input_tiles"), std::string::npos) << bench.output;
  EXPECT_NE(bench.output.find("total self time"), std::string::npos) << bench.output;

  Result bad = run_dcgan("bench --device cpu --steps 1 --warmup 0 --profile 0");
  EXPECT_NE(bad.code, 0) << bad.output;
  EXPECT_NE(bad.output.find("--profile"), std::string::npos) << bad.output;
}

TEST_F(CliTest, TrainResumeAndSampleEndToEnd) {
  Result train = run_dcgan("train --config " + dir_.file("tiny.yaml") + " --name r --max-steps 3");
  ASSERT_EQ(train.code, 0) << train.output;
  EXPECT_NE(train.output.find("stopped at step 3"), std::string::npos) << train.output;
  const std::string run = dir_.file("runs/r");
  EXPECT_TRUE(std::filesystem::exists(run + "/checkpoint.pt"));

  Result resume = run_dcgan("train --resume " + run + " --set train.max_steps=0");
  ASSERT_EQ(resume.code, 0) << resume.output;
  EXPECT_NE(resume.output.find("resumed at step 3"), std::string::npos) << resume.output;
  EXPECT_NE(resume.output.find("done: 10 steps, 2 epochs"), std::string::npos) << resume.output;

  Result grid = run_dcgan("sample --ckpt " + run + "/generator.pt --grid 2x3 --seed 4 --out " +
                          dir_.file("grid.png"));
  ASSERT_EQ(grid.code, 0) << grid.output;
  expect_png(dir_.file("grid.png"), 3 * 34 + 2, 2 * 34 + 2);

  Result again = run_dcgan("sample --ckpt " + run + "/generator.pt --grid 2x3 --seed 4 --out " +
                           dir_.file("again.png"));
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_EQ(testing::read_text(dir_.file("grid.png")), testing::read_text(dir_.file("again.png")))
      << "the same seed must give the same samples";

  Result folder = run_dcgan("sample --ckpt " + run + "/generator.pt --num 11 --batch-size 4 --out-dir " +
                            dir_.file("fid") + " --batch-stats");
  ASSERT_EQ(folder.code, 0) << folder.output;
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.file("fid"))) {
    ++files;
    expect_png(entry.path().string(), 32, 32);
  }
  EXPECT_EQ(files, 11);
  EXPECT_TRUE(std::filesystem::exists(dir_.file("fid/000010.png")));

  Result default_out = run_dcgan("sample --ckpt " + run + "/generator.pt");
  ASSERT_EQ(default_out.code, 0) << default_out.output;
  expect_png(run + "/generator_6x12_seed0.png", 12 * 34 + 2, 6 * 34 + 2);
}

struct ErrorCase {
  const char* name;
  std::string args;           // with {dir} for the temp dir
  int code;
  std::string message;        // the expected last line, with {dir}
};

std::string expand(std::string text, const std::string& dir) {
  for (size_t at; (at = text.find("{dir}")) != std::string::npos;) text.replace(at, 5, dir);
  return text;
}

TEST_F(CliTest, BadInputGetsOneLineAndItsExitCode) {
  testing::write_text(dir_.file("typo.yaml"), "train:\n  lrr: 0.1\n");
  testing::write_text(dir_.file("fake.pt"), "not a checkpoint");
  const ErrorCase cases[] = {
      {"unknown option", "train --bogus", kExitUsage,
       "dcgan: error: The following argument was not expected: --bogus (see dcgan --help)"},
      {"no subcommand", "", kExitUsage,
       "dcgan: error: A subcommand is required (see dcgan --help)"},
      {"malformed grid", "sample --ckpt {dir}/fake.pt --grid 6x", kExitUsage,
       "dcgan: error: --grid: expected ROWSxCOLS with each between 1 and 256 (like 6x12), got '6x'"},
      {"config and resume", "train --config {dir}/tiny.yaml --resume {dir}", kExitUsage,
       "dcgan: error: --config excludes --resume (see dcgan --help)"},
      {"num without out-dir", "sample --ckpt {dir}/fake.pt --num 3", kExitUsage,
       "dcgan: error: --num requires --out-dir (see dcgan --help)"},
      {"unknown key", "train --config {dir}/typo.yaml", kExitUsage,
       "dcgan: error: {dir}/typo.yaml:2: unknown key 'train.lrr' (did you mean 'train.lr'?)"},
      {"bad shortcut value", "train --config {dir}/tiny.yaml --epochs many", kExitUsage,
       "dcgan: error: --epochs: key 'train.epochs' expects an integer, got 'many'"},
      {"out of range", "train --config {dir}/tiny.yaml --set train.batch_size=0", kExitUsage,
       "dcgan: error: key 'train.batch_size' must be between 1 and 65536, got 0"},
      {"missing data", "train --config {dir}/tiny.yaml --data {dir}/none.mat", kExitData,
       "dcgan: error: {dir}/none.mat: cannot open (missing?)"},
      {"not a checkpoint", "sample --ckpt {dir}/fake.pt", kExitCheckpoint,
       "dcgan: error: {dir}/fake.pt: not a readable checkpoint (truncated or corrupted?): "},
  };
  for (const auto& c : cases) {
    Result result = run_dcgan(expand(c.args, dir_.path().string()));
    EXPECT_EQ(result.code, c.code) << c.name << "\n" << result.output;
    const std::string expected = expand(c.message, dir_.path().string());
    EXPECT_EQ(last_line(result.output).substr(0, expected.size()), expected) << c.name;
    EXPECT_EQ(result.output.find("terminate called"), std::string::npos) << c.name;
  }
}

TEST_F(CliTest, TrainingCheckpointIsNotAGenerator) {
  ASSERT_EQ(run_dcgan("train --config " + dir_.file("tiny.yaml") + " --name t --max-steps 2").code, 0);
  Result result = run_dcgan("sample --ckpt " + dir_.file("runs/t/checkpoint.pt"));
  EXPECT_EQ(result.code, kExitCheckpoint);
  EXPECT_EQ(last_line(result.output), "dcgan: error: " + dir_.file("runs/t/checkpoint.pt") +
                                          ": expected a generator file, found a training checkpoint");
}

}  // namespace
}  // namespace dcgan
