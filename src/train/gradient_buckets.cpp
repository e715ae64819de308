#include "gradient_buckets.h"

namespace dcgan {

GradientBuckets::GradientBuckets(const std::vector<torch::Tensor>& parameters, ProcessGroup& group,
                                 int64_t bucket_elements, std::string what)
    : parameters_(parameters),
      bucket_of_(parameters.size()),
      slot_of_(parameters.size()),
      group_(group),
      what_(std::move(what)) {
  // Reverse registration order: the last layers' gradients come first in backward.
  int64_t filled = 0;
  for (size_t k = parameters_.size(); k-- > 0;) {
    const auto& p = parameters_[k];
    const bool fits = !buckets_.empty() && filled + p.numel() <= bucket_elements &&
                      parameters_[buckets_.back().members.back()].scalar_type() == p.scalar_type();
    if (!fits) {
      buckets_.emplace_back();
      filled = 0;
    }
    Bucket& bucket = buckets_.back();
    bucket_of_[k] = buckets_.size() - 1;
    slot_of_[k] = bucket.members.size();
    bucket.members.push_back(k);
    bucket.offsets.push_back(filled);
    filled += p.numel();
  }
  for (Bucket& bucket : buckets_) {
    const auto& last = parameters_[bucket.members.back()];
    bucket.flat = torch::zeros({bucket.offsets.back() + last.numel()}, last.options());
  }
  for (size_t k = 0; k < parameters_.size(); ++k) {
    hooks_.push_back(parameters_[k].register_hook(
        [this, k](const torch::Tensor& grad) { on_gradient(k, grad); }));
  }
}

GradientBuckets::~GradientBuckets() {
  for (size_t k = 0; k < hooks_.size(); ++k) parameters_[k].remove_hook(hooks_[k]);
}

void GradientBuckets::arm() {
  for (Bucket& bucket : buckets_) {
    bucket.ready = 0;
    bucket.pending.reset();
  }
  next_to_start_ = 0;
  armed_ = true;
}

void GradientBuckets::on_gradient(size_t index, const torch::Tensor& grad) {
  if (!armed_) return;
  Bucket& bucket = buckets_[bucket_of_[index]];
  const int64_t offset = bucket.offsets[slot_of_[index]];
  {
    torch::NoGradGuard no_grad;
    bucket.flat.narrow(0, offset, grad.numel()).copy_(grad.reshape({-1}));
  }
  ++bucket.ready;
  start_ready();
}

void GradientBuckets::start_ready() {
  while (next_to_start_ < buckets_.size() &&
         buckets_[next_to_start_].ready == buckets_[next_to_start_].members.size()) {
    Bucket& bucket = buckets_[next_to_start_++];
    bucket.pending = group_.start_all_reduce_sum(bucket.flat, what_);
  }
}

void GradientBuckets::finish() {
  armed_ = false;
  // A parameter without a gradient this pass (none in this GAN) counts as zero.
  for (size_t b = next_to_start_; b < buckets_.size(); ++b) {
    Bucket& bucket = buckets_[b];
    for (size_t slot = 0; slot < bucket.members.size(); ++slot) {
      if (!parameters_[bucket.members[slot]].grad().defined()) {
        bucket.flat.narrow(0, bucket.offsets[slot], parameters_[bucket.members[slot]].numel()).zero_();
      }
    }
    bucket.ready = bucket.members.size();
  }
  start_ready();
  torch::NoGradGuard no_grad;
  const double world = static_cast<double>(group_.size());
  for (Bucket& bucket : buckets_) {
    bucket.pending->wait();
    bucket.pending.reset();
    bucket.flat.div_(world);
    for (size_t slot = 0; slot < bucket.members.size(); ++slot) {
      torch::Tensor& param = parameters_[bucket.members[slot]];
      const auto average = bucket.flat.narrow(0, bucket.offsets[slot], param.numel()).view_as(param);
      if (param.grad().defined()) {
        param.mutable_grad().copy_(average);
      } else {
        param.mutable_grad() = average.clone();
      }
    }
  }
}

}  // namespace dcgan
