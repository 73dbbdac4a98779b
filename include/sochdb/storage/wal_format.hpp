// sochdb/storage/wal_format.hpp — the bytes of WAL segments and checkpoint files.
//
// Specified in docs/formats/wal.md. A file is a 20-byte header (magic, format version, segment
// number, checksum) followed by records
//
//     checksum (4) | length (4) | type (1) | txn_id (8) | payload (length bytes)
//
// little-endian, the checksum being checksum32 over everything after it (length, type, txn_id,
// payload). Record types (PUT, DELETE, BEGIN_TXN, COMMIT_TXN, ABORT_TXN, CHECKPOINT) and their
// payloads are below. Every constant marked "format" is part of the on-disk format: do not
// change it; add a new format version instead.
//
// `decode_wal_record` reads one record from untrusted bytes with every bound checked; it never
// reads outside the buffer, never allocates, and reports what is wrong.
//
// Thread safety: stateless functions.
#pragma once

#include <sochdb/core/checksum.hpp>
#include <sochdb/core/coding.hpp>
#include <sochdb/storage/write_batch.hpp>

#include <cstdint>
#include <string>
#include <string_view>

SOCHDB_BEGIN_NAMESPACE

/// Record types. Format: do not change the values.
enum class wal_record_type : std::uint8_t {
  put = 1,         ///< payload: varint key_len | key | varint expiry_ms | value (to the end)
  del = 2,         ///< payload: key
  begin_txn = 3,   ///< payload: empty
  commit_txn = 4,  ///< payload: fixed64 commit_ts
  abort_txn = 5,   ///< payload: empty
  checkpoint = 6,  ///< payload: fixed64 ts | fixed64 segment | fixed64 entries
};

inline constexpr std::uint32_t wal_magic = 0x4c415753;         ///< "SWAL" (format)
inline constexpr std::uint32_t checkpoint_magic = 0x504b4353;  ///< "SCKP" (format)
inline constexpr std::uint32_t wal_format_version = 1;         ///< (format)
inline constexpr std::size_t wal_file_header_size = 20;        ///< (format)
inline constexpr std::size_t wal_record_header_size = 17;      ///< (format)
/// Largest payload a reader accepts (format): anything longer is damage, not data. Room for the
/// largest key (1 MiB) and value (1 GiB) the database allows, plus their varints.
inline constexpr std::uint32_t wal_max_payload = (1u << 30) + (1u << 20) + 64;

inline const char* wal_record_type_name(std::uint8_t t) noexcept {
  switch (t) {
    case 1:
      return "PUT";
    case 2:
      return "DELETE";
    case 3:
      return "BEGIN_TXN";
    case 4:
      return "COMMIT_TXN";
    case 5:
      return "ABORT_TXN";
    case 6:
      return "CHECKPOINT";
    default:
      return "?";
  }
}

// ---- encoding ----

/// The 20-byte file header.
inline void append_wal_file_header(std::string& dst, std::uint32_t magic, std::uint64_t segment) {
  std::size_t start = dst.size();
  put_fixed32(dst, magic);
  put_fixed32(dst, wal_format_version);
  put_fixed64(dst, segment);
  put_fixed32(dst, checksum32(std::string_view(dst).substr(start, 16)));
}

namespace detail {
// Writes the header with a zero checksum; returns the record's start.
inline std::size_t begin_wal_record(std::string& dst, wal_record_type type, std::uint64_t txn_id,
                                    std::size_t payload_len) {
  std::size_t start = dst.size();
  put_fixed32(dst, 0);
  put_fixed32(dst, static_cast<std::uint32_t>(payload_len));
  dst.push_back(static_cast<char>(type));
  put_fixed64(dst, txn_id);
  return start;
}
inline void finish_wal_record(std::string& dst, std::size_t start) {
  std::uint32_t c = checksum32(std::string_view(dst).substr(start + 4));
  encode_fixed32(dst.data() + start, c);
}
}  // namespace detail

/// Appends a record with an opaque payload.
inline void append_wal_record(std::string& dst, wal_record_type type, std::uint64_t txn_id,
                              std::string_view payload = {}) {
  std::size_t start = detail::begin_wal_record(dst, type, txn_id, payload.size());
  dst.append(payload);
  detail::finish_wal_record(dst, start);
}

/// Appends a PUT record.
inline void append_wal_put(std::string& dst, std::uint64_t txn_id, std::string_view key,
                           std::string_view value, std::uint64_t expiry_ms) {
  std::size_t len =
      varint_length(key.size()) + key.size() + varint_length(expiry_ms) + value.size();
  std::size_t start = detail::begin_wal_record(dst, wal_record_type::put, txn_id, len);
  put_length_prefixed(dst, key);
  put_varint64(dst, expiry_ms);
  dst.append(value);
  detail::finish_wal_record(dst, start);
}

/// Appends a CHECKPOINT record.
inline void append_wal_checkpoint(std::string& dst, std::uint64_t ts, std::uint64_t segment,
                                  std::uint64_t entries) {
  char p[24];
  encode_fixed64(p, ts);
  encode_fixed64(p + 8, segment);
  encode_fixed64(p + 16, entries);
  append_wal_record(dst, wal_record_type::checkpoint, 0, std::string_view(p, 24));
}

/// Appends one transaction: BEGIN_TXN, a PUT or DELETE per operation, COMMIT_TXN(commit_ts).
inline void append_wal_transaction(std::string& dst, std::uint64_t txn_id, std::uint64_t commit_ts,
                                   const write_batch& batch) {
  append_wal_record(dst, wal_record_type::begin_txn, txn_id);
  batch.for_each([&](const batch_op& op) {
    if (op.op == batch_op::type::put) {
      append_wal_put(dst, txn_id, op.key, op.value, op.expiry_ms);
    } else {
      append_wal_record(dst, wal_record_type::del, txn_id, op.key);
    }
  });
  char ts[8];
  encode_fixed64(ts, commit_ts);
  append_wal_record(dst, wal_record_type::commit_txn, txn_id, std::string_view(ts, 8));
}

// ---- decoding ----

/// Outcome of decoding one record.
enum class wal_decode_status {
  ok,
  end,                ///< no bytes left
  truncated,          ///< the buffer ends inside the header or payload
  checksum_mismatch,  ///< stored and computed checksums differ
  bad_length,         ///< length beyond wal_max_payload
  bad_type,           ///< checksum fine, type unknown (a newer format?)
  bad_payload,        ///< checksum fine, payload malformed for its type
};

inline const char* to_string(wal_decode_status s) noexcept {
  switch (s) {
    case wal_decode_status::ok:
      return "ok";
    case wal_decode_status::end:
      return "end of data";
    case wal_decode_status::truncated:
      return "truncated record";
    case wal_decode_status::checksum_mismatch:
      return "checksum mismatch";
    case wal_decode_status::bad_length:
      return "impossible record length";
    case wal_decode_status::bad_type:
      return "unknown record type";
    case wal_decode_status::bad_payload:
      return "malformed record payload";
  }
  return "?";
}

/// One decoded record; views point into the decoded buffer.
struct wal_record {
  wal_record_type type{};
  std::uint64_t txn_id = 0;
  std::string_view payload;
  std::size_t size = 0;  ///< bytes the record occupies (header + payload)
  // Decoded payload fields (by type):
  std::string_view key;         ///< PUT, DELETE
  std::string_view value;       ///< PUT
  std::uint64_t expiry_ms = 0;  ///< PUT
  std::uint64_t ts = 0;         ///< COMMIT_TXN commit_ts; CHECKPOINT ts
  std::uint64_t segment = 0;    ///< CHECKPOINT
  std::uint64_t entries = 0;    ///< CHECKPOINT
};

/// Decodes the record at `buf[pos...]` into `out`.
inline wal_decode_status decode_wal_record(std::string_view buf, std::size_t pos, wal_record& out) {
  if (pos >= buf.size()) return wal_decode_status::end;
  std::size_t avail = buf.size() - pos;
  if (avail < wal_record_header_size) return wal_decode_status::truncated;
  const char* h = buf.data() + pos;
  std::uint32_t stored = decode_fixed32(h);
  std::uint32_t len = decode_fixed32(h + 4);
  if (len > wal_max_payload) return wal_decode_status::bad_length;
  if (avail - wal_record_header_size < len) return wal_decode_status::truncated;
  if (checksum32(std::string_view(h + 4, wal_record_header_size - 4 + len)) != stored) {
    return wal_decode_status::checksum_mismatch;
  }
  auto type = static_cast<std::uint8_t>(h[8]);
  out = wal_record{};
  out.type = static_cast<wal_record_type>(type);
  out.txn_id = decode_fixed64(h + 9);
  out.payload = std::string_view(h + wal_record_header_size, len);
  out.size = wal_record_header_size + len;
  std::string_view p = out.payload;
  switch (out.type) {
    case wal_record_type::put: {
      std::uint64_t klen = 0;
      if (!get_varint64(p, klen) || klen > p.size()) return wal_decode_status::bad_payload;
      out.key = p.substr(0, static_cast<std::size_t>(klen));
      p.remove_prefix(static_cast<std::size_t>(klen));
      if (!get_varint64(p, out.expiry_ms)) return wal_decode_status::bad_payload;
      out.value = p;
      return wal_decode_status::ok;
    }
    case wal_record_type::del:
      out.key = p;
      return wal_decode_status::ok;
    case wal_record_type::begin_txn:
    case wal_record_type::abort_txn:
      return p.empty() ? wal_decode_status::ok : wal_decode_status::bad_payload;
    case wal_record_type::commit_txn:
      if (p.size() != 8) return wal_decode_status::bad_payload;
      out.ts = decode_fixed64(p.data());
      return wal_decode_status::ok;
    case wal_record_type::checkpoint:
      if (p.size() != 24) return wal_decode_status::bad_payload;
      out.ts = decode_fixed64(p.data());
      out.segment = decode_fixed64(p.data() + 8);
      out.entries = decode_fixed64(p.data() + 16);
      return wal_decode_status::ok;
  }
  return wal_decode_status::bad_type;
}

/// Checks a file header; returns nullptr when fine, else what is wrong.
inline const char* check_wal_file_header(std::string_view buf, std::uint32_t magic,
                                         std::uint64_t* segment) {
  if (buf.size() < wal_file_header_size) return "truncated file header";
  if (checksum32(buf.substr(0, 16)) != decode_fixed32(buf.data() + 16)) {
    return "file header checksum mismatch";
  }
  if (decode_fixed32(buf.data()) != magic) return "bad magic number";
  if (decode_fixed32(buf.data() + 4) != wal_format_version) return "unsupported format version";
  if (segment != nullptr) *segment = decode_fixed64(buf.data() + 8);
  return nullptr;
}

/// Result of find_next_valid_record.
struct resync_result {
  std::size_t offset;  ///< the next valid record, or buf.size() when there is none
  bool gave_up;        ///< the work budget ran out before the search could finish
};

/// The offset of the first position after `from` where a record decodes cleanly. Used to tell
/// damage at the tail of a log (nothing valid follows) from damage in its middle. Hostile bytes
/// could make every position look like the start of a long record; the bytes hashed are capped
/// at 64 times the bytes searched plus 1 MiB, and `gave_up` says when the cap was hit (callers
/// then must not conclude "nothing valid follows").
inline resync_result find_next_valid_record(std::string_view buf, std::size_t from) {
  wal_record r;
  std::uint64_t budget =
      64 * static_cast<std::uint64_t>(buf.size() - std::min(from, buf.size())) + (1u << 20);
  for (std::size_t p = from + 1; p + wal_record_header_size <= buf.size(); ++p) {
    std::uint32_t len = decode_fixed32(buf.data() + p + 4);
    if (len > buf.size() - p - wal_record_header_size) continue;
    auto t = static_cast<std::uint8_t>(buf[p + 8]);
    if (t < 1 || t > 6) continue;
    std::uint64_t cost = wal_record_header_size + std::uint64_t{len};
    if (cost > budget) return {buf.size(), true};
    budget -= cost;
    if (decode_wal_record(buf, p, r) == wal_decode_status::ok) return {p, false};
  }
  return {buf.size(), false};
}

SOCHDB_END_NAMESPACE
