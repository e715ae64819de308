#include "dcgan/eval/features.h"

#include <torch/script.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "dcgan/error.h"
#include "dcgan/io/checkpoint.h"

namespace dcgan {
namespace {

namespace nn = torch::nn;

// Appends conv (no bias: batch norm follows) -> batch norm -> ReLU.
void add_stage(nn::Sequential& body, int64_t in, int64_t out, int64_t kernel, int64_t stride,
               int64_t padding) {
  body->push_back(
      nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false)));
  body->push_back(nn::BatchNorm2d(out));
  body->push_back(nn::ReLU(nn::ReLUOptions().inplace(true)));
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// Share of `labels` that the argmax of `net` on `images` gets right.
double accuracy(FeatureNet& net, const ImageSet& set, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  net->eval();
  int64_t right = 0;
  for (int64_t first = 0; first < set.size(); first += 500) {
    const int64_t n = std::min<int64_t>(500, set.size() - first);
    auto images = to_model_range(set.images.narrow(0, first, n), device);
    auto predicted = net->forward(images).argmax(1).to(torch::kCPU);
    right += predicted.eq(set.labels.narrow(0, first, n)).sum().item<int64_t>();
  }
  return set.size() > 0 ? static_cast<double>(right) / static_cast<double>(set.size()) : 0.0;
}

class FeatureNetExtractor : public FeatureExtractor {
 public:
  FeatureNetExtractor(TrainedFeatureNet trained, std::string path)
      : trained_(std::move(trained)), path_(std::move(path)) {}

  torch::Tensor extract(const torch::Tensor& images) override {
    if (images.size(1) != trained_.net->options().channels) {
      throw ConfigError(path_ + ": a feature network for " +
                        std::to_string(trained_.net->options().channels) +
                        "-channel images cannot measure " + std::to_string(images.size(1)) +
                        "-channel images");
    }
    trained_.net->eval();
    // The network is trained on 32x32 images: larger ones (model.image_size 64) are reduced first.
    if (images.size(2) != kFeatureNetSize || images.size(3) != kFeatureNetSize) {
      namespace F = torch::nn::functional;
      return trained_.net->features(
          F::interpolate(images, F::InterpolateFuncOptions()
                                     .size(std::vector<int64_t>{kFeatureNetSize, kFeatureNetSize})
                                     .mode(torch::kBilinear)
                                     .align_corners(false)
                                     .antialias(true)));
    }
    return trained_.net->features(images);
  }

  std::string describe() const override {
    char text[256];
    std::snprintf(text, sizeof text, "feature network %s (%lld-d, test accuracy %.2f %% on %s)",
                  path_.c_str(), static_cast<long long>(8 * trained_.net->options().width),
                  100.0 * trained_.test_accuracy, trained_.source.c_str());
    return text;
  }

 private:
  TrainedFeatureNet trained_;
  std::string path_;
};

class ScriptExtractor : public FeatureExtractor {
 public:
  ScriptExtractor(torch::jit::Module module, std::string path, int64_t size, double low,
                  double high, int64_t channels)
      : module_(std::move(module)),
        path_(std::move(path)),
        size_(size),
        low_(low),
        high_(high),
        channels_(channels) {}

  torch::Tensor extract(const torch::Tensor& images) override {
    torch::Tensor x = images;
    if (channels_ == 3 && x.size(1) == 1) x = x.expand({-1, 3, -1, -1});
    if (channels_ > 0 && x.size(1) != channels_) {
      throw ConfigError(path_ + ": the module takes " + std::to_string(channels_) +
                        "-channel images, these have " + std::to_string(x.size(1)));
    }
    if (size_ > 0 && (x.size(2) != size_ || x.size(3) != size_)) {
      namespace F = torch::nn::functional;
      x = F::interpolate(x, F::InterpolateFuncOptions()
                                .size(std::vector<int64_t>{size_, size_})
                                .mode(torch::kBilinear)
                                .align_corners(false));
    }
    x = (x + 1.0) * ((high_ - low_) / 2.0) + low_;  // [-1, 1] -> [low, high]
    c10::IValue out;
    try {
      out = module_.forward({x.contiguous()});
    } catch (const c10::Error& e) {
      throw ConfigError(path_ + ": the module failed on " + std::to_string(x.size(0)) + "x" +
                        std::to_string(x.size(1)) + "x" + std::to_string(x.size(2)) + "x" +
                        std::to_string(x.size(3)) +
                        " images: " + first_line(e.what_without_backtrace()));
    }
    if (out.isTuple()) out = out.toTupleRef().elements().at(0);
    if (out.isList()) out = out.toListRef().at(0);
    if (!out.isTensor()) throw ConfigError(path_ + ": the module must return a tensor of features");
    torch::Tensor features = out.toTensor();
    if (features.dim() < 2 || features.size(0) != x.size(0)) {
      throw ConfigError(path_ + ": the module must return (N, D) features for N images");
    }
    return features.reshape({features.size(0), -1});
  }

  std::string describe() const override {
    char text[256];
    std::snprintf(text, sizeof text, "TorchScript %s (input %s, range [%g, %g], channels %lld (0: as is))",
                  path_.c_str(),
                  size_ > 0 ? (std::to_string(size_) + "x" + std::to_string(size_)).c_str()
                            : "as is",
                  low_, high_, static_cast<long long>(std::max<int64_t>(channels_, 0)));
    return text;
  }

 private:
  torch::jit::Module module_;
  std::string path_;
  int64_t size_;
  double low_, high_;
  int64_t channels_;
};

std::optional<double> as_number(const c10::IValue& value) {
  if (value.isInt()) return static_cast<double>(value.toInt());
  if (value.isDouble()) return value.toDouble();
  return std::nullopt;
}

// An attribute of a scripted module as a number; nullopt when it has none, ConfigError when it
// has one of another type.
std::optional<double> number_attr(const torch::jit::Module& module, const std::string& path,
                                  const char* name) {
  if (!module.hasattr(name)) return std::nullopt;
  const auto number = as_number(module.attr(name));
  if (!number) throw ConfigError(path + ": attribute '" + name + "' must be a number");
  return number;
}

// `input_range` as [low, high] (a list or tuple of two numbers).
std::optional<std::pair<double, double>> range_attr(const torch::jit::Module& module,
                                                    const std::string& path) {
  if (!module.hasattr("input_range")) return std::nullopt;
  const c10::IValue value = module.attr("input_range");
  std::vector<c10::IValue> items;
  if (value.isList()) items = value.toListRef().vec();
  if (value.isTuple()) items = value.toTupleRef().elements().vec();
  std::vector<double> numbers;
  for (const c10::IValue& item : items) {
    if (const auto number = as_number(item)) numbers.push_back(*number);
  }
  if (numbers.size() != 2 || numbers.size() != items.size()) {
    throw ConfigError(path + ": attribute 'input_range' must be two numbers [low, high]");
  }
  return std::make_pair(numbers[0], numbers[1]);
}

}  // namespace

FeatureNetImpl::FeatureNetImpl(const FeatureNetOptions& options) : options_(options) {
  const int64_t w = options.width;
  nn::Sequential body;
  add_stage(body, options.channels, w, 3, 1, 1);  // 32x32
  add_stage(body, w, 2 * w, 4, 2, 1);             // 16x16
  add_stage(body, 2 * w, 4 * w, 4, 2, 1);         // 8x8
  add_stage(body, 4 * w, 8 * w, 4, 2, 1);         // 4x4
  body_ = register_module("body", body);
  head_ = register_module("head", nn::Linear(8 * w, options.classes));
}

torch::Tensor FeatureNetImpl::features(const torch::Tensor& images) {
  return body_->forward(images).mean({2, 3});
}

torch::Tensor FeatureNetImpl::forward(const torch::Tensor& images) {
  return head_->forward(features(images));
}

TrainedFeatureNet train_feature_net(const ImageSet& train_in, const ImageSet& test_in,
                                    const FeatureTrainOptions& options, const torch::Device& device,
                                    const std::string& source,
                                    const std::function<void(const std::string&)>& log) {
  if (!train_in.labels.defined() || train_in.labels.numel() != train_in.size()) {
    throw DataError(source + ": labels expected to train the feature network, found none (SVHN's "
                    "'y', or an IDX label file beside the images; or set eval.features to a "
                    "TorchScript module)");
  }
  ImageSet train = train_in;
  ImageSet test = test_in;
  if (test.size() == 0 || !test.labels.defined() || test.labels.numel() != test.size()) {
    std::tie(train, test) = split_validation(train_in, 0.1);  // the last tenth held out
  }
  if (train.size() < 10 || test.size() < 1) {
    throw DataError(source + ": at least 11 labelled images expected to train the feature "
                    "network, found " + std::to_string(train_in.size()));
  }
  const int64_t low = train.labels.min().item<int64_t>();
  const int64_t classes = train.labels.max().item<int64_t>() + 1;
  if (low < 0 || classes < 2 || classes > 1000) {
    throw DataError(source + ": labels 0..K-1 with 2 <= K <= 1000 expected to train the feature "
                    "network, found labels from " + std::to_string(low) + " to " +
                    std::to_string(classes - 1));
  }

  torch::manual_seed(options.seed);
  FeatureNetOptions net_options;
  net_options.channels = train.channels();
  net_options.classes = classes;
  net_options.width = options.width;
  FeatureNet net(net_options);
  net->to(device);
  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(options.lr));
  auto shuffle = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  const int64_t batch = std::min(options.batch_size, train.size());
  const int64_t steps = train.size() / batch;
  for (int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    net->train();
    auto order = torch::randperm(train.size(), shuffle, torch::kLong);
    double loss_sum = 0;
    for (int64_t step = 0; step < steps; ++step) {
      auto index = order.narrow(0, step * batch, batch);
      auto images = to_model_range(train.images.index_select(0, index), device);
      auto labels = train.labels.index_select(0, index).to(device);
      optimizer.zero_grad();
      auto loss = torch::nn::functional::cross_entropy(net->forward(images), labels);
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>();
    }
    char line[160];
    std::snprintf(line, sizeof line, "feature network epoch %lld/%lld: loss %.4f, accuracy %.2f %%",
                  static_cast<long long>(epoch + 1), static_cast<long long>(options.epochs),
                  loss_sum / static_cast<double>(std::max<int64_t>(steps, 1)),
                  100.0 * accuracy(net, test, device));
    if (log) log(line);
  }
  net->eval();
  TrainedFeatureNet trained;
  trained.net = net;
  trained.test_accuracy = accuracy(net, test, device);
  trained.train_images = train.size();
  trained.test_images = test.size();
  trained.source = source;
  return trained;
}

void save_feature_net(const std::string& path, const TrainedFeatureNet& trained) {
  CheckpointWriter writer(CheckpointKind::kFeatures);
  const FeatureNetOptions& o = trained.net->options();
  writer.write_int("channels", o.channels);
  writer.write_int("classes", o.classes);
  writer.write_int("width", o.width);
  writer.write_double("test_accuracy", trained.test_accuracy);
  writer.write_int("train_images", trained.train_images);
  writer.write_int("test_images", trained.test_images);
  writer.write_string("source", trained.source);
  writer.write_module("net", *trained.net);
  writer.save(path);
}

TrainedFeatureNet load_feature_net(const std::string& path, const torch::Device& device) {
  CheckpointReader reader(path);
  reader.expect_kind(CheckpointKind::kFeatures);
  FeatureNetOptions o;
  o.channels = reader.read_int("channels");
  o.classes = reader.read_int("classes");
  o.width = reader.read_int("width");
  if ((o.channels != 1 && o.channels != 3) || o.classes < 2 || o.classes > 1000 || o.width < 1 ||
      o.width > 1024) {
    throw CheckpointError(path + ": feature network shape out of range (corrupt?)");
  }
  TrainedFeatureNet trained;
  trained.net = FeatureNet(o);
  reader.read_module("net", *trained.net);
  trained.net->to(device);
  trained.net->eval();
  trained.test_accuracy = reader.read_double("test_accuracy");
  trained.train_images = reader.read_int("train_images");
  trained.test_images = reader.read_int("test_images");
  trained.source = reader.read_string("source");
  return trained;
}

std::unique_ptr<FeatureExtractor> load_feature_extractor(const std::string& path,
                                                         const torch::Device& device,
                                                         const ScriptInput& input) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    throw CheckpointError(path + ": cannot open the feature network (missing?)");
  }
  if (is_dcgan_checkpoint(path)) {
    // A generator file or a training checkpoint is refused here, naming what it is.
    return std::make_unique<FeatureNetExtractor>(load_feature_net(path, device), path);
  }
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, device);
  } catch (const std::exception& e) {
    throw CheckpointError(path + ": neither a dcgan feature network nor a TorchScript module (" +
                          first_line(e.what()) + ")");
  }
  if (!module.find_method("forward")) {
    throw CheckpointError(path + ": the TorchScript module has no forward method");
  }
  module.eval();
  const auto range = range_attr(module, path);
  const int64_t size =
      input.size ? *input.size
                 : static_cast<int64_t>(number_attr(module, path, "input_size").value_or(0));
  const double low = input.low ? *input.low : range ? range->first : -1.0;
  const double high = input.high ? *input.high : range ? range->second : 1.0;
  const int64_t channels =
      input.channels ? *input.channels
                     : static_cast<int64_t>(number_attr(module, path, "input_channels").value_or(0));
  if (size < 0 || size > 4096) {
    throw ConfigError(path + ": input size 0..4096 expected, found " + std::to_string(size));
  }
  if (!(high > low) || !std::isfinite(low) || !std::isfinite(high)) {
    throw ConfigError(path + ": an input range LOW,HIGH with LOW < HIGH expected");
  }
  if (channels != 0 && channels != 1 && channels != 3) {
    throw ConfigError(path + ": input channels 1 or 3 expected, found " + std::to_string(channels));
  }
  return std::make_unique<ScriptExtractor>(std::move(module), path, size, low, high,
                                           channels == 0 ? -1 : channels);
}

torch::Tensor extract_features(FeatureExtractor& extractor,
                               const std::function<torch::Tensor(int64_t, int64_t)>& images,
                               int64_t total, int64_t batch) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (int64_t first = 0; first < total; first += batch) {
    const int64_t n = std::min(batch, total - first);
    parts.push_back(extractor.extract(images(first, n)).to(torch::kCPU, torch::kFloat64));
  }
  return torch::cat(parts, 0);
}

}  // namespace dcgan
