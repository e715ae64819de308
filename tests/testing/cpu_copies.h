// Test helper: each copy of dcgan's own CPU loops that this CPU runs, checked in turn.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "dcgan/model/parallel.h"

namespace dcgan::testing {

// While alive, dcgan's own CPU loops run no copy wider than `widest`; the cap before is restored
// on destruction.
class CpuCopyCap {
 public:
  explicit CpuCopyCap(CpuCopy widest) : before_(limit_cpu_copy(widest)) {}
  ~CpuCopyCap() { limit_cpu_copy(before_); }
  CpuCopyCap(const CpuCopyCap&) = delete;
  CpuCopyCap& operator=(const CpuCopyCap&) = delete;

 private:
  CpuCopy before_;
};

// Runs check() once for each copy this CPU runs, narrowest first, under that copy's cap and with
// its name on every failure: a CPU with AVX-512 checks the baseline, AVX2 and AVX-512 copies.
template <class Check>
void for_each_cpu_copy(const Check& check) {
  const int widest = static_cast<int>(cpu_copy());
  for (int c = 0; c <= widest; ++c) {
    const auto copy = static_cast<CpuCopy>(c);
    CpuCopyCap cap(copy);
    SCOPED_TRACE(std::string("loops' copy: ") + cpu_copy_name(copy));
    check();
  }
}

}  // namespace dcgan::testing
