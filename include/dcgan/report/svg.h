// Line plots as inline SVG: the curves of the run report, drawn without any script or library so
// the page works from disk in any browser.
#pragma once

#include <string>
#include <vector>

namespace dcgan {

// The drawing's size in SVG units (its viewBox is "0 0 kPlotWidth kPlotHeight") and the plot
// area inside it, between the axes: the margins hold tick labels, the title and the legend.
constexpr double kPlotWidth = 640;
constexpr double kPlotHeight = 300;
constexpr double kPlotLeft = 64;    // the y axis
constexpr double kPlotRight = 624;  // the right end of the x axis
constexpr double kPlotTop = 36;     // below the title and the legend
constexpr double kPlotBottom = 256; // the x axis

// At most this many points per curve are drawn; longer series keep every k-th point and the last.
constexpr size_t kMaxPlotPoints = 2000;

struct PlotSeries {
  std::string name;   // legend text and the polyline's data-series
  std::string color;  // CSS colour, e.g. "#1f77b4"
  std::vector<double> x, y;  // same length; non-finite points are left out (the line breaks there)
};

struct Plot {
  std::string id;     // the <svg> element's id, e.g. "plot-loss"
  std::string title;
  std::string x_label;
  std::vector<PlotSeries> series;
};

// About `target` round tick values (1, 2 or 5 times a power of ten) covering [lo, hi]: the first
// tick is <= lo and the last >= hi. lo == hi gets a range around the value.
// nice_ticks(0, 9.3, 5) => {0, 2, 4, 6, 8, 10}
std::vector<double> nice_ticks(double lo, double hi, int target);

// A tick label: the shortest of %g forms that tells the ticks apart ("0.5", "1e+04", "250").
std::string format_tick(double value, double spacing);

// The plot as one <svg> element: axes with ticks and labels, one <polyline> per finite run of
// points (class "series", data-series = its name), a legend, and "no data" when nothing is finite.
// The plot area is a <rect class="plot-area">. Names and title are HTML-escaped.
std::string render_svg_plot(const Plot& plot);

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string html_escape(const std::string& text);

}  // namespace dcgan
