// sochdb/db/snapshot_tracker.hpp — which snapshot timestamps readers still use.
//
// Every read (a point get, a scan for its whole life, later a transaction or an explicit
// snapshot) acquires its timestamp here and releases it when done. `horizon()` is what the
// storage's version GC asks (storage_backend::set_snapshot_horizon): the oldest timestamp in
// use, or the published timestamp when none is; `points()` lists every timestamp in use, for
// backends that drop versions between snapshots too (lsm_storage::set_snapshot_points). Acquire
// picks the published timestamp under the tracker's mutex, so a horizon computed before it can
// never exceed it (published only grows).
//
// Thread safety: every member from any thread. Costs one uncontended mutex pair per read; the
// table is a small vector of (timestamp, count) since concurrent readers mostly share one ts.
#pragma once

#include <sochdb/version.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

class snapshot_tracker {
 public:
  /// Registers a reader at the current published timestamp and returns it.
  std::uint64_t acquire(const std::atomic<std::uint64_t>& published) {
    std::lock_guard lk(mu_);
    std::uint64_t ts = published.load(std::memory_order_seq_cst);
    for (auto& [t, n] : live_) {
      if (t == ts) {
        ++n;
        return ts;
      }
    }
    live_.emplace_back(ts, 1);
    return ts;
  }

  /// Registers a reader at a timestamp it already holds (>= the current horizon).
  void add(std::uint64_t ts) {
    std::lock_guard lk(mu_);
    for (auto& [t, n] : live_) {
      if (t == ts) {
        ++n;
        return;
      }
    }
    live_.emplace_back(ts, 1);
  }

  void release(std::uint64_t ts) noexcept {
    std::lock_guard lk(mu_);
    for (std::size_t i = 0; i < live_.size(); ++i) {
      if (live_[i].first == ts) {
        if (--live_[i].second == 0) {
          live_[i] = live_.back();
          live_.pop_back();
        }
        return;
      }
    }
  }

  /// The oldest timestamp in use, or `published` when there is none.
  [[nodiscard]] std::uint64_t horizon(std::uint64_t published) const {
    std::lock_guard lk(mu_);
    std::uint64_t h = published;
    for (auto& [t, n] : live_) h = std::min(h, t);
    return h;
  }

  /// Appends every timestamp in use, then `published` (the read points of version GC:
  /// lsm_storage::set_snapshot_points).
  void points(std::uint64_t published, std::vector<std::uint64_t>& out) const {
    std::lock_guard lk(mu_);
    for (auto& [t, n] : live_) out.push_back(t);
    out.push_back(published);
  }

  [[nodiscard]] std::size_t live() const {
    std::lock_guard lk(mu_);
    std::size_t c = 0;
    for (auto& [t, n] : live_) c += n;
    return c;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<std::uint64_t, std::uint32_t>> live_;
};

/// Releases a tracked timestamp on scope exit.
class snapshot_hold {
 public:
  snapshot_hold() = default;
  snapshot_hold(snapshot_tracker* t, std::uint64_t ts) : t_(t), ts_(ts) {}
  snapshot_hold(snapshot_hold&& o) noexcept : t_(std::exchange(o.t_, nullptr)), ts_(o.ts_) {}
  snapshot_hold& operator=(snapshot_hold&& o) noexcept {
    if (this != &o) {
      reset();
      t_ = std::exchange(o.t_, nullptr);
      ts_ = o.ts_;
    }
    return *this;
  }
  ~snapshot_hold() { reset(); }
  void reset() noexcept {
    if (t_ != nullptr) std::exchange(t_, nullptr)->release(ts_);
  }
  [[nodiscard]] std::uint64_t ts() const noexcept { return ts_; }

 private:
  snapshot_tracker* t_ = nullptr;
  std::uint64_t ts_ = 0;
};

SOCHDB_END_NAMESPACE
