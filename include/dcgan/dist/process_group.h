// A c10d process group (PyTorch's distributed engine, as torch.distributed uses it): the ranks of
// one distributed run, joined through a TCPStore, talking through Gloo (CPUs) or NCCL (CUDA).
// c10d's types stay in the implementation: this header needs only LibTorch's tensors.
//
// Every failure is a DistributedError with one line naming this rank, what it was doing and,
// where it can tell, the rank that did not answer (it exited, was killed or hangs).
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dcgan/dist/env.h"

namespace dcgan {

// Whether this build has a backend: "gloo" or "nccl".
bool backend_available(const std::string& backend);

class ProcessGroup {
 public:
  // Joins the run `env` describes: connects to (rank 0 or torchrun: hosts) the store at
  // MASTER_ADDR:MASTER_PORT, waiting up to `timeout` for every rank, and builds the backend.
  // `backend`: auto (nccl on a CUDA device, gloo otherwise), gloo or nccl. `timeout` also bounds
  // every collective. Throws ConfigError for a backend this build or device lacks,
  // DistributedError when the store cannot be reached or a rank does not join.
  static std::unique_ptr<ProcessGroup> join(const DistEnv& env, const std::string& backend,
                                            const torch::Device& device,
                                            std::chrono::seconds timeout);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const;
  int size() const;
  int local_rank() const;
  int local_world_size() const;
  const std::string& backend() const;
  // Where the tensors of this group's collectives must live: the GPU for NCCL, the CPU for Gloo.
  torch::Device device() const;

  // Sums each tensor over all ranks, in place. Tensors of one dtype travel as one flat buffer
  // (one collective per dtype, not per tensor). `what` names the operation in errors.
  void all_reduce_sum(const std::vector<torch::Tensor>& tensors, const std::string& what);
  // The same, then divided by the number of ranks.
  void all_reduce_mean(const std::vector<torch::Tensor>& tensors, const std::string& what);
  // An all-reduce running in the background (c10d's Work): wait() finishes it, and throws its
  // failure as DistributedError.
  class Pending {
   public:
    virtual ~Pending() = default;
    virtual void wait() = 0;
  };
  // Starts summing `flat` (one contiguous tensor) over all ranks, in place. Every rank must start
  // its all-reduces in the same order.
  std::unique_ptr<Pending> start_all_reduce_sum(const torch::Tensor& flat, const std::string& what);

  // Rank 0's `value` on every rank (the others' `value` is ignored), through the store.
  std::string broadcast_string(const std::string& value, const std::string& what);
  // Every rank's `values` (the same count on each), rank by rank.
  std::vector<std::vector<int64_t>> all_gather(const std::vector<int64_t>& values,
                                               const std::string& what);

  struct Impl;

 private:
  explicit ProcessGroup(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dcgan
