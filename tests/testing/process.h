// Test helpers: run the real `dcgan` executable (DCGAN_EXE) as a user would, either to completion
// or as a child the test can watch, signal and wait for with a timeout. No shell is involved:
// arguments go to execv as they are.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace dcgan::testing {

// The executable under test, from the DCGAN_EXE environment variable (set by ctest); throws
// std::runtime_error when it is not set.
std::string dcgan_exe();

struct ProcessResult {
  int code = -1;       // exit status; -1 when killed by a signal
  int signal = 0;      // the signal that killed it, 0 when it exited
  std::string output;  // stdout and stderr, interleaved as written
};

// Options for a child process.
struct ProcessOptions {
  // RLIMIT_FSIZE for the child, with SIGXFSZ ignored so that an oversized write fails with EFBIG
  // ("File too large") instead of killing it: a full disk that the test controls.
  std::optional<rlim_t> file_size_limit;
  // "NAME=value" entries added to (or replacing those in) the test's own environment.
  std::vector<std::string> env;
};

// A running child with its stdout and stderr on one pipe. The destructor kills (SIGKILL) and
// reaps a child that is still running, so a failed assertion leaves no process behind.
class Process {
 public:
  // Starts `exe` with `args` (argv[1..]) through fork/exec; throws std::runtime_error on failure.
  Process(const std::string& exe, const std::vector<std::string>& args,
          ProcessOptions options = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Everything read from the child so far.
  const std::string& output() const { return output_; }

  void send_signal(int signal);
  // Reads output until it contains `needle` (true), the child closes its output, or `timeout`
  // passes (false).
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout);
  // Reads all output and reaps the child; nullopt if it is still running after `timeout`.
  std::optional<ProcessResult> wait(std::chrono::milliseconds timeout);

 private:
  // Reads what is available within `timeout`; false once the pipe is closed.
  bool read_some(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int fd_ = -1;  // read end of the output pipe; -1 once closed
  std::string output_;
  std::optional<ProcessResult> result_;
};

// Splits `args` on spaces ("train --epochs 2" => {"train", "--epochs", "2"}; no quoting).
std::vector<std::string> split_args(const std::string& args);

// Runs dcgan with `args` to completion (at most `timeout`, then it is killed and the test fails
// through std::runtime_error).
ProcessResult run_dcgan(const std::vector<std::string>& args, ProcessOptions options = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(120));
// Runs another program (an absolute path) to completion, the same way.
ProcessResult run_process(const std::string& exe, const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout = std::chrono::seconds(120));
// The same with space-separated arguments: run_dcgan("train --config x.yaml").
ProcessResult run_dcgan(const std::string& args);

// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick for port 0), for a
// distributed run's store.
int free_local_port();

// The last line of `text`, ignoring trailing newlines: where a one-line error must be.
std::string last_line(const std::string& text);

}  // namespace dcgan::testing
