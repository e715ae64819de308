#include "dcgan/model/sync_batch_norm.h"

#include <string>

namespace dcgan {
namespace {

// y = sum over processes of x; its gradient is the sum over processes of y's gradient (each
// process's loss depends on every process's x through y).
class AllReduceSum : public torch::autograd::Function<AllReduceSum> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const BatchNormSync* sync) {
    ctx->saved_data["sync"] = static_cast<int64_t>(reinterpret_cast<intptr_t>(sync));
    torch::Tensor sum = x.clone();
    sync->all_reduce_sum(sum);
    return sum;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto* sync =
        reinterpret_cast<const BatchNormSync*>(static_cast<intptr_t>(ctx->saved_data["sync"].toInt()));
    torch::Tensor sum = grads[0].contiguous().clone();
    sync->all_reduce_sum(sum);
    return {sum, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor sync_batch_norm(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn,
                              const BatchNormSync& sync) {
  if (!bn.is_training()) return bn.forward(x);
  TORCH_CHECK(x.dim() == 4, "sync_batch_norm expects (N, C, H, W), got ", x.sizes());
  const auto& options = bn.options;
  const int64_t channels = x.size(1);
  const double count = static_cast<double>(x.numel() / channels) * static_cast<double>(sync.world_size);
  const std::vector<int64_t> shape{1, channels, 1, 1};
  const torch::Tensor xf = x.to(torch::kFloat);
  // Two passes, as batch norm itself: the mean, then the mean squared deviation from it.
  const torch::Tensor mean = AllReduceSum::apply(xf.sum({0, 2, 3}), &sync) / count;
  const torch::Tensor centred = xf - mean.view(shape);
  const torch::Tensor var = AllReduceSum::apply(centred.square().sum({0, 2, 3}), &sync) / count;
  torch::Tensor y = centred * torch::rsqrt(var + options.eps()).view(shape);
  if (options.affine()) y = y * bn.weight.view(shape) + bn.bias.view(shape);
  if (options.track_running_stats()) {
    torch::NoGradGuard no_grad;
    bn.num_batches_tracked += 1;
    const double momentum = options.momentum().has_value()
                                ? *options.momentum()
                                : 1.0 / bn.num_batches_tracked.item<double>();
    bn.running_mean.mul_(1 - momentum).add_(mean.detach(), momentum);
    bn.running_var.mul_(1 - momentum).add_(var.detach() * (count / std::max(count - 1, 1.0)), momentum);
  }
  return y.to(x.scalar_type());
}

}  // namespace dcgan
