#include "dcgan/report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace dcgan {
namespace {

// SVG coordinates with two decimals: enough for a 640-unit drawing, short in the file.
std::string coord(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", value);
  return text;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return !(lo <= hi); }
};

// Indices of the points drawn: all of them, or every k-th and the last.
std::vector<size_t> drawn_indices(size_t n) {
  std::vector<size_t> indices;
  const size_t stride = n <= kMaxPlotPoints ? 1 : (n + kMaxPlotPoints - 2) / (kMaxPlotPoints - 1);
  for (size_t i = 0; i < n; i += stride) indices.push_back(i);
  if (n > 0 && indices.back() != n - 1) indices.push_back(n - 1);
  return indices;
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0, 1};
  if (lo > hi) std::swap(lo, hi);
  if (lo == hi) {
    const double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double rough = (hi - lo) / std::max(1, target);
  const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
  const double residual = rough / magnitude;
  const double step =
      magnitude * (residual < 1.5 ? 1 : residual < 3 ? 2 : residual < 7 ? 5 : 10);
  const double first = std::floor(lo / step) * step;
  const long count = std::lround(std::ceil(hi / step) - std::floor(lo / step));
  std::vector<double> ticks;
  for (long i = 0; i <= std::min(count, 100L); ++i) {
    double tick = first + static_cast<double>(i) * step;
    if (std::abs(tick) < step * 1e-9) tick = 0;  // not -1.2e-17
    ticks.push_back(tick);
  }
  if (ticks.size() < 2) ticks.push_back(first + step);
  return ticks;
}

std::string format_tick(double value, double spacing) {
  char text[48];
  const double magnitude = std::max(std::abs(value), std::abs(spacing));
  if (spacing > 0 && spacing >= 1e-5 && magnitude < 1e7) {
    const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(spacing))));
    std::snprintf(text, sizeof text, "%.*f", decimals, value == 0 ? 0.0 : value);
  } else {
    std::snprintf(text, sizeof text, "%.3g", value);
  }
  return text;
}

std::string render_svg_plot(const Plot& plot) {
  Range xr, yr;
  for (const auto& s : plot.series) {
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) {
        xr.add(s.x[i]);
        yr.add(s.y[i]);
      }
    }
  }
  std::string svg = "<svg id=\"" + html_escape(plot.id) + "\" class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " +
                    coord(kPlotWidth) + " " + coord(kPlotHeight) + "\" width=\"" +
                    coord(kPlotWidth) + "\" height=\"" + coord(kPlotHeight) + "\" role=\"img\">\n";
  svg += "<title>" + html_escape(plot.title) + "</title>\n";
  svg += "<text class=\"plot-title\" x=\"" + coord(kPlotLeft) + "\" y=\"18\">" +
         html_escape(plot.title) + "</text>\n";
  svg += "<rect class=\"plot-area\" x=\"" + coord(kPlotLeft) + "\" y=\"" + coord(kPlotTop) +
         "\" width=\"" + coord(kPlotRight - kPlotLeft) + "\" height=\"" +
         coord(kPlotBottom - kPlotTop) + "\" fill=\"#fff\" stroke=\"#888\"/>\n";
  if (xr.empty()) {
    svg += "<text class=\"no-data\" x=\"" + coord((kPlotLeft + kPlotRight) / 2) + "\" y=\"" +
           coord((kPlotTop + kPlotBottom) / 2) + "\" text-anchor=\"middle\">no data</text>\n";
    return svg + "</svg>\n";
  }

  const std::vector<double> xt = nice_ticks(xr.lo, xr.hi, 8);
  const std::vector<double> yt = nice_ticks(yr.lo, yr.hi, 5);
  const double x0 = xt.front(), x1 = xt.back(), y0 = yt.front(), y1 = yt.back();
  auto px = [&](double x) { return kPlotLeft + (x - x0) / (x1 - x0) * (kPlotRight - kPlotLeft); };
  auto py = [&](double y) { return kPlotBottom - (y - y0) / (y1 - y0) * (kPlotBottom - kPlotTop); };

  svg += "<g class=\"grid\" stroke=\"#e4e4e4\" stroke-width=\"1\">\n";
  for (double t : yt) {
    svg += "<line x1=\"" + coord(kPlotLeft) + "\" x2=\"" + coord(kPlotRight) + "\" y1=\"" +
           coord(py(t)) + "\" y2=\"" + coord(py(t)) + "\"/>\n";
  }
  svg += "</g>\n<g class=\"ticks\" font-size=\"11\" fill=\"#333\">\n";
  const double ys = yt[1] - yt[0], xs = xt[1] - xt[0];
  for (double t : yt) {
    svg += "<text class=\"y-tick\" x=\"" + coord(kPlotLeft - 6) + "\" y=\"" + coord(py(t) + 4) +
           "\" text-anchor=\"end\">" + format_tick(t, ys) + "</text>\n";
  }
  for (double t : xt) {
    svg += "<line x1=\"" + coord(px(t)) + "\" x2=\"" + coord(px(t)) + "\" y1=\"" +
           coord(kPlotBottom) + "\" y2=\"" + coord(kPlotBottom + 4) + "\" stroke=\"#888\"/>\n";
    svg += "<text class=\"x-tick\" x=\"" + coord(px(t)) + "\" y=\"" + coord(kPlotBottom + 16) +
           "\" text-anchor=\"middle\">" + format_tick(t, xs) + "</text>\n";
  }
  svg += "</g>\n";
  svg += "<text class=\"x-label\" x=\"" + coord((kPlotLeft + kPlotRight) / 2) + "\" y=\"" +
         coord(kPlotHeight - 8) + "\" text-anchor=\"middle\" font-size=\"12\">" +
         html_escape(plot.x_label) + "</text>\n";

  double legend_x = kPlotRight;
  std::string legend;
  for (auto it = plot.series.rbegin(); it != plot.series.rend(); ++it) {
    const double width = 30 + 7.0 * static_cast<double>(it->name.size());
    legend_x -= width;
    legend = "<line x1=\"" + coord(legend_x) + "\" x2=\"" + coord(legend_x + 18) +
             "\" y1=\"14\" y2=\"14\" stroke=\"" + html_escape(it->color) +
             "\" stroke-width=\"2\"/><text x=\"" + coord(legend_x + 22) + "\" y=\"18\">" +
             html_escape(it->name) + "</text>\n" + legend;
  }
  svg += "<g class=\"legend\" font-size=\"12\">\n" + legend + "</g>\n";

  for (const auto& s : plot.series) {
    const std::string color = html_escape(s.color);
    svg += "<g class=\"series\" data-series=\"" + html_escape(s.name) + "\">\n";
    std::vector<std::string> run;  // the current stretch of finite points
    auto flush = [&]() {
      if (run.size() == 1) {
        const size_t comma = run[0].find(',');
        svg += "<circle cx=\"" + run[0].substr(0, comma) + "\" cy=\"" + run[0].substr(comma + 1) +
               "\" r=\"2.5\" fill=\"" + color + "\"/>\n";
      } else if (run.size() > 1) {
        svg += "<polyline fill=\"none\" stroke=\"" + color + "\" stroke-width=\"1.5\" points=\"";
        for (size_t i = 0; i < run.size(); ++i) svg += (i ? " " : "") + run[i];
        svg += "\"/>\n";
      }
      run.clear();
    };
    for (size_t i : drawn_indices(std::min(s.x.size(), s.y.size()))) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
        flush();
        continue;
      }
      run.push_back(coord(px(s.x[i])) + "," + coord(py(s.y[i])));
    }
    flush();
    svg += "</g>\n";
  }
  return svg + "</svg>\n";
}

}  // namespace dcgan
