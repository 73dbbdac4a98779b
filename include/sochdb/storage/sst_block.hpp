// sochdb/storage/sst_block.hpp — the pieces of an SSTable: block handles, the block trailer,
// prefix-compressed key/value blocks with restart points, and the fixed-size footer.
//
// Bytes are specified in docs/formats/sstable.md. A stored block is
//     payload | type (1 byte) | checksum32(payload | type) (4 bytes, LE)
// where type 0 means the payload is the raw block and any other type means the payload is
// `varint raw_size | compressed bytes` (compression.hpp). A raw key/value block is a sequence
// of entries
//     varint shared | varint unshared | varint value_size | key[shared..] | value
// (the key shares its first `shared` bytes with the previous key; every `restart_interval`-th
// entry, a restart point, stores its key whole), then fixed32 offsets of the restart points and
// fixed32 their count. A seek binary-searches the restart points and scans at most one
// interval (the layout LevelDB's table format introduced).
//
// The decoders here treat every byte as untrusted: each length is checked against the block
// before use, a malformed entry throws `corruption` naming the file and the file offset, and no
// loop can run forever (offsets only grow while scanning). Keys are internal keys ordered by
// compare_internal_keys, except in the meta index, which is its own small format.
//
// Thread safety: builders are one thread's; a block_contents is immutable once built and read
// by any number of block_iters, each used by one thread.
#pragma once

#include <sochdb/core/checksum.hpp>
#include <sochdb/core/coding.hpp>
#include <sochdb/storage/compression.hpp>
#include <sochdb/storage/internal_key.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// Format constants of the SSTable (docs/formats/sstable.md). Do not change.
inline constexpr std::uint64_t sst_magic = 0x3154535342444f53ull;  // "SODBSST1" little-endian
inline constexpr std::uint32_t sst_format_version = 1;
inline constexpr std::size_t sst_footer_size = 48;
inline constexpr std::size_t sst_block_trailer_size = 5;
/// Largest raw block a reader accepts (a block holds at least one entry, and a value may be up
/// to 1 GiB).
inline constexpr std::uint64_t sst_max_raw_block = (1ull << 30) + (2ull << 20);

/// Where a block lies in its file: offset and payload size (the trailer follows).
struct block_handle {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;

  void encode_to(std::string& dst) const {
    put_varint64(dst, offset);
    put_varint64(dst, size);
  }
  /// Decodes from the front of `in`; false when malformed.
  static bool decode_from(std::string_view& in, block_handle& h) {
    return get_varint64(in, h.offset) && get_varint64(in, h.size);
  }
};

/// Where an error happened, for messages: "sstable 000012.sst".
struct sst_error_context {
  std::string label;
  [[noreturn]] void fail(std::uint64_t offset, const std::string& what) const {
    throw corruption(label + ": " + what + " at offset " + std::to_string(offset));
  }
};

/// A decoded (raw) block. Owns its bytes, or views bytes that outlive it (an mmapped file).
struct block_contents {
  std::string owned;
  std::string_view data;          ///< the raw block
  std::uint64_t file_offset = 0;  ///< where its stored form starts in the file (for messages)
  std::uint32_t restarts = 0;     ///< offset of the restart array
  std::uint32_t num_restarts = 0;
  /// The first restart points, copied next to this header: a point read of a block of 4 KiB
  /// (a few restarts) finds them without a cache miss on the array at the block's end.
  static constexpr std::uint32_t inline_restarts = 6;
  std::uint32_t first_restarts[inline_restarts] = {};

  /// Validates the restart trailer of a key/value block; throws corruption on nonsense.
  void parse_restarts(const sst_error_context& ctx) {
    if (data.size() < 4 || data.size() > 0xffffffffu) ctx.fail(file_offset, "block too short");
    std::uint32_t n = decode_fixed32(data.data() + data.size() - 4);
    std::uint64_t need = (static_cast<std::uint64_t>(n) + 1) * 4;
    if (n == 0 || need > data.size()) ctx.fail(file_offset, "bad restart count in block");
    num_restarts = n;
    restarts = static_cast<std::uint32_t>(data.size() - need);
    for (std::uint32_t i = 0; i < n && i < inline_restarts; ++i) {
      first_restarts[i] = decode_fixed32(data.data() + restarts + 4 * std::size_t{i});
    }
  }
  [[nodiscard]] std::uint32_t restart_point(std::uint32_t i) const noexcept {
    if (i < inline_restarts) return first_restarts[i];
    return decode_fixed32(data.data() + restarts + 4 * static_cast<std::size_t>(i));
  }
};
using block_ptr = std::shared_ptr<const block_contents>;

/// Checks a stored block's trailer and decodes it. `stored` is payload + trailer as read at
/// `offset`. When the payload is raw and `view_ok`, the result views `stored` (which must then
/// outlive it); otherwise it owns a copy. `custom` decodes a user compression type (nullptr:
/// only the built-ins).
template <class Custom>
block_contents decode_stored_block(std::string_view stored, std::uint64_t offset, bool view_ok,
                                   const sst_error_context& ctx,
                                   const zstd_decoder_dictionary* ddict, const Custom* custom) {
  if (stored.size() < sst_block_trailer_size) ctx.fail(offset, "truncated block");
  std::size_t psize = stored.size() - sst_block_trailer_size;
  std::uint32_t want = decode_fixed32(stored.data() + psize + 1);
  if (checksum32(stored.substr(0, psize + 1)) != want) {
    ctx.fail(offset, "block checksum mismatch");
  }
  auto type = static_cast<std::uint8_t>(stored[psize]);
  std::string_view payload = stored.substr(0, psize);
  block_contents b;
  b.file_offset = offset;
  if (type == 0) {
    if (view_ok) {
      b.data = payload;
    } else {
      b.owned.assign(payload);
      b.data = b.owned;
    }
    return b;
  }
  std::uint64_t raw = 0;
  if (!get_varint64(payload, raw)) ctx.fail(offset, "bad raw size in compressed block");
  // Bound the allocation before trusting the size: LZ4 cannot expand more than 255x, a zstd
  // frame states its content size, and nothing exceeds the largest block.
  bool plausible = raw <= sst_max_raw_block;
  if (type == lz4::id) plausible = plausible && raw <= (payload.size() + 1) * 256;
  if (type == zstd::id) {
    unsigned long long fcs = ZSTD_getFrameContentSize(payload.data(), payload.size());
    plausible = plausible && fcs == raw;
  }
  if (!plausible) ctx.fail(offset, "implausible raw size in compressed block");
  b.owned.resize(static_cast<std::size_t>(raw));
  bool ok = false;
  if (type <= 2) {
    ok = decompress_builtin(type, payload, b.owned.data(), b.owned.size(), ddict);
  } else if (custom != nullptr && type == Custom::id) {
    ok = custom->decompress(payload, b.owned.data(), b.owned.size());
  } else {
    throw unsupported(ctx.label + ": block at offset " + std::to_string(offset) +
                      " uses compression type " + std::to_string(type) +
                      ", which this build does not know");
  }
  if (!ok) ctx.fail(offset, "block does not decompress");
  b.data = b.owned;
  return b;
}

/// Appends the stored form of `raw` (compressed with `comp` when that pays) to `out`.
template <compression C>
void append_stored_block(std::string& out, std::string_view raw, C* comp, std::string& scratch) {
  std::size_t start = out.size();
  bool compressed = false;
  if (comp != nullptr && C::id != 0) {
    scratch.clear();
    put_varint64(scratch, raw.size());
    if (comp->compress(raw, scratch)) {
      compressed = true;
      out.append(scratch);
      out.push_back(static_cast<char>(C::id));
    }
  }
  if (!compressed) {
    out.append(raw);
    out.push_back('\0');
  }
  put_fixed32(out, checksum32(std::string_view(out).substr(start)));
}

/// Builds a key/value block (keys added in ascending order).
class block_builder {
 public:
  explicit block_builder(int restart_interval = 16) : interval_(restart_interval) {
    restarts_.push_back(0);
  }

  void add(std::string_view key, std::string_view value) {
    std::size_t shared = 0;
    if (counter_ < interval_) {
      std::size_t n = std::min(last_key_.size(), key.size());
      while (shared < n && last_key_[shared] == key[shared]) ++shared;
    } else {
      restarts_.push_back(static_cast<std::uint32_t>(buf_.size()));
      counter_ = 0;
    }
    char hdr[3 * max_varint32_bytes];
    char* p = encode_varint64(hdr, shared);
    p = encode_varint64(p, key.size() - shared);
    p = encode_varint64(p, value.size());
    buf_.append(hdr, static_cast<std::size_t>(p - hdr));
    buf_.append(key.substr(shared));
    buf_.append(value);
    last_key_.assign(key);
    ++counter_;
    ++entries_;
  }

  /// The raw block (valid until reset()).
  std::string_view finish() {
    for (auto r : restarts_) put_fixed32(buf_, r);
    put_fixed32(buf_, static_cast<std::uint32_t>(restarts_.size()));
    return buf_;
  }

  void reset() {
    buf_.clear();
    restarts_.clear();
    restarts_.push_back(0);
    counter_ = 0;
    entries_ = 0;
    last_key_.clear();
  }

  [[nodiscard]] bool empty() const noexcept { return entries_ == 0; }
  [[nodiscard]] std::size_t entries() const noexcept { return entries_; }
  /// Raw size if finished now.
  [[nodiscard]] std::size_t size_estimate() const noexcept {
    return buf_.size() + 4 * (restarts_.size() + 1);
  }
  [[nodiscard]] std::string_view last_key() const noexcept { return last_key_; }

 private:
  int interval_;
  int counter_ = 0;
  std::size_t entries_ = 0;
  std::string buf_;
  std::vector<std::uint32_t> restarts_;
  std::string last_key_;
};

/// A growable byte buffer with inline room for ordinary keys: iterators assemble
/// prefix-compressed keys here without allocating per read.
class key_buffer {
 public:
  key_buffer() = default;
  key_buffer(const key_buffer& o) { assign(o.view()); }
  key_buffer& operator=(const key_buffer& o) {
    if (this != &o) assign(o.view());
    return *this;
  }
  key_buffer(key_buffer&& o) noexcept { take(o); }
  key_buffer& operator=(key_buffer&& o) noexcept {
    if (this != &o) take(o);
    return *this;
  }

  [[nodiscard]] std::string_view view() const noexcept { return {data(), size_}; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  void assign(std::string_view s) {
    size_ = 0;
    append(s.data(), s.size());
  }
  void truncate(std::size_t n) noexcept { size_ = n; }
  void append(const char* p, std::size_t n) {
    if (size_ + n > cap_) grow(size_ + n);
    if (n != 0) std::memcpy(data() + size_, p, n);
    size_ += n;
  }

 private:
  static constexpr std::size_t inline_cap = 80;
  [[nodiscard]] char* data() noexcept { return heap_ ? heap_.get() : inline_; }
  [[nodiscard]] const char* data() const noexcept { return heap_ ? heap_.get() : inline_; }
  void grow(std::size_t need) {
    std::size_t cap = std::max(need, cap_ * 2);
    auto fresh = std::make_unique<char[]>(cap);
    if (size_ != 0) std::memcpy(fresh.get(), data(), size_);
    heap_ = std::move(fresh);
    cap_ = cap;
  }
  void take(key_buffer& o) noexcept {
    if (o.heap_) {
      heap_ = std::move(o.heap_);
      cap_ = o.cap_;
    } else {
      heap_.reset();
      cap_ = inline_cap;
      std::memcpy(inline_, o.inline_, o.size_);
    }
    size_ = o.size_;
    o.size_ = 0;
    o.cap_ = inline_cap;
  }
  char inline_[inline_cap];
  std::unique_ptr<char[]> heap_;
  std::size_t size_ = 0;
  std::size_t cap_ = inline_cap;
};

/// Iterates one key/value block in either direction (internal-key order).
class block_iter {
 public:
  block_iter() = default;
  /// `b` must outlive the iterator (or the next init); `ctx` too.
  void init(const block_contents* b, const sst_error_context* ctx) {
    b_ = b;
    ctx_ = ctx;
    current_ = next_ = b->restarts;
    restart_index_ = b->num_restarts;
  }

  [[nodiscard]] bool valid() const noexcept { return b_ != nullptr && current_ < b_->restarts; }
  [[nodiscard]] std::string_view key() const noexcept { return key_.view(); }
  [[nodiscard]] std::string_view value() const noexcept { return value_; }

  void next() { parse_next(); }

  void prev() {
    std::uint32_t original = current_;
    while (b_->restart_point(restart_index_) >= original) {
      if (restart_index_ == 0) {
        invalidate();
        return;
      }
      --restart_index_;
    }
    seek_to_restart(restart_index_);
    do {
      if (!parse_next()) return;
    } while (next_ < original);
  }

  /// First entry >= target.
  void seek(std::string_view target) {
    if (b_->num_restarts <= block_contents::inline_restarts) {
      // A small block: start loading every restart entry the search may read, so their cache
      // misses overlap (offsets past the entries are checked when read, prefetching is not).
      for (std::uint32_t i = 0; i < b_->num_restarts; ++i) {
        __builtin_prefetch(b_->data.data() + std::min(b_->restart_point(i), b_->restarts));
      }
    }
    std::uint32_t left = 0, right = b_->num_restarts - 1;
    while (left < right) {
      std::uint32_t mid = left + (right - left + 1) / 2;
      if (compare_internal_keys(restart_key(mid), target) < 0) {
        left = mid;
      } else {
        right = mid - 1;
      }
    }
    seek_to_restart(left);
    for (;;) {
      if (!parse_next()) return;
      if (compare_internal_keys(key_.view(), target) >= 0) return;
    }
  }

  /// Last entry < target.
  void seek_before(std::string_view target) {
    seek(target);
    if (valid()) {
      prev();
    } else {
      seek_to_last();
    }
  }

  void seek_to_first() {
    seek_to_restart(0);
    parse_next();
  }
  void seek_to_last() {
    seek_to_restart(b_->num_restarts - 1);
    while (parse_next() && next_ < b_->restarts) {
    }
  }

 private:
  [[noreturn]] void bad(std::uint64_t at, const char* what) const {
    ctx_->fail(b_->file_offset + at, what);
  }

  void invalidate() noexcept {
    current_ = next_ = b_->restarts;
    restart_index_ = b_->num_restarts;
  }

  void seek_to_restart(std::uint32_t i) {
    key_.truncate(0);
    restart_index_ = i;
    std::uint32_t off = b_->restart_point(i);
    if (off > b_->restarts) bad(b_->restarts, "restart point out of range");
    next_ = off;
    current_ = b_->restarts;  // invalid until parse_next
  }

  // Decodes the three varints of the entry at `p`; returns the offset of the key bytes or 0 on
  // malformed input (an entry never starts at offset 0 with its key at 0).
  std::uint32_t decode_header(std::uint32_t p, std::uint32_t& shared, std::uint32_t& unshared,
                              std::uint32_t& vlen) const {
    const char* base = b_->data.data();
    std::uint32_t limit = b_->restarts;
    if (limit - p >= 3) {
      auto a = static_cast<unsigned char>(base[p]);
      auto c = static_cast<unsigned char>(base[p + 1]);
      auto d = static_cast<unsigned char>(base[p + 2]);
      if ((a | c | d) < 128) {  // the usual case: each fits in one byte
        shared = a;
        unshared = c;
        vlen = d;
        return p + 3;
      }
    }
    std::string_view in(base + p, limit - p);
    if (!get_varint32(in, shared) || !get_varint32(in, unshared) || !get_varint32(in, vlen)) {
      return 0;
    }
    return static_cast<std::uint32_t>(limit - in.size());
  }

  // Moves to the entry at next_; false (invalid) at the end.
  bool parse_next() {
    std::uint32_t p = next_;
    if (p >= b_->restarts) {
      invalidate();
      return false;
    }
    std::uint32_t shared = 0, unshared = 0, vlen = 0;
    std::uint32_t k = decode_header(p, shared, unshared, vlen);
    if (k == 0) bad(p, "malformed block entry");
    if (shared > key_.size()) bad(p, "block entry shares more bytes than the previous key has");
    if (static_cast<std::uint64_t>(k) + unshared + vlen > b_->restarts) {
      bad(p, "block entry overruns its block");
    }
    key_.truncate(shared);
    key_.append(b_->data.data() + k, unshared);
    if (key_.size() < internal_key_trailer) bad(p, "block entry key shorter than its trailer");
    value_ = std::string_view(b_->data.data() + k + unshared, vlen);
    current_ = p;
    next_ = k + unshared + vlen;
    while (restart_index_ + 1 < b_->num_restarts &&
           b_->restart_point(restart_index_ + 1) <= current_) {
      ++restart_index_;
    }
    return true;
  }

  // The whole key stored at restart point i.
  std::string_view restart_key(std::uint32_t i) const {
    std::uint32_t p = b_->restart_point(i);
    if (p >= b_->restarts) bad(b_->restarts, "restart point out of range");
    std::uint32_t shared = 0, unshared = 0, vlen = 0;
    std::uint32_t k = decode_header(p, shared, unshared, vlen);
    if (k == 0 || shared != 0) bad(p, "malformed restart entry");
    if (static_cast<std::uint64_t>(k) + unshared + vlen > b_->restarts) {
      bad(p, "block entry overruns its block");
    }
    if (unshared < internal_key_trailer) bad(p, "block entry key shorter than its trailer");
    return {b_->data.data() + k, unshared};
  }

  const block_contents* b_ = nullptr;
  const sst_error_context* ctx_ = nullptr;
  std::uint32_t current_ = 0;
  std::uint32_t next_ = 0;
  std::uint32_t restart_index_ = 0;
  key_buffer key_;
  std::string_view value_;
};

/// The fixed-size footer at the end of every SSTable.
struct sst_footer {
  block_handle meta_index;
  block_handle index;

  void encode_to(std::string& dst) const {
    std::size_t start = dst.size();
    put_fixed64(dst, meta_index.offset);
    put_fixed64(dst, meta_index.size);
    put_fixed64(dst, index.offset);
    put_fixed64(dst, index.size);
    put_fixed32(dst, sst_format_version);
    put_fixed32(dst, checksum32(std::string_view(dst).substr(start, 36)));
    put_fixed64(dst, sst_magic);
  }

  /// Decodes the last 48 bytes of a file of `file_size` bytes; throws corruption naming the
  /// offset of the footer field that is wrong.
  static sst_footer decode(std::string_view in, std::uint64_t file_size,
                           const sst_error_context& ctx) {
    std::uint64_t base = file_size - sst_footer_size;
    if (in.size() != sst_footer_size) ctx.fail(file_size, "file too short for an sstable footer");
    if (decode_fixed64(in.data() + 40) != sst_magic) ctx.fail(base + 40, "bad sstable magic");
    std::uint32_t ver = decode_fixed32(in.data() + 32);
    if (checksum32(in.substr(0, 36)) != decode_fixed32(in.data() + 36)) {
      ctx.fail(base + 36, "footer checksum mismatch");
    }
    if (ver != sst_format_version) {
      throw unsupported(ctx.label + ": sstable format version " + std::to_string(ver) +
                        " is not supported (this build reads version " +
                        std::to_string(sst_format_version) + ")");
    }
    sst_footer f;
    f.meta_index = {decode_fixed64(in.data()), decode_fixed64(in.data() + 8)};
    f.index = {decode_fixed64(in.data() + 16), decode_fixed64(in.data() + 24)};
    for (auto* h : {&f.meta_index, &f.index}) {
      if (h->offset > base || h->size > base - h->offset ||
          base - h->offset - h->size < sst_block_trailer_size) {
        ctx.fail(base, "footer block handle points outside the file");
      }
    }
    return f;
  }
};

SOCHDB_END_NAMESPACE
