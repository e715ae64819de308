#include "dcgan/train/metrics.h"

#include <gtest/gtest.h>

#include "testing/temp_dir.h"

namespace dcgan {
namespace {

MetricsRow row(int64_t step) {
  MetricsRow r;
  r.step = step;
  r.epoch = 1;
  r.d_loss = 1.25;
  r.g_loss = 0.5;
  r.d_real = 0.75;
  r.d_fake = 0.125;
  r.images_per_sec = 150.25;
  return r;
}

TEST(MetricsTest, FormatsRows) {
  EXPECT_EQ(format_metrics_row(row(10)), "10,1,1.25,0.5,0.75,0.125,150.2");
}

TEST(MetricsTest, ResumeDropsRowsPastTheCheckpoint) {
  testing::TempDir dir;
  const std::string path = dir.file("metrics.csv");
  {
    MetricsLog log(path, -1);
    for (int64_t s : {10, 20, 30}) log.append(row(s));
  }
  // A torn last line, as a kill during a write leaves.
  testing::write_text(path, testing::read_text(path) + "40,1,1.2");
  {
    MetricsLog log(path, 20);
    log.append(row(30));
  }
  EXPECT_EQ(testing::read_text(path), std::string(kMetricsHeader) + "\n" + format_metrics_row(row(10)) +
                                          "\n" + format_metrics_row(row(20)) + "\n" +
                                          format_metrics_row(row(30)) + "\n");
}

}  // namespace
}  // namespace dcgan
