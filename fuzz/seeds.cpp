// Writes the seed corpora of the fuzz targets and a dictionary for the YAML one, at run time,
// so that no binary file lives in git. Usage: dcgan_fuzz_seeds OUT_DIR, which gets
//   OUT_DIR/mat/     small valid SVHN .mat files (v5, compressed v5, v7.3) and near misses;
//   OUT_DIR/idx/     IDX files, each behind the idx_fuzzer's flag byte;
//   OUT_DIR/image/   small PNG, JPEG, BMP and TGA images and a CIFAR-10 record, behind the
//                    image_fuzzer's flag byte;
//   OUT_DIR/config/  YAML configs;
//   OUT_DIR/config.dict  libFuzzer dictionary: every section and key name, YAML punctuation.
// Seeds are kept small (one to three images): libFuzzer mutates every byte it is given.
#include <matio.h>
#include <stb_image_write.h>
#include <torch/torch.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "dcgan/config/config.h"
#include "testing/svhn_writer.h"

namespace {

namespace fs = std::filesystem;
using dcgan::testing::MatVersion;

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

// --- .mat -----------------------------------------------------------------------------------

// One variable through matio's writer, for the near misses svhn_writer does not write.
struct MatVariable {
  const char* name;
  matio_classes class_type;
  matio_types data_type;
  std::vector<size_t> dims;
  std::vector<unsigned char> bytes;  // column-major
};

void write_mat(const fs::path& path, const std::vector<MatVariable>& variables,
               matio_compression compression) {
  mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, MAT_FT_MAT5);
  if (mat == nullptr) throw std::runtime_error("Mat_CreateVer failed: " + path.string());
  bool ok = true;
  for (const MatVariable& v : variables) {
    std::vector<size_t> dims = v.dims;
    matvar_t* var =
        Mat_VarCreate(v.name, v.class_type, v.data_type, static_cast<int>(dims.size()), dims.data(),
                      const_cast<unsigned char*>(v.bytes.data()), MAT_F_DONT_COPY_DATA);
    ok = ok && var != nullptr && Mat_VarWrite(mat, var, compression) == 0;
    Mat_VarFree(var);
  }
  if (Mat_Close(mat) != 0 || !ok) throw std::runtime_error("writing " + path.string() + " failed");
}

void write_mat_seeds(const fs::path& dir) {
  using dcgan::testing::write_random_svhn_mat;
  write_random_svhn_mat((dir / "v5_1.mat").string(), 1, 1, MatVersion::kV5);
  write_random_svhn_mat((dir / "v5_compressed_1.mat").string(), 1, 2, MatVersion::kV5Compressed);
  write_random_svhn_mat((dir / "v5_compressed_3.mat").string(), 3, 3, MatVersion::kV5Compressed);
  write_random_svhn_mat((dir / "v73_1.mat").string(), 1, 4, MatVersion::kV73);

  std::vector<unsigned char> image(32 * 32 * 3);
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<unsigned char>(i * 7);
  const std::vector<unsigned char> int8_label{3};
  // y as int8 in a row vector: another label class and orientation.
  write_mat(dir / "v5_int8_labels.mat",
            {{"X", MAT_C_UINT8, MAT_T_UINT8, {32, 32, 3}, image},
             {"y", MAT_C_INT8, MAT_T_INT8, {1, 1}, int8_label}},
            MAT_COMPRESSION_NONE);
  // Wrong shapes and a missing y: the refusals.
  const std::vector<unsigned char> small(2 * 2 * 3, 9);
  write_mat(dir / "v5_small_x.mat",
            {{"X", MAT_C_UINT8, MAT_T_UINT8, {2, 2, 3, 1}, small},
             {"y", MAT_C_INT8, MAT_T_INT8, {1, 1}, int8_label}},
            MAT_COMPRESSION_ZLIB);
  write_mat(dir / "v5_no_y.mat", {{"X", MAT_C_UINT8, MAT_T_UINT8, {2, 2, 3}, small}},
            MAT_COMPRESSION_NONE);
}

// --- IDX ------------------------------------------------------------------------------------

std::string big_endian(uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}

std::string idx_file(uint32_t magic, uint32_t count, uint32_t side) {
  std::string bytes = big_endian(magic) + big_endian(count) + big_endian(side) + big_endian(side);
  for (uint32_t i = 0; i < count * side * side; ++i) bytes += static_cast<char>(i * 13 + 1);
  return bytes;
}

std::string gzip(const std::string& bytes) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out(deflateBound(&z, static_cast<uLong>(bytes.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int status = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (status != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

// The idx_fuzzer's flag byte: bit 0 gzip-compresses the rest, bits 1-3 are the limit.
std::string flagged(bool compress, int limit, const std::string& file) {
  return std::string(1, static_cast<char>((compress ? 1 : 0) | (limit << 1))) + file;
}

void write_idx_seeds(const fs::path& dir) {
  write_file(dir / "plain_28x28_2", flagged(false, 0, idx_file(0x803, 2, 28)));
  write_file(dir / "plain_32x32_1", flagged(false, 0, idx_file(0x803, 1, 32)));
  write_file(dir / "gzip_28x28_3_limit_2", flagged(true, 2, idx_file(0x803, 3, 28)));
  // Already gzip data, written as is: mutations then hit zlib's framing and checksums.
  write_file(dir / "raw_gzip_28x28_1", flagged(false, 0, gzip(idx_file(0x803, 1, 28))));
  write_file(dir / "label_file", flagged(false, 0, big_endian(0x801) + big_endian(2) + "\1\2"));
}

// --- images ---------------------------------------------------------------------------------

void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

// A 6x4 RGB gradient (or grey) image, encoded by stb_image_write.
void write_image_seeds(const fs::path& dir) {
  std::string rgb, grey;
  for (int i = 0; i < 6 * 4; ++i) {
    rgb += {static_cast<char>(i * 10), static_cast<char>(255 - i * 10), static_cast<char>(i * 3)};
    grey += static_cast<char>(i * 10);
  }
  const auto* pixels = reinterpret_cast<const unsigned char*>(rgb.data());
  std::string png, png_grey, jpeg, bmp, tga;
  stbi_write_png_to_func(append_bytes, &png, 6, 4, 3, pixels, 6 * 3);
  stbi_write_png_to_func(append_bytes, &png_grey, 6, 4, 1, grey.data(), 6);
  stbi_write_jpg_to_func(append_bytes, &jpeg, 6, 4, 3, pixels, 80);
  stbi_write_bmp_to_func(append_bytes, &bmp, 6, 4, 3, pixels);
  stbi_write_tga_to_func(append_bytes, &tga, 6, 4, 3, pixels);
  // Flag byte: bit 0 grey, bits 1-2 the size (8, 32, 64, 5), bit 3 CIFAR-10.
  write_file(dir / "png_rgb_32", std::string(1, '\x02') + png);
  write_file(dir / "png_grey_8_as_grey", std::string(1, '\x01') + png_grey);
  write_file(dir / "jpeg_64", std::string(1, '\x04') + jpeg);
  write_file(dir / "bmp_5", std::string(1, '\x06') + bmp);
  write_file(dir / "tga_32", std::string(1, '\x02') + tga);
  std::string record(1 + 3 * 32 * 32, '\x40');
  record[0] = 7;  // the label
  write_file(dir / "cifar10_1", std::string(1, '\x08') + record);
}

// --- YAML -----------------------------------------------------------------------------------

void write_config_seeds(const fs::path& dir) {
  write_file(dir / "defaults.yaml", dcgan::to_yaml(dcgan::Config{}));
  write_file(dir / "flow.yaml",
             "{data: {format: idx, train: a.gz, limit: 10}, train: {lr: 1e-4, epochs: 2},"
             " sample: {grid: 2x3}}\n");
  write_file(dir / "anchors.yaml",
             "model: &m {z_dim: 64, init: normal, init_std: 0.02}\n"
             "run: {name: \"quoted \\x41 \\u00e9\", device: 'cuda:1', threads: 2}\n"
             "data:\n  shuffle: off  # comment\n  train: *m\n");
  write_file(dir / "documents.yaml",
             "%YAML 1.2\n---\ntrain:\n  seed: 18446744073709551615\n  max_steps: 0\n"
             "model:\n  upconv: phase\n...\n");
  write_file(dir / "block_scalars.yaml",
             "run:\n  out_dir: |\n    multi\n    line\n  name: >-\n    folded\n"
             "  amp: bf16\n  cudnn_benchmark: No\n");
  write_file(dir / "typo.yaml", "train:\n  lr: 2e-4\n  batchsize: 64\nmodle:\n  z_dim: 1\n");
}

// Values the keys take and YAML's punctuation, for the dictionary.
// clang-format off
const char* const kYamlTokens[] = {
    "svhn_mat", "idx", "xavier_uniform", "normal", "torch", "auto", "native", "phase", "cpu",
    "cuda", "cuda:", "none", "bf16", "true", "false", "yes", "off", "null", "~", "6x12", "0x",
    "1e", ".inf", ".nan", "---", "...", "%YAML 1.2", "%TAG", "!!str", "!!int", "!<", "&a",
    "*a", "<<:", "? ", ": ", "- ", "{", "}", "[", "]", ",", "|", ">-", "#", "\"", "'", "\\x",
    "\\u", "\n  ", "\t"};
// clang-format on

// One quoted entry per line, as libFuzzer's -dict reads it: \\, \" and \xNN escapes.
std::string dict_entry(const std::string& token) {
  std::string out = "\"";
  for (const char ch : token) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c >= 0x7f) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\x%02X", c);
      out += escape;
    } else {
      out += ch;
    }
  }
  return out + "\"\n";
}

void write_config_dictionary(const fs::path& path) {
  std::set<std::string> tokens;
  for (const std::string& key : dcgan::config_keys()) {
    const size_t dot = key.find('.');
    tokens.insert(key.substr(0, dot) + ":");
    tokens.insert(key.substr(dot + 1) + ":");
    tokens.insert(key);
  }
  for (const char* token : kYamlTokens) {
    tokens.insert(token);
  }
  std::string dict;
  for (const std::string& token : tokens) dict += dict_entry(token);
  write_file(path, dict);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  try {
    const fs::path out = argv[1];
    for (const char* sub : {"mat", "idx", "image", "config"}) fs::create_directories(out / sub);
    write_mat_seeds(out / "mat");
    write_idx_seeds(out / "idx");
    write_image_seeds(out / "image");
    write_config_seeds(out / "config");
    write_config_dictionary(out / "config.dict");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dcgan_fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
