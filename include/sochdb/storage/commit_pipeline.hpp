// sochdb/storage/commit_pipeline.hpp — group commit: one queue, one leader at a time.
//
// Committers queue up. The committer at the head of the queue becomes the leader: it takes the
// queued requests (up to max_group_bytes of payload), and in queue order runs each request's
// validator (the hook MVCC validation uses) and assigns it a commit timestamp from the hybrid
// clock, so the order of the queue, of the timestamps and of the WAL are one order. It hands
// the group to Storage::apply (one WAL write, one sync, memtable inserts), then publishes the
// last timestamp and wakes the members. While a leader works, new committers queue behind it
// and form the next group: under `sync_mode::full` that is what amortizes a sync over many
// commits (LevelDB's writer queue; the same idea as PostgreSQL's commit_delay without the
// delay).
//
// Visibility: `published()` only ever moves to the last timestamp of a fully applied group, and
// groups are applied one after another, so every timestamp <= published() belongs to a commit
// that is entirely in storage: a reader at snapshot published() never sees part of a batch or
// of a transaction, and never misses a commit with a smaller timestamp.
//
// Validators: `commit_validator{ctx, fn}`; the leader calls fn(ctx, commit_ts) on its own
// thread, for members in queue order, after the validators of earlier members of the same
// group succeeded and before anything of the group is written. A validator that throws removes
// its member from the group; the member's commit() rethrows that exception. A validator must
// record whatever it needs (e.g. the write set, for later validators) before returning, and
// must not call back into the pipeline.
//
// Errors: when Storage::apply throws, every member of the group gets the exception; storage
// decides whether later groups can proceed (wal_storage refuses further writes after an I/O
// error).
//
// Thread safety: commit() from any number of threads; published() from anywhere.
#pragma once

#include <sochdb/core/clock.hpp>
#include <sochdb/storage/concepts.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// A validation hook run by the commit leader (see the header comment).
struct commit_validator {
  void* ctx = nullptr;
  void (*fn)(void* ctx, std::uint64_t commit_ts) = nullptr;
};

template <storage_backend Storage>
class commit_pipeline {
 public:
  /// `storage` must have been opened (recovered); the clock is moved past its last commit.
  /// `yield_when_alone`: see commit(); set it when every group pays for a sync.
  commit_pipeline(Storage& storage, hybrid_clock& clock, std::size_t max_group_bytes,
                  bool yield_when_alone = false)
      : storage_(storage),
        clock_(clock),
        max_group_bytes_(max_group_bytes),
        yield_when_alone_(yield_when_alone) {
    std::uint64_t last = storage.last_commit_ts();
    clock_.observe(last);
    published_.store(last, std::memory_order_seq_cst);
  }

  /// Commits `batch` (empty batches are not written) and returns its commit timestamp, after
  /// it is durable as the sync mode promises and visible to new snapshots.
  std::uint64_t commit(const write_batch& batch, commit_validator validator = {}) {
    if (batch.empty() && validator.fn == nullptr) return published();
    waiter w;
    w.batch = &batch;
    w.validator = validator;
    std::unique_lock lk(mu_);
    queue_.push_back(&w);
    while (!w.done && queue_.front() != &w) w.cv.wait(lk);
    if (w.done) {
      if (w.error) std::rethrow_exception(w.error);
      return w.ts;
    }
    // Leader. Alone in the queue right after the previous group finished, the members it just
    // woke are usually about to commit again: one yield lets them join this group instead of
    // paying for a sync of their own (only worth it when a group costs a sync). Only when the
    // previous group had other members: a lone committer has nobody to wait for, and on a busy
    // machine a yield can cost a whole scheduler time slice (milliseconds).
    if (yield_when_alone_ && queue_.size() == 1 && last_group_size_ > 1) {
      lk.unlock();
      std::this_thread::yield();
      lk.lock();
    }
    group_.clear();
    std::size_t bytes = 0;
    for (waiter* x : queue_) {
      std::size_t b = x->batch->payload_bytes();
      if (!group_.empty() && bytes + b > max_group_bytes_) break;
      group_.push_back(x);
      bytes += b;
    }
    last_group_size_ = group_.size();
    lk.unlock();

    entries_.clear();
    for (waiter* x : group_) {
      std::uint64_t ts = clock_.now();
      if (x->validator.fn != nullptr) {
        try {
          x->validator.fn(x->validator.ctx, ts);
        } catch (...) {
          x->error = std::current_exception();
          continue;
        }
      }
      x->ts = ts;
      if (!x->batch->empty()) entries_.push_back({x->batch, ts, ts});
    }
    std::size_t applied = 0;
    try {
      if (!entries_.empty()) {
        storage_.apply(std::span<const commit_entry>(entries_));
        published_.store(entries_.back().commit_ts, std::memory_order_seq_cst);
        applied = entries_.size();
      }
    } catch (...) {
      auto e = std::current_exception();
      for (waiter* x : group_) {
        if (!x->error) x->error = e;
      }
    }

    lk.lock();
    if (applied != 0) {
      ++groups_;
      commits_ += applied;
    }
    for (waiter* x : group_) {
      queue_.pop_front();
      x->done = true;
      if (x != &w) x->cv.notify_one();
    }
    if (!queue_.empty()) queue_.front()->cv.notify_one();
    lk.unlock();
    if (w.error) std::rethrow_exception(w.error);
    return w.ts;
  }

  /// The newest timestamp every commit at or below which is fully applied.
  [[nodiscard]] std::uint64_t published() const noexcept {
    return published_.load(std::memory_order_seq_cst);
  }
  [[nodiscard]] const std::atomic<std::uint64_t>& published_atomic() const noexcept {
    return published_;
  }

  /// Groups and commits written since construction (read under the queue lock).
  [[nodiscard]] std::pair<std::uint64_t, std::uint64_t> counts() const {
    std::lock_guard lk(mu_);
    return {groups_, commits_};
  }

 private:
  struct waiter {
    const write_batch* batch = nullptr;
    commit_validator validator;
    std::uint64_t ts = 0;
    std::exception_ptr error;
    bool done = false;
    std::condition_variable cv;
  };

  Storage& storage_;
  hybrid_clock& clock_;
  std::size_t max_group_bytes_;
  bool yield_when_alone_;
  std::size_t last_group_size_ = 0;  // under mu_
  mutable std::mutex mu_;
  std::deque<waiter*> queue_;
  std::atomic<std::uint64_t> published_{0};
  // Leader-only scratch (one leader at a time); the counters are guarded by mu_.
  std::vector<waiter*> group_;
  std::vector<commit_entry> entries_;
  std::uint64_t groups_ = 0, commits_ = 0;
};

SOCHDB_END_NAMESPACE
