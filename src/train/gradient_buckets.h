// Averaging a network's gradients over the ranks of a distributed run while its backward pass is
// still running, as PyTorch's DDP does: the parameters are grouped into buckets in the order
// backward produces their gradients, and each bucket's all-reduce starts as soon as its last
// gradient exists, overlapping with the rest of the backward pass.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "dcgan/dist/process_group.h"

namespace dcgan {

class GradientBuckets {
 public:
  // `parameters`: one network's, in registration order (backward meets them roughly reversed).
  // Buckets hold at most `bucket_elements` elements (one parameter may exceed it alone). The
  // hooks stay registered until destruction but act only between arm() and finish().
  GradientBuckets(const std::vector<torch::Tensor>& parameters, ProcessGroup& group,
                  int64_t bucket_elements, std::string what);
  ~GradientBuckets();
  GradientBuckets(const GradientBuckets&) = delete;
  GradientBuckets& operator=(const GradientBuckets&) = delete;

  // Before the backward pass.
  void arm();
  // After it: starts what has not started (in bucket order), waits for every bucket, and writes
  // the averages into the parameters' gradients.
  void finish();

 private:
  struct Bucket {
    std::vector<size_t> members;  // indices into parameters_
    std::vector<int64_t> offsets;
    torch::Tensor flat;
    size_t ready = 0;
    std::unique_ptr<ProcessGroup::Pending> pending;
  };

  void on_gradient(size_t index, const torch::Tensor& grad);
  // Starts the buckets that are full, in order: every rank starts them in the same order, whatever
  // order its backward pass finished them in.
  void start_ready();

  std::vector<torch::Tensor> parameters_;
  std::vector<unsigned> hooks_;
  std::vector<size_t> bucket_of_;  // parameter index -> bucket
  std::vector<size_t> slot_of_;    // parameter index -> position in its bucket
  std::vector<Bucket> buckets_;
  size_t next_to_start_ = 0;
  bool armed_ = false;
  ProcessGroup& group_;
  std::string what_;
};

}  // namespace dcgan
