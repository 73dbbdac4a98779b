// sochdb/mvcc/conflict_manager.hpp — commit-time validation: first committer wins, and
// serializable snapshot isolation (SSI).
//
// The commit pipeline runs `validate()` for every commit on the group leader's thread, in
// commit-timestamp order, before the group is written (storage/commit_pipeline.hpp). Commits of
// earlier members of the same group are not in storage yet, so every commit's write set is
// copied into `pending` here; a write set leaves `pending` once the pipeline has published its
// timestamp (then storage answers for it), and moves into the `recent-write index` if a
// serializable transaction that is still running may need it.
//
// Snapshot isolation (first committer wins): a transaction with snapshot s that writes key k
// aborts when a commit with timestamp > s wrote k: storage.newest_ts(k) > s (exact above the
// snapshot horizon, and s is held by the transaction, so at or above it) or a pending write.
//
// Serializable: SSI after Cahill, Röhm & Fekete (SIGMOD 2008) with the refinements of Ports &
// Grittner (VLDB 2012, PostgreSQL). T --rw--> W (an rw-antidependency) when T read a version of a
// key (or a range: predicate reads, so phantoms count) older than one W wrote. Every
// non-serializable history under SI contains a "dangerous structure" T_in --rw--> pivot --rw-->
// T_out of concurrent transactions (Fekete et al., TODS 2005); it can only be part of a cycle if
// T_out commits first, and if T_in is read-only only if T_out committed before T_in's snapshot,
// i.e. T_in sees T_out (Ports & Grittner §3.3-3.4). Writes are buffered until commit, so an edge R
// --rw--> W is always discovered once W has committed: either at W's commit (R read the key
// earlier) or at R's read (W committed after R's snapshot). Hence:
//
//   * `earliest_out` of a transaction: the smallest commit timestamp among the transactions it
//     has an rw-edge to that committed before it. Final when it commits (edges to transactions
//     committing later cannot make it a pivot whose T_out commits first).
//   * At W's commit, W is the pivot: for every concurrent serializable R that read a key W
//     writes (an in-edge), W aborts if W.earliest_out exists and R commits after that T_out
//     (R still running, or R.commit >= earliest_out) and R is not read-only or the T_out
//     is in R's snapshot. Also, R --rw--> W becomes an out-edge of a running R.
//   * At T's read, when the read misses a version committed by W after T's snapshot, W is a
//     committed pivot with T as T_in: T aborts at once if W.earliest_out <= T.snapshot (dangerous
//     even if T never writes); otherwise T is marked to abort if it writes (the read-only rule).
//     W also becomes an out-edge of T.
// So the victim is always the transaction whose thread is in the call: no transaction is
// aborted behind its back. False aborts happen (the conditions are necessary, not sufficient,
// for a cycle); anomalies do not.
//
// Read-only transactions: a transaction that writes nothing never aborts at commit, and aborts
// at a read only when it reads past a writer W that committed after its snapshot and W has an
// rw-edge to a transaction that its snapshot includes: with no overlapping writer it
// never aborts. A transaction declared read-only whose snapshot is "safe" (no read-write
// serializable transaction running or committed after the snapshot; Ports & Grittner §4.2) needs
// no tracking at all.
//
// What is kept, and for how long: read sets of running serializable transactions; read sets and
// earliest_out of committed ones while a running serializable transaction overlaps them; the
// recent-write index (key -> commit timestamps and writers) while a running serializable
// transaction's snapshot is older. H = min(published, oldest running serializable snapshot);
// everything at or below H is dropped. The memory of all this is bounded (`memory_limit`):
// beyond it the oldest committed transactions and index entries are folded into two summaries
// (like PostgreSQL's summarized transactions): committed readers as (latest commit, latest
// snapshot, any wrote), recent writers as (earliest and latest commit, earliest
// earliest_out). The summaries are used conservatively (more false aborts, never fewer), and
// reading a key that storage shows unchanged since the snapshot never conflicts with them.
// If running transactions alone exceed the limit, the largest one's point reads are widened to
// one covering range.
//
// Thread safety: every member from any thread; one mutex. The validators run on the commit
// leader's thread, the reads on the transactions' threads.
#pragma once

#include <sochdb/core/error.hpp>
#include <sochdb/mvcc/concepts.hpp>
#include <sochdb/storage/write_batch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// Counters of the transaction layer (database_stats::transactions).
struct conflict_stats {
  std::uint64_t write_conflicts = 0;     ///< aborts by first committer wins
  std::uint64_t ssi_conflicts = 0;       ///< aborts on a dangerous structure (serializable only)
  std::size_t running_serializable = 0;  ///< serializable transactions with a snapshot
  std::size_t retained_committed = 0;    ///< committed serializable transactions kept for overlaps
  std::size_t recent_write_keys = 0;     ///< keys in the recent-write index
  std::size_t tracked_bytes = 0;         ///< estimated bytes of SSI bookkeeping
  std::uint64_t summarized = 0;          ///< transactions and index entries folded into summaries
  std::uint64_t safe_snapshots = 0;      ///< read-only transactions that needed no tracking
};

namespace detail {

inline constexpr std::uint64_t no_ts = std::numeric_limits<std::uint64_t>::max();

/// A key range [lo, hi); no hi = to the last key.
struct key_range {
  std::string lo;
  std::optional<std::string> hi;
  [[nodiscard]] bool contains(std::string_view k) const {
    return k >= std::string_view(lo) && (!hi || k < std::string_view(*hi));
  }
};

/// The SSI state of one serializable transaction. Owned by the transaction (shared_ptr) and,
/// after it commits, by the manager while overlapping transactions run. Guarded by the
/// manager's mutex.
struct ssi_txn {
  std::uint64_t snapshot = 0;
  std::uint64_t commit_ts =
      0;  ///< for a read-only transaction: its snapshot (see commit_read_only)
  bool committed = false;
  bool registered = false;  ///< in the running list
  bool declared_read_only = false;
  bool wrote = false;
  bool safe = false;  ///< safe snapshot: reads are not tracked
  std::uint64_t earliest_out = no_ts;
  bool doomed_if_writes = false;
  std::string doom_reason;
  std::set<std::string, std::less<>> point_reads;
  std::vector<key_range> ranges;
  std::size_t bytes = 0;
};

template <class Storage>
class conflict_manager {
 public:
  /// Per-commit validation context, on the committing thread's stack.
  struct validation {
    conflict_manager* mgr = nullptr;
    const write_batch* batch = nullptr;
    isolation_level level = isolation_level::read_committed;
    std::uint64_t snapshot = 0;
    const std::shared_ptr<ssi_txn>* rec = nullptr;  ///< serializable transactions only
    std::uint64_t ts = 0;  ///< set by a successful validation: the commit timestamp
  };

  /// `ssi`: track rw-antidependencies (a serializable database); otherwise only first committer
  /// wins. `memory_limit`: bytes of SSI bookkeeping before summarizing (see above).
  conflict_manager(const Storage& storage, const std::atomic<std::uint64_t>& published, bool ssi,
                   std::size_t memory_limit)
      : storage_(storage), published_(published), ssi_(ssi), limit_(memory_limit) {}

  /// The commit_validator function for a validation context.
  static void validate_fn(void* ctx, std::uint64_t ts) {
    auto* v = static_cast<validation*>(ctx);
    v->mgr->validate(*v, ts);
  }

  /// Registers a serializable transaction and takes its snapshot with `acquire()` under the
  /// manager's mutex, so no write set it may conflict with can be dropped in between.
  template <class Acquire>
  std::uint64_t begin_serializable(const std::shared_ptr<ssi_txn>& t, Acquire&& acquire) {
    std::lock_guard lk(mu_);
    settle();
    std::uint64_t s = acquire();
    t->snapshot = s;
    if (t->declared_read_only && snapshot_is_safe(s)) {
      t->safe = true;
      ++stats_.safe_snapshots;
      return s;
    }
    t->registered = true;
    running_.push_back(t.get());
    return s;
  }

  /// First committer wins, checked early (at a write): throws when storage already holds a
  /// version of `key` newer than `snapshot`. The commit-time check stays authoritative.
  void check_write_early(std::string_view key, std::uint64_t snapshot) {
    std::uint64_t n = storage_.newest_ts(key);
    if (n > snapshot) {
      std::lock_guard lk(mu_);
      ++stats_.write_conflicts;
      throw write_conflict(key, n, snapshot);
    }
  }

  /// A point read of `key` by serializable transaction `t` (`has_writes`: t has buffered writes).
  void on_read(ssi_txn& t, std::string_view key, bool has_writes) {
    std::lock_guard lk(mu_);
    if (t.safe) return;
    settle();
    for (std::size_t i = 0; i < n_pending_; ++i) {
      auto& p = pending_[i];
      if (p.ts > t.snapshot && p.key == key) out_edge(t, p.ts, p.writer.get(), key, has_writes);
    }
    if (auto it = index_.find(key); it != index_.end()) {
      for (auto& e : it->second) {
        if (e.ts > t.snapshot) out_edge(t, e.ts, e.writer.get(), key, has_writes);
      }
    }
    if (wsum_.count != 0 && wsum_.max_ts > t.snapshot && storage_.newest_ts(key) > t.snapshot) {
      summary_out_edge(t, key, has_writes);
    }
    if (t.point_reads.find(key) == t.point_reads.end()) {
      t.point_reads.emplace(key);
      add_bytes(t, key.size() + point_overhead);
    }
    enforce_limit();
  }

  /// A predicate read: `t` read every key in [lo, hi) (no hi: to the end).
  void on_read_range(ssi_txn& t, std::string_view lo, std::optional<std::string_view> hi,
                     bool has_writes) {
    std::lock_guard lk(mu_);
    if (t.safe) return;
    settle();
    key_range r{std::string(lo), hi ? std::optional<std::string>(std::string(*hi)) : std::nullopt};
    for (std::size_t i = 0; i < n_pending_; ++i) {
      auto& p = pending_[i];
      if (p.ts > t.snapshot && r.contains(p.key)) {
        out_edge(t, p.ts, p.writer.get(), p.key, has_writes);
      }
    }
    for (auto it = index_.lower_bound(lo); it != index_.end() && r.contains(it->first); ++it) {
      for (auto& e : it->second) {
        if (e.ts > t.snapshot) out_edge(t, e.ts, e.writer.get(), it->first, has_writes);
      }
    }
    if (wsum_.count != 0 && wsum_.max_ts > t.snapshot) {
      summary_out_edge(t, r.lo, has_writes);
    }
    add_bytes(t, r.lo.size() + (r.hi ? r.hi->size() : 0) + range_overhead);
    t.ranges.push_back(std::move(r));
    // Amortized: merge whenever the count reaches a power of two from 32 on.
    if (t.ranges.size() >= 32 && (t.ranges.size() & (t.ranges.size() - 1)) == 0) merge_ranges(t);
    enforce_limit();
  }

  /// Commit of a serializable transaction that wrote nothing: never fails. It stays known as a
  /// reader while transactions older than its snapshot run (only those can make it T_in of a
  /// dangerous structure, by the read-only rule), so its commit point is its snapshot.
  void commit_read_only(const std::shared_ptr<ssi_txn>& t) {
    std::lock_guard lk(mu_);
    unregister(*t);
    t->committed = true;
    t->commit_ts = t->snapshot;
    if (!t->safe && (!t->point_reads.empty() || !t->ranges.empty())) {
      committed_.push_back(t);
    }
    prune();
  }

  /// A validated commit failed to reach storage (an I/O error): its write set must not keep
  /// conflicting with later commits (the timestamp will never be published), and its
  /// serializable record is no longer committed. Call before end().
  void forget(const validation& v) {
    if (v.ts == 0) return;
    std::lock_guard lk(mu_);
    std::size_t keep = 0;
    for (std::size_t i = 0; i < n_pending_; ++i) {
      if (pending_[i].ts == v.ts) {
        pending_[i].writer.reset();
        continue;
      }
      if (keep != i) std::swap(pending_[keep], pending_[i]);
      ++keep;
    }
    n_pending_ = keep;
    ssi_txn* w = v.rec != nullptr ? v.rec->get() : nullptr;
    if (w != nullptr && w->committed && w->commit_ts == v.ts) {
      std::erase_if(committed_, [&](const std::shared_ptr<ssi_txn>& c) { return c.get() == w; });
      w->committed = false;
    }
  }

  /// A transaction ended (committed or aborted): forget it if it is still registered.
  void end(ssi_txn& t) {
    std::lock_guard lk(mu_);
    if (!t.committed && t.bytes != 0) {
      bytes_ -= t.bytes;
      t.bytes = 0;
    }
    unregister(t);
    prune();
  }

  [[nodiscard]] conflict_stats stats() const {
    std::lock_guard lk(mu_);
    conflict_stats s = stats_;
    s.running_serializable = running_.size();
    s.retained_committed = committed_.size();
    s.recent_write_keys = index_.size();
    s.tracked_bytes = bytes_;
    return s;
  }

  [[nodiscard]] bool ssi() const noexcept { return ssi_; }

 private:
  static constexpr std::size_t point_overhead = 48;  // set node
  static constexpr std::size_t range_overhead = 80;  // vector slot + strings
  static constexpr std::size_t index_overhead = 96;  // map node + vector + fifo slot

  struct pending_write {
    std::string key;
    std::uint64_t ts = 0;
    std::shared_ptr<ssi_txn> writer;  // null: not a serializable transaction
  };
  struct index_entry {
    std::uint64_t ts;
    std::shared_ptr<ssi_txn> writer;
  };
  using index_map = std::map<std::string, std::vector<index_entry>, std::less<>>;

  // ---- validation (leader thread) ----

  void validate(validation& v, std::uint64_t ts) {
    std::lock_guard lk(mu_);
    settle();
    if (v.level >= isolation_level::snapshot) check_write_write(v, ts);
    ssi_txn* w = v.rec != nullptr ? v.rec->get() : nullptr;
    if (ssi_ && v.level == isolation_level::serializable && w != nullptr) {
      check_pivot(*w, *v.batch, ts);
      // Passed: W commits at ts.
      unregister(*w);
      w->committed = true;
      w->commit_ts = ts;
      w->wrote = true;
      committed_.push_back(*v.rec);
    }
    std::shared_ptr<ssi_txn> writer = (w != nullptr && ssi_) ? *v.rec : std::shared_ptr<ssi_txn>();
    v.batch->for_each([&](const batch_op& op) {
      if (n_pending_ == pending_.size()) pending_.emplace_back();
      auto& p = pending_[n_pending_++];
      p.key.assign(op.key);
      p.ts = ts;
      p.writer = writer;
    });
    v.ts = ts;
    prune();
  }

  void check_write_write(const validation& v, std::uint64_t ts) {
    (void)ts;
    v.batch->for_each([&](const batch_op& op) {
      std::uint64_t n = storage_.newest_ts(op.key);
      for (std::size_t i = 0; i < n_pending_; ++i) {
        if (pending_[i].ts > n && pending_[i].key == op.key) n = pending_[i].ts;
      }
      if (n > v.snapshot) {
        ++stats_.write_conflicts;
        throw write_conflict(op.key, n, v.snapshot);
      }
    });
  }

  // W commits at ts: W is the pivot of any dangerous structure completed now.
  void check_pivot(ssi_txn& w, const write_batch& batch, std::uint64_t ts) {
    if (w.doomed_if_writes) {
      ++stats_.ssi_conflicts;
      throw transaction_conflict(w.doom_reason);
    }
    out_scratch_.clear();
    auto consider = [&](ssi_txn& r) {
      if (&r == &w || r.safe) return;
      if (r.committed && r.commit_ts <= w.snapshot) return;  // not concurrent
      if (r.snapshot >= ts) return;  // r already sees w's writes (cannot happen: w not published)
      std::string_view key;
      if (!reads_any(r, batch, key)) return;
      if (!r.committed) out_scratch_.push_back(&r);
      if (w.earliest_out == no_ts) return;
      bool r_read_only = r.committed ? !r.wrote : r.declared_read_only;
      if ((!r.committed || w.earliest_out <= r.commit_ts) &&
          (!r_read_only || w.earliest_out <= r.snapshot)) {
        ++stats_.ssi_conflicts;
        throw transaction_conflict(
            "serialization failure: this transaction writes key " + printable_key(key) +
            ", which a concurrent transaction read, and it read data that a transaction "
            "committed at ts " +
            std::to_string(w.earliest_out) +
            " changed after its snapshot (a dangerous structure of rw-antidependencies); retry");
      }
    };
    for (ssi_txn* r : running_) consider(*r);
    for (auto& r : committed_) consider(*r);
    if (rsum_.count != 0 && rsum_.max_commit > w.snapshot && w.earliest_out != no_ts &&
        w.earliest_out <= rsum_.max_commit &&
        (rsum_.any_wrote || w.earliest_out <= rsum_.max_snapshot)) {
      ++stats_.ssi_conflicts;
      throw transaction_conflict(
          "serialization failure: this transaction may write a key that one of " +
          std::to_string(rsum_.count) +
          " summarized concurrent transactions read, and it read data changed after its "
          "snapshot (conflict tracking exceeded its memory limit); retry");
    }
    for (ssi_txn* r : out_scratch_) r->earliest_out = std::min(r->earliest_out, ts);
  }

  static bool reads_any(const ssi_txn& r, const write_batch& batch, std::string_view& key) {
    bool hit = false;
    batch.for_each([&](const batch_op& op) {
      if (hit) return;
      if (r.point_reads.find(op.key) != r.point_reads.end()) {
        hit = true;
      } else {
        for (auto& rg : r.ranges) {
          if (rg.contains(op.key)) {
            hit = true;
            break;
          }
        }
      }
      if (hit) key = op.key;
    });
    return hit;
  }

  // ---- reads (transaction threads) ----

  // t read past a version of `key` committed at ts by `writer` (null: not serializable).
  void out_edge(ssi_txn& t, std::uint64_t ts, const ssi_txn* writer, std::string_view key,
                bool has_writes) {
    t.earliest_out = std::min(t.earliest_out, ts);
    if (writer != nullptr && writer->earliest_out != no_ts) {
      t_in(t, writer->earliest_out, key, has_writes);
    }
  }

  void summary_out_edge(ssi_txn& t, std::string_view key, bool has_writes) {
    t.earliest_out = std::min(t.earliest_out, std::max(t.snapshot + 1, wsum_.min_ts));
    if (wsum_.min_eo != no_ts) t_in(t, wsum_.min_eo, key, has_writes);
  }

  // t --rw--> W --rw--> Y where W committed and Y (commit ts eo) committed before W.
  void t_in(ssi_txn& t, std::uint64_t eo, std::string_view key, bool has_writes) {
    std::string why = "serialization failure: this transaction read key " + printable_key(key) +
                      " past a newer version whose writer depends on a transaction that "
                      "committed at ts " +
                      std::to_string(eo);
    if (eo <= t.snapshot) {
      // T_out is in t's snapshot: dangerous even for a read-only transaction (Ports & Grittner,
      // read-only rule).
      ++stats_.ssi_conflicts;
      throw transaction_conflict(why + ", which this transaction's snapshot includes; retry");
    }
    if (t.declared_read_only) return;
    if (has_writes) {
      ++stats_.ssi_conflicts;
      throw transaction_conflict(why + ", and this transaction writes; retry");
    }
    if (!t.doomed_if_writes) {
      t.doomed_if_writes = true;
      t.doom_reason = why + ", and this transaction then wrote; retry";
    }
  }

  // ---- bookkeeping ----

  bool snapshot_is_safe(std::uint64_t s) const {
    for (ssi_txn* r : running_) {
      if (!r->declared_read_only) return false;
    }
    for (auto& c : committed_) {
      if (c->wrote && c->commit_ts > s) return false;
    }
    return true;
  }

  void unregister(ssi_txn& t) {
    if (!t.registered) return;
    t.registered = false;
    auto it = std::find(running_.begin(), running_.end(), &t);
    if (it != running_.end()) {
      *it = running_.back();
      running_.pop_back();
    }
  }

  [[nodiscard]] std::uint64_t oldest_running() const {
    std::uint64_t m = no_ts;
    for (ssi_txn* r : running_) m = std::min(m, r->snapshot);
    return m;
  }

  // Moves pending write sets whose commits are published out of `pending`: into the index when
  // a running serializable transaction's snapshot is older, else away.
  void settle() {
    if (n_pending_ == 0) return;
    std::uint64_t pub = published_.load(std::memory_order_seq_cst);
    std::uint64_t oldest = ssi_ ? oldest_running() : no_ts;
    std::size_t keep = 0;
    for (std::size_t i = 0; i < n_pending_; ++i) {
      auto& p = pending_[i];
      if (p.ts > pub) {
        if (keep != i) std::swap(pending_[keep], p);
        ++keep;
        continue;
      }
      if (oldest < p.ts) {
        auto [it, fresh] = index_.try_emplace(p.key);
        it->second.push_back({p.ts, p.writer});
        fifo_.emplace_back(p.ts, it);
        bytes_ += it->first.size() + index_overhead;
      }
      p.writer.reset();
    }
    n_pending_ = keep;
  }

  // Drops everything at or below H = min(published, oldest running snapshot).
  void prune() {
    std::uint64_t pub = published_.load(std::memory_order_seq_cst);
    std::uint64_t h = std::min(pub, oldest_running());
    // Whatever is added later has a timestamp above the H of that moment, so nothing new can
    // be dropped until H moves — except a read-only commit, whose commit point is its snapshot
    // and may be at or below H (it was running, so H could not pass it); commit_read_only
    // pushes it last and prunes at once, so checking the newest entry keeps none behind.
    if (h == last_prune_ && (committed_.empty() || committed_.back()->commit_ts > h)) return;
    last_prune_ = h;
    while (fifo_head_ < fifo_.size() && fifo_[fifo_head_].first <= h) {
      drop_index_front();
    }
    compact_fifo();
    std::erase_if(committed_, [&](const std::shared_ptr<ssi_txn>& c) {
      if (c->commit_ts > h) return false;
      bytes_ -= c->bytes;
      c->bytes = 0;
      return true;
    });
    if (rsum_.count != 0 && rsum_.max_commit <= h) rsum_ = reader_summary{};
    if (wsum_.count != 0 && wsum_.max_ts <= h) wsum_ = writer_summary{};
  }

  void drop_index_front() {
    auto [ts, it] = fifo_[fifo_head_++];
    auto& v = it->second;
    // Entries of one key arrive in timestamp order, so this one is at the front.
    v.erase(v.begin());
    bytes_ -= it->first.size() + index_overhead;
    if (v.empty()) index_.erase(it);
  }

  void compact_fifo() {
    if (fifo_head_ > 1024 && fifo_head_ * 2 > fifo_.size()) {
      fifo_.erase(fifo_.begin(), fifo_.begin() + static_cast<std::ptrdiff_t>(fifo_head_));
      fifo_head_ = 0;
    } else if (fifo_head_ == fifo_.size()) {
      fifo_.clear();
      fifo_head_ = 0;
    }
  }

  void add_bytes(ssi_txn& t, std::size_t n) {
    t.bytes += n;
    bytes_ += n;
  }

  // Sorts and merges overlapping ranges (a transaction scanning the same ranges again and
  // again keeps one copy).
  void merge_ranges(ssi_txn& t) {
    auto& rs = t.ranges;
    std::sort(rs.begin(), rs.end(),
              [](const key_range& a, const key_range& b) { return a.lo < b.lo; });
    std::vector<key_range> out;
    for (auto& r : rs) {
      if (!out.empty()) {
        auto& last = out.back();
        if (!last.hi || r.lo <= *last.hi) {
          if (last.hi && (!r.hi || *r.hi > *last.hi)) last.hi = std::move(r.hi);
          continue;
        }
      }
      out.push_back(std::move(r));
    }
    std::size_t before = t.bytes;
    std::size_t after = 0;
    for (auto& k : t.point_reads) after += k.size() + point_overhead;
    for (auto& r : out) after += r.lo.size() + (r.hi ? r.hi->size() : 0) + range_overhead;
    rs = std::move(out);
    bytes_ = bytes_ - before + after;
    t.bytes = after;
  }

  // Keeps the bookkeeping under the limit: oldest first, committed readers and index entries
  // are folded into the summaries; then running transactions' point reads are widened.
  void enforce_limit() {
    if (bytes_ <= limit_) return;
    std::size_t target = limit_ / 2;
    std::sort(committed_.begin(), committed_.end(),
              [](const auto& a, const auto& b) { return a->commit_ts < b->commit_ts; });
    std::size_t ci = 0;
    while (bytes_ > target) {
      bool have_c = ci < committed_.size();
      bool have_w = fifo_head_ < fifo_.size();
      if (!have_c && !have_w) break;
      if (have_c && (!have_w || committed_[ci]->commit_ts <= fifo_[fifo_head_].first)) {
        auto& c = *committed_[ci++];
        rsum_.count++;
        rsum_.max_commit = std::max(rsum_.max_commit, c.commit_ts);
        rsum_.max_snapshot = std::max(rsum_.max_snapshot, c.snapshot);
        rsum_.any_wrote |= c.wrote;
        bytes_ -= c.bytes;
        c.bytes = 0;
        c.point_reads.clear();
        c.ranges.clear();
        c.ranges.shrink_to_fit();
        ++stats_.summarized;
      } else {
        // The oldest entry overall is the oldest of its key: the front of that key's vector.
        const index_entry& e = fifo_[fifo_head_].second->second.front();
        if (wsum_.count == 0 || e.ts < wsum_.min_ts) wsum_.min_ts = e.ts;
        wsum_.max_ts = std::max(wsum_.max_ts, e.ts);
        if (e.writer && e.writer->earliest_out != no_ts) {
          wsum_.min_eo = std::min(wsum_.min_eo, e.writer->earliest_out);
        }
        wsum_.count++;
        drop_index_front();
        ++stats_.summarized;
      }
    }
    committed_.erase(committed_.begin(), committed_.begin() + static_cast<std::ptrdiff_t>(ci));
    compact_fifo();
    while (bytes_ > target) {
      // Running transactions: widen the largest one's point reads to one covering range.
      ssi_txn* big = nullptr;
      for (ssi_txn* r : running_) {
        if (!r->point_reads.empty() && (big == nullptr || r->bytes > big->bytes)) big = r;
      }
      if (big == nullptr) break;
      key_range cover{*big->point_reads.begin(), *big->point_reads.rbegin() + std::string(1, '\0')};
      big->point_reads.clear();
      big->ranges.push_back(std::move(cover));
      merge_ranges(*big);
      ++stats_.summarized;
    }
  }

  static transaction_conflict write_conflict(std::string_view key, std::uint64_t newer,
                                             std::uint64_t snapshot) {
    return transaction_conflict("write conflict on key " + printable_key(key) +
                                ": a transaction that committed at ts " + std::to_string(newer) +
                                " wrote it after this transaction's snapshot (ts " +
                                std::to_string(snapshot) + "); first committer wins, retry");
  }

  const Storage& storage_;
  const std::atomic<std::uint64_t>& published_;
  bool ssi_;
  std::size_t limit_;

  mutable std::mutex mu_;
  std::vector<pending_write> pending_;  // slots reused; [0, n_pending_) in use
  std::size_t n_pending_ = 0;
  index_map index_;
  std::vector<std::pair<std::uint64_t, typename index_map::iterator>> fifo_;  // commit order
  std::size_t fifo_head_ = 0;
  std::vector<ssi_txn*> running_;                    // registered serializable transactions
  std::vector<std::shared_ptr<ssi_txn>> committed_;  // committed, kept for overlaps
  std::vector<ssi_txn*> out_scratch_;
  std::uint64_t last_prune_ = no_ts;
  std::size_t bytes_ = 0;
  // Committed readers whose read sets were dropped: a superset of what they could conflict with.
  struct reader_summary {
    std::uint64_t count = 0, max_commit = 0, max_snapshot = 0;
    bool any_wrote = false;
  } rsum_;
  // Recent writes whose keys were dropped.
  struct writer_summary {
    std::uint64_t count = 0, min_ts = 0, max_ts = 0, min_eo = no_ts;
  } wsum_;
  conflict_stats stats_;
};

}  // namespace detail
SOCHDB_END_NAMESPACE
