// sochdb/db/transaction.hpp — transactions and snapshots of a basic_database.
//
//     auto txn = db.begin();                      // the policy's level (serializable by default)
//     auto a = std::stoll(txn.get("acct/a").value_or("0"));
//     txn.put("acct/a", std::to_string(a - 10));
//     std::uint64_t ts = txn.commit();            // throws transaction_conflict: retry
//
//     db.transaction([](auto& txn) { ... });     // commits; retries conflicts with backoff
//
// A transaction buffers its writes (reads see them: read-your-writes) and commits them as one
// batch through the database's commit pipeline, with a validator that enforces its isolation
// level (mvcc/conflict_manager.hpp): nothing of an uncommitted transaction is ever visible to
// anyone else, and a commit is atomic and durable like any batch. At snapshot and serializable
// level the transaction reads one snapshot, taken at its first read or write (as PostgreSQL
// takes it at the first statement) and held until it ends, so version GC keeps what it can read;
// at read_committed every read (and every scan) takes the newest published snapshot.
//
// Errors: `transaction_conflict` (retryable) when the transaction lost a conflict; it is then
// aborted, and every later call throws the same error. Calls on a committed or aborted
// transaction throw invalid_argument; bad keys and values as in the KV API. A transaction not
// committed when destroyed is aborted.
//
// Thread safety: a transaction (and its scans) is used by one thread at a time; different
// transactions run concurrently. Scans of a transaction end with it: after commit() or abort()
// they are exhausted. Views from a scan stay valid until it advances or the transaction writes.
// A transaction may outlive its database handle; after close() its calls throw `closed`.
#pragma once

#include <sochdb/core/clock.hpp>
#include <sochdb/db/options.hpp>
#include <sochdb/db/snapshot_tracker.hpp>
#include <sochdb/mvcc/conflict_manager.hpp>
#include <sochdb/mvcc/policies.hpp>
#include <sochdb/storage/commit_pipeline.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// Options of db.begin() and db.transaction() (designated initializers).
struct transaction_options {
  /// Isolation level; default: the database policy's level (serializable for `database`).
  std::optional<isolation_level> isolation{};
  /// Writes throw invalid_argument. At serializable level a read-only transaction gets the
  /// read-only rules of docs/transactions.md and, on a safe snapshot, no tracking. Default off.
  bool read_only = false;
  /// db.transaction(): attempts before a conflict is rethrown; default 10, at least 1.
  int max_attempts = 10;
  /// db.transaction(): the n-th retry sleeps a uniformly random time below
  /// min(backoff_max, backoff_base * 2^(n-1)) ("full jitter"); defaults 100 us and 20 ms.
  std::chrono::microseconds backoff_base{100};
  std::chrono::microseconds backoff_max{20000};

  void validate() const {
    if (max_attempts < 1) throw invalid_argument("transaction_options: max_attempts must be >= 1");
    if (backoff_base.count() < 0 || backoff_max.count() < 0) {
      throw invalid_argument("transaction_options: backoffs must not be negative");
    }
  }
};

namespace detail {

inline std::uint64_t wall_now_ms() { return system_ms_source{}(); }

inline void check_txn_key(const char* op, std::string_view key, const database_options& o) {
  if (key.empty()) throw invalid_argument(std::string(op) + ": key is empty");
  if (key.size() > o.max_key_size) {
    throw invalid_argument(std::string(op) + ": key " + printable_key(key) + " is " +
                           std::to_string(key.size()) + " bytes, more than max_key_size " +
                           std::to_string(o.max_key_size));
  }
}

/// A buffered write of a transaction.
struct buffered_write {
  bool deleted = false;
  std::uint64_t expiry_ms = 0;  ///< 0: never
  std::string value;
  [[nodiscard]] bool live(std::uint64_t now_ms) const {
    return !deleted && (expiry_ms == 0 || now_ms < expiry_ms);
  }
};

using write_buffer = std::map<std::string, buffered_write, std::less<>>;

/// The part of a transaction that its scans point to (heap-allocated, so moving the
/// transaction leaves them valid).
template <class Db>
struct txn_core;

}  // namespace detail

template <class Db>
class basic_transaction;

/// A scan inside a transaction: the snapshot's keys merged with the transaction's own writes
/// (its puts shown, its deletes hidden), streaming, in either order. At serializable level the
/// part of the range it has read (from the start to its current key, or all of it once
/// exhausted) is a predicate read: concurrent inserts into it are rw-antidependencies.
template <class Db>
class basic_txn_scan {
  using core = detail::txn_core<Db>;
  using cursor = typename Db::storage_type::cursor;
  using buffer_it = typename detail::write_buffer::const_iterator;

 public:
  basic_txn_scan(basic_txn_scan&& o) noexcept
      : t_(std::exchange(o.t_, nullptr)),
        c_(std::move(o.c_)),
        own_(std::move(o.own_)),
        order_(o.order_),
        lo_(std::move(o.lo_)),
        hi_(std::move(o.hi_)),
        b_(o.b_),
        b_end_(o.b_end_),
        now_(o.now_),
        valid_(o.valid_),
        from_buffer_(o.from_buffer_),
        shadow_(o.shadow_),
        key_(o.key_),
        value_(o.value_) {
    if (t_ != nullptr) t_->rebind_scan(&o, this);
  }
  basic_txn_scan& operator=(basic_txn_scan&&) = delete;
  basic_txn_scan(const basic_txn_scan&) = delete;
  ~basic_txn_scan() {
    if (t_ != nullptr) {
      finalize();
      t_->unbind_scan(this);
    }
  }

  [[nodiscard]] bool valid() const noexcept { return valid_; }
  [[nodiscard]] std::string_view key() const noexcept { return key_; }
  [[nodiscard]] std::string_view value() const noexcept { return value_; }
  void next() {
    if (!valid_) return;
    advance();
    settle();
  }

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = std::pair<std::string_view, std::string_view>;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(basic_txn_scan* s) : s_(s) {}
    value_type operator*() const { return {s_->key(), s_->value()}; }
    iterator& operator++() {
      s_->next();
      return *this;
    }
    void operator++(int) { s_->next(); }
    friend bool operator==(const iterator& it, std::default_sentinel_t) {
      return it.s_ == nullptr || !it.s_->valid();
    }

   private:
    basic_txn_scan* s_ = nullptr;
  };
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  friend struct detail::txn_core<Db>;
  friend class basic_transaction<Db>;

  basic_txn_scan(core* t, cursor c, snapshot_hold own, scan_order order, std::string lo,
                 std::optional<std::string> hi, const detail::write_buffer& buf)
      : t_(t),
        c_(std::move(c)),
        own_(std::move(own)),
        order_(order),
        lo_(std::move(lo)),
        hi_(std::move(hi)),
        now_(detail::wall_now_ms()) {
    // Forward: [b_, b_end_) ascending. Reverse: b_end_ is the lower limit, b_ one past the
    // current entry (the element is std::prev(b_)).
    if (order_ == scan_order::forward) {
      b_ = buf.lower_bound(lo_);
      b_end_ = hi_ ? buf.lower_bound(*hi_) : buf.end();
    } else {
      b_end_ = buf.lower_bound(lo_);
      b_ = hi_ ? buf.lower_bound(*hi_) : buf.end();
    }
    t_->bind_scan(this);
    settle();
  }

  [[nodiscard]] bool buffer_has() const { return b_ != b_end_; }
  [[nodiscard]] buffer_it buffer_entry() const {
    return order_ == scan_order::forward ? b_ : std::prev(b_);
  }
  void buffer_step() {
    if (order_ == scan_order::forward) {
      ++b_;
    } else {
      --b_;
    }
  }

  // Positions on the next visible key from the storage cursor or the write buffer.
  void settle() {
    for (;;) {
      bool sv = c_.valid(), bv = buffer_has();
      if (!sv && !bv) {
        valid_ = false;
        finalize();  // exhausted: the whole range was read
        return;
      }
      int cmp = 0;  // < 0: the storage key comes first in scan order
      if (!bv) {
        cmp = -1;
      } else if (!sv) {
        cmp = 1;
      } else {
        int c = std::string_view(c_.key()).compare(buffer_entry()->first);
        cmp = order_ == scan_order::forward ? c : -c;
      }
      if (cmp < 0) {
        key_ = c_.key();
        value_ = c_.value();
        from_buffer_ = shadow_ = false;
        valid_ = true;
        return;
      }
      auto e = buffer_entry();
      if (e->second.live(now_)) {
        key_ = e->first;
        value_ = e->second.value;
        from_buffer_ = true;
        shadow_ = cmp == 0;  // the transaction's own write hides the stored version
        valid_ = true;
        return;
      }
      buffer_step();  // deleted (or expired) by the transaction itself
      if (cmp == 0) c_.next();
    }
  }

  void advance() {
    if (from_buffer_) {
      buffer_step();
      if (shadow_) c_.next();
    } else {
      c_.next();
    }
  }

  // Hands the range read so far to the transaction (serializable: a predicate read).
  void finalize() {
    if (t_ == nullptr || finalized_) return;
    finalized_ = true;
    detail::key_range r{lo_, hi_};
    if (valid_) {
      if (order_ == scan_order::forward) {
        r.hi = std::string(key_) + '\0';  // up to and including the current key
      } else {
        r.lo = std::string(key_);
      }
    }
    t_->scan_read(std::move(r));
  }

  // The transaction ended: the scan is exhausted from now on.
  void detach() {
    finalize();
    t_ = nullptr;
    valid_ = false;
  }

  core* t_;
  cursor c_;
  snapshot_hold own_;  // read_committed: the scan's own snapshot
  scan_order order_;
  std::string lo_;
  std::optional<std::string> hi_;
  buffer_it b_{}, b_end_{};
  std::uint64_t now_;
  bool valid_ = false;
  bool from_buffer_ = false;
  bool shadow_ = false;
  bool finalized_ = false;
  std::string_view key_, value_;
};

namespace detail {

template <class Db>
struct txn_core {
  using state = typename Db::state;
  enum class status { active, committed, aborted, failed };

  txn_core(std::shared_ptr<state> s, isolation_level l, bool ro, std::uint64_t i)
      : st(std::move(s)), level(l), read_only(ro), id(i) {}

  std::shared_ptr<state> st;
  isolation_level level;
  bool read_only;
  std::uint64_t id;
  status stat = status::active;
  std::string failure;  // the conflict that aborted it
  bool have_snapshot = false;
  std::uint64_t snap = 0;
  std::shared_ptr<ssi_txn> ssi;  // serializable only
  write_buffer writes;
  std::size_t write_bytes = 0;
  std::vector<basic_txn_scan<Db>*> scans;
  std::vector<key_range> scanned;                             // predicate reads not yet reported
  std::vector<std::function<void(std::uint64_t)>> on_commit;  // run after a successful commit

  [[nodiscard]] bool serializable() const { return level == isolation_level::serializable; }

  void check_active(const char* op) const {
    if (st->closed.load(std::memory_order_acquire)) {
      throw closed(std::string(op) + ": the database is closed");
    }
    switch (stat) {
      case status::active:
        return;
      case status::failed:
        throw transaction_conflict(std::string(op) +
                                   ": the transaction was aborted by a conflict: " + failure);
      case status::committed:
        throw invalid_argument(std::string(op) + ": the transaction is already committed");
      case status::aborted:
        throw invalid_argument(std::string(op) + ": the transaction is already aborted");
    }
  }

  void ensure_snapshot() {
    if (have_snapshot) return;
    auto& s = *st;
    auto acquire = [&] { return s.tracker->acquire(s.pipeline->published_atomic()); };
    if (serializable()) {
      ssi = std::make_shared<ssi_txn>();
      ssi->declared_read_only = read_only;
      snap = s.conflicts->begin_serializable(ssi, acquire);
    } else {
      snap = acquire();
    }
    have_snapshot = true;
  }

  // Runs f; a conflict aborts the transaction (and is rethrown).
  template <class F>
  decltype(auto) guarded(F&& f) {
    try {
      return f();
    } catch (const transaction_conflict& e) {
      fail(e.what());
      throw;
    }
  }

  // Reports the predicate reads of finished scans (serializable).
  void report_scans() {
    if (scanned.empty()) return;
    auto pending = std::move(scanned);
    scanned.clear();
    for (auto& r : pending) {
      std::optional<std::string_view> hi;
      if (r.hi) hi = *r.hi;
      st->conflicts->on_read_range(*ssi, r.lo, hi, !writes.empty());
    }
  }

  void scan_read(key_range r) {
    if (serializable() && stat == status::active && ssi) scanned.push_back(std::move(r));
  }
  void bind_scan(basic_txn_scan<Db>* s) { scans.push_back(s); }
  void unbind_scan(basic_txn_scan<Db>* s) { std::erase(scans, s); }
  void rebind_scan(basic_txn_scan<Db>* from, basic_txn_scan<Db>* to) {
    std::replace(scans.begin(), scans.end(), from, to);
  }

  // Ends the transaction: scans detached, snapshot released, SSI state handed back.
  void finish(status how) noexcept {
    for (auto* sc : std::exchange(scans, {})) sc->detach();
    scanned.clear();
    stat = how;
    if (have_snapshot) {
      st->tracker->release(snap);
      have_snapshot = false;
    }
    if (ssi) {
      st->conflicts->end(*ssi);
      ssi.reset();
    }
    writes.clear();
    write_bytes = 0;
    if (how != status::committed) on_commit.clear();
  }
  void fail(const std::string& why) noexcept {
    try {
      failure = why;
    } catch (...) {
    }
    finish(status::failed);
  }
};

}  // namespace detail

/// A transaction of a basic_database (see the header comment). Created by db.begin().
template <class Db>
class basic_transaction {
  using core = detail::txn_core<Db>;

 public:
  using scan_type = basic_txn_scan<Db>;

  basic_transaction(basic_transaction&&) noexcept = default;
  basic_transaction& operator=(basic_transaction&& o) noexcept {
    if (this != &o) {
      abort();
      t_ = std::move(o.t_);
    }
    return *this;
  }
  basic_transaction(const basic_transaction&) = delete;
  ~basic_transaction() { abort(); }

  // ---- reads: the transaction's own writes first, then its snapshot ----

  [[nodiscard]] std::optional<std::string> get(std::string_view key) {
    std::string out;
    if (!get(key, out)) return std::nullopt;
    return out;
  }
  /// Allocation-free form: true and the value in `out`, or false.
  bool get(std::string_view key, std::string& out) {
    auto& t = c("get");
    detail::check_txn_key("get", key, t.st->opt);
    if (auto it = t.writes.find(key); it != t.writes.end()) {
      if (!it->second.live(detail::wall_now_ms())) return false;
      out = it->second.value;
      return true;
    }
    auto& st = *t.st;
    if (t.level == isolation_level::read_committed) {
      snapshot_hold h(st.tracker.get(), st.tracker->acquire(st.pipeline->published_atomic()));
      return st.storage->get(key, h.ts(), detail::wall_now_ms(), out);
    }
    t.ensure_snapshot();
    if (t.serializable()) {
      t.guarded([&] {
        t.report_scans();
        st.conflicts->on_read(*t.ssi, key, !t.writes.empty());
      });
    }
    return st.storage->get(key, t.snap, detail::wall_now_ms(), out);
  }
  [[nodiscard]] bool exists(std::string_view key) {
    std::string out;
    return get(key, out);
  }
  /// Values of `keys` (nullopt for missing ones); at read_committed all read at one snapshot.
  [[nodiscard]] std::vector<std::optional<std::string>> get_batch(
      std::span<const std::string_view> keys) {
    auto& t = c("get_batch");
    std::vector<std::optional<std::string>> out;
    out.reserve(keys.size());
    std::string v;
    if (t.level == isolation_level::read_committed) {
      auto& st = *t.st;
      snapshot_hold h(st.tracker.get(), st.tracker->acquire(st.pipeline->published_atomic()));
      std::uint64_t now = detail::wall_now_ms();
      for (auto k : keys) {
        detail::check_txn_key("get_batch", k, st.opt);
        bool found = false;
        if (auto it = t.writes.find(k); it != t.writes.end()) {
          found = it->second.live(now);
          if (found) v = it->second.value;
        } else {
          found = st.storage->get(k, h.ts(), now, v);
        }
        out.emplace_back(found ? std::optional<std::string>(v) : std::nullopt);
      }
      return out;
    }
    for (auto k : keys) out.emplace_back(get(k, v) ? std::optional<std::string>(v) : std::nullopt);
    return out;
  }
  [[nodiscard]] std::vector<std::optional<std::string>> get_batch(
      std::initializer_list<std::string_view> keys) {
    return get_batch(std::span<const std::string_view>(keys.begin(), keys.size()));
  }

  /// Keys starting with `prefix` (at least 2 bytes, as db.scan_prefix).
  [[nodiscard]] scan_type scan_prefix(std::string_view prefix,
                                      scan_order order = scan_order::forward) {
    if (prefix.size() < 2) {
      throw invalid_argument("scan_prefix: prefix " + printable_key(prefix) +
                             " is shorter than 2 bytes (use scan_prefix_unchecked)");
    }
    return scan_prefix_unchecked(prefix, order);
  }
  [[nodiscard]] scan_type scan_prefix_unchecked(std::string_view prefix,
                                                scan_order order = scan_order::forward) {
    std::string end = prefix_successor(prefix);
    std::optional<std::string> upper;
    if (!end.empty()) upper = std::move(end);
    return make_scan(std::string(prefix), std::move(upper), order);
  }
  /// Keys in [begin, end); an empty `end` means "to the last key".
  [[nodiscard]] scan_type scan_range(std::string_view begin, std::string_view end,
                                     scan_order order = scan_order::forward) {
    std::optional<std::string> upper;
    if (!end.empty()) upper = std::string(end);
    return make_scan(std::string(begin), std::move(upper), order);
  }

  // ---- writes: buffered until commit ----

  void put(std::string_view key, std::string_view value) { buffer("put", key, value, 0, false); }
  /// `value` under `key`, invisible from `ttl` after this call (ttl <= 0: no expiry).
  template <class Rep, class Period>
  void put(std::string_view key, std::string_view value, std::chrono::duration<Rep, Period> ttl) {
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(ttl).count();
    std::uint64_t expiry = ms <= 0 ? 0 : detail::wall_now_ms() + static_cast<std::uint64_t>(ms);
    buffer("put", key, value, expiry, false);
  }
  void del(std::string_view key) { buffer("del", key, {}, 0, true); }

  /// Every operation of `batch`, in order (the later one on a key wins).
  void write(const write_batch& batch) {
    batch.for_each([&](const batch_op& op) {
      if (op.op == batch_op::type::put) {
        buffer("write", op.key, op.value, op.expiry_ms, false);
      } else {
        buffer("write", op.key, {}, 0, true);
      }
    });
  }
  void put_batch(std::span<const std::pair<std::string_view, std::string_view>> kvs) {
    for (auto& [k, v] : kvs) buffer("put_batch", k, v, 0, false);
  }
  void put_batch(std::initializer_list<std::pair<std::string_view, std::string_view>> kvs) {
    for (auto& [k, v] : kvs) buffer("put_batch", k, v, 0, false);
  }
  void delete_batch(std::span<const std::string_view> keys) {
    for (auto k : keys) buffer("delete_batch", k, {}, 0, true);
  }
  void delete_batch(std::initializer_list<std::string_view> keys) {
    for (auto k : keys) buffer("delete_batch", k, {}, 0, true);
  }

  // ---- path helpers (as the database's) ----

  void put_path(std::string_view path, std::string_view value) {
    put(Db::path_key("put_path", path), value);
  }
  [[nodiscard]] std::optional<std::string> get_path(std::string_view path) {
    return get(Db::path_key("get_path", path));
  }
  void delete_path(std::string_view path) { del(Db::path_key("delete_path", path)); }

  // ---- end ----

  /// Validates and commits the writes atomically; returns the commit timestamp (hybrid logical
  /// clock). A transaction that wrote nothing returns its snapshot timestamp (or the newest
  /// published one at read_committed) and never conflicts. Throws transaction_conflict
  /// (the transaction is then aborted; retry it), or io_error as a batch commit would.
  std::uint64_t commit() {
    auto& t = c("commit");
    auto& st = *t.st;
    if (t.serializable()) {
      for (auto* sc : std::exchange(t.scans, {})) sc->detach();
      if (t.ssi) t.guarded([&] { t.report_scans(); });
    }
    if (t.writes.empty()) {
      std::uint64_t ts = t.have_snapshot ? t.snap : st.pipeline->published();
      if (t.ssi) st.conflicts->commit_read_only(t.ssi);
      t.finish(core::status::committed);
      run_on_commit(t, ts);
      return ts;
    }
    write_batch batch;
    for (auto& [k, w] : t.writes) {
      if (w.deleted) {
        batch.del(k);
      } else {
        batch.put(k, w.value, w.expiry_ms);
      }
    }
    std::uint64_t ts = 0;
    typename Db::conflict_manager_type::validation v{st.conflicts.get(), &batch, t.level, t.snap,
                                                     t.ssi ? &t.ssi : nullptr};
    try {
      if (st.conflicts) {
        ts = st.pipeline->commit(batch,
                                 commit_validator{&v, &Db::conflict_manager_type::validate_fn});
      } else {
        ts = st.pipeline->commit(batch);
      }
    } catch (const transaction_conflict& e) {
      t.fail(e.what());
      throw;
    } catch (...) {
      if (st.conflicts) st.conflicts->forget(v);  // validated, but storage failed
      t.finish(core::status::aborted);
      throw;
    }
    t.finish(core::status::committed);
    run_on_commit(t, ts);
    return ts;
  }

  /// Registers `fn(commit_ts)` to run once this transaction has committed, on the committing
  /// thread, after its writes are published and before commit() returns (in registration
  /// order). Dropped when the transaction aborts or fails. Derived state (the indexes of a
  /// collection, db/collection.hpp) uses it to follow committed data only. `fn` must not
  /// throw: the commit has happened and cannot be reported as failed.
  void on_commit(std::function<void(std::uint64_t)> fn) {
    c("on_commit").on_commit.push_back(std::move(fn));
  }

  /// Discards the writes and ends the transaction; a no-op once it has ended.
  void abort() noexcept {
    if (t_ && t_->stat == core::status::active) t_->finish(core::status::aborted);
  }

  // ---- properties ----

  [[nodiscard]] isolation_level isolation() const noexcept { return t_->level; }
  [[nodiscard]] bool read_only() const noexcept { return t_->read_only; }
  /// A number unique among this database's transactions since it was opened.
  [[nodiscard]] std::uint64_t id() const noexcept { return t_->id; }
  /// True until commit() or abort() (or a conflict) ends it.
  [[nodiscard]] bool active() const noexcept { return t_ && t_->stat == core::status::active; }
  /// The snapshot timestamp (taken now if it was not yet); 0 at read_committed, which has none.
  [[nodiscard]] std::uint64_t snapshot_ts() {
    auto& t = c("snapshot_ts");
    if (t.level == isolation_level::read_committed) return 0;
    t.ensure_snapshot();
    return t.snap;
  }
  /// Bytes of keys and values buffered for commit.
  [[nodiscard]] std::size_t pending_bytes() const noexcept { return t_->write_bytes; }

 private:
  friend Db;
  explicit basic_transaction(std::unique_ptr<core> t) : t_(std::move(t)) {}

  static void run_on_commit(core& t, std::uint64_t ts) noexcept {
    auto fns = std::move(t.on_commit);
    t.on_commit.clear();
    for (auto& f : fns) {
      try {
        f(ts);
      } catch (...) {
        // Contract: callbacks do not throw (see on_commit); never turn a commit into a failure.
      }
    }
  }

  core& c(const char* op) const {
    if (!t_) throw invalid_argument(std::string(op) + ": transaction was moved from");
    t_->check_active(op);
    return *t_;
  }

  void buffer(const char* op, std::string_view key, std::string_view value, std::uint64_t expiry_ms,
              bool deleted) {
    auto& t = c(op);
    auto& o = t.st->opt;
    if (t.read_only) {
      throw invalid_argument(std::string(op) + ": key " + printable_key(key) +
                             ": the transaction is read-only");
    }
    detail::check_txn_key(op, key, o);
    if (value.size() > o.max_value_size) {
      throw invalid_argument(std::string(op) + ": value of key " + printable_key(key) + " is " +
                             std::to_string(value.size()) + " bytes, more than max_value_size " +
                             std::to_string(o.max_value_size));
    }
    auto it = t.writes.find(key);
    std::size_t old = it == t.writes.end() ? 0 : key.size() + it->second.value.size();
    std::size_t grown = t.write_bytes - old + key.size() + value.size();
    if (grown > o.max_batch_bytes) {
      throw invalid_argument(std::string(op) + ": key " + printable_key(key) +
                             " would make the transaction's writes " + std::to_string(grown) +
                             " bytes, more than max_batch_bytes " +
                             std::to_string(o.max_batch_bytes));
    }
    if (t.level != isolation_level::read_committed) {
      t.ensure_snapshot();
      // First committer wins, early: a newer committed version already exists.
      t.guarded([&] { t.st->conflicts->check_write_early(key, t.snap); });
    }
    if (it == t.writes.end()) it = t.writes.try_emplace(std::string(key)).first;
    it->second.deleted = deleted;
    it->second.expiry_ms = expiry_ms;
    it->second.value.assign(value);
    t.write_bytes = grown;
  }

  scan_type make_scan(std::string lower, std::optional<std::string> upper, scan_order order) {
    auto& t = c("scan");
    auto& st = *t.st;
    snapshot_hold own;
    std::uint64_t ts = 0;
    if (t.level == isolation_level::read_committed) {
      own = snapshot_hold(st.tracker.get(), st.tracker->acquire(st.pipeline->published_atomic()));
      ts = own.ts();
    } else {
      t.ensure_snapshot();
      if (t.serializable()) t.guarded([&] { t.report_scans(); });
      ts = t.snap;
    }
    scan_spec spec{ts, lower, upper, order, detail::wall_now_ms()};
    auto cur = st.storage->scan(spec);
    return scan_type(&t, std::move(cur), std::move(own), order, std::move(lower), std::move(upper),
                     t.writes);
  }

  std::unique_ptr<core> t_;
};

/// A read-only view of the database at one timestamp (db.snapshot()): consistent while writes
/// go on, and it pins the versions it can read until it is destroyed or released (version GC
/// keeps them). Its reads are a consistent prefix of the commits (snapshot isolation); for
/// serializable reads use a read-only serializable transaction (docs/transactions.md).
template <class Db>
class basic_db_snapshot {
  using state = typename Db::state;

 public:
  using scan_type = typename Db::scan_type;

  basic_db_snapshot(basic_db_snapshot&& o) noexcept
      : st_(std::move(o.st_)), hold_(std::move(o.hold_)), live_(std::exchange(o.live_, false)) {}
  basic_db_snapshot& operator=(basic_db_snapshot&& o) noexcept {
    if (this != &o) {
      hold_ = std::move(o.hold_);
      st_ = std::move(o.st_);
      live_ = std::exchange(o.live_, false);
    }
    return *this;
  }
  ~basic_db_snapshot() = default;

  /// The commit timestamp it reads at.
  [[nodiscard]] std::uint64_t ts() const {
    check("ts");
    return hold_.ts();
  }
  [[nodiscard]] std::optional<std::string> get(std::string_view key) const {
    std::string out;
    if (!get(key, out)) return std::nullopt;
    return out;
  }
  bool get(std::string_view key, std::string& out) const {
    check("get");
    return st_->storage->get(key, hold_.ts(), detail::wall_now_ms(), out);
  }
  [[nodiscard]] bool exists(std::string_view key) const {
    std::string out;
    return get(key, out);
  }
  [[nodiscard]] std::vector<std::optional<std::string>> get_batch(
      std::initializer_list<std::string_view> keys) const {
    std::vector<std::optional<std::string>> out;
    std::string v;
    for (auto k : keys) out.emplace_back(get(k, v) ? std::optional<std::string>(v) : std::nullopt);
    return out;
  }
  [[nodiscard]] scan_type scan_prefix_unchecked(std::string_view prefix,
                                                scan_order order = scan_order::forward) const {
    std::string end = prefix_successor(prefix);
    std::optional<std::string> upper;
    if (!end.empty()) upper = std::move(end);
    return make_scan(std::string(prefix), std::move(upper), order);
  }
  [[nodiscard]] scan_type scan_prefix(std::string_view prefix,
                                      scan_order order = scan_order::forward) const {
    if (prefix.size() < 2) {
      throw invalid_argument("scan_prefix: prefix " + printable_key(prefix) +
                             " is shorter than 2 bytes (use scan_prefix_unchecked)");
    }
    return scan_prefix_unchecked(prefix, order);
  }
  [[nodiscard]] scan_type scan_range(std::string_view begin, std::string_view end,
                                     scan_order order = scan_order::forward) const {
    std::optional<std::string> upper;
    if (!end.empty()) upper = std::string(end);
    return make_scan(std::string(begin), std::move(upper), order);
  }
  /// Stops pinning versions; later calls throw invalid_argument.
  void release() noexcept {
    hold_.reset();
    live_ = false;
  }

 private:
  friend Db;
  basic_db_snapshot(std::shared_ptr<state> st, std::uint64_t ts)
      : st_(std::move(st)), hold_(st_->tracker.get(), ts), live_(true) {}

  void check(const char* op) const {
    if (!live_ || st_ == nullptr) {
      throw invalid_argument(std::string(op) + ": the snapshot was released or moved from");
    }
    if (st_->closed.load(std::memory_order_acquire)) {
      throw closed(std::string(op) + ": the database is closed");
    }
  }

  scan_type make_scan(std::string lower, std::optional<std::string> upper, scan_order order) const {
    check("scan");
    std::uint64_t ts = hold_.ts();
    st_->tracker->add(ts);  // the scan holds the snapshot too, and releases it
    try {
      scan_spec spec{ts, std::move(lower), std::move(upper), order, detail::wall_now_ms()};
      return scan_type(st_->storage->scan(spec), st_->tracker, ts);
    } catch (...) {
      st_->tracker->release(ts);
      throw;
    }
  }

  std::shared_ptr<state> st_;
  snapshot_hold hold_;
  bool live_ = false;
};

SOCHDB_END_NAMESPACE
