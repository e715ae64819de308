// Image folders, CIFAR-10 files and 64x64 models through the real executable, and what `export`
// and `info` make of the result.
#include <gtest/gtest.h>
#include <stb_image.h>
#include <torch/version.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include "dcgan/io/generator_file.h"
#include "dcgan/model/networks.h"
#include "testing/image_writer.h"
#include "testing/process.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

namespace fs = std::filesystem;
using Result = testing::ProcessResult;
using testing::last_line;
using testing::run_dcgan;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Width and height of a PNG file, (0, 0) when it does not decode.
std::pair<int, int> png_size(const std::string& path) {
  int w = 0, h = 0, c = 0;
  if (stbi_info(path.c_str(), &w, &h, &c) == 0) return {0, 0};
  return {w, h};
}

// `count` random images of 40x48 in two class folders, one JPEG among them and one corrupt file.
void write_image_folder(const std::string& root, int count) {
  fs::create_directories(root + "/cats");
  fs::create_directories(root + "/dogs");
  torch::manual_seed(1);
  for (int i = 0; i < count; ++i) {
    const torch::Tensor image = torch::randint(0, 256, {3, 40, 48}, torch::kUInt8);
    const std::string name = root + (i % 2 ? "/dogs/" : "/cats/") + std::to_string(i);
    if (i == 0) {
      testing::write_jpeg_file(name + ".jpg", image);
    } else {
      testing::write_png_file(name + ".png", image);
    }
  }
  testing::write_text(root + "/dogs/broken.jpg", "\xff\xd8\xff not really a JPEG");
}

class FormatsCliTest : public ::testing::Test {
 protected:
  std::string config(const std::string& data, const std::string& extra) {
    const std::string path = dir_.file("c" + std::to_string(configs_++) + ".yaml");
    testing::write_text(path, data + "\nmodel:\n  g_channels: 16\n  d_channels: 4\n" + extra +
                                  "\ntrain:\n  epochs: 1\n  batch_size: 4\n  print_every: 1\n"
                                  "  show_every: 2\n  ema: 0.9\neval:\n  every: 0\n"
                                  "run:\n  out_dir: " + dir_.file("runs") +
                                  "\n  device: cpu\n  threads: 2\nsample:\n  grid: 2x3\n");
    return path;
  }
  testing::TempDir dir_;
  int configs_ = 0;
};

TEST_F(FormatsCliTest, SixtyFourPixelFolderRunSamplesAndDescribesItself) {
  write_image_folder(dir_.file("images"), 12);
  const std::string yaml = config("data:\n  format: folder\n  train: " + dir_.file("images"),
                                  "  image_size: 64");
  Result train = run_dcgan("train --config " + yaml + " --name r");
  ASSERT_EQ(train.code, 0) << train.output;
  EXPECT_TRUE(contains(train.output, "12 images of 64x64")) << train.output;
  EXPECT_TRUE(contains(train.output, "2 classes by subfolder")) << train.output;
  EXPECT_TRUE(contains(train.output, "skipped 1 files (0 not images, 1 unreadable)")) << train.output;
  const std::string run = dir_.file("runs/r");
  EXPECT_TRUE(contains(testing::read_text(run + "/train.log"), "skipped 1 files")) ;
  // Grids of 64x64 cells with 2 pixels around each: 2x3 -> 200 wide, 134 high.
  EXPECT_EQ(png_size(run + "/samples/step_000002.png"), std::make_pair(3 * 66 + 2, 2 * 66 + 2));
  // The report shows them at their size.
  EXPECT_TRUE(contains(testing::read_text(run + "/report.html"), "finished"));
  EXPECT_EQ(png_size(run + "/samples/real.png"), std::make_pair(3 * 66 + 2, 2 * 66 + 2));

  Result sample = run_dcgan("sample --ckpt " + run + "/generator.pt --grid 1x2 --out " +
                            dir_.file("s.png"));
  ASSERT_EQ(sample.code, 0) << sample.output;
  EXPECT_EQ(png_size(dir_.file("s.png")), std::make_pair(2 * 66 + 2, 66 + 2));

  Result info = run_dcgan("info " + run);
  ASSERT_EQ(info.code, 0) << info.output;
  EXPECT_TRUE(contains(info.output, "kind:              training checkpoint")) << info.output;
  EXPECT_TRUE(contains(info.output, "images:            64x64, 3 channels")) << info.output;
  EXPECT_TRUE(contains(info.output, "step:              3")) << info.output;
  EXPECT_TRUE(contains(info.output, "moving average:    yes (train.ema 0.9)\n")) << info.output;
  // The form the run's log says it built its layers in.
  const std::string log = testing::read_text(run + "/train.log");
  std::smatch ran;
  ASSERT_TRUE(std::regex_search(log, ran, std::regex("\\(([a-z]+) upconv\\)"))) << log;
  EXPECT_TRUE(contains(info.output, "upconv:            " + ran.str(1) + " (model.upconv auto)\n"))
      << info.output;
  EXPECT_TRUE(contains(info.output, "  image_size: 64")) << info.output;  // the config
  // The last metrics row, as metrics.csv has it.
  const std::string metrics = testing::read_text(run + "/metrics.csv");
  const std::string last = last_line(metrics);
  EXPECT_TRUE(contains(info.output, last)) << info.output << "\n" << last;
  Generator g64([] { ModelOptions m; m.image_size = 64; m.g_channels = 16; return m; }(), 3,
                UpconvKind::kNative);
  char params[64];
  std::snprintf(params, sizeof params, "%lld", static_cast<long long>(count_parameters(*g64)));
  std::string with_commas = params;
  for (int i = static_cast<int>(with_commas.size()) - 3; i > 0; i -= 3) with_commas.insert(i, ",");
  EXPECT_TRUE(contains(info.output, "G parameters:      " + with_commas)) << info.output;

  // Quality of a 64x64 generator: dcgan's feature network, trained on the subfolder labels,
  // sees both sides reduced to 32x32.
  Result eval = run_dcgan("eval --ckpt " + run + "/generator.pt --num 10");
  ASSERT_EQ(eval.code, 0) << eval.output;
  EXPECT_TRUE(contains(eval.output, "FID ")) << eval.output;

  Result bench = run_dcgan("bench --image-size 64 --batch-size 4 --steps 1 --warmup 0 --device cpu "
                           "--threads 2");
  ASSERT_EQ(bench.code, 0) << bench.output;
  EXPECT_TRUE(contains(bench.output, "64x64")) << bench.output;

  Result gen_info = run_dcgan("info " + run + "/generator.pt");
  ASSERT_EQ(gen_info.code, 0) << gen_info.output;
  EXPECT_TRUE(contains(gen_info.output, "kind:              generator file")) << gen_info.output;
  EXPECT_FALSE(contains(gen_info.output, "D parameters")) << gen_info.output;

  // A second run of the same folder starts from the cache.
  Result again = run_dcgan("train --config " + yaml + " --name r2 --set train.max_steps=1");
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_TRUE(contains(again.output, "12 images from the cache")) << again.output;

  // The image size cannot change under a checkpoint.
  Result resize = run_dcgan("train --resume " + dir_.file("runs/r2") +
                            " --set model.image_size=32 --set train.max_steps=0");
  EXPECT_EQ(resize.code, 2) << resize.output;
  EXPECT_EQ(last_line(resize.output),
            "dcgan: error: key 'model.image_size' cannot change on resume: " +
                dir_.file("runs/r2") + "/checkpoint.pt holds a model of 64x64 images");
}

TEST_F(FormatsCliTest, FolderErrorsAreOneLine) {
  fs::create_directories(dir_.file("three"));
  for (int i = 0; i < 3; ++i) {
    testing::write_png_file(dir_.file("three/" + std::to_string(i) + ".png"),
                            torch::zeros({3, 32, 32}, torch::kUInt8));
  }
  Result small = run_dcgan("train --config " +
                           config("data:\n  format: folder\n  train: " + dir_.file("three"), "") +
                           " --set train.batch_size=128");
  EXPECT_EQ(small.code, 2) << small.output;
  EXPECT_EQ(last_line(small.output),
            "dcgan: error: key 'train.batch_size' is 128 but the training set has only 3 images");

  fs::create_directories(dir_.file("empty"));
  Result empty = run_dcgan("train --config " +
                           config("data:\n  format: folder\n  train: " + dir_.file("empty"), ""));
  EXPECT_EQ(empty.code, 3) << empty.output;
  EXPECT_EQ(last_line(empty.output),
            "dcgan: error: " + dir_.file("empty") + ": a folder of images expected, found it empty");

  testing::write_text(dir_.file("three/broken.png"), "\x89PNG\r\n\x1a\n truncated");
  Result strict = run_dcgan(
      "train --config " + config("data:\n  format: folder\n  strict: true\n  train: " +
                                     dir_.file("three"),
                                 "") + " --set train.batch_size=2");
  EXPECT_EQ(strict.code, 3) << strict.output;
  EXPECT_EQ(last_line(strict.output).rfind("dcgan: error: " + dir_.file("three/broken.png") + ": ", 0),
            0u)
      << strict.output;
  // No run directory for bad input; only the decoded-folder cache of the first attempt.
  std::vector<std::string> made;
  for (const auto& entry : fs::directory_iterator(dir_.file("runs"))) {
    made.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(made, std::vector<std::string>{"cache"});
}

TEST_F(FormatsCliTest, Cifar10FilesTrain) {
  fs::create_directories(dir_.file("cifar"));
  torch::manual_seed(2);
  testing::write_cifar10(dir_.file("cifar/data_batch_1.bin"),
                         torch::randint(0, 256, {8, 3, 32, 32}, torch::kUInt8),
                         torch::arange(8, torch::kLong) % 10);
  testing::write_cifar10(dir_.file("cifar/test_batch.bin"),
                         torch::randint(0, 256, {4, 3, 32, 32}, torch::kUInt8),
                         torch::arange(4, torch::kLong));
  Result train = run_dcgan("train --config " +
                           config("data:\n  format: cifar10\n  train: " + dir_.file("cifar") +
                                      "\n  test: " + dir_.file("cifar/test_batch.bin"),
                                  "") +
                           " --name c");
  ASSERT_EQ(train.code, 0) << train.output;
  EXPECT_TRUE(contains(train.output, "data: 8 training images (3 channels), 2 test, 2 validation"))
      << train.output;
}

TEST_F(FormatsCliTest, InfoRefusesWhatIsNotARunOrCheckpoint) {
  Result missing = run_dcgan("info " + dir_.file("nothing"));
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(last_line(missing.output),
            "dcgan: error: " + dir_.file("nothing") + ": no such run directory or checkpoint file");
  Result folder = run_dcgan("info " + dir_.path().string());
  EXPECT_EQ(folder.code, 2);
  EXPECT_EQ(last_line(folder.output), "dcgan: error: " + dir_.path().string() +
                                          ": a run directory with checkpoint.pt expected, found none");
  testing::write_text(dir_.file("x.pt"), "not a checkpoint");
  Result foreign = run_dcgan("info " + dir_.file("x.pt"));
  EXPECT_EQ(foreign.code, 4) << foreign.output;
  EXPECT_EQ(last_line(foreign.output).rfind("dcgan: error: " + dir_.file("x.pt") + ": ", 0), 0u)
      << foreign.output;
}

// The exported files reproduce dcgan's own generator from Python, to 1e-5.
TEST_F(FormatsCliTest, ExportRunsInPythonAsInDcgan) {
  const std::string python = DCGAN_PYTHON;
  if (python.empty()) GTEST_SKIP() << "no Python with PyTorch configured (DCGAN_PYTHON)";
  Result version = testing::run_process(python, {"-c", "import torch, numpy; print(torch.__version__.split('+')[0])"});
  const std::string ours = std::to_string(TORCH_VERSION_MAJOR) + "." +
                           std::to_string(TORCH_VERSION_MINOR) + "." +
                           std::to_string(TORCH_VERSION_PATCH);
  if (version.code != 0 || last_line(version.output) != ours) {
    GTEST_SKIP() << python << " has no PyTorch " << ours << " (" << last_line(version.output) << ")";
  }
  for (const int64_t size : {32, 64}) {
    fs::create_directories(dir_.file("cifar"));
    testing::write_cifar10(dir_.file("cifar/data_batch_1.bin"),
                           torch::randint(0, 256, {8, 3, 32, 32}, torch::kUInt8),
                           torch::arange(8, torch::kLong) % 10);
    const std::string name = "e" + std::to_string(size);
    Result train = run_dcgan(
        "train --config " +
        config("data:\n  format: cifar10\n  train: " + dir_.file("cifar"),
               "  image_size: " + std::to_string(size)) +
        " --name " + name);
    ASSERT_EQ(train.code, 0) << train.output;
    const std::string generator = dir_.file("runs/" + name + "/generator.pt");
    const std::string ts = dir_.file(name + ".pt"), st = dir_.file(name + ".safetensors");
    Result to_ts = run_dcgan("export --ckpt " + generator + " --out " + ts);
    ASSERT_EQ(to_ts.code, 0) << to_ts.output;
    EXPECT_TRUE(contains(to_ts.output, "torchscript, averaged weights")) << to_ts.output;
    const std::string side = std::to_string(size);
    EXPECT_TRUE(contains(to_ts.output, side + "x" + side + " images with 3 channels from z of 100"))
        << to_ts.output;
    Result to_st = run_dcgan("export --ckpt " + generator + " --out " + st);
    ASSERT_EQ(to_st.code, 0) << to_st.output;

    // dcgan's own output for the same z, as `dcgan sample` computes it (EMA weights, eval mode).
    LoadedGenerator loaded = load_generator_file(generator, torch::kCPU);
    Generator& g = loaded.pick(true);
    g->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor z = torch::rand({5, loaded.config.model.z_dim}) * 2 - 1;
    const torch::Tensor images = g->forward(z).contiguous();
    auto write_raw = [](const std::string& path, const torch::Tensor& t) {
      std::ofstream out(path, std::ios::binary);
      out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
    };
    write_raw(dir_.file("z.f32"), z.contiguous());
    write_raw(dir_.file("x.f32"), images);
    Result check = testing::run_process(
        python, {std::string(DCGAN_SOURCE_DIR) + "/tests/cli/check_export.py", ts, st,
                 dir_.file("z.f32"), dir_.file("x.f32"), "5",
                 std::to_string(loaded.config.model.z_dim), "3", std::to_string(size)});
    EXPECT_EQ(check.code, 0) << check.output;
    EXPECT_EQ(last_line(check.output), "ok") << check.output;
  }
}

}  // namespace
}  // namespace dcgan
