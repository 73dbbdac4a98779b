// kv_bench adapters: one small class per library behind one interface, so every library runs
// the same key stream with the same sync semantics (each adapter's comment says how it maps
// them). Comparison libraries are compiled in only when meson found them
// (SOCHDB_BENCH_ROCKSDB, _LEVELDB, _LMDB, _SQLITE).
//
// Equivalent configuration (bench_config): every library that has a block/page cache gets the
// same size (--cache-mb, default 128 MiB: sochdb's block cache, RocksDB's LRU block cache,
// LevelDB's block cache, SQLite's page cache; LMDB has none, it reads the OS page cache through
// its map); the LSMs get the same memtable size (64 MiB: sochdb's memtable_size, RocksDB's and
// LevelDB's write_buffer_size), 10-bit bloom filters and 4 KiB blocks, and the same compression
// where the library has it (LevelDB only knows snappy: it gets snappy for lz4/zstd).
//
// Transactions (the `txn` workload): `txn_rmw(k1, k2)` reads both keys and writes each one the
// other's value (a 2-key read-modify-write: the writes depend on the reads), in one transaction
// that the adapter retries until it commits, returning the number of retries. sochdb runs it
// serializable (`sochdb`) or at snapshot isolation (`sochdb_si`); RocksDB pessimistically
// (`rocksdb_txn`: TransactionDB, GetForUpdate locks in key order, then Put, Commit) and
// optimistically (`rocksdb_occ`: OptimisticTransactionDB with a snapshot, GetForUpdate, Put,
// Commit validates); SQLite with BEGIN IMMEDIATE; LMDB with a write transaction (one writer at a
// time). LevelDB has no transactions.
#pragma once

#include <sochdb/db.hpp>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

#if SOCHDB_BENCH_ROCKSDB
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/optimistic_transaction_db.h>
#include <rocksdb/utilities/transaction.h>
#include <rocksdb/utilities/transaction_db.h>
#endif
#if SOCHDB_BENCH_LEVELDB
#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>
#endif
#if SOCHDB_BENCH_LMDB
#include <lmdb.h>
#endif
#if SOCHDB_BENCH_SQLITE
#include <sqlite3.h>
#endif

namespace sochdb_bench {

enum class sync_kind { off, normal, full };

/// What every adapter is configured with (kv_bench's command line).
struct bench_config {
  sync_kind sync = sync_kind::off;
  std::string compression = "lz4";         ///< lz4 | zstd | none
  std::size_t cache_bytes = 128ull << 20;  ///< block / page cache
  std::size_t memtable_bytes = 64ull << 20;
  bool mmap = false;           ///< sochdb: read SSTables through mmap
  bool flush_on_close = true;  ///< sochdb: close() flushes the memtable (its default)
};

/// Every adapter is used from several threads at once (the libraries are thread-safe or the
/// adapter makes them so).
class kv_adapter {
 public:
  virtual ~kv_adapter() = default;
  virtual std::string name() const = 0;
  virtual void put(std::string_view k, std::string_view v) = 0;
  virtual bool get(std::string_view k, std::string& out) = 0;
  /// Positions at the first key >= k and reads up to n entries; returns how many.
  virtual int seek_scan(std::string_view k, int n) = 0;
  /// Makes everything durable and closes.
  virtual void close() = 0;
  /// Whether txn_rmw is supported.
  virtual bool has_txn() const { return false; }
  /// Flushes and compacts everything (the `compact` workload); false when the library has no
  /// such operation.
  virtual bool compact_all() { return false; }
  /// One transaction: reads k1 and k2, writes k1 = old k2 and k2 = old k1; retried until it
  /// commits. Returns the number of retries.
  virtual int txn_rmw(std::string_view, std::string_view) {
    throw std::logic_error(name() + " has no transactions");
  }
};

inline std::uint64_t directory_bytes(const std::string& dir) {
  std::uint64_t n = 0;
  std::error_code ec;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) n += e.file_size(ec);
  }
  return n;
}

// ---- sochdb: the default database (lsm_storage on posix_fs, with the policy the compression
// option names); sync modes map one to one. ----
template <class Db>
class sochdb_adapter : public kv_adapter {
 public:
  sochdb_adapter(const std::string& dir, const bench_config& c,
                 sochdb::isolation_level level = sochdb::isolation_level::serializable)
      : level_(level) {
    sochdb::sync_mode m = c.sync == sync_kind::full     ? sochdb::sync_mode::full
                          : c.sync == sync_kind::normal ? sochdb::sync_mode::normal
                                                        : sochdb::sync_mode::off;
    sochdb::database_options o{.sync = m, .memtable_size = c.memtable_bytes};
    o.lsm.block_cache_size = c.cache_bytes;
    o.lsm.use_mmap_reads = c.mmap;
    o.lsm.flush_on_close = c.flush_on_close;
    db_.emplace(Db::open(dir, o));
  }
  std::string name() const override {
    return level_ == sochdb::isolation_level::serializable ? "sochdb" : "sochdb_si";
  }
  void put(std::string_view k, std::string_view v) override { db_->put(k, v); }
  bool has_txn() const override { return true; }
  int txn_rmw(std::string_view k1, std::string_view k2) override {
    int attempts = 0;
    db_->transaction(
        [&](auto& txn) {
          ++attempts;
          thread_local std::string a, b;
          txn.get(k1, a);
          txn.get(k2, b);
          txn.put(k1, b);
          txn.put(k2, a);
        },
        {.isolation = level_, .max_attempts = 1 << 30});
    return attempts - 1;
  }
  bool get(std::string_view k, std::string& out) override { return db_->get(k, out); }
  int seek_scan(std::string_view k, int n) override {
    int got = 0;
    for (auto sc = db_->scan_range(k, ""); sc.valid() && got < n; sc.next()) {
      do_not_optimize(sc.value().size());
      ++got;
    }
    return got;
  }
  bool compact_all() override {
    db_->compact();
    return true;
  }
  void close() override {
    db_->flush();
    auto s = db_->stats();
    if (s.commits > 0) {
      std::fprintf(stderr,
                   "sochdb: %llu commits in %llu groups, %llu WAL syncs (%.3f per commit)\n",
                   static_cast<unsigned long long>(s.commits),
                   static_cast<unsigned long long>(s.commit_groups),
                   static_cast<unsigned long long>(s.storage.wal_syncs),
                   static_cast<double>(s.storage.wal_syncs) / static_cast<double>(s.commits));
    }
    const auto& l = s.storage.lsm;
    std::fprintf(stderr,
                 "sochdb: %llu flushes, %llu compactions (%llu trivial moves), write amp %.2f, "
                 "stall %.1f ms, cache hit rate %.3f, bloom useful %llu of %llu\n",
                 static_cast<unsigned long long>(l.flushes),
                 static_cast<unsigned long long>(l.compactions),
                 static_cast<unsigned long long>(l.trivial_moves), l.write_amplification,
                 static_cast<double>(l.stall_micros) / 1000.0, l.cache_hit_rate,
                 static_cast<unsigned long long>(l.bloom_useful),
                 static_cast<unsigned long long>(l.bloom_checks));
    auto& t = s.transactions;
    if (t.write_conflicts + t.ssi_conflicts > 0) {
      std::fprintf(stderr, "sochdb: %llu write conflicts, %llu SSI aborts\n",
                   static_cast<unsigned long long>(t.write_conflicts),
                   static_cast<unsigned long long>(t.ssi_conflicts));
    }
    db_->close();
  }

 private:
  sochdb::isolation_level level_;
  std::optional<Db> db_;
};

#if SOCHDB_BENCH_ROCKSDB
// The RocksDB options both RocksDB adapters use: compression as asked (lz4 default), a 10-bit
// bloom filter, an LRU block cache of --cache-mb, 4 KiB blocks, write_buffer_size = the memtable
// size; statistics on so WAL syncs per commit can be reported.
inline rocksdb::Options rocksdb_options(const bench_config& c) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.compression = c.compression == "zstd"   ? rocksdb::kZSTD
                  : c.compression == "none" ? rocksdb::kNoCompression
                                            : rocksdb::kLZ4Compression;
  o.write_buffer_size = c.memtable_bytes;
  o.statistics = rocksdb::CreateDBStatistics();
  rocksdb::BlockBasedTableOptions t;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  t.block_cache = rocksdb::NewLRUCache(c.cache_bytes);
  t.block_size = 4096;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

// RocksDB: WriteOptions.sync = true for full; for normal and off writes go to the WAL without
// sync (RocksDB has no timed sync). Compression as asked (lz4 default), 10-bit bloom filter,
// an LRU block cache of --cache-mb, 4 KiB blocks, write_buffer_size = the memtable size.
// (rocksdb_options.) Statistics are on so the number of WAL syncs can be reported.
class rocksdb_adapter : public kv_adapter {
 public:
  rocksdb_adapter(const std::string& dir, const bench_config& c) {
    rocksdb::Options o = rocksdb_options(c);
    rocksdb::DB* db = nullptr;
    auto st = rocksdb::DB::Open(o, dir, &db);
    if (!st.ok()) throw std::runtime_error("rocksdb: " + st.ToString());
    db_.reset(db);
    stats_ = o.statistics;
    wo_.sync = c.sync == sync_kind::full;
  }
  std::string name() const override { return "rocksdb"; }
  void put(std::string_view k, std::string_view v) override {
    auto st = db_->Put(wo_, rocksdb::Slice(k.data(), k.size()), rocksdb::Slice(v.data(), v.size()));
    if (!st.ok()) throw std::runtime_error("rocksdb put: " + st.ToString());
  }
  bool get(std::string_view k, std::string& out) override {
    return db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(k.data(), k.size()), &out).ok();
  }
  int seek_scan(std::string_view k, int n) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    int got = 0;
    for (it->Seek(rocksdb::Slice(k.data(), k.size())); it->Valid() && got < n; it->Next()) {
      do_not_optimize(it->value().size());
      ++got;
    }
    return got;
  }
  bool compact_all() override {
    rocksdb::CompactRangeOptions o;
    o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    auto st = db_->CompactRange(o, nullptr, nullptr);
    if (!st.ok()) throw std::runtime_error("rocksdb compact: " + st.ToString());
    return true;
  }
  void close() override {
    if (db_) {
      db_->FlushWAL(true);
      std::uint64_t syncs = stats_->getTickerCount(rocksdb::WAL_FILE_SYNCED);
      std::uint64_t writes = stats_->getTickerCount(rocksdb::WRITE_DONE_BY_SELF) +
                             stats_->getTickerCount(rocksdb::WRITE_DONE_BY_OTHER);
      if (writes > 0) {
        std::fprintf(stderr, "rocksdb: %llu commits, %llu WAL syncs (%.3f per commit)\n",
                     static_cast<unsigned long long>(writes),
                     static_cast<unsigned long long>(syncs),
                     static_cast<double>(syncs) / static_cast<double>(writes));
      }
      db_.reset();
    }
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::shared_ptr<rocksdb::Statistics> stats_;
  rocksdb::WriteOptions wo_;
};

// RocksDB's transactions, same options and sync mapping as rocksdb_adapter. Plain puts and
// gets go through the transaction DB (pessimistic: each put takes its key's lock).
//   pessimistic (rocksdb_txn): TransactionDB; GetForUpdate locks both keys (in key order, so two
//     transactions never deadlock), Put, Commit; a lock timeout or busy status retries.
//   optimistic (rocksdb_occ): OptimisticTransactionDB; snapshot at begin, GetForUpdate registers
//     the keys for validation, Put, Commit fails with Busy on a conflict and retries.
class rocksdb_txn_adapter : public kv_adapter {
 public:
  rocksdb_txn_adapter(const std::string& dir, const bench_config& c, bool optimistic)
      : optimistic_(optimistic) {
    rocksdb::Options o = rocksdb_options(c);
    rocksdb::Status st;
    if (optimistic_) {
      rocksdb::OptimisticTransactionDB* db = nullptr;
      st = rocksdb::OptimisticTransactionDB::Open(o, dir, &db);
      occ_.reset(db);
      base_ = db;
    } else {
      rocksdb::TransactionDB* db = nullptr;
      st = rocksdb::TransactionDB::Open(o, rocksdb::TransactionDBOptions(), dir, &db);
      pess_.reset(db);
      base_ = db;
    }
    if (!st.ok()) throw std::runtime_error(name() + ": " + st.ToString());
    wo_.sync = c.sync == sync_kind::full;
  }
  std::string name() const override { return optimistic_ ? "rocksdb_occ" : "rocksdb_txn"; }
  void put(std::string_view k, std::string_view v) override {
    auto st = base_->Put(wo_, slice(k), slice(v));
    if (!st.ok()) throw std::runtime_error(name() + " put: " + st.ToString());
  }
  bool get(std::string_view k, std::string& out) override {
    return base_->Get(rocksdb::ReadOptions(), slice(k), &out).ok();
  }
  int seek_scan(std::string_view k, int n) override {
    std::unique_ptr<rocksdb::Iterator> it(base_->NewIterator(rocksdb::ReadOptions()));
    int got = 0;
    for (it->Seek(slice(k)); it->Valid() && got < n; it->Next()) {
      do_not_optimize(it->value().size());
      ++got;
    }
    return got;
  }
  bool has_txn() const override { return true; }
  int txn_rmw(std::string_view k1, std::string_view k2) override {
    thread_local std::string a, b;
    thread_local std::unique_ptr<rocksdb::Transaction> reuse;
    thread_local const void* owner = nullptr;
    if (owner != this) {
      reuse.reset();
      owner = this;
    }
    std::string_view first = k1 < k2 ? k1 : k2, second = k1 < k2 ? k2 : k1;
    for (int retries = 0;; ++retries) {
      rocksdb::Transaction* t = nullptr;
      rocksdb::ReadOptions ro;
      if (optimistic_) {
        rocksdb::OptimisticTransactionOptions to;
        to.set_snapshot = true;
        t = occ_->BeginTransaction(wo_, to, reuse.get());
        ro.snapshot = t->GetSnapshot();
      } else {
        t = pess_->BeginTransaction(wo_, rocksdb::TransactionOptions(), reuse.get());
      }
      if (t != reuse.get()) reuse.reset(t);
      std::string* out_first = first == k1 ? &a : &b;
      std::string* out_second = first == k1 ? &b : &a;
      auto st = t->GetForUpdate(ro, slice(first), out_first);
      if (st.ok()) st = t->GetForUpdate(ro, slice(second), out_second);
      if (st.ok()) st = t->Put(slice(k1), slice(b));
      if (st.ok()) st = t->Put(slice(k2), slice(a));
      if (st.ok()) st = t->Commit();
      if (st.ok()) return retries;
      t->Rollback();
      if (!st.IsBusy() && !st.IsTimedOut() && !st.IsTryAgain()) {
        throw std::runtime_error(name() + " txn: " + st.ToString());
      }
    }
  }
  void close() override {
    if (base_ != nullptr) {
      base_->FlushWAL(true);
      occ_.reset();
      pess_.reset();
      base_ = nullptr;
    }
  }

 private:
  static rocksdb::Slice slice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
  bool optimistic_;
  std::unique_ptr<rocksdb::OptimisticTransactionDB> occ_;
  std::unique_ptr<rocksdb::TransactionDB> pess_;
  rocksdb::DB* base_ = nullptr;
  rocksdb::WriteOptions wo_;
};
#endif

#if SOCHDB_BENCH_LEVELDB
// LevelDB: WriteOptions.sync = true for full, false otherwise; snappy unless "none"; a
// 10-bit bloom filter, an LRU block cache of --cache-mb, write_buffer_size = the memtable size.
class leveldb_adapter : public kv_adapter {
 public:
  leveldb_adapter(const std::string& dir, const bench_config& c) {
    cache_.reset(leveldb::NewLRUCache(c.cache_bytes));
    filter_.reset(leveldb::NewBloomFilterPolicy(10));
    leveldb::Options o;
    o.create_if_missing = true;
    o.compression = c.compression == "none" ? leveldb::kNoCompression : leveldb::kSnappyCompression;
    o.block_cache = cache_.get();
    o.filter_policy = filter_.get();
    o.write_buffer_size = c.memtable_bytes;
    o.max_open_files = 10000;
    leveldb::DB* db = nullptr;
    auto st = leveldb::DB::Open(o, dir, &db);
    if (!st.ok()) throw std::runtime_error("leveldb: " + st.ToString());
    db_.reset(db);
    wo_.sync = c.sync == sync_kind::full;
  }
  std::string name() const override { return "leveldb"; }
  void put(std::string_view k, std::string_view v) override {
    auto st = db_->Put(wo_, leveldb::Slice(k.data(), k.size()), leveldb::Slice(v.data(), v.size()));
    if (!st.ok()) throw std::runtime_error("leveldb put: " + st.ToString());
  }
  bool get(std::string_view k, std::string& out) override {
    return db_->Get(leveldb::ReadOptions(), leveldb::Slice(k.data(), k.size()), &out).ok();
  }
  int seek_scan(std::string_view k, int n) override {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    int got = 0;
    for (it->Seek(leveldb::Slice(k.data(), k.size())); it->Valid() && got < n; it->Next()) {
      do_not_optimize(it->value().size());
      ++got;
    }
    return got;
  }
  bool compact_all() override {
    db_->CompactRange(nullptr, nullptr);
    return true;
  }
  void close() override { db_.reset(); }

 private:
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::unique_ptr<leveldb::DB> db_;  // last: closed before the cache and filter go
  leveldb::WriteOptions wo_;
};
#endif

#if SOCHDB_BENCH_LMDB
// LMDB: one write transaction per put (a commit each, like the others). full: default
// (fsync at commit); normal: MDB_NOMETASYNC; off: MDB_NOSYNC. No compression, no cache of its
// own (reads go through its read-only map of the file, i.e. the OS page cache).
class lmdb_adapter : public kv_adapter {
 public:
  lmdb_adapter(const std::string& dir, const bench_config& c) {
    sync_kind s = c.sync;
    std::filesystem::create_directories(dir);
    check(mdb_env_create(&env_), "env_create");
    check(mdb_env_set_mapsize(env_, std::size_t{64} << 30), "set_mapsize");
    unsigned flags = MDB_NOTLS | (s == sync_kind::off      ? MDB_NOSYNC
                                  : s == sync_kind::normal ? MDB_NOMETASYNC
                                                           : 0u);
    check(mdb_env_open(env_, dir.c_str(), flags, 0644), "env_open");
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "txn_begin");
    check(mdb_dbi_open(txn, nullptr, 0, &dbi_), "dbi_open");
    check(mdb_txn_commit(txn), "commit");
  }
  ~lmdb_adapter() override { close(); }
  std::string name() const override { return "lmdb"; }
  void put(std::string_view k, std::string_view v) override {
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "txn_begin");
    MDB_val kk{k.size(), const_cast<char*>(k.data())}, vv{v.size(), const_cast<char*>(v.data())};
    int rc = mdb_put(txn, dbi_, &kk, &vv, 0);
    if (rc != 0) {
      mdb_txn_abort(txn);
      check(rc, "put");
    }
    check(mdb_txn_commit(txn), "commit");
  }
  bool get(std::string_view k, std::string& out) override {
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn), "txn_begin");
    MDB_val kk{k.size(), const_cast<char*>(k.data())}, vv{};
    int rc = mdb_get(txn, dbi_, &kk, &vv);
    if (rc == 0) out.assign(static_cast<const char*>(vv.mv_data), vv.mv_size);
    mdb_txn_abort(txn);
    return rc == 0;
  }
  int seek_scan(std::string_view k, int n) override {
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn), "txn_begin");
    MDB_cursor* c = nullptr;
    check(mdb_cursor_open(txn, dbi_, &c), "cursor_open");
    MDB_val kk{k.size(), const_cast<char*>(k.data())}, vv{};
    int got = 0;
    int rc = mdb_cursor_get(c, &kk, &vv, MDB_SET_RANGE);
    while (rc == 0 && got < n) {
      do_not_optimize(vv.mv_size);
      ++got;
      rc = mdb_cursor_get(c, &kk, &vv, MDB_NEXT);
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return got;
  }
  bool has_txn() const override { return true; }
  int txn_rmw(std::string_view k1, std::string_view k2) override {
    thread_local std::string a, b;
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "txn_begin");  // one writer at a time
    MDB_val ka{k1.size(), const_cast<char*>(k1.data())},
        kb{k2.size(), const_cast<char*>(k2.data())};
    MDB_val va{}, vb{};
    int rc = mdb_get(txn, dbi_, &ka, &va);
    if (rc == 0) {
      a.assign(static_cast<const char*>(va.mv_data), va.mv_size);
      rc = mdb_get(txn, dbi_, &kb, &vb);
    }
    if (rc == 0) {
      b.assign(static_cast<const char*>(vb.mv_data), vb.mv_size);
      MDB_val na{b.size(), b.data()}, nb{a.size(), a.data()};
      rc = mdb_put(txn, dbi_, &ka, &na, 0);
      if (rc == 0) rc = mdb_put(txn, dbi_, &kb, &nb, 0);
    }
    if (rc != 0) {
      mdb_txn_abort(txn);
      check(rc, "txn");
    }
    check(mdb_txn_commit(txn), "commit");
    return 0;
  }
  void close() override {
    if (env_ != nullptr) {
      mdb_env_sync(env_, 1);
      mdb_env_close(env_);
      env_ = nullptr;
    }
  }

 private:
  static void check(int rc, const char* what) {
    if (rc != 0) throw std::runtime_error(std::string("lmdb ") + what + ": " + mdb_strerror(rc));
  }
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_{};
};
#endif

#if SOCHDB_BENCH_SQLITE
// SQLite: WAL journal mode, synchronous=FULL / NORMAL / OFF, a WITHOUT ROWID table, prepared
// statements, autocommit (a commit per put), a page cache of --cache-mb per connection. One
// connection per thread; writers take turns (SQLite allows one writer at a time anyway).
class sqlite_adapter : public kv_adapter {
 public:
  sqlite_adapter(const std::string& dir, const bench_config& cfg)
      : dir_(dir), sync_(cfg.sync), cache_kib_(cfg.cache_bytes / 1024) {
    std::filesystem::create_directories(dir);
    auto& c = conn();
    exec(c.db, "CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID");
  }
  ~sqlite_adapter() override { close(); }
  std::string name() const override { return "sqlite"; }
  void put(std::string_view k, std::string_view v) override {
    auto& c = conn();
    // SQLite has one writer at a time; concurrent autocommit writers in WAL mode can get
    // SQLITE_BUSY without the busy handler, so writers take turns here.
    std::lock_guard wl(write_mu_);
    sqlite3_bind_blob(c.put, 1, k.data(), static_cast<int>(k.size()), SQLITE_STATIC);
    sqlite3_bind_blob(c.put, 2, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    int rc = sqlite3_step(c.put);
    sqlite3_reset(c.put);
    if (rc != SQLITE_DONE)
      throw std::runtime_error(std::string("sqlite put: ") + sqlite3_errmsg(c.db));
  }
  bool get(std::string_view k, std::string& out) override {
    auto& c = conn();
    sqlite3_bind_blob(c.get, 1, k.data(), static_cast<int>(k.size()), SQLITE_STATIC);
    bool found = false;
    if (sqlite3_step(c.get) == SQLITE_ROW) {
      out.assign(static_cast<const char*>(sqlite3_column_blob(c.get, 0)),
                 static_cast<std::size_t>(sqlite3_column_bytes(c.get, 0)));
      found = true;
    }
    sqlite3_reset(c.get);
    return found;
  }
  bool has_txn() const override { return true; }
  int txn_rmw(std::string_view k1, std::string_view k2) override {
    auto& c = conn();
    thread_local std::string a, b;
    std::lock_guard wl(write_mu_);  // writers take turns (BEGIN IMMEDIATE then never waits)
    step_done(c, c.begin);
    bool ok = read(c, k1, a) && read(c, k2, b);
    if (ok) {
      ok = write(c, k1, b) && write(c, k2, a);
    }
    if (!ok) {
      step_done(c, c.rollback);
      throw std::runtime_error(std::string("sqlite txn: ") + sqlite3_errmsg(c.db));
    }
    step_done(c, c.commit);
    return 0;
  }
  int seek_scan(std::string_view k, int n) override {
    auto& c = conn();
    sqlite3_bind_blob(c.scan, 1, k.data(), static_cast<int>(k.size()), SQLITE_STATIC);
    sqlite3_bind_int(c.scan, 2, n);
    int got = 0;
    while (sqlite3_step(c.scan) == SQLITE_ROW) {
      do_not_optimize(sqlite3_column_bytes(c.scan, 1));
      ++got;
    }
    sqlite3_reset(c.scan);
    return got;
  }
  void close() override {
    std::lock_guard lk(mu_);
    for (auto& c : conns_) {
      sqlite3_finalize(c->put);
      sqlite3_finalize(c->get);
      sqlite3_finalize(c->scan);
      sqlite3_finalize(c->begin);
      sqlite3_finalize(c->commit);
      sqlite3_finalize(c->rollback);
      sqlite3_close(c->db);
    }
    conns_.clear();
  }

 private:
  struct connection {
    sqlite3* db = nullptr;
    sqlite3_stmt *put = nullptr, *get = nullptr, *scan = nullptr;
    sqlite3_stmt *begin = nullptr, *commit = nullptr, *rollback = nullptr;
  };
  static void step_done(connection& c, sqlite3_stmt* st) {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
      throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(c.db));
    }
  }
  static bool read(connection& c, std::string_view k, std::string& out) {
    sqlite3_bind_blob(c.get, 1, k.data(), static_cast<int>(k.size()), SQLITE_STATIC);
    bool found = sqlite3_step(c.get) == SQLITE_ROW;
    if (found) {
      out.assign(static_cast<const char*>(sqlite3_column_blob(c.get, 0)),
                 static_cast<std::size_t>(sqlite3_column_bytes(c.get, 0)));
    }
    sqlite3_reset(c.get);
    return found;
  }
  static bool write(connection& c, std::string_view k, std::string_view v) {
    sqlite3_bind_blob(c.put, 1, k.data(), static_cast<int>(k.size()), SQLITE_STATIC);
    sqlite3_bind_blob(c.put, 2, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    int rc = sqlite3_step(c.put);
    sqlite3_reset(c.put);
    return rc == SQLITE_DONE;
  }
  static void exec(sqlite3* db, const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error(std::string("sqlite: ") + m + " in " + sql);
    }
  }
  connection& conn() {
    // Keyed by a per-adapter id, not the address: a later adapter may reuse the address.
    thread_local std::pair<std::uint64_t, connection*> cache{0, nullptr};
    if (cache.first == id_) return *cache.second;
    auto c = std::make_unique<connection>();
    if (sqlite3_open((dir_ + "/kv.sqlite").c_str(), &c->db) != SQLITE_OK) {
      throw std::runtime_error("sqlite open failed");
    }
    sqlite3_busy_timeout(c->db, 10000);
    exec(c->db, "PRAGMA journal_mode=WAL");
    exec(c->db, ("PRAGMA cache_size=-" + std::to_string(cache_kib_)).c_str());
    exec(c->db, sync_ == sync_kind::full     ? "PRAGMA synchronous=FULL"
                : sync_ == sync_kind::normal ? "PRAGMA synchronous=NORMAL"
                                             : "PRAGMA synchronous=OFF");
    exec(c->db, "CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID");
    sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", -1, &c->put,
                       nullptr);
    sqlite3_prepare_v2(c->db, "SELECT v FROM kv WHERE k = ?", -1, &c->get, nullptr);
    sqlite3_prepare_v2(c->db, "SELECT k, v FROM kv WHERE k >= ? ORDER BY k LIMIT ?", -1, &c->scan,
                       nullptr);
    sqlite3_prepare_v2(c->db, "BEGIN IMMEDIATE", -1, &c->begin, nullptr);
    sqlite3_prepare_v2(c->db, "COMMIT", -1, &c->commit, nullptr);
    sqlite3_prepare_v2(c->db, "ROLLBACK", -1, &c->rollback, nullptr);
    std::lock_guard lk(mu_);
    conns_.push_back(std::move(c));
    cache = {id_, conns_.back().get()};
    return *conns_.back();
  }
  static std::uint64_t next_id() {
    static std::atomic<std::uint64_t> n{0};
    return ++n;
  }
  std::uint64_t id_ = next_id();
  std::string dir_;
  sync_kind sync_;
  std::size_t cache_kib_;
  std::mutex mu_;        // the connection list
  std::mutex write_mu_;  // one writer at a time
  std::vector<std::unique_ptr<connection>> conns_;
};
#endif

}  // namespace sochdb_bench
