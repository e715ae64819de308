#include "dcgan/report/svg.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace dcgan {
namespace {

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = 0; (at = text.find(needle, at)) != std::string::npos; at += needle.size()) ++n;
  return n;
}

// Every (x, y) of the polylines' points and the circles' centres, in document order.
std::vector<std::pair<double, double>> drawn_points(const std::string& svg) {
  std::vector<std::pair<double, double>> points;
  const std::regex polyline("points=\"([^\"]*)\"");
  for (std::sregex_iterator it(svg.begin(), svg.end(), polyline), end; it != end; ++it) {
    const std::string list = (*it)[1];
    const std::regex pair("(-?[0-9.]+),(-?[0-9.]+)");
    for (std::sregex_iterator p(list.begin(), list.end(), pair); p != end; ++p) {
      points.emplace_back(std::stod((*p)[1]), std::stod((*p)[2]));
    }
  }
  const std::regex circle("cx=\"(-?[0-9.]+)\" cy=\"(-?[0-9.]+)\"");
  for (std::sregex_iterator it(svg.begin(), svg.end(), circle), end; it != end; ++it) {
    points.emplace_back(std::stod((*it)[1]), std::stod((*it)[2]));
  }
  return points;
}

Plot one_series(std::vector<double> x, std::vector<double> y) {
  return Plot{"plot-test", "Test", "step", {PlotSeries{"loss", "#123456", std::move(x), std::move(y)}}};
}

struct TickCase {
  double lo, hi;
  std::vector<double> expected;
};

TEST(NiceTicksTest, RoundValuesCoveringTheRange) {
  const TickCase cases[] = {
      {0, 9.3, {0, 2, 4, 6, 8, 10}},
      {0.1, 0.9, {0, 0.2, 0.4, 0.6, 0.8, 1.0}},
      {2, 10, {2, 4, 6, 8, 10}},
      {-3, 3, {-3, -2, -1, 0, 1, 2, 3}},
      {100, 1000, {0, 200, 400, 600, 800, 1000}},
  };
  for (const auto& c : cases) {
    const auto ticks = nice_ticks(c.lo, c.hi, 5);
    ASSERT_EQ(ticks.size(), c.expected.size()) << c.lo << ".." << c.hi;
    for (size_t i = 0; i < ticks.size(); ++i) {
      EXPECT_NEAR(ticks[i], c.expected[i], 1e-12) << c.lo << ".." << c.hi << " tick " << i;
    }
  }
}

TEST(NiceTicksTest, OneValueOrNonFiniteStillGivesARange) {
  const auto around_five = nice_ticks(5, 5, 5);
  ASSERT_GE(around_five.size(), 2u);
  EXPECT_LT(around_five.front(), 5);
  EXPECT_GT(around_five.back(), 5);
  const auto zero = nice_ticks(0, 0, 5);
  EXPECT_LT(zero.front(), 0);
  EXPECT_GT(zero.back(), 0);
  EXPECT_EQ(nice_ticks(NAN, 1, 5), (std::vector<double>{0, 1}));
  EXPECT_EQ(nice_ticks(0, INFINITY, 5), (std::vector<double>{0, 1}));
}

TEST(FormatTickTest, AsManyDecimalsAsTheSpacingNeeds) {
  EXPECT_EQ(format_tick(0.4, 0.2), "0.4");
  EXPECT_EQ(format_tick(250, 50), "250");
  EXPECT_EQ(format_tick(0, 0.05), "0.00");
  EXPECT_EQ(format_tick(-0.0, 1), "0");
  EXPECT_EQ(format_tick(2e9, 1e9), "2e+09");
}

TEST(RenderSvgPlotTest, PointsLandWhereTheAxesSay) {
  // Ticks 0..10 on both axes: (5, 5) is the middle of the plot area, (0, 0) its lower left
  // corner and (10, 10) its upper right one.
  const std::string svg = render_svg_plot(one_series({0, 5, 10}, {0, 5, 10}));
  EXPECT_NE(svg.find("points=\"64.00,256.00 344.00,146.00 624.00,36.00\""), std::string::npos)
      << svg;
  EXPECT_NE(svg.find("<svg id=\"plot-test\""), std::string::npos);
  EXPECT_NE(svg.find("viewBox=\"0 0 640.00 300.00\""), std::string::npos);
  EXPECT_NE(svg.find("data-series=\"loss\""), std::string::npos);
  EXPECT_NE(svg.find(">10</text>"), std::string::npos) << "a tick label at 10";
  EXPECT_NE(svg.find(">loss</text>"), std::string::npos) << "the legend";
}

TEST(RenderSvgPlotTest, EveryPointIsInsideThePlotAreaInOrder) {
  std::vector<double> x, y;
  for (int i = 0; i < 57; ++i) {
    x.push_back(3 + 7 * i);
    y.push_back(0.3 + std::sin(i * 0.7) * 2.1);
  }
  Plot plot = one_series(x, y);
  plot.series.push_back(PlotSeries{"other", "#654321", x, std::vector<double>(x.size(), -40)});
  const auto points = drawn_points(render_svg_plot(plot));
  ASSERT_EQ(points.size(), 2 * x.size());
  for (const auto& [px, py] : points) {
    EXPECT_GE(px, kPlotLeft);
    EXPECT_LE(px, kPlotRight);
    EXPECT_GE(py, kPlotTop);
    EXPECT_LE(py, kPlotBottom);
  }
  for (size_t i = 1; i < x.size(); ++i) {
    EXPECT_GT(points[i].first, points[i - 1].first) << "x grows to the right";
    // Larger values are higher up (smaller SVG y).
    if (std::abs(y[i] - y[i - 1]) > 0.05) {
      EXPECT_EQ(y[i] > y[i - 1], points[i].second < points[i - 1].second) << i;
    }
  }
}

TEST(RenderSvgPlotTest, NonFinitePointsBreakTheLineWithoutBreakingTheSvg) {
  const std::string svg = render_svg_plot(
      one_series({1, 2, 3, 4, 5, 6, 7}, {1, NAN, 2, INFINITY, 3, 4, -INFINITY}));
  std::string lower = svg;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  EXPECT_EQ(lower.find("nan"), std::string::npos) << svg;
  EXPECT_EQ(lower.find("inf"), std::string::npos) << svg;
  EXPECT_EQ(count(svg, "<polyline"), 1u) << "3, 4 joined" << svg;
  EXPECT_EQ(count(svg, "<circle"), 2u) << "1 and 2 alone" << svg;
  EXPECT_EQ(drawn_points(svg).size(), 4u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
}

TEST(RenderSvgPlotTest, NothingFiniteSaysNoData) {
  for (const auto& plot : {one_series({}, {}), one_series({1, 2}, {NAN, NAN})}) {
    const std::string svg = render_svg_plot(plot);
    EXPECT_NE(svg.find("no data"), std::string::npos) << svg;
    EXPECT_EQ(svg.find("<polyline"), std::string::npos) << svg;
    EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  }
}

TEST(RenderSvgPlotTest, LongSeriesAreThinnedButKeepTheirEnds) {
  std::vector<double> x, y;
  for (size_t i = 0; i < 3 * kMaxPlotPoints + 5; ++i) {
    x.push_back(static_cast<double>(i));
    y.push_back(static_cast<double>(i % 7));
  }
  const auto points = drawn_points(render_svg_plot(one_series(x, y)));
  EXPECT_LE(points.size(), kMaxPlotPoints + 1);
  EXPECT_GT(points.size(), kMaxPlotPoints / 2);
  EXPECT_DOUBLE_EQ(points.front().first, kPlotLeft);
  // The last point, x = 6004, sits at its place on the 0..7000 axis.
  EXPECT_NEAR(points.back().first, kPlotLeft + 6004.0 / 7000 * (kPlotRight - kPlotLeft), 0.01);
}

TEST(HtmlEscapeTest, EscapesMarkupAndQuotes) {
  EXPECT_EQ(html_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(html_escape("plain"), "plain");
  Plot plot = one_series({1}, {1});
  plot.title = "</svg><script>alert(1)</script>";
  plot.series[0].name = "\"><b>";
  const std::string svg = render_svg_plot(plot);
  EXPECT_EQ(svg.find("<script"), std::string::npos) << svg;
  EXPECT_EQ(svg.find("<b>"), std::string::npos) << svg;
  EXPECT_NE(svg.find("&lt;/svg&gt;&lt;script&gt;"), std::string::npos) << svg;
}

}  // namespace
}  // namespace dcgan
