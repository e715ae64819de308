#include "dcgan/model/parallel.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace dcgan {
namespace {

// Sets LibTorch's intra-op thread count for a scope.
class IntraOpThreads {
 public:
  explicit IntraOpThreads(int n) : before_(torch::get_num_threads()) { torch::set_num_threads(n); }
  ~IntraOpThreads() { torch::set_num_threads(before_); }

 private:
  int before_;
};

// The model's own loops (the Winograd and GEMM forms' transforms) run on every intra-op thread in
// a build with OpenMP: without it, at::parallel_for in dcgan's code ran each on one thread.
TEST(ParallelTest, OwnLoopsRunOnEveryIntraOpThread) {
  {
    IntraOpThreads two(2);
#if DCGAN_WITH_OPENMP
    EXPECT_EQ(parallel_loop_threads(), 2);
#else
    EXPECT_EQ(parallel_loop_threads(), 1);
#endif
  }
  IntraOpThreads one(1);
  EXPECT_EQ(parallel_loop_threads(), 1);
}

}  // namespace
}  // namespace dcgan
