#include "dcgan/data/svhn_mat.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "dcgan/error.h"
#include "testing/temp_dir.h"

#if !DCGAN_WITH_MATIO

// A build without matio still names the file and says what is missing, in one line.
TEST(SvhnMat, BuildWithoutMatioRefusesMatFilesInOneLine) {
  dcgan::testing::TempDir dir;
  dcgan::testing::write_text(dir.file("train.mat"), "MATLAB 5.0 MAT-file");
  try {
    dcgan::load_svhn_mat(dir.file("train.mat"));
    FAIL() << "expected a DataError";
  } catch (const dcgan::DataError& e) {
    EXPECT_EQ(std::string(e.what()), dir.file("train.mat") +
                                         ": cannot read .mat files: this dcgan was built without "
                                         "matio (install matio, e.g. libmatio-dev, and rebuild)");
  }
}

#else  // the loader's own tests

#include <matio.h>

namespace dcgan {
namespace {

using testing::read_text;
using testing::TempDir;
using testing::write_text;

// A variable to write: raw bytes in MATLAB's column-major order.
struct Variable {
  std::string name;
  matio_classes class_type;
  matio_types data_type;
  std::vector<size_t> dims;
  std::vector<unsigned char> bytes;
};

template <typename T>
Variable variable(const std::string& name, matio_classes class_type, matio_types data_type,
                  std::vector<size_t> dims, const std::vector<T>& values) {
  Variable var{name, class_type, data_type, std::move(dims), {}};
  var.bytes.resize(values.size() * sizeof(T));
  std::memcpy(var.bytes.data(), values.data(), var.bytes.size());
  return var;
}

void write_mat(const std::string& path, mat_ft version, matio_compression compression,
               const std::vector<Variable>& variables) {
  mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, version);
  if (mat == nullptr) throw std::runtime_error("Mat_CreateVer failed: " + path);
  for (const Variable& v : variables) {
    std::vector<size_t> dims = v.dims;
    // MAT_F_DONT_COPY_DATA: matio reads our buffer and Mat_VarFree leaves it alone.
    matvar_t* var = Mat_VarCreate(v.name.c_str(), v.class_type, v.data_type,
                                  static_cast<int>(dims.size()), dims.data(),
                                  const_cast<unsigned char*>(v.bytes.data()), MAT_F_DONT_COPY_DATA);
    if (var == nullptr) throw std::runtime_error("Mat_VarCreate failed: " + v.name);
    const int written = Mat_VarWrite(mat, var, compression);
    Mat_VarFree(var);
    if (written != 0) throw std::runtime_error("Mat_VarWrite failed: " + v.name);
  }
  if (Mat_Close(mat) != 0) throw std::runtime_error("Mat_Close failed: " + path);
}

// A value per (row, col, c, n) that changes along every axis with a different step, so any
// transposed or shifted read gives other values.
uint8_t pixel(int64_t row, int64_t col, int64_t c, int64_t n) {
  return static_cast<uint8_t>((row + 37 * col + 101 * c + 53 * n) % 251);
}

Variable svhn_x(size_t count) {
  std::vector<uint8_t> data(count * 3072);
  for (size_t n = 0; n < count; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t col = 0; col < 32; ++col)
        for (int64_t row = 0; row < 32; ++row)
          data[row + 32 * col + 1024 * c + 3072 * n] = pixel(row, col, c, n);
  return variable("X", MAT_C_UINT8, MAT_T_UINT8, {32, 32, 3, count}, data);
}

Variable random_x(size_t count) {
  std::mt19937 generator(7);
  std::vector<uint8_t> data(count * 3072);
  for (uint8_t& v : data) v = static_cast<uint8_t>(generator());
  return variable("X", MAT_C_UINT8, MAT_T_UINT8, {32, 32, 3, count}, data);
}

Variable svhn_y(const std::vector<double>& labels) {
  return variable("y", MAT_C_DOUBLE, MAT_T_DOUBLE, {labels.size(), 1}, labels);
}

std::string message_of(const std::string& path, int64_t limit = 0) {
  try {
    load_svhn_mat(path, limit);
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no error)";
}

uint32_t u32_at(const std::string& bytes, size_t offset) {
  uint32_t value = 0;
  std::memcpy(&value, bytes.data() + offset, sizeof value);  // the files are little-endian here
  return value;
}

// Flips 16 bytes in the middle of the first variable's data (which starts at offset 136 in a
// v5 file, its size at offset 132), as a damaged download would.
void flip_middle_of_first_variable(const std::string& path) {
  std::string bytes = read_text(path);
  const size_t middle = 136 + u32_at(bytes, 132) / 2;
  for (size_t i = middle; i < middle + 16; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  write_text(path, bytes);
}

struct Format {
  const char* name;
  mat_ft version;
  matio_compression compression;
};

const Format kFormats[] = {
    {"v5", MAT_FT_MAT5, MAT_COMPRESSION_NONE},
    {"v5_zlib", MAT_FT_MAT5, MAT_COMPRESSION_ZLIB},
    {"v73", MAT_FT_MAT73, MAT_COMPRESSION_NONE},
};

class SvhnFormatTest : public ::testing::TestWithParam<Format> {};

INSTANTIATE_TEST_SUITE_P(AllVersions, SvhnFormatTest, ::testing::ValuesIn(kFormats),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_P(SvhnFormatTest, ImagesAreChannelFirstWithRowsThenColumns) {
  TempDir dir;
  const std::string path = dir.file("train.mat");
  write_mat(path, GetParam().version, GetParam().compression, {svhn_x(3), svhn_y({1, 10, 7})});

  const ImageSet set = load_svhn_mat(path);

  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{3, 3, 32, 32}));
  EXPECT_EQ(set.images.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(set.images.is_contiguous());
  auto images = set.images.accessor<uint8_t, 4>();
  int64_t wrong = 0;
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t row = 0; row < 32; ++row)
        for (int64_t col = 0; col < 32; ++col)
          wrong += images[n][c][row][col] != pixel(row, col, c, n);
  EXPECT_EQ(wrong, 0) << "images[n][c][row][col] must equal X(row, col, c, n)";
  ASSERT_EQ(set.labels.scalar_type(), torch::kInt64);
  EXPECT_TRUE(set.labels.equal(torch::tensor({1, 0, 7}, torch::kInt64))) << set.labels;
}

TEST_P(SvhnFormatTest, LimitKeepsTheFirstImages) {
  TempDir dir;
  const std::string path = dir.file("train.mat");
  write_mat(path, GetParam().version, GetParam().compression, {svhn_x(3), svhn_y({1, 10, 7})});
  const ImageSet all = load_svhn_mat(path);

  const ImageSet two = load_svhn_mat(path, 2);
  ASSERT_EQ(two.size(), 2);
  EXPECT_TRUE(two.images.is_contiguous());
  EXPECT_TRUE(two.images.equal(all.images.narrow(0, 0, 2)));
  EXPECT_TRUE(two.labels.equal(torch::tensor({1, 0}, torch::kInt64)));

  EXPECT_EQ(load_svhn_mat(path, 100).size(), 3);  // a limit above N keeps everything
}

TEST_P(SvhnFormatTest, RejectsBadVariables) {
  const std::vector<uint8_t> u8_28(28 * 28 * 3 * 2);
  const std::vector<double> doubles(32 * 32 * 3 * 2);
  const std::vector<uint8_t> u8_flat(1024 * 6);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Case {
    const char* name;
    std::vector<Variable> variables;
    const char* expected;  // after "<path>: "
  };
  const Case cases[] = {
      {"no X", {svhn_y({1, 2})}, "variable 'X' (uint8 images 32x32x3xN) expected, found only y"},
      {"no y", {svhn_x(2)}, "variable 'y' (labels 1..10) expected, found only X"},
      {"X double",
       {variable("X", MAT_C_DOUBLE, MAT_T_DOUBLE, {32, 32, 3, 2}, doubles), svhn_y({1, 2})},
       "variable 'X' must be uint8 of shape 32x32x3xN, found double 32x32x3x2"},
      {"X rank 2",
       {variable("X", MAT_C_UINT8, MAT_T_UINT8, {1024, 6}, u8_flat), svhn_y({1, 2})},
       "variable 'X' must be uint8 of shape 32x32x3xN, found uint8 1024x6"},
      {"X 28x28",
       {variable("X", MAT_C_UINT8, MAT_T_UINT8, {28, 28, 3, 2}, u8_28), svhn_y({1, 2})},
       "variable 'X' must be uint8 of shape 32x32x3xN, found uint8 28x28x3x2"},
      {"y longer than X",
       {svhn_x(2), svhn_y({1, 2, 3})},
       "variable 'y' must be numeric of shape 2x1 (one label per image in X), found double 3x1"},
      {"y shorter than X",
       {svhn_x(2), svhn_y({1})},
       "variable 'y' must be numeric of shape 2x1 (one label per image in X), found double 1x1"},
      {"label 11",
       {svhn_x(2), svhn_y({1, 11})},
       "labels in 'y' must be integers 1..10 (10 for digit 0), found y(2) = 11"},
      {"label 0",
       {svhn_x(2), svhn_y({0, 1})},
       "labels in 'y' must be integers 1..10 (10 for digit 0), found y(1) = 0"},
      {"label 2.5",
       {svhn_x(2), svhn_y({1, 2.5})},
       "labels in 'y' must be integers 1..10 (10 for digit 0), found y(2) = 2.5"},
      {"label NaN",
       {svhn_x(2), svhn_y({nan, 1})},
       "labels in 'y' must be integers 1..10 (10 for digit 0), found y(1) = nan"},
      {"label -1 int8",
       {svhn_x(2), variable("y", MAT_C_INT8, MAT_T_INT8, {2, 1}, std::vector<int8_t>{3, -1})},
       "labels in 'y' must be integers 1..10 (10 for digit 0), found y(2) = -1"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    const std::string path = dir.file("bad.mat");
    write_mat(path, GetParam().version, GetParam().compression, c.variables);
    EXPECT_EQ(message_of(path), path + ": " + c.expected) << c.name;
  }
}

TEST(SvhnMat, AcceptsAnyNumericLabelClassAndRowVectors) {
  struct Case {
    const char* name;
    Variable y;
  };
  const Case cases[] = {
      {"double column", svhn_y({10, 1, 9})},
      {"double row",
       variable("y", MAT_C_DOUBLE, MAT_T_DOUBLE, {1, 3}, std::vector<double>{10, 1, 9})},
      {"single", variable("y", MAT_C_SINGLE, MAT_T_SINGLE, {3, 1}, std::vector<float>{10, 1, 9})},
      {"uint8", variable("y", MAT_C_UINT8, MAT_T_UINT8, {3, 1}, std::vector<uint8_t>{10, 1, 9})},
      {"int32", variable("y", MAT_C_INT32, MAT_T_INT32, {3, 1}, std::vector<int32_t>{10, 1, 9})},
      {"uint64",
       variable("y", MAT_C_UINT64, MAT_T_UINT64, {3, 1}, std::vector<uint64_t>{10, 1, 9})},
  };
  for (const Case& c : cases) {
    TempDir dir;
    const std::string path = dir.file("train.mat");
    write_mat(path, MAT_FT_MAT5, MAT_COMPRESSION_NONE, {svhn_x(3), c.y});
    const ImageSet set = load_svhn_mat(path);
    EXPECT_TRUE(set.labels.equal(torch::tensor({0, 1, 9}, torch::kInt64))) << c.name;
  }
}

TEST(SvhnMat, OneImageIsRankThreeInMatlab) {
  TempDir dir;
  const std::string path = dir.file("one.mat");
  Variable x = svhn_x(1);
  x.dims = {32, 32, 3};  // as MATLAB saves it: trailing singleton dimension dropped
  write_mat(path, MAT_FT_MAT5, MAT_COMPRESSION_NONE, {x, svhn_y({4})});

  const ImageSet set = load_svhn_mat(path);
  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{1, 3, 32, 32}));
  EXPECT_EQ(set.images[0][2][5][9].item<uint8_t>(), pixel(5, 9, 2, 0));
}

TEST(SvhnMat, RejectsMissingEmptyAndForeignFiles) {
  TempDir dir;
  const std::string empty = dir.file("empty.mat");
  write_text(empty, "");
  const std::string text = dir.file("text.mat");
  std::string lorem;
  for (int i = 0; i < 40; ++i) lorem += "this is not a MATLAB file, just some text\n";
  write_text(text, lorem);
  struct Case {
    std::string path;
    std::string expected;
  };
  const Case cases[] = {
      {dir.file("missing.mat"),
       dir.file("missing.mat") + ": cannot open (missing?), No such file or directory"},
      {dir.path().string(), dir.path().string() + ": a .mat file expected, found a directory"},
      {empty, empty + ": a .mat file expected, found an empty file"},
      {text, text + ": a MATLAB .mat file (v5, compressed v5 or v7.3) expected, found other "
                    "content"},
  };
  for (const Case& c : cases) EXPECT_EQ(message_of(c.path), c.expected);
}

// Without a v5 or v7.3 header matio read the file as MATLAB v4 and trusted its sizes: a 196-byte
// file made it allocate and touch over 1 GB (found by fuzz/mat_fuzzer.cpp). Such files are now
// refused before matio sees them; a v4 array is 2-D, so no v4 file holds SVHN's X anyway.
TEST(SvhnMat, RefusesMatlabV4FilesBeforeMatioReadsTheirSizes) {
  TempDir dir;
  const std::string v4 = dir.file("v4.mat");
  write_mat(v4, MAT_FT_MAT4, MAT_COMPRESSION_NONE,
            {variable("y", MAT_C_DOUBLE, MAT_T_DOUBLE, {1, 1}, std::vector<double>{1})});
  // A v4 variable header: type 0 (little-endian double), 1x1, real, a name of 10^9 bytes.
  const int32_t header[5] = {0, 1, 1, 0, 1000000000};
  const std::string huge = dir.file("huge_name.mat");
  write_text(huge, std::string(reinterpret_cast<const char*>(header), sizeof header) + "y" +
                       std::string(100, '\0'));
  const std::string expected =
      ": a MATLAB .mat file (v5, compressed v5 or v7.3) expected, found other content";

  EXPECT_EQ(message_of(v4), v4 + expected);
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  EXPECT_EQ(message_of(huge), huge + expected);
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 256 * 1024) << "peak RSS grew by that many KB";
}

// Cuts a valid file in half. The first variable (X, most of the file) loses its end.
TEST_P(SvhnFormatTest, RejectsATruncatedFile) {
  TempDir dir;
  const std::string path = dir.file("cut.mat");
  write_mat(path, GetParam().version, GetParam().compression, {random_x(4), svhn_y({1, 2, 3, 4})});
  const std::string bytes = read_text(path);
  write_text(path, bytes.substr(0, bytes.size() / 2));

  std::string expected;
  if (GetParam().version == MAT_FT_MAT5) {
    const size_t left = bytes.size() / 2 - 136;
    expected = path +
               ": a complete MATLAB v5 file expected, found it truncated (variable #1 needs " +
               std::to_string(u32_at(bytes, 132)) + " bytes after offset 136, the file has " +
               std::to_string(left) + ")";
  } else {
    expected = path +
               ": a readable MATLAB v7.3 (HDF5) file expected, found a truncated or "
               "corrupt file (matio: HDF5: File accessibility: File has been truncated)";
  }
  EXPECT_EQ(message_of(path), expected);
}

// The trap this loader exists for: cut inside X's compressed data, the variable's header still
// inflates, so matio describes a fine 32x32x3xN array (and then fills it with zeros).
TEST(SvhnMat, RejectsTruncatedCompressedDataBehindAnIntactHeader) {
  TempDir dir;
  const std::string path = dir.file("cut.mat");
  write_mat(path, MAT_FT_MAT5, MAT_COMPRESSION_ZLIB,
            {random_x(8), svhn_y({1, 2, 3, 4, 5, 6, 7, 8})});
  const std::string bytes = read_text(path);
  const size_t cut = bytes.size() * 3 / 4;
  write_text(path, bytes.substr(0, cut));

  mat_t* mat = Mat_Open(path.c_str(), MAT_ACC_RDONLY);
  ASSERT_NE(mat, nullptr);
  matvar_t* header = Mat_VarReadInfo(mat, "X");
  ASSERT_NE(header, nullptr) << "precondition: the header of X survives the cut";
  EXPECT_EQ(header->dims[3], 8u);
  Mat_VarFree(header);
  Mat_Close(mat);

  EXPECT_EQ(message_of(path),
            path + ": a complete MATLAB v5 file expected, found it truncated (variable #1 needs " +
                std::to_string(u32_at(bytes, 132)) + " bytes after offset 136, the file has " +
                std::to_string(cut - 136) + ")");
}

// Random pixels compress to stored deflate blocks: flipped bytes there inflate without any
// zlib error, only the stream's Adler-32 checksum tells.
TEST(SvhnMat, RejectsCorruptedCompressedData) {
  TempDir dir;
  const std::string path = dir.file("flipped.mat");
  write_mat(path, MAT_FT_MAT5, MAT_COMPRESSION_ZLIB, {random_x(4), svhn_y({1, 2, 3, 4})});
  flip_middle_of_first_variable(path);

  EXPECT_EQ(message_of(path),
            path +
                ": valid zlib data in variable #1 expected, found corrupt data (zlib: "
                "incorrect data check)");
}

// Compressible pixels: a flipped byte breaks the Huffman-coded stream itself.
TEST(SvhnMat, RejectsCorruptedHuffmanCodedData) {
  TempDir dir;
  const std::string path = dir.file("flipped.mat");
  write_mat(path, MAT_FT_MAT5, MAT_COMPRESSION_ZLIB, {svhn_x(4), svhn_y({1, 2, 3, 4})});
  flip_middle_of_first_variable(path);

  const std::string message = message_of(path);
  const std::string prefix =
      path + ": valid zlib data in variable #1 expected, found corrupt data (zlib: ";
  EXPECT_EQ(message.substr(0, prefix.size()), prefix) << message;
}

// Rewrites element #`index` of an uncompressed v5 file as a compressed element holding only
// the first `keep` bytes of it (tag included), with the inner tag's size set to `inner_size`.
std::string recompress_element(const std::string& bytes, int index, size_t keep,
                               uint32_t inner_size) {
  size_t offset = 128;
  for (int i = 1; i < index; ++i) offset += 8 + u32_at(bytes, offset + 4);
  const size_t end = offset + 8 + u32_at(bytes, offset + 4);
  std::string element = bytes.substr(offset, keep);
  std::memcpy(&element[4], &inner_size, sizeof inner_size);
  std::vector<unsigned char> packed(compressBound(element.size()));
  uLongf packed_size = packed.size();
  if (compress2(packed.data(), &packed_size, reinterpret_cast<const Bytef*>(element.data()),
                element.size(), 6) != Z_OK) {
    throw std::runtime_error("compress2 failed");
  }
  std::string out = bytes.substr(0, offset);
  const uint32_t tag[2] = {15, static_cast<uint32_t>(packed_size)};  // miCOMPRESSED
  out.append(reinterpret_cast<const char*>(tag), sizeof tag);
  out.append(reinterpret_cast<const char*>(packed.data()), packed_size);
  out += bytes.substr(end);
  return out;
}

// A complete zlib stream (checksum fine) holding less than its element's tag promises.
TEST(SvhnMat, RejectsACompressedElementShorterThanItsTag) {
  TempDir dir;
  const std::string path = dir.file("short.mat");
  write_mat(path, MAT_FT_MAT5, MAT_COMPRESSION_NONE, {svhn_y({1, 2}), svhn_x(2)});
  const std::string bytes = read_text(path);
  const size_t x_offset = 128 + 8 + u32_at(bytes, 132);
  const uint32_t x_size = u32_at(bytes, x_offset + 4);
  write_text(path, recompress_element(bytes, 2, 8 + x_size - 1024, x_size));

  EXPECT_EQ(message_of(path), path + ": variable #2 inflating to " + std::to_string(8 + x_size) +
                                  " bytes (its tag) expected, found " +
                                  std::to_string(8 + x_size - 1024) + " bytes (file corrupt)");
}

// Tags consistent down to X's own, but its pixel data needs 1024 bytes more than the element
// holds: matio would return X with its last pixels unset and no error.
TEST(SvhnMat, RejectsPixelDataLongerThanItsElement) {
  const matio_compression compressions[] = {MAT_COMPRESSION_NONE, MAT_COMPRESSION_ZLIB};
  for (matio_compression compression : compressions) {
    TempDir dir;
    const std::string path = dir.file("short.mat");
    write_mat(path, MAT_FT_MAT5, MAT_COMPRESSION_NONE, {svhn_y({1, 2}), svhn_x(2)});
    const std::string bytes = read_text(path);
    const size_t x_offset = 128 + 8 + u32_at(bytes, 132);
    const uint32_t x_size = u32_at(bytes, x_offset + 4);
    std::string cut;
    if (compression == MAT_COMPRESSION_ZLIB) {
      cut = recompress_element(bytes, 2, 8 + x_size - 1024, x_size - 1024);
    } else {
      cut = bytes.substr(0, bytes.size() - 1024);
      const uint32_t smaller = x_size - 1024;
      std::memcpy(&cut[x_offset + 4], &smaller, sizeof smaller);
    }
    write_text(path, cut);

    // X's content: flags (16 bytes), dims (8 + 16), name "X" (8), data tag (8), pixels.
    EXPECT_EQ(message_of(path), path +
                                    ": variable 'X' with 6144 bytes of data expected, found "
                                    "only " +
                                    std::to_string(x_size - 1024 - 56) +
                                    " in its element (file corrupt)")
        << compression;
  }
}

TEST(SvhnMat, RejectsACorruptArrayHeader) {
  TempDir dir;
  const std::string path = dir.file("header.mat");
  write_mat(path, MAT_FT_MAT5, MAT_COMPRESSION_NONE, {svhn_x(2), svhn_y({1, 2})});
  std::string bytes = read_text(path);
  bytes[136 + 16] = 9;  // X's dimensions tag says double instead of int32
  write_text(path, bytes);

  EXPECT_EQ(message_of(path), path +
                                  ": variable 'X' with a well-formed MATLAB v5 array header "
                                  "expected, found a corrupt one");
}

TEST(SvhnMat, RejectsADataTagThatDisagreesWithTheDimensions) {
  TempDir dir;
  const std::string path = dir.file("tag.mat");
  write_mat(path, MAT_FT_MAT5, MAT_COMPRESSION_NONE, {svhn_x(2), svhn_y({1, 2})});
  std::string bytes = read_text(path);
  const uint32_t fewer = 5000;
  std::memcpy(&bytes[136 + 48 + 4], &fewer, sizeof fewer);  // X's data tag, after the name
  write_text(path, bytes);

  EXPECT_EQ(message_of(path), path +
                                  ": variable 'X' of 32x32x3x2 with 6144 bytes of data "
                                  "expected, found a data tag of type 2 and 5000 bytes (file "
                                  "corrupt)");
}

// matio allocates what a variable's dimensions tag announces (rank = bytes / 4, 8 bytes per
// dimension) for every variable it passes while it looks for X: a 208-byte file whose tag
// promised 2^30 bytes had it ask for 2 GB (found by fuzz/mat_fuzzer.cpp). Such tags, in any
// variable, must fit in their element.
// The loader's message for `variables` written as MATLAB v5 with the 4 bytes at `offset` in the
// file (inside the first variable) replaced by `word`, that variable then zlib-compressed if
// `compression` says so.
std::string message_with_first_variable_patched(const std::string& path,
                                                const std::vector<Variable>& variables,
                                                size_t offset, uint32_t word,
                                                matio_compression compression) {
  write_mat(path, MAT_FT_MAT5, MAT_COMPRESSION_NONE, variables);
  std::string bytes = read_text(path);
  std::memcpy(&bytes[offset], &word, sizeof word);
  if (compression == MAT_COMPRESSION_ZLIB) {
    bytes = recompress_element(bytes, 1, 8 + u32_at(bytes, 132), u32_at(bytes, 132));
  }
  write_text(path, bytes);
  return message_of(path);
}

constexpr matio_compression kBothCompressions[] = {MAT_COMPRESSION_NONE, MAT_COMPRESSION_ZLIB};
constexpr const char* kCorruptFirstVariable =
    ": variable #1 with a well-formed MATLAB v5 array header expected, found a corrupt one";

TEST(SvhnMat, RejectsADimensionsTagLongerThanItsElementInAnyVariable) {
  for (matio_compression compression : kBothCompressions) {
    TempDir dir;
    const std::string path = dir.file("dims.mat");
    // y's dimensions tag: its size.
    EXPECT_EQ(message_with_first_variable_patched(path, {svhn_y({1, 2}), svhn_x(2)}, 136 + 20,
                                                  0x4000000c, compression),
              path + kCorruptFirstVariable)
        << compression;
  }
}

// Found by fuzzing: a dimensions tag in the small element format (type in the low 16 bits, a
// size in the high ones) or of another type than int32 passed the pre-check, and matio, which
// misreads both, then asked for 4 GB.
TEST(SvhnMat, RejectsADimensionsTagThatIsNotAFullInt32Tag) {
  Variable other = svhn_y({1, 2});  // neither X nor y: only the pre-check's first pass sees it
  other.name = "z";
  for (matio_compression compression : kBothCompressions) {
    for (uint32_t tag_type : {0xff000005u /* small int32 */, 6u /* uint32 */}) {
      TempDir dir;
      const std::string path = dir.file("dims.mat");
      // z's dimensions tag: its type.
      EXPECT_EQ(message_with_first_variable_patched(path, {other, svhn_y({1, 2}), svhn_x(2)},
                                                    136 + 16, tag_type, compression),
                path + kCorruptFirstVariable)
          << compression << " " << tag_type;
    }
  }
}

TEST(SvhnMat, RejectsACellWithMoreElementsThanItsElementHolds) {
  TempDir dir;
  const std::string path = dir.file("cell.mat");
  write_mat(path, MAT_FT_MAT5, MAT_COMPRESSION_NONE, {svhn_y({1, 2}), svhn_x(2)});
  std::string bytes = read_text(path);
  bytes[136 + 8] = MAT_C_CELL;  // y's class, in its array flags
  const uint32_t dims[2] = {2, 0x7fffffff};
  std::memcpy(&bytes[136 + 24], dims, sizeof dims);  // y's dimensions: 2x1 before
  write_text(path, bytes);

  EXPECT_EQ(message_of(path), path + kCorruptFirstVariable);
}

// The inner tag of a compressed element bounds what matio allocates for it: it cannot promise
// more than zlib can inflate from the element's bytes (1032 per byte).
TEST(SvhnMat, RejectsACompressedElementPromisingMoreThanZlibCanInflate) {
  TempDir dir;
  const std::string path = dir.file("promise.mat");
  write_mat(path, MAT_FT_MAT5, MAT_COMPRESSION_NONE, {svhn_y({1, 2}), svhn_x(2)});
  const std::string bytes = read_text(path);
  const size_t x_offset = 128 + 8 + u32_at(bytes, 132);
  const uint32_t x_size = u32_at(bytes, x_offset + 4);
  const std::string packed = recompress_element(bytes, 2, 8 + x_size, 0xfffffff0u);
  write_text(path, packed);

  const uint64_t size = u32_at(packed, x_offset + 4);
  EXPECT_EQ(message_of(path),
            path + ": variable #2 inflating to at most " + std::to_string(size * 1032) +
                " bytes (" + std::to_string(size) + " compressed) expected, found a tag of " +
                std::to_string(8 + uint64_t{0xfffffff0u}) + " bytes (file corrupt)");
}

// HDF5 damage is only known to matio (and HDF5, which would print its error stack to stderr):
// the message must carry what they said, and stderr stay quiet.
TEST(SvhnMat, ReportsWhatMatioAndHdf5Log) {
  TempDir dir;
  const std::string path = dir.file("heap.mat");
  write_mat(path, MAT_FT_MAT73, MAT_COMPRESSION_NONE, {svhn_x(2), svhn_y({1, 2})});
  std::string bytes = read_text(path);
  const size_t heap = bytes.find("HEAP");  // a local heap's signature, read when listing names
  ASSERT_NE(heap, std::string::npos);
  bytes[heap] = 'Z';
  write_text(path, bytes);

  ::testing::internal::CaptureStderr();
  const std::string message = message_of(path);
  const std::string printed = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(message, path +
                         ": a readable variable 'X' expected, found a truncated or corrupt "
                         "file (matio: HDF5: Heap: Bad value)");
  EXPECT_EQ(printed, "");
}

}  // namespace
}  // namespace dcgan

#endif  // DCGAN_WITH_MATIO
