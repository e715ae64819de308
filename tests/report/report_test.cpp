#include "dcgan/report/report.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "dcgan/config/config.h"
#include "dcgan/error.h"
#include "dcgan/io/checkpoint.h"
#include "dcgan/io/file.h"
#include "dcgan/io/png.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::write_text;

// The text of the element with id `id` ("<td id="x">TEXT</td>" => "TEXT"); "<missing>" if none.
std::string element_text(const std::string& html, const std::string& id) {
  const size_t at = html.find(" id=\"" + id + "\"");
  if (at == std::string::npos) return "<missing>";
  const size_t start = html.find('>', at) + 1;
  return html.substr(start, html.find('<', start) - start);
}

// The value of `attribute` in the tag that has id `id`.
std::string attribute(const std::string& html, const std::string& id, const std::string& name) {
  const size_t tag = html.rfind('<', html.find(" id=\"" + id + "\""));
  const size_t end = html.find('>', tag);
  const size_t at = html.find(" " + name + "=\"", tag);
  if (tag == std::string::npos || at == std::string::npos || at > end) return "<missing>";
  const size_t start = at + name.size() + 3;
  return html.substr(start, html.find('"', start) - start);
}

// A PNG of `width` x `height`, as the trainer writes them.
std::string png(int64_t width, int64_t height, int value = 90) {
  return encode_png(torch::full({height, width, 3}, value, torch::kUInt8));
}

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    run_ = dir_.file("my-run");
    fs::create_directories(run_ + "/samples");
    Config config;
    config.train.epochs = 3;
    write_text(run_ + "/config.yaml", "# <b>Tom & \"Jerry\"</b>\n" + to_yaml(config));
  }
  testing::TempDir dir_;
  std::string run_;
};

TEST(ParseCsvTest, KeepsTheTextOfWellFormedRowsAndCountsTheRest) {
  const CsvTable table = parse_csv(
      "step,epoch,d_loss\n2,1,0.123456789\r\nnot,a,row\n4,1\n\n6,2,1e-05\n8,2,0.5,extra\n10,2,nan");
  EXPECT_EQ(table.columns, (std::vector<std::string>{"step", "epoch", "d_loss"}));
  ASSERT_EQ(table.rows.size(), 3u);
  EXPECT_EQ(table.rows[0][2], "0.123456789");
  EXPECT_EQ(table.rows[1][2], "1e-05");
  EXPECT_EQ(table.skipped, 3);
  EXPECT_EQ(table.column("d_loss"), 2);
  EXPECT_EQ(table.column("g_loss"), -1);
  const auto losses = table.numbers("d_loss");
  ASSERT_EQ(losses.size(), 3u);
  EXPECT_DOUBLE_EQ(losses[1], 1e-5);
  EXPECT_TRUE(std::isnan(losses[2]));
  EXPECT_TRUE(table.numbers("g_loss").empty());
  EXPECT_TRUE(parse_csv("").rows.empty());
}

TEST(PngSizeTest, ReadsTheHeaderAndRefusesOtherBytes) {
  const auto size = png_size(png(7, 5));
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(size->width, 7u);
  EXPECT_EQ(size->height, 5u);
  EXPECT_FALSE(png_size("GIF89a not a png at all, long enough").has_value());
  EXPECT_FALSE(png_size(png(7, 5).substr(0, 20)).has_value());
  EXPECT_FALSE(png_size("").has_value());
}

TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
      {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(base64_encode(in), out) << in;
  EXPECT_EQ(base64_encode(std::string("\xff\x00\xfe", 3)), "/wD+");
}

TEST_F(ReportTest, PicksEvenlySpacedSamplesAndTheLast) {
  for (int i = 1; i <= 30; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "/samples/step_%06d.png", i * 10);
    write_text(run_ + name, "x");
  }
  write_text(run_ + "/samples/real.png", "x");
  write_text(run_ + "/samples/step_000990.png.tmp-42", "x");
  write_text(run_ + "/samples/step_abc.png", "x");
  const auto picked = pick_sample_files(run_ + "/samples", 13);
  ASSERT_EQ(picked.size(), 13u);
  EXPECT_EQ(picked.front().step, 10);
  EXPECT_EQ(picked.back().step, 300);
  EXPECT_EQ(picked.back().path, run_ + "/samples/step_000300.png");
  for (size_t i = 1; i < picked.size(); ++i) EXPECT_LT(picked[i - 1].step, picked[i].step);
  EXPECT_EQ(pick_sample_files(run_ + "/samples", 40).size(), 30u);
  EXPECT_TRUE(pick_sample_files(dir_.file("nowhere")).empty());
}

TEST_F(ReportTest, ShowsTheLastRowAsTheCsvWritesIt) {
  write_text(run_ + "/metrics.csv",
             "step,epoch,d_loss,g_loss,d_real,d_fake,images_per_sec\n"
             "2,1,1.38629436,0.693147182,0.5,0.49999997,100.0\n"
             "4,1,1.2,0.8,0.6,0.4,300.0\n"
             "garbage line\n"
             "6,2,1.10000002,0.912345678,0.612,0.3875,250.5\n");
  const std::string html = render_report(run_, RunStatus::kRunning);
  EXPECT_EQ(element_text(html, "last-step"), "6");
  EXPECT_EQ(element_text(html, "last-epoch"), "2");
  EXPECT_EQ(element_text(html, "total-epochs"), "of 3");
  EXPECT_EQ(element_text(html, "last-d-loss"), "1.10000002");
  EXPECT_EQ(element_text(html, "last-g-loss"), "0.912345678");
  EXPECT_EQ(element_text(html, "last-d-real"), "0.612");
  EXPECT_EQ(element_text(html, "last-d-fake"), "0.3875");
  EXPECT_EQ(element_text(html, "last-images-per-sec"), "250.5");
  EXPECT_EQ(element_text(html, "median-images-per-sec"), "250.5");
  EXPECT_EQ(element_text(html, "skipped-metrics"), "1 malformed line(s) of metrics.csv left out");
  EXPECT_NE(html.find("<svg id=\"plot-loss\""), std::string::npos);
  EXPECT_NE(html.find("<svg id=\"plot-d\""), std::string::npos);
  EXPECT_EQ(html.find("<svg id=\"plot-fid\""), std::string::npos) << "no quality.csv";
  EXPECT_NE(html.find("id=\"no-quality\""), std::string::npos);
  // Self-contained: nothing fetched, no script.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http:"), html.find("http://www.w3.org/2000/svg"));
  EXPECT_EQ(html.find("https:"), std::string::npos);
}

TEST_F(ReportTest, EscapesTheConfigText) {
  const std::string html = render_report(run_, RunStatus::kRunning);
  EXPECT_EQ(html.find("<b>Tom"), std::string::npos);
  EXPECT_NE(html.find("# &lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;\n"), std::string::npos);
  EXPECT_NE(html.find("  epochs: 3"), std::string::npos);
}

TEST_F(ReportTest, SaysEachStatus) {
  for (RunStatus status : {RunStatus::kRunning, RunStatus::kFinished, RunStatus::kStopped,
                           RunStatus::kDiverged, RunStatus::kFailed}) {
    const std::string name = run_status_name(status);
    const std::string html = render_report(run_, status);
    EXPECT_EQ(element_text(html, "status"), name);
    EXPECT_EQ(attribute(html, "status", "class"), "status status-" + name);
    EXPECT_NE(html.find("<title>dcgan run my-run (" + name + ")</title>"), std::string::npos);
    EXPECT_TRUE(parse_run_status(name) == status) << name;
  }
  EXPECT_FALSE(parse_run_status("Finished").has_value());
}

TEST_F(ReportTest, ARunWithNothingLoggedYetIsStillAPage) {
  const std::string html = render_report(run_ + "/", RunStatus::kRunning);
  EXPECT_EQ(element_text(html, "run-name"), "my-run");
  EXPECT_EQ(element_text(html, "no-metrics"), "No step logged yet (metrics.csv not written yet).");
  EXPECT_NE(html.find("id=\"no-samples\""), std::string::npos);
  EXPECT_NE(html.find("training images: not written yet"), std::string::npos);
  EXPECT_NE(html.find("<svg id=\"plot-loss\""), std::string::npos);
  EXPECT_NE(html.find("no data"), std::string::npos);
  EXPECT_EQ(html.substr(html.size() - 8), "</html>\n");
  write_text(run_ + "/metrics.csv", "step,epoch,d_loss,g_loss,d_real,d_fake,images_per_sec\n");
  EXPECT_EQ(element_text(render_report(run_, RunStatus::kRunning), "no-metrics"),
            "No step logged yet (metrics.csv has no rows).");
}

TEST_F(ReportTest, EmbedsTheGridsScaledUpFromTheirPngSize) {
  const std::string real = png(104, 70, 200);
  write_file_atomic(run_ + "/samples/real.png", real);
  write_file_atomic(run_ + "/samples/step_000004.png", png(104, 70, 10));
  write_file_atomic(run_ + "/samples/step_000008.png", png(410, 206, 20));
  write_text(run_ + "/samples/step_000006.png", "not a png");
  const std::string html = render_report(run_, RunStatus::kFinished);
  // The last grid large: 410 px wide => 2x for about 1200 px; 104 px => the 4x maximum.
  EXPECT_EQ(attribute(html, "last-sample", "width"), "820");
  EXPECT_EQ(attribute(html, "last-sample", "height"), "412");
  EXPECT_EQ(attribute(html, "last-sample", "data-step"), "8");
  EXPECT_EQ(attribute(html, "real-samples", "width"), "416");
  EXPECT_EQ(attribute(html, "real-samples", "height"), "280");
  EXPECT_EQ(attribute(html, "real-samples", "src"), "data:image/png;base64," + base64_encode(real));
  // The evolution: every step file, the broken one said as such.
  EXPECT_NE(html.find("class=\"evolution-sample\" data-step=\"4\""), std::string::npos);
  EXPECT_NE(html.find("class=\"evolution-sample\" data-step=\"8\""), std::string::npos);
  EXPECT_NE(html.find(run_ + "/samples/step_000006.png is not a PNG file"), std::string::npos);
  EXPECT_NE(html.find("image-rendering: pixelated"), std::string::npos);
}

TEST_F(ReportTest, QualityCurvesAndTheBestFid) {
  write_text(run_ + "/metrics.csv",
             "step,epoch,d_loss,g_loss,d_real,d_fake,images_per_sec\n3,1,1,1,0.5,0.5,10.0\n");
  write_text(run_ + "/quality.csv",
             "step,num,fid,kid_mean,kid_std,precision,recall,density,coverage,seconds\n"
             "3,30,250.125,0.25,0.01,0.1,0.2,0.3,0.4,1.5\n"
             "6,30,190.5,0.125,0.01,0.1,0.2,0.3,0.4,1.5\n"
             "9,30,nan,nan,0.01,0.1,0.2,0.3,0.4,1.5\n");
  const std::string html = render_report(run_, RunStatus::kFinished);
  EXPECT_NE(html.find("<svg id=\"plot-fid\""), std::string::npos);
  EXPECT_NE(html.find("<svg id=\"plot-kid\""), std::string::npos);
  EXPECT_EQ(element_text(html, "last-fid"), "nan");
  EXPECT_EQ(element_text(html, "last-fid-step"), "9");
  EXPECT_EQ(element_text(html, "best-fid"), "190.5");
  EXPECT_EQ(element_text(html, "best-fid-step"), "6");
}

TEST_F(ReportTest, NotARunDirectoryIsAConfigError) {
  try {
    render_report(dir_.file("missing"), RunStatus::kRunning);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), dir_.file("missing") + ": no such run directory");
  }
  try {
    read_run_status(dir_.path().string());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), dir_.path().string() + ": not a run directory (no config.yaml)");
  }
}

TEST_F(ReportTest, WriteReportRecordsTheStatusReadBack) {
  write_report(run_, RunStatus::kDiverged);
  EXPECT_EQ(read_text(run_ + "/status"), "diverged\n");
  EXPECT_EQ(read_text(run_ + "/report.html"), render_report(run_, RunStatus::kDiverged));
  EXPECT_EQ(read_run_status(run_), RunStatus::kDiverged);
  write_text(run_ + "/status", "exploded\n");
  EXPECT_THROW(read_run_status(run_), ConfigError);
}

TEST_F(ReportTest, WithoutAStatusFileTheCheckpointSays) {
  EXPECT_EQ(read_run_status(run_), RunStatus::kStopped) << "no checkpoint";
  Config config;
  config.train.epochs = 3;
  for (int64_t epoch : {2, 3}) {
    CheckpointWriter writer(CheckpointKind::kTraining);
    writer.write_string("config", to_yaml(config));
    writer.write_int("epoch", epoch);
    writer.save(run_ + "/checkpoint.pt");
    EXPECT_EQ(read_run_status(run_), epoch == 3 ? RunStatus::kFinished : RunStatus::kStopped)
        << "epoch " << epoch;
  }
}

}  // namespace
}  // namespace dcgan
