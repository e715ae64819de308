// libFuzzer target: the image-folder decoder (decode_image: stb_image, centre crop, resize) and
// the CIFAR-10 record reader on arbitrary bytes. A DataError is the decoder refusing the file,
// its documented outcome; any other exception, a crash, a sanitizer report, a timeout or an
// out-of-memory is a bug.
//
// Input layout: byte 0 is a flag byte, the rest is the file.
//   bit 0:    channels, 0 = 3 (RGB), 1 = 1 (grey);
//   bits 1-2: image size 8, 32, 64 or 5 (odd sizes exercise the filter's edges);
//   bit 3:    1 = read the rest as a CIFAR-10 file instead (through the file loader).
#include <cstddef>
#include <cstdint>
#include <exception>

#include "dcgan/data/cifar10.h"
#include "dcgan/data/image_folder.h"
#include "dcgan/error.h"
#include "fuzz_file.h"

namespace {

void check_pixels(const torch::Tensor& images) {
  const torch::Tensor contiguous = images.contiguous();
  const uint8_t* pixels = contiguous.data_ptr<uint8_t>();
  unsigned sum = 0;
  for (int64_t i = 0; i < contiguous.numel(); ++i) sum += pixels[i];
  volatile unsigned keep_sum = sum;
  (void)keep_sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const int64_t channels = (flags & 1) != 0 ? 1 : 3;
  const int64_t sizes[] = {8, 32, 64, 5};
  const int64_t side = sizes[(flags >> 1) & 3];
  try {
    if ((flags & 8) != 0) {
      const std::string path = dcgan::fuzz::write_input("data_batch_1.bin", data + 1, size - 1);
      const dcgan::ImageSet set = dcgan::load_cifar10(path, (flags >> 4) & 3);
      if (set.images.dim() != 4 || set.images.size(1) != 3 || set.images.size(2) != 32 ||
          set.labels.size(0) != set.images.size(0) || set.labels.max().item<int64_t>() > 9) {
        dcgan::fuzz::abort_on_unexpected("CIFAR-10 images or labels of the wrong shape", "result");
      }
      check_pixels(set.images);
      return 0;
    }
    const torch::Tensor image = dcgan::decode_image(data + 1, size - 1, side, channels, "input");
    if (image.dim() != 3 || image.size(0) != channels || image.size(1) != side ||
        image.size(2) != side || image.scalar_type() != torch::kUInt8) {
      dcgan::fuzz::abort_on_unexpected("an image of the wrong shape or type", "result");
    }
    check_pixels(image);
  } catch (const dcgan::DataError&) {
    // refused: fine
  } catch (const std::exception& e) {
    dcgan::fuzz::abort_on_unexpected(e.what(), "exception");
  }
  return 0;
}
