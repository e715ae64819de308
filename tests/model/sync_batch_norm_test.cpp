#include "dcgan/model/sync_batch_norm.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace dcgan {
namespace {

torch::nn::BatchNorm2d make_bn() {
  torch::nn::BatchNorm2d bn(torch::nn::BatchNorm2dOptions(3).eps(1e-5).momentum(0.1));
  torch::NoGradGuard no_grad;
  bn->weight.uniform_(0.5, 1.5);
  bn->bias.uniform_(-0.5, 0.5);
  return bn;
}

// Processes simulated by threads: a sum over `n` participants, each blocking until all arrived.
class ThreadGroup {
 public:
  explicit ThreadGroup(int n) : n_(n) {}
  BatchNormSync sync() {
    BatchNormSync sync;
    sync.world_size = n_;
    sync.all_reduce_sum = [this](torch::Tensor& t) { all_reduce_sum(t); };
    return sync;
  }

 private:
  void all_reduce_sum(torch::Tensor& t) {
    std::unique_lock<std::mutex> lock(mutex_);
    const int generation = generation_;
    sum_ = arrived_ == 0 ? t.clone() : sum_ + t;
    if (++arrived_ == n_) {
      result_ = sum_;
      arrived_ = 0;
      ++generation_;
      done_.notify_all();
    } else {
      done_.wait(lock, [&] { return generation_ != generation; });
    }
    t.copy_(result_);
  }

  int n_;
  std::mutex mutex_;
  std::condition_variable done_;
  int arrived_ = 0;
  int generation_ = 0;
  torch::Tensor sum_, result_;
};

TEST(SyncBatchNormTest, OneProcessIsBatchNorm) {
  torch::manual_seed(1);
  auto plain = make_bn();
  auto synced = make_bn();
  {
    torch::NoGradGuard no_grad;
    synced->weight.copy_(plain->weight);
    synced->bias.copy_(plain->bias);
  }
  BatchNormSync alone;
  alone.all_reduce_sum = [](torch::Tensor&) {};
  const auto x = torch::randn({8, 3, 4, 4}) * 3 + 1;
  const auto x1 = x.clone().requires_grad_(true);
  const auto x2 = x.clone().requires_grad_(true);
  const auto upstream = torch::randn({8, 3, 4, 4});
  (plain->forward(x1) * upstream).sum().backward();
  (sync_batch_norm(x2, *synced, alone) * upstream).sum().backward();
  EXPECT_TRUE(torch::allclose(x1.grad(), x2.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(plain->weight.grad(), synced->weight.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(plain->bias.grad(), synced->bias.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(plain->running_mean, synced->running_mean, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(plain->running_var, synced->running_var, 1e-5, 1e-6));
  // Eval mode: the running statistics, as the plain layer.
  plain->eval();
  synced->eval();
  EXPECT_TRUE(torch::allclose(plain->forward(x), sync_batch_norm(x, *synced, alone), 1e-5, 1e-6));
}

// Two halves of a batch, each normalised with the whole batch's statistics, give the whole
// batch's output and input gradients; the parameter gradients sum to the whole batch's.
TEST(SyncBatchNormTest, TwoHalvesAreTheWholeBatch) {
  torch::manual_seed(2);
  auto whole = make_bn();
  std::vector<torch::nn::BatchNorm2d> halves{make_bn(), make_bn()};
  {
    torch::NoGradGuard no_grad;
    for (auto& half : halves) {
      half->weight.copy_(whole->weight);
      half->bias.copy_(whole->bias);
    }
  }
  const auto x = torch::randn({8, 3, 4, 4}) * 2 - 1;
  const auto upstream = torch::randn({8, 3, 4, 4});
  const auto xw = x.clone().requires_grad_(true);
  const auto yw = whole->forward(xw);
  (yw * upstream).sum().backward();

  ThreadGroup group(2);
  std::vector<torch::Tensor> xs(2), ys(2);
  std::vector<std::thread> threads;
  for (int p = 0; p < 2; ++p) {
    threads.emplace_back([&, p] {
      const BatchNormSync sync = group.sync();
      xs[p] = x.slice(0, 4 * p, 4 * p + 4).clone().requires_grad_(true);
      ys[p] = sync_batch_norm(xs[p], *halves[p], sync);
      (ys[p] * upstream.slice(0, 4 * p, 4 * p + 4)).sum().backward();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(torch::allclose(torch::cat({ys[0], ys[1]}).detach(), yw.detach(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(torch::cat({xs[0].grad(), xs[1].grad()}), xw.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(halves[0]->weight.grad() + halves[1]->weight.grad(),
                              whole->weight.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(halves[0]->bias.grad() + halves[1]->bias.grad(), whole->bias.grad(),
                              1e-4, 1e-5));
  for (int p = 0; p < 2; ++p) {
    EXPECT_TRUE(torch::allclose(halves[p]->running_mean, whole->running_mean, 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(halves[p]->running_var, whole->running_var, 1e-5, 1e-6));
  }
}

}  // namespace
}  // namespace dcgan
