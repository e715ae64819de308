#include "dcgan/io/checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "dcgan/error.h"
#include "dcgan/model/networks.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

ModelOptions small_model() {
  ModelOptions options;
  options.g_channels = 16;
  options.d_channels = 4;
  return options;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const CheckpointError& e) {
    return e.what();
  }
  return "no CheckpointError";
}

TEST(CheckpointTest, ModulesOptimizersAndValuesRoundTrip) {
  testing::TempDir dir;
  const std::string path = dir.file("ckpt.pt");
  torch::manual_seed(0);
  Generator saved(small_model(), 3, UpconvKind::kPhase);
  saved->forward(sample_noise(8, 100, torch::kCPU));  // move the BN running statistics
  torch::optim::Adam adam(saved->parameters(), torch::optim::AdamOptions(1e-3));
  saved->forward(sample_noise(8, 100, torch::kCPU)).mean().backward();
  adam.step();

  CheckpointWriter writer(CheckpointKind::kTraining);
  writer.write_module("generator", *saved);
  writer.write_optimizer("adam", adam);
  writer.write_int("step", 42);
  writer.write_string("note", "hello");
  writer.write_tensor("order", torch::arange(5));
  writer.save(path);

  torch::manual_seed(1);
  Generator loaded(small_model(), 3, UpconvKind::kPhase);
  torch::optim::Adam loaded_adam(loaded->parameters(), torch::optim::AdamOptions(1e-3));
  CheckpointReader reader(path);
  EXPECT_EQ(reader.kind(), CheckpointKind::kTraining);
  reader.read_module("generator", *loaded);
  reader.read_optimizer("adam", loaded_adam);
  EXPECT_EQ(reader.read_int("step"), 42);
  EXPECT_EQ(reader.read_string("note"), "hello");
  EXPECT_TRUE(torch::equal(reader.read_tensor("order"), torch::arange(5)));

  saved->eval();
  loaded->eval();
  auto z = sample_noise(4, 100, torch::kCPU);
  EXPECT_TRUE(torch::allclose(saved->forward(z), loaded->forward(z), 1e-5, 1e-6));
  auto saved_buffers = saved->named_buffers();
  for (const auto& b : loaded->named_buffers()) {
    EXPECT_TRUE(torch::equal(b.value(), saved_buffers[b.key()])) << b.key();
  }
  // The optimizers continue identically.
  for (auto* m : {&saved, &loaded}) (*m)->train();
  adam.zero_grad();
  saved->forward(z).mean().backward();
  loaded->forward(z).mean().backward();
  adam.step();
  loaded_adam.step();
  auto after = saved->named_parameters();
  for (const auto& p : loaded->named_parameters()) {
    EXPECT_TRUE(torch::allclose(p.value(), after[p.key()], 1e-5, 1e-6)) << p.key();
  }
}

// Adam's state is stored per parameter in dcgan's own layout (LibTorch's differs between
// versions): a state for another model is refused with the counts, before anything is changed.
TEST(CheckpointTest, OptimizerStateOfAnotherModelIsRefused) {
  testing::TempDir dir;
  const std::string path = dir.file("ckpt.pt");
  Generator g(small_model(), 3, UpconvKind::kNative);
  torch::optim::Adam adam(g->parameters(), torch::optim::AdamOptions(1e-3));
  g->forward(sample_noise(8, 100, torch::kCPU)).mean().backward();
  adam.step();
  CheckpointWriter writer(CheckpointKind::kTraining);
  writer.write_optimizer("adam", adam);
  writer.save(path);

  // Another model, stepped once: its state must survive the refused loads.
  Discriminator d(small_model(), 3);
  torch::optim::Adam other(d->parameters(), torch::optim::AdamOptions(1e-3));
  d->forward(torch::rand({4, 3, 32, 32})).mean().backward();
  other.step();
  const size_t states = other.state().size();
  ASSERT_GT(states, 0u);
  CheckpointReader reader(path);
  try {
    reader.read_optimizer("adam", other);
    FAIL() << "no error";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": optimizer state 'adam' is for " +
                                         std::to_string(g->parameters().size()) +
                                         " parameters, the model has " +
                                         std::to_string(d->parameters().size()));
  }
  EXPECT_EQ(other.state().size(), states);

  // The same count, another shape (g_channels 16 against 32): refused, nothing replaced.
  ModelOptions narrow = small_model();
  narrow.g_channels /= 2;
  Generator h(narrow, 3, UpconvKind::kNative);
  torch::optim::Adam h_adam(h->parameters(), torch::optim::AdamOptions(1e-3));
  h->forward(sample_noise(8, 100, torch::kCPU)).mean().backward();
  h_adam.step();
  try {
    reader.read_optimizer("adam", h_adam);
    FAIL() << "no error";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("' has shape "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(", the parameter expects "), std::string::npos) << e.what();
  }
  EXPECT_EQ(h_adam.state().size(), h->parameters().size());
}

// A run trained on CUDA resumes on a CPU-only machine and on CUDA: parameters, buffers and the
// optimizer's moments all land on the device of the module they are read into.
TEST(CheckpointTest, TrainedOnCudaResumesOnCpuAndOnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  testing::TempDir dir;
  const std::string path = dir.file("ckpt.pt");
  torch::manual_seed(0);
  Generator saved(small_model(), 3, UpconvKind::kNative);
  saved->to(torch::kCUDA);
  torch::optim::Adam adam(saved->parameters(), torch::optim::AdamOptions(1e-3));
  saved->forward(sample_noise(8, 100, torch::kCUDA)).mean().backward();
  adam.step();
  CheckpointWriter writer(CheckpointKind::kTraining);
  writer.write_module("generator", *saved);
  writer.write_optimizer("adam", adam);
  writer.save(path);

  // One more step of the original, on fixed noise, is what each restored copy must repeat.
  const torch::Tensor z = sample_noise(8, 100, torch::kCPU);
  auto one_step = [&z](Generator& g, torch::optim::Adam& optimizer, const torch::Device& device) {
    optimizer.zero_grad();
    g->forward(z.to(device)).mean().backward();
    optimizer.step();
    return g->named_parameters()["fc.weight"].detach().to(torch::kCPU);
  };
  const torch::Tensor expected = one_step(saved, adam, torch::kCUDA);

  for (const torch::Device device : {torch::Device(torch::kCPU), torch::Device(torch::kCUDA)}) {
    Generator loaded(small_model(), 3, UpconvKind::kNative);
    loaded->to(device);
    torch::optim::Adam loaded_adam(loaded->parameters(), torch::optim::AdamOptions(1e-3));
    CheckpointReader reader(path);
    reader.read_module("generator", *loaded);
    reader.read_optimizer("adam", loaded_adam);
    // A CUDA tensor is on cuda:0, the device asked for is "cuda": compare the kinds.
    for (const auto& p : loaded->parameters()) EXPECT_EQ(p.device().type(), device.type());
    for (auto& state : loaded_adam.state()) {
      const auto& adam_state = static_cast<torch::optim::AdamParamState&>(*state.second);
      EXPECT_EQ(adam_state.exp_avg().device().type(), device.type());
      EXPECT_EQ(adam_state.exp_avg_sq().device().type(), device.type());
    }
    EXPECT_TRUE(torch::allclose(one_step(loaded, loaded_adam, device), expected, 1e-4, 1e-5))
        << device;
  }
}

TEST(CheckpointTest, WrongKindIsNamed) {
  testing::TempDir dir;
  CheckpointWriter(CheckpointKind::kTraining).save(dir.file("train.pt"));
  CheckpointReader reader(dir.file("train.pt"));
  EXPECT_EQ(error_of([&] { reader.expect_kind(CheckpointKind::kGenerator); }),
            dir.file("train.pt") + ": expected a generator file, found a training checkpoint");
}

TEST(CheckpointTest, ShapeMismatchIsAnErrorNotAResize) {
  testing::TempDir dir;
  Discriminator small(small_model(), 3);
  CheckpointWriter writer(CheckpointKind::kGenerator);
  writer.write_module("d", *small);
  writer.save(dir.file("d.pt"));
  Discriminator gray(small_model(), 1);
  CheckpointReader reader(dir.file("d.pt"));
  EXPECT_EQ(error_of([&] { reader.read_module("d", *gray); }),
            dir.file("d.pt") +
                ": tensor 'd.c1.weight' has shape 4x3x5x5, the model expects 4x1x5x5 "
                "(a checkpoint of another architecture or image size?)");
  EXPECT_EQ(gray->named_parameters()["c1.weight"].sizes(), (std::vector<int64_t>{4, 1, 5, 5}));
}

TEST(CheckpointTest, DamagedFilesAreRejectedWithTheirPath) {
  testing::TempDir dir;
  Generator g(small_model(), 3, UpconvKind::kPhase);
  CheckpointWriter writer(CheckpointKind::kGenerator);
  writer.write_module("generator", *g);
  writer.save(dir.file("good.pt"));
  const std::string good = testing::read_text(dir.file("good.pt"));

  testing::write_text(dir.file("truncated.pt"), good.substr(0, good.size() / 2));
  std::string flipped = good;
  for (size_t i = good.size() - 200; i < good.size() - 100; ++i) flipped[i] = static_cast<char>(~flipped[i]);
  testing::write_text(dir.file("flipped.pt"), flipped);
  testing::write_text(dir.file("text.pt"), "not a checkpoint\n");
  testing::write_text(dir.file("empty.pt"), "");

  const std::string prefix = ": not a readable checkpoint (truncated or corrupted?): ";
  for (const char* name : {"truncated.pt", "flipped.pt", "text.pt", "empty.pt"}) {
    const std::string message = error_of([&] { CheckpointReader reader(dir.file(name)); });
    EXPECT_EQ(message.rfind(dir.file(name) + prefix, 0), 0u) << name << ": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << name << ": " << message;
  }
  EXPECT_EQ(error_of([&] { CheckpointReader reader(dir.file("missing.pt")); }),
            dir.file("missing.pt") + ": cannot open checkpoint (missing?)");
}

TEST(CheckpointTest, ForeignTorchArchiveIsNotADcganCheckpoint) {
  testing::TempDir dir;
  torch::serialize::OutputArchive archive;
  archive.write("weight", torch::ones({2}));
  archive.save_to(dir.file("foreign.pt"));
  EXPECT_EQ(error_of([&] { CheckpointReader reader(dir.file("foreign.pt")); }),
            dir.file("foreign.pt") + ": not a dcgan checkpoint (no dcgan header)");
}

}  // namespace
}  // namespace dcgan
