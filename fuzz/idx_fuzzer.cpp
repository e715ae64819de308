// libFuzzer target: load_idx_images on arbitrary bytes, plain or gzip-compressed. A DataError is
// the loader refusing the file, its documented outcome; any other exception, a crash, a
// sanitizer report, a timeout or an out-of-memory is a bug.
//
// Input layout: byte 0 is a flag byte, the rest is the file.
//   bit 0:     1 = gzip-compress the rest first (so mutations reach the IDX parser behind zlib),
//              0 = write it as is (which may itself be gzip data, mutated at the byte level);
//   bits 1-3:  `limit` 0..7.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <vector>

#include "dcgan/data/idx.h"
#include "dcgan/error.h"
#include "fuzz_file.h"

namespace {

// gzip (not zlib) framing, as gzopen writes it: deflateInit2 with windowBits 15 + 16.
std::vector<uint8_t> gzip(const uint8_t* data, size_t size) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    std::abort();
  }
  std::vector<uint8_t> out(deflateBound(&z, static_cast<uLong>(size)) + 32);
  z.next_in = const_cast<Bytef*>(data);
  z.avail_in = static_cast<uInt>(size);
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const int64_t limit = (flags >> 1) & 7;
  std::string path;
  if ((flags & 1) != 0) {
    const std::vector<uint8_t> compressed = gzip(data + 1, size - 1);
    path = dcgan::fuzz::write_input("input.gz", compressed.data(), compressed.size());
  } else {
    path = dcgan::fuzz::write_input("input", data + 1, size - 1);
  }
  try {
    const dcgan::ImageSet set = dcgan::load_idx_images(path, limit);
    if (set.images.dim() != 4 || set.images.size(1) != 1 || set.images.size(2) != 32 ||
        set.images.size(3) != 32 || !set.images.is_contiguous() ||
        set.images.scalar_type() != torch::kUInt8 || set.images.size(0) < 1 ||
        (limit > 0 && set.images.size(0) > limit)) {
      dcgan::fuzz::abort_on_unexpected("images of the wrong shape, type or count", "result");
    }
    // Read every pixel here (instrumented code), so ASan checks the tensor's memory.
    const uint8_t* pixels = set.images.data_ptr<uint8_t>();
    unsigned sum = 0;
    for (int64_t i = 0; i < set.images.numel(); ++i) sum += pixels[i];
    volatile unsigned keep_sum = sum;
    (void)keep_sum;
  } catch (const dcgan::DataError&) {
    // refused: fine
  } catch (const std::exception& e) {
    dcgan::fuzz::abort_on_unexpected(e.what(), "exception");
  }
  return 0;
}
