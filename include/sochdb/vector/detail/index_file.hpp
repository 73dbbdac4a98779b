// sochdb/vector/detail/index_file.hpp — the container every vector index file uses
// (docs/formats/vector-index.md): a header naming the index kind, metric and dimension, a
// table of sections (tag, offset, length, checksum), and the sections themselves, each
// starting at a multiple of 64 bytes so a mapped file can be searched in place.
//
// Writing streams sections through a file-system policy into `<path>.tmp`, writes the header
// last, syncs, and renames over `<path>` (after a crash the path holds the old or the new
// file). Reading checks the header checksum, the file size and that every section lies inside
// the file; a section's own checksum is checked when it is read (or verified in 1 MiB pieces
// before a section is mapped). Every failure is `corruption` naming the file and the offset;
// a newer format version is `unsupported`.
#pragma once

#include <sochdb/core/checksum.hpp>
#include <sochdb/core/coding.hpp>
#include <sochdb/core/error.hpp>
#include <sochdb/core/fs.hpp>
#include <sochdb/simd/concepts.hpp>
#include <sochdb/vector/search.hpp>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace vector::detail {

// Format constants: part of docs/formats/vector-index.md, do not change.
inline constexpr std::uint32_t index_magic = 0x49424453;  // bytes "SDBI"
inline constexpr std::uint16_t index_version = 1;
inline constexpr std::size_t index_header_size = 32;
inline constexpr std::size_t section_entry_size = 32;
inline constexpr std::size_t max_sections = 16;
inline constexpr std::size_t section_align = 64;
/// The header block: header, section table, zero padding, and at its last 4 bytes the
/// checksum of everything before them.
inline constexpr std::size_t header_block_size = 576;

/// Section tags (format values).
enum class section_tag : std::uint32_t {
  params = 0x4d524150,     // "PARM": index parameters and counts
  quantizer = 0x4e415551,  // "QUAN": the quantizer's own bytes (docs/formats/quantizers.md)
  nodes = 0x45444f4e,      // "NODE": HNSW layer-0 records
  upper = 0x52505055,      // "UPPR": HNSW upper-layer link blocks
  vectors = 0x53434556,    // "VECS": float vectors (quantized indexes that keep them)
  labels = 0x4c42414c,     // "LABL": labels, 8 bytes each
  codes = 0x45444f43,      // "CODE": codes, code_size bytes each
  graph = 0x48505247,      // "GRPH": Vamana blocks (vector + degree + neighbours)
  deleted = 0x454c4544,    // "DELE": tombstone bitset
  lookup = 0x50554b4c,     // "LKUP": Vamana label -> id table sorted by label
};

inline std::string tag_name(std::uint32_t t) {
  std::string s(4, ' ');
  for (int i = 0; i < 4; ++i) {
    char c = static_cast<char>((t >> (8 * i)) & 0xff);
    s[static_cast<std::size_t>(i)] = (c >= 32 && c < 127) ? c : '?';
  }
  return s;
}

struct section {
  std::uint32_t tag = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint32_t checksum = 0;
};

inline std::uint64_t align_up(std::uint64_t x, std::uint64_t a) noexcept {
  return (x + a - 1) / a * a;
}

/// Streams an index file: `begin_section`, `write` pieces, `end_section`; `finish` writes the
/// header and table, syncs and renames into place.
template <file_system Fs>
class index_writer {
 public:
  index_writer(Fs& fs, std::string path, index_kind kind, simd::metric_kind metric,
               std::size_t dimension)
      : fs_(fs),
        path_(std::move(path)),
        tmp_(path_ + ".tmp"),
        kind_(kind),
        metric_(metric),
        dim_(dimension) {
    file_ = fs_.open(tmp_, open_mode::write | open_mode::create | open_mode::truncate);
    pos_ = header_block_size;
    buf_.reserve(1 << 20);
  }

  void begin_section(section_tag tag) {
    if (sections_.size() == max_sections) throw invalid_argument("index file: too many sections");
    pad_to(align_up(pos_ + buf_.size(), section_align));
    cur_ = section{static_cast<std::uint32_t>(tag), pos_ + buf_.size(), 0, 0};
    sum_ = checksum_builder{};
  }
  void write(std::string_view bytes) {
    sum_.update(bytes);
    cur_.length += bytes.size();
    buf_.append(bytes);
    if (buf_.size() >= (1u << 20)) flush();
  }
  void write(const void* p, std::size_t n) {
    write(std::string_view(static_cast<const char*>(p), n));
  }
  void end_section() {
    cur_.checksum = sum_.value();
    sections_.push_back(cur_);
  }

  void finish() {
    flush();
    const std::uint64_t file_size = pos_;
    std::string head;
    put_fixed32(head, index_magic);
    put_fixed16(head, index_version);
    head.push_back(static_cast<char>(kind_));
    head.push_back(static_cast<char>(metric_));
    put_fixed32(head, static_cast<std::uint32_t>(dim_));
    put_fixed32(head, static_cast<std::uint32_t>(sections_.size()));
    put_fixed64(head, file_size);
    put_fixed64(head, 0);  // reserved
    for (const auto& s : sections_) {
      put_fixed32(head, s.tag);
      put_fixed32(head, 0);
      put_fixed64(head, s.offset);
      put_fixed64(head, s.length);
      put_fixed32(head, s.checksum);
      put_fixed32(head, 0);
    }
    head.resize(header_block_size - 4, '\0');
    put_fixed32(head, checksum32(head));
    file_.write_at(0, head);
    file_.sync();
    file_.close();
    fs_.rename(tmp_, path_);
    fs_.sync_dir(parent_path(path_));
  }

 private:
  void pad_to(std::uint64_t target) {
    const std::uint64_t at = pos_ + buf_.size();
    if (target > at) buf_.append(static_cast<std::size_t>(target - at), '\0');
  }
  void flush() {
    if (buf_.empty()) return;
    file_.write_at(pos_, buf_);
    pos_ += buf_.size();
    buf_.clear();
  }

  Fs& fs_;
  std::string path_, tmp_;
  index_kind kind_;
  simd::metric_kind metric_;
  std::size_t dim_;
  typename Fs::file file_;
  std::uint64_t pos_ = 0;
  std::string buf_;
  std::vector<section> sections_;
  section cur_;
  checksum_builder sum_;
};

/// A parsed header and section table.
struct index_file_info {
  index_kind kind{};
  simd::metric_kind metric{};
  std::size_t dimension = 0;
  std::uint64_t file_size = 0;
  std::vector<section> sections;

  const section* find(section_tag t) const noexcept {
    for (const auto& s : sections)
      if (s.tag == static_cast<std::uint32_t>(t)) return &s;
    return nullptr;
  }
};

/// Reads and checks the header of an open index file.
template <class File>
index_file_info read_index_header(const File& f, std::string_view source, index_kind expected) {
  const std::uint64_t size = f.size();
  std::string head(header_block_size, '\0');
  const std::size_t got = f.read_at(0, std::span<char>(head.data(), head.size()));
  byte_reader r(std::string_view(head).substr(0, got), source);
  if (got < header_block_size) r.fail("truncated index file (" + std::to_string(size) + " bytes)");
  if (r.fixed32() != index_magic) r.fail("not a sochdb vector index (bad magic)");
  // The checksum before any other field: a damaged header is reported as such.
  if (decode_fixed32(head.data() + header_block_size - 4) !=
      checksum32(std::string_view(head).substr(0, header_block_size - 4))) {
    byte_reader(head, source, header_block_size - 4).fail("index header checksum mismatch");
  }
  const std::uint16_t version = r.fixed16();
  if (version != index_version) {
    throw unsupported(std::string(source) + ": vector index format version " +
                      std::to_string(version) + " (this build reads version " +
                      std::to_string(index_version) + ")");
  }
  index_file_info info;
  const std::uint8_t kind = r.u8();
  const std::uint8_t metric = r.u8();
  info.dimension = r.fixed32();
  const std::uint32_t count = r.fixed32();
  info.file_size = r.fixed64();
  (void)r.fixed64();
  if (count > max_sections) r.fail("section count " + std::to_string(count) + " out of range");
  if (info.file_size != size) {
    r.fail("file is " + std::to_string(size) + " bytes, header says " +
           std::to_string(info.file_size) + " (truncated or extended)");
  }
  if (kind < 1 || kind > 3) r.fail("unknown index kind " + std::to_string(kind));
  info.kind = static_cast<index_kind>(kind);
  if (info.kind != expected) {
    throw invalid_argument(std::string(source) + ": expected a " + to_string(expected) +
                           " index, found " + to_string(info.kind));
  }
  if (metric > 3 && metric != 255) r.fail("invalid metric " + std::to_string(metric));
  info.metric = static_cast<simd::metric_kind>(metric);
  if (info.dimension == 0 || info.dimension > 65536)
    r.fail("invalid dimension " + std::to_string(info.dimension));
  for (std::uint32_t i = 0; i < count; ++i) {
    section s;
    s.tag = r.fixed32();
    (void)r.fixed32();
    s.offset = r.fixed64();
    s.length = r.fixed64();
    s.checksum = r.fixed32();
    (void)r.fixed32();
    if (s.offset % section_align != 0 || s.offset < header_block_size || s.offset > size ||
        s.length > size - s.offset) {
      r.fail("section " + tag_name(s.tag) + " at " + std::to_string(s.offset) + " length " +
             std::to_string(s.length) + " lies outside the file");
    }
    for (const auto& o : info.sections)
      if (o.tag == s.tag) r.fail("duplicate section " + tag_name(s.tag));
    info.sections.push_back(s);
  }
  // Sections in file order, not overlapping; the gaps between them (alignment padding, at
  // most 63 bytes each) must be zero, so that no byte of the file goes unchecked.
  std::vector<section> sorted = info.sections;
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.offset < b.offset; });
  std::uint64_t at = header_block_size;
  char gap[section_align];
  for (const auto& s : sorted) {
    if (s.offset < at) r.fail("section " + tag_name(s.tag) + " overlaps another");
    if (s.offset - at >= section_align) r.fail("gap before section " + tag_name(s.tag));
    const auto g = static_cast<std::size_t>(s.offset - at);
    if (f.read_at(at, std::span<char>(gap, g)) != g) r.fail("truncated file");
    for (std::size_t i = 0; i < g; ++i)
      if (gap[i] != 0) byte_reader({}, source, at + i).fail("nonzero padding");
    at = s.offset + s.length;
  }
  if (at != size) byte_reader({}, source, at).fail("trailing bytes after the last section");
  return info;
}

inline const section& require_section(const index_file_info& info, section_tag t,
                                      std::string_view source) {
  const section* s = info.find(t);
  if (s == nullptr) {
    throw corruption(std::string(source) + ": missing section " +
                     tag_name(static_cast<std::uint32_t>(t)));
  }
  return *s;
}

/// Reads a whole section into `out` and checks its checksum.
template <class File>
void read_section(const File& f, const section& s, std::string_view source, char* out) {
  const std::size_t n =
      f.read_at(s.offset, std::span<char>(out, static_cast<std::size_t>(s.length)));
  if (n != s.length)
    byte_reader({}, source, s.offset + n).fail("truncated section " + tag_name(s.tag));
  if (checksum32(std::string_view(out, static_cast<std::size_t>(s.length))) != s.checksum) {
    byte_reader({}, source, s.offset).fail("checksum mismatch in section " + tag_name(s.tag));
  }
}
template <class File>
std::string read_section(const File& f, const section& s, std::string_view source) {
  std::string out(static_cast<std::size_t>(s.length), '\0');
  read_section(f, s, source, out.data());
  return out;
}

/// Checks a section's checksum by reading it through the handle in 1 MiB pieces (for sections
/// that will be mapped: the pages go through the page cache, not the process's mapping).
template <class File>
void verify_section(const File& f, const section& s, std::string_view source) {
  checksum_builder sum;
  std::string buf(1 << 20, '\0');
  std::uint64_t done = 0;
  while (done < s.length) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), s.length - done));
    const std::size_t n = f.read_at(s.offset + done, std::span<char>(buf.data(), want));
    if (n != want)
      byte_reader({}, source, s.offset + done + n).fail("truncated section " + tag_name(s.tag));
    sum.update(std::string_view(buf.data(), n));
    done += n;
  }
  if (sum.value() != s.checksum) {
    byte_reader({}, source, s.offset).fail("checksum mismatch in section " + tag_name(s.tag));
  }
}

}  // namespace vector::detail
SOCHDB_END_NAMESPACE
