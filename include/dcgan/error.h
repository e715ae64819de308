// Error types of dcgan. Every failure a user can cause (a bad file, key or value) is thrown as
// one of these with a one-line message naming the file or key, what was expected and what was
// found. The app catches them once, logs the message and exits with the type's exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace dcgan {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
  // The process exit code this kind of error maps to (see ExitCode).
  virtual int exit_code() const { return 1; }
};

// Exit codes, one per error family, so scripts can tell a bad config from a bad file.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,      // anything unexpected
  kExitUsage = 2,        // command line or config: unknown key, wrong type, out of range
  kExitData = 3,         // a data file missing, unreadable or malformed
  kExitCheckpoint = 4,   // a checkpoint missing, corrupt or of another kind
  kExitIo = 5,           // an output could not be written (permissions, full disk)
  kExitDiverged = 6,     // training produced a non-finite loss or weight
  kExitDistributed = 7,  // distributed training: a rank died or hung, the store is unreachable,
                         // the ranks disagree
  kExitInterrupted = 130 // stopped by SIGINT/SIGTERM after saving a checkpoint
};

#define DCGAN_DEFINE_ERROR(Name, code)                                  \
  class Name : public Error {                                           \
   public:                                                              \
    explicit Name(const std::string& message) : Error(message) {}       \
    int exit_code() const override { return code; }                     \
  }

DCGAN_DEFINE_ERROR(ConfigError, kExitUsage);
DCGAN_DEFINE_ERROR(DataError, kExitData);
DCGAN_DEFINE_ERROR(CheckpointError, kExitCheckpoint);
DCGAN_DEFINE_ERROR(IoError, kExitIo);
DCGAN_DEFINE_ERROR(DivergedError, kExitDiverged);
DCGAN_DEFINE_ERROR(InterruptedError, kExitInterrupted);
DCGAN_DEFINE_ERROR(DistributedError, kExitDistributed);

#undef DCGAN_DEFINE_ERROR

}  // namespace dcgan
