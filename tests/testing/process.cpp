#include "testing/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace dcgan::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::runtime_error system_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

ProcessResult decode_status(int status) {
  ProcessResult result;
  if (WIFEXITED(status)) {
    result.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  return result;
}

std::chrono::milliseconds left_until(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

}  // namespace

std::string dcgan_exe() {
  const char* exe = std::getenv("DCGAN_EXE");
  if (exe == nullptr) throw std::runtime_error("DCGAN_EXE is not set (run through ctest)");
  return exe;
}

Process::Process(const std::string& exe, const std::vector<std::string>& args,
                 ProcessOptions options) {
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<std::string> words{exe};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  std::vector<std::string> variables;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('=') + 1);
    bool replaced = false;
    for (const auto& added : options.env) replaced = replaced || added.rfind(name, 0) == 0;
    if (!replaced) variables.push_back(entry);
  }
  variables.insert(variables.end(), options.env.begin(), options.env.end());
  std::vector<char*> envp;
  for (auto& variable : variables) envp.push_back(variable.data());
  envp.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw system_error("pipe2");
  pid_ = ::fork();
  if (pid_ < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw system_error("fork");
  }
  if (pid_ == 0) {
    // dup2 clears FD_CLOEXEC on the copies, so only stdout and stderr survive exec.
    if (::dup2(fds[1], STDOUT_FILENO) < 0 || ::dup2(fds[1], STDERR_FILENO) < 0) ::_exit(127);
    if (options.file_size_limit) {
      ::signal(SIGXFSZ, SIG_IGN);  // an ignored disposition survives exec
      struct rlimit limit {};
      limit.rlim_cur = *options.file_size_limit;
      limit.rlim_max = *options.file_size_limit;
      if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(127);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  fd_ = fds[0];
}

Process::~Process() {
  if (!result_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (fd_ >= 0) ::close(fd_);
}

void Process::send_signal(int signal) {
  if (result_) throw std::runtime_error("send_signal: the child has already been reaped");
  if (::kill(pid_, signal) != 0) throw system_error("kill");
}

bool Process::read_some(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return false;
  pollfd poll_fd{};
  poll_fd.fd = fd_;
  poll_fd.events = POLLIN;
  const int ready = ::poll(&poll_fd, 1, static_cast<int>(timeout.count()));
  if (ready < 0) {
    if (errno == EINTR) return true;
    throw system_error("poll");
  }
  if (ready == 0) return true;
  char buffer[4096];
  const ssize_t n = ::read(fd_, buffer, sizeof buffer);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return true;
    throw system_error("read");
  }
  if (n == 0) {
    ::close(fd_);
    fd_ = -1;
    return false;
  }
  output_.append(buffer, static_cast<size_t>(n));
  return true;
}

bool Process::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (output_.find(needle) == std::string::npos) {
    if (Clock::now() >= deadline || !read_some(left_until(deadline))) {
      return output_.find(needle) != std::string::npos;
    }
  }
  return true;
}

std::optional<ProcessResult> Process::wait(std::chrono::milliseconds timeout) {
  if (result_) return result_;
  const auto deadline = Clock::now() + timeout;
  // The pipe closes when the child exits (it starts no processes of its own).
  while (fd_ >= 0) {
    if (Clock::now() >= deadline) return std::nullopt;
    read_some(std::min(left_until(deadline), std::chrono::milliseconds(100)));
  }
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done < 0 && errno != EINTR) throw system_error("waitpid");
    if (done == pid_) {
      result_ = decode_status(status);
      result_->output = output_;
      return result_;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    ::usleep(1000);
  }
}

std::vector<std::string> split_args(const std::string& args) {
  std::vector<std::string> words;
  std::istringstream in(args);
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

namespace {

ProcessResult run_to_end(const std::string& exe, const std::vector<std::string>& args,
                         ProcessOptions options, std::chrono::milliseconds timeout) {
  Process process(exe, args, options);
  std::optional<ProcessResult> result = process.wait(timeout);
  if (!result) {
    throw std::runtime_error(exe + " did not finish within " + std::to_string(timeout.count()) +
                             " ms; output so far:\n" + process.output());
  }
  return *result;
}

}  // namespace

ProcessResult run_dcgan(const std::vector<std::string>& args, ProcessOptions options,
                        std::chrono::milliseconds timeout) {
  return run_to_end(dcgan_exe(), args, options, timeout);
}

ProcessResult run_process(const std::string& exe, const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout) {
  return run_to_end(exe, args, ProcessOptions{}, timeout);
}

ProcessResult run_dcgan(const std::string& args) { return run_dcgan(split_args(args)); }

std::string last_line(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
  const size_t newline = trimmed.rfind('\n');
  return newline == std::string::npos ? trimmed : trimmed.substr(newline + 1);
}

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw system_error("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  if (!ok) throw system_error("bind to 127.0.0.1:0");
  return ntohs(address.sin_port);
}

}  // namespace dcgan::testing
