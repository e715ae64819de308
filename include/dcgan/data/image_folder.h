// A folder of PNG/JPEG (and BMP/GIF/TGA) images as an in-memory dataset: decoded with stb_image,
// centre-cropped to a square, resized to the model size, in a stable order, on every core, with an
// optional cache of the decoded tensor.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "dcgan/data/image_set.h"

namespace dcgan {

struct FolderOptions {
  int64_t image_size = 32;  // side of the square images made
  int64_t channels = 3;     // 1 (grey) or 3 (RGB); stb converts every source to it
  bool strict = false;      // a file that is not a decodable image is an error, not a skip
  int64_t limit = 0;        // > 0: only the first `limit` files in order
  // Folder for the cache file; empty: no cache. The cache holds the decoded images and is used
  // while the folder's file list and sizes (and modification times) match it.
  std::string cache_dir;
  int64_t threads = 0;  // decoding threads; 0: every core
  // Progress, skip counts and cache use; may be empty.
  std::function<void(const std::string&)> log;
};

// Reads every image under `root` (recursively; names starting with '.' are ignored), sorted by
// path. Labels, when every file lies in a first-level subfolder and there are at least two: the
// subfolder's index in name order (the ImageFolder convention). Throws DataError naming `root`
// when it is missing, not a folder, or holds no image that decodes; with `strict`, naming the first
// file that does not decode.
ImageSet load_image_folder(const std::string& root, const FolderOptions& options);

// One encoded image -> (channels, image_size, image_size) uint8: the largest centred square,
// resized with an antialiased bilinear filter. Throws DataError "<name>: ..." for data stb_image
// cannot decode or an image over 16384 pixels a side.
torch::Tensor decode_image(const unsigned char* data, size_t size, int64_t image_size,
                           int64_t channels, const std::string& name);

// Crop-free resize of uint8 images (N, C, H, W) to (N, C, size, size), antialiased bilinear.
torch::Tensor resize_images(const torch::Tensor& images_u8, int64_t size);

}  // namespace dcgan
