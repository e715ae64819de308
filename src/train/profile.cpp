#include "dcgan/train/profile.h"

#include <torch/csrc/autograd/profiler_legacy.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>

namespace dcgan {
namespace {

std::string format_shapes(const std::vector<std::vector<int64_t>>& shapes) {
  std::string out;
  for (const auto& shape : shapes) {
    if (!out.empty()) out += ", ";
    out += "[";
    for (size_t i = 0; i < shape.size(); ++i) {
      out += (i == 0 ? "" : ", ") + std::to_string(shape[i]);
    }
    out += "]";
  }
  return out;
}

}  // namespace

std::vector<OperatorTime> profile_operators(const std::function<void()>& fn) {
  namespace legacy = torch::autograd::profiler;
  namespace impl = torch::profiler::impl;
  legacy::enableProfilerLegacy(impl::ProfilerConfig(impl::ProfilerState::CPU,
                                                    /*report_input_shapes=*/true));
  try {
    fn();
  } catch (...) {
    legacy::disableProfilerLegacy();
    throw;
  }
  const legacy::thread_event_lists lists = legacy::disableProfilerLegacy();

  // Each thread's list holds its ranges as nested push/pop pairs.
  std::map<std::pair<std::string, std::string>, OperatorTime> by_key;
  for (const auto& events : lists) {
    struct Open {
      const legacy::LegacyEvent* push;
      double children_us;
    };
    std::vector<Open> stack;
    for (const auto& e : events) {
      if (e.kind() == legacy::EventKind::PushRange) {
        stack.push_back({&e, 0.0});
      } else if (e.kind() == legacy::EventKind::PopRange && !stack.empty()) {
        const Open open = stack.back();
        stack.pop_back();
        const double us = open.push->cpuElapsedUs(e);
        if (!stack.empty()) stack.back().children_us += us;
        const std::string shapes = format_shapes(open.push->shapes());
        auto& entry = by_key[{open.push->name(), shapes}];
        entry.name = open.push->name();
        entry.shapes = shapes;
        entry.calls += 1;
        entry.self_ms += std::max(0.0, us - open.children_us) / 1e3;
      }
    }
  }
  std::vector<OperatorTime> times;
  times.reserve(by_key.size());
  for (auto& item : by_key) times.push_back(std::move(item.second));
  std::stable_sort(times.begin(), times.end(), [](const OperatorTime& a, const OperatorTime& b) {
    return a.self_ms > b.self_ms;
  });
  return times;
}

std::string format_profile(const std::vector<OperatorTime>& times, int64_t steps, size_t rows) {
  double total = 0;
  for (const auto& t : times) total += t.self_ms;
  const double per_step = steps > 0 ? 1.0 / static_cast<double>(steps) : 1.0;
  const auto share = [&](double ms) { return total > 0 ? 100 * ms / total : 0.0; };
  std::string out = "   ms/step  share  calls/step  operator [input shapes]\n";
  char line[96];
  double shown = 0;
  for (size_t i = 0; i < times.size() && i < rows; ++i) {
    const auto& t = times[i];
    shown += t.self_ms;
    std::snprintf(line, sizeof line, "%10.2f %5.1f%% %11.1f  ", t.self_ms * per_step,
                  share(t.self_ms), static_cast<double>(t.calls) * per_step);
    out += line + t.name + (t.shapes.empty() ? "" : " [" + t.shapes + "]") + "\n";
  }
  std::snprintf(line, sizeof line, "%10.2f %5.1f%%  ", (total - shown) * per_step,
                share(total - shown));
  const size_t rest = times.size() - std::min(rows, times.size());
  out += std::string(line) + "the other " + std::to_string(rest) + " operators and shapes\n";
  std::snprintf(line, sizeof line, "%10.2f         total self time\n", total * per_step);
  out += line;
  return out;
}

}  // namespace dcgan
