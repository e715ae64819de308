// CIFAR-10 binary records, read in chunks straight into the image tensor.
#include "dcgan/data/cifar10.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "dcgan/error.h"

namespace dcgan {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kPixels = 3 * 32 * 32;

// The files `path` names: itself, or a folder's data_batch_*.bin in name order.
std::vector<std::string> cifar10_files(const std::string& path) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (error || !fs::exists(status)) {
    throw DataError(path + ": cannot open (missing?)");
  }
  if (!fs::is_directory(status)) return {path};
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(path, error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("data_batch_", 0) == 0 && name.size() > 4 &&
        name.compare(name.size() - 4, 4, ".bin") == 0) {
      files.push_back(entry.path().string());
    }
  }
  if (error) throw DataError(path + ": cannot list the folder, " + error.message());
  if (files.empty()) {
    throw DataError(path + ": a CIFAR-10 folder with data_batch_*.bin files expected, found none "
                           "(for the test set name test_batch.bin itself)");
  }
  std::sort(files.begin(), files.end());
  return files;
}

int64_t record_count(const std::string& file) {
  std::error_code error;
  if (fs::is_directory(file, error)) {
    throw DataError(file + ": a CIFAR-10 .bin file expected, found a directory");
  }
  const auto size = static_cast<int64_t>(fs::file_size(file, error));
  if (error) throw DataError(file + ": cannot open (missing?), " + error.message());
  if (size == 0 || size % kCifar10RecordBytes != 0) {
    throw DataError(file + ": CIFAR-10 records of " + std::to_string(kCifar10RecordBytes) +
                    " bytes expected, found a file of " + std::to_string(size) +
                    " bytes (not a whole, non-zero number of records)");
  }
  return size / kCifar10RecordBytes;
}

}  // namespace

void decode_cifar10_records(const unsigned char* data, int64_t count, uint8_t* images,
                            int64_t* labels, const std::string& source, int64_t first_record) {
  for (int64_t i = 0; i < count; ++i) {
    const unsigned char* record = data + i * kCifar10RecordBytes;
    if (record[0] > 9) {
      throw DataError(source + ": a label in 0..9 expected, found " + std::to_string(record[0]) +
                      " in record " + std::to_string(first_record + i) +
                      " (not a CIFAR-10 file? CIFAR-100's records are 3074 bytes)");
    }
    labels[i] = record[0];
    std::memcpy(images + i * kPixels, record + 1, kPixels);  // already channel-major, row by row
  }
}

ImageSet load_cifar10(const std::string& path, int64_t limit) {
  const std::vector<std::string> files = cifar10_files(path);
  std::vector<int64_t> counts;
  int64_t total = 0;
  for (const std::string& file : files) {
    counts.push_back(record_count(file));
    total += counts.back();
  }
  const int64_t keep = limit > 0 && limit < total ? limit : total;
  ImageSet set;
  set.images = torch::empty({keep, 3, 32, 32}, torch::kUInt8);
  set.labels = torch::empty({keep}, torch::kLong);
  uint8_t* images = set.images.data_ptr<uint8_t>();
  int64_t* labels = set.labels.data_ptr<int64_t>();

  constexpr int64_t kChunkRecords = 2048;
  std::vector<unsigned char> buffer;
  int64_t done = 0;
  for (size_t f = 0; f < files.size() && done < keep; ++f) {
    std::ifstream in(files[f], std::ios::binary);
    if (!in) throw DataError(files[f] + ": cannot open, " + std::strerror(errno));
    const int64_t want = std::min(counts[f], keep - done);
    for (int64_t first = 0; first < want; first += kChunkRecords) {
      const int64_t n = std::min(kChunkRecords, want - first);
      buffer.resize(static_cast<size_t>(n * kCifar10RecordBytes));
      if (!in.read(reinterpret_cast<char*>(buffer.data()),
                   static_cast<std::streamsize>(buffer.size()))) {
        throw DataError(files[f] + ": " + std::to_string(counts[f]) +
                        " records expected, found the file shorter while reading it");
      }
      decode_cifar10_records(buffer.data(), n, images + (done + first) * kPixels,
                             labels + done + first, files[f], first);
    }
    done += want;
  }
  return set;
}

}  // namespace dcgan
