// sochdb/storage/concepts.hpp — the storage_backend concept and the types it speaks.
//
// A storage backend keeps versions of keys and makes committed batches durable. It knows
// nothing of transactions, isolation or clocks: the layer above (the database's commit pipeline,
// mvcc/ later) chooses commit timestamps, decides what a reader's snapshot is, and hands the
// backend whole committed groups. Models: `memory_storage` (memtable only), `wal_storage<Fs>`
// (WAL + memtable + checkpoint files), and `lsm_storage<Fs, Compression>` (WAL + memtables +
// SSTables in levels: the durable default).
//
// The requirements, written out on the reference model `memory_storage` (memory_storage.hpp)
// and checked for every model by tests/storage/storage_contract_test.cpp:
//
//   S::open(fs, dir, options) -> std::unique_ptr<S>
//       Opens (creating when allowed) and recovers. Afterwards `last_commit_ts()` is the newest
//       commit timestamp recovered and `stats().recovery` says what recovery did.
//   s.apply(std::span<const commit_entry> group)
//       Makes each entry's batch visible at its commit_ts, atomically per entry: a read at any
//       ts sees all of an entry or none of it. Entries come in strictly increasing commit_ts,
//       all greater than last_commit_ts(). On return the group is durable as the sync mode
//       promises (docs/kv.md). Callers serialize apply() (one commit leader at a time). An
//       io_error leaves the backend failed: later applies throw, reads keep working.
//   s.get(key, ts, now_ms, out) -> bool
//       The newest version of `key` with commit_ts <= ts; true and the value in `out` when it
//       is a live value (not a deletion, not expired at now_ms; now_ms 0 ignores expiry).
//   s.newest_ts(key) -> uint64_t
//       Commit ts of the newest version of `key` (deletions included), 0 when none is kept.
//       Exact for every version newer than the snapshot horizon (below), which is what
//       first-committer-wins validation needs.
//   s.scan(scan_spec) -> S::cursor
//       Streams user keys in [lower, upper) as of spec.ts, in either order (snapshot_cursor.hpp
//       semantics: newest version <= ts, deletions and expired values skipped). The cursor owns
//       what it reads: it stays valid while writes, checkpoints and GC go on.
//   s.set_snapshot_horizon(std::function<uint64_t()> f)
//       f() returns a timestamp H such that nobody will read at a ts < H any more: every live
//       snapshot, and every read that has chosen its ts, is >= H. The backend may then drop a
//       version once a newer version <= H exists (and deletions and expired values <= H that
//       nothing older needs). Called from the backend's own threads, under its write lock; f
//       must not call back into the backend. Without a horizon, no version is dropped.
//   s.flush()         everything applied so far is durable (syncs the WAL; no-op in memory).
//   s.checkpoint()    flush, garbage-collect versions below the horizon, and make the WAL
//                     written so far deletable (wal_storage: a checkpoint file; LSM: flush
//                     the memtable to L0).
//   s.stats() -> storage_stats, s.last_commit_ts(), s.close() (idempotent; the destructor
//   closes without throwing).
//
// Thread safety (all models): get, newest_ts, scan, stats and cursors run concurrently with
// each other and with one apply / checkpoint at a time.
#pragma once

#include <sochdb/core/error.hpp>
#include <sochdb/storage/lsm_options.hpp>
#include <sochdb/storage/snapshot_cursor.hpp>
#include <sochdb/storage/write_batch.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

SOCHDB_BEGIN_NAMESPACE

/// When a commit's WAL bytes reach stable storage (docs/kv.md "Durability").
enum class sync_mode {
  full,    ///< before the commit returns (default)
  normal,  ///< every sync_interval and at checkpoints and close: a power loss loses at most
           ///< the last one to two intervals' commits, always a suffix
  off,     ///< never explicitly (at segment rolls, checkpoints and close only)
};

inline const char* to_string(sync_mode m) noexcept {
  return m == sync_mode::full ? "full" : m == sync_mode::normal ? "normal" : "off";
}

/// Options every backend understands (fields a backend has no use for are ignored).
struct storage_options {
  sync_mode sync = sync_mode::full;              ///< default full
  std::chrono::milliseconds sync_interval{100};  ///< normal mode; default 100 ms
  std::uint64_t wal_segment_size = 64ull << 20;  ///< bytes; default 64 MiB
  std::uint64_t memtable_size = 64ull << 20;     ///< bytes; a checkpoint (with version GC) runs
                                                 ///< when the memtable's entries exceed
                                                 ///< max(this, 2 x their size after the last
                                                 ///< one); default 64 MiB
  bool auto_checkpoint = true;                   ///< checkpoint in the background
  bool skip_corrupt_records = false;             ///< recover past damage mid-log
  bool create_if_missing = true;
  bool error_if_exists = false;
  lsm_options lsm;  ///< the LSM backend's tree, cache and compression (others ignore it)

  void validate() const {
    if (wal_segment_size < 4096) throw invalid_argument("wal_segment_size must be >= 4096");
    if (memtable_size < 4096) throw invalid_argument("memtable_size must be >= 4096");
    if (sync_interval.count() <= 0) throw invalid_argument("sync_interval must be positive");
    lsm.validate();
  }
};

/// What recovery found when the backend was opened.
struct recovery_stats {
  std::uint64_t checkpoint_entries = 0;      ///< keys loaded from a checkpoint file
  std::uint64_t segments = 0;                ///< WAL segments replayed
  std::uint64_t records = 0;                 ///< valid WAL records read
  std::uint64_t transactions = 0;            ///< committed transactions replayed
  std::uint64_t discarded_transactions = 0;  ///< begun but never committed, or aborted
  std::uint64_t truncated_bytes = 0;         ///< torn or damaged tail removed
  std::uint64_t tail_truncations = 0;        ///< times a tail was truncated
  std::uint64_t skipped_corrupt = 0;         ///< damaged regions skipped (skip_corrupt_records)
  std::uint64_t last_commit_ts = 0;
  double seconds = 0;
};

/// Counters and sizes of a backend.
struct storage_stats {
  std::uint64_t memtable_entries = 0;  ///< versions held, deletions included
  std::uint64_t memtable_bytes = 0;    ///< memory the memtable holds
  std::uint64_t data_bytes = 0;        ///< key and value bytes in the memtable
  std::uint64_t wal_bytes = 0;         ///< bytes in live WAL segments
  std::uint64_t wal_segments = 0;
  std::uint64_t checkpoint_bytes = 0;  ///< size of the live checkpoint file
  std::uint64_t commits = 0;           ///< transactions applied since open
  std::uint64_t commit_groups = 0;     ///< apply() calls since open
  std::uint64_t wal_syncs = 0;         ///< WAL file syncs since open
  std::uint64_t checkpoints = 0;       ///< checkpoints since open
  std::uint64_t gc_dropped_versions = 0;
  std::uint64_t last_commit_ts = 0;
  recovery_stats recovery;
  lsm_stats lsm;  ///< levels, compactions, cache, bloom, stalls (lsm_storage only)
};

/// One committed transaction handed to apply().
struct commit_entry {
  const write_batch* batch = nullptr;
  std::uint64_t txn_id = 0;
  std::uint64_t commit_ts = 0;
};

/// A streaming cursor over user keys at a snapshot.
template <class C>
concept storage_cursor = std::movable<C> && requires(C& c, const C& cc) {
  { cc.valid() } -> std::same_as<bool>;
  { cc.key() } -> std::convertible_to<std::string_view>;
  { cc.value() } -> std::convertible_to<std::string_view>;
  c.next();
};

template <class S>
concept storage_backend = requires(S& s, const S& cs, typename S::fs_type fs,
                                   const std::string& dir, const storage_options& opt,
                                   std::string_view key, std::uint64_t ts, std::string& out,
                                   const scan_spec& spec, std::span<const commit_entry> group,
                                   std::function<std::uint64_t()> horizon) {
  typename S::fs_type;
  typename S::cursor;
  requires storage_cursor<typename S::cursor>;
  { S::open(fs, dir, opt) } -> std::same_as<std::unique_ptr<S>>;
  s.apply(group);
  { cs.get(key, ts, ts, out) } -> std::same_as<bool>;
  { cs.newest_ts(key) } -> std::same_as<std::uint64_t>;
  { cs.scan(spec) } -> std::same_as<typename S::cursor>;
  s.set_snapshot_horizon(horizon);
  s.flush();
  s.checkpoint();
  { cs.stats() } -> std::same_as<storage_stats>;
  { cs.last_commit_ts() } -> std::same_as<std::uint64_t>;
  s.close();
};

SOCHDB_END_NAMESPACE
