// sochdb/core/coding.hpp — bytes, fixed-width and varint coding.
//
// Keys and values are byte strings. sochdb passes them as std::string_view (any bytes, not
// necessarily UTF-8) and owns them as std::string; std::string_view::compare orders bytes as
// unsigned, which is the order of every sorted structure in the library.
//
// Fixed-width integers are little-endian on disk unless the name says `_be`; big-endian is used
// where byte order must equal numeric order (the timestamp suffix of internal keys). Varints are
// LEB128 (7 bits per byte, low group first), at most 5 bytes for 32 bits and 10 for 64.
//
// Decoding untrusted bytes goes through `byte_reader`, which checks every bound and throws
// `corruption` naming the source and the offset; nothing here reads past the input.
#pragma once

#include <sochdb/core/error.hpp>

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

SOCHDB_BEGIN_NAMESPACE

/// A view of raw bytes as chars, and back.
inline std::string_view as_chars(std::span<const std::byte> b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline std::span<const std::byte> as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

/// Lowercase hex of `data`, for messages and debugging.
inline std::string to_hex(std::string_view data) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (unsigned char c : data) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

/// The smallest string greater than every string that starts with `prefix`, or "" when there is
/// none (the prefix is empty or all 0xff bytes). Used as the exclusive end of a prefix scan.
inline std::string prefix_successor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    auto c = static_cast<unsigned char>(s.back());
    if (c != 0xff) {
      s.back() = static_cast<char>(c + 1);
      return s;
    }
    s.pop_back();
  }
  return s;
}

namespace detail {
template <class T>
constexpr T byteswap_if(T v, bool swap) noexcept {
  if (!swap) return v;
  T r = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    r = static_cast<T>((r << 8) | ((v >> (8 * i)) & 0xff));
  }
  return r;
}
template <class T, bool Big>
inline void store(char* dst, T v) noexcept {
  constexpr bool native_big = std::endian::native == std::endian::big;
  v = byteswap_if(v, Big != native_big);
  std::memcpy(dst, &v, sizeof(T));
}
template <class T, bool Big>
inline T load(const char* src) noexcept {
  constexpr bool native_big = std::endian::native == std::endian::big;
  T v;
  std::memcpy(&v, src, sizeof(T));
  return byteswap_if(v, Big != native_big);
}
}  // namespace detail

// ---- fixed width, into a buffer the caller sized ----
inline void encode_fixed16(char* dst, std::uint16_t v) noexcept {
  detail::store<std::uint16_t, false>(dst, v);
}
inline void encode_fixed32(char* dst, std::uint32_t v) noexcept {
  detail::store<std::uint32_t, false>(dst, v);
}
inline void encode_fixed64(char* dst, std::uint64_t v) noexcept {
  detail::store<std::uint64_t, false>(dst, v);
}
inline void encode_fixed32_be(char* dst, std::uint32_t v) noexcept {
  detail::store<std::uint32_t, true>(dst, v);
}
inline void encode_fixed64_be(char* dst, std::uint64_t v) noexcept {
  detail::store<std::uint64_t, true>(dst, v);
}

inline std::uint16_t decode_fixed16(const char* src) noexcept {
  return detail::load<std::uint16_t, false>(src);
}
inline std::uint32_t decode_fixed32(const char* src) noexcept {
  return detail::load<std::uint32_t, false>(src);
}
inline std::uint64_t decode_fixed64(const char* src) noexcept {
  return detail::load<std::uint64_t, false>(src);
}
inline std::uint32_t decode_fixed32_be(const char* src) noexcept {
  return detail::load<std::uint32_t, true>(src);
}
inline std::uint64_t decode_fixed64_be(const char* src) noexcept {
  return detail::load<std::uint64_t, true>(src);
}

// ---- fixed width, appended to a string ----
inline void put_fixed16(std::string& dst, std::uint16_t v) {
  char b[2];
  encode_fixed16(b, v);
  dst.append(b, 2);
}
inline void put_fixed32(std::string& dst, std::uint32_t v) {
  char b[4];
  encode_fixed32(b, v);
  dst.append(b, 4);
}
inline void put_fixed64(std::string& dst, std::uint64_t v) {
  char b[8];
  encode_fixed64(b, v);
  dst.append(b, 8);
}
inline void put_fixed32_be(std::string& dst, std::uint32_t v) {
  char b[4];
  encode_fixed32_be(b, v);
  dst.append(b, 4);
}
inline void put_fixed64_be(std::string& dst, std::uint64_t v) {
  char b[8];
  encode_fixed64_be(b, v);
  dst.append(b, 8);
}

// ---- varints ----
inline constexpr std::size_t max_varint32_bytes = 5;
inline constexpr std::size_t max_varint64_bytes = 10;

/// Writes `v` as a varint at `dst` (room for max_varint64_bytes) and returns the end.
inline char* encode_varint64(char* dst, std::uint64_t v) noexcept {
  auto* p = reinterpret_cast<unsigned char*>(dst);
  while (v >= 0x80) {
    *p++ = static_cast<unsigned char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<unsigned char>(v);
  return reinterpret_cast<char*>(p);
}
inline char* encode_varint32(char* dst, std::uint32_t v) noexcept {
  return encode_varint64(dst, v);
}

inline void put_varint64(std::string& dst, std::uint64_t v) {
  char b[max_varint64_bytes];
  dst.append(b, static_cast<std::size_t>(encode_varint64(b, v) - b));
}
inline void put_varint32(std::string& dst, std::uint32_t v) { put_varint64(dst, v); }

/// The number of bytes `v` takes as a varint.
constexpr std::size_t varint_length(std::uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

/// Appends varint(len) then the bytes.
inline void put_length_prefixed(std::string& dst, std::string_view s) {
  put_varint64(dst, s.size());
  dst.append(s);
}

/// Decodes a varint from the front of `in` and advances it. Returns false (leaving `in`
/// unchanged) if `in` ends inside the varint or the value overflows 64 bits.
inline bool get_varint64(std::string_view& in, std::uint64_t& v) noexcept {
  std::uint64_t result = 0;
  for (std::size_t i = 0, shift = 0; i < in.size() && i < max_varint64_bytes; ++i, shift += 7) {
    auto byte = static_cast<unsigned char>(in[i]);
    if (i == max_varint64_bytes - 1 && byte > 1) return false;  // bits beyond 64
    result |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      v = result;
      in.remove_prefix(i + 1);
      return true;
    }
  }
  return false;
}
inline bool get_varint32(std::string_view& in, std::uint32_t& v) noexcept {
  std::string_view save = in;
  std::uint64_t x = 0;
  if (!get_varint64(in, x) || x > 0xffffffffu) {
    in = save;
    return false;
  }
  v = static_cast<std::uint32_t>(x);
  return true;
}

/// Bounds-checked sequential decoder over untrusted bytes. Every failure throws `corruption`
/// with "<source>: <what> at offset N" where N is `base_offset` plus the position in the input.
/// The reader keeps views: `data` and `source` must outlive it.
class byte_reader {
 public:
  explicit byte_reader(std::string_view data, std::string_view source = "input",
                       std::uint64_t base_offset = 0)
      : data_(data), source_(source), base_(base_offset) {}

  [[nodiscard]] std::size_t position() const noexcept { return pos_; }
  [[nodiscard]] std::size_t remaining() const noexcept { return data_.size() - pos_; }
  [[nodiscard]] bool empty() const noexcept { return pos_ == data_.size(); }
  [[nodiscard]] std::string_view rest() const noexcept { return data_.substr(pos_); }

  std::uint8_t u8() {
    need(1, "byte");
    return static_cast<std::uint8_t>(data_[pos_++]);
  }
  std::uint16_t fixed16() {
    need(2, "fixed16");
    auto v = decode_fixed16(data_.data() + pos_);
    pos_ += 2;
    return v;
  }
  std::uint32_t fixed32() {
    need(4, "fixed32");
    auto v = decode_fixed32(data_.data() + pos_);
    pos_ += 4;
    return v;
  }
  std::uint64_t fixed64() {
    need(8, "fixed64");
    auto v = decode_fixed64(data_.data() + pos_);
    pos_ += 8;
    return v;
  }
  std::uint32_t fixed32_be() {
    need(4, "fixed32");
    auto v = decode_fixed32_be(data_.data() + pos_);
    pos_ += 4;
    return v;
  }
  std::uint64_t fixed64_be() {
    need(8, "fixed64");
    auto v = decode_fixed64_be(data_.data() + pos_);
    pos_ += 8;
    return v;
  }

  std::uint64_t varint64() {
    std::string_view in = data_.substr(pos_);
    std::uint64_t v = 0;
    if (!get_varint64(in, v)) fail("malformed varint");
    pos_ = data_.size() - in.size();
    return v;
  }
  std::uint32_t varint32() {
    std::uint64_t v = varint64();
    if (v > 0xffffffffu) fail("varint32 out of range");
    return static_cast<std::uint32_t>(v);
  }

  /// The next `n` bytes (a view into the input).
  std::string_view bytes(std::uint64_t n) {
    if (n > remaining())
      fail("truncated data (need " + std::to_string(n) + " bytes, have " +
           std::to_string(remaining()) + ")");
    std::string_view s = data_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  /// varint length, then that many bytes.
  std::string_view length_prefixed() { return bytes(varint64()); }

  void skip(std::uint64_t n) { (void)bytes(n); }

  /// Throws corruption "<source>: <what> at offset N" at the current position.
  [[noreturn]] void fail(const std::string& what) const {
    throw corruption(std::string(source_) + ": " + what + " at offset " +
                     std::to_string(base_ + pos_));
  }

 private:
  void need(std::size_t n, const char* what) const {
    if (remaining() < n) fail(std::string("truncated ") + what);
  }
  std::string_view data_;
  std::string_view source_;
  std::uint64_t base_;
  std::size_t pos_ = 0;
};

SOCHDB_END_NAMESPACE
