#include "dcgan/model/parallel.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "testing/cpu_copies.h"
#include "testing/threads.h"

namespace dcgan {
namespace {

using testing::CpuCopyCap;
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

// The cap narrows the copies the loops take, never widens them past the CPU's widest, and is
// restored; the kernels' tests run each copy under it (testing/cpu_copies.h).
TEST(ParallelTest, CopiesFollowTheCap) {
  const CpuCopy widest = cpu_copy();
  {
    CpuCopyCap cap(CpuCopy::kBaseline);
    EXPECT_EQ(cpu_copy(), CpuCopy::kBaseline);
    EXPECT_EQ(limit_cpu_copy(CpuCopy::kAvx2), CpuCopy::kBaseline);
    EXPECT_EQ(cpu_copy(), std::min(widest, CpuCopy::kAvx2));
    EXPECT_EQ(limit_cpu_copy(CpuCopy::kAvx512), CpuCopy::kAvx2);
    EXPECT_EQ(cpu_copy(), widest);
    limit_cpu_copy(CpuCopy::kBaseline);
  }
  EXPECT_EQ(cpu_copy(), widest);
  EXPECT_STREQ(cpu_copy_name(CpuCopy::kBaseline), "baseline");
  EXPECT_STREQ(cpu_copy_name(CpuCopy::kAvx2), "AVX2");
  EXPECT_STREQ(cpu_copy_name(CpuCopy::kAvx512), "AVX-512");
}

}  // namespace
}  // namespace dcgan
