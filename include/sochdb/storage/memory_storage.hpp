// sochdb/storage/memory_storage.hpp — the reference storage backend: versions in a memtable.
//
// Nothing is written anywhere: the data lives as long as the object. It is the reference model
// of the storage_backend concept (concepts.hpp), so each requirement is restated here where it
// is implemented; tests/storage/storage_contract_test.cpp holds every model to them.
//
// Thread safety: get, newest_ts, scan, stats and cursors from any thread, concurrently with one
// apply() or checkpoint() at a time (the caller serializes those; a mutex guards them anyway).
#pragma once

#include <sochdb/core/clock.hpp>
#include <sochdb/core/memory_fs.hpp>
#include <sochdb/storage/concepts.hpp>
#include <sochdb/storage/detail/mem_store.hpp>

#include <mutex>

SOCHDB_BEGIN_NAMESPACE

class memory_storage {
 public:
  /// No files: any file-system type would do; memory_fs keeps the signature uniform.
  using fs_type = memory_fs;
  using cursor = detail::memtable_cursor;

  /// Requirement: open + recover. Nothing to recover here; `dir` and `fs` are unused.
  static std::unique_ptr<memory_storage> open(fs_type, const std::string&,
                                              const storage_options& opt) {
    opt.validate();
    return std::unique_ptr<memory_storage>(new memory_storage());
  }

  /// Requirement: each entry visible atomically at its commit_ts. Versions of one batch go into
  /// the memtable before the layer above publishes the timestamp, so no reader at a snapshot
  /// including it can observe a part.
  void apply(std::span<const commit_entry> group) {
    std::lock_guard lk(write_mu_);
    auto t = mem_.current();
    for (const auto& e : group) {
      if (e.commit_ts <= last_ts_) {
        throw invalid_argument("apply: commit_ts " + std::to_string(e.commit_ts) +
                               " is not after " + std::to_string(last_ts_));
      }
      mem_.insert_batch(*t, *e.batch, e.commit_ts);
      last_ts_ = e.commit_ts;
      ++commits_;
    }
    ++groups_;
    last_published_.store(last_ts_, std::memory_order_release);
  }

  /// Requirement: newest version <= ts; true and its value for a live value.
  bool get(std::string_view key, std::uint64_t ts, std::uint64_t now_ms, std::string& out) const {
    return mem_.get(key, ts, now_ms, out);
  }

  /// Requirement: commit ts of the newest version kept (0 if none).
  [[nodiscard]] std::uint64_t newest_ts(std::string_view key) const { return mem_.newest_ts(key); }

  /// Requirement: a streaming cursor that owns what it reads.
  [[nodiscard]] cursor scan(const scan_spec& spec) const { return mem_.scan(spec); }

  /// Requirement: the oldest timestamp anyone may still read at, asked for at GC time.
  void set_snapshot_horizon(std::function<std::uint64_t()> f) {
    std::lock_guard lk(write_mu_);
    horizon_ = std::move(f);
  }

  /// Requirement: make applied data durable. Nothing is durable here; a no-op.
  void flush() {}

  /// Requirement: GC below the horizon (there is no WAL to truncate).
  void checkpoint() {
    std::lock_guard lk(write_mu_);
    std::uint64_t h = horizon_ ? std::min(horizon_(), last_ts_) : 0;
    std::uint64_t dropped = 0;
    auto fresh = detail::mem_store::rebuild(*mem_.current(), h, wall_ms(), dropped);
    mem_.swap(std::move(fresh));
    gc_dropped_ += dropped;
    ++checkpoints_;
  }

  [[nodiscard]] storage_stats stats() const {
    std::lock_guard lk(write_mu_);
    storage_stats s;
    auto t = mem_.current();
    s.memtable_entries = t->entries();
    s.memtable_bytes = t->memory_usage();
    s.data_bytes = t->data_bytes();
    s.commits = commits_;
    s.commit_groups = groups_;
    s.checkpoints = checkpoints_;
    s.gc_dropped_versions = gc_dropped_;
    s.last_commit_ts = last_ts_;
    return s;
  }

  [[nodiscard]] std::uint64_t last_commit_ts() const noexcept {
    return last_published_.load(std::memory_order_acquire);
  }

  void close() {}

 private:
  memory_storage() = default;
  static std::uint64_t wall_ms() { return system_ms_source{}(); }

  mutable std::mutex write_mu_;
  detail::mem_store mem_;
  std::function<std::uint64_t()> horizon_;
  std::uint64_t last_ts_ = 0;
  std::atomic<std::uint64_t> last_published_{0};
  std::uint64_t commits_ = 0, groups_ = 0, checkpoints_ = 0, gc_dropped_ = 0;
};

static_assert(storage_backend<memory_storage>);

SOCHDB_END_NAMESPACE
