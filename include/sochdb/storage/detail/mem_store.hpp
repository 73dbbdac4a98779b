// sochdb/storage/detail/mem_store.hpp — the current memtable of a backend, swappable for GC.
//
// Holds the live memtable behind a shared_ptr guarded by a small mutex. Readers take a reference
// (a cursor keeps it), so a garbage-collecting rebuild can swap in a fresh table while old readers
// finish on the old one: both hold every version any reader at a ts >= the horizon can see (see
// concepts.hpp).
//
// Thread safety: insert_batch, rebuild and swap are for the backend's single writer (under its
// write lock); get, newest_ts and scan from any thread.
#pragma once

#include <sochdb/storage/concepts.hpp>
#include <sochdb/storage/memtable.hpp>
#include <sochdb/storage/snapshot_cursor.hpp>

#include <memory>
#include <mutex>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace detail {

/// A memtable iterator that keeps its memtable alive.
class pinned_iterator {
 public:
  explicit pinned_iterator(std::shared_ptr<const memtable> t)
      : t_(std::move(t)), it_(t_->begin_iteration()) {}
  [[nodiscard]] bool valid() const noexcept { return it_.valid(); }
  [[nodiscard]] std::string_view key() const noexcept { return it_.key(); }
  [[nodiscard]] std::string_view value() const noexcept { return it_.value(); }
  void next() noexcept { it_.next(); }
  void prev() noexcept { it_.prev(); }
  void seek(std::string_view t) noexcept { it_.seek(t); }
  void seek_before(std::string_view t) noexcept { it_.seek_before(t); }
  void seek_to_first() noexcept { it_.seek_to_first(); }
  void seek_to_last() noexcept { it_.seek_to_last(); }

 private:
  std::shared_ptr<const memtable> t_;
  memtable::iterator it_;
};

using memtable_cursor = snapshot_cursor<pinned_iterator>;

class mem_store {
 public:
  mem_store() : mem_(std::make_shared<memtable>()) {}

  [[nodiscard]] std::shared_ptr<memtable> current() const {
    std::lock_guard lk(mu_);
    return mem_;
  }
  void swap(std::shared_ptr<memtable> t) {
    std::lock_guard lk(mu_);
    mem_.swap(t);
  }  // the old table is released outside the lock

  /// Inserts one committed batch at `ts`. When a batch names a key twice the later operation
  /// wins: operations go in backwards and the memtable ignores an internal key it already has.
  void insert_batch(memtable& t, const write_batch& b, std::uint64_t ts) {
    if (b.count() == 1) {
      b.for_each([&](const batch_op& op) { insert_op(t, op, ts); });
      return;
    }
    ops_.clear();
    b.for_each([&](const batch_op& op) { ops_.push_back(op); });
    for (auto it = ops_.rbegin(); it != ops_.rend(); ++it) insert_op(t, *it, ts);
  }

  bool get(std::string_view key, std::uint64_t ts, std::uint64_t now_ms, std::string& out) const {
    auto t = current();
    auto it = t->begin_iteration();
    std::string_view v;
    if (lookup_version(it, key, ts, now_ms, v) != lookup_state::found) return false;
    out.assign(v);
    return true;
  }

  [[nodiscard]] std::uint64_t newest_ts(std::string_view key) const {
    auto t = current();
    auto it = t->begin_iteration();
    it.seek(lookup_key(key, max_timestamp));
    if (!it.valid() || user_key_of(it.key()) != key) return 0;
    return timestamp_of(it.key());
  }

  [[nodiscard]] memtable_cursor scan(const scan_spec& spec) const {
    return memtable_cursor(pinned_iterator(current()), spec);
  }

  /// A new memtable with the versions a reader at ts >= horizon can see: every version newer
  /// than the horizon, plus for each key its newest version <= horizon when that is a live
  /// value. `dropped` counts what was left out.
  static std::shared_ptr<memtable> rebuild(const memtable& old, std::uint64_t horizon,
                                           std::uint64_t now_ms, std::uint64_t& dropped) {
    auto fresh = std::make_shared<memtable>();
    auto it = old.begin_iteration();
    std::string cur;  // user key of the group being copied
    bool in_group = false;
    bool decided = false;
    for (it.seek_to_first(); it.valid(); it.next()) {
      std::string_view k = it.key();
      std::string_view uk = user_key_of(k);
      if (!in_group || uk != cur) {
        cur.assign(uk);
        in_group = true;
        decided = false;
      }
      std::uint64_t ts = timestamp_of(k);
      if (ts > horizon) {
        fresh->append_sorted(k, it.value());
        continue;
      }
      if (!decided) {
        decided = true;
        value_kind kind = kind_of(k);
        bool live = kind != value_kind::deletion &&
                    (now_ms == 0 || !decode_stored_value(kind, it.value()).expired(now_ms));
        if (live) {
          fresh->append_sorted(k, it.value());
          continue;
        }
      }
      ++dropped;
    }
    return fresh;
  }

 private:
  void insert_op(memtable& t, const batch_op& op, std::uint64_t ts) {
    key_buf_.clear();
    value_buf_.clear();
    value_kind kind = op.op == batch_op::type::del ? value_kind::deletion
                      : op.expiry_ms != 0          ? value_kind::value_with_expiry
                                                   : value_kind::value;
    append_internal_key(key_buf_, op.key, ts, kind);
    std::string_view stored = op.value;
    if (kind == value_kind::value_with_expiry) {
      append_stored_value(value_buf_, op.value, op.expiry_ms);
      stored = value_buf_;
    }
    t.insert(key_buf_, stored);
  }

  // A mutex rather than std::atomic<std::shared_ptr>: libstdc++ 12's load releases its lock bit
  // with a relaxed store, so a following store does not synchronize with the load's read of the
  // pointer (ThreadSanitizer reports it). The critical section is one reference-count increment.
  mutable std::mutex mu_;
  std::shared_ptr<memtable> mem_;
  // Writer scratch (the writer is serialized).
  std::vector<batch_op> ops_;
  std::string key_buf_;
  std::string value_buf_;
};

}  // namespace detail
SOCHDB_END_NAMESPACE
