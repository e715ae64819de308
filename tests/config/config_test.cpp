// Tests of the config module: defaults, YAML and --set, every error message, validate, to_yaml.
#include "dcgan/config/config.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "dcgan/error.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

// Runs `action` and returns the ConfigError message it throws ("<no error>" if none).
std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

std::string yaml_error(const std::string& yaml) {
  return error_of([&] {
    Config config;
    apply_yaml_string(config, yaml, "cfg.yaml");
  });
}

// Field-for-field equality, each mismatch reported by key.
void expect_same(const Config& a, const Config& b) {
  EXPECT_EQ(a.data.format, b.data.format);
  EXPECT_EQ(a.data.train, b.data.train);
  EXPECT_EQ(a.data.test, b.data.test);
  EXPECT_EQ(a.data.val_fraction, b.data.val_fraction);
  EXPECT_EQ(a.data.shuffle, b.data.shuffle);
  EXPECT_EQ(a.data.limit, b.data.limit);
  EXPECT_EQ(a.model.z_dim, b.model.z_dim);
  EXPECT_EQ(a.model.g_channels, b.model.g_channels);
  EXPECT_EQ(a.model.d_channels, b.model.d_channels);
  EXPECT_EQ(a.model.leaky_slope, b.model.leaky_slope);
  EXPECT_EQ(a.model.bn_eps, b.model.bn_eps);
  EXPECT_EQ(a.model.bn_momentum, b.model.bn_momentum);
  EXPECT_EQ(a.model.init, b.model.init);
  EXPECT_EQ(a.model.init_std, b.model.init_std);
  EXPECT_EQ(a.model.upconv, b.model.upconv);
  EXPECT_EQ(a.train.epochs, b.train.epochs);
  EXPECT_EQ(a.train.batch_size, b.train.batch_size);
  EXPECT_EQ(a.train.lr, b.train.lr);
  EXPECT_EQ(a.train.beta1, b.train.beta1);
  EXPECT_EQ(a.train.beta2, b.train.beta2);
  EXPECT_EQ(a.train.label_smoothing, b.train.label_smoothing);
  EXPECT_EQ(a.train.seed, b.train.seed);
  EXPECT_EQ(a.train.print_every, b.train.print_every);
  EXPECT_EQ(a.train.show_every, b.train.show_every);
  EXPECT_EQ(a.train.max_steps, b.train.max_steps);
  EXPECT_EQ(a.run.out_dir, b.run.out_dir);
  EXPECT_EQ(a.run.name, b.run.name);
  EXPECT_EQ(a.run.device, b.run.device);
  EXPECT_EQ(a.run.threads, b.run.threads);
  EXPECT_EQ(a.run.amp, b.run.amp);
  EXPECT_EQ(a.run.cudnn_benchmark, b.run.cudnn_benchmark);
  EXPECT_EQ(a.run.cuda_graphs, b.run.cuda_graphs);
  EXPECT_EQ(a.sample.grid, b.sample.grid);
}

TEST(ConfigDefaults, MatchTheHeader) {
  const Config c;
  EXPECT_EQ(c.data.format, "svhn_mat");
  EXPECT_EQ(c.data.train, "");
  EXPECT_EQ(c.data.test, "");
  EXPECT_EQ(c.data.val_fraction, 0.5);
  EXPECT_TRUE(c.data.shuffle);
  EXPECT_EQ(c.data.limit, 0);
  EXPECT_EQ(c.model.z_dim, 100);
  EXPECT_EQ(c.model.g_channels, 512);
  EXPECT_EQ(c.model.d_channels, 64);
  EXPECT_EQ(c.model.leaky_slope, 0.2);
  EXPECT_EQ(c.model.bn_eps, 1e-3);
  EXPECT_EQ(c.model.bn_momentum, 0.01);
  EXPECT_EQ(c.model.init, "xavier_uniform");
  EXPECT_EQ(c.model.init_std, 0.02);
  EXPECT_EQ(c.model.upconv, "auto");
  EXPECT_EQ(c.train.epochs, 25);
  EXPECT_EQ(c.train.batch_size, 128);
  EXPECT_EQ(c.train.lr, 2e-4);
  EXPECT_EQ(c.train.beta1, 0.5);
  EXPECT_EQ(c.train.beta2, 0.999);
  EXPECT_EQ(c.train.label_smoothing, 0.1);
  EXPECT_EQ(c.train.seed, 0u);
  EXPECT_EQ(c.train.print_every, 10);
  EXPECT_EQ(c.train.show_every, 100);
  EXPECT_EQ(c.train.max_steps, 0);
  EXPECT_EQ(c.run.out_dir, "runs");
  EXPECT_EQ(c.run.name, "");
  EXPECT_EQ(c.run.device, "auto");
  EXPECT_EQ(c.run.threads, 0);
  EXPECT_EQ(c.run.amp, "none");
  EXPECT_TRUE(c.run.cudnn_benchmark);
  EXPECT_FALSE(c.run.cuda_graphs);
  EXPECT_EQ(c.sample.grid, "6x12");
  EXPECT_EQ(c.train.ema, 0.0);
  EXPECT_EQ(c.eval.every, 1000);
  EXPECT_EQ(c.eval.num, 0);
  EXPECT_EQ(c.eval.features, "auto");
}

TEST(ConfigDefaults, PassValidation) { EXPECT_NO_THROW(validate(Config{})); }

TEST(ConfigKeys, ListsEveryKeyInDeclarationOrderAndNothingElse) {
  const std::vector<std::string> expected = {
      "data.format",       "data.train",        "data.test",
      "data.val_fraction", "data.shuffle",      "data.limit",
      "data.channels",     "data.strict",       "data.cache",
      "model.image_size",  "model.z_dim",       "model.g_channels",  "model.d_channels",
      "model.leaky_slope", "model.bn_eps",      "model.bn_momentum",
      "model.init",        "model.init_std",    "model.upconv",      "model.sync_bn",
      "train.epochs",      "train.batch_size",  "train.lr",
      "train.beta1",       "train.beta2",       "train.label_smoothing",
      "train.seed",        "train.print_every", "train.show_every",
      "train.max_steps",   "train.ema",         "run.out_dir",
      "run.name",          "run.device",        "run.threads",
      "run.amp",           "run.cudnn_benchmark", "run.cuda_graphs",
      "run.dist_backend",  "run.dist_timeout",  "run.dist_verify",
      "sample.grid",       "eval.every",        "eval.num",
      "eval.features",     "eval.feature_epochs"};
  EXPECT_EQ(config_keys(), expected);
}

TEST(Validate, DistributedKeys) {
  Config config;
  config.run.dist_backend = "mpi";
  try {
    validate(config);
    ADD_FAILURE() << "run.dist_backend mpi accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("run.dist_backend"), std::string::npos) << e.what();
  }
  config = Config{};
  config.run.dist_timeout = 0;
  try {
    validate(config);
    ADD_FAILURE() << "run.dist_timeout 0 accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "key 'run.dist_timeout' must be at least 1 (seconds), got 0");
  }
  config = Config{};
  config.run.dist_backend = "nccl";
  config.model.sync_bn = true;
  config.run.dist_verify = true;
  EXPECT_NO_THROW(validate(config));
}

struct SetCase {
  std::string key;
  std::string text;
  std::function<bool(const Config&)> holds;
};

TEST(SetKey, ParsesEachType) {
  const std::vector<SetCase> cases = {
      {"train.epochs", "7", [](const Config& c) { return c.train.epochs == 7; }},
      {"data.limit", "-3", [](const Config& c) { return c.data.limit == -3; }},
      {"data.limit", "9223372036854775807",
       [](const Config& c) { return c.data.limit == std::numeric_limits<int64_t>::max(); }},
      {"train.seed", "18446744073709551615",
       [](const Config& c) { return c.train.seed == std::numeric_limits<uint64_t>::max(); }},
      {"train.lr", "1e-3", [](const Config& c) { return c.train.lr == 1e-3; }},
      {"train.lr", "2e-4", [](const Config& c) { return c.train.lr == 2e-4; }},
      {"train.lr", ".5", [](const Config& c) { return c.train.lr == 0.5; }},
      {"train.lr", "-0.25", [](const Config& c) { return c.train.lr == -0.25; }},
      {"train.lr", "3", [](const Config& c) { return c.train.lr == 3.0; }},
      {"run.name", "my run: 1", [](const Config& c) { return c.run.name == "my run: 1"; }},
      {"run.name", "", [](const Config& c) { return c.run.name.empty(); }},
  };
  for (const SetCase& test : cases) {
    Config config;
    set_key(config, test.key, test.text, "--set");
    EXPECT_TRUE(test.holds(config)) << test.key << " = '" << test.text << "'";
  }
}

TEST(SetKey, ParsesBooleanWordsInAnyCase) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"true", true},   {"True", true},   {"YES", true}, {"yes", true}, {"on", true},
      {"false", false}, {"FALSE", false}, {"No", false}, {"no", false}, {"Off", false}};
  for (const auto& [text, expected] : cases) {
    Config config;
    config.data.shuffle = !expected;
    set_key(config, "data.shuffle", text, "--set");
    EXPECT_EQ(config.data.shuffle, expected) << text;
  }
}

struct ErrorCase {
  std::string input;
  std::string message;
};

TEST(SetKey, RejectsMalformedValuesNamingKeyAndText) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      // {key=value via --epochs-like source, expected message}
      {"train.epochs|abc", "--epochs: key 'train.epochs' expects an integer, got 'abc'"},
      {"train.epochs|1.5", "--epochs: key 'train.epochs' expects an integer, got '1.5'"},
      {"train.epochs|12abc", "--epochs: key 'train.epochs' expects an integer, got '12abc'"},
      {"train.epochs|", "--epochs: key 'train.epochs' expects an integer, got ''"},
      {"train.epochs| 5", "--epochs: key 'train.epochs' expects an integer, got ' 5'"},
      {"train.epochs|5 ", "--epochs: key 'train.epochs' expects an integer, got '5 '"},
      {"train.epochs|+5", "--epochs: key 'train.epochs' expects an integer, got '+5'"},
      {"train.epochs|0x10", "--epochs: key 'train.epochs' expects an integer, got '0x10'"},
      {"train.epochs|9223372036854775808",
       "--epochs: key 'train.epochs' expects an integer, got '9223372036854775808'"},
      {"train.seed|-1", "--epochs: key 'train.seed' expects a non-negative integer, got '-1'"},
      {"train.seed|18446744073709551616",
       "--epochs: key 'train.seed' expects a non-negative integer, got '18446744073709551616'"},
      {"train.lr|fast", "--epochs: key 'train.lr' expects a number, got 'fast'"},
      {"train.lr|1e-3x", "--epochs: key 'train.lr' expects a number, got '1e-3x'"},
      {"train.lr| 1", "--epochs: key 'train.lr' expects a number, got ' 1'"},
      {"train.lr|", "--epochs: key 'train.lr' expects a number, got ''"},
      {"train.lr|inf", "--epochs: key 'train.lr' expects a number, got 'inf'"},
      {"train.lr|nan", "--epochs: key 'train.lr' expects a number, got 'nan'"},
      {"train.lr|1e999", "--epochs: key 'train.lr' expects a number, got '1e999'"},
      {"data.shuffle|1", "--epochs: key 'data.shuffle' expects true or false, got '1'"},
      {"data.shuffle|maybe", "--epochs: key 'data.shuffle' expects true or false, got 'maybe'"},
  };
  for (const auto& [input, message] : cases) {
    const size_t bar = input.find('|');
    const std::string key = input.substr(0, bar);
    const std::string text = input.substr(bar + 1);
    Config config;
    EXPECT_EQ(error_of([&] { set_key(config, key, text, "--epochs"); }), message)
        << key << " = '" << text << "'";
  }
}

TEST(SetKey, FailedParseLeavesTheValueAlone) {
  Config config;
  EXPECT_THROW(set_key(config, "train.epochs", "12abc", "--set"), ConfigError);
  EXPECT_EQ(config.train.epochs, 25);
}

TEST(SetKey, UnknownKeySuggestsTheNearest) {
  const std::vector<ErrorCase> cases = {
      {"train.lrr", "--set: unknown key 'train.lrr' (did you mean 'train.lr'?)"},
      {"trian.lr", "--set: unknown key 'trian.lr' (did you mean 'train.lr'?)"},
      {"model.zdim", "--set: unknown key 'model.zdim' (did you mean 'model.z_dim'?)"},
      {"train.batchsize",
       "--set: unknown key 'train.batchsize' (did you mean 'train.batch_size'?)"},
      // A bare leaf name points at the one key that ends in it.
      {"lr", "--set: unknown key 'lr' (did you mean 'train.lr'?)"},
      {"epochs", "--set: unknown key 'epochs' (did you mean 'train.epochs'?)"},
      // Too far from anything to guess.
      {"train.learning_rate", "--set: unknown key 'train.learning_rate'"},
      {"foo", "--set: unknown key 'foo'"},
      {"", "--set: unknown key ''"},
  };
  for (const ErrorCase& test : cases) {
    Config config;
    EXPECT_EQ(error_of([&] { set_key(config, test.input, "1", "--set"); }), test.message)
        << test.input;
  }
}

TEST(ApplyYaml, SetsEveryKindOfValue) {
  Config config;
  apply_yaml_string(config,
                    "data:\n"
                    "  format: idx\n"
                    "  train: \"data/train images.gz\"\n"
                    "  shuffle: no\n"
                    "  val_fraction: .25\n"
                    "model:\n"
                    "  z_dim: 64\n"
                    "train:\n"
                    "  lr: 1e-3   # comments are fine\n"
                    "  seed: 42\n"
                    "run:\n"
                    "  device: cuda:1\n"
                    "sample:\n"
                    "  grid: 4x8\n",
                    "cfg.yaml");
  EXPECT_EQ(config.data.format, "idx");
  EXPECT_EQ(config.data.train, "data/train images.gz");
  EXPECT_FALSE(config.data.shuffle);
  EXPECT_EQ(config.data.val_fraction, 0.25);
  EXPECT_EQ(config.model.z_dim, 64);
  EXPECT_EQ(config.train.lr, 1e-3);
  EXPECT_EQ(config.train.seed, 42u);
  EXPECT_EQ(config.run.device, "cuda:1");
  EXPECT_EQ(config.sample.grid, "4x8");
  // Keys not in the file keep their defaults.
  EXPECT_EQ(config.train.epochs, 25);
  EXPECT_EQ(config.model.g_channels, 512);
}

TEST(ApplyYaml, EmptyDocumentsAndSectionsChangeNothing) {
  for (const std::string yaml : {"", "# only a comment\n", "train:\n", "train:\n  # lr: 1\n"}) {
    Config config;
    apply_yaml_string(config, yaml, "cfg.yaml");
    expect_same(config, Config{});
  }
}

TEST(ApplyYaml, PrecedenceIsDefaultsThenFileThenOverrides) {
  testing::TempDir dir;
  const std::string path = dir.file("run.yaml");
  testing::write_text(path, "train:\n  epochs: 5\n  batch_size: 64\n");
  Config config;
  apply_yaml_file(config, path);
  apply_override(config, "train.epochs=9");
  EXPECT_EQ(config.train.epochs, 9);       // --set beats the file
  EXPECT_EQ(config.train.batch_size, 64);  // the file beats the default
  EXPECT_EQ(config.train.lr, 2e-4);        // untouched default
}

TEST(ApplyYaml, ReportsEachErrorWithSourceAndLine) {
  const std::vector<ErrorCase> cases = {
      {"- data\n- model\n",
       "cfg.yaml:1: expected a mapping of sections (data, model, train, run, sample, eval)"},
      {"hello\n", "cfg.yaml:1: expected a mapping of sections (data, model, train, run, sample, eval)"},
      {"data:\n  format: idx\ntrain: 5\n", "cfg.yaml:3: section 'train' must be a mapping of keys"},
      {"train:\n  - lr\n", "cfg.yaml:1: section 'train' must be a mapping of keys"},
      {"train:\n  epochs: 3\n  lr: [1, 2]\n",
       "cfg.yaml:3: key 'train.lr' expects a number, got a list"},
      {"train:\n  lr:\n    value: 1\n",
       "cfg.yaml:2: key 'train.lr' expects a number, got a mapping"},
      {"train:\n  lr:\n", "cfg.yaml:2: key 'train.lr' expects a number, got nothing"},
      {"train:\n  epochs: ~\n", "cfg.yaml:2: key 'train.epochs' expects an integer, got nothing"},
      {"train:\n  seed: []\n",
       "cfg.yaml:2: key 'train.seed' expects a non-negative integer, got a list"},
      {"data:\n  shuffle: null\n",
       "cfg.yaml:2: key 'data.shuffle' expects true or false, got nothing"},
      {"run:\n  name:\n", "cfg.yaml:2: key 'run.name' expects a string, got nothing"},
      {"train:\n\n  epochs: abc\n", "cfg.yaml:3: key 'train.epochs' expects an integer, got 'abc'"},
      {"train:\n  lrr: 0.1\n", "cfg.yaml:2: unknown key 'train.lrr' (did you mean 'train.lr'?)"},
      {"model:\n  z_dim: 10\ntrian:\n  lr: 0.1\n",
       "cfg.yaml:4: unknown key 'trian.lr' (did you mean 'train.lr'?)"},
      {"lr: 0.1\n", "cfg.yaml:1: unknown key 'lr' (did you mean 'train.lr'?)"},
      {"extras: {}\n", "cfg.yaml:1: unknown key 'extras'"},
  };
  for (const ErrorCase& test : cases) {
    EXPECT_EQ(yaml_error(test.input), test.message) << test.input;
  }
}

TEST(ApplyYaml, SyntaxErrorsCarryYamlCppMessageAndLine) {
  const std::vector<ErrorCase> cases = {
      {"train:\n  lr: [1, 2\n", "cfg.yaml:3: YAML syntax error: end of sequence flow not found"},
      {"train:\n  lr: 0.1: 2\n", "cfg.yaml:2: YAML syntax error: illegal map value"},
      {"train:\n  lr: \"\\q\"\n", "cfg.yaml:2: YAML syntax error: unknown escape character: q"},
      {"train: {lr: 1\n", "cfg.yaml:2: YAML syntax error: end of map flow not found"},
      {"train:\n  lr: 1\n epochs: 2\n", "cfg.yaml:3: YAML syntax error: end of map not found"},
  };
  for (const ErrorCase& test : cases) {
    EXPECT_EQ(yaml_error(test.input), test.message) << test.input;
  }
}

// An empty file, like one of comments only, keeps every default: it is not a missing file.
TEST(ApplyYamlFile, AnEmptyFileChangesNothing) {
  testing::TempDir dir;
  for (const std::string text : {"", "# only a comment\n"}) {
    const std::string path = dir.file("empty.yaml");
    testing::write_text(path, text);
    Config config;
    apply_yaml_file(config, path);
    expect_same(config, Config{});
  }
}

TEST(ApplyYamlFile, NamesThePathInEveryError) {
  testing::TempDir dir;
  const std::string missing = dir.file("missing.yaml");
  Config config;
  EXPECT_EQ(error_of([&] { apply_yaml_file(config, missing); }),
            missing + ": cannot read config file (missing?)");
  const std::string folder = dir.path().string();
  EXPECT_EQ(error_of([&] { apply_yaml_file(config, folder); }),
            folder + ": cannot read config file (missing?)");
  const std::string broken = dir.file("broken.yaml");
  testing::write_text(broken, "train:\n  lr: 1\n epochs: 2\n");
  EXPECT_EQ(error_of([&] { apply_yaml_file(config, broken); }),
            broken + ":3: YAML syntax error: end of map not found");
  const std::string typo = dir.file("typo.yaml");
  testing::write_text(typo, "train:\n  epochs: 3\n  bach_size: 8\n");
  EXPECT_EQ(error_of([&] { apply_yaml_file(config, typo); }),
            typo + ":3: unknown key 'train.bach_size' (did you mean 'train.batch_size'?)");
}

TEST(ApplyOverride, SplitsAtTheFirstEquals) {
  Config config;
  apply_override(config, "run.name=a=b");
  EXPECT_EQ(config.run.name, "a=b");
  apply_override(config, "train.lr=0.01");
  EXPECT_EQ(config.train.lr, 0.01);
  apply_override(config, "run.name=");
  EXPECT_EQ(config.run.name, "");
}

TEST(ApplyOverride, RejectsMalformedAssignments) {
  const std::vector<ErrorCase> cases = {
      {"train.lr", "--set: expected key=value, got 'train.lr'"},
      {"=0.1", "--set: expected key=value, got '=0.1'"},
      {"", "--set: expected key=value, got ''"},
      {"train.lrr=0.1", "--set: unknown key 'train.lrr' (did you mean 'train.lr'?)"},
      {"train.epochs=ten", "--set: key 'train.epochs' expects an integer, got 'ten'"},
  };
  for (const ErrorCase& test : cases) {
    Config config;
    EXPECT_EQ(error_of([&] { apply_override(config, test.input); }), test.message) << test.input;
  }
}

struct RangeCase {
  std::string key;
  std::string value;
  std::string message;  // empty: the value is valid
};

TEST(Validate, ChecksEveryRange) {
  const std::vector<RangeCase> cases = {
      {"data.format", "csv", "key 'data.format' must be one of svhn_mat, idx, cifar10, folder; got 'csv'"},
      {"data.format", "idx", ""},
      {"data.format", "cifar10", ""},
      {"data.format", "folder", ""},
      {"data.channels", "2", "key 'data.channels' must be 0 (the format's own), 1 or 3, got 2"},
      {"data.channels", "1", ""},
      {"model.image_size", "48", "key 'model.image_size' must be 32 or 64, got 48"},
      {"model.image_size", "64", ""},
      {"data.val_fraction", "1", "key 'data.val_fraction' must be >= 0 and < 1, got 1"},
      {"data.val_fraction", "-0.1", "key 'data.val_fraction' must be >= 0 and < 1, got -0.1"},
      {"data.val_fraction", "0", ""},
      {"data.limit", "-1", "key 'data.limit' must be >= 0, got -1"},
      {"data.train", "", ""},  // the train command checks that itself
      {"model.z_dim", "0", "key 'model.z_dim' must be between 1 and 4096, got 0"},
      {"model.z_dim", "4097", "key 'model.z_dim' must be between 1 and 4096, got 4097"},
      {"model.z_dim", "4096", ""},
      {"model.g_channels", "0", "key 'model.g_channels' must be >= 4 and divisible by 4 (model.image_size 32), got 0"},
      {"model.g_channels", "6", "key 'model.g_channels' must be >= 4 and divisible by 4 (model.image_size 32), got 6"},
      {"model.g_channels", "4", ""},
      {"model.d_channels", "0", "key 'model.d_channels' must be >= 1, got 0"},
      {"model.d_channels", "1", ""},
      {"model.leaky_slope", "1", "key 'model.leaky_slope' must be >= 0 and < 1, got 1"},
      {"model.leaky_slope", "-0.2", "key 'model.leaky_slope' must be >= 0 and < 1, got -0.2"},
      {"model.leaky_slope", "0", ""},
      {"model.bn_eps", "0", "key 'model.bn_eps' must be > 0, got 0"},
      {"model.bn_eps", "-1e-05", "key 'model.bn_eps' must be > 0, got -1e-05"},
      {"model.bn_momentum", "0", "key 'model.bn_momentum' must be > 0 and <= 1, got 0"},
      {"model.bn_momentum", "1.5", "key 'model.bn_momentum' must be > 0 and <= 1, got 1.5"},
      {"model.bn_momentum", "1", ""},
      {"model.init", "he",
       "key 'model.init' must be one of xavier_uniform, normal, torch; got 'he'"},
      {"model.init", "normal", ""},
      {"model.init", "torch", ""},
      {"model.init_std", "0", "key 'model.init_std' must be > 0, got 0"},
      {"model.upconv", "fast", "key 'model.upconv' must be one of auto, native, phase, winograd, gemm; got 'fast'"},
      {"model.upconv", "phase", ""},
      {"model.upconv", "native", ""},
      {"train.epochs", "0", "key 'train.epochs' must be between 1 and 1000000, got 0"},
      {"train.epochs", "9223372036854775807",
       "key 'train.epochs' must be between 1 and 1000000, got 9223372036854775807"},
      {"train.batch_size", "0", "key 'train.batch_size' must be between 1 and 65536, got 0"},
      {"train.batch_size", "65537",
       "key 'train.batch_size' must be between 1 and 65536, got 65537"},
      {"train.batch_size", "65536", ""},
      {"train.lr", "-0.001", "key 'train.lr' must be > 0, got -0.001"},
      {"train.lr", "0", "key 'train.lr' must be > 0, got 0"},
      {"train.beta1", "1", "key 'train.beta1' must be >= 0 and < 1, got 1"},
      {"train.beta1", "-0.5", "key 'train.beta1' must be >= 0 and < 1, got -0.5"},
      {"train.beta1", "0", ""},
      {"train.beta2", "1", "key 'train.beta2' must be >= 0 and < 1, got 1"},
      {"train.label_smoothing", "1", "key 'train.label_smoothing' must be >= 0 and < 1, got 1"},
      {"train.label_smoothing", "-0.1",
       "key 'train.label_smoothing' must be >= 0 and < 1, got -0.1"},
      {"train.label_smoothing", "0", ""},
      {"train.print_every", "0", "key 'train.print_every' must be >= 1, got 0"},
      {"train.show_every", "0", "key 'train.show_every' must be >= 1, got 0"},
      {"train.max_steps", "-1", "key 'train.max_steps' must be >= 0, got -1"},
      {"train.max_steps", "1000", ""},
      {"run.out_dir", "", "key 'run.out_dir' must not be empty"},
      {"run.device", "gpu", "key 'run.device' must be auto, cpu, cuda or cuda:N; got 'gpu'"},
      {"run.device", "cuda:", "key 'run.device' must be auto, cpu, cuda or cuda:N; got 'cuda:'"},
      {"run.device", "cuda:-1",
       "key 'run.device' must be auto, cpu, cuda or cuda:N; got 'cuda:-1'"},
      {"run.device", "cuda:x", "key 'run.device' must be auto, cpu, cuda or cuda:N; got 'cuda:x'"},
      {"run.device", "CPU", "key 'run.device' must be auto, cpu, cuda or cuda:N; got 'CPU'"},
      {"run.device", "cpu", ""},
      {"run.device", "cuda", ""},
      {"run.device", "cuda:0", ""},
      {"run.device", "cuda:12", ""},
      {"run.threads", "-1", "key 'run.threads' must be between 0 and 1024, got -1"},
      {"run.threads", "1025", "key 'run.threads' must be between 0 and 1024, got 1025"},
      {"run.threads", "1024", ""},
      {"run.amp", "fp16", "key 'run.amp' must be one of none, bf16; got 'fp16'"},
      {"run.amp", "bf16", ""},
      {"sample.grid", "6x",
       "key 'sample.grid': expected ROWSxCOLS with each between 1 and 256 (like 6x12), got '6x'"},
      {"sample.grid", "1x1", ""},
      {"train.ema", "1", "key 'train.ema' must be >= 0 and < 1, got 1"},
      {"train.ema", "0.999", ""},
      {"eval.every", "-1", "key 'eval.every' must be >= 0, got -1"},
      {"eval.num", "-5", "key 'eval.num' must be between 0 and 1000000, got -5"},
      {"eval.features", "", "key 'eval.features' must be `auto` or the path of a feature network"},
      {"eval.feature_epochs", "0", "key 'eval.feature_epochs' must be between 1 and 1000, got 0"},
  };
  for (const RangeCase& test : cases) {
    Config config;
    set_key(config, test.key, test.value, "test");
    const std::string expected = test.message.empty() ? "<no error>" : test.message;
    EXPECT_EQ(error_of([&] { validate(config); }), expected) << test.key << " = " << test.value;
  }
}

// Every config shipped in configs/ loads and validates: a renamed key would break them silently.
TEST(ShippedConfigs, LoadAndValidate) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(DCGAN_CONFIGS_DIR)) {
    if (entry.path().extension() != ".yaml") continue;
    Config config;
    EXPECT_EQ(error_of([&] {
                apply_yaml_file(config, entry.path().string());
                validate(config);
              }),
              "<no error>")
        << entry.path();
    ++count;
  }
  EXPECT_GE(count, 5);
}

TEST(Validate, SixtyFourPixelGeneratorHalvesItsWidthThreeTimes) {
  Config config;
  config.model.image_size = 64;
  config.model.g_channels = 12;  // divides by 4, not by 8
  EXPECT_EQ(error_of([&] { validate(config); }),
            "key 'model.g_channels' must be >= 8 and divisible by 8 (model.image_size 64), got 12");
  config.model.g_channels = 16;
  EXPECT_EQ(error_of([&] { validate(config); }), "<no error>");
}

TEST(Validate, RejectsNotANumberSetDirectly) {
  Config config;
  config.train.lr = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(error_of([&] { validate(config); }), "key 'train.lr' must be > 0, got nan");
}

TEST(ParseGrid, AcceptsRowsByColumns) {
  struct GridCase {
    std::string text;
    int64_t rows;
    int64_t cols;
  };
  const std::vector<GridCase> cases = {
      {"6x12", 6, 12}, {"1x1", 1, 1}, {"256x256", 256, 256}, {"08x3", 8, 3}};
  for (const GridCase& test : cases) {
    const GridSize grid = parse_grid(test.text, "--grid");
    EXPECT_EQ(grid.rows, test.rows) << test.text;
    EXPECT_EQ(grid.cols, test.cols) << test.text;
  }
}

TEST(ParseGrid, RejectsAnythingElse) {
  for (const std::string text :
       {"6x", "x12", "6", "", "0x12", "6x0", "257x1", "1x257", "6X12", "6*12", "6x12x1", "-6x12",
        "+6x12", " 6x12", "6x12 ", "6.0x12", "99999999999999999999x1"}) {
    EXPECT_EQ(
        error_of([&] { parse_grid(text, "--grid"); }),
        "--grid: expected ROWSxCOLS with each between 1 and 256 (like 6x12), got '" + text + "'")
        << text;
  }
}

TEST(ToYaml, DefaultsAreHumanReadable) {
  EXPECT_EQ(to_yaml(Config{}),
            "data:\n"
            "  format: svhn_mat\n"
            "  train: \"\"\n"
            "  test: \"\"\n"
            "  val_fraction: 0.5\n"
            "  shuffle: true\n"
            "  limit: 0\n"
            "  channels: 0\n"
            "  strict: false\n"
            "  cache: true\n"
            "model:\n"
            "  image_size: 32\n"
            "  z_dim: 100\n"
            "  g_channels: 512\n"
            "  d_channels: 64\n"
            "  leaky_slope: 0.2\n"
            "  bn_eps: 0.001\n"
            "  bn_momentum: 0.01\n"
            "  init: xavier_uniform\n"
            "  init_std: 0.02\n"
            "  upconv: auto\n"
            "  sync_bn: false\n"
            "train:\n"
            "  epochs: 25\n"
            "  batch_size: 128\n"
            "  lr: 0.0002\n"
            "  beta1: 0.5\n"
            "  beta2: 0.999\n"
            "  label_smoothing: 0.1\n"
            "  seed: 0\n"
            "  print_every: 10\n"
            "  show_every: 100\n"
            "  max_steps: 0\n"
            "  ema: 0\n"
            "run:\n"
            "  out_dir: runs\n"
            "  name: \"\"\n"
            "  device: auto\n"
            "  threads: 0\n"
            "  amp: none\n"
            "  cudnn_benchmark: true\n"
            "  cuda_graphs: false\n"
            "  dist_backend: auto\n"
            "  dist_timeout: 600\n"
            "  dist_verify: false\n"
            "sample:\n"
            "  grid: 6x12\n"
            "eval:\n"
            "  every: 1000\n"
            "  num: 0\n"
            "  features: auto\n"
            "  feature_epochs: 3\n");
}

TEST(ToYaml, RoundTripsEveryField) {
  Config modified;
  modified.data.format = "idx";
  modified.data.train = "C:\\data\\train \"images\".gz";
  modified.data.test = "null";
  modified.data.val_fraction = 1.0 / 3.0;
  modified.data.shuffle = false;
  modified.data.limit = std::numeric_limits<int64_t>::min();
  modified.model.z_dim = 7;
  modified.model.g_channels = 12;
  modified.model.d_channels = 3;
  modified.model.leaky_slope = 0.1 + 0.2;
  modified.model.bn_eps = 1e-300;
  modified.model.bn_momentum = 5e-324;
  modified.model.init = "- item";
  modified.model.init_std = -0.0;
  modified.model.upconv = "key: value # not a comment";
  modified.train.epochs = 1;
  modified.train.batch_size = 3;
  modified.train.lr = 123456789.123456789;
  modified.train.beta1 = 1e22;
  modified.train.beta2 = 0.999999999999;
  modified.train.label_smoothing = 2.5e-5;
  modified.train.seed = std::numeric_limits<uint64_t>::max();
  modified.train.print_every = 2;
  modified.train.show_every = 3;
  modified.train.max_steps = 4;
  modified.run.out_dir = " leading and trailing ";
  modified.run.name = "line\nbreak\ttab \x01 ünïcode";
  modified.run.device = "cuda:3";
  modified.run.threads = 16;
  modified.run.amp = "bf16";
  modified.run.cudnn_benchmark = false;
  modified.run.cuda_graphs = true;
  modified.sample.grid = "yes";

  const std::string yaml = to_yaml(modified);
  Config restored;
  apply_yaml_string(restored, yaml, "to_yaml");
  expect_same(restored, modified);
  EXPECT_EQ(to_yaml(restored), yaml);
}

}  // namespace
}  // namespace dcgan
