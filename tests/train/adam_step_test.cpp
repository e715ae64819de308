#include "dcgan/train/adam_step.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <vector>

#include "dcgan/io/checkpoint.h"

namespace dcgan {
namespace {

constexpr bool kFusedKernel = TORCH_VERSION_MAJOR > 2 ||
                              (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4);

// Two copies of the same parameters: one for torch's Adam, one for adam_step. Sizes of a weight,
// a bias, and more values than one thread's share, with a tail past the last whole vector.
struct Twins {
  std::vector<torch::Tensor> a, b;
  Twins() {
    torch::manual_seed(0);
    for (const auto& shape : std::vector<std::vector<int64_t>>{{16, 8, 5, 5}, {7}, {70001}}) {
      const auto t = torch::randn(shape);
      a.push_back(t.clone().requires_grad_());
      b.push_back(t.clone().requires_grad_());
    }
  }
  // The same gradients for both, of sizes that differ per parameter (Adam's update hardly
  // depends on a gradient's scale, its moments do).
  void set_grads(int step) {
    torch::manual_seed(100 + step);
    for (size_t i = 0; i < a.size(); ++i) {
      const auto g = torch::randn(a[i].sizes()) * static_cast<double>(1 + 10 * i);
      a[i].mutable_grad() = g.clone();
      b[i].mutable_grad() = g.clone();
    }
  }
};

// The largest difference between two tensors, relative to the largest value of `want`: the
// first moment is a sum of gradients of both signs, so single values may lie far below the
// rounding of the terms that cancelled in them.
double off_by(const torch::Tensor& got, const torch::Tensor& want) {
  return ((got - want).abs().max() / want.abs().max()).item<double>();
}

// adam_step is torch's Adam to fp32 rounding over several steps: the weights, both moments and
// the step counts; it takes the one-pass kernel from the second step on where LibTorch has it.
TEST(AdamStepTest, TakesTorchsAdamSteps) {
  for (const double decay : {0.0, 0.1}) {
    SCOPED_TRACE(decay);
    Twins p;
    const auto options = torch::optim::AdamOptions(2e-3).betas({0.5, 0.999}).weight_decay(decay);
    torch::optim::Adam reference(p.a, options), adam(p.b, options);
    p.set_grads(0);
    EXPECT_FALSE(adam_step_is_fused(adam));  // no state yet: Adam::step creates it
    reference.step();
    adam_step(adam);
    for (int step = 1; step <= 6; ++step) {
      p.set_grads(step);
      EXPECT_EQ(adam_step_is_fused(adam), kFusedKernel);
      reference.step();
      adam_step(adam);
    }
    for (size_t i = 0; i < p.a.size(); ++i) {
      SCOPED_TRACE(i);
      EXPECT_TRUE(torch::allclose(p.b[i], p.a[i], 1e-6, 1e-7));
      const torch::optim::AdamParamState* ra = find_adam_state(reference, p.a[i]);
      const torch::optim::AdamParamState* rb = find_adam_state(adam, p.b[i]);
      ASSERT_TRUE(ra != nullptr && rb != nullptr);
      EXPECT_EQ(rb->step(), 7);
      EXPECT_LE(off_by(rb->exp_avg(), ra->exp_avg()), 1e-6);
      EXPECT_LE(off_by(rb->exp_avg_sq(), ra->exp_avg_sq()), 1e-6);
    }
  }
}

// A parameter without a gradient keeps its value and its step count, as with Adam::step.
TEST(AdamStepTest, LeavesParametersWithoutGradientsAlone) {
  Twins p;
  torch::optim::Adam adam(p.b, torch::optim::AdamOptions(1e-3));
  p.set_grads(0);
  adam_step(adam);
  p.set_grads(1);
  p.b[1].mutable_grad() = torch::Tensor();
  const auto before = p.b[1].detach().clone();
  adam_step(adam);
  EXPECT_TRUE(torch::equal(p.b[1], before));
  EXPECT_EQ(find_adam_state(adam, p.b[1])->step(), 1);
  EXPECT_EQ(find_adam_state(adam, p.b[0])->step(), 2);
}

// What the kernel does not take goes to Adam::step: AMSGrad, a parameter that is not contiguous.
TEST(AdamStepTest, LeavesWhatTheKernelDoesNotTakeToAdamStep) {
  Twins p;
  torch::optim::Adam amsgrad(p.b, torch::optim::AdamOptions(1e-3).amsgrad(true));
  p.set_grads(0);
  adam_step(amsgrad);
  EXPECT_FALSE(adam_step_is_fused(amsgrad));
  const auto before = p.b[0].detach().clone();
  adam_step(amsgrad);
  EXPECT_FALSE(torch::equal(p.b[0], before));
  EXPECT_EQ(find_adam_state(amsgrad, p.b[0])->step(), 2);

  auto strided = torch::randn({6, 4}).t().requires_grad_();  // a leaf, not contiguous
  torch::optim::Adam adam({strided}, torch::optim::AdamOptions(1e-3));
  strided.mutable_grad() = torch::ones({4, 6});
  adam_step(adam);
  strided.mutable_grad() = torch::ones({4, 6});
  EXPECT_FALSE(adam_step_is_fused(adam));
  adam_step(adam);
  EXPECT_EQ(find_adam_state(adam, strided)->step(), 2);
}

}  // namespace
}  // namespace dcgan
