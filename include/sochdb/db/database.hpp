// sochdb/db/database.hpp — the key-value database: basic_database<Storage> and `database`.
//
//     auto db = sochdb::database::open("./my_db");        // posix_fs, lsm_storage, sync full
//     db.put("user:1", "Alice");
//     std::optional<std::string> v = db.get("user:1");
//     for (auto [key, value] : db.scan_prefix("user:")) { ... }
//
// Keys and values are byte strings (any bytes; keys order as unsigned bytes). Every write is a
// commit through one commit pipeline (storage/commit_pipeline.hpp): puts, deletes and batches
// are atomic, get a commit timestamp from the hybrid clock, and are durable as the sync mode
// promises when the call returns. Every read runs at a snapshot: the published timestamp when
// it starts (a scan keeps its snapshot for its whole life, so it streams a consistent view while
// writes go on). Missing keys are std::optional / false, never exceptions.
//
// Transactions (db/transaction.hpp, docs/transactions.md) and their isolation come from the
// second template parameter, the versioning policy (mvcc/policies.hpp; default `serializable`):
//     auto txn = db.begin();  ...  txn.commit();     db.transaction([](auto& txn) { ... });
// They commit through the same pipeline with a validator (mvcc/conflict_manager.hpp) and
// register their snapshots with the same tracker. Under a snapshot_isolation or serializable
// policy the single-operation writes above take part in conflict detection as one-write
// transactions (their write sets are recorded; they never abort).
//
// Thread safety: a database may be used from any number of threads at once. A scan object is
// used by one thread at a time. The database must outlive nothing: scans keep what they read
// alive, but using the database after close() throws `closed`.
#pragma once

#include <sochdb/core/clock.hpp>
#include <sochdb/db/extensions.hpp>
#include <sochdb/db/options.hpp>
#include <sochdb/db/snapshot_tracker.hpp>
#include <sochdb/db/transaction.hpp>
#include <sochdb/mvcc/conflict_manager.hpp>
#include <sochdb/mvcc/policies.hpp>
#include <sochdb/storage/commit_pipeline.hpp>
#include <sochdb/storage/concepts.hpp>
#include <sochdb/storage/lsm_storage.hpp>
#include <sochdb/storage/wal_storage.hpp>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// Counters of a database (stats()).
struct database_stats {
  storage_stats storage;             ///< backend: memtable, WAL, checkpoints, recovery
  std::uint64_t commits = 0;         ///< commits through the pipeline since open
  std::uint64_t commit_groups = 0;   ///< groups the leaders wrote (commits / groups = group size)
  std::uint64_t last_commit_ts = 0;  ///< published timestamp
  std::size_t live_snapshots = 0;    ///< open scans and in-flight reads
  conflict_stats transactions;       ///< conflicts and SSI bookkeeping (mvcc/conflict_manager.hpp)
};

/// A streaming scan: a consistent snapshot of a key range, read one entry at a time.
/// Use as a range (`for (auto [k, v] : scan)`) or as a cursor (valid/key/value/next). Views
/// returned stay valid until the scan advances.
template <class Cursor>
class basic_scan {
 public:
  basic_scan(Cursor c, std::shared_ptr<snapshot_tracker> t, std::uint64_t ts)
      : cursor_(std::move(c)), tracker_(std::move(t)), ts_(ts) {}
  basic_scan(basic_scan&& o) noexcept
      : cursor_(std::move(o.cursor_)), tracker_(std::move(o.tracker_)), ts_(o.ts_) {}
  basic_scan& operator=(basic_scan&&) = delete;
  basic_scan(const basic_scan&) = delete;
  ~basic_scan() {
    if (tracker_) tracker_->release(ts_);
  }

  [[nodiscard]] bool valid() const { return cursor_.valid(); }
  [[nodiscard]] std::string_view key() const { return cursor_.key(); }
  [[nodiscard]] std::string_view value() const { return cursor_.value(); }
  void next() { cursor_.next(); }
  /// The snapshot timestamp the scan reads at.
  [[nodiscard]] std::uint64_t snapshot_ts() const noexcept { return ts_; }

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = std::pair<std::string_view, std::string_view>;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(basic_scan* s) : s_(s) {}
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
    basic_scan* s_ = nullptr;
  };
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  Cursor cursor_;
  std::shared_ptr<snapshot_tracker> tracker_;
  std::uint64_t ts_;
};

template <class Db>
class basic_namespace;
struct namespace_info;
/// Labels of a namespace (key -> value).
using namespace_labels = std::map<std::string, std::string>;

template <storage_backend Storage = lsm_storage<posix_fs>,
          versioning_policy Versioning = serializable>
class basic_database {
 public:
  using storage_type = Storage;
  using versioning_type = Versioning;
  using fs_type = typename Storage::fs_type;
  using scan_type = basic_scan<typename Storage::cursor>;
  using transaction_type = basic_transaction<basic_database>;
  using snapshot_type = basic_db_snapshot<basic_database>;
  using conflict_manager_type = detail::conflict_manager<Storage>;

  /// Opens (or creates) the database in directory `path` and recovers it. `fs` is the
  /// file-system policy (posix_fs by default; memory_fs / fault_injection_fs in tests).
  static basic_database open(const std::string& path, const database_options& options = {},
                             fs_type fs = fs_type{}) {
    options.validate();
    return basic_database(std::make_shared<state>(path, options, std::move(fs)));
  }

  basic_database(basic_database&&) noexcept = default;
  basic_database& operator=(basic_database&&) noexcept = default;
  ~basic_database() = default;

  // ---- writes: each call is one atomic commit ----

  /// Stores `value` under `key`; returns the commit timestamp.
  std::uint64_t put(std::string_view key, std::string_view value) {
    check_put("put", key, value);
    write_batch& b = scratch_batch();
    b.put(key, value);
    return commit(b);
  }

  /// Stores `value` under `key` until `ttl` from now (ttl <= 0: no expiry, as in the SDK).
  template <class Rep, class Period>
  std::uint64_t put(std::string_view key, std::string_view value,
                    std::chrono::duration<Rep, Period> ttl) {
    check_put("put", key, value);
    write_batch& b = scratch_batch();
    b.put(key, value, expiry_after(ttl));
    return commit(b);
  }

  /// Removes `key` (a no-op commit when absent); returns the commit timestamp.
  std::uint64_t del(std::string_view key) {
    check_key("del", key);
    write_batch& b = scratch_batch();
    b.del(key);
    return commit(b);
  }

  /// Stores every pair atomically (all or none, one commit timestamp).
  std::uint64_t put_batch(std::span<const std::pair<std::string_view, std::string_view>> kvs) {
    write_batch b;
    for (auto& [k, v] : kvs) {
      check_put("put_batch", k, v);
      b.put(k, v);
    }
    return write(b);
  }
  std::uint64_t put_batch(
      std::initializer_list<std::pair<std::string_view, std::string_view>> kvs) {
    return put_batch(
        std::span<const std::pair<std::string_view, std::string_view>>(kvs.begin(), kvs.size()));
  }

  /// Deletes every key atomically.
  std::uint64_t delete_batch(std::span<const std::string_view> keys) {
    write_batch b;
    for (auto k : keys) {
      check_key("delete_batch", k);
      b.del(k);
    }
    return write(b);
  }
  std::uint64_t delete_batch(std::initializer_list<std::string_view> keys) {
    return delete_batch(std::span<const std::string_view>(keys.begin(), keys.size()));
  }

  /// Commits a mixed batch atomically; returns its commit timestamp.
  std::uint64_t write(const write_batch& batch) {
    if (batch.payload_bytes() > s().opt.max_batch_bytes) {
      throw invalid_argument("write: batch of " + std::to_string(batch.payload_bytes()) +
                             " bytes exceeds max_batch_bytes " +
                             std::to_string(s().opt.max_batch_bytes));
    }
    batch.for_each([&](const batch_op& op) {
      if (op.op == batch_op::type::put) {
        check_put("write", op.key, op.value);
      } else {
        check_key("write", op.key);
      }
    });
    return commit(batch);
  }

  // ---- reads: each at the newest published snapshot ----

  [[nodiscard]] std::optional<std::string> get(std::string_view key) const {
    std::string out;
    if (!get(key, out)) return std::nullopt;
    return out;
  }
  /// Allocation-free form: true and the value in `out`, or false.
  bool get(std::string_view key, std::string& out) const {
    auto& st = s();
    snapshot_hold h(st.tracker.get(), st.tracker->acquire(st.pipeline->published_atomic()));
    return st.storage->get(key, h.ts(), now_ms(), out);
  }
  [[nodiscard]] bool exists(std::string_view key) const {
    std::string out;
    return get(key, out);
  }

  /// Values of `keys` (nullopt for missing ones), all read at one snapshot.
  [[nodiscard]] std::vector<std::optional<std::string>> get_batch(
      std::span<const std::string_view> keys) const {
    auto& st = s();
    snapshot_hold h(st.tracker.get(), st.tracker->acquire(st.pipeline->published_atomic()));
    std::uint64_t now = now_ms();
    std::vector<std::optional<std::string>> out;
    out.reserve(keys.size());
    std::string v;
    for (auto k : keys) {
      if (st.storage->get(k, h.ts(), now, v)) {
        out.emplace_back(v);
      } else {
        out.emplace_back(std::nullopt);
      }
    }
    return out;
  }
  [[nodiscard]] std::vector<std::optional<std::string>> get_batch(
      std::initializer_list<std::string_view> keys) const {
    return get_batch(std::span<const std::string_view>(keys.begin(), keys.size()));
  }

  /// Keys starting with `prefix` (at least 2 bytes, as in the SDK, so a typo cannot turn into
  /// a full scan; use scan_prefix_unchecked for shorter prefixes).
  [[nodiscard]] scan_type scan_prefix(std::string_view prefix,
                                      scan_order order = scan_order::forward) const {
    if (prefix.size() < 2) {
      throw invalid_argument("scan_prefix: prefix " + printable_key(prefix) +
                             " is shorter than 2 bytes (use scan_prefix_unchecked)");
    }
    return scan_prefix_unchecked(prefix, order);
  }
  /// Any prefix, "" included (a full scan).
  [[nodiscard]] scan_type scan_prefix_unchecked(std::string_view prefix,
                                                scan_order order = scan_order::forward) const {
    std::string end = prefix_successor(prefix);
    std::optional<std::string> upper;
    if (!end.empty()) upper = std::move(end);
    return make_scan(std::string(prefix), std::move(upper), order);
  }
  /// Keys in [begin, end); an empty `end` means "to the last key".
  [[nodiscard]] scan_type scan_range(std::string_view begin, std::string_view end,
                                     scan_order order = scan_order::forward) const {
    std::optional<std::string> upper;
    if (!end.empty()) upper = std::string(end);
    return make_scan(std::string(begin), std::move(upper), order);
  }

  // ---- path helpers: hierarchical keys "a/b/c" ----

  std::uint64_t put_path(std::string_view path, std::string_view value) {
    return put(path_key("put_path", path), value);
  }
  [[nodiscard]] std::optional<std::string> get_path(std::string_view path) const {
    return get(path_key("get_path", path));
  }
  std::uint64_t delete_path(std::string_view path) { return del(path_key("delete_path", path)); }
  /// The direct children of `path` ("users/" or "users": "alice", "bob"), sorted, each once;
  /// "" or "/" lists the top level. Skips over each child's subtree with one seek.
  [[nodiscard]] std::vector<std::string> list_path(std::string_view path) const {
    while (!path.empty() && path.front() == '/') path.remove_prefix(1);
    std::string prefix(path);
    if (!prefix.empty() && prefix.back() != '/') prefix += '/';
    std::optional<std::string> upper;
    if (std::string e = prefix_successor(prefix); !e.empty()) upper = std::move(e);
    auto& st = s();
    // One snapshot for the whole listing; each seek below is a scan at that timestamp.
    snapshot_hold hold(st.tracker.get(), st.tracker->acquire(st.pipeline->published_atomic()));
    std::vector<std::string> children;
    std::string from = prefix;
    for (;;) {
      st.tracker->add(hold.ts());
      auto sc = make_scan_at(hold.ts(), from, upper, scan_order::forward);
      if (!sc.valid()) break;
      std::string_view rest = sc.key().substr(prefix.size());
      std::size_t slash = rest.find('/');
      std::string child(rest.substr(0, slash));
      if (children.empty() || children.back() != child) children.push_back(child);
      if (slash == std::string_view::npos) {
        from = std::string(sc.key());
        from.push_back('\0');  // the next key after this leaf
      } else {
        from = prefix + child + '0';  // '0' follows '/': past the whole subtree
      }
    }
    return children;
  }

  // ---- transactions (db/transaction.hpp, docs/transactions.md) ----

  /// Starts a transaction at `level` (default: the policy's). Its snapshot is taken at its
  /// first read or write. Levels stronger than the policy's throw invalid_argument.
  [[nodiscard]] transaction_type begin(isolation_level level = Versioning::level) {
    return begin(transaction_options{.isolation = level});
  }
  [[nodiscard]] transaction_type begin(const transaction_options& o) {
    auto& st = s();
    o.validate();
    isolation_level level = o.isolation.value_or(Versioning::level);
    if (level > Versioning::level) {
      throw invalid_argument("begin: isolation level " + std::string(to_string(level)) +
                             " needs a stronger versioning policy than " +
                             std::string(Versioning::name));
    }
    auto id = st.next_txn_id.fetch_add(1, std::memory_order_relaxed);
    return transaction_type(
        std::make_unique<detail::txn_core<basic_database>>(st_, level, o.read_only, id));
  }

  /// Runs fn(txn) in a new transaction and commits it (unless fn ended it), retrying the whole
  /// of it when a transaction_conflict is thrown (by fn's reads and writes or by commit), up to
  /// `o.max_attempts` times with jittered exponential backoff; then the conflict is rethrown.
  /// Any other exception aborts the transaction and propagates. Returns fn's result.
  template <class F>
  auto transaction(F&& fn, const transaction_options& o = {})
      -> std::invoke_result_t<F&, transaction_type&> {
    using result = std::invoke_result_t<F&, transaction_type&>;
    o.validate();
    for (int attempt = 1;; ++attempt) {
      auto txn = begin(o);
      try {
        if constexpr (std::is_void_v<result>) {
          fn(txn);
          if (txn.active()) txn.commit();
          return;
        } else {
          result r = fn(txn);
          if (txn.active()) txn.commit();
          return r;
        }
      } catch (const transaction_conflict& e) {
        txn.abort();
        if (attempt >= o.max_attempts) {
          throw transaction_conflict(std::string(e.what()) + " (gave up after " +
                                     std::to_string(attempt) + " attempts)");
        }
      }
      backoff(attempt, o);
    }
  }

  /// A read-only view at the newest published commit that stays consistent while writes go on
  /// (it pins the versions it reads until destroyed or released).
  [[nodiscard]] snapshot_type snapshot() const requires(Versioning::snapshots) {
    auto& st = s();
    return snapshot_type(st_, st.tracker->acquire(st.pipeline->published_atomic()));
  }

  // ---- namespaces, collections and semantic caches (db/namespace.hpp, docs/collections.md) ----
  // Members are templates so that they compile only where <sochdb/db/namespace.hpp> (or
  // <sochdb/db.hpp>) is included. The cache_* members act on the namespace "default".

  template <class D = basic_database>
  basic_namespace<D> create_namespace(std::string_view name, namespace_labels labels = {},
                                      std::string display_name = {}) {
    return basic_namespace<D>::create(*this, name, std::move(labels), std::move(display_name));
  }
  /// The existing namespace `name` (not_found otherwise).
  template <class D = basic_database>
  basic_namespace<D> ns(std::string_view name) {
    return basic_namespace<D>::open(*this, name);
  }
  template <class D = basic_database>
  basic_namespace<D> get_or_create_namespace(std::string_view name, namespace_labels labels = {}) {
    return basic_namespace<D>::get_or_create(*this, name, std::move(labels));
  }
  template <class D = basic_database>
  [[nodiscard]] bool namespace_exists(std::string_view name) const {
    return basic_namespace<D>::exists(*this, name);
  }
  template <class D = basic_database>
  [[nodiscard]] std::vector<std::string> list_namespaces() const {
    return basic_namespace<D>::list(*this);
  }
  template <class D = basic_database>
  [[nodiscard]] auto namespace_info(std::string_view name) const {
    return basic_namespace<D>::info(*this, name);
  }
  template <class D = basic_database>
  void update_namespace(std::string_view name, namespace_labels labels) {
    basic_namespace<D>::update_labels(*this, name, std::move(labels));
  }
  /// Deletes a namespace; one holding data only with `force` (then all its data).
  template <class D = basic_database>
  void delete_namespace(std::string_view name, bool force = false) {
    basic_namespace<D>::remove(*this, name, force);
  }
  /// Runs fn(ns) with the namespace `name` (created if missing): the scope of the seed's
  /// `with db.use_namespace(...)`.
  template <class F, class D = basic_database>
  decltype(auto) use_namespace(std::string_view name, F&& fn) {
    auto n = basic_namespace<D>::get_or_create(*this, name);
    return fn(n);
  }
  /// Copies the KV keys under `prefix` from namespace `from` to `to` (one transaction).
  template <class D = basic_database>
  std::size_t copy_between_namespaces(std::string_view from, std::string_view to,
                                      std::string_view prefix = {}) {
    return basic_namespace<D>::copy_between(*this, from, to, prefix);
  }
  template <class D = basic_database, class... A>
  void cache_put(std::string_view cache, A&&... args) {
    basic_namespace<D>::get_or_create(*this, "default").cache_put(cache, std::forward<A>(args)...);
  }
  template <class D = basic_database, class... A>
  auto cache_get(std::string_view cache, A&&... args) {
    return basic_namespace<D>::get_or_create(*this, "default")
        .cache_get(cache, std::forward<A>(args)...);
  }
  template <class D = basic_database>
  bool cache_delete(std::string_view cache, std::string_view key) {
    return basic_namespace<D>::get_or_create(*this, "default").cache_delete(cache, key);
  }
  template <class D = basic_database>
  std::size_t cache_clear(std::string_view cache) {
    return basic_namespace<D>::get_or_create(*this, "default").cache_clear(cache);
  }
  template <class D = basic_database>
  auto cache_stats(std::string_view cache) {
    return basic_namespace<D>::get_or_create(*this, "default").cache_stats_of(cache);
  }

  // ---- maintenance ----

  /// Makes every commit so far durable (meaningful under sync normal/off).
  void flush() { s().storage->flush(); }
  /// Flushes, garbage-collects old versions and truncates the WAL (docs/kv.md).
  void checkpoint() { s().storage->checkpoint(); }
  /// Compacts the whole tree: every level down to the deepest, dropping versions no reader can
  /// see (backends with compaction, i.e. lsm_storage; docs/storage.md). Like every member, it
  /// is compiled only when used, so other backends simply lack it.
  void compact() { s().storage->compact(); }
  /// Compacts the files overlapping user keys [begin, end) (empty end: to the last key).
  void compact_range(std::string_view begin, std::string_view end) {
    std::optional<std::string_view> e;
    if (!end.empty()) e = end;
    s().storage->compact_range(begin, e);
  }

  [[nodiscard]] database_stats stats() const {
    auto& st = s();
    database_stats d;
    d.storage = st.storage->stats();
    auto [groups, commits] = st.pipeline->counts();
    d.commits = commits;
    d.commit_groups = groups;
    d.last_commit_ts = st.pipeline->published();
    d.live_snapshots = st.tracker->live();
    if (st.conflicts) d.transactions = st.conflicts->stats();
    return d;
  }

  /// The newest published commit timestamp.
  [[nodiscard]] std::uint64_t last_commit_ts() const { return s().pipeline->published(); }

  /// Syncs and closes. Later calls throw `closed`; the destructor closes quietly.
  void close() {
    if (!st_) return;
    auto st = std::move(st_);
    st->closed.store(true, std::memory_order_release);
    st->ext.close_all();
    st->storage->close();
  }
  [[nodiscard]] bool is_open() const noexcept { return st_ != nullptr; }

  /// The backend (for tools and tests).
  Storage& storage() { return *s().storage; }

  /// The directory the database was opened in, and (a copy of) its file-system policy: layers
  /// that keep files next to the KV store (index checkpoints, db/collection.hpp) use them.
  [[nodiscard]] const std::string& directory() const { return s().path; }
  [[nodiscard]] fs_type file_system() const { return s().fs; }
  /// Per-database state of the layers above the KV store (db/extensions.hpp).
  [[nodiscard]] extension_registry& extensions() const { return s().ext; }

 private:
  template <class>
  friend class basic_transaction;
  template <class>
  friend class basic_db_snapshot;
  template <class>
  friend struct detail::txn_core;

  // Conflict detection is needed as soon as a transaction may run at snapshot level or above.
  static constexpr bool validates = Versioning::level != isolation_level::read_committed;

  struct state {
    state(const std::string& p, const database_options& o, fs_type f)
        : opt(o), path(p), fs(f), storage(Storage::open(std::move(f), p, o.storage())) {
      pipeline = std::make_unique<commit_pipeline<Storage>>(*storage, clock, o.max_group_bytes,
                                                            o.sync == sync_mode::full);
      storage->set_snapshot_horizon(
          [t = tracker.get(), p = pipeline.get()] { return t->horizon(p->published()); });
      // Backends that can drop versions between live snapshots get the whole list.
      if constexpr (requires(Storage & b) {
                      b.set_snapshot_points(std::function<void(std::vector<std::uint64_t>&)>{});
                    }) {
        storage->set_snapshot_points(
            [t = tracker.get(), p = pipeline.get()](std::vector<std::uint64_t>& out) {
              t->points(p->published(), out);
            });
      }
      if constexpr (validates) {
        conflicts = std::make_unique<conflict_manager_type>(
            *storage, pipeline->published_atomic(),
            Versioning::level == isolation_level::serializable, o.ssi_memory_limit);
      }
    }
    ~state() {
      ext.close_all();
      if (storage) {
        try {
          storage->close();
        } catch (...) {
          // Reported by an explicit close().
        }
      }
    }
    database_options opt;
    std::string path;
    fs_type fs;
    extension_registry ext;
    hybrid_clock clock;
    std::shared_ptr<snapshot_tracker> tracker = std::make_shared<snapshot_tracker>();
    std::unique_ptr<Storage> storage;
    std::unique_ptr<commit_pipeline<Storage>> pipeline;
    std::unique_ptr<conflict_manager_type> conflicts;  // null under read_committed policies
    std::atomic<bool> closed{false};
    std::atomic<std::uint64_t> next_txn_id{1};
  };

  explicit basic_database(std::shared_ptr<state> st) : st_(std::move(st)) {}

  state& s() const {
    if (!st_) throw closed("database is closed");
    return *st_;
  }

  std::uint64_t commit(const write_batch& b) {
    auto& st = s();
    if (st.conflicts && !b.empty()) {
      // A one-write transaction: its write set is recorded for conflict detection.
      typename conflict_manager_type::validation v{st.conflicts.get(), &b};
      try {
        return st.pipeline->commit(b, commit_validator{&v, &conflict_manager_type::validate_fn});
      } catch (...) {
        st.conflicts->forget(v);  // validated, but storage failed: it never commits
        throw;
      }
    }
    return st.pipeline->commit(b);
  }

  // Full jitter (uniform in [0, min(max, base * 2^(attempt-1)))).
  static void backoff(int attempt, const transaction_options& o) {
    thread_local std::minstd_rand rng(std::random_device{}());
    auto bound = o.backoff_base.count() << std::min(attempt - 1, 20);
    bound = std::min<decltype(bound)>(bound, o.backoff_max.count());
    if (bound <= 0) return;
    std::uniform_int_distribution<long long> d(0, static_cast<long long>(bound) - 1);
    std::this_thread::sleep_for(std::chrono::microseconds(d(rng)));
  }

  // A per-thread batch for single puts and deletes, so they allocate nothing once warm. A
  // commit returns before its thread builds the next batch, so reuse is safe.
  static write_batch& scratch_batch() {
    thread_local write_batch b;
    b.clear();
    return b;
  }

  scan_type make_scan(std::string lower, std::optional<std::string> upper, scan_order order) const {
    auto& st = s();
    return make_scan_at(st.tracker->acquire(st.pipeline->published_atomic()), std::move(lower),
                        std::move(upper), order);
  }

  // A scan at `ts`, which the caller has registered with the tracker once for this scan; the
  // scan releases it.
  scan_type make_scan_at(std::uint64_t ts, std::string lower, std::optional<std::string> upper,
                         scan_order order) const {
    auto& st = s();
    try {
      scan_spec spec{ts, std::move(lower), std::move(upper), order, now_ms()};
      return scan_type(st.storage->scan(spec), st.tracker, ts);
    } catch (...) {
      st.tracker->release(ts);
      throw;
    }
  }

  static std::uint64_t now_ms() { return system_ms_source{}(); }

  template <class Rep, class Period>
  static std::uint64_t expiry_after(std::chrono::duration<Rep, Period> ttl) {
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(ttl).count();
    if (ms <= 0) return 0;
    return now_ms() + static_cast<std::uint64_t>(ms);
  }

  void check_key(const char* op, std::string_view key) const {
    if (key.empty()) throw invalid_argument(std::string(op) + ": key is empty");
    if (key.size() > s().opt.max_key_size) {
      throw invalid_argument(std::string(op) + ": key " + printable_key(key) + " is " +
                             std::to_string(key.size()) + " bytes, more than max_key_size " +
                             std::to_string(s().opt.max_key_size));
    }
  }
  void check_put(const char* op, std::string_view key, std::string_view value) const {
    check_key(op, key);
    if (value.size() > s().opt.max_value_size) {
      throw invalid_argument(std::string(op) + ": value of key " + printable_key(key) + " is " +
                             std::to_string(value.size()) + " bytes, more than max_value_size " +
                             std::to_string(s().opt.max_value_size));
    }
  }

  static std::string path_key(const char* op, std::string_view path) {
    while (!path.empty() && path.front() == '/') path.remove_prefix(1);
    if (path.empty()) throw invalid_argument(std::string(op) + ": path is empty");
    if (path.back() == '/' || path.find("//") != std::string_view::npos) {
      throw invalid_argument(std::string(op) + ": path " + printable_key(path) +
                             " has an empty component");
    }
    return std::string(path);
  }

  std::shared_ptr<state> st_;
};

/// The default database: posix_fs, the LSM backend (WAL + leveled SSTables), sync full,
/// serializable.
using database = basic_database<>;
/// A transaction of the default database.
using transaction = database::transaction_type;

SOCHDB_END_NAMESPACE
