#include "dcgan/model/parallel.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

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

}  // namespace dcgan
