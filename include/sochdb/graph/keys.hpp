// sochdb/graph/keys.hpp — the key encoding of the graph store (docs/formats/graph.md).
//
// Every graph key is `prefix + tag + components`, where a component (a node id, an edge type)
// is its bytes with 0x00 written as 00 FF, followed by the terminator 00 01. The escape keeps
// unsigned-byte order of the component tuples (a shorter component sorts before any longer one
// that extends it, because 01 < FF and < every data byte written after it), and makes a node's
// keys a true prefix range: "o/" + esc("a") never matches the keys of node "ab". Timestamps are
// 8-byte big-endian so they sort numerically.
//
// Thread-safety: pure functions. Decoders report malformed keys with `corruption` naming the key.
#pragma once

#include <sochdb/core/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>

SOCHDB_BEGIN_NAMESPACE
namespace detail::graph_keys {

// Tags after the store prefix (format: docs/formats/graph.md).
inline constexpr std::string_view node_tag = "n/";      // node id -> node record
inline constexpr std::string_view type_tag = "t/";      // node type, id -> ""
inline constexpr std::string_view out_tag = "o/";       // from, type, to -> edge properties
inline constexpr std::string_view in_tag = "i/";        // to, type, from -> ""
inline constexpr std::string_view tedge_tag = "e/";     // from, type, to, valid_from -> record
inline constexpr std::string_view tin_tag = "E/";       // to, type, from, valid_from -> ""
inline constexpr std::string_view tindex_tag = "T/";    // from, level, bucket, valid_from, ...
inline constexpr int temporal_levels = 17;              // 16 levels of 16-ary blocks + "wide"
inline constexpr int wide_level = temporal_levels - 1;  // open or longer than 2^60 ms

inline void append_component(std::string& k, std::string_view c) {
  for (char ch : c) {
    k.push_back(ch);
    if (ch == '\0') k.push_back('\xff');
  }
  k.push_back('\0');
  k.push_back('\x01');
}

inline void append_u64(std::string& k, std::uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) k.push_back(static_cast<char>((v >> s) & 0xff));
}

/// Reads one component from the front of `rest` into `out`; false when malformed.
inline bool read_component(std::string_view& rest, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] != '\0') {
      out.push_back(rest[i]);
      continue;
    }
    if (i + 1 >= rest.size()) return false;
    if (rest[i + 1] == '\x01') {
      rest.remove_prefix(i + 2);
      return true;
    }
    if (rest[i + 1] != '\xff') return false;
    out.push_back('\0');
    ++i;
  }
  return false;
}

inline bool read_u64(std::string_view& rest, std::uint64_t& v) {
  if (rest.size() < 8) return false;
  v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(rest[i]);
  rest.remove_prefix(8);
  return true;
}

[[noreturn]] inline void bad_key(std::string_view key, const char* what) {
  throw corruption(std::string("graph: malformed ") + what + " key " + printable_key(key));
}

/// The block level of the interval [from, until) (until 0 = open): the smallest L such that
/// the interval lies inside one aligned block of 16^L milliseconds; `wide_level` for open
/// intervals and those no block of 16^15 contains.
inline int temporal_level(std::uint64_t from, std::uint64_t until) {
  if (until == 0) return wide_level;
  std::uint64_t last = until - 1;
  for (int l = 0; l < wide_level; ++l) {
    if ((from >> (4 * l)) == (last >> (4 * l))) return l;
  }
  return wide_level;
}

/// The block of level `l` that contains time `t`.
inline std::uint64_t temporal_bucket(int l, std::uint64_t t) {
  return l >= wide_level ? 0 : t >> (4 * l);
}

}  // namespace detail::graph_keys
SOCHDB_END_NAMESPACE
