// Test helper: LibTorch's intra-op thread count set for a scope.
#pragma once

#include <ATen/Parallel.h>

namespace dcgan::testing {

// While alive, LibTorch computes on n CPU threads; the count before is restored on destruction.
class IntraOpThreads {
 public:
  explicit IntraOpThreads(int n) : before_(at::get_num_threads()) { at::set_num_threads(n); }
  ~IntraOpThreads() { at::set_num_threads(before_); }
  IntraOpThreads(const IntraOpThreads&) = delete;
  IntraOpThreads& operator=(const IntraOpThreads&) = delete;

 private:
  int before_;
};

}  // namespace dcgan::testing
