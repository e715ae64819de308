#include "dcgan/train/profile.h"

#include <ATen/record_function.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace dcgan {
namespace {

const OperatorTime* find(const std::vector<OperatorTime>& times, const std::string& name,
                         const std::string& shapes) {
  for (const auto& t : times) {
    if (t.name == name && t.shapes == shapes) return &t;
  }
  return nullptr;
}

// Calls are counted per name and input shapes, and an operator's self time leaves out the
// operators it calls: the sleep is the scope's own time, not the products'.
TEST(ProfileTest, CountsCallsByShapesAndKeepsSelfTimeApart) {
  const auto a = torch::ones({8, 4});
  const auto b = torch::ones({4, 16});
  const auto times = profile_operators([&] {
    RECORD_USER_SCOPE("dcgan::test_scope");
    for (int i = 0; i < 3; ++i) at::mm(a, b);
    at::mm(b.t(), a.t());
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  });
  const OperatorTime* three = find(times, "aten::mm", "[8, 4], [4, 16]");
  ASSERT_NE(three, nullptr);
  EXPECT_EQ(three->calls, 3);
  const OperatorTime* one = find(times, "aten::mm", "[16, 4], [4, 8]");
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one->calls, 1);
  const OperatorTime* scope = find(times, "dcgan::test_scope", "");
  ASSERT_NE(scope, nullptr);
  EXPECT_EQ(scope->calls, 1);
  EXPECT_GE(scope->self_ms, 30.0);
  EXPECT_LT(three->self_ms + one->self_ms, scope->self_ms);
  for (size_t i = 1; i < times.size(); ++i) EXPECT_GE(times[i - 1].self_ms, times[i].self_ms);
}

// A function that throws leaves the profiler off: the next profile starts afresh.
TEST(ProfileTest, AThrowingFunctionStopsTheProfiler) {
  EXPECT_THROW(profile_operators([] { throw std::runtime_error("stop"); }), std::runtime_error);
  const auto x = torch::ones({2, 2});
  const auto times = profile_operators([&] { at::mm(x, x); });
  const OperatorTime* mm = find(times, "aten::mm", "[2, 2], [2, 2]");
  ASSERT_NE(mm, nullptr);
  EXPECT_EQ(mm->calls, 1);
}

TEST(ProfileTest, TableIsPerStepWithSharesTheRestAndTheTotal) {
  const std::vector<OperatorTime> times = {{"aten::bmm", "[9, 512, 512], [9, 512, 256]", 8, 60.0},
                                           {"dcgan::winograd_output_tiles", "", 4, 30.0},
                                           {"aten::fill_", "[8]", 2, 6.0},
                                           {"aten::add", "[8], [8]", 2, 4.0}};
  const std::string table = format_profile(times, 2, 2);
  EXPECT_EQ(table,
            "   ms/step  share  calls/step  operator [input shapes]\n"
            "     30.00  60.0%         4.0  aten::bmm [[9, 512, 512], [9, 512, 256]]\n"
            "     15.00  30.0%         2.0  dcgan::winograd_output_tiles\n"
            "      5.00  10.0%  the other 2 operators and shapes\n"
            "     50.00         total self time\n");
}

}  // namespace
}  // namespace dcgan
