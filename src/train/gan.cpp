#include "dcgan/train/gan.h"

namespace dcgan {
namespace {

torch::optim::AdamOptions adam_options(const TrainOptions& train) {
  return torch::optim::AdamOptions(train.lr).betas({train.beta1, train.beta2});
}

void set_requires_grad(torch::nn::Module& module, bool flag) {
  for (auto& p : module.parameters()) p.set_requires_grad(flag);
}

}  // namespace

Gan::Gan(const Config& config, int64_t channels, const torch::Device& device)
    : real_label_(1.0 - config.train.label_smoothing) {
  generator = Generator(config.model, channels, resolve_upconv(config.model.upconv, device));
  discriminator = Discriminator(config.model, channels);
  init_weights(*generator, config.model.init, config.model.init_std);
  init_weights(*discriminator, config.model.init, config.model.init_std);
  generator->to(device);
  discriminator->to(device);
  g_optimizer = std::make_unique<torch::optim::Adam>(generator->parameters(), adam_options(config.train));
  d_optimizer =
      std::make_unique<torch::optim::Adam>(discriminator->parameters(), adam_options(config.train));
}

StepStats Gan::step(const torch::Tensor& real, const torch::Tensor& z) {
  namespace F = torch::nn::functional;
  StepStats stats;
  auto fake = generator->forward(z);  // (N, C, 32, 32)

  // D step. The fake batch is detached: G's graph is kept for its own step below.
  auto real_logits = discriminator->forward(real);           // (N, 1)
  auto fake_logits = discriminator->forward(fake.detach());  // (N, 1)
  auto d_loss = F::binary_cross_entropy_with_logits(real_logits,
                                                    torch::full_like(real_logits, real_label_)) +
                F::binary_cross_entropy_with_logits(fake_logits, torch::zeros_like(fake_logits));
  d_optimizer->zero_grad();
  d_loss.backward();
  d_optimizer->step();

  // G step through the updated D. D's weight gradients are not needed here: freezing its
  // parameters skips computing them (the gradient still flows through D to G).
  set_requires_grad(*discriminator, false);
  auto g_logits = discriminator->forward(fake);
  auto g_loss = F::binary_cross_entropy_with_logits(g_logits, torch::ones_like(g_logits));
  g_optimizer->zero_grad();
  g_loss.backward();
  g_optimizer->step();
  set_requires_grad(*discriminator, true);

  torch::NoGradGuard no_grad;
  stats.d_loss = d_loss.detach();
  stats.g_loss = g_loss.detach();
  stats.d_real = torch::sigmoid(real_logits.detach()).mean();
  stats.d_fake = torch::sigmoid(fake_logits.detach()).mean();
  return stats;
}

torch::Tensor Gan::sample(const torch::Tensor& z) {
  torch::NoGradGuard no_grad;
  generator->eval();
  auto images = generator->forward(z);
  generator->train();
  return images;
}

}  // namespace dcgan
