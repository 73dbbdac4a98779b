// sochdb/toon/binary.hpp — binary TOON: a compact, checksummed encoding of the same documents
// for storage and IPC.
//
//   std::string bytes = sochdb::toon::binary::encode(doc);
//   sochdb::toon::value back = sochdb::toon::binary::decode(bytes);   // back == doc
//
// The bytes are specified in docs/formats/toon-binary.md (modelled on the binary layout of the
// SochDB architecture notes: magic, version, flags, one-byte type tags with fixints and fixstrs,
// little-endian fixed-width numbers, LEB128 varints), extended with tags for objects, unsigned
// 64-bit integers and binary values, and a columnar table for arrays of objects that share their
// keys in the same order. A message is a 12-byte header, one value, and a checksum32 trailer
// over everything before it.
//
// Round trip: decode(encode(v)) == v for every document, including what text TOON cannot carry
// (NaN, infinities, -0.0, binary values); key order is preserved. Integers keep their value
// (unsigned values that fit int64 come back as int64, which compares equal).
//
// Decoding is for untrusted bytes: every read is bounds-checked (`byte_reader`), declared counts
// are checked against the bytes left before anything is reserved, nesting is limited by
// `max_depth`, duplicate keys are rejected, and every failure is `sochdb::corruption` naming
// the offset. Thread-safety: pure functions.
#pragma once

#include <sochdb/core/checksum.hpp>
#include <sochdb/core/coding.hpp>
#include <sochdb/core/error.hpp>
#include <sochdb/toon/concepts.hpp>
#include <sochdb/toon/detail/text.hpp>
#include <sochdb/toon/options.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <string_view>

SOCHDB_BEGIN_NAMESPACE
namespace toon::binary {

// ---- format constants (part of the on-disk format: do not change) ----
inline constexpr char magic[4] = {'T', 'O', 'O', 'N'};
inline constexpr std::uint16_t format_version = 1;
inline constexpr std::size_t header_size = 12;     // magic, version, flags, body length
inline constexpr std::size_t trailer_size = 4;     // checksum32
inline constexpr std::uint16_t flag_columnar = 1;  // the body may contain table values

/// Type tags (one byte before every value).
enum class tag : std::uint8_t {
  null = 0x00,
  false_ = 0x01,
  true_ = 0x02,
  pos_fixint = 0x10,  // 0x10..0x1F: 0..15 in the low nibble
  neg_fixint = 0x20,  // 0x20..0x2F: -16..-1 (low nibble = value + 16)
  int8 = 0x30,
  int16 = 0x31,
  int32 = 0x32,
  int64 = 0x33,
  uint64 = 0x34,   // values above INT64_MAX
  float32 = 0x40,  // a double exactly representable as float
  float64 = 0x41,
  fixstr = 0x50,  // 0x50..0x5F: length 0..15 in the low nibble
  str8 = 0x60,
  str16 = 0x61,
  str32 = 0x62,
  array = 0x70,   // varint count, values
  object = 0x71,  // varint count, (varint key length, key bytes, value) pairs
  table = 0x72,   // varint rows, varint columns, column keys, then the cells column by column
  bytes = 0x73,   // varint length, subtype byte (0 none, 1 present + fixed64), bytes
};

struct encode_options {
  /// Write arrays of two or more objects that share their keys (same order) as a columnar table
  /// with the keys once; default true.
  bool columnar = true;
  /// Deepest nesting of containers accepted; deeper input throws `invalid_argument`.
  std::size_t max_depth = default_max_depth;
};

struct decode_options {
  /// Deepest nesting of containers accepted; deeper input is `corruption`.
  std::size_t max_depth = default_max_depth;
};

namespace detail {

using object_t = value::object_t;
using array_t = value::array_t;

class writer {
 public:
  writer(std::string& out, const encode_options& o) : out_(out), opt_(o) {}

  void put_value(const value& v) {
    switch (v.type()) {
      case value::value_t::null:
      case value::value_t::discarded:
        put_tag(tag::null);
        return;
      case value::value_t::boolean:
        put_tag(v.get<bool>() ? tag::true_ : tag::false_);
        return;
      case value::value_t::number_integer:
        put_int(v.get<std::int64_t>());
        return;
      case value::value_t::number_unsigned: {
        std::uint64_t u = v.get<std::uint64_t>();
        if (u <= static_cast<std::uint64_t>(INT64_MAX)) {
          put_int(static_cast<std::int64_t>(u));
        } else {
          put_tag(tag::uint64);
          put_fixed64(out_, u);
        }
        return;
      }
      case value::value_t::number_float: {
        double d = v.get<double>();
        // Four bytes when a float holds the value exactly (±0 and infinities included); NaN
        // always takes eight so its bits survive.
        bool fits = !std::isnan(d) && (std::isinf(d) || std::fabs(d) <= 3.4028234663852886e38);
        float f = fits ? static_cast<float>(d) : 0.0f;
        if (fits && static_cast<double>(f) == d && std::signbit(f) == std::signbit(d)) {
          put_tag(tag::float32);
          std::uint32_t bits;
          std::memcpy(&bits, &f, 4);
          put_fixed32(out_, bits);
        } else {
          put_tag(tag::float64);
          std::uint64_t bits;
          std::memcpy(&bits, &d, 8);
          put_fixed64(out_, bits);
        }
        return;
      }
      case value::value_t::string:
        put_string(v.get_ref<const value::string_t&>());
        return;
      case value::value_t::binary: {
        const auto& b = v.get_binary();
        put_tag(tag::bytes);
        put_varint64(out_, b.size());
        out_ += static_cast<char>(b.has_subtype() ? 1 : 0);
        if (b.has_subtype()) put_fixed64(out_, b.subtype());
        out_.append(reinterpret_cast<const char*>(b.data()), b.size());
        return;
      }
      case value::value_t::array: {
        nest guard(*this);
        const auto& a = v.get_ref<const array_t&>();
        if (opt_.columnar && is_table(a)) {
          put_table(a);
          return;
        }
        put_tag(tag::array);
        put_varint64(out_, a.size());
        for (const auto& e : a) put_value(e);
        return;
      }
      case value::value_t::object: {
        nest guard(*this);
        const auto& o = v.get_ref<const object_t&>();
        put_tag(tag::object);
        put_varint64(out_, o.size());
        for (const auto& kv : o) {
          put_length_prefixed(out_, kv.first);
          put_value(kv.second);
        }
        return;
      }
    }
  }

  bool used_table() const noexcept { return used_table_; }

 private:
  class nest {
   public:
    explicit nest(writer& w) : w_(w) {
      if (++w_.level_ > w_.opt_.max_depth) {
        --w_.level_;
        throw invalid_argument("binary toon encode: document nested deeper than max_depth (" +
                               std::to_string(w_.opt_.max_depth) + ")");
      }
    }
    ~nest() { --w_.level_; }
    nest(const nest&) = delete;
    nest& operator=(const nest&) = delete;

   private:
    writer& w_;
  };

  void put_tag(tag t) { out_ += static_cast<char>(t); }

  void put_int(std::int64_t i) {
    if (i >= 0 && i <= 15) {
      out_ += static_cast<char>(static_cast<int>(tag::pos_fixint) | static_cast<int>(i));
    } else if (i < 0 && i >= -16) {
      out_ += static_cast<char>(static_cast<int>(tag::neg_fixint) | static_cast<int>(i + 16));
    } else if (i >= INT8_MIN && i <= INT8_MAX) {
      put_tag(tag::int8);
      out_ += static_cast<char>(static_cast<std::int8_t>(i));
    } else if (i >= INT16_MIN && i <= INT16_MAX) {
      put_tag(tag::int16);
      put_fixed16(out_, static_cast<std::uint16_t>(static_cast<std::int16_t>(i)));
    } else if (i >= INT32_MIN && i <= INT32_MAX) {
      put_tag(tag::int32);
      put_fixed32(out_, static_cast<std::uint32_t>(static_cast<std::int32_t>(i)));
    } else {
      put_tag(tag::int64);
      put_fixed64(out_, static_cast<std::uint64_t>(i));
    }
  }

  void put_string(const std::string& s) {
    std::size_t n = s.size();
    if (n <= 15) {
      out_ += static_cast<char>(static_cast<int>(tag::fixstr) | static_cast<int>(n));
    } else if (n <= 0xFF) {
      put_tag(tag::str8);
      out_ += static_cast<char>(n);
    } else if (n <= 0xFFFF) {
      put_tag(tag::str16);
      put_fixed16(out_, static_cast<std::uint16_t>(n));
    } else if (n <= 0xFFFFFFFFu) {
      put_tag(tag::str32);
      put_fixed32(out_, static_cast<std::uint32_t>(n));
    } else {
      throw invalid_argument("binary toon encode: string longer than 4 GiB");
    }
    out_.append(s);
  }

  /// Two or more objects with the same keys in the same order (at least one key).
  static bool is_table(const array_t& a) {
    if (a.size() < 2 || !a[0].is_object()) return false;
    const auto& first = a[0].get_ref<const object_t&>();
    if (first.empty()) return false;
    for (const auto& row_v : a) {
      if (!row_v.is_object()) return false;
      const auto& row = toon::detail::entries(row_v.get_ref<const object_t&>());
      if (row.size() != first.size()) return false;
      for (std::size_t i = 0; i < row.size(); ++i)
        if (row[i].first != toon::detail::entries(first)[i].first) return false;
    }
    return true;
  }

  void put_table(const array_t& a) {
    // The rows are containers one level down.
    nest rows(*this);
    used_table_ = true;
    const auto& first = a[0].get_ref<const object_t&>();
    put_tag(tag::table);
    put_varint64(out_, a.size());
    put_varint64(out_, first.size());
    for (const auto& kv : first) put_length_prefixed(out_, kv.first);
    for (std::size_t c = 0; c < first.size(); ++c)
      for (const auto& row : a)
        put_value(toon::detail::entries(row.get_ref<const object_t&>())[c].second);
  }

  std::string& out_;
  const encode_options& opt_;
  std::size_t level_ = 0;
  bool used_table_ = false;
};

class reader {
 public:
  reader(std::string_view body, std::uint64_t base, bool columnar, const decode_options& o)
      : r_(body, "binary toon", base), columnar_(columnar), opt_(o) {}

  value read_value() {
    const std::size_t at = r_.position();
    auto t = r_.u8();
    if (t >= 0x10 && t <= 0x1F) return static_cast<std::int64_t>(t & 0x0F);
    if (t >= 0x20 && t <= 0x2F) return static_cast<std::int64_t>(t & 0x0F) - 16;
    if (t >= 0x50 && t <= 0x5F) return value::string_t(r_.bytes(t & 0x0F));
    switch (static_cast<tag>(t)) {
      case tag::null:
        return nullptr;
      case tag::false_:
        return false;
      case tag::true_:
        return true;
      case tag::int8:
        return static_cast<std::int64_t>(static_cast<std::int8_t>(r_.u8()));
      case tag::int16:
        return static_cast<std::int64_t>(static_cast<std::int16_t>(r_.fixed16()));
      case tag::int32:
        return static_cast<std::int64_t>(static_cast<std::int32_t>(r_.fixed32()));
      case tag::int64:
        return static_cast<std::int64_t>(r_.fixed64());
      case tag::uint64:
        return r_.fixed64();
      case tag::float32: {
        std::uint32_t bits = r_.fixed32();
        float f;
        std::memcpy(&f, &bits, 4);
        return static_cast<double>(f);
      }
      case tag::float64: {
        std::uint64_t bits = r_.fixed64();
        double d;
        std::memcpy(&d, &bits, 8);
        return d;
      }
      case tag::str8:
        return value::string_t(r_.bytes(r_.u8()));
      case tag::str16:
        return value::string_t(r_.bytes(r_.fixed16()));
      case tag::str32:
        return value::string_t(r_.bytes(r_.fixed32()));
      case tag::bytes: {
        std::uint64_t n = r_.varint64();
        auto has_subtype = r_.u8();
        if (has_subtype > 1) fail_at(at, "bad binary subtype marker");
        std::uint64_t subtype = has_subtype != 0 ? r_.fixed64() : 0;
        std::string_view raw = r_.bytes(n);
        value::binary_t::container_type data(raw.begin(), raw.end());
        return has_subtype != 0 ? value::binary(std::move(data), subtype)
                                : value::binary(std::move(data));
      }
      case tag::array: {
        nest guard(*this, at);
        std::uint64_t n = count(1, at);
        value arr(value::value_t::array);
        auto& a = arr.get_ref<array_t&>();
        a.reserve(static_cast<std::size_t>(n));
        for (std::uint64_t i = 0; i < n; ++i) a.push_back(read_value());
        return arr;
      }
      case tag::object: {
        nest guard(*this, at);
        std::uint64_t n = count(2, at);  // each pair: a key length and a tag at least
        value obj(value::value_t::object);
        auto& m = obj.get_ref<object_t&>();
        m.reserve(static_cast<std::size_t>(n));
        toon::detail::key_index index;
        for (std::uint64_t i = 0; i < n; ++i) {
          std::size_t key_at = r_.position();
          std::string_view key = r_.length_prefixed();
          if (index.find(key, m.size(), [&](std::size_t k) -> std::string_view {
                return toon::detail::entries(m)[k].first;
              }) != toon::detail::npos)
            fail_at(key_at, "duplicate key " + printable_key(key));
          m.emplace_back(std::string(key), read_value());
        }
        return obj;
      }
      case tag::table:
        if (columnar_) return read_table(at);
        fail_at(at, "table value in a message without the columnar flag");
      default:
        break;
    }
    fail_at(at, "unknown type tag 0x" + to_hex(std::string(1, static_cast<char>(t))));
  }

  [[nodiscard]] bool at_end() const noexcept { return r_.empty(); }
  [[noreturn]] void fail_here(const std::string& what) const { r_.fail(what); }

 private:
  class nest {
   public:
    nest(reader& r, std::size_t at) : r_(r) {
      if (++r_.level_ > r_.opt_.max_depth)
        r_.fail_at(at, "nesting deeper than max_depth (" + std::to_string(r_.opt_.max_depth) + ")");
    }
    ~nest() { --r_.level_; }
    nest(const nest&) = delete;
    nest& operator=(const nest&) = delete;

   private:
    reader& r_;
  };

  /// Fails at the start of the offending value (`at`, relative to the body).
  [[noreturn]] void fail_at(std::size_t at, const std::string& what) const {
    throw corruption("binary toon: " + what + " at offset " + std::to_string(base_ + at));
  }

  /// A varint count of items that each take at least `min_bytes`, checked against what is left.
  std::uint64_t count(std::uint64_t min_bytes, std::size_t at) {
    std::uint64_t n = r_.varint64();
    if (n > r_.remaining() / min_bytes)
      fail_at(at, "count " + std::to_string(n) + " exceeds the remaining " +
                      std::to_string(r_.remaining()) + " bytes");
    return n;
  }

  value read_table(std::size_t at) {
    nest guard(*this, at);       // the array
    nest rows_guard(*this, at);  // its rows
    std::uint64_t rows = r_.varint64();
    std::uint64_t cols = r_.varint64();
    if (rows < 2 || cols == 0) fail_at(at, "table needs at least 2 rows and 1 column");
    // Every cell takes at least one byte; every key at least one.
    if (cols > r_.remaining() || rows > r_.remaining() / cols)
      fail_at(at, "table of " + std::to_string(rows) + " x " + std::to_string(cols) +
                      " cells exceeds the remaining " + std::to_string(r_.remaining()) + " bytes");
    std::vector<std::string> keys;
    keys.reserve(static_cast<std::size_t>(cols));
    toon::detail::key_index index;
    for (std::uint64_t c = 0; c < cols; ++c) {
      std::size_t key_at = r_.position();
      std::string_view key = r_.length_prefixed();
      if (index.find(key, keys.size(), [&](std::size_t k) -> std::string_view {
            return keys[k];
          }) != toon::detail::npos)
        fail_at(key_at, "duplicate table column " + printable_key(key));
      keys.emplace_back(key);
    }
    value arr(value::value_t::array);
    auto& a = arr.get_ref<array_t&>();
    a.reserve(static_cast<std::size_t>(rows));
    for (std::uint64_t i = 0; i < rows; ++i) {
      value row(value::value_t::object);
      row.get_ref<object_t&>().reserve(static_cast<std::size_t>(cols));
      a.push_back(std::move(row));
    }
    for (std::uint64_t c = 0; c < cols; ++c)
      for (std::uint64_t i = 0; i < rows; ++i)
        a[static_cast<std::size_t>(i)].get_ref<object_t&>().emplace_back(
            keys[static_cast<std::size_t>(c)], read_value());
    return arr;
  }

  byte_reader r_;
  bool columnar_;
  const decode_options& opt_;
  std::uint64_t base_ = header_size;
  std::size_t level_ = 0;
};

}  // namespace detail

/// Appends the binary TOON message of `v` to `out`.
inline void encode_to(std::string& out, const value& v, const encode_options& opt = {}) {
  if (opt.max_depth == 0) throw invalid_argument("binary toon encode: max_depth must be positive");
  const std::size_t start = out.size();
  out.append(magic, 4);
  put_fixed16(out, format_version);
  put_fixed16(out, 0);  // flags, patched below
  put_fixed32(out, 0);  // body length, patched below
  detail::writer w(out, opt);
  try {
    w.put_value(v);
  } catch (...) {
    out.resize(start);
    throw;
  }
  const std::size_t body = out.size() - start - header_size;
  if (body > 0xFFFFFFFFu) {
    out.resize(start);
    throw invalid_argument("binary toon encode: message body larger than 4 GiB");
  }
  encode_fixed16(out.data() + start + 6, w.used_table() ? flag_columnar : 0);
  encode_fixed32(out.data() + start + 8, static_cast<std::uint32_t>(body));
  put_fixed32(out, checksum32(std::string_view(out).substr(start)));
}

/// Writes the binary TOON message of `v` to any sink.
template <char_sink Sink>
void encode_to(Sink& sink, const value& v, const encode_options& opt = {}) {
  std::string buf;
  encode_to(buf, v, opt);
  sink.append(buf.data(), buf.size());
}

/// The binary TOON message of `v`.
inline std::string encode(const value& v, const encode_options& opt = {}) {
  std::string out;
  encode_to(out, v, opt);
  return out;
}

/// The total size of the message whose first `header_size` bytes are `header`, for readers of
/// a stream of messages. Throws `corruption` on a bad magic or version.
inline std::size_t message_size(std::string_view header) {
  byte_reader r(header, "binary toon");
  std::string_view m = r.bytes(4);
  if (std::memcmp(m.data(), magic, 4) != 0) r.fail("bad magic (not a binary TOON message)");
  std::uint16_t version = r.fixed16();
  if (version != format_version)
    throw corruption("binary toon: unsupported format version " + std::to_string(version) +
                     " at offset 4");
  std::uint16_t flags = r.fixed16();
  if ((flags & ~flag_columnar) != 0)
    throw corruption("binary toon: unknown flags 0x" + to_hex(std::string(header.substr(6, 2))) +
                     " at offset 6");
  return header_size + r.fixed32() + trailer_size;
}

/// Decodes one binary TOON message, which must be exactly `bytes`. Throws `corruption` naming
/// the offset on any damage: bad magic, version, flags or checksum, truncation, trailing bytes,
/// unknown tags, counts larger than the data, duplicate keys, excessive nesting.
inline value decode(std::string_view bytes, const decode_options& opt = {}) {
  if (opt.max_depth == 0) throw invalid_argument("binary toon decode: max_depth must be positive");
  if (bytes.size() < header_size + trailer_size)
    throw corruption("binary toon: message of " + std::to_string(bytes.size()) +
                     " bytes is shorter than a header and checksum at offset 0");
  const std::size_t total = message_size(bytes.substr(0, header_size));
  if (total != bytes.size())
    throw corruption("binary toon: header declares a " + std::to_string(total) +
                     "-byte message, got " + std::to_string(bytes.size()) + " bytes at offset 8");
  const std::size_t body_end = bytes.size() - trailer_size;
  std::uint32_t stored = decode_fixed32(bytes.data() + body_end);
  std::uint32_t actual = checksum32(bytes.substr(0, body_end));
  if (stored != actual)
    throw corruption("binary toon: checksum mismatch (stored " + std::to_string(stored) +
                     ", computed " + std::to_string(actual) + ") at offset " +
                     std::to_string(body_end));
  const bool columnar = (decode_fixed16(bytes.data() + 6) & flag_columnar) != 0;
  detail::reader r(bytes.substr(header_size, body_end - header_size), header_size, columnar, opt);
  value v = r.read_value();
  if (!r.at_end()) r.fail_here("trailing bytes after the value");
  return v;
}

}  // namespace toon::binary
SOCHDB_END_NAMESPACE
