#include "dcgan/model/parallel.h"

#include <gtest/gtest.h>

#include "testing/threads.h"

namespace dcgan {
namespace {

using testing::IntraOpThreads;

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
