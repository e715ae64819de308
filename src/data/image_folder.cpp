// Image folders: list, decode on every core, compact, cache.
//
// Memory: the images are decoded straight into their slot of one preallocated tensor; a file that
// does not decode leaves its slot empty, and the slots are then compacted in place. Peak memory is
// that tensor plus one decoded source image per thread.
#include "dcgan/data/image_folder.h"

#include <stb_image.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "dcgan/error.h"

namespace dcgan {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kMaxSide = 16384;
constexpr char kCacheMagic[] = "DCGANFOLDER1";  // 12 bytes, no terminator written
constexpr size_t kCacheMagicBytes = sizeof(kCacheMagic) - 1;

struct FileEntry {
  std::string path;      // as found (root + relative)
  std::string relative;  // the sort key and the cache's record
  int64_t size = 0;
  int64_t mtime_ns = 0;
  bool image = false;    // an image extension
};

bool has_image_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".gif" ||
         ext == ".tga";
}

std::vector<FileEntry> list_files(const std::string& root) {
  std::error_code error;
  const fs::file_status status = fs::status(root, error);
  if (error || !fs::exists(status)) throw DataError(root + ": cannot open the folder (missing?)");
  if (!fs::is_directory(status)) {
    throw DataError(root + ": a folder of images expected (data.format folder), found a file");
  }
  // One stat per file: a large folder is listed at every start, also when the cache is used.
  std::string prefix = fs::path(root).string();
  if (prefix.empty() || prefix.back() != '/') prefix += '/';
  std::vector<FileEntry> files;
  fs::recursive_directory_iterator it(root, fs::directory_options::follow_directory_symlink, error);
  for (; !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory(error)) it.disable_recursion_pending();
      continue;
    }
    FileEntry entry;
    entry.path = it->path().string();
    struct stat info;
    if (::stat(entry.path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) continue;
    entry.relative = entry.path.compare(0, prefix.size(), prefix) == 0
                         ? entry.path.substr(prefix.size())
                         : fs::relative(it->path(), root).generic_string();
    entry.size = static_cast<int64_t>(info.st_size);
    entry.mtime_ns = static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec;
    entry.image = has_image_extension(it->path());
    files.push_back(std::move(entry));
  }
  if (error) throw DataError(root + ": cannot list the folder, " + error.message());
  std::sort(files.begin(), files.end(),
            [](const FileEntry& a, const FileEntry& b) { return a.relative < b.relative; });
  return files;
}

// FNV-1a, 64 bits: a digest of the file list for the cache, not a defence against tampering.
struct Fnv {
  uint64_t value = 1469598103934665603ull;
  void add(const void* data, size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) value = (value ^ bytes[i]) * 1099511628211ull;
  }
  void add(const std::string& text) { add(text.data(), text.size() + 1); }
  void add(int64_t number) { add(&number, sizeof number); }
};

std::string hex64(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

struct Labelling {
  bool labelled = false;
  std::vector<int64_t> label_of;  // per file
  std::vector<std::string> classes;
};

// The ImageFolder convention: every file in a first-level subfolder, at least two of them.
Labelling label_files(const std::vector<FileEntry>& files) {
  Labelling result;
  std::map<std::string, int64_t> index;
  for (const FileEntry& file : files) {
    const size_t slash = file.relative.find('/');
    if (slash == std::string::npos) return {};
    index.emplace(file.relative.substr(0, slash), 0);
  }
  if (index.size() < 2) return {};
  for (auto& item : index) {
    item.second = static_cast<int64_t>(result.classes.size());
    result.classes.push_back(item.first);
  }
  for (const FileEntry& file : files) {
    result.label_of.push_back(index[file.relative.substr(0, file.relative.find('/'))]);
  }
  result.labelled = true;
  return result;
}

struct CacheHeader {
  uint64_t digest = 0;
  int64_t count = 0, channels = 0, side = 0, labelled = 0, skipped = 0;
};

bool read_cache(const std::string& path, uint64_t digest, ImageSet& set, int64_t& skipped) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  char magic[kCacheMagicBytes];
  CacheHeader header;
  if (!in.read(magic, sizeof magic) || std::memcmp(magic, kCacheMagic, sizeof magic) != 0 ||
      !in.read(reinterpret_cast<char*>(&header), sizeof header) || header.digest != digest ||
      header.count <= 0 || header.channels <= 0 || header.side <= 0) {
    return false;
  }
  std::error_code error;
  const int64_t pixels = header.count * header.channels * header.side * header.side;
  const int64_t expected = static_cast<int64_t>(kCacheMagicBytes + sizeof header) + pixels +
                           (header.labelled != 0 ? header.count * 8 : 0);
  if (static_cast<int64_t>(fs::file_size(path, error)) != expected || error) return false;
  ImageSet loaded;
  loaded.images = torch::empty({header.count, header.channels, header.side, header.side}, torch::kUInt8);
  if (!in.read(reinterpret_cast<char*>(loaded.images.data_ptr<uint8_t>()), pixels)) return false;
  if (header.labelled != 0) {
    loaded.labels = torch::empty({header.count}, torch::kLong);
    if (!in.read(reinterpret_cast<char*>(loaded.labels.data_ptr<int64_t>()), header.count * 8)) {
      return false;
    }
  }
  set = std::move(loaded);
  skipped = header.skipped;
  return true;
}

// Best effort: a cache that cannot be written costs the next run its quick start, nothing else.
std::string write_cache(const std::string& path, uint64_t digest, const ImageSet& set,
                        int64_t skipped) {
  std::error_code error;
  fs::create_directories(fs::path(path).parent_path(), error);
  if (error) return error.message();
  const std::string temp = path + ".tmp-" + std::to_string(getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    CacheHeader header;
    header.digest = digest;
    header.count = set.images.size(0);
    header.channels = set.images.size(1);
    header.side = set.images.size(2);
    header.labelled = set.labels.defined() ? 1 : 0;
    header.skipped = skipped;
    out.write(kCacheMagic, kCacheMagicBytes);
    out.write(reinterpret_cast<const char*>(&header), sizeof header);
    const torch::Tensor images = set.images.contiguous();
    out.write(reinterpret_cast<const char*>(images.data_ptr<uint8_t>()), images.numel());
    if (set.labels.defined()) {
      const torch::Tensor labels = set.labels.contiguous();
      out.write(reinterpret_cast<const char*>(labels.data_ptr<int64_t>()), labels.numel() * 8);
    }
    out.close();
    if (!out) {
      fs::remove(temp, error);
      return std::strerror(errno);
    }
  }
  fs::rename(temp, path, error);
  if (error) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    return error.message();
  }
  return "";
}

std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw DataError(path + ": cannot open, " + std::strerror(errno));
  const std::streamoff size = in.tellg();
  if (size < 0) throw DataError(path + ": cannot tell its size, " + std::strerror(errno));
  std::vector<unsigned char> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    throw DataError(path + ": read error, " + std::strerror(errno));
  }
  return bytes;
}

std::string seconds(Clock::duration elapsed) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f s", std::chrono::duration<double>(elapsed).count());
  return text;
}

}  // namespace

torch::Tensor resize_images(const torch::Tensor& images_u8, int64_t size) {
  namespace F = torch::nn::functional;
  if (images_u8.size(2) == size && images_u8.size(3) == size) return images_u8;
  const int64_t n = images_u8.size(0);
  torch::Tensor out = torch::empty({n, images_u8.size(1), size, size}, torch::kUInt8);
  constexpr int64_t kChunk = 1024;
  for (int64_t first = 0; first < n; first += kChunk) {
    const int64_t count = std::min(kChunk, n - first);
    const torch::Tensor resized = F::interpolate(
        images_u8.narrow(0, first, count).to(torch::kFloat32),
        F::InterpolateFuncOptions()
            .size(std::vector<int64_t>{size, size})
            .mode(torch::kBilinear)
            .align_corners(false)
            .antialias(true));
    out.narrow(0, first, count).copy_(resized.round_().clamp_(0, 255));
  }
  return out;
}

namespace {

// The largest centred square of an encoded image, (channels, side, side) uint8, not resized.
torch::Tensor decode_square(const unsigned char* data, size_t size, int64_t channels,
                            const std::string& name) {
  if (size == 0) throw DataError(name + ": an image expected, found an empty file");
  if (size > static_cast<size_t>(INT_MAX)) {
    throw DataError(name + ": an image under 2 GiB expected, found " + std::to_string(size) + " bytes");
  }
  int width = 0, height = 0, components = 0;
  if (stbi_info_from_memory(data, static_cast<int>(size), &width, &height, &components) == 0) {
    const char* reason = stbi_failure_reason();
    throw DataError(name + ": a PNG, JPEG, BMP, GIF or TGA image expected, found data that does "
                    "not decode (" + (reason != nullptr ? reason : "unknown format") + ")");
  }
  if (width <= 0 || height <= 0 || width > kMaxSide || height > kMaxSide) {
    throw DataError(name + ": an image of at most " + std::to_string(kMaxSide) +
                    " pixels a side expected, found " + std::to_string(width) + "x" +
                    std::to_string(height));
  }
  std::unique_ptr<unsigned char, void (*)(void*)> pixels(
      stbi_load_from_memory(data, static_cast<int>(size), &width, &height, &components,
                            static_cast<int>(channels)),
      stbi_image_free);
  if (!pixels) {
    const char* reason = stbi_failure_reason();
    throw DataError(name + ": a decodable image expected, found it corrupt or unsupported (" +
                    (reason != nullptr ? reason : "unknown") + ")");
  }
  const int64_t side = std::min(width, height);
  const torch::Tensor square =
      torch::from_blob(pixels.get(), {height, width, channels}, torch::kUInt8)
          .narrow(0, (height - side) / 2, side)
          .narrow(1, (width - side) / 2, side)
          .permute({2, 0, 1});
  return square.clone(at::MemoryFormat::Contiguous);
}

// Squares of one source size waiting to be resized together: one call of the filter per batch,
// not per image (its fixed cost is most of the time for small images).
class ResizeBatcher {
 public:
  ResizeBatcher(uint8_t* images, int64_t channels, int64_t side,
                std::function<void(int64_t, const std::string&)> fail)
      : images_(images), image_bytes_(channels * side * side), side_(side), fail_(std::move(fail)) {}

  void add(int64_t index, torch::Tensor square) {
    const int64_t from = square.size(1);
    if (from == side_) {
      std::memcpy(images_ + index * image_bytes_, square.data_ptr<uint8_t>(),
                  static_cast<size_t>(image_bytes_));
      return;
    }
    Pending& pending = pending_[from];
    pending.bytes += square.numel();
    pending.index.push_back(index);
    pending.squares.push_back(std::move(square));
    if (pending.squares.size() >= 256 || pending.bytes >= (32 << 20)) flush(pending);
  }

  void flush_all() {
    for (auto& item : pending_) flush(item.second);
  }

 private:
  struct Pending {
    std::vector<int64_t> index;
    std::vector<torch::Tensor> squares;
    int64_t bytes = 0;
  };

  void flush(Pending& pending) {
    if (pending.squares.empty()) return;
    try {
      const torch::Tensor resized = resize_images(torch::stack(pending.squares), side_).contiguous();
      const uint8_t* out = resized.data_ptr<uint8_t>();
      for (size_t i = 0; i < pending.index.size(); ++i) {
        std::memcpy(images_ + pending.index[i] * image_bytes_,
                    out + static_cast<int64_t>(i) * image_bytes_, static_cast<size_t>(image_bytes_));
      }
    } catch (const std::exception& e) {  // out of memory: the batch's files count as unreadable
      for (const int64_t index : pending.index) fail_(index, e.what());
    }
    pending = Pending{};
  }

  uint8_t* images_;
  int64_t image_bytes_;
  int64_t side_;
  std::function<void(int64_t, const std::string&)> fail_;
  std::map<int64_t, Pending> pending_;
};

}  // namespace

torch::Tensor decode_image(const unsigned char* data, size_t size, int64_t image_size,
                           int64_t channels, const std::string& name) {
  const torch::Tensor square = decode_square(data, size, channels, name);
  if (square.size(1) == image_size) return square;
  return resize_images(square.unsqueeze(0), image_size).squeeze(0);
}

ImageSet load_image_folder(const std::string& root, const FolderOptions& options) {
  const auto start = Clock::now();
  const auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  std::vector<FileEntry> files = list_files(root);
  if (options.limit > 0 && static_cast<int64_t>(files.size()) > options.limit) {
    files.resize(static_cast<size_t>(options.limit));
  }
  if (files.empty()) throw DataError(root + ": a folder of images expected, found it empty");

  Fnv digest;
  digest.add(std::string("dcgan folder cache 1"));
  digest.add(options.image_size);
  digest.add(options.channels);
  for (const FileEntry& file : files) {
    digest.add(file.relative);
    digest.add(file.size);
    digest.add(file.mtime_ns);
  }
  std::string cache_path;
  if (!options.cache_dir.empty()) {
    std::error_code error;
    Fnv name;
    name.add(fs::weakly_canonical(root, error).string());
    name.add(options.image_size);
    name.add(options.channels);
    name.add(options.limit);
    cache_path = options.cache_dir + "/folder-" + hex64(name.value) + ".bin";
    ImageSet cached;
    int64_t skipped = 0;
    if (read_cache(cache_path, digest.value, cached, skipped)) {
      log(root + ": " + std::to_string(cached.size()) + " images from the cache " + cache_path +
          " in " + seconds(Clock::now() - start) +
          (skipped > 0 ? " (" + std::to_string(skipped) + " files skipped when it was made)" : ""));
      return cached;
    }
  }

  if (options.strict) {
    for (const FileEntry& file : files) {
      if (!file.image) {
        throw DataError(file.path + ": an image file (.png, .jpg, .jpeg, .bmp, .gif, .tga) "
                        "expected, found another kind of file (data.strict is on)");
      }
    }
  }
  const Labelling labelling = label_files(files);
  const auto count = static_cast<int64_t>(files.size());
  const int64_t side = options.image_size;
  const int64_t image_bytes = options.channels * side * side;
  ImageSet set;
  set.images = torch::empty({count, options.channels, side, side}, torch::kUInt8);
  uint8_t* images = set.images.data_ptr<uint8_t>();
  std::vector<std::string> failures(files.size());  // empty: decoded

  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
  auto work = [&] {
    ResizeBatcher batcher(images, options.channels, side, [&](int64_t index, const std::string& what) {
      failures[static_cast<size_t>(index)] = files[static_cast<size_t>(index)].path + ": " + what;
    });
    for (int64_t i = next++; i < count; i = next++) {
      const FileEntry& file = files[static_cast<size_t>(i)];
      try {
        if (!file.image) {
          throw DataError(file.path + ": not an image file by its name");
        }
        const std::vector<unsigned char> bytes = read_bytes(file.path);
        batcher.add(i, decode_square(bytes.data(), bytes.size(), options.channels, file.path));
      } catch (const std::exception& e) {
        failures[static_cast<size_t>(i)] = e.what();
      }
      ++done;
    }
    batcher.flush_all();
  };
  int64_t threads = options.threads > 0 ? options.threads
                                        : static_cast<int64_t>(std::thread::hardware_concurrency());
  threads = std::max<int64_t>(1, std::min(threads, count));
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < threads; ++t) pool.emplace_back(work);
  if (options.log && count >= 2000) {
    // Progress from this thread while the others decode; it joins in for the last files.
    auto last = Clock::now();
    while (done.load() < count && next.load() < count) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (Clock::now() - last >= std::chrono::seconds(2)) {
        last = Clock::now();
        log(root + ": decoded " + std::to_string(done.load()) + " of " + std::to_string(count) +
            " files");
      }
    }
  }
  work();
  for (std::thread& thread : pool) thread.join();

  // Compact the decoded images to the front, in order.
  int64_t kept = 0;
  int64_t not_images = 0;
  std::vector<int64_t> labels;
  std::vector<std::string> skipped_examples;
  for (int64_t i = 0; i < count; ++i) {
    const std::string& failure = failures[static_cast<size_t>(i)];
    if (!failure.empty()) {
      if (options.strict) throw DataError(failure + " (data.strict is on)");
      if (!files[static_cast<size_t>(i)].image) ++not_images;
      if (skipped_examples.size() < 3) skipped_examples.push_back(failure);
      continue;
    }
    if (kept != i) {
      std::memmove(images + kept * image_bytes, images + i * image_bytes, static_cast<size_t>(image_bytes));
    }
    if (labelling.labelled) labels.push_back(labelling.label_of[static_cast<size_t>(i)]);
    ++kept;
  }
  const int64_t skipped = count - kept;
  if (kept == 0) {
    throw DataError(root + ": images that decode expected, found none among " +
                    std::to_string(count) + " files (first: " + skipped_examples.front() + ")");
  }
  if (kept < count) set.images = set.images.narrow(0, 0, kept);
  if (labelling.labelled) set.labels = torch::tensor(labels, torch::kLong);

  std::string summary = root + ": " + std::to_string(kept) + " images of " + std::to_string(side) +
                        "x" + std::to_string(side) + " in " + seconds(Clock::now() - start) +
                        " on " + std::to_string(threads) + " threads";
  if (labelling.labelled) {
    summary += ", " + std::to_string(labelling.classes.size()) + " classes by subfolder";
  }
  if (skipped > 0) {
    summary += "; skipped " + std::to_string(skipped) + " files (" + std::to_string(not_images) +
               " not images, " + std::to_string(skipped - not_images) + " unreadable)";
  }
  log(summary);
  for (const std::string& example : skipped_examples) log("skipped " + example);

  if (!cache_path.empty()) {
    const std::string problem = write_cache(cache_path, digest.value, set, skipped);
    if (!problem.empty()) log("cannot write the cache " + cache_path + ": " + problem);
  }
  return set;
}

}  // namespace dcgan
