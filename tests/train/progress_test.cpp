#include "dcgan/train/progress.h"

#include <gtest/gtest.h>

namespace dcgan {
namespace {

TEST(ProgressTest, FormatsDurations) {
  const std::pair<double, const char*> cases[] = {
      {0, "0s"}, {42.4, "42s"}, {59.6, "1m00s"}, {185, "3m05s"}, {3720, "1h02m"}, {90000, "25h00m"}};
  for (const auto& [seconds, text] : cases) EXPECT_EQ(format_duration(seconds), text) << seconds;
}

}  // namespace
}  // namespace dcgan
