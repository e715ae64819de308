// IDX image files read through zlib's gz* interface, which reads gzip and plain files alike.
// zlib reports a truncated gzip stream as a short read, not as -1, so every short read asks
// gzerror() whether the stream or the file is at fault.
#include "dcgan/data/idx.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "dcgan/error.h"

namespace dcgan {
namespace {

constexpr uint32_t kMagicUint8Images = 0x00000803;  // type 0x08 (uint8), 3 dimensions
constexpr uint32_t kMagicUint8Labels = 0x00000801;  // type 0x08 (uint8), 1 dimension
constexpr int64_t kSide = 32;
constexpr int64_t kHeaderBytes = 16;
// Deflate's largest expansion: one 258-byte match per 2 bits of input, so about 1032:1.
constexpr int64_t kMaxDeflateRatio = 1032;

struct GzCloser {
  // Read-only: a failing close loses nothing, and a destructor cannot report it.
  void operator()(gzFile_s* file) const { (void)gzclose(file); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

uint32_t big_endian_u32(const unsigned char* bytes) {
  return static_cast<uint32_t>(bytes[0]) << 24 | static_cast<uint32_t>(bytes[1]) << 16 |
         static_cast<uint32_t>(bytes[2]) << 8 | static_cast<uint32_t>(bytes[3]);
}

std::string hex32(uint32_t value) {
  std::array<char, 16> text{};
  std::snprintf(text.data(), text.size(), "0x%08x", value);
  return text.data();
}

// Throws if zlib recorded an error on `file`: corrupt data, or (Z_BUF_ERROR) a gzip stream that
// ends early.
void check_stream(gzFile file, const std::string& path) {
  int code = Z_OK;
  const char* message = gzerror(file, &code);
  if (code == Z_OK) return;
  std::string reason = message != nullptr ? message : "unknown error";
  if (reason.rfind(path + ": ", 0) == 0) reason.erase(0, path.size() + 2);  // zlib adds the path
  if (code == Z_BUF_ERROR) {
    throw DataError(path +
                    ": a complete gzip stream expected, found it truncated (zlib: " + reason + ")");
  }
  if (code == Z_ERRNO) {
    throw DataError(path + ": a readable file expected, found a read error (" +
                    std::strerror(errno) + ")");
  }
  throw DataError(path + ": valid gzip data expected, found corrupt data (zlib: " + reason + ")");
}

// Reads up to `size` bytes; returns how many were read before the end of the data.
size_t read_up_to(gzFile file, const std::string& path, unsigned char* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    constexpr size_t kMaxChunk = 1u << 30;  // gzread takes an unsigned, returns an int
    const size_t chunk = size - done < kMaxChunk ? size - done : kMaxChunk;
    const int got = gzread(file, data + done, static_cast<unsigned>(chunk));
    if (got < 0) check_stream(file, path);
    if (got <= 0) break;
    done += static_cast<size_t>(got);
  }
  if (done < size) check_stream(file, path);
  return done;
}

}  // namespace

ImageSet load_idx_images(const std::string& path, int64_t limit) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    throw DataError(path + ": cannot open (missing?), " + std::strerror(errno));
  }
  if (S_ISDIR(info.st_mode)) throw DataError(path + ": an IDX file expected, found a directory");
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file) {
    throw DataError(path + ": cannot open (missing?), " +
                    (errno != 0 ? std::strerror(errno) : "out of memory"));
  }
  if (gzbuffer(file.get(), 1u << 20) != 0) {  // fewer, larger reads; before the first read
    throw DataError(path + ": zlib buffer set up expected to succeed, found gzbuffer failing");
  }

  std::array<unsigned char, kHeaderBytes> header{};
  const size_t header_read = read_up_to(file.get(), path, header.data(), header.size());
  if (header_read < 4) {
    throw DataError(path + ": an IDX header of 16 bytes expected, found " +
                    std::to_string(header_read) + " bytes");
  }
  const uint32_t magic = big_endian_u32(header.data());
  if (magic != kMagicUint8Images) {
    throw DataError(path + ": IDX magic 0x00000803 (uint8 images, 3 dimensions) expected, found " +
                    hex32(magic) + (magic == 0x00000801 ? " (a label file?)" : ""));
  }
  if (header_read < header.size()) {
    throw DataError(path + ": an IDX header of 16 bytes expected, found " +
                    std::to_string(header_read) + " bytes");
  }
  const int64_t count = big_endian_u32(header.data() + 4);
  const int64_t rows = big_endian_u32(header.data() + 8);
  const int64_t cols = big_endian_u32(header.data() + 12);
  if (!((rows == 28 && cols == 28) || (rows == 32 && cols == 32))) {
    throw DataError(path + ": images of 28x28 or 32x32 expected, found " + std::to_string(rows) +
                    "x" + std::to_string(cols));
  }
  if (count == 0) throw DataError(path + ": at least one image expected, found 0");

  const int64_t keep = limit > 0 && limit < count ? limit : count;
  const int64_t pad = (kSide - rows) / 2;  // 2 for 28x28, 0 for 32x32
  const int64_t image_bytes = rows * cols;
  const std::string expected = std::to_string(count * image_bytes) + " bytes of pixels expected (" +
                               std::to_string(count) + " images of " + std::to_string(rows) + "x" +
                               std::to_string(cols) + "), found ";
  // The count is only the header's word: a corrupt one (up to 2^32 - 1 images, 4 TB) must not
  // size the allocation below. A plain file holds exactly its size; gzip data inflates at most
  // kMaxDeflateRatio-fold. gzdirect() is valid now that the header has been read.
  const auto file_size = static_cast<int64_t>(info.st_size);
  if (gzdirect(file.get()) == 1) {
    if (keep * image_bytes > file_size - kHeaderBytes) {
      throw DataError(path + ": " + expected + std::to_string(file_size - kHeaderBytes));
    }
  } else if (keep * image_bytes > file_size * kMaxDeflateRatio) {
    throw DataError(path + ": " + expected + "a gzip file of " + std::to_string(file_size) +
                    " bytes, which inflates to at most " +
                    std::to_string(file_size * kMaxDeflateRatio) + " (header corrupt?)");
  }

  ImageSet set;
  set.images = torch::zeros({keep, 1, kSide, kSide}, torch::kUInt8);  // (N, 1, 32, 32)
  unsigned char* out = set.images.data_ptr<uint8_t>();

  // Chunks of images through a small buffer: no second full-size copy for the padding.
  constexpr int64_t kChunkImages = 4096;
  std::vector<unsigned char> buffer(
      static_cast<size_t>(std::min(keep, kChunkImages) * image_bytes));
  for (int64_t first = 0; first < keep; first += kChunkImages) {
    const int64_t n = keep - first < kChunkImages ? keep - first : kChunkImages;
    const auto want = static_cast<size_t>(n * image_bytes);
    const size_t got = read_up_to(file.get(), path, buffer.data(), want);
    if (got < want) {
      throw DataError(path + ": " + expected +
                      std::to_string(first * image_bytes + static_cast<int64_t>(got)));
    }
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t r = 0; r < rows; ++r) {
        std::memcpy(out + ((first + i) * kSide + r + pad) * kSide + pad,
                    buffer.data() + i * image_bytes + r * cols, static_cast<size_t>(cols));
      }
    }
  }

  if (keep == count) {
    // One more byte: reaches the gzip trailer (its CRC is checked there) and catches a header
    // that promises fewer images than the file holds.
    unsigned char extra = 0;
    if (read_up_to(file.get(), path, &extra, 1) != 0) {
      throw DataError(path + ": end of file expected after " + std::to_string(count) +
                      " images of " + std::to_string(rows) + "x" + std::to_string(cols) +
                      ", found more data");
    }
  }
  return set;
}

torch::Tensor load_idx_labels(const std::string& path, int64_t limit) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0 || S_ISDIR(info.st_mode)) {
    throw DataError(path + ": cannot open as an IDX label file (missing?)");
  }
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file) throw DataError(path + ": cannot open (missing?), " + std::strerror(errno));
  std::array<unsigned char, 8> header{};
  const size_t header_read = read_up_to(file.get(), path, header.data(), header.size());
  if (header_read < header.size()) {
    throw DataError(path + ": an IDX label header of 8 bytes expected, found " +
                    std::to_string(header_read) + " bytes");
  }
  const uint32_t magic = big_endian_u32(header.data());
  if (magic != kMagicUint8Labels) {
    throw DataError(path + ": IDX magic 0x00000801 (uint8 labels, 1 dimension) expected, found " +
                    hex32(magic));
  }
  const int64_t count = big_endian_u32(header.data() + 4);
  const int64_t keep = limit > 0 && limit < count ? limit : count;
  const auto file_size = static_cast<int64_t>(info.st_size);
  if (keep > file_size * kMaxDeflateRatio) {
    throw DataError(path + ": " + std::to_string(count) + " labels in a file of " +
                    std::to_string(file_size) + " bytes (header corrupt?)");
  }
  std::vector<unsigned char> bytes(static_cast<size_t>(keep));
  const size_t got = read_up_to(file.get(), path, bytes.data(), bytes.size());
  if (static_cast<int64_t>(got) < keep) {
    throw DataError(path + ": " + std::to_string(count) + " labels expected, found " +
                    std::to_string(got));
  }
  torch::Tensor labels = torch::empty({keep}, torch::kInt64);
  int64_t* out = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < keep; ++i) out[i] = bytes[static_cast<size_t>(i)];
  return labels;
}

std::string idx_labels_beside(const std::string& images_path) {
  const std::string images = "images-idx3-ubyte";
  const size_t at = images_path.rfind(images);
  if (at == std::string::npos) return {};
  std::string labels = images_path;
  labels.replace(at, images.size(), "labels-idx1-ubyte");
  struct stat info;
  return stat(labels.c_str(), &info) == 0 && S_ISREG(info.st_mode) ? labels : std::string();
}

}  // namespace dcgan
