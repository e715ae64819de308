// libFuzzer target: load_svhn_mat on arbitrary bytes. A DataError is the loader refusing the
// file, its documented outcome; any other exception, a crash, a sanitizer report, a timeout or
// an out-of-memory is a bug. The whole input is the file: the seeds are valid v5, compressed
// v5 and v7.3 (HDF5) files written by dcgan_fuzz_seeds.
//
// v7.3 inputs are skipped unless DCGAN_FUZZ_HDF5=1. Their bytes go to HDF5 (through matio), and
// Debian 12's HDF5 1.10.8 has memory errors on corrupt files that fuzzing hits within minutes,
// e.g. a heap-buffer-overflow read decoding an attribute (H5Aopen_by_name, called by matio's
// Mat_VarReadInfo). They are HDF5's, beyond what this loader can check, and would end every run
// before it got far in our own code. See docs/RELIABILITY.md.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "dcgan/data/svhn_mat.h"
#include "dcgan/error.h"
#include "fuzz_file.h"

namespace {

// The 128-byte MATLAB header's version, as the loader (and matio) read it: 0x0200 is v7.3.
bool is_v73(const uint8_t* data, size_t size) {
  if (size < 128) return false;
  if (data[126] == 'I' && data[127] == 'M') return (data[125] << 8 | data[124]) == 0x0200;
  if (data[126] == 'M' && data[127] == 'I') return (data[124] << 8 | data[125]) == 0x0200;
  return false;
}

bool fuzz_hdf5() {
  static const bool enabled = [] {
    const char* value = std::getenv("DCGAN_FUZZ_HDF5");
    return value != nullptr && std::strcmp(value, "1") == 0;
  }();
  return enabled;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!fuzz_hdf5() && is_v73(data, size)) return -1;  // -1: not added to the corpus
  const std::string path = dcgan::fuzz::write_input("input.mat", data, size);
  try {
    // One image, then all: the limit takes a path of its own through the copy.
    const dcgan::ImageSet set = dcgan::load_svhn_mat(path, size % 2 == 0 ? 0 : 1);
    // What the loader returns must hold what it promises. The reads go through this
    // (instrumented) file, so ASan sees them should the tensors alias freed matio memory.
    if (set.images.dim() != 4 || set.images.size(1) != 3 || set.images.size(2) != 32 ||
        set.images.size(3) != 32 || !set.images.is_contiguous() ||
        set.images.scalar_type() != torch::kUInt8 || set.labels.dim() != 1 ||
        set.labels.size(0) != set.images.size(0) || set.labels.scalar_type() != torch::kInt64) {
      dcgan::fuzz::abort_on_unexpected("images or labels of the wrong shape or type", "result");
    }
    const uint8_t* pixels = set.images.data_ptr<uint8_t>();
    unsigned sum = 0;
    for (int64_t i = 0; i < set.images.numel(); ++i) sum += pixels[i];
    const int64_t* labels = set.labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < set.labels.numel(); ++i) {
      if (labels[i] < 0 || labels[i] > 9) {
        dcgan::fuzz::abort_on_unexpected("a label outside 0..9", "result");
      }
    }
    volatile unsigned keep_sum = sum;  // the pixel reads must not be optimised away
    (void)keep_sum;
  } catch (const dcgan::DataError&) {
    // refused: fine
  } catch (const std::exception& e) {
    dcgan::fuzz::abort_on_unexpected(e.what(), "exception");
  }
  return 0;
}
