// Where a step's time goes: LibTorch's profiler around a function, its operators' self time
// (their time less that of the operators they call) by name and input shapes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dcgan {

struct OperatorTime {
  std::string name;    // "aten::mm", or a scope of the model's own ("dcgan::winograd_...")
  std::string shapes;  // its inputs' shapes, "[128, 512], [512, 256]"; empty where it has none
  int64_t calls = 0;
  double self_ms = 0;  // over every call
};

// Runs fn under LibTorch's CPU profiler (with input shapes) on this thread and returns every
// operator's self time, largest first. Only one profile at a time per thread.
std::vector<OperatorTime> profile_operators(const std::function<void()>& fn);

// The table `dcgan bench --profile` prints: the `rows` largest entries per step (self ms divided
// by `steps`) with their share of the total self time, then one line for the rest and the total.
std::string format_profile(const std::vector<OperatorTime>& times, int64_t steps, size_t rows);

}  // namespace dcgan
