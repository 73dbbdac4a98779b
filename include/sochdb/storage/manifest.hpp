// sochdb/storage/manifest.hpp — the LSM manifest: the set of live SSTables as a log of edits.
//
// The manifest file `MANIFEST-NNNNNN` starts with a 20-byte header and then holds version
// edits, one record each; replaying the edits in order yields the live files per level, the
// oldest WAL segment still needed (`log_number`), the newest commit timestamp already in
// SSTables (`flushed_ts`), the next file number, and per-level compaction pointers. `CURRENT`
// names the live manifest. Bytes in docs/formats/manifest.md.
//
// Atomic switch: a new manifest is written whole (a snapshot edit), synced, and then CURRENT is
// replaced by write_file_atomic (temp file, sync, rename, sync of the directory): after a crash
// CURRENT names either the old manifest or the complete new one. Edits appended to the live
// manifest are synced before anything relies on them (before the WAL they cover or the files
// they delete are removed), so a torn last record is an edit nobody acted on; recovery ignores
// it. Damage anywhere else is `corruption` naming the file and offset.
//
// Thread safety: values and free functions; manifest_writer is one thread's at a time (the
// backend serializes edits).
#pragma once

#include <sochdb/core/checksum.hpp>
#include <sochdb/core/coding.hpp>
#include <sochdb/core/fs.hpp>
#include <sochdb/storage/internal_key.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// Format constants (docs/formats/manifest.md). Do not change.
inline constexpr std::uint32_t manifest_magic = 0x4e414d53;  // "SMAN"
inline constexpr std::uint32_t manifest_version = 1;
inline constexpr std::size_t manifest_header_size = 20;
inline constexpr std::uint32_t manifest_max_record = 64u << 20;
inline constexpr int manifest_max_levels = 16;

/// Version-edit field tags. Format constants.
enum class manifest_tag : std::uint8_t {
  log_number = 1,
  next_file = 2,
  flushed_ts = 3,
  deleted_file = 4,
  new_file = 5,
  compact_pointer = 6,
};

/// "MANIFEST-000007"
inline std::string manifest_file_name(std::uint64_t n) {
  char b[40];
  std::snprintf(b, sizeof b, "MANIFEST-%06llu", static_cast<unsigned long long>(n));
  return b;
}

/// What the manifest records about one SSTable.
struct sst_file_entry {
  int level = 0;
  std::uint64_t number = 0;
  std::uint64_t size = 0;     ///< bytes
  std::uint64_t entries = 0;  ///< versions
  std::uint64_t min_ts = 0;
  std::uint64_t max_ts = 0;
  std::string smallest;  ///< first internal key
  std::string largest;   ///< last internal key
  bool operator==(const sst_file_entry&) const = default;
};

/// One change to the set of live files (and the counters that go with it).
struct version_edit {
  std::optional<std::uint64_t> log_number;
  std::optional<std::uint64_t> next_file;
  std::optional<std::uint64_t> flushed_ts;
  std::vector<std::pair<int, std::uint64_t>> deleted;  ///< (level, number)
  std::vector<sst_file_entry> added;
  std::vector<std::pair<int, std::string>> compact_pointers;  ///< (level, internal key)

  void encode_to(std::string& dst) const {
    auto tag = [&](manifest_tag t) { dst.push_back(static_cast<char>(t)); };
    if (log_number) {
      tag(manifest_tag::log_number);
      put_varint64(dst, *log_number);
    }
    if (next_file) {
      tag(manifest_tag::next_file);
      put_varint64(dst, *next_file);
    }
    if (flushed_ts) {
      tag(manifest_tag::flushed_ts);
      put_varint64(dst, *flushed_ts);
    }
    for (auto& [level, number] : deleted) {
      tag(manifest_tag::deleted_file);
      put_varint32(dst, static_cast<std::uint32_t>(level));
      put_varint64(dst, number);
    }
    for (auto& f : added) {
      tag(manifest_tag::new_file);
      put_varint32(dst, static_cast<std::uint32_t>(f.level));
      for (std::uint64_t v : {f.number, f.size, f.entries, f.min_ts, f.max_ts}) {
        put_varint64(dst, v);
      }
      put_length_prefixed(dst, f.smallest);
      put_length_prefixed(dst, f.largest);
    }
    for (auto& [level, key] : compact_pointers) {
      tag(manifest_tag::compact_pointer);
      put_varint32(dst, static_cast<std::uint32_t>(level));
      put_length_prefixed(dst, key);
    }
  }

  /// Decodes a record payload; throws corruption "<label>: ... at offset N".
  static version_edit decode(std::string_view payload, std::string_view label, std::uint64_t base) {
    byte_reader r(payload, label, base);
    version_edit e;
    auto level = [&]() {
      std::uint32_t l = r.varint32();
      if (l >= static_cast<std::uint32_t>(manifest_max_levels)) r.fail("level out of range");
      return static_cast<int>(l);
    };
    while (!r.empty()) {
      auto t = static_cast<manifest_tag>(r.u8());
      switch (t) {
        case manifest_tag::log_number:
          e.log_number = r.varint64();
          break;
        case manifest_tag::next_file:
          e.next_file = r.varint64();
          break;
        case manifest_tag::flushed_ts:
          e.flushed_ts = r.varint64();
          break;
        case manifest_tag::deleted_file: {
          int l = level();
          e.deleted.emplace_back(l, r.varint64());
          break;
        }
        case manifest_tag::new_file: {
          sst_file_entry f;
          f.level = level();
          f.number = r.varint64();
          f.size = r.varint64();
          f.entries = r.varint64();
          f.min_ts = r.varint64();
          f.max_ts = r.varint64();
          f.smallest = r.length_prefixed();
          f.largest = r.length_prefixed();
          if (f.smallest.size() < internal_key_trailer || f.largest.size() < internal_key_trailer ||
              compare_internal_keys(f.smallest, f.largest) > 0) {
            r.fail("file " + std::to_string(f.number) + " has a bad key range");
          }
          e.added.push_back(std::move(f));
          break;
        }
        case manifest_tag::compact_pointer: {
          int l = level();
          e.compact_pointers.emplace_back(l, std::string(r.length_prefixed()));
          break;
        }
        default:
          r.fail("unknown version edit tag " + std::to_string(static_cast<int>(t)));
      }
    }
    return e;
  }
};

/// The state a manifest describes.
struct manifest_state {
  std::uint64_t log_number = 0;  ///< first WAL segment still needed (0: none written yet)
  std::uint64_t next_file = 1;   ///< next file number to hand out
  std::uint64_t flushed_ts = 0;  ///< every commit at or below this is in SSTables
  std::vector<std::map<std::uint64_t, sst_file_entry>> levels =
      std::vector<std::map<std::uint64_t, sst_file_entry>>(manifest_max_levels);
  std::vector<std::string> compact_pointers = std::vector<std::string>(manifest_max_levels);
  std::uint64_t edits = 0;

  /// Applies an edit; throws corruption (with `where`) when it names a file that is not live
  /// or adds one twice.
  void apply(const version_edit& e, const std::string& where) {
    if (e.log_number) log_number = std::max(log_number, *e.log_number);
    if (e.next_file) next_file = std::max(next_file, *e.next_file);
    if (e.flushed_ts) flushed_ts = std::max(flushed_ts, *e.flushed_ts);
    for (auto& [l, n] : e.deleted) {
      if (levels[static_cast<std::size_t>(l)].erase(n) == 0) {
        throw corruption(where + ": deletes file " + std::to_string(n) + " which level " +
                         std::to_string(l) + " does not have");
      }
    }
    for (auto& f : e.added) {
      auto& lv = levels[static_cast<std::size_t>(f.level)];
      if (!lv.emplace(f.number, f).second) {
        throw corruption(where + ": adds file " + std::to_string(f.number) + " twice");
      }
      next_file = std::max(next_file, f.number + 1);
    }
    for (auto& [l, k] : e.compact_pointers) compact_pointers[static_cast<std::size_t>(l)] = k;
    ++edits;
  }

  /// The whole state as one edit (the first record of a new manifest).
  [[nodiscard]] version_edit snapshot() const {
    version_edit e;
    e.log_number = log_number;
    e.next_file = next_file;
    e.flushed_ts = flushed_ts;
    for (auto& lv : levels) {
      for (auto& [n, f] : lv) e.added.push_back(f);
    }
    for (std::size_t l = 0; l < compact_pointers.size(); ++l) {
      if (!compact_pointers[l].empty()) {
        e.compact_pointers.emplace_back(static_cast<int>(l), compact_pointers[l]);
      }
    }
    return e;
  }
};

/// Appends the 20-byte manifest header.
inline void append_manifest_header(std::string& dst, std::uint64_t number) {
  std::size_t start = dst.size();
  put_fixed32(dst, manifest_magic);
  put_fixed32(dst, manifest_version);
  put_fixed64(dst, number);
  put_fixed32(dst, checksum32(std::string_view(dst).substr(start, 16)));
}

/// Appends one record holding `edit`.
inline void append_manifest_record(std::string& dst, const version_edit& edit) {
  std::string payload;
  edit.encode_to(payload);
  std::size_t start = dst.size();
  put_fixed32(dst, 0);  // checksum, filled below
  put_fixed32(dst, static_cast<std::uint32_t>(payload.size()));
  dst.append(payload);
  encode_fixed32(dst.data() + start,
                 checksum32(std::string_view(dst).substr(start + 4, 4 + payload.size())));
}

/// What reading a manifest found.
struct manifest_read_result {
  manifest_state state;
  std::uint64_t records = 0;
  bool torn_tail = false;       ///< the last record was incomplete or damaged and was ignored
  std::uint64_t valid_end = 0;  ///< end of the last good record
};

/// Decodes a whole manifest file (`label` names it in errors). A damaged or incomplete last
/// record is a torn tail and is ignored; any other damage throws corruption with the offset.
inline manifest_read_result decode_manifest(std::string_view buf, const std::string& label,
                                            std::uint64_t expect_number) {
  auto fail = [&](std::uint64_t off, const std::string& what) {
    throw corruption(label + ": " + what + " at offset " + std::to_string(off));
  };
  if (buf.size() < manifest_header_size) fail(buf.size(), "file too short for its header");
  if (decode_fixed32(buf.data()) != manifest_magic) fail(0, "bad manifest magic");
  if (checksum32(buf.substr(0, 16)) != decode_fixed32(buf.data() + 16)) {
    fail(16, "header checksum mismatch");
  }
  std::uint32_t ver = decode_fixed32(buf.data() + 4);
  if (ver != manifest_version) {
    throw unsupported(label + ": manifest format version " + std::to_string(ver) +
                      " is not supported");
  }
  if (decode_fixed64(buf.data() + 8) != expect_number) fail(8, "header names another manifest");
  manifest_read_result res;
  std::size_t pos = manifest_header_size;
  while (pos < buf.size()) {
    std::size_t left = buf.size() - pos;
    if (left < 8) {
      res.torn_tail = true;
      break;
    }
    std::uint32_t len = decode_fixed32(buf.data() + pos + 4);
    if (len > manifest_max_record) fail(pos, "record length out of range");
    if (len > left - 8) {
      res.torn_tail = true;  // ends past the file: an incomplete last write
      break;
    }
    std::string_view body = buf.substr(pos + 4, 4 + len);
    if (checksum32(body) != decode_fixed32(buf.data() + pos)) {
      if (pos + 8 + len == buf.size()) {
        res.torn_tail = true;  // the last record, damaged: never acted upon
        break;
      }
      fail(pos, "record checksum mismatch");
    }
    version_edit e = version_edit::decode(buf.substr(pos + 8, len), label, pos + 8);
    res.state.apply(e, label + " record at offset " + std::to_string(pos));
    ++res.records;
    pos += 8 + len;
    res.valid_end = pos;
  }
  if (res.records == 0) fail(manifest_header_size, "manifest has no complete record");
  return res;
}

/// Parses CURRENT ("MANIFEST-NNNNNN\n"); nullopt when malformed.
inline std::optional<std::uint64_t> parse_current_file(std::string_view s) {
  constexpr std::string_view prefix = "MANIFEST-";
  if (s.size() < prefix.size() + 2 || s.substr(0, prefix.size()) != prefix || s.back() != '\n') {
    return std::nullopt;
  }
  std::string_view digits = s.substr(prefix.size(), s.size() - prefix.size() - 1);
  if (digits.empty() || digits.size() > 18) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

/// Appends edits to the live manifest, syncing each.
template <file_system Fs>
class manifest_writer {
 public:
  manifest_writer() = default;
  manifest_writer(Fs fs, std::string dir) : fs_(std::move(fs)), dir_(std::move(dir)) {}

  /// Writes MANIFEST-<number> holding `state` as one snapshot edit, syncs it, and switches
  /// CURRENT to it atomically (then the directory is synced). Afterwards edits go there.
  void create(std::uint64_t number, const manifest_state& state) {
    std::string name = manifest_file_name(number);
    std::string path = path_join(dir_, name);
    auto f = fs_.open(path, open_mode::write | open_mode::create | open_mode::truncate);
    std::string buf;
    append_manifest_header(buf, number);
    append_manifest_record(buf, state.snapshot());
    f.append(buf);
    f.sync();
    write_file_atomic(fs_, path_join(dir_, "CURRENT"), name + "\n");
    file_ = std::move(f);
    number_ = number;
    size_ = buf.size();
  }

  /// Appends one edit and syncs it: on return it is durable.
  void append(const version_edit& e) {
    std::string buf;
    append_manifest_record(buf, e);
    file_.append(buf);
    file_.sync();
    size_ += buf.size();
  }

  void close() { file_.close(); }

  [[nodiscard]] std::uint64_t number() const noexcept { return number_; }
  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

 private:
  Fs fs_;
  std::string dir_;
  typename Fs::file file_{};
  std::uint64_t number_ = 0;
  std::uint64_t size_ = 0;
};

SOCHDB_END_NAMESPACE
