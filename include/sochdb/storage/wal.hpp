// sochdb/storage/wal.hpp — WAL segment files: naming, the appender, and verification.
//
// A database directory holds WAL segments `NNNNNN.log` (numbered from 1, consecutive) and at
// most one live checkpoint file `NNNNNN.ckpt` (the state as of a timestamp, written when
// segment NNNNNN was started; segments below NNNNNN are then obsolete). The bytes are in
// docs/formats/wal.md and wal_format.hpp.
//
// `wal_writer` appends whole groups to the current segment and rolls to a new one when a group
// would cross the size limit: it syncs the old segment first and the directory after creating
// the new one, so after a crash the surviving log is always a prefix of what was appended, in
// every sync mode.
//
// `replay_wal` feeds the committed transactions of the log to a callback (recovery of any
// backend with a WAL). `verify_wal_directory` reads every segment and checkpoint file, checks
// every checksum, and reports the first damaged byte (file and offset).
//
// Thread safety: a wal_writer is used by one thread at a time (the backend's write lock);
// verification only reads and may run anywhere.
#pragma once

#include <sochdb/core/fs.hpp>
#include <sochdb/storage/concepts.hpp>
#include <sochdb/storage/wal_format.hpp>

#include <algorithm>
#include <map>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// "000007.log"
inline std::string wal_segment_name(std::uint64_t n) {
  char b[32];
  std::snprintf(b, sizeof b, "%06llu.log", static_cast<unsigned long long>(n));
  return b;
}
/// "000007.ckpt"
inline std::string checkpoint_file_name(std::uint64_t n) {
  char b[32];
  std::snprintf(b, sizeof b, "%06llu.ckpt", static_cast<unsigned long long>(n));
  return b;
}

/// Parses "NNNNNN<suffix>" (at least one digit); nullopt for anything else.
inline std::optional<std::uint64_t> parse_numbered_name(std::string_view name,
                                                        std::string_view suffix) {
  if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) {
    return std::nullopt;
  }
  std::string_view digits = name.substr(0, name.size() - suffix.size());
  if (digits.size() > 18) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

/// The numbered files of a database directory.
struct wal_directory {
  std::vector<std::uint64_t> segments;     ///< ascending
  std::vector<std::uint64_t> checkpoints;  ///< ascending
  std::vector<std::string> temporaries;    ///< *.tmp leftovers of interrupted checkpoints
};

template <file_system Fs>
wal_directory list_wal_directory(Fs& fs, const std::string& dir) {
  wal_directory d;
  for (auto& name : fs.list(dir)) {
    if (auto n = parse_numbered_name(name, ".log")) {
      d.segments.push_back(*n);
    } else if (auto c = parse_numbered_name(name, ".ckpt")) {
      d.checkpoints.push_back(*c);
    } else if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") {
      d.temporaries.push_back(name);
    }
  }
  std::sort(d.segments.begin(), d.segments.end());
  std::sort(d.checkpoints.begin(), d.checkpoints.end());
  return d;
}

/// Reads a whole file through the policy.
template <file_system Fs>
std::string read_whole_file(Fs& fs, const std::string& path) {
  return read_file(fs, path);
}

/// Appends to the current WAL segment, rolling at the size limit.
template <file_system Fs>
class wal_writer {
 public:
  wal_writer(Fs fs, std::string dir, std::uint64_t segment_size)
      : fs_(std::move(fs)), dir_(std::move(dir)), segment_size_(segment_size) {}

  /// Continues segment `n` whose valid contents end at `size`.
  void open_existing(std::uint64_t n, std::uint64_t size) {
    file_ = fs_.open(path_join(dir_, wal_segment_name(n)), open_mode::write);
    segment_ = n;
    size_ = size;
    dirty_ = false;
  }

  /// Creates segment `n` with its header; syncs it and the directory.
  void create(std::uint64_t n) {
    std::string path = path_join(dir_, wal_segment_name(n));
    auto f = fs_.open(path, open_mode::write | open_mode::create | open_mode::truncate);
    std::string h;
    append_wal_file_header(h, wal_magic, n);
    f.append(h);
    f.sync();
    ++syncs_;
    fs_.sync_dir(dir_);
    file_ = std::move(f);
    segment_ = n;
    size_ = h.size();
    dirty_ = false;
  }

  /// Appends `data` (whole records) in one write, rolling first if it would cross the limit.
  void append(std::string_view data) {
    if (size_ + data.size() > segment_size_ && size_ > wal_file_header_size) roll();
    file_.append(data);
    size_ += data.size();
    dirty_ = true;
  }

  /// Syncs the current segment if it has unsynced bytes.
  void sync() {
    if (!dirty_) return;
    file_.sync();
    ++syncs_;
    dirty_ = false;
  }

  /// Syncs and closes the current segment, starts the next; returns its number.
  std::uint64_t roll() {
    sync();
    file_.close();
    create(segment_ + 1);
    return segment_;
  }

  void close() {
    sync();
    file_.close();
  }

  [[nodiscard]] std::uint64_t segment() const noexcept { return segment_; }
  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
  [[nodiscard]] bool dirty() const noexcept { return dirty_; }
  [[nodiscard]] std::uint64_t syncs() const noexcept { return syncs_; }

 private:
  Fs fs_;
  std::string dir_;
  std::uint64_t segment_size_;
  typename Fs::file file_{};
  std::uint64_t segment_ = 0;
  std::uint64_t size_ = 0;
  bool dirty_ = false;
  std::uint64_t syncs_ = 0;
};

/// How replay_wal treats the log.
struct wal_replay_options {
  bool skip_corrupt_records = false;  ///< skip damage mid-log instead of throwing
  std::uint64_t first_segment = 1;    ///< the number the log must start at
  std::uint64_t after_ts = 0;         ///< commits at or below this are already elsewhere
};

/// Where replay_wal stopped.
struct wal_replay_result {
  /// End of the valid records of the last segment (after any tail truncation); 0 when its
  /// header was torn (the caller recreates it) or there were no segments.
  std::uint64_t last_segment_end = 0;
};

/// Replays the WAL segments `segments` (ascending, consecutive from first_segment) of `dir`:
/// calls on_commit(const write_batch&, commit_ts) for every committed transaction in log order
/// with commit_ts > after_ts, ignoring uncommitted and aborted ones. A damaged record at the
/// tail of the last segment (nothing valid after it) is truncated away (the file is truncated
/// and synced); damage anywhere else throws `corruption` naming the segment and offset, unless
/// skip_corrupt_records. Counts go to `stats` (records, segments, transactions, discarded,
/// truncated bytes, skipped regions). Used by every backend that keeps a WAL.
template <file_system Fs, class OnCommit>
wal_replay_result replay_wal(Fs& fs, const std::string& dir,
                             const std::vector<std::uint64_t>& segments,
                             const wal_replay_options& opt, recovery_stats& stats,
                             OnCommit&& on_commit) {
  auto damaged = [](const std::string& file, std::uint64_t off, const std::string& what) {
    throw corruption(file + ": " + what + " at offset " + std::to_string(off));
  };
  if (!segments.empty() && segments.front() != opt.first_segment) {
    throw corruption("wal segment " + wal_segment_name(opt.first_segment) +
                     " is missing (the log must start there)");
  }
  for (std::size_t i = 1; i < segments.size(); ++i) {
    if (segments[i] != segments[i - 1] + 1) {
      throw corruption("wal segment " + wal_segment_name(segments[i - 1] + 1) +
                       " is missing (the log has a gap)");
    }
  }
  struct pending {
    write_batch batch;
    bool damaged = false;
  };
  std::map<std::uint64_t, pending> open;
  std::uint64_t last_ts = opt.after_ts;
  wal_replay_result res;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    std::uint64_t n = segments[i];
    bool last = i + 1 == segments.size();
    std::string name = "wal segment " + wal_segment_name(n);
    std::string path = path_join(dir, wal_segment_name(n));
    std::string buf = read_file(fs, path);
    ++stats.segments;
    std::uint64_t segno = n;
    if (const char* e = check_wal_file_header(buf, wal_magic, &segno)) {
      auto rs = find_next_valid_record(buf, wal_file_header_size - 1);
      if (last && rs.offset == buf.size() && !rs.gave_up) {
        stats.truncated_bytes += buf.size();
        ++stats.tail_truncations;
        res.last_segment_end = 0;
        break;
      }
      if (!opt.skip_corrupt_records || buf.size() < wal_file_header_size) damaged(name, 0, e);
      ++stats.skipped_corrupt;  // the records after a damaged header may still be good
      segno = n;
    }
    if (segno != n) damaged(name, 8, "header names segment " + std::to_string(segno));
    std::size_t pos = wal_file_header_size;
    wal_record r;
    while (pos < buf.size()) {
      auto st = decode_wal_record(buf, pos, r);
      if (st != wal_decode_status::ok) {
        auto rs = find_next_valid_record(buf, pos);
        std::size_t next = rs.offset;
        if (last && next == buf.size() && !rs.gave_up) {
          // Damage with nothing valid after it at the end of the log: a torn tail.
          stats.truncated_bytes += buf.size() - pos;
          ++stats.tail_truncations;
          auto f = fs.open(path, open_mode::write);
          f.truncate(pos);
          f.sync();
          f.close();
          buf.resize(pos);
          break;
        }
        if (!opt.skip_corrupt_records) damaged(name, pos, to_string(st));
        ++stats.skipped_corrupt;
        for (auto& [id, t] : open) t.damaged = true;
        pos = next;
        continue;
      }
      ++stats.records;
      switch (r.type) {
        case wal_record_type::begin_txn: {
          auto [it, fresh] = open.try_emplace(r.txn_id);
          if (!fresh) {  // a restarted id: the earlier attempt never committed
            ++stats.discarded_transactions;
            it->second = pending{};
          }
          break;
        }
        case wal_record_type::put:
        case wal_record_type::del: {
          auto it = open.find(r.txn_id);
          if (it == open.end()) break;  // its BEGIN was lost to skipped damage
          if (r.type == wal_record_type::put) {
            it->second.batch.put(r.key, r.value, r.expiry_ms);
          } else {
            it->second.batch.del(r.key);
          }
          break;
        }
        case wal_record_type::commit_txn: {
          auto it = open.find(r.txn_id);
          if (it == open.end() || it->second.damaged) {
            ++stats.discarded_transactions;
            if (it != open.end()) open.erase(it);
            break;
          }
          if (r.ts > opt.after_ts) {
            if (r.ts <= last_ts) {
              damaged(name, pos,
                      "commit timestamp " + std::to_string(r.ts) +
                          " is not after the previous one (" + std::to_string(last_ts) + ")");
            }
            on_commit(static_cast<const write_batch&>(it->second.batch), r.ts);
            last_ts = r.ts;
            ++stats.transactions;
          }
          open.erase(it);
          break;
        }
        case wal_record_type::abort_txn:
          if (open.erase(r.txn_id) != 0) ++stats.discarded_transactions;
          break;
        case wal_record_type::checkpoint:
          break;  // informational: the checkpoint file is authoritative
      }
      pos += r.size;
    }
    res.last_segment_end = buf.size();
  }
  stats.discarded_transactions += open.size();
  return res;
}

/// What `verify_wal_directory` found.
struct wal_check_report {
  std::uint64_t files = 0;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  std::uint64_t transactions = 0;  ///< COMMIT_TXN records
  bool ok = true;
  std::string file;          ///< first damaged file (name within the directory)
  std::uint64_t offset = 0;  ///< first damaged byte in it
  std::string problem;       ///< e.g. "checksum mismatch"
  /// "wal segment 000003.log: checksum mismatch at offset 1234", or "" when ok.
  [[nodiscard]] std::string message() const {
    if (ok) return {};
    return file + ": " + problem + " at offset " + std::to_string(offset);
  }
};

namespace detail {
// Checks one file: header, then records to the end. Returns false at the first damage.
inline bool verify_log_bytes(std::string_view buf, std::uint32_t magic, const std::string& label,
                             wal_check_report& rep) {
  rep.bytes += buf.size();
  ++rep.files;
  auto fail = [&](std::uint64_t off, std::string what) {
    rep.ok = false;
    rep.file = label;
    rep.offset = off;
    rep.problem = std::move(what);
    return false;
  };
  if (const char* e = check_wal_file_header(buf, magic, nullptr)) {
    // Point at the first header byte that cannot be right.
    std::uint64_t off = 0;
    if (buf.size() < wal_file_header_size)
      off = buf.size();
    else if (std::string_view(e).find("checksum") != std::string_view::npos)
      off = 16;
    else if (std::string_view(e).find("version") != std::string_view::npos)
      off = 4;
    return fail(off, e);
  }
  std::size_t pos = wal_file_header_size;
  wal_record r;
  bool saw_checkpoint_end = false;
  while (pos < buf.size()) {
    auto st = decode_wal_record(buf, pos, r);
    if (st != wal_decode_status::ok) {
      std::string what = to_string(st);
      if (st == wal_decode_status::truncated) what += " (torn tail: recovery truncates it)";
      return fail(pos, what);
    }
    ++rep.records;
    if (r.type == wal_record_type::commit_txn) ++rep.transactions;
    if (magic == checkpoint_magic && r.type == wal_record_type::checkpoint)
      saw_checkpoint_end = true;
    pos += r.size;
  }
  if (magic == checkpoint_magic && !saw_checkpoint_end) {
    return fail(buf.size(), "checkpoint file ends without its CHECKPOINT record");
  }
  return true;
}
}  // namespace detail

/// Verifies every checksum of every WAL segment and checkpoint file in `dir`; stops at the
/// first damage. Reads only.
template <file_system Fs>
wal_check_report verify_wal_directory(Fs& fs, const std::string& dir) {
  wal_check_report rep;
  auto d = list_wal_directory(fs, dir);
  for (auto n : d.checkpoints) {
    std::string name = checkpoint_file_name(n);
    if (!detail::verify_log_bytes(read_file(fs, path_join(dir, name)), checkpoint_magic,
                                  "checkpoint " + name, rep)) {
      return rep;
    }
  }
  for (std::size_t i = 0; i < d.segments.size(); ++i) {
    std::string name = wal_segment_name(d.segments[i]);
    if (i > 0 && d.segments[i] != d.segments[i - 1] + 1) {
      rep.ok = false;
      rep.file = "wal segment " + wal_segment_name(d.segments[i - 1] + 1);
      rep.problem = "missing segment (the log has a gap)";
      return rep;
    }
    if (!detail::verify_log_bytes(read_file(fs, path_join(dir, name)), wal_magic,
                                  "wal segment " + name, rep)) {
      return rep;
    }
  }
  return rep;
}

SOCHDB_END_NAMESPACE
