// CIFAR-10's binary version: records of one label byte and 3072 pixel bytes (the 1024 red, then
// green, then blue values of a 32x32 image, row by row), as in data_batch_1.bin .. test_batch.bin.
#pragma once

#include <cstdint>
#include <string>

#include "dcgan/data/image_set.h"

namespace dcgan {

constexpr int64_t kCifar10RecordBytes = 1 + 3 * 32 * 32;

// Reads a CIFAR-10 .bin file, or every data_batch_*.bin of a folder in name order, as images
// (N, 3, 32, 32) and labels (N) in 0..9. `limit` > 0 keeps the first `limit` records.
// Throws DataError "<path>: ..." for a missing or empty file, a size that is not a whole number
// of records, a label outside 0..9, or a folder without data_batch_*.bin.
ImageSet load_cifar10(const std::string& path, int64_t limit = 0);

// The records of one buffer (size a multiple of kCifar10RecordBytes), appended from `first` on;
// `source` names it in errors. For the loader and its fuzzer.
void decode_cifar10_records(const unsigned char* data, int64_t count, uint8_t* images,
                            int64_t* labels, const std::string& source, int64_t first_record);

}  // namespace dcgan
