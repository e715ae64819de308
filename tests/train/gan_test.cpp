#include "dcgan/train/gan.h"

#include <gtest/gtest.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "dcgan/error.h"
#include "dcgan/io/checkpoint.h"
#include "dcgan/train/capturable_adam.h"
#include "dcgan/train/profile.h"
#include "testing/threads.h"

namespace dcgan {
namespace {

Config small_config() {
  Config config;
  config.model.g_channels = 16;
  config.model.d_channels = 4;
  return config;
}

// While alive, CUDA's fp32 convolutions and matrix products run in fp32, not TF32.
class NoTf32 {
 public:
  NoTf32()
      : cudnn_(at::globalContext().allowTF32CuDNN()),
        cublas_(at::globalContext().allowTF32CuBLAS()) {
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
  }
  ~NoTf32() {
    at::globalContext().setAllowTF32CuDNN(cudnn_);
    at::globalContext().setAllowTF32CuBLAS(cublas_);
  }
  NoTf32(const NoTf32&) = delete;
  NoTf32& operator=(const NoTf32&) = delete;

 private:
  bool cudnn_, cublas_;
};

// Whether two GANs that took the same steps hold the same weights: all but 1 % of each tensor's
// elements within 1e-5. Adam moves every weight by about lr whatever the gradient's size, so a
// weight whose gradient is within rounding of zero may move the other way: that 1 %. The bias of
// a layer that batch norm follows has a gradient of exactly zero in exact arithmetic (the norm
// subtracts it again), so its steps are the signs of rounding noise: those tensors are left out,
// found by their gradient in `a`.
void expect_same_weights(Gan& a, Gan& b) {
  for (auto [from, to] : {std::pair<torch::nn::Module*, torch::nn::Module*>{
                              a.generator.ptr().get(), b.generator.ptr().get()},
                          {a.discriminator.ptr().get(), b.discriminator.ptr().get()}}) {
    auto other = to->named_parameters();
    int compared = 0;
    for (const auto& p : from->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      if (p.value().grad().abs().max().item<double>() < 1e-6) continue;
      ++compared;
      const torch::Tensor diff = (other[p.key()].detach().cpu() - p.value().detach().cpu()).abs();
      const double off = (diff > 1e-5).to(torch::kDouble).mean().item<double>();
      EXPECT_LT(off, 0.01) << p.key() << ": " << off * 100 << "% of the weights differ";
    }
    EXPECT_GE(compared, 8);
  }
}

TEST(GanTest, StepReportsTheReferenceLossesAndUpdatesBothNetworks) {
  Config config = small_config();
  torch::manual_seed(0);
  Gan gan(config, 3, torch::kCPU);
  auto real = torch::rand({8, 3, 32, 32}) * 2 - 1;
  auto z = sample_noise(8, 100, torch::kCPU);

  // The D loss of this step, computed independently before the step changes anything.
  torch::Tensor expected_d_loss, expected_d_real, expected_d_fake;
  {
    torch::NoGradGuard no_grad;
    auto real_logits = gan.discriminator->forward(real);
    auto fake_logits = gan.discriminator->forward(gan.generator->forward(z));
    expected_d_loss = torch::binary_cross_entropy_with_logits(real_logits, torch::full_like(real_logits, 0.9)) +
                      torch::binary_cross_entropy_with_logits(fake_logits, torch::zeros_like(fake_logits));
    expected_d_real = torch::sigmoid(real_logits).mean();
    expected_d_fake = torch::sigmoid(fake_logits).mean();
  }
  auto g_before = gan.generator->named_parameters()["fc.weight"].clone();
  auto d_before = gan.discriminator->named_parameters()["fc.weight"].clone();

  StepStats stats = gan.step(real, z);
  EXPECT_NEAR(stats.d_loss.item<double>(), expected_d_loss.item<double>(), 1e-5);
  EXPECT_NEAR(stats.d_real.item<double>(), expected_d_real.item<double>(), 1e-6);
  EXPECT_NEAR(stats.d_fake.item<double>(), expected_d_fake.item<double>(), 1e-6);
  EXPECT_TRUE(std::isfinite(stats.g_loss.item<double>()));
  EXPECT_FALSE(torch::equal(g_before, gan.generator->named_parameters()["fc.weight"]));
  EXPECT_FALSE(torch::equal(d_before, gan.discriminator->named_parameters()["fc.weight"]));
  for (const auto& p : gan.discriminator->parameters()) EXPECT_TRUE(p.requires_grad());
}

TEST(GanTest, LearningRateAndBetasReachAdam) {
  Config config = small_config();
  config.train.lr = 1e-3;
  config.train.beta1 = 0.3;
  Gan gan(config, 1, torch::kCPU);
  auto expect_adam = [&gan](double lr, double beta1, double beta2) {
    for (auto* optimizer : {gan.g_optimizer.get(), gan.d_optimizer.get()}) {
      const auto& options = static_cast<const torch::optim::AdamOptions&>(
          optimizer->param_groups()[0].options());
      EXPECT_DOUBLE_EQ(options.lr(), lr);
      EXPECT_DOUBLE_EQ(std::get<0>(options.betas()), beta1);
      EXPECT_DOUBLE_EQ(std::get<1>(options.betas()), beta2);
    }
  };
  expect_adam(1e-3, 0.3, 0.999);
  // A resumed run's config replaces whatever options the optimizers' saved state brought back.
  config.train.lr = 5e-5;
  config.train.beta2 = 0.99;
  gan.set_optimizer_options(config.train);
  expect_adam(5e-5, 0.3, 0.99);
}

TEST(GanTest, SampleUsesEvalModeAndRestoresTraining) {
  Gan gan(small_config(), 3, torch::kCPU);
  auto z = sample_noise(6, 100, torch::kCPU);
  auto all = gan.sample(z);
  EXPECT_TRUE(gan.generator->is_training());
  EXPECT_TRUE(torch::allclose(all.slice(0, 2, 3), gan.sample(z.slice(0, 2, 3)), 1e-5, 1e-6));
}

// A tiny task: G must learn to output a constant image, 0.5 everywhere. Returns the mean distance
// of G's samples from it before training and the smallest seen while training (GAN training
// oscillates, so the last value is a poor measure). Fails if the update direction is wrong.
std::pair<double, double> learn_constant_image(Gan& gan, const torch::Device& device) {
  // On one CPU thread: 300 steps of networks this small are mostly thread handoffs. Two such
  // tests side by side on 2 cores (ctest -j 2) with 2 threads each took 12 s instead of 3, 36 s
  // with a third busy process, and over 300 s once in a CI run, where on one thread each they
  // took 5 s.
  testing::IntraOpThreads one_thread(1);
  const torch::Tensor target = torch::full({16, 1, 32, 32}, 0.5, device);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
  auto distance = [&] {
    const torch::Tensor samples = gan.sample(sample_noise(64, 100, torch::kCPU, gen).to(device));
    EXPECT_EQ(samples.scalar_type(), torch::kFloat);
    EXPECT_LE(samples.abs().max().item<double>(), 1.0);
    return (samples - 0.5).abs().mean().item<double>();
  };
  const double before = distance();
  double best = before;
  for (int i = 1; i <= 300; ++i) {
    const StepStats stats = gan.step(target, sample_noise(16, 100, torch::kCPU, gen).to(device));
    if (i % 25 == 0) {
      EXPECT_TRUE(std::isfinite(stats.d_loss.item<double>())) << "step " << i;
      EXPECT_TRUE(std::isfinite(stats.g_loss.item<double>())) << "step " << i;
      best = std::min(best, distance());
    }
  }
  return {before, best};
}

TEST(GanTest, LearnsAConstantImage) {
  Config config = small_config();
  config.train.lr = 2e-3;
  torch::manual_seed(3);
  Gan gan(config, 1, torch::kCPU);
  const auto [before, best] = learn_constant_image(gan, torch::kCPU);
  EXPECT_LT(best, 0.5 * before) << "before " << before << ", best " << best;
}

// run.amp bf16 on the CPU: the forward passes run under CPU autocast. The step's statistics
// differ from the fp32 step's by bf16 rounding only (so autocast is on, and nothing else changed),
// the losses come out fp32 and the weights stay fp32.
TEST(GanTest, CpuBf16StepIsTheFp32StepUpToBf16Rounding) {
  Config config = small_config();
  torch::manual_seed(0);
  Gan fp32(config, 3, torch::kCPU);
  config.run.amp = "bf16";
  torch::manual_seed(0);
  Gan bf16(config, 3, torch::kCPU);
  const torch::Tensor real = torch::rand({16, 3, 32, 32}) * 2 - 1;
  const torch::Tensor z = sample_noise(16, 100, torch::kCPU);
  const StepStats a = fp32.step(real, z);
  const StepStats b = bf16.step(real, z);
  EXPECT_EQ(b.d_loss.scalar_type(), torch::kFloat);
  EXPECT_EQ(b.g_loss.scalar_type(), torch::kFloat);
  for (auto [x, y] : {std::pair{a.d_loss, b.d_loss}, {a.g_loss, b.g_loss}, {a.d_real, b.d_real},
                      {a.d_fake, b.d_fake}}) {
    EXPECT_NEAR(y.item<double>(), x.item<double>(), 0.02 * std::abs(x.item<double>()) + 1e-3);
  }
  EXPECT_NE(a.d_loss.item<double>(), b.d_loss.item<double>()) << "bf16 autocast had no effect";
  for (const auto& p : bf16.generator->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat);
  for (const auto& p : bf16.discriminator->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat);
  // Autocast is off again outside the step: a plain forward pass is fp32.
  EXPECT_EQ(bf16.discriminator->forward(real).scalar_type(), torch::kFloat);
}

TEST(GanTest, LearnsAConstantImageUnderCpuBf16) {
  Config config = small_config();
  config.train.lr = 2e-3;
  config.run.amp = "bf16";
  torch::manual_seed(3);
  Gan gan(config, 1, torch::kCPU);
  const auto [before, best] = learn_constant_image(gan, torch::kCPU);
  EXPECT_LT(best, 0.5 * before) << "before " << before << ", best " << best;
}

// run.amp bf16 with the Winograd form: from LibTorch 2 on its wide layers run on bf16-rounded
// operands with fp32 kernels (the emulation of model/precision.h), also on a CPU with native bf16,
// where LibTorch's bf16 layers are not always faster (AVX512-BF16 without AMX:
// docs/PERFORMANCE.md), so the form's own loops run in the step; with 1.13, whose autocast the
// emulation does not follow, LibTorch's bf16 layers run instead. Either way the step is the fp32
// step up to bf16 rounding.
TEST(GanTest, CpuBf16WithTheWinogradFormRunsTheFormOnRoundedOperands) {
  Config config = small_config();
  config.model.g_channels = 256;  // G's 256 -> 128 layer is wide enough for the form
  torch::manual_seed(0);
  Gan fp32(config, 3, torch::kCPU, UpconvKind::kWinograd);
  config.run.amp = "bf16";
  torch::manual_seed(0);
  Gan bf16(config, 3, torch::kCPU, UpconvKind::kWinograd);
  const torch::Tensor real = torch::rand({16, 3, 32, 32}) * 2 - 1;
  const torch::Tensor z = sample_noise(16, 100, torch::kCPU);
  const StepStats a = fp32.step(real, z);
  StepStats b;
  const std::vector<OperatorTime> ops = profile_operators([&] { b = bf16.step(real, z); });
  const bool ran_the_form = std::any_of(ops.begin(), ops.end(), [](const OperatorTime& op) {
    return op.name.rfind("dcgan::winograd_", 0) == 0;
  });
  EXPECT_EQ(ran_the_form, TORCH_VERSION_MAJOR >= 2)
      << "the bf16 step " << (ran_the_form ? "ran" : "ran no") << " Winograd loop";
  for (auto [x, y] : {std::pair{a.d_loss, b.d_loss}, {a.g_loss, b.g_loss}, {a.d_real, b.d_real},
                      {a.d_fake, b.d_fake}}) {
    EXPECT_NEAR(y.item<double>(), x.item<double>(), 0.02 * std::abs(x.item<double>()) + 1e-3);
  }
  EXPECT_NE(a.d_loss.item<double>(), b.d_loss.item<double>()) << "bf16 autocast had no effect";
  for (const auto& p : bf16.generator->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat);
}

// The CUDA step is the CPU step: same weights and batch in, same statistics and (almost every)
// weight out. cuDNN's transposed convolution runs on CUDA, the phase decomposition on the CPU.
// TF32 is off so that fp32 means fp32 on both.
TEST(GanCudaTest, CudaStepMatchesTheCpuStep) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  NoTf32 fp32_means_fp32;

  Config config = small_config();
  torch::manual_seed(0);
  Gan cpu(config, 3, torch::kCPU);
  Gan cuda(config, 3, torch::kCUDA);
  {
    torch::NoGradGuard no_grad;
    for (auto [from, to] : {std::pair<torch::nn::Module*, torch::nn::Module*>{
                                cpu.generator.ptr().get(), cuda.generator.ptr().get()},
                            {cpu.discriminator.ptr().get(), cuda.discriminator.ptr().get()}}) {
      auto source = from->named_parameters();
      for (auto& p : to->named_parameters()) p.value().copy_(source[p.key()]);
    }
  }
  const torch::Tensor real = torch::rand({16, 3, 32, 32}) * 2 - 1;
  const torch::Tensor z = sample_noise(16, 100, torch::kCPU);
  const StepStats on_cpu = cpu.step(real, z);
  const StepStats on_cuda = cuda.step(real.to(torch::kCUDA), z.to(torch::kCUDA));

  EXPECT_NEAR(on_cuda.d_loss.item<double>(), on_cpu.d_loss.item<double>(), 1e-4);
  EXPECT_NEAR(on_cuda.g_loss.item<double>(), on_cpu.g_loss.item<double>(), 1e-4);
  EXPECT_NEAR(on_cuda.d_real.item<double>(), on_cpu.d_real.item<double>(), 1e-5);
  EXPECT_NEAR(on_cuda.d_fake.item<double>(), on_cpu.d_fake.item<double>(), 1e-5);
  expect_same_weights(cpu, cuda);
}

// Training works on CUDA in fp32 and under bf16 autocast: the tiny task above is learnt, the
// weights stay fp32 and the samples are fp32 in [-1, 1].
class GanCudaAmpTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GanCudaAmpTest, LearnsAConstantImageOnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  Config config = small_config();
  config.train.lr = 2e-3;
  config.run.amp = GetParam();
  torch::manual_seed(3);
  Gan gan(config, 1, torch::kCUDA);
  const auto [before, best] = learn_constant_image(gan, torch::kCUDA);
  EXPECT_LT(best, 0.5 * before) << "before " << before << ", best " << best;
  for (const auto& p : gan.generator->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat);
}

INSTANTIATE_TEST_SUITE_P(Precision, GanCudaAmpTest, ::testing::Values("none", "bf16"));

// CapturableAdam is torch's Adam: from a common first step, the same gradients give the same
// weights, moments and step counts, also with an eager step of torch's Adam in between.
TEST(CapturableAdamTest, TakesTorchsAdamSteps) {
  torch::manual_seed(0);
  const std::vector<torch::Tensor> start = {torch::randn({5, 3}), torch::randn({7})};
  std::vector<torch::Tensor> a, b;
  for (const auto& t : start) {
    a.push_back(t.clone().requires_grad_());
    b.push_back(t.clone().requires_grad_());
  }
  const auto options = torch::optim::AdamOptions(2e-3).betas({0.5, 0.999});
  torch::optim::Adam reference(a, options), adam(b, options);
  auto set_grads = [&a, &b](int step) {
    torch::manual_seed(100 + step);
    for (size_t i = 0; i < a.size(); ++i) {
      const torch::Tensor g = torch::randn(a[i].sizes()) * static_cast<double>(i + 1);
      a[i].mutable_grad() = g.clone();
      b[i].mutable_grad() = g.clone();
    }
  };
  set_grads(0);
  reference.step();
  adam.step();
  CapturableAdam capturable(adam);
  for (int step = 1; step <= 6; ++step) {
    set_grads(step);
    reference.step();
    if (step == 3) {
      adam.step();  // torch's own step in between: the device count must follow
    } else {
      capturable.sync_from_host();
      capturable.step();
      capturable.advance_host_steps();
    }
  }
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::allclose(b[i], a[i], 1e-6, 1e-7)) << "parameter " << i;
    const torch::optim::AdamParamState* ra = find_adam_state(reference, a[i]);
    const torch::optim::AdamParamState* rb = find_adam_state(adam, b[i]);
    ASSERT_TRUE(ra != nullptr && rb != nullptr);
    EXPECT_EQ(rb->step(), 7);
    EXPECT_TRUE(torch::allclose(rb->exp_avg(), ra->exp_avg(), 1e-6, 1e-8));
    EXPECT_TRUE(torch::allclose(rb->exp_avg_sq(), ra->exp_avg_sq(), 1e-6, 1e-10));
  }
}

TEST(CapturableAdamTest, RefusesAnAdamItCannotFollow) {
  torch::Tensor p = torch::zeros({3}, torch::requires_grad());
  torch::optim::Adam fresh({p}, torch::optim::AdamOptions(1e-3));
  EXPECT_THROW(CapturableAdam{fresh}, std::invalid_argument);  // no state yet
  torch::optim::Adam decaying({p}, torch::optim::AdamOptions(1e-3).weight_decay(0.1));
  p.mutable_grad() = torch::ones({3});
  decaying.step();
  EXPECT_THROW(CapturableAdam{decaying}, std::invalid_argument);
}

TEST(GanTest, CudaGraphsOnTheCpuAreAConfigErrorNamingTheKey) {
  Config config = small_config();
  config.run.cuda_graphs = true;
  try {
    Gan gan(config, 3, torch::kCPU);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("key 'run.cuda_graphs'"), std::string::npos) << e.what();
  }
}

// Steps replayed from a CUDA graph are the eager steps: the same statistics at each step (the
// first three eager, the fourth captured and replayed, the rest replayed) and the same weights
// after them, to the tolerance of the CUDA step against the CPU step above. The host's Adam step
// counts follow the replays, as a checkpoint needs.
class GanCudaGraphTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GanCudaGraphTest, ReplayedStepsAreTheEagerSteps) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  NoTf32 fp32_means_fp32;
  Config config = small_config();
  config.run.amp = GetParam();
  torch::manual_seed(0);
  Gan eager(config, 3, torch::kCUDA);
  config.run.cuda_graphs = true;
  torch::manual_seed(0);
  Gan graphed(config, 3, torch::kCUDA);
  const double loss_tolerance = GetParam() == "bf16" ? 2e-2 : 1e-4;
  constexpr int kSteps = 8;
  for (int step = 0; step < kSteps; ++step) {
    torch::manual_seed(50 + step);
    const torch::Tensor real = (torch::rand({16, 3, 32, 32}) * 2 - 1).to(torch::kCUDA);
    const torch::Tensor z = sample_noise(16, 100, torch::kCUDA);
    const StepStats e = eager.step(real, z);
    const StepStats g = graphed.step(real, z);
    EXPECT_NEAR(g.d_loss.item<double>(), e.d_loss.item<double>(), loss_tolerance) << "step " << step;
    EXPECT_NEAR(g.g_loss.item<double>(), e.g_loss.item<double>(), loss_tolerance) << "step " << step;
    EXPECT_NEAR(g.d_real.item<double>(), e.d_real.item<double>(), loss_tolerance) << "step " << step;
    EXPECT_NEAR(g.d_fake.item<double>(), e.d_fake.item<double>(), loss_tolerance) << "step " << step;
  }
  expect_same_weights(eager, graphed);
  for (auto* adam : {graphed.g_optimizer.get(), graphed.d_optimizer.get()}) {
    for (const auto& p : adam->param_groups()[0].params()) {
      EXPECT_EQ(find_adam_state(*adam, p)->step(), kSteps);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Precision, GanCudaGraphTest, ::testing::Values("none", "bf16"));

}  // namespace
}  // namespace dcgan
