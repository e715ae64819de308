// The run report through the real executable: written by `dcgan train`, rebuilt by
// `dcgan report`, and opened in a headless Chromium as a person would see it.
#include <gtest/gtest.h>
#include <stb_image.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "dcgan/error.h"
#include "testing/process.h"
#include "testing/svhn_writer.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

namespace fs = std::filesystem;
using Result = testing::ProcessResult;
using testing::last_line;
using testing::read_text;
using testing::run_dcgan;

// The cells of metrics.csv's last row.
std::vector<std::string> last_csv_row(const std::string& path) {
  std::istringstream in(read_text(path));
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  std::vector<std::string> cells;
  std::istringstream row(last);
  for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
  return cells;
}

// The text of the element with id `id`; "<missing>" if none.
std::string element_text(const std::string& html, const std::string& id) {
  const size_t at = html.find(" id=\"" + id + "\"");
  if (at == std::string::npos) return "<missing>";
  const size_t start = html.find('>', at) + 1;
  return html.substr(start, html.find('<', start) - start);
}

// The start tag of the element with id `id`; empty if none.
std::string start_tag(const std::string& html, const std::string& id) {
  const size_t at = html.find(" id=\"" + id + "\"");
  if (at == std::string::npos) return "";
  const size_t tag = html.rfind('<', at);
  return html.substr(tag, html.find('>', at) - tag + 1);
}

// The children of the <svg id="id"> element.
std::string svg_element(const std::string& html, const std::string& id) {
  const size_t at = html.find("<svg id=\"" + id + "\"");
  if (at == std::string::npos) return "";
  return html.substr(at, html.find("</svg>", at) - at);
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = 0; (at = text.find(needle, at)) != std::string::npos; at += needle.size()) ++n;
  return n;
}

// Chromium from Debian's `chromium` package (scripts/setup.sh), or "" when it is not installed.
std::string find_chromium() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    for (const char* name : {"chromium", "chromium-browser"}) {
      const std::string exe = dir + "/" + name;
      if (::access(exe.c_str(), X_OK) == 0) return exe;
    }
  }
  return "";
}

class ReportCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DCGAN_SKIP_WITHOUT_MATIO();
    testing::write_random_svhn_mat(dir_.file("train.mat"), 40, 5, testing::MatVersion::kV5);
    // 5 steps per epoch, 10 in all; rows at 2, 4, ..., 10; grids at 4, 8 and the last step.
    testing::write_text(dir_.file("tiny.yaml"),
                        "data:\n  train: " + dir_.file("train.mat") +
                            "\nmodel:\n  g_channels: 16\n  d_channels: 4\n"
                            "train:\n  epochs: 2\n  batch_size: 8\n  print_every: 2\n  show_every: 4\n"
                            "sample:\n  grid: 2x3\neval:\n  every: 0\n"
                            "run:\n  out_dir: " + dir_.file("runs") + "\n  device: cpu\n  threads: 2\n");
  }

  // Trains the tiny run `name` with `extra` arguments; its directory.
  std::string train(const std::string& name, const std::string& extra = "") {
    Result result = run_dcgan("train --config " + dir_.file("tiny.yaml") + " --name " + name + extra);
    EXPECT_EQ(result.code, 0) << result.output;
    return dir_.file("runs/" + name);
  }

  testing::TempDir dir_;
};

TEST_F(ReportCliTest, TrainingWritesItAndReportRebuildsTheSamePage) {
  const std::string run = train("r");
  ASSERT_TRUE(fs::exists(run + "/report.html"));
  EXPECT_EQ(read_text(run + "/status"), "finished\n");
  const std::string written = read_text(run + "/report.html");
  EXPECT_EQ(element_text(written, "status"), "finished");

  Result rebuilt = run_dcgan("report " + run);
  ASSERT_EQ(rebuilt.code, 0) << rebuilt.output;
  EXPECT_EQ(rebuilt.output, "wrote " + run + "/report.html (finished)\n");
  EXPECT_TRUE(read_text(run + "/report.html") == written) << "the rebuilt page differs";

  // A run without a status file (an older dcgan's): its checkpoint says all epochs are done.
  fs::remove(run + "/status");
  Result inferred = run_dcgan("report " + run);
  ASSERT_EQ(inferred.code, 0) << inferred.output;
  EXPECT_EQ(element_text(read_text(run + "/report.html"), "status"), "finished");
}

TEST_F(ReportCliTest, AStoppedRunSaysSoAndResumingFinishesIt) {
  const std::string run = train("s", " --max-steps 3");
  EXPECT_EQ(read_text(run + "/status"), "stopped\n");
  const std::string html = read_text(run + "/report.html");
  EXPECT_EQ(element_text(html, "status"), "stopped");
  EXPECT_EQ(element_text(html, "last-step"), "2");
  Result resume = run_dcgan("train --resume " + run + " --set train.max_steps=0");
  ASSERT_EQ(resume.code, 0) << resume.output;
  EXPECT_EQ(element_text(read_text(run + "/report.html"), "status"), "finished");
  EXPECT_EQ(element_text(read_text(run + "/report.html"), "last-step"), "10");
}

TEST_F(ReportCliTest, ADivergedRunSaysSo) {
  Result result = run_dcgan("train --config " + dir_.file("tiny.yaml") + " --name d --set train.lr=1e30");
  EXPECT_EQ(result.code, kExitDiverged) << result.output;
  const std::string run = dir_.file("runs/d");
  EXPECT_EQ(read_text(run + "/status"), "diverged\n");
  EXPECT_EQ(element_text(read_text(run + "/report.html"), "status"), "diverged");
}

TEST_F(ReportCliTest, NotARunDirectoryGetsOneLine) {
  const std::string missing = dir_.file("no-such-run");
  Result result = run_dcgan("report " + missing);
  EXPECT_EQ(result.code, kExitUsage) << result.output;
  EXPECT_EQ(result.output, "dcgan: error: " + missing + ": no such run directory\n");
  Result not_run = run_dcgan("report " + dir_.path().string());
  EXPECT_EQ(not_run.code, kExitUsage) << not_run.output;
  EXPECT_EQ(last_line(not_run.output),
            "dcgan: error: " + dir_.path().string() + ": not a run directory (no config.yaml)");
  EXPECT_FALSE(fs::exists(dir_.file("report.html")));
  Result no_arg = run_dcgan("report");
  EXPECT_EQ(no_arg.code, kExitUsage) << no_arg.output;
}

// Runs Chromium headless on `url` with `flags`, its own profile in `profile`, stdout to `out`.
// Its stderr (D-Bus and GPU noise on a server) goes to `out`.log, shown only on failure.
void run_chromium(const std::string& chromium, const std::string& profile,
                  const std::string& flags, const std::string& url, const std::string& out) {
  const std::string command = "exec " + chromium +
                              " --headless --no-sandbox --disable-gpu --no-first-run"
                              " --disable-extensions --user-data-dir=" + profile + " " + flags +
                              " " + url + " > " + out + " 2> " + out + ".log";
  testing::Process process("/bin/sh", {"-c", command});
  const auto result = process.wait(std::chrono::seconds(90));
  ASSERT_TRUE(result.has_value()) << "chromium did not finish in 90 s: " << command;
  ASSERT_EQ(result->code, 0) << command << "\n" << read_text(out + ".log");
}

struct Rgb {
  std::set<uint32_t> colors;
  int width = 0, height = 0;
};

// The distinct colours of a PNG, white left out (the grids' padding, the page's background).
Rgb png_colors(const std::string& path) {
  Rgb rgb;
  int channels = 0;
  unsigned char* data = stbi_load(path.c_str(), &rgb.width, &rgb.height, &channels, 3);
  if (data == nullptr) return rgb;
  for (size_t i = 0; i < static_cast<size_t>(rgb.width) * rgb.height; ++i) {
    const uint32_t color = data[3 * i] << 16 | data[3 * i + 1] << 8 | data[3 * i + 2];
    if (color != 0xffffff) rgb.colors.insert(color);
  }
  stbi_image_free(data);
  return rgb;
}

// The share of `wanted`'s colours found in `seen`.
double share_found(const std::set<uint32_t>& wanted, const std::set<uint32_t>& seen) {
  size_t found = 0;
  for (uint32_t c : wanted) found += seen.count(c);
  return wanted.empty() ? 0 : static_cast<double>(found) / static_cast<double>(wanted.size());
}

TEST_F(ReportCliTest, ChromiumShowsThePlotsImagesAndNumbers) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (scripts/setup.sh installs it)";
  const std::string run = train("r");
  const std::string url = "file://" + run + "/report.html";

  // The DOM after loading and layout.
  const std::string dom_path = dir_.file("dom.html");
  ASSERT_NO_FATAL_FAILURE(run_chromium(chromium, dir_.file("profile"), "--dump-dom", url, dom_path));
  const std::string dom = read_text(dom_path);
  ASSERT_NE(dom.find("</html>"), std::string::npos) << dom;
  EXPECT_NE(dom.find("<title>dcgan run r (finished)</title>"), std::string::npos);
  EXPECT_EQ(element_text(dom, "status"), "finished");

  // The curves: one line per series with a point per metrics.csv row (steps 2, 4, ..., 10).
  for (const char* id : {"plot-loss", "plot-d"}) {
    const std::string svg = svg_element(dom, id);
    ASSERT_FALSE(svg.empty()) << id << " missing:\n" << dom;
    EXPECT_NE(svg.find("viewBox=\"0 0 640.00 300.00\""), std::string::npos) << svg;
    EXPECT_EQ(count(svg, "<polyline"), 2u) << svg;
    const std::regex points("points=\"([^\"]*)\"");
    for (std::sregex_iterator it(svg.begin(), svg.end(), points), end; it != end; ++it) {
      EXPECT_EQ(count((*it)[1], ","), 5u) << id << ": " << (*it)[1];
    }
  }
  EXPECT_TRUE(svg_element(dom, "plot-fid").empty()) << "eval.every is 0: no FID plot";

  // The numbers are metrics.csv's last row, as written.
  const auto row = last_csv_row(run + "/metrics.csv");
  ASSERT_EQ(row.size(), 7u);
  EXPECT_EQ(element_text(dom, "last-step"), "10");
  EXPECT_EQ(element_text(dom, "last-step"), row[0]);
  EXPECT_EQ(element_text(dom, "last-epoch"), row[1]);
  EXPECT_EQ(element_text(dom, "last-d-loss"), row[2]);
  EXPECT_EQ(element_text(dom, "last-g-loss"), row[3]);
  EXPECT_EQ(element_text(dom, "last-d-real"), row[4]);
  EXPECT_EQ(element_text(dom, "last-d-fake"), row[5]);
  EXPECT_EQ(element_text(dom, "last-images-per-sec"), row[6]);

  // The grids: 2x3 cells of 32 pixels with 2 of padding, 104x70, shown 4 times as large; the
  // evolution holds the grids of steps 4, 8 and 10.
  for (const char* id : {"last-sample", "real-samples"}) {
    const std::string img = start_tag(dom, id);
    EXPECT_NE(img.find(" width=\"416\""), std::string::npos) << img.substr(0, 200);
    EXPECT_NE(img.find(" height=\"280\""), std::string::npos) << img.substr(0, 200);
    EXPECT_NE(img.find(" src=\"data:image/png;base64,"), std::string::npos) << img.substr(0, 200);
  }
  EXPECT_EQ(count(dom, "class=\"evolution-sample\""), 3u);
  EXPECT_NE(dom.find("class=\"evolution-sample\" data-step=\"10\""), std::string::npos);

  // What a person sees: the pictures decoded and drawn (scaled by whole factors without
  // smoothing, so their exact colours are on screen) and the curves' colours.
  const std::string shot = dir_.file("shot.png");
  ASSERT_NO_FATAL_FAILURE(run_chromium(
      chromium, dir_.file("profile"),
      "--hide-scrollbars --force-color-profile=srgb --force-device-scale-factor=1 "
      "--window-size=1280,4000 --screenshot=" + shot,
      url, dir_.file("shot.log")));
  const Rgb screen = png_colors(shot);
  ASSERT_EQ(screen.width, 1280) << read_text(dir_.file("shot.log.log"));
  const Rgb real = png_colors(run + "/samples/real.png");
  const Rgb last = png_colors(run + "/samples/step_000010.png");
  ASSERT_GT(real.colors.size(), 50u);
  EXPECT_GT(share_found(real.colors, screen.colors), 0.95) << "the real grid is not on screen";
  EXPECT_GT(share_found(last.colors, screen.colors), 0.95) << "the last grid is not on screen";
  for (uint32_t color : {0x1f77b4u, 0xff7f0eu, 0xd62728u}) {
    EXPECT_EQ(screen.colors.count(color), 1u) << "no pixel of colour " << std::hex << color;
  }
}

}  // namespace
}  // namespace dcgan
