// Config: one table of keys drives YAML files, `--set` overrides and to_yaml, so every value
// goes through exactly one parser per type and every message names the key the same way.
#include "dcgan/config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <sstream>
#include <variant>

#include "dcgan/error.h"

namespace dcgan {
namespace {

// A pointer to one field of a Config; the alternative held is the key's type.
using Field = std::variant<int64_t*, uint64_t*, double*, bool*, std::string*>;

struct KeySpec {
  const char* name;
  Field (*field)(Config&);
};

// The key name is spelled from the member path, so the table cannot drift from the structs.
// clang-format off
#define DCGAN_KEY(section, member) \
  KeySpec { #section "." #member, [](Config& c) -> Field { return &c.section.member; } }
// clang-format on

// Declaration order of the header: config_keys() and to_yaml() follow it.
const KeySpec kKeys[] = {
    DCGAN_KEY(data, format),       DCGAN_KEY(data, train),        DCGAN_KEY(data, test),
    DCGAN_KEY(data, val_fraction), DCGAN_KEY(data, shuffle),      DCGAN_KEY(data, limit),
    DCGAN_KEY(data, channels),     DCGAN_KEY(data, strict),       DCGAN_KEY(data, cache),
    DCGAN_KEY(model, image_size),  DCGAN_KEY(model, z_dim),       DCGAN_KEY(model, g_channels),  DCGAN_KEY(model, d_channels),
    DCGAN_KEY(model, leaky_slope), DCGAN_KEY(model, bn_eps),      DCGAN_KEY(model, bn_momentum),
    DCGAN_KEY(model, init),        DCGAN_KEY(model, init_std),    DCGAN_KEY(model, upconv),      DCGAN_KEY(model, sync_bn),
    DCGAN_KEY(train, epochs),      DCGAN_KEY(train, batch_size),  DCGAN_KEY(train, lr),
    DCGAN_KEY(train, beta1),       DCGAN_KEY(train, beta2),       DCGAN_KEY(train, label_smoothing),
    DCGAN_KEY(train, seed),        DCGAN_KEY(train, print_every), DCGAN_KEY(train, show_every),
    DCGAN_KEY(train, max_steps),   DCGAN_KEY(train, ema),         DCGAN_KEY(run, out_dir),
    DCGAN_KEY(run, name),          DCGAN_KEY(run, device),        DCGAN_KEY(run, threads),
    DCGAN_KEY(run, amp),           DCGAN_KEY(run, cudnn_benchmark), DCGAN_KEY(run, cuda_graphs),
    DCGAN_KEY(run, dist_backend),  DCGAN_KEY(run, dist_timeout),  DCGAN_KEY(run, dist_verify),
    DCGAN_KEY(sample, grid),       DCGAN_KEY(eval, every),        DCGAN_KEY(eval, num),
    DCGAN_KEY(eval, features),     DCGAN_KEY(eval, feature_epochs),
};

#undef DCGAN_KEY

const char* const kSections[] = {"data", "model", "train", "run", "sample", "eval"};

const KeySpec* find_key(const std::string& name) {
  for (const KeySpec& spec : kKeys) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

bool is_section(const std::string& name) {
  return std::find(std::begin(kSections), std::end(kSections), name) != std::end(kSections);
}

// What a value of this field's type looks like, for "expects ..." messages.
const char* expected_text(const Field& field) {
  struct Visitor {
    const char* operator()(int64_t*) const { return "an integer"; }
    const char* operator()(uint64_t*) const { return "a non-negative integer"; }
    const char* operator()(double*) const { return "a number"; }
    const char* operator()(bool*) const { return "true or false"; }
    const char* operator()(std::string*) const { return "a string"; }
  };
  return std::visit(Visitor{}, field);
}

// "<source>: " or "<source>:<line>: ": the prefix of every message about a value.
std::string prefix(const std::string& source) { return source.empty() ? "" : source + ": "; }

std::string with_line(const std::string& source, const YAML::Mark& mark) {
  if (mark.is_null()) return source;
  return source + ":" + std::to_string(mark.line + 1);
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The valid key a typo most likely meant, or "" when nothing is close enough to be a good guess.
std::string nearest_key(const std::string& name) {
  // A bare leaf name (`lr`) is a common slip; point at the one key that ends in it.
  if (name.find('.') == std::string::npos) {
    const KeySpec* match = nullptr;
    int matches = 0;
    for (const KeySpec& spec : kKeys) {
      const std::string full = spec.name;
      if (full.substr(full.find('.') + 1) == name) {
        match = &spec;
        ++matches;
      }
    }
    if (matches == 1) return match->name;
  }
  const size_t limit = std::max<size_t>(2, name.size() / 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (const KeySpec& spec : kKeys) {
    const size_t distance = edit_distance(name, spec.name);
    if (distance < best_distance) {
      best = spec.name;
      best_distance = distance;
    }
  }
  return best;
}

[[noreturn]] void throw_unknown_key(const std::string& name, const std::string& source) {
  std::string message = prefix(source) + "unknown key '" + name + "'";
  const std::string suggestion = nearest_key(name);
  if (!suggestion.empty()) message += " (did you mean '" + suggestion + "'?)";
  throw ConfigError(message);
}

// from_chars stores what it parsed of "12abc"; parse into a local so a rejected text leaves
// the field alone.
template <typename Integer>
bool parse_integer(const std::string& text, Integer& out) {
  const char* end = text.data() + text.size();
  Integer value = 0;
  const auto result = std::from_chars(text.data(), end, value);
  if (result.ec != std::errc() || result.ptr != end) return false;
  out = value;
  return true;
}

bool parse_double(const std::string& text, double& out) {
  // strtod skips leading blanks and accepts a prefix; insist on the whole text.
  if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) return false;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(value)) return false;
  out = value;
  return true;
}

bool parse_bool(const std::string& text, bool& out) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "true" || lower == "yes" || lower == "on") {
    out = true;
  } else if (lower == "false" || lower == "no" || lower == "off") {
    out = false;
  } else {
    return false;
  }
  return true;
}

// Shortest text that reads back as the same double: "0.0002" rather than "0.00020000000000000001".
std::string format_double(double value) {
  char buffer[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

std::string format_value(const Field& field) {
  struct Visitor {
    std::string operator()(int64_t* v) const { return std::to_string(*v); }
    std::string operator()(uint64_t* v) const { return std::to_string(*v); }
    std::string operator()(double* v) const { return format_double(*v); }
    std::string operator()(bool* v) const { return *v ? "true" : "false"; }
    std::string operator()(std::string* v) const { return *v; }
  };
  return std::visit(Visitor{}, field);
}

// A string as a YAML scalar: plain when that is unambiguous, double-quoted otherwise (empty,
// null-like, or with characters YAML gives a meaning to).
std::string yaml_quote(const std::string& text) {
  const auto plain_char = [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == '/' || c == '+' || c == ':';
  };
  const unsigned char first = text.empty() ? 0 : static_cast<unsigned char>(text.front());
  const bool plain = !text.empty() &&
                     (std::isalnum(first) || first == '_' || first == '.' || first == '/') &&
                     text.back() != ':' && std::all_of(text.begin(), text.end(), plain_char) &&
                     text != "null" && text != "Null" && text != "NULL";
  if (plain) return text;
  std::string quoted = "\"";
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      quoted += '\\';
      quoted += ch;
    } else if (ch == '\n') {
      quoted += "\\n";
    } else if (ch == '\t') {
      quoted += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char escape[8];
      std::snprintf(escape, sizeof(escape), "\\x%02x", c);
      quoted += escape;
    } else {
      quoted += ch;
    }
  }
  return quoted + "\"";
}

// Applies one `key: value` entry of a YAML file; `source` already carries the line.
void apply_yaml_leaf(Config& config, const std::string& key, const YAML::Node& value,
                     const std::string& source) {
  const KeySpec* spec = find_key(key);
  if (spec == nullptr) throw_unknown_key(key, source);
  if (value.IsScalar()) {
    set_key(config, key, value.Scalar(), source);
    return;
  }
  const char* got = value.IsSequence() ? "a list" : value.IsMap() ? "a mapping" : "nothing";
  throw ConfigError(prefix(source) + "key '" + key + "' expects " +
                    expected_text(spec->field(config)) + ", got " + got);
}

void apply_yaml_node(Config& config, const YAML::Node& root, const std::string& source) {
  // An empty file (or one with only comments) changes nothing.
  if (root.IsNull()) return;
  if (!root.IsMap()) {
    throw ConfigError(prefix(with_line(source, root.Mark())) +
                      "expected a mapping of sections (data, model, train, run, sample, eval)");
  }
  for (const auto& section_entry : root) {
    const YAML::Node& section_key = section_entry.first;
    const YAML::Node& section = section_entry.second;
    const std::string section_name = section_key.Scalar();
    const std::string section_source = with_line(source, section_key.Mark());
    if (!is_section(section_name)) {
      // Name the first key under it, so the suggestion can fix section and key together.
      if (section.IsMap() && section.size() > 0) {
        const YAML::Node first_key = section.begin()->first;
        throw_unknown_key(section_name + "." + first_key.Scalar(),
                          with_line(source, first_key.Mark()));
      }
      throw_unknown_key(section_name, section_source);
    }
    // A section whose keys are all commented out is empty, not an error.
    if (section.IsNull()) continue;
    if (!section.IsMap()) {
      throw ConfigError(prefix(section_source) + "section '" + section_name +
                        "' must be a mapping of keys");
    }
    for (const auto& entry : section) {
      apply_yaml_leaf(config, section_name + "." + entry.first.Scalar(), entry.second,
                      with_line(source, entry.first.Mark()));
    }
  }
}

// Range checks for validate(): each names the key and the offending value.
std::string quoted_key(const char* key) { return std::string("key '") + key + "'"; }

void check_int(const char* key, int64_t value, int64_t min, int64_t max) {
  if (value >= min && value <= max) return;
  const std::string range = max == std::numeric_limits<int64_t>::max()
                                ? ">= " + std::to_string(min)
                                : "between " + std::to_string(min) + " and " + std::to_string(max);
  throw ConfigError(quoted_key(key) + " must be " + range + ", got " + std::to_string(value));
}

void check_at_least(const char* key, int64_t value, int64_t min) {
  check_int(key, value, min, std::numeric_limits<int64_t>::max());
}

// Doubles: written so that NaN fails every check.
void check_positive(const char* key, double value) {
  if (!(value > 0)) {
    throw ConfigError(quoted_key(key) + " must be > 0, got " + format_double(value));
  }
}

// [0, 1): probabilities and factors that must leave something of the original.
void check_unit_open(const char* key, double value) {
  if (!(value >= 0 && value < 1)) {
    throw ConfigError(quoted_key(key) + " must be >= 0 and < 1, got " + format_double(value));
  }
}

void check_choice(const char* key, const std::string& value,
                  std::initializer_list<const char*> choices) {
  for (const char* choice : choices) {
    if (value == choice) return;
  }
  std::string list;
  for (const char* choice : choices) {
    if (!list.empty()) list += ", ";
    list += choice;
  }
  throw ConfigError(quoted_key(key) + " must be one of " + list + "; got '" + value + "'");
}

bool is_digits(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(),
                                      [](unsigned char c) { return std::isdigit(c) != 0; });
}

bool is_device(const std::string& device) {
  if (device == "auto" || device == "cpu" || device == "cuda") return true;
  const std::string cuda = "cuda:";
  if (device.compare(0, cuda.size(), cuda) != 0) return false;
  const std::string index = device.substr(cuda.size());
  int64_t parsed = 0;
  return is_digits(index) && parse_integer(index, parsed) &&
         parsed <= std::numeric_limits<int>::max();
}

}  // namespace

void set_key(Config& config, const std::string& key, const std::string& value,
             const std::string& source) {
  const KeySpec* spec = find_key(key);
  if (spec == nullptr) throw_unknown_key(key, source);
  const Field field = spec->field(config);
  struct Visitor {
    const std::string& text;
    bool operator()(int64_t* out) const { return parse_integer(text, *out); }
    bool operator()(uint64_t* out) const { return parse_integer(text, *out); }
    bool operator()(double* out) const { return parse_double(text, *out); }
    bool operator()(bool* out) const { return parse_bool(text, *out); }
    bool operator()(std::string* out) const {
      *out = text;
      return true;
    }
  };
  if (!std::visit(Visitor{value}, field)) {
    throw ConfigError(prefix(source) + "key '" + key + "' expects " + expected_text(field) +
                      ", got '" + value + "'");
  }
}

void apply_yaml_string(Config& config, const std::string& yaml, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw ConfigError(prefix(with_line(source, e.mark)) + "YAML syntax error: " + e.msg);
  }
  apply_yaml_node(config, root, source);
}

void apply_yaml_file(Config& config, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  // A directory opens fine on Linux and only fails on read; treat it like a missing file.
  std::error_code ignored;
  if (!in || std::filesystem::is_directory(path, ignored)) {
    throw ConfigError(path + ": cannot read config file (missing?)");
  }
  // An empty file is an empty document, as one of comments only is (this sets failbit on `text`
  // when it copies nothing, which is not an error).
  text << in.rdbuf();
  apply_yaml_string(config, text.str(), path);
}

void apply_override(Config& config, const std::string& assignment) {
  const size_t equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw ConfigError("--set: expected key=value, got '" + assignment + "'");
  }
  set_key(config, assignment.substr(0, equals), assignment.substr(equals + 1), "--set");
}

void validate(const Config& config) {
  const DataOptions& data = config.data;
  check_choice("data.format", data.format, {"svhn_mat", "idx", "cifar10", "folder"});
  check_unit_open("data.val_fraction", data.val_fraction);
  check_at_least("data.limit", data.limit, 0);
  if (data.channels != 0 && data.channels != 1 && data.channels != 3) {
    throw ConfigError("key 'data.channels' must be 0 (the format's own), 1 or 3, got " +
                      std::to_string(data.channels));
  }

  const ModelOptions& model = config.model;
  if (model.image_size != 32 && model.image_size != 64) {
    throw ConfigError("key 'model.image_size' must be 32 or 64, got " +
                      std::to_string(model.image_size));
  }
  check_int("model.z_dim", model.z_dim, 1, 4096);
  // G halves its width on the way from 4x4 to half the image size: twice at 32, three times at 64.
  const int64_t halvings = model.image_size == 64 ? 8 : 4;
  if (model.g_channels < halvings || model.g_channels % halvings != 0) {
    throw ConfigError("key 'model.g_channels' must be >= " + std::to_string(halvings) +
                      " and divisible by " + std::to_string(halvings) + " (model.image_size " +
                      std::to_string(model.image_size) + "), got " +
                      std::to_string(model.g_channels));
  }
  check_at_least("model.d_channels", model.d_channels, 1);
  check_unit_open("model.leaky_slope", model.leaky_slope);
  check_positive("model.bn_eps", model.bn_eps);
  if (!(model.bn_momentum > 0 && model.bn_momentum <= 1)) {
    throw ConfigError("key 'model.bn_momentum' must be > 0 and <= 1, got " +
                      format_double(model.bn_momentum));
  }
  check_choice("model.init", model.init, {"xavier_uniform", "normal", "torch"});
  check_positive("model.init_std", model.init_std);
  check_choice("model.upconv", model.upconv, {"auto", "native", "phase", "winograd", "gemm"});

  const TrainOptions& train = config.train;
  // A bound far beyond any run, so that epochs times steps per epoch cannot overflow.
  check_int("train.epochs", train.epochs, 1, 1000000);
  check_int("train.batch_size", train.batch_size, 1, 65536);
  check_positive("train.lr", train.lr);
  check_unit_open("train.beta1", train.beta1);
  check_unit_open("train.beta2", train.beta2);
  check_unit_open("train.label_smoothing", train.label_smoothing);
  check_at_least("train.print_every", train.print_every, 1);
  check_at_least("train.show_every", train.show_every, 1);
  check_at_least("train.max_steps", train.max_steps, 0);
  check_unit_open("train.ema", train.ema);

  const RunOptions& run = config.run;
  if (run.out_dir.empty()) throw ConfigError("key 'run.out_dir' must not be empty");
  if (!is_device(run.device)) {
    throw ConfigError("key 'run.device' must be auto, cpu, cuda or cuda:N; got '" + run.device +
                      "'");
  }
  check_int("run.threads", run.threads, 0, 1024);
  check_choice("run.amp", run.amp, {"none", "bf16"});
  check_choice("run.dist_backend", run.dist_backend, {"auto", "gloo", "nccl"});
  if (run.dist_timeout < 1) {
    throw ConfigError("key 'run.dist_timeout' must be at least 1 (seconds), got " +
                      std::to_string(run.dist_timeout));
  }

  parse_grid(config.sample.grid, "key 'sample.grid'");

  const EvalOptions& eval = config.eval;
  check_at_least("eval.every", eval.every, 0);
  check_int("eval.num", eval.num, 0, 1000000);
  if (eval.features.empty()) {
    throw ConfigError("key 'eval.features' must be `auto` or the path of a feature network");
  }
  check_int("eval.feature_epochs", eval.feature_epochs, 1, 1000);
}

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  for (const KeySpec& spec : kKeys) keys.emplace_back(spec.name);
  return keys;
}

std::string to_yaml(const Config& config) {
  // The table hands out mutable pointers; read them from a copy rather than cast away const.
  Config copy = config;
  std::string out;
  std::string section;
  for (const KeySpec& spec : kKeys) {
    const std::string name = spec.name;
    const size_t dot = name.find('.');
    if (name.substr(0, dot) != section) {
      section = name.substr(0, dot);
      out += section + ":\n";
    }
    const Field field = spec.field(copy);
    std::string value = format_value(field);
    if (std::holds_alternative<std::string*>(field)) value = yaml_quote(value);
    out += "  " + name.substr(dot + 1) + ": " + value + "\n";
  }
  return out;
}

GridSize parse_grid(const std::string& text, const std::string& what) {
  const size_t x = text.find('x');
  GridSize grid;
  const auto parse_side = [](const std::string& side, int64_t& out) {
    return is_digits(side) && parse_integer(side, out) && out >= 1 && out <= 256;
  };
  if (x == std::string::npos || !parse_side(text.substr(0, x), grid.rows) ||
      !parse_side(text.substr(x + 1), grid.cols)) {
    throw ConfigError(what + ": expected ROWSxCOLS with each between 1 and 256 (like 6x12), got '" +
                      text + "'");
  }
  return grid;
}

}  // namespace dcgan
