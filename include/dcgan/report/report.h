// The run report: <run>/report.html, one self-contained page (no script, no network) with the
// run's config, its curves, its sample grids and its status, built from the files of the run
// directory (see dcgan/train/run_dir.h for the layout).
//
// Only the files are read, so `dcgan report RUN_DIR` rebuilds the page the trainer wrote. What is
// missing (no logged step yet, no samples, no quality.csv) is said on the page; a malformed CSV
// line is skipped and counted there, never fatal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dcgan {

enum class RunStatus {
  kRunning,   // written at a checkpoint mid-run (or the run was killed since)
  kFinished,  // every epoch done
  kStopped,   // train.max_steps reached, or interrupted (SIGINT/SIGTERM)
  kDiverged,  // a non-finite loss or weight ended it
  kFailed,    // another error ended it (a full disk, a rank that died), which train.log names
};

// "running", "finished", "stopped", "diverged", "failed"
const char* run_status_name(RunStatus status);
// The inverse of run_status_name; nullopt for anything else.
std::optional<RunStatus> parse_run_status(const std::string& name);

// A CSV file as text: the header's column names and the well-formed rows, each cell as written
// (so a page can show a number exactly as the CSV has it). A row is well-formed when it has as
// many cells as the header and its first cell is an integer (the step).
struct CsvTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  int64_t skipped = 0;  // malformed lines left out (a torn last line, stray text)

  // The column's index, or -1.
  int column(const std::string& name) const;
  // The column parsed as numbers (NaN where a cell is not one); empty if there is no such column.
  std::vector<double> numbers(const std::string& name) const;
};
CsvTable parse_csv(const std::string& text);

// Width and height from a PNG's IHDR chunk; nullopt when `bytes` is not a PNG.
struct PngSize {
  uint32_t width = 0;
  uint32_t height = 0;
};
std::optional<PngSize> png_size(const std::string& bytes);

std::string base64_encode(const std::string& bytes);

// The step files of `samples_dir` (samples/step_NNNNNN.png) to show: all when there are at most
// `max_shown`, else `max_shown` - 1 spread evenly from the first, and the last. Sorted by step.
struct SampleFile {
  int64_t step = 0;
  std::string path;
};
std::vector<SampleFile> pick_sample_files(const std::string& samples_dir, size_t max_shown = 13);

// The page for `run_dir` with `status`. Throws ConfigError when `run_dir` is not a directory or
// has no config.yaml (not a run directory).
std::string render_report(const std::string& run_dir, RunStatus status);

// Writes <run>/status (the status word) and <run>/report.html, each atomically. Throws ConfigError
// as render_report, IoError when a file cannot be written.
void write_report(const std::string& run_dir, RunStatus status);

// The status a run's files say: <run>/status, written by the trainer; for a run without one
// (written by an older dcgan, so not running now) its checkpoint: finished when its epoch count
// reaches train.epochs, else stopped. Throws ConfigError when `run_dir` is not a run directory.
RunStatus read_run_status(const std::string& run_dir);

}  // namespace dcgan
