// sochdb/storage/internal_key.hpp — versioned internal keys and stored values.
//
// Every version of a user key is stored under an internal key
//
//     user_key | ~commit_ts (8 bytes, big-endian) | kind (1 byte)
//
// ordered by user key (unsigned bytes), then by the 9-byte trailer as unsigned bytes. Because
// the timestamp is inverted, the versions of one key sort newest first, so a read at snapshot
// `ts` is one seek to `user_key | ~ts | 0x00`: the first entry at or after it is the newest
// version with commit_ts <= ts, if its user key matches. The trailer cannot simply be compared
// as part of the whole byte string ("a" + trailer would mix with "ab"), so the comparator splits
// it off first.
//
// A stored value depends on the kind: `deletion` has none; `value` is the user value;
// `value_with_expiry` is the expiry time (fixed64 little-endian, Unix milliseconds) followed by
// the user value. The kind values and the trailer layout are part of the WAL, checkpoint and
// SSTable formats: do not change them.
//
// Thread safety: stateless functions.
#pragma once

#include <sochdb/core/coding.hpp>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

SOCHDB_BEGIN_NAMESPACE

/// What a version is. On-disk format: do not change the values.
enum class value_kind : std::uint8_t {
  deletion = 0,           ///< a tombstone
  value = 1,              ///< a plain value
  value_with_expiry = 2,  ///< fixed64 expiry (Unix ms) then the value
};

/// Bytes after the user key in an internal key.
inline constexpr std::size_t internal_key_trailer = 9;

/// The largest timestamp; a read "at the newest version".
inline constexpr std::uint64_t max_timestamp = std::numeric_limits<std::uint64_t>::max();

/// Appends `user_key | ~ts | kind` to `dst`.
inline void append_internal_key(std::string& dst, std::string_view user_key, std::uint64_t ts,
                                value_kind kind) {
  dst.append(user_key);
  put_fixed64_be(dst, ~ts);
  dst.push_back(static_cast<char>(kind));
}

inline std::string make_internal_key(std::string_view user_key, std::uint64_t ts, value_kind kind) {
  std::string s;
  s.reserve(user_key.size() + internal_key_trailer);
  append_internal_key(s, user_key, ts, kind);
  return s;
}

/// The key at which a read of `user_key` at snapshot `ts` seeks: it sorts before every version
/// with commit_ts <= ts and after every newer one.
inline std::string lookup_key(std::string_view user_key, std::uint64_t ts) {
  return make_internal_key(user_key, ts, value_kind::deletion);
}

/// The user-key part of an internal key (precondition: at least the trailer's size).
inline std::string_view user_key_of(std::string_view ikey) noexcept {
  return ikey.substr(0, ikey.size() - internal_key_trailer);
}
inline std::uint64_t timestamp_of(std::string_view ikey) noexcept {
  return ~decode_fixed64_be(ikey.data() + ikey.size() - internal_key_trailer);
}
inline value_kind kind_of(std::string_view ikey) noexcept {
  return static_cast<value_kind>(static_cast<unsigned char>(ikey.back()));
}

/// Three-way unsigned byte comparison of a[0, n) and b[0, n), inline: whole 8-byte words
/// compared as big-endian integers, then the tail. For the short keys of a point read this
/// beats a call to memcmp, whose setup costs more than the comparison.
inline int compare_prefix_bytes(const char* a, const char* b, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t x = decode_fixed64_be(a + i), y = decode_fixed64_be(b + i);
    if (x != y) return x < y ? -1 : 1;
  }
  for (; i < n; ++i) {
    auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

/// Three-way unsigned byte comparison of two strings (shorter first on a common prefix).
inline int compare_bytes(std::string_view a, std::string_view b) noexcept {
  std::size_t n = a.size() < b.size() ? a.size() : b.size();
  int c =
      n <= 64 ? compare_prefix_bytes(a.data(), b.data(), n) : std::memcmp(a.data(), b.data(), n);
  if (c != 0) return c < 0 ? -1 : 1;
  return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
}

/// Orders internal keys: user key ascending, then timestamp descending, then kind.
inline int compare_internal_keys(std::string_view a, std::string_view b) noexcept {
  int c = compare_bytes(user_key_of(a), user_key_of(b));
  if (c != 0) return c;
  return compare_prefix_bytes(a.data() + a.size() - internal_key_trailer,
                              b.data() + b.size() - internal_key_trailer, internal_key_trailer);
}

/// True when `kind` is a known value kind.
inline bool valid_kind(std::uint8_t k) noexcept { return k <= 2; }

/// Encodes a stored value: for an expiry (non-zero) the fixed64 prefix, then the value.
inline void append_stored_value(std::string& dst, std::string_view value, std::uint64_t expiry_ms) {
  if (expiry_ms != 0) put_fixed64(dst, expiry_ms);
  dst.append(value);
}

/// A decoded stored value.
struct stored_value {
  std::string_view value;       ///< the user value
  std::uint64_t expiry_ms = 0;  ///< 0: never expires
  /// True when the value has expired at `now_ms`.
  [[nodiscard]] bool expired(std::uint64_t now_ms) const noexcept {
    return expiry_ms != 0 && now_ms >= expiry_ms;
  }
};

/// Splits a stored value of `kind` (value or value_with_expiry). A value_with_expiry shorter
/// than 8 bytes cannot be produced by the writers; it reads as already expired.
inline stored_value decode_stored_value(value_kind kind, std::string_view stored) noexcept {
  if (kind != value_kind::value_with_expiry) return {stored, 0};
  if (stored.size() < 8) return {{}, 1};
  return {stored.substr(8), decode_fixed64(stored.data())};
}

SOCHDB_END_NAMESPACE
