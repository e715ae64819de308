#include "dcgan/train/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <limits>
#include <optional>

#include "dcgan/data/image_set.h"
#include "dcgan/dist/process_group.h"
#include "dcgan/error.h"
#include "dcgan/io/checkpoint.h"
#include "dcgan/io/file.h"
#include "dcgan/io/generator_file.h"
#include "dcgan/io/png.h"
#include "dcgan/log/log.h"
#include "dcgan/report/report.h"
#include "dcgan/train/device.h"
#include "dcgan/train/evaluation.h"
#include "dcgan/train/gan.h"
#include "dcgan/train/progress.h"
#include "dcgan/train/upconv_choice.h"
#include "cuda_graph_step.h"
#include "global_rng.h"

namespace dcgan {
namespace {

using Clock = std::chrono::steady_clock;

// Independent random streams, so that e.g. changing the grid size does not change training.
constexpr uint64_t kShuffleStream = 1;
constexpr uint64_t kFixedNoiseStream = 2;
constexpr uint64_t kEvalNoiseStream = 3;

long long ll(int64_t value) { return static_cast<long long>(value); }

at::Generator make_cpu_generator(uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

class Trainer {
 public:
  // `data` is loaded and checked before the run directory exists, so bad input leaves nothing.
  // `group`: a distributed run's ranks (nullptr: one process); only rank 0 writes to `run`.
  // `stored_upconv`: the layers' form a resumed run's checkpoint ran as, where it names one.
  // `resume_step`: the step a resumed run's checkpoint is at; a resume with no steps left is
  // refused here, before anything is logged or timed.
  Trainer(Config config, RunDir run, DataSplits data, StopFlag* stop, ProcessGroup* group,
          std::optional<UpconvKind> stored_upconv = std::nullopt,
          std::optional<int64_t> resume_step = std::nullopt)
      : config_(std::move(config)),
        run_(std::move(run)),
        stop_(stop),
        group_(group),
        writer_(group == nullptr || group->rank() == 0),
        logger_(writer_ ? run_.log() : std::string(), !writer_),
        device_(group != nullptr ? resolve_device(config_.run.device, group->local_rank())
                                 : resolve_device(config_.run.device)),
        grid_(parse_grid(config_.sample.grid, "sample.grid")),
        noise_gen_(make_cpu_generator(config_.train.seed)),
        shuffle_gen_(make_cpu_generator(config_.train.seed + kShuffleStream)),
        data_(std::move(data)),
        steps_per_epoch_(data_.train.size() / config_.train.batch_size) {  // drops the last partial batch
    if (resume_step) {
      step_ = *resume_step;
      check_steps_left();
    }
    const int64_t threads =
        configure_threads(config_.run.threads, group_ != nullptr ? group_->local_world_size() : 1);
    if (device_.is_cuda()) at::globalContext().setBenchmarkCuDNN(config_.run.cudnn_benchmark);
    logger_.info("run directory " + run_.root);
    logger_.info("effective config:\n" + to_yaml(config_));
    logger_.info(format("device %s (%lld CPU threads); %s", device_.str().c_str(),
                         ll(threads), describe_build().c_str()));
    if (group_ != nullptr) {
      logger_.info(format("distributed: %d ranks over %s; global batch %lld, %lld per rank; "
                          "batch norm %s", group_->size(), group_->backend().c_str(),
                          ll(config_.train.batch_size), ll(config_.train.batch_size / group_->size()),
                          config_.model.sync_bn ? "over the global batch (model.sync_bn)"
                                                : "per rank"));
    }
    for (const std::string& note : data_.notes) logger_.info("data: " + note);
    logger_.info(format("data: %lld training images (%lld channel%s), %lld test, %lld "
                        "validation; %lld steps/epoch",
                        ll(data_.train.size()), ll(data_.train.channels()),
                        data_.train.channels() == 1 ? "" : "s", ll(data_.test.size()),
                        ll(data_.validation.size()), ll(steps_per_epoch_)));
    const UpconvChoice upconv = choose_training_upconv(config_, data_.train.channels(),
                                                       local_batch(), device_, stored_upconv, group_);
    if (const std::string line = describe_upconv_choice(upconv, config_.model.upconv); !line.empty()) {
      logger_.info(line);
    }
    torch::manual_seed(config_.train.seed);  // weight initialisation
    gan_ = std::make_unique<Gan>(config_, data_.train.channels(), device_, upconv.kind);
    if (group_ != nullptr) gan_->set_process_group(group_, config_.model.sync_bn);
    if (!gan_->bf16_note().empty()) logger_.warn("run.amp is bf16: " + gan_->bf16_note());
    logger_.info(format("G: %lld parameters (%s upconv), D: %lld parameters",
                        ll(count_parameters(*gan_->generator)), upconv_name(gan_->upconv()),
                        ll(count_parameters(*gan_->discriminator))));
  }

  // A new run: the fixed noise, the effective config and a grid of real images.
  void start_fresh() {
    auto fixed_gen = make_cpu_generator(config_.train.seed + kFixedNoiseStream);
    fixed_noise_ = sample_noise(grid_.rows * grid_.cols, config_.model.z_dim, torch::kCPU, fixed_gen);
    if (!writer_) return;
    write_file_atomic(run_.config(), to_yaml(config_));
    const int64_t shown = std::min(grid_.rows * grid_.cols, data_.train.size());
    write_grid_png(run_.real_samples(),
                   to_model_range(data_.train.images.slice(0, 0, shown), torch::kCPU), grid_);
    metrics_ = std::make_unique<MetricsLog>(run_.metrics(), -1);
  }

  void restore(CheckpointReader& reader) {
    reader.read_module("generator", *gan_->generator);
    reader.read_module("discriminator", *gan_->discriminator);
    reader.read_optimizer("g_optimizer", *gan_->g_optimizer);
    reader.read_optimizer("d_optimizer", *gan_->d_optimizer);
    if (gan_->ema_generator) {
      if (reader.has("generator_ema")) {
        reader.read_module("generator_ema", *gan_->ema_generator);
      } else {
        gan_->reset_ema();
        logger_.info("train.ema is on and the checkpoint has no average yet: it starts here");
      }
    }
    if (reader.has("best_fid")) {
      best_fid_ = reader.read_double("best_fid");
      best_step_ = reader.read_int("best_step");
    }
    if (reader.has("last_quality")) last_quality_ = reader.read_tensor("last_quality");
    gan_->set_optimizer_options(config_.train);  // e.g. --set train.lr=... on resume
    step_ = reader.read_int("step");
    epoch_ = reader.read_int("epoch");
    batch_ = reader.read_int("batch");
    order_ = reader.read_tensor("order");
    fixed_noise_ = reader.read_tensor("fixed_noise");
    noise_gen_.set_state(reader.read_tensor("noise_rng"));
    shuffle_gen_.set_state(reader.read_tensor("shuffle_rng"));
    if (batch_ > 0 && order_.numel() != data_.train.size()) {
      throw CheckpointError(reader.path() + ": saved epoch order covers " +
                            std::to_string(order_.numel()) + " images but the training set has " +
                            std::to_string(data_.train.size()) + " (data.train or data.limit changed?)");
    }
    if (fixed_noise_.dim() != 2 || fixed_noise_.size(0) != grid_.rows * grid_.cols) {
      throw ConfigError("key 'sample.grid' cannot change on resume: the run's fixed noise has " +
                        std::to_string(fixed_noise_.size(0)) + " vectors");
    }
    check_steps_left();  // before anything in the run directory changes
    if (writer_) {
      write_file_atomic(run_.config(), to_yaml(config_));
      metrics_ = std::make_unique<MetricsLog>(run_.metrics(), step_);
      // quality.csv too, now rather than at the first measurement, which may come after the
      // next checkpoint or never (eval.every changed): its rows after this step are of the steps
      // about to be repeated.
      std::error_code ignored;
      if (std::filesystem::exists(run_.quality(), ignored)) {
        quality_ = std::make_unique<MetricsLog>(run_.quality(), step_, kQualityHeader);
      }
    }
    logger_.info(format("resumed at step %lld (epoch %lld, batch %lld)", ll(step_), ll(epoch_ + 1),
                         ll(batch_)));
  }

  TrainOutcome run() {
    refresh_report(RunStatus::kRunning);
    TrainOutcome outcome;
    // The report says how the run ended, and train.log's last line what ended it (which the
    // command also prints on stderr).
    try {
      outcome = run_steps(stop_step());
    } catch (const DivergedError& e) {
      ended_early(RunStatus::kDiverged, e);
      throw;
    } catch (const InterruptedError& e) {
      ended_early(RunStatus::kStopped, e);
      throw;
    } catch (const std::exception& e) {
      // Not left saying "running": a full disk, a rank that died, an internal error. (With the
      // disk full the report may not be written either; refresh_report only warns then.)
      ended_early(RunStatus::kFailed, e);
      throw;
    }
    refresh_report(outcome.finished ? RunStatus::kFinished : RunStatus::kStopped);
    logger_.info("report -> " + run_.report());
    return outcome;
  }

 private:
  void ended_early(RunStatus status, const std::exception& cause) {
    refresh_report(status);
    logger_.error_to_file(cause.what());
  }

  // The run's length in steps, and the step training stops at: the end of the last epoch, or
  // train.max_steps before it.
  int64_t total_steps() const { return config_.train.epochs * steps_per_epoch_; }
  int64_t stop_step() const {
    return config_.train.max_steps > 0 ? std::min(total_steps(), config_.train.max_steps)
                                       : total_steps();
  }

  // A resumed run that train.max_steps would stop before its first step, though epochs remain.
  // (A new run starts at step 0, before any stop.)
  void check_steps_left() const {
    if (step_ >= stop_step() && step_ < total_steps()) {
      throw ConfigError("key 'train.max_steps' is " + std::to_string(config_.train.max_steps) +
                        " but the run is already at step " + std::to_string(step_) +
                        "; raise it (0 = no limit) to continue");
    }
  }

  // The steps from step_ to `stop_at` (or the end of the last epoch), then the final samples and
  // checkpoint.
  TrainOutcome run_steps(int64_t stop_at) {
    const TrainOptions& t = config_.train;
    ProgressBar progress(stop_at, step_, isatty(STDOUT_FILENO) == 1);
    auto fixed_noise = fixed_noise_.to(device_);
    window_start_ = Clock::now();
    window_steps_ = 0;

    while (epoch_ < t.epochs && step_ < stop_at) {
      if (batch_ == 0) {
        order_ = config_.data.shuffle ? torch::randperm(data_.train.size(), shuffle_gen_, torch::kLong)
                           : torch::arange(data_.train.size(), torch::kLong);
      }
      while (batch_ < steps_per_epoch_ && step_ < stop_at) {
        // The global batch; a distributed rank takes its share of it, images and noise.
        const int64_t first = batch_ * t.batch_size + rank() * local_batch();
        auto index = order_.slice(0, first, first + local_batch());
        auto real = to_model_range(data_.train.images.index_select(0, index), device_);
        auto z = sample_noise(t.batch_size, config_.model.z_dim, device_, noise_gen_);
        if (local_batch() != t.batch_size) z = z.slice(0, rank() * local_batch(), (rank() + 1) * local_batch());
        StepStats stats = gan_->step(real, z);
        ++batch_;
        ++step_;
        ++window_steps_;
        if (config_.run.dist_verify && group_ != nullptr) verify_replicas();
        if (step_ % t.print_every == 0) {
          progress.clear();
          log_step(stats);
        }
        if (step_ % t.show_every == 0) write_samples(fixed_noise);
        if (config_.eval.every > 0 && step_ % config_.eval.every == 0) {
          progress.clear();
          evaluate();
        }
        if (batch_ == steps_per_epoch_) {
          batch_ = 0;
          ++epoch_;
          progress.clear();
          save_checkpoint();
        }
        progress.update(step_, epoch_, t.epochs);
        if (stop_requested()) {
          progress.clear();
          if (batch_ != 0) save_checkpoint();
          throw InterruptedError("interrupted at step " + std::to_string(step_) +
                                 "; checkpoint saved; continue with: dcgan train --resume " +
                                 run_.root);
        }
        // The epoch is over: back to the outer loop, which draws the next epoch's order. (Going
        // on here would reuse this epoch's order, which a run resumed at the boundary does not.)
        if (batch_ == 0) break;
      }
    }
    progress.clear();
    if (step_ % t.show_every != 0) write_samples(fixed_noise);
    if (batch_ != 0) save_checkpoint();  // stopped mid-epoch (train.max_steps)
    if (verified_steps_ > 0) {
      logger_.info(format("dist_verify: the %d ranks held identical weights after each of %lld "
                          "steps", group_->size(), ll(verified_steps_)));
    }
    TrainOutcome outcome;
    outcome.run_dir = run_.root;
    outcome.steps = step_;
    outcome.epochs = epoch_;
    outcome.finished = epoch_ >= t.epochs;
    outcome.last = last_row_;
    outcome.best_fid = best_fid_;
    outcome.best_step = best_step_;
    if (outcome.finished) {
      logger_.info(format("done: %lld steps, %lld epochs; samples in %s, generator %s", ll(step_),
                           ll(epoch_), run_.samples().c_str(), run_.generator().c_str()));
    } else {
      logger_.info(format("stopped at step %lld (train.max_steps); continue with: dcgan train "
                           "--resume %s --set train.max_steps=0",
                           ll(step_), run_.root.c_str()));
    }
    return outcome;
  }

  // Rewrites <run>/report.html and <run>/status. The report only shows what the run wrote, so
  // failing to write it (a full disk) is said in the log and does not end the run.
  void refresh_report(RunStatus status) {
    if (!writer_) return;
    try {
      write_report(run_.root, status);
    } catch (const std::exception& e) {
      logger_.warn(std::string("the run report was not written: ") + e.what());
    }
  }

  // The quality measurement of eval.every, set up at its first use: its feature network (built
  // now for `auto` when the dataset has none yet) and the real images' features, once. Returns
  // false when quality cannot be measured (said once in the log).
  bool setup_evaluation() {
    if (evaluator_ || evaluation_tried_) return evaluator_ != nullptr;
    evaluation_tried_ = true;
    const ImageSet real = reference_images(data_);
    if (config_.eval.features == "auto" && !data_.train.labels.defined()) {
      logger_.warn("quality is not measured: eval.features is auto and " + config_.data.train +
                   " has no labels to train the feature network on (set eval.features to a "
                   "TorchScript module, or eval.every to 0)");
      return false;
    }
    if (real.size() < 10) {
      logger_.warn(format("quality is not measured: %lld real images, at least 10 are needed",
                          ll(real.size())));
      return false;
    }
    const int64_t num = resolve_eval_num(config_.eval.num, real.size(), "key 'eval.num'");
    std::unique_ptr<FeatureExtractor> features;
    {
      GlobalRngGuard rng;  // building the feature network seeds the global generator
      features = open_features(config_, config_.eval.features, device_, ScriptInput{},
                               [this](const std::string& line) { logger_.info(line); });
    }
    logger_.info(format("quality every %lld steps on %lld images against %s: %s",
                        ll(config_.eval.every), ll(num),
                        data_.test.size() + data_.validation.size() > 0 ? "the test file"
                                                                        : "the training set",
                        features->describe().c_str()));
    evaluator_ = std::make_unique<QualityEvaluator>(std::move(features), real, num,
                                                    config_.train.seed + kEvalNoiseStream, device_);
    if (!quality_) quality_ = std::make_unique<MetricsLog>(run_.quality(), -1, kQualityHeader);
    return true;
  }

  void evaluate() {
    if (!writer_) return;  // the others wait for rank 0 at the next step (run.dist_timeout)
    const auto start = Clock::now();
    if (!setup_evaluation()) return;
    const QualityReport report = evaluator_->evaluate(gan_->sampling_generator());
    // The logged images/s are training's: the measurement's time is left out of the window.
    window_start_ += Clock::now() - start;
    quality_->append_line(format_quality_row(step_, report));
    last_quality_ = torch::tensor({static_cast<double>(step_), static_cast<double>(report.num),
                                   report.fid, report.kid.mean, report.kid.std,
                                   report.manifold.precision, report.manifold.recall,
                                   report.manifold.density, report.manifold.coverage},
                                  torch::kFloat64);
    std::string line = "quality at step " + std::to_string(step_) +
                       (gan_->ema_generator ? " (EMA generator): " : ": ") +
                       describe_quality(report);
    if (!(report.fid >= best_fid_) && std::isfinite(report.fid)) {  // lower, or the first
      best_fid_ = report.fid;
      best_step_ = step_;
      save_generator_file(run_.best_generator(), config_, data_.train.channels(), gan_->generator,
                          gan_->ema_generator ? &gan_->ema_generator : nullptr);
      line += " | best so far -> " + run_.best_generator();
    }
    logger_.info(line);
  }

  void log_step(const StepStats& stats) {
    MetricsRow row;
    row.step = step_;
    row.epoch = epoch_ + (batch_ == 0 ? 0 : 1);
    const torch::Device on = group_ != nullptr ? group_->device() : torch::Device(torch::kCPU);
    torch::Tensor values = torch::stack({stats.d_loss, stats.g_loss, stats.d_real, stats.d_fake})
                               .to(on, torch::kDouble);
    // A distributed run logs the mean over ranks: the statistics of the global batch.
    if (group_ != nullptr) group_->all_reduce_mean({values}, "averaging the logged losses");
    values = values.to(torch::kCPU);
    // Timed after the copy, which waits for the device: on a GPU the host only queues the steps
    // (with CUDA graphs it ran 8x ahead), and the window must end when the device has done them.
    const double seconds = std::chrono::duration<double>(Clock::now() - window_start_).count();
    row.d_loss = values[0].item<double>();
    row.g_loss = values[1].item<double>();
    row.d_real = values[2].item<double>();
    row.d_fake = values[3].item<double>();
    row.images_per_sec =
        seconds > 0 ? static_cast<double>(window_steps_ * config_.train.batch_size) / seconds : 0.0;
    if (!std::isfinite(row.d_loss) || !std::isfinite(row.g_loss)) {
      throw DivergedError("training diverged at step " + std::to_string(step_) + ": d_loss " +
                          std::to_string(row.d_loss) + ", g_loss " + std::to_string(row.g_loss) +
                          "; the last good checkpoint is kept in " + run_.checkpoint());
    }
    if (metrics_) metrics_->append(row);
    last_row_ = row;
    logger_.info(format("epoch %lld/%lld step %lld | d_loss %.4f g_loss %.4f | D(x) %.3f D(G(z)) %.3f "
                         "| %.1f img/s",
                         ll(row.epoch), ll(config_.train.epochs), ll(step_), row.d_loss, row.g_loss,
                         row.d_real, row.d_fake, row.images_per_sec));
    window_start_ = Clock::now();
    window_steps_ = 0;
  }

  void write_samples(const torch::Tensor& fixed_noise) {
    if (!writer_) return;
    write_grid_png(run_.step_samples(step_), gan_->sample(fixed_noise).to(torch::kCPU), grid_);
  }

  void check_finite_weights() {
    for (auto* module : {static_cast<torch::nn::Module*>(gan_->generator.get()),
                         static_cast<torch::nn::Module*>(gan_->discriminator.get())}) {
      for (const auto& p : module->named_parameters()) {
        if (!torch::isfinite(p.value()).all().item<bool>()) {
          throw DivergedError("training diverged at step " + std::to_string(step_) + ": weight '" +
                              p.key() + "' is not finite; the last good checkpoint is kept in " +
                              run_.checkpoint());
        }
      }
    }
  }

  // checkpoint.pt (everything needed to continue exactly) and generator.pt, each atomically.
  void save_checkpoint() {
    check_finite_weights();
    if (!writer_) return;
    // The logs first: a resume keeps their rows up to the checkpoint's step, which must then be
    // on disk whenever the checkpoint is, power loss included.
    if (metrics_) metrics_->sync();
    if (quality_) quality_->sync();
    CheckpointWriter writer(CheckpointKind::kTraining);
    writer.write_string("config", to_yaml(config_));
    writer.write_int("channels", data_.train.channels());
    writer.write_string("upconv", upconv_name(gan_->upconv()));  // model.upconv's resolved form
    writer.write_module("generator", *gan_->generator);
    writer.write_module("discriminator", *gan_->discriminator);
    writer.write_optimizer("g_optimizer", *gan_->g_optimizer);
    writer.write_optimizer("d_optimizer", *gan_->d_optimizer);
    if (gan_->ema_generator) writer.write_module("generator_ema", *gan_->ema_generator);
    if (best_step_ >= 0) {
      writer.write_double("best_fid", best_fid_);
      writer.write_int("best_step", best_step_);
    }
    // The last measurement, as quality.csv's columns step..coverage.
    if (last_quality_.defined()) writer.write_tensor("last_quality", last_quality_);
    writer.write_int("step", step_);
    writer.write_int("epoch", epoch_);
    writer.write_int("batch", batch_);
    writer.write_tensor("order", order_.defined() ? order_ : torch::empty({0}, torch::kLong));
    writer.write_tensor("fixed_noise", fixed_noise_);
    writer.write_tensor("noise_rng", noise_gen_.get_state());
    writer.write_tensor("shuffle_rng", shuffle_gen_.get_state());
    writer.save(run_.checkpoint());
    save_generator_file(run_.generator(), config_, data_.train.channels(), gan_->generator,
                        gan_->ema_generator ? &gan_->ema_generator : nullptr);
    logger_.info(format("checkpoint at step %lld -> %s", ll(step_), run_.checkpoint().c_str()));
    refresh_report(RunStatus::kRunning);
  }

  int64_t rank() const { return group_ != nullptr ? group_->rank() : 0; }
  // This process's share of the global batch.
  int64_t local_batch() const {
    return group_ != nullptr ? config_.train.batch_size / group_->size() : config_.train.batch_size;
  }

  // A stop asked for by a signal; in a distributed run, asked for on any rank (they all stop
  // after the same step, so rank 0's checkpoint is every rank's state).
  bool stop_requested() {
    const int requests = stop_ != nullptr ? stop_->requests.load() : 0;
    if (group_ == nullptr) return requests > 0;
    torch::Tensor flag = torch::tensor({static_cast<float>(requests > 0 ? 1 : 0)},
                                       torch::TensorOptions().device(group_->device()));
    group_->all_reduce_sum({flag}, "agreeing on a stop at step " + std::to_string(step_));
    return flag.item<float>() > 0;
  }

  // run.dist_verify: every rank's weights, bit for bit, against rank 0's.
  void verify_replicas() {
    int64_t sum = 0, weighted = 0;
    for (auto* module : {static_cast<torch::nn::Module*>(gan_->generator.get()),
                         static_cast<torch::nn::Module*>(gan_->discriminator.get())}) {
      for (const auto& p : module->parameters()) {
        const torch::Tensor bits =
            p.detach().to(torch::kCPU).contiguous().view(torch::kInt).reshape({-1}).to(torch::kLong);
        const torch::Tensor position = torch::arange(bits.numel(), torch::kLong).remainder_(65521).add_(1);
        sum += bits.sum().item<int64_t>();
        weighted += (bits * position).sum().item<int64_t>();
      }
    }
    const auto all = group_->all_gather({sum, weighted}, "comparing weights at step " + std::to_string(step_));
    for (size_t r = 1; r < all.size(); ++r) {
      if (all[r] != all[0]) {
        throw DistributedError(format("rank %d: rank %zu's weights differ from rank 0's after step %lld "
                                      "(run.dist_verify)", group_->rank(), r, ll(step_)));
      }
    }
    ++verified_steps_;
  }

  Config config_;
  RunDir run_;
  StopFlag* stop_;
  ProcessGroup* group_;
  bool writer_;  // rank 0 of a distributed run, or the one process
  int64_t verified_steps_ = 0;
  RunLog logger_;
  torch::Device device_;
  GridSize grid_;
  at::Generator noise_gen_;
  at::Generator shuffle_gen_;
  DataSplits data_;
  int64_t steps_per_epoch_;
  std::unique_ptr<Gan> gan_;
  std::unique_ptr<MetricsLog> metrics_;
  std::unique_ptr<QualityEvaluator> evaluator_;  // eval.every > 0
  std::unique_ptr<MetricsLog> quality_;
  bool evaluation_tried_ = false;  // set up once; a run that cannot measure says so once
  double best_fid_ = std::numeric_limits<double>::infinity();
  int64_t best_step_ = -1;
  torch::Tensor last_quality_;  // (9) float64: step, num, fid, kid_mean, ..., coverage
  torch::Tensor fixed_noise_;  // (rows*cols, z_dim) on the CPU
  torch::Tensor order_;        // this epoch's image order, (N) int64
  int64_t step_ = 0;   // steps done
  int64_t epoch_ = 0;  // epochs completed
  int64_t batch_ = 0;  // batches done in the current epoch
  Clock::time_point window_start_;
  int64_t window_steps_ = 0;
  MetricsRow last_row_;
};

// Everything that can fail on the user's input, checked before a run directory is touched.
DataSplits load_checked_data(const Config& config) {
  validate(config);
  const torch::Device device = resolve_device(config.run.device);
  if (config.run.cuda_graphs) check_cuda_graphs(device);
  if (config.data.train.empty()) {
    throw ConfigError("key 'data.train' is empty: name the training file");
  }
  if (config.eval.every > 0 && config.eval.features != "auto") {
    load_feature_extractor(config.eval.features, torch::kCPU);  // a wrong file fails here
  }
  // Progress goes to the console as it happens; the rest into the run's log once it exists.
  std::vector<std::string> notes;
  DataSplits data = load_data(config.data, load_context(config, [&notes](const std::string& line) {
                                if (line.find(": decoded ") != std::string::npos) {
                                  std::printf("%s\n", line.c_str());
                                  std::fflush(stdout);
                                } else {
                                  notes.push_back(line);
                                }
                              }));
  data.notes = std::move(notes);
  if (data.train.size() < config.train.batch_size) {
    throw ConfigError("key 'train.batch_size' is " + std::to_string(config.train.batch_size) +
                      " but the training set has only " + std::to_string(data.train.size()) +
                      " images");
  }
  if (config.eval.every > 0 && config.eval.num > 0) {
    resolve_eval_num(config.eval.num, reference_images(data).size(), "key 'eval.num'");
  }
  return data;
}

// Every rank must run the same config on the same data (the same seed, schedule and model): a
// hash of each, compared when the ranks have joined, before anything is written. The device is
// left out: each rank has its own.
void check_same_run(ProcessGroup& group, const Config& config, const DataSplits& data) {
  Config canonical = config;
  canonical.run.device = "auto";
  const std::string text = to_yaml(canonical) + "\ntrain images " + std::to_string(data.train.size()) +
                           " channels " + std::to_string(data.train.channels());
  uint64_t hash = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
  const auto hashes = group.all_gather({static_cast<int64_t>(hash)}, "comparing configs");
  std::string differing;
  for (size_t r = 1; r < hashes.size(); ++r) {
    if (hashes[r][0] != hashes[0][0]) differing += (differing.empty() ? "" : ", ") + std::to_string(r);
  }
  if (!differing.empty()) {
    throw DistributedError(format(
        "rank %d: the config or training data of rank(s) %s differ from rank 0's (the effective "
        "config with overrides, and the number of images): start every rank the same way",
        group.rank(), differing.c_str()));
  }
}

// Joins the distributed run `dist` describes (nullptr when there is none).
std::unique_ptr<ProcessGroup> join_group(const Config& config, const std::optional<DistEnv>& dist) {
  if (!dist) return nullptr;
  if (config.train.batch_size % dist->world_size != 0) {
    throw ConfigError(format("key 'train.batch_size' is %lld, the global batch, which must split "
                             "evenly over the %d ranks (WORLD_SIZE)",
                             ll(config.train.batch_size), dist->world_size));
  }
  const torch::Device device = resolve_device(config.run.device, dist->local_rank);
  return ProcessGroup::join(*dist, config.run.dist_backend, device,
                            std::chrono::seconds(config.run.dist_timeout));
}

}  // namespace

TrainOutcome train_new(const Config& config, const std::string& stem, StopFlag* stop,
                       const std::optional<DistEnv>& dist) {
  DataSplits data = load_checked_data(config);
  std::unique_ptr<ProcessGroup> group = join_group(config, dist);
  if (group != nullptr) check_same_run(*group, config, data);
  RunDir run;
  if (group == nullptr) {
    run = create_run_dir(config.run.out_dir, config.run.name, stem);
  } else {
    // Rank 0 makes the run directory and tells the others its name ("" when it could not).
    std::exception_ptr failure;
    if (group->rank() == 0) {
      try {
        run = create_run_dir(config.run.out_dir, config.run.name, stem);
      } catch (...) {
        failure = std::current_exception();
      }
    }
    run.root = group->broadcast_string(run.root, "sharing the run directory");
    if (failure) std::rethrow_exception(failure);
    if (run.root.empty()) {
      throw DistributedError(format("rank %d: rank 0 could not make the run directory (its error "
                                    "says why)", group->rank()));
    }
  }
  Trainer trainer(config, run, std::move(data), stop, group.get());
  trainer.start_fresh();
  return trainer.run();
}

TrainOutcome train_resume(const std::string& run_dir, const std::vector<std::string>& overrides,
                          StopFlag* stop, const std::optional<DistEnv>& dist) {
  // Only the writer tidies the directory; every rank reads the checkpoint.
  RunDir run = dist && dist->rank != 0 ? RunDir{run_dir} : open_run_dir(run_dir);
  CheckpointReader reader(run.checkpoint());
  reader.expect_kind(CheckpointKind::kTraining);
  Config config;
  try {
    apply_yaml_string(config, reader.read_string("config"), run.checkpoint() + " (stored config)");
  } catch (const ConfigError& e) {
    throw CheckpointError(e.what());
  }
  const int64_t stored_size = config.model.image_size;
  const int64_t stored_batch = config.train.batch_size;
  for (const auto& assignment : overrides) apply_override(config, assignment);
  if (config.model.image_size != stored_size) {
    throw ConfigError("key 'model.image_size' cannot change on resume: " + run.checkpoint() +
                      " holds a model of " + std::to_string(stored_size) + "x" +
                      std::to_string(stored_size) + " images");
  }
  // The step count and the place in the epoch are in batches: with another size the epoch would
  // go on from the wrong image (or never end), and the run's length in steps would change.
  if (config.train.batch_size != stored_batch) {
    throw ConfigError("key 'train.batch_size' cannot change on resume: " + run.checkpoint() +
                      " counts its steps in batches of " + std::to_string(stored_batch) +
                      " images");
  }
  DataSplits data = load_checked_data(config);
  std::unique_ptr<ProcessGroup> group = join_group(config, dist);
  if (group != nullptr) check_same_run(*group, config, data);
  // A checkpoint written before the form was recorded ran `auto` beyond 2 threads as LibTorch's
  // layers: it goes on in them there.
  std::optional<UpconvKind> stored_upconv = UpconvKind::kNative;
  if (reader.has("upconv")) stored_upconv = parse_upconv_kind(reader.read_string("upconv"));
  Trainer trainer(config, run, std::move(data), stop, group.get(), stored_upconv,
                  reader.read_int("step"));
  trainer.restore(reader);
  return trainer.run();
}

}  // namespace dcgan
