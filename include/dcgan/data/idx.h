// MNIST-format IDX files (Fashion-MNIST, MNIST), gzip-compressed or plain.
#pragma once

#include <cstdint>
#include <string>

#include "dcgan/data/image_set.h"

namespace dcgan {

// Reads an IDX3 uint8 image file (magic 0x00000803, N x 28 x 28) and pads each image with zeros
// to 32x32 (2 pixels each side), so the 32x32 model applies. Returns images (N, 1, 32, 32) and
// no labels. A file ending in `.gz` is decompressed. `limit` > 0 keeps the first `limit` images.
// Throws DataError "<path>: ..." for a missing file, a wrong magic number, a truncated or
// corrupt file, or an image size other than 28x28 or 32x32 (32x32 is kept as is).
ImageSet load_idx_images(const std::string& path, int64_t limit = 0);

// Reads an IDX1 uint8 label file (magic 0x00000801), the first `limit` labels when > 0, as (N)
// int64. Throws DataError "<path>: ...".
torch::Tensor load_idx_labels(const std::string& path, int64_t limit = 0);

// The label file that goes with an image file by the MNIST naming convention
// ("...-images-idx3-ubyte[.gz]" -> "...-labels-idx1-ubyte[.gz]") when it exists, else "".
std::string idx_labels_beside(const std::string& images_path);

}  // namespace dcgan
