// SVHN "Format 2" .mat files through matio: MATLAB v5, v5 zlib-compressed and v7.3 (HDF5).
#pragma once

#include <cstdint>
#include <string>

#include "dcgan/data/image_set.h"

namespace dcgan {

// Reads variable `X` (uint8, 32x32x3xN in MATLAB's column-major order, i.e. X(row, col, c, n))
// and `y` (N labels, any numeric type, 10 meaning digit 0; stored as 0..9).
// Returns images (N, 3, 32, 32) with images[n][c][row][col] == X(row, col, c, n).
// `limit` > 0 keeps only the first `limit` images.
// Throws DataError "<path>: ..." for a missing, unreadable, truncated or malformed file, a missing
// or wrongly shaped/typed X or y, or y of another length than X; and for any file in a build
// without matio (DCGAN_WITH_MATIO is 0: see cmake/Dependencies.cmake).
ImageSet load_svhn_mat(const std::string& path, int64_t limit = 0);

}  // namespace dcgan
