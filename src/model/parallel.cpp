#include "dcgan/model/parallel.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "cpu_features.h"

namespace dcgan {

int64_t parallel_loop_threads() {
  const int64_t threads = at::get_num_threads();
  // One item a thread: each that runs one marks its number.
  std::vector<char> ran(static_cast<size_t>(threads), 0);
  at::parallel_for(0, threads, 1, [&](int64_t begin, int64_t end) {
    const int tid = at::get_thread_num();
    if (tid >= 0 && tid < threads && begin < end) ran[static_cast<size_t>(tid)] = 1;
  });
  return std::count(ran.begin(), ran.end(), 1);
}

CpuCopy cpu_copy() {
  if (cpu_has_avx512()) return CpuCopy::kAvx512;
  if (cpu_has_avx2()) return CpuCopy::kAvx2;
  return CpuCopy::kBaseline;
}

CpuCopy limit_cpu_copy(CpuCopy widest) { return cpu_copy_cap.exchange(widest); }

const char* cpu_copy_name(CpuCopy copy) {
  switch (copy) {
    case CpuCopy::kAvx512:
      return "AVX-512";
    case CpuCopy::kAvx2:
      return "AVX2";
    case CpuCopy::kBaseline:
      break;
  }
  return "baseline";
}

}  // namespace dcgan
