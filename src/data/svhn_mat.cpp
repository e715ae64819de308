// SVHN "Format 2" .mat loading through matio, with the checks matio leaves to its caller.
//
// matio 1.5 trusts the sizes written in a v5 file and reports most problems only through its
// global log function: a truncated or inconsistent variable comes back as zeros or a partly
// filled array, at most with a warning. So:
// 1. v5 files are walked before matio opens them, reading only the start of each element:
//    every element must lie inside the file, and X and y must hold the bytes their dimensions
//    need;
// 2. while matio reads, a second thread inflates every compressed element to the end of its
//    zlib stream (verifying its Adler-32) and checks it is as long as its tag promises;
// 3. matio runs with a log handler that records what it and HDF5 (v7.3) report; anything
//    recorded fails the load instead of reaching stderr.
#include "dcgan/data/svhn_mat.h"

#include "dcgan/error.h"

#if DCGAN_WITH_MATIO
#include <matio.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <sstream>
#include <vector>

namespace dcgan {
namespace {

constexpr int64_t kSide = 32;
constexpr int64_t kChannels = 3;
constexpr int64_t kImageBytes = kSide * kSide * kChannels;  // 3072

// matio messages can span lines (HDF5 error stacks); errors here are one line.
std::string one_line(const std::string& text) {
  std::string out;
  bool space = false;
  for (char ch : text) {
    if (ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += ch;
  }
  return out;
}

// Records what matio logs while it is alive. matio's log function is process-global, so one
// capture at a time: the constructor holds a lock until the load is over.
class MatioLogCapture {
 public:
  MatioLogCapture() : lock_(mutex()) {
    sink() = &messages_;
    // Also routes HDF5's error stack (v7.3 files) into record() instead of stderr.
    if (Mat_LogInitFunc("dcgan", &MatioLogCapture::record) != 0) {
      sink() = nullptr;
      throw DataError("matio: logging set up expected to succeed, found Mat_LogInitFunc failing");
    }
  }
  ~MatioLogCapture() { sink() = nullptr; }
  MatioLogCapture(const MatioLogCapture&) = delete;
  MatioLogCapture& operator=(const MatioLogCapture&) = delete;

  bool any() const { return !messages_.empty(); }
  size_t size() const { return messages_.size(); }
  // The first message, as later ones are consequences; for an HDF5 error stack (outermost call
  // first) its innermost entry, which names what was wrong.
  std::string cause() const {
    if (messages_.empty()) return std::string();
    size_t i = 0;
    while (i + 1 < messages_.size() && is_hdf5(messages_[i]) && is_hdf5(messages_[i + 1]) &&
           messages_[i + 1].find("#000") == std::string::npos) {
      ++i;
    }
    return is_hdf5(messages_[i]) ? hdf5_summary(messages_[i]) : messages_[i];
  }

 private:
  static bool is_hdf5(const std::string& message) { return message.rfind("HDF5 ", 0) == 0; }

  // "HDF5 error #008 in H5C_load_entry() file : ../H5C.c:7287 major: Heap minor: Bad value"
  // -> "HDF5: Heap: Bad value"
  static std::string hdf5_summary(const std::string& message) {
    const size_t major = message.find("major: ");
    const size_t minor = message.find(" minor: ");
    if (major == std::string::npos || minor == std::string::npos || minor < major) return message;
    return "HDF5: " + message.substr(major + 7, minor - major - 7) + ": " +
           message.substr(minor + 8);
  }

  // matio 1.5.23 passes `char*`, later versions `const char*`: the template fits either.
  template <typename Char>
  static void record(int level, Char* message) {
    // Warnings count: a read past the end of a compressed variable is only a warning.
    const int failures = MATIO_LOG_LEVEL_ERROR | MATIO_LOG_LEVEL_CRITICAL | MATIO_LOG_LEVEL_WARNING;
    if (sink() == nullptr || (level & failures) == 0) return;
    sink()->push_back(one_line(message != nullptr ? message : "(no message)"));
  }
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static std::vector<std::string>*& sink() {
    static std::vector<std::string>* s = nullptr;
    return s;
  }

  std::lock_guard<std::mutex> lock_;
  std::vector<std::string> messages_;
};

struct MatCloser {
  // Read-only: a failing close loses nothing, and a destructor cannot report it.
  void operator()(mat_t* mat) const { (void)Mat_Close(mat); }
};
struct MatVarFreer {
  void operator()(matvar_t* var) const { Mat_VarFree(var); }
};
using MatFile = std::unique_ptr<mat_t, MatCloser>;
using MatVar = std::unique_ptr<matvar_t, MatVarFreer>;

struct FileCloser {
  void operator()(std::FILE* file) const { (void)std::fclose(file); }  // read-only, as above
};
using File = std::unique_ptr<std::FILE, FileCloser>;

std::string class_name(const matvar_t& var) {
  switch (var.class_type) {
    case MAT_C_EMPTY:
      return "empty";
    case MAT_C_CELL:
      return "cell";
    case MAT_C_STRUCT:
      return "struct";
    case MAT_C_OBJECT:
      return "object";
    case MAT_C_CHAR:
      return "char";
    case MAT_C_SPARSE:
      return "sparse";
    case MAT_C_DOUBLE:
      return "double";
    case MAT_C_SINGLE:
      return "single";
    case MAT_C_INT8:
      return "int8";
    case MAT_C_UINT8:
      return "uint8";
    case MAT_C_INT16:
      return "int16";
    case MAT_C_UINT16:
      return "uint16";
    case MAT_C_INT32:
      return "int32";
    case MAT_C_UINT32:
      return "uint32";
    case MAT_C_INT64:
      return "int64";
    case MAT_C_UINT64:
      return "uint64";
    case MAT_C_FUNCTION:
      return "function";
    default:
      return "class " + std::to_string(static_cast<int>(var.class_type));
  }
}

// "double 32x32x3x5", "complex uint8 32x32x3x5"
std::string describe(const matvar_t& var) {
  std::string text = var.isComplex ? "complex " + class_name(var) : class_name(var);
  text += ' ';
  for (int i = 0; i < var.rank; ++i) {
    if (i > 0) text += 'x';
    text += std::to_string(var.dims[i]);
  }
  return text;
}

// --- MATLAB v5 structure: the checks of points 1 and 2 above ------------------------------

constexpr int kVersion5 = 0x0100;
constexpr int kVersion73 = 0x0200;
constexpr uint32_t kMiInt8 = 1;
constexpr uint32_t kMiInt32 = 5;
constexpr uint32_t kMiUint32 = 6;
constexpr uint32_t kMiMatrix = 14;
constexpr uint32_t kMiCompressed = 15;
// Enough of an array element for its flags, dimensions, name and the tag of its data.
constexpr size_t kArrayHeadBytes = 4096;
// Deflate's largest expansion: one 258-byte match per 2 bits of input, so about 1032:1.
constexpr uint64_t kMaxDeflateRatio = 1032;

uint32_t swap32(uint32_t v) {
  return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

uint32_t u32_at(const std::vector<unsigned char>& bytes, size_t offset, bool swap) {
  uint32_t value = 0;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return swap ? swap32(value) : value;
}

// A v5 data element's tag. `data` is where its payload starts and `next` where the next element
// starts: a small element packs type and size into one word and its payload into the next 4 bytes.
struct Tag {
  uint32_t type = 0;
  uint64_t size = 0;
  size_t data = 0;
  size_t next = 0;
};

bool tag_at(const std::vector<unsigned char>& head, size_t pos, bool swap, Tag& tag) {
  if (pos + 8 > head.size()) return false;
  const uint32_t word = u32_at(head, pos, swap);
  if ((word >> 16) != 0) {
    tag = {word & 0xffffu, word >> 16, pos + 4, pos + 8};
  } else {
    tag.type = word;
    tag.size = u32_at(head, pos + 4, swap);
    tag.data = pos + 8;
    tag.next = pos + 8 + (tag.size + 7) / 8 * 8;
  }
  return true;
}

// Checks the header of top-level array #`index` (`head`: the start of its content, after its
// tag; `content_size`: what its tag promises) at the offsets matio reads it from: array flags as
// a fixed 16 bytes (whatever their tag says), the dimensions' tag right after, then the name.
// matio allocates what an int32 dimensions tag and an int8 name tag announce (and, for a cell
// or struct, a pointer per element), in every variable it passes while it looks for X and y, so
// those must fit in the element. X and y must moreover have a header as MATLAB writes it and a
// data tag announcing exactly the bytes their dimensions need, inside the element.
void check_array_header(const std::string& path, int index, const std::vector<unsigned char>& head,
                        uint64_t content_size, bool swap) {
  constexpr size_t kFlagsBytes = 16;
  const auto corrupt = [&path](const std::string& variable) {
    return DataError(path + ": " + variable +
                     " with a well-formed MATLAB v5 array header expected, found a corrupt one");
  };
  const std::string element = "variable #" + std::to_string(index);
  if (head.size() < kFlagsBytes + 8) throw corrupt(element);
  Tag dims;
  dims.type = u32_at(head, kFlagsBytes, swap);
  dims.size = u32_at(head, kFlagsBytes + 4, swap);
  dims.data = kFlagsBytes + 8;
  dims.next = dims.data + (dims.size + 7) / 8 * 8;
  Tag name;
  if ((dims.type == kMiInt32 && dims.data + dims.size > content_size) ||
      !tag_at(head, dims.next, swap, name) ||
      (name.type == kMiInt8 && name.data + name.size > content_size)) {
    throw corrupt(element);
  }
  const bool named = name.data + name.size <= head.size();  // else a long name: neither X nor y
  const std::string var_name =
      named ? std::string(reinterpret_cast<const char*>(head.data() + name.data),
                          static_cast<size_t>(name.size))
            : std::string();
  // Dimensions are int32, in a full tag: matio misreads any other (a small element format tag as
  // int32 dimensions sized by the next word; another type by reading the name from inside the
  // dimensions), and then allocates what it misread.
  if (dims.type != kMiInt32) {
    throw corrupt(var_name == "X" || var_name == "y" ? "variable '" + var_name + "'" : element);
  }
  // For a cell, struct, object or function handle, matio also reads the elements, allocating
  // a pointer for each first: every element needs at least an 8-byte tag in the element.
  const auto class_type = static_cast<int>(u32_at(head, 8, swap) & 0xffu);
  if (class_type == MAT_C_CELL || class_type == MAT_C_STRUCT || class_type == MAT_C_OBJECT ||
      class_type == MAT_C_FUNCTION) {
    if (dims.data + dims.size > head.size()) throw corrupt(element);
    uint64_t count = 1;
    for (uint64_t i = 0; i < dims.size / 4 && count <= content_size; ++i) {
      count *= u32_at(head, dims.data + 4 * i, swap);  // at most 2^32 * 2^32: no overflow
    }
    if (count > content_size / 8) throw corrupt(element);
  }
  if (var_name != "X" && var_name != "y") return;
  const std::string variable = path + ": variable '" + var_name + "'";
  Tag flags;
  Tag data;
  if (!tag_at(head, 0, swap, flags) || flags.type != kMiUint32 || flags.size != 8 ||
      flags.next != kFlagsBytes || dims.type != kMiInt32 || dims.size < 8 || dims.size % 4 != 0 ||
      dims.data + dims.size > head.size() || name.type != kMiInt8 ||
      !tag_at(head, name.next, swap, data)) {
    throw corrupt("variable '" + var_name + "'");
  }
  if (class_type < MAT_C_DOUBLE || class_type > MAT_C_UINT64) return;  // rejected later by class
  uint64_t count = 1;
  std::string shape;
  for (uint64_t i = 0; i < dims.size / 4; ++i) {
    const auto dim = static_cast<int32_t>(u32_at(head, dims.data + 4 * i, swap));
    if (dim < 0 || (dim > 0 && count > UINT64_MAX / static_cast<uint64_t>(dim) / 16)) {
      throw DataError(variable + " with valid dimensions expected, found a dimension of " +
                      std::to_string(dim) + " (file corrupt)");
    }
    count *= static_cast<uint64_t>(dim);
    shape += (i > 0 ? "x" : "") + std::to_string(dim);
  }
  const size_t element_size = Mat_SizeOf(static_cast<matio_types>(data.type));
  if (element_size == 0 || data.size != count * element_size) {
    throw DataError(variable + " of " + shape + " with " +
                    (element_size == 0 ? std::string("numeric data")
                                       : std::to_string(count * element_size) + " bytes of data") +
                    " expected, found a data tag of type " + std::to_string(data.type) + " and " +
                    std::to_string(data.size) + " bytes (file corrupt)");
  }
  if (data.data + data.size > content_size) {
    throw DataError(variable + " with " + std::to_string(data.size) +
                    " bytes of data expected, found only " +
                    std::to_string(content_size > data.data ? content_size - data.data : 0) +
                    " in its element (file corrupt)");
  }
}

// A compressed element's place in the file, for the full check of its stream.
struct CompressedElement {
  int index = 0;        // 1-based position among the file's variables, for messages
  uint64_t offset = 0;  // of its zlib stream
  uint64_t size = 0;    // of its zlib stream
};

struct Inflated {
  std::vector<unsigned char> head;  // the first inflated bytes: inner tag, then array header
  uint64_t total = 0;               // bytes inflated
  bool complete = false;            // reached the end of the zlib stream
};

// Inflates compressed element `element` from `file` (positioned at its stream): only until
// `head_bytes` are out, or, with `to_end`, to the end of its stream, which verifies its Adler-32
// (a flipped byte can otherwise inflate to plausible but wrong pixels).
Inflated inflate_element(const std::string& path, std::FILE* file, const CompressedElement& element,
                         size_t head_bytes, bool to_end) {
  const std::string variable = "variable #" + std::to_string(element.index);
  z_stream z;
  std::memset(&z, 0, sizeof z);
  if (inflateInit(&z) != Z_OK) throw DataError(path + ": zlib expected to initialise, it did not");
  const std::unique_ptr<z_stream, int (*)(z_streamp)> end_inflate(&z, &inflateEnd);
  std::vector<unsigned char> in(to_end ? 1 << 16 : 1 << 12);
  std::vector<unsigned char> out(to_end ? 1 << 18 : head_bytes);
  Inflated result;
  uint64_t left = element.size;
  int status = Z_OK;
  while (status != Z_STREAM_END && (to_end || result.head.size() < head_bytes)) {
    if (z.avail_in == 0) {
      if (left == 0) break;
      const size_t want = left < in.size() ? static_cast<size_t>(left) : in.size();
      if (std::fread(in.data(), 1, want, file) != want) {
        throw DataError(path + ": a readable " + variable + " expected, found a read error");
      }
      left -= want;
      z.next_in = in.data();
      z.avail_in = static_cast<uInt>(want);
    }
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    status = inflate(&z, Z_NO_FLUSH);
    const size_t produced = out.size() - z.avail_out;
    const size_t wanted = head_bytes - std::min(head_bytes, result.head.size());
    result.head.insert(result.head.end(), out.begin(),
                       out.begin() + static_cast<std::ptrdiff_t>(std::min(produced, wanted)));
    if (status != Z_OK && status != Z_STREAM_END) {
      const char* reason = z.msg != nullptr ? z.msg : zError(status);
      throw DataError(path + ": valid zlib data in " + variable +
                      " expected, found corrupt data (zlib: " + reason + ")");
    }
  }
  result.total = z.total_out;
  result.complete = status == Z_STREAM_END;
  return result;
}

// The inflated element must be exactly as long as its own tag says: matio takes an early end of
// the stream for the end of the data.
void check_inflated_length(const std::string& path, const CompressedElement& element,
                           const Inflated& inflated, bool swap) {
  const uint64_t promised =
      inflated.head.size() >= 8 ? 8 + uint64_t{u32_at(inflated.head, 4, swap)} : 0;
  if (inflated.head.size() < 8 || inflated.total != promised) {
    throw DataError(
        path + ": variable #" + std::to_string(element.index) + " inflating to " +
        (inflated.head.size() < 8 ? std::string("at least 8") : std::to_string(promised)) +
        " bytes (its tag) expected, found " + std::to_string(inflated.total) +
        " bytes (file corrupt)");
  }
}

// The full check of every compressed stream: a complete pass over the file's compressed data,
// so load_svhn_mat runs it alongside matio's read of the same data.
void check_compressed_streams(const std::string& path,
                              const std::vector<CompressedElement>& elements, bool swap) {
  File file(std::fopen(path.c_str(), "rb"));
  if (!file) throw DataError(path + ": cannot open (missing?), " + std::strerror(errno));
  for (const CompressedElement& element : elements) {
    if (fseeko(file.get(), static_cast<off_t>(element.offset), SEEK_SET) != 0) {
      throw DataError(path +
                      ": a seekable file expected, found fseeko failing: " + std::strerror(errno));
    }
    const Inflated inflated = inflate_element(path, file.get(), element, 8, true);
    if (!inflated.complete) {
      throw DataError(path + ": a complete zlib stream in variable #" +
                      std::to_string(element.index) +
                      " expected, found it cut short (file corrupt)");
    }
    check_inflated_length(path, element, inflated, swap);
  }
}

// What the quick walk of a v5 file found.
struct V5Layout {
  int version = 0;  // of the 128-byte header: 0x0100 (v5), 0x0200 (v7.3), 0 when none
  bool swap = false;
  std::vector<CompressedElement> compressed;  // to check in full while matio reads
};

// Walks the top-level elements of a MATLAB v5 file, reading only their first bytes: each element
// must lie inside the file, and X and y must hold the data their dimensions need. Files that are
// not v5 are left to the caller: v7.3 to Mat_Open (HDF5 checks itself), others are refused.
V5Layout check_v5_structure(const std::string& path, uint64_t file_size) {
  V5Layout layout;
  File file(std::fopen(path.c_str(), "rb"));
  if (!file) throw DataError(path + ": cannot open (missing?), " + std::strerror(errno));
  std::vector<unsigned char> header(128);
  if (std::fread(header.data(), 1, header.size(), file.get()) != header.size()) return layout;
  if (header[126] == 'I' && header[127] == 'M') {
    layout.swap = false;
  } else if (header[126] == 'M' && header[127] == 'I') {
    layout.swap = true;
  } else {
    return layout;
  }
  layout.version =
      layout.swap ? (header[124] << 8 | header[125]) : (header[125] << 8 | header[124]);
  if (layout.version != kVersion5) return layout;  // v7.3: HDF5 checks its own structure

  uint64_t offset = header.size();
  for (int index = 1; offset < file_size; ++index) {
    std::vector<unsigned char> tag(8);
    if (std::fread(tag.data(), 1, tag.size(), file.get()) != tag.size()) {
      throw DataError(
          path + ": a complete MATLAB v5 file expected, found it truncated (variable #" +
          std::to_string(index) + " has no complete tag at offset " + std::to_string(offset) + ")");
    }
    const uint32_t type = u32_at(tag, 0, layout.swap);
    const uint64_t size = u32_at(tag, 4, layout.swap);
    const uint64_t end = offset + 8 + size;
    if (end > file_size) {
      throw DataError(path +
                      ": a complete MATLAB v5 file expected, found it truncated (variable #" +
                      std::to_string(index) + " needs " + std::to_string(size) +
                      " bytes after offset " + std::to_string(offset + 8) + ", the file has " +
                      std::to_string(file_size - offset - 8) + ")");
    }
    if (type == kMiCompressed) {
      const CompressedElement element{index, offset + 8, size};
      const Inflated start = inflate_element(path, file.get(), element, 8 + kArrayHeadBytes, false);
      if (start.complete) check_inflated_length(path, element, start, layout.swap);
      if (start.head.size() >= 8) {
        // The inner tag's size bounds what matio allocates for this element; zlib cannot have
        // made more than kMaxDeflateRatio times the stream's size of it.
        const uint64_t inner = u32_at(start.head, 4, layout.swap);
        if (inner > size * kMaxDeflateRatio) {
          throw DataError(path + ": variable #" + std::to_string(index) + " inflating to at most " +
                          std::to_string(size * kMaxDeflateRatio) + " bytes (" +
                          std::to_string(size) + " compressed) expected, found a tag of " +
                          std::to_string(8 + inner) + " bytes (file corrupt)");
        }
        if (u32_at(start.head, 0, layout.swap) == kMiMatrix) {
          check_array_header(path, index,
                             std::vector<unsigned char>(start.head.begin() + 8, start.head.end()),
                             inner, layout.swap);
        }
      }
      layout.compressed.push_back(element);
    } else if (type == kMiMatrix) {
      std::vector<unsigned char> head(
          static_cast<size_t>(std::min<uint64_t>(size, kArrayHeadBytes)));
      if (std::fread(head.data(), 1, head.size(), file.get()) != head.size()) {
        throw DataError(path + ": a readable variable #" + std::to_string(index) +
                        " expected, found a read error");
      }
      check_array_header(path, index, head, size, layout.swap);
    }
    if (fseeko(file.get(), static_cast<off_t>(end), SEEK_SET) != 0) {
      throw DataError(path +
                      ": a seekable file expected, found fseeko failing: " + std::strerror(errno));
    }
    offset = end;
  }
  return layout;
}

// Existence, kind and size, so that the common mistakes get a message of their own.
uint64_t check_file(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    throw DataError(path + ": cannot open (missing?), " + std::strerror(errno));
  }
  if (S_ISDIR(info.st_mode)) throw DataError(path + ": a .mat file expected, found a directory");
  File file(std::fopen(path.c_str(), "rb"));
  if (!file) throw DataError(path + ": cannot open (missing?), " + std::strerror(errno));
  if (info.st_size == 0) throw DataError(path + ": a .mat file expected, found an empty file");
  return static_cast<uint64_t>(info.st_size);
}

[[noreturn]] void throw_matio_failure(const std::string& path, const std::string& what,
                                      const MatioLogCapture& log) {
  std::string message = path + ": " + what + " expected, found a truncated or corrupt file";
  if (log.any()) message += " (matio: " + log.cause() + ")";
  throw DataError(message);
}

// Reads only the header of `name`; a missing variable is reported with what the file holds.
MatVar read_info(mat_t* mat, const std::string& path, const char* name, const std::string& what,
                 const MatioLogCapture& log) {
  MatVar info(Mat_VarReadInfo(mat, name));
  if (info && !log.any()) return info;
  // Missing or unreadable? matio 1.5.23 returns nothing for a missing variable, later versions
  // also log an error (v7.3): the file's list of variables, read without a new error, tells.
  const size_t logged = log.size();
  size_t count = 0;
  const auto names = Mat_GetDir(mat, &count);  // owned by `mat`; `char* const*` in later matio
  const bool listed_cleanly = log.size() == logged && (names != nullptr || count == 0);
  bool present = false;
  std::string found = count == 0 ? "none" : "only ";
  for (size_t i = 0; listed_cleanly && i < count; ++i) {
    const std::string entry = names[i] != nullptr ? names[i] : "?";
    present = present || entry == name;
    found += (i > 0 ? ", " : "") + entry;
  }
  if (info || !listed_cleanly || present) {
    throw_matio_failure(path, "a readable variable '" + std::string(name) + "'", log);
  }
  throw DataError(path + ": variable '" + name + "' (" + what + ") expected, found " + found);
}

bool is_numeric(matio_classes c) {
  switch (c) {
    case MAT_C_DOUBLE:
    case MAT_C_SINGLE:
    case MAT_C_INT8:
    case MAT_C_UINT8:
    case MAT_C_INT16:
    case MAT_C_UINT16:
    case MAT_C_INT32:
    case MAT_C_UINT32:
    case MAT_C_INT64:
    case MAT_C_UINT64:
      return true;
    default:
      return false;
  }
}

// SVHN labels are 1..10 with 10 for digit 0; returns the digit, or -1 if `value` is no label.
template <typename T>
int64_t digit_of(T value) {
  if (!(value >= T(1) && value <= T(10))) return -1;  // also rejects NaN
  const auto whole = static_cast<int64_t>(value);
  if (static_cast<T>(whole) != value) return -1;  // 2.5
  return whole == 10 ? 0 : whole;
}

template <typename T>
torch::Tensor labels_from(const std::string& path, const void* data, int64_t count) {
  const T* values = static_cast<const T*>(data);
  torch::Tensor labels = torch::empty({count}, torch::kInt64);  // (N)
  int64_t* out = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < count; ++i) {
    out[i] = digit_of(values[i]);
    if (out[i] < 0) {
      std::ostringstream found;
      found << +values[i];  // + prints int8/uint8 as numbers
      throw DataError(path + ": labels in 'y' must be integers 1..10 (10 for digit 0), found y(" +
                      std::to_string(i + 1) + ") = " + found.str());
    }
  }
  return labels;
}

torch::Tensor read_labels(const matvar_t& y, const std::string& path, int64_t count) {
  if (y.data == nullptr || y.nbytes != static_cast<size_t>(count) * Mat_SizeOfClass(y.class_type)) {
    throw DataError(path + ": variable 'y' with " + std::to_string(count) +
                    " values expected, found " + std::to_string(y.nbytes) + " bytes of data");
  }
  switch (y.class_type) {
    case MAT_C_DOUBLE:
      return labels_from<double>(path, y.data, count);
    case MAT_C_SINGLE:
      return labels_from<float>(path, y.data, count);
    case MAT_C_INT8:
      return labels_from<int8_t>(path, y.data, count);
    case MAT_C_UINT8:
      return labels_from<uint8_t>(path, y.data, count);
    case MAT_C_INT16:
      return labels_from<int16_t>(path, y.data, count);
    case MAT_C_UINT16:
      return labels_from<uint16_t>(path, y.data, count);
    case MAT_C_INT32:
      return labels_from<int32_t>(path, y.data, count);
    case MAT_C_UINT32:
      return labels_from<uint32_t>(path, y.data, count);
    case MAT_C_INT64:
      return labels_from<int64_t>(path, y.data, count);
    case MAT_C_UINT64:
      return labels_from<uint64_t>(path, y.data, count);
    default:
      throw DataError(path + ": variable 'y' numeric expected, found " + describe(y));
  }
}

// The matio part of load_svhn_mat, on a file whose v5 structure (if any) has been checked.
ImageSet read_svhn_mat(const std::string& path, int64_t limit, int version) {
  MatioLogCapture log;
  MatFile mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  if (!mat || log.any()) {
    if (version == kVersion73) throw_matio_failure(path, "a readable MATLAB v7.3 (HDF5) file", log);
    // matio's own words add nothing here ("... does not seem to be a valid MAT file").
    throw DataError(
        path + ": a MATLAB .mat file (v5, compressed v5 or v7.3) expected, found other content");
  }

  // Shapes first, from the headers alone: a wrong X is rejected before reading 225 MB of it.
  const MatVar x_info = read_info(mat.get(), path, "X", "uint8 images 32x32x3xN", log);
  // MATLAB drops trailing singleton dimensions: one image is 32x32x3.
  const bool x_ok = x_info->class_type == MAT_C_UINT8 && !x_info->isComplex &&
                    (x_info->rank == 4 || x_info->rank == 3) && x_info->dims[0] == kSide &&
                    x_info->dims[1] == kSide && x_info->dims[2] == kChannels &&
                    (x_info->rank == 3 || x_info->dims[3] > 0);
  if (!x_ok) {
    throw DataError(path + ": variable 'X' must be uint8 of shape 32x32x3xN, found " +
                    describe(*x_info));
  }
  const auto count = static_cast<int64_t>(x_info->rank == 4 ? x_info->dims[3] : 1);

  const MatVar y_info = read_info(mat.get(), path, "y", "labels 1..10", log);
  const auto n = static_cast<size_t>(count);
  const bool y_ok = is_numeric(y_info->class_type) && !y_info->isComplex && y_info->rank == 2 &&
                    ((y_info->dims[0] == n && y_info->dims[1] == 1) ||
                     (y_info->dims[0] == 1 && y_info->dims[1] == n));
  if (!y_ok) {
    throw DataError(path + ": variable 'y' must be numeric of shape " + std::to_string(count) +
                    "x1 (one label per image in X), found " + describe(*y_info));
  }

  ImageSet set;
  {
    const MatVar y(Mat_VarRead(mat.get(), "y"));
    if (!y || log.any()) throw_matio_failure(path, "a readable variable 'y'", log);
    set.labels = read_labels(*y, path, count);  // (N) int64
  }

  MatVar x(Mat_VarRead(mat.get(), "X"));
  if (!x || log.any()) throw_matio_failure(path, "a readable variable 'X'", log);
  if (x->data == nullptr || x->data_size != 1 || x->nbytes != n * kImageBytes) {
    throw DataError(path + ": variable 'X' with " + std::to_string(count * kImageBytes) +
                    " bytes of uint8 data expected, found " + std::to_string(x->nbytes) +
                    " bytes of " + std::to_string(x->data_size) + "-byte elements");
  }
  const int64_t keep = limit > 0 && limit < count ? limit : count;
  // Column-major X(row, col, c, n) is row-major [n][c][col][row]: swap the last two axes.
  // The one copy happens after the slice; matio's buffer goes right after it.
  const torch::Tensor column_major =
      torch::from_blob(x->data, {count, kChannels, kSide, kSide}, torch::kUInt8);  // (N,3,W,H)
  set.images = column_major.narrow(0, 0, keep).transpose(2, 3).contiguous();       // (N,3,H,W)
  x.reset();
  set.labels = set.labels.narrow(0, 0, keep).clone();
  return set;
}

}  // namespace

ImageSet load_svhn_mat(const std::string& path, int64_t limit) {
  const uint64_t file_size = check_file(path);
  const V5Layout layout = check_v5_structure(path, file_size);
  if (layout.version != kVersion5 && layout.version != kVersion73) {
    // Without a v5 or v7.3 header matio falls back to MATLAB v4, whose reader trusts the sizes
    // it finds: a 196-byte file made it allocate over 1 GB (fuzz/mat_fuzzer.cpp). v4 arrays are
    // 2-D, so no v4 file holds SVHN's 32x32x3xN X anyway.
    throw DataError(
        path + ": a MATLAB .mat file (v5, compressed v5 or v7.3) expected, found other content");
  }
  // Inflating the whole file once more doubles the work: on a second core it costs no time.
  std::future<void> streams_checked;
  if (!layout.compressed.empty()) {
    streams_checked = std::async(std::launch::async, check_compressed_streams, path,
                                 layout.compressed, layout.swap);
  }
  try {
    ImageSet set = read_svhn_mat(path, limit, layout.version);
    if (streams_checked.valid()) streams_checked.get();
    return set;
  } catch (const DataError&) {
    // A damaged stream explains matio's failure better than matio does.
    if (streams_checked.valid()) streams_checked.get();
    throw;
  }
}

}  // namespace dcgan

#else  // DCGAN_WITH_MATIO

namespace dcgan {

ImageSet load_svhn_mat(const std::string& path, int64_t /*limit*/) {
  throw DataError(path + ": cannot read .mat files: this dcgan was built without matio "
                         "(install matio, e.g. libmatio-dev, and rebuild)");
}

}  // namespace dcgan

#endif  // DCGAN_WITH_MATIO
