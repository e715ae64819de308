#include "dcgan/report/report.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dcgan/config/config.h"
#include "dcgan/error.h"
#include "dcgan/io/checkpoint.h"
#include "dcgan/io/file.h"
#include "dcgan/io/run_layout.h"
#include "dcgan/report/svg.h"

namespace dcgan {
namespace {

namespace fs = std::filesystem;

// Pictures are scaled by whole factors (nearest neighbour) to about these widths.
constexpr uint32_t kLargeWidth = 1200;
constexpr uint32_t kThumbWidth = 400;

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return bytes.str();
}

std::vector<std::string> split(const std::string& line, char separator) {
  std::vector<std::string> cells;
  size_t start = 0;
  for (size_t at; (at = line.find(separator, start)) != std::string::npos; start = at + 1) {
    cells.push_back(line.substr(start, at - start));
  }
  cells.push_back(line.substr(start));
  return cells;
}

bool is_integer(const std::string& text) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  std::strtoll(text.c_str(), &end, 10);
  return errno == 0 && *end == '\0';
}

double to_number(const std::string& text) {
  if (text.empty()) return NAN;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  return *end == '\0' ? value : NAN;
}

// The run's name for the title: "runs/svhn-1/" => "svhn-1".
std::string run_name(const std::string& run_dir) {
  fs::path path = fs::path(run_dir).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();
  const std::string name = path.filename().string();
  return name.empty() ? run_dir : name;
}

void check_run_dir(const std::string& run_dir) {
  std::error_code error;
  if (!fs::is_directory(run_dir, error)) {
    throw ConfigError(run_dir + ": no such run directory");
  }
  if (!fs::is_regular_file(RunDir{run_dir}.config(), error)) {
    throw ConfigError(run_dir + ": not a run directory (no config.yaml)");
  }
}

std::string img_tag(const std::string& bytes, PngSize size, uint32_t target_width,
                    const std::string& attributes, const std::string& alt) {
  const uint32_t scale = std::clamp<uint32_t>(target_width / std::max<uint32_t>(size.width, 1), 1, 4);
  return "<img " + attributes + " src=\"data:image/png;base64," + base64_encode(bytes) +
         "\" width=\"" + std::to_string(size.width * scale) + "\" height=\"" +
         std::to_string(size.height * scale) + "\" data-scale=\"" + std::to_string(scale) +
         "\" alt=\"" + html_escape(alt) + "\">";
}

// An <img> of the PNG at `path`, or a note saying why there is none.
std::string picture(const std::string& path, uint32_t target_width, const std::string& attributes,
                    const std::string& alt) {
  const auto bytes = read_file(path);
  if (!bytes) return "<p class=\"missing\">" + html_escape(alt) + ": not written yet</p>";
  const auto size = png_size(*bytes);
  if (!size) return "<p class=\"missing\">" + html_escape(path) + " is not a PNG file</p>";
  return img_tag(*bytes, *size, target_width, attributes, alt);
}

std::string cell(const std::string& id, const std::string& text) {
  return "<td id=\"" + id + "\">" + html_escape(text) + "</td>";
}

std::string row(const std::string& label, const std::string& cells) {
  return "<tr><th>" + html_escape(label) + "</th>" + cells + "</tr>\n";
}

// The median of the finite values, formatted as the CSV writes images_per_sec ("%.1f").
std::string median_text(std::vector<double> values) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }),
               values.end());
  if (values.empty()) return "";
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  const double median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", median);
  return text;
}

PlotSeries series(const CsvTable& table, const std::string& column, const std::string& color) {
  return PlotSeries{column, color, table.numbers("step"), table.numbers(column)};
}

const std::string& last_cell(const CsvTable& table, const std::string& column) {
  static const std::string kNone;
  const int index = table.column(column);
  if (index < 0 || table.rows.empty()) return kNone;
  return table.rows.back()[static_cast<size_t>(index)];
}

std::string skipped_note(const CsvTable& table, const std::string& file) {
  if (table.skipped == 0) return "";
  return "<p class=\"warning\" id=\"skipped-" + file.substr(0, file.find('.')) + "\">" +
         std::to_string(table.skipped) + " malformed line(s) of " + file + " left out</p>\n";
}

constexpr const char* kStyle = R"(
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 1300px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.5em; border-bottom: 1px solid #ddd; }
.status { padding: 0.1em 0.5em; border-radius: 0.3em; color: #fff; font-weight: bold; }
.status-running { background: #1f77b4; } .status-finished { background: #2ca02c; }
.status-stopped { background: #ff7f0e; } .status-diverged { background: #d62728; }
.status-failed { background: #7f7f7f; }
table.summary { border-collapse: collapse; } table.summary th, table.summary td {
  border: 1px solid #ddd; padding: 0.2em 0.6em; text-align: left; font-variant-numeric: tabular-nums; }
svg.plot { max-width: 100%; height: auto; font-family: system-ui, sans-serif; font-size: 12px; }
img { image-rendering: pixelated; max-width: none; }
.evolution { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; } figcaption { font-size: 0.9em; color: #555; }
pre#config { background: #f6f6f6; padding: 0.8em; overflow-x: auto; }
.missing, .warning { color: #a15c00; }
)";

}  // namespace

const char* run_status_name(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning: return "running";
    case RunStatus::kFinished: return "finished";
    case RunStatus::kStopped: return "stopped";
    case RunStatus::kDiverged: return "diverged";
    case RunStatus::kFailed: return "failed";
  }
  return "unknown";
}

std::optional<RunStatus> parse_run_status(const std::string& name) {
  for (RunStatus s : {RunStatus::kRunning, RunStatus::kFinished, RunStatus::kStopped,
                      RunStatus::kDiverged, RunStatus::kFailed}) {
    if (name == run_status_name(s)) return s;
  }
  return std::nullopt;
}

int CsvTable::column(const std::string& name) const {
  const auto it = std::find(columns.begin(), columns.end(), name);
  return it == columns.end() ? -1 : static_cast<int>(it - columns.begin());
}

std::vector<double> CsvTable::numbers(const std::string& name) const {
  const int index = column(name);
  std::vector<double> values;
  if (index < 0) return values;
  for (const auto& r : rows) values.push_back(to_number(r[static_cast<size_t>(index)]));
  return values;
}

CsvTable parse_csv(const std::string& text) {
  CsvTable table;
  std::istringstream in(text);
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (header) {
      table.columns = split(line, ',');
      header = false;
      continue;
    }
    if (line.empty()) continue;
    auto cells = split(line, ',');
    if (cells.size() != table.columns.size() || !is_integer(cells[0])) {
      ++table.skipped;
      continue;
    }
    table.rows.push_back(std::move(cells));
  }
  return table;
}

std::optional<PngSize> png_size(const std::string& bytes) {
  // The 8-byte signature, then the IHDR chunk: length (13), "IHDR", width, height (big-endian).
  static const char kSignature[] = "\x89PNG\r\n\x1a\n";
  if (bytes.size() < 24 || bytes.compare(0, 8, kSignature, 8) != 0 ||
      bytes.compare(12, 4, "IHDR") != 0) {
    return std::nullopt;
  }
  auto be32 = [&](size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
    return v;
  };
  PngSize size{be32(16), be32(20)};
  if (size.width == 0 || size.height == 0) return std::nullopt;
  return size;
}

std::string base64_encode(const std::string& bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = static_cast<unsigned char>(bytes[i]) << 16 |
                       static_cast<unsigned char>(bytes[i + 1]) << 8 |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::vector<SampleFile> pick_sample_files(const std::string& samples_dir, size_t max_shown) {
  std::vector<SampleFile> all;
  std::error_code error;
  for (fs::directory_iterator it(samples_dir, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    // step_NNNNNN.png; not real.png, nor a writer's leftover "step_000100.png.tmp-42".
    if (name.size() <= 9 || name.compare(0, 5, "step_") != 0 ||
        name.compare(name.size() - 4, 4, ".png") != 0) {
      continue;
    }
    const std::string digits = name.substr(5, name.size() - 9);
    if (!is_integer(digits) || digits[0] == '-' || digits[0] == '+') continue;
    all.push_back({std::stoll(digits), it->path().string()});
  }
  std::sort(all.begin(), all.end(),
            [](const SampleFile& a, const SampleFile& b) { return a.step < b.step; });
  if (all.size() <= max_shown || max_shown < 2) return all;
  std::vector<SampleFile> shown;
  const size_t spread = max_shown - 1;  // evenly from the first, then the last
  for (size_t i = 0; i < spread; ++i) shown.push_back(all[i * (all.size() - 1) / spread]);
  shown.push_back(all.back());
  return shown;
}

std::string render_report(const std::string& run_dir, RunStatus status) {
  check_run_dir(run_dir);
  const RunDir run{run_dir};
  const std::string name = run_name(run_dir);
  const std::string status_name = run_status_name(status);
  const std::string config_text = read_file(run.config()).value_or("");
  int64_t total_epochs = -1;
  try {
    Config config;
    apply_yaml_string(config, config_text, run.config());
    total_epochs = config.train.epochs;
  } catch (const Error&) {
    // Shown as it is below; only the "of N epochs" is lost.
  }

  const auto metrics_text = read_file(run.metrics());
  const CsvTable metrics = parse_csv(metrics_text.value_or(""));
  const auto quality_text = read_file(run.quality());
  const CsvTable quality = parse_csv(quality_text.value_or(""));

  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<title>dcgan run " + html_escape(name) + " (" + status_name + ")</title>\n";
  html += "<style>" + std::string(kStyle) + "</style>\n</head>\n<body>\n";
  html += "<h1>dcgan run <span id=\"run-name\">" + html_escape(name) +
          "</span> <span id=\"status\" class=\"status status-" + status_name +
          "\" data-status=\"" + status_name + "\">" + status_name + "</span></h1>\n";

  // Summary: the last logged row, as metrics.csv has it.
  html += "<h2>Summary</h2>\n";
  if (metrics.rows.empty()) {
    html += "<p class=\"missing\" id=\"no-metrics\">No step logged yet (" + std::string("metrics.csv") +
            (metrics_text ? " has no rows" : " not written yet") + ").</p>\n";
  } else {
    const std::string epochs = last_cell(metrics, "epoch");
    html += "<table class=\"summary\">\n";
    html += row("last logged step", cell("last-step", last_cell(metrics, "step")));
    html += row("epoch", cell("last-epoch", epochs) +
                             (total_epochs > 0 ? "<td id=\"total-epochs\">of " +
                                                     std::to_string(total_epochs) + "</td>"
                                               : ""));
    html += row("d_loss", cell("last-d-loss", last_cell(metrics, "d_loss")));
    html += row("g_loss", cell("last-g-loss", last_cell(metrics, "g_loss")));
    html += row("D(x)", cell("last-d-real", last_cell(metrics, "d_real")));
    html += row("D(G(z))", cell("last-d-fake", last_cell(metrics, "d_fake")));
    html += row("images/s (last, median)",
                cell("last-images-per-sec", last_cell(metrics, "images_per_sec")) +
                    cell("median-images-per-sec", median_text(metrics.numbers("images_per_sec"))));
    if (!quality.rows.empty()) {
      html += row("FID (last, at step)",
                  cell("last-fid", last_cell(quality, "fid")) +
                      cell("last-fid-step", last_cell(quality, "step")));
      html += row("KID (last)", cell("last-kid-mean", last_cell(quality, "kid_mean")));
      const std::vector<double> fid = quality.numbers("fid");
      size_t best = fid.size();
      for (size_t i = 0; i < fid.size(); ++i) {
        if (std::isfinite(fid[i]) && (best == fid.size() || fid[i] < fid[best])) best = i;
      }
      if (best < fid.size()) {
        const int fid_col = quality.column("fid");
        html += row("FID (best, at step)",
                    cell("best-fid", quality.rows[best][static_cast<size_t>(fid_col)]) +
                        cell("best-fid-step", quality.rows[best][0]));
      }
    }
    html += "</table>\n";
  }
  html += skipped_note(metrics, "metrics.csv");

  // Curves.
  html += "<h2>Curves</h2>\n";
  html += render_svg_plot(Plot{"plot-loss", "Losses", "step",
                               {series(metrics, "d_loss", "#1f77b4"),
                                series(metrics, "g_loss", "#ff7f0e")}});
  html += render_svg_plot(Plot{"plot-d", "D(x) and D(G(z))", "step",
                               {series(metrics, "d_real", "#2ca02c"),
                                series(metrics, "d_fake", "#d62728")}});
  if (quality_text) {
    html += render_svg_plot(Plot{"plot-fid", "FID (lower is better)", "step",
                                 {series(quality, "fid", "#9467bd")}});
    html += render_svg_plot(Plot{"plot-kid", "KID (lower is better)", "step",
                                 {series(quality, "kid_mean", "#8c564b")}});
    html += skipped_note(quality, "quality.csv");
  } else {
    html += "<p class=\"missing\" id=\"no-quality\">No quality measured (" +
            std::string("quality.csv") + " not written; eval.every is 0 or not reached yet).</p>\n";
  }

  // Samples: the last fixed-noise grid large, then how it got there, then the real images.
  const std::string samples_dir = run.samples();
  const std::vector<SampleFile> steps = pick_sample_files(samples_dir);
  html += "<h2>Samples</h2>\n";
  if (steps.empty()) {
    html += "<p class=\"missing\" id=\"no-samples\">No sample grid written yet.</p>\n";
  } else {
    const SampleFile& last = steps.back();
    html += "<figure>" +
            picture(last.path, kLargeWidth, "id=\"last-sample\" data-step=\"" +
                                                std::to_string(last.step) + "\"",
                    "fixed-noise samples at step " + std::to_string(last.step)) +
            "<figcaption>step " + std::to_string(last.step) + " (fixed noise)</figcaption></figure>\n";
    html += "<h2>Evolution of the fixed-noise samples</h2>\n<div class=\"evolution\">\n";
    for (const auto& s : steps) {
      html += "<figure>" +
              picture(s.path, kThumbWidth,
                      "class=\"evolution-sample\" data-step=\"" + std::to_string(s.step) + "\"",
                      "samples at step " + std::to_string(s.step)) +
              "<figcaption>step " + std::to_string(s.step) + "</figcaption></figure>\n";
    }
    html += "</div>\n";
  }
  html += "<h2>Real images</h2>\n<figure>" +
          picture(run.real_samples(), kLargeWidth, "id=\"real-samples\"",
                  "training images") +
          "</figure>\n";

  html += "<h2>Config</h2>\n<pre id=\"config\">" + html_escape(config_text) + "</pre>\n";
  html += "</body>\n</html>\n";
  return html;
}

void write_report(const std::string& run_dir, RunStatus status) {
  const std::string html = render_report(run_dir, status);
  const RunDir run{run_dir};
  write_file_atomic(run.status(), std::string(run_status_name(status)) + "\n");
  write_file_atomic(run.report(), html);
}

RunStatus read_run_status(const std::string& run_dir) {
  check_run_dir(run_dir);
  const RunDir run{run_dir};
  if (const auto text = read_file(run.status())) {
    std::string word = *text;
    while (!word.empty() && std::isspace(static_cast<unsigned char>(word.back()))) word.pop_back();
    if (const auto status = parse_run_status(word)) return *status;
    throw ConfigError(run.status() + ": expected running, finished, stopped, diverged or " +
                      "failed, found '" + word.substr(0, 40) + "'");
  }
  const std::string checkpoint = run.checkpoint();
  std::error_code error;
  if (!fs::is_regular_file(checkpoint, error)) return RunStatus::kStopped;
  CheckpointReader reader(checkpoint);
  reader.expect_kind(CheckpointKind::kTraining);
  Config config;
  try {
    apply_yaml_string(config, reader.read_string("config"), checkpoint + " (stored config)");
  } catch (const ConfigError& e) {
    throw CheckpointError(e.what());
  }
  return reader.read_int("epoch") >= config.train.epochs ? RunStatus::kFinished
                                                         : RunStatus::kStopped;
}

}  // namespace dcgan
