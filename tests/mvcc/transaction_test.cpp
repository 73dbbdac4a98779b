// The transaction API in detail: bad input, limits, scans merged with the write buffer (both
// directions, bounds, writes during a scan), TTL, batches and paths, conflicts and the state
// after them, plain writes against transactions, snapshots and version GC, closing, moves,
// stats, and the WAL backend (a committed transaction survives reopening; an aborted one
// leaves nothing).
#include <doctest/doctest.h>

#include <sochdb/db.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_mvcc_transaction_test {

using namespace sochdb;
using namespace std::chrono_literals;

namespace {
using mem_db = basic_database<memory_storage>;
using kvs = std::vector<std::pair<std::string, std::string>>;

template <class Scan>
kvs all(Scan&& s) {
  kvs out;
  for (auto [k, v] : s) out.emplace_back(k, v);
  return out;
}
}  // namespace

TEST_CASE("transaction: bad input is refused and leaves the transaction usable") {
  memory_fs fs;
  auto db =
      mem_db::open("/db", {.max_key_size = 8, .max_value_size = 16, .max_batch_bytes = 40}, fs);
  auto t = db.begin();
  CHECK_THROWS_AS(t.put("", "v"), invalid_argument);
  CHECK_THROWS_AS(t.put("123456789", "v"), invalid_argument);
  CHECK_THROWS_AS(t.put("k", std::string(17, 'x')), invalid_argument);
  CHECK_THROWS_AS((void)t.get(""), invalid_argument);
  CHECK_THROWS_AS((void)t.scan_prefix("k"), invalid_argument);  // prefixes need 2 bytes
  t.put("a", std::string(16, 'x'));
  t.put("b", std::string(16, 'x'));
  try {
    t.put("c", std::string(16, 'x'));  // 3 * 17 bytes > max_batch_bytes
    FAIL("expected invalid_argument");
  } catch (const invalid_argument& e) {
    CHECK(std::string(e.what()).find("max_batch_bytes") != std::string::npos);
    CHECK(std::string(e.what()).find("'c'") != std::string::npos);
  }
  t.put("a", "small");  // overwriting shrinks the total
  t.put("c", std::string(16, 'x'));
  CHECK(t.active());
  CHECK(t.pending_bytes() == 1 + 5 + 1 + 16 + 1 + 16);
  t.commit();
  CHECK(db.get("a") == "small");
  CHECK_THROWS_AS((void)db.begin({.max_attempts = 0}), invalid_argument);
}

TEST_CASE("transaction: read-only transactions refuse writes") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  db.put("k", "v");
  auto t = db.begin({.read_only = true});
  CHECK(t.read_only());
  CHECK(t.get("k") == "v");
  CHECK_THROWS_AS(t.put("k", "w"), invalid_argument);
  CHECK_THROWS_AS(t.del("k"), invalid_argument);
  CHECK(t.active());
  const auto snapshot = t.snapshot_ts();  // before commit(): operand order is unspecified
  CHECK(t.commit() == snapshot);
}

TEST_CASE("transaction: scans merge the snapshot with the transaction's writes") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  for (auto k : {"p/a", "p/b", "p/c", "p/d", "q/a"}) db.put(k, std::string("s") + k);
  for (auto level : {isolation_level::read_committed, isolation_level::snapshot,
                     isolation_level::serializable}) {
    CAPTURE(to_string(level));
    auto t = db.begin(level);
    t.put("p/a", "own-a");    // overwrite
    t.del("p/c");             // hide
    t.put("p/bb", "own-bb");  // insert between
    t.put("p/e", "own-e");    // insert at the end
    t.put("o/z", "outside");  // outside the prefix
    t.del("p/zz");            // delete of a missing key: nothing
    kvs fwd{
        {"p/a", "own-a"}, {"p/b", "sp/b"}, {"p/bb", "own-bb"}, {"p/d", "sp/d"}, {"p/e", "own-e"}};
    CHECK(all(t.scan_prefix("p/")) == fwd);
    kvs rev(fwd.rbegin(), fwd.rend());
    CHECK(all(t.scan_prefix("p/", scan_order::reverse)) == rev);
    CHECK(all(t.scan_range("p/b", "p/d")) == kvs{{"p/b", "sp/b"}, {"p/bb", "own-bb"}});
    CHECK(all(t.scan_range("p/b", "p/d", scan_order::reverse)) ==
          kvs{{"p/bb", "own-bb"}, {"p/b", "sp/b"}});
    CHECK(all(t.scan_range("p/d", "")).size() == 3);  // p/d, p/e, q/a
    CHECK(all(t.scan_prefix_unchecked("")).size() == 7);
    // Cursor style, and a write during the scan: keys ahead of the cursor show up.
    auto sc = t.scan_prefix("p/");
    REQUIRE(sc.valid());
    CHECK(sc.key() == "p/a");
    t.put("p/ab", "late");
    sc.next();
    CHECK(sc.key() == "p/ab");
    t.abort();
    CHECK_FALSE(sc.valid());  // a scan ends with its transaction
    sc.next();
    CHECK_FALSE(sc.valid());
  }
}

TEST_CASE("transaction: TTL, batches, get_batch, paths") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  auto t = db.begin();
  t.put("ttl/short", "v", 20ms);
  t.put("ttl/none", "v", 0ms);
  CHECK(t.get("ttl/short") == "v");
  t.put_batch({{"b/1", "1"}, {"b/2", "2"}});
  write_batch wb;
  wb.put("b/3", "3").del("b/1");
  t.write(wb);
  t.delete_batch({"b/2"});
  CHECK(t.get_batch({"b/1", "b/2", "b/3"}) ==
        std::vector<std::optional<std::string>>{std::nullopt, std::nullopt, "3"});
  t.put_path("users/alice/name", "Alice");
  CHECK(t.get_path("/users/alice/name") == "Alice");
  CHECK_THROWS_AS(t.put_path("users//x", "v"), invalid_argument);
  t.commit();
  CHECK(db.get("b/3") == "3");
  CHECK(db.get_path("users/alice/name") == "Alice");
  std::this_thread::sleep_for(40ms);
  CHECK_FALSE(db.exists("ttl/short"));
  CHECK(db.exists("ttl/none"));
  auto t2 = db.begin();
  CHECK_FALSE(t2.exists("ttl/short"));
  t2.put("ttl/gone", "v", 1ms);
  std::this_thread::sleep_for(5ms);
  CHECK_FALSE(t2.exists("ttl/gone"));  // expired inside the transaction, too
  CHECK(all(t2.scan_prefix("ttl/")) == kvs{{"ttl/none", "v"}});
}

TEST_CASE("transaction: a conflict aborts, names the key, and sticks") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  db.put("acct/a", "100");
  for (auto level : {isolation_level::snapshot, isolation_level::serializable}) {
    auto t = db.begin(level);
    CHECK(t.get("acct/a").has_value());
    db.put("acct/a", "50");  // a plain write commits after t's snapshot
    try {
      t.put("acct/a", "90");
      FAIL("expected transaction_conflict");
    } catch (const transaction_conflict& e) {
      CHECK(e.retryable());
      CHECK(e.code() == errc::transaction_conflict);
      CHECK(std::string(e.what()).find("'acct/a'") != std::string::npos);
    }
    CHECK_FALSE(t.active());
    CHECK_THROWS_AS((void)t.get("acct/a"), transaction_conflict);
    CHECK_THROWS_AS(t.commit(), transaction_conflict);
    t.abort();  // harmless
  }
  CHECK(db.get("acct/a") == "50");
  auto s = db.stats().transactions;
  CHECK(s.write_conflicts == 2);
}

TEST_CASE("transaction: blind writes at snapshot level still obey first committer wins") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  auto t1 = db.begin(isolation_level::snapshot);
  auto t2 = db.begin(isolation_level::snapshot);
  t1.put("x", "1");
  t2.put("x", "2");
  t1.commit();
  CHECK_THROWS_AS(t2.commit(), transaction_conflict);
  // Read committed: last writer wins.
  auto r1 = db.begin(isolation_level::read_committed);
  auto r2 = db.begin(isolation_level::read_committed);
  r1.put("x", "3");
  r2.put("x", "4");
  r1.commit();
  r2.commit();
  CHECK(db.get("x") == "4");
}

TEST_CASE("transaction: read committed reads the newest commit at every read") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  db.put("x", "1");
  auto t = db.begin(isolation_level::read_committed);
  CHECK(t.get("x") == "1");
  CHECK(t.snapshot_ts() == 0);
  db.put("x", "2");
  CHECK(t.get("x") == "2");
  auto sc = t.scan_prefix_unchecked("");  // a scan is one statement: one snapshot
  db.put("y", "3");
  CHECK(all(sc) == kvs{{"x", "2"}});
  CHECK(all(t.scan_prefix_unchecked("")) == kvs{{"x", "2"}, {"y", "3"}});
  t.commit();
}

TEST_CASE("transaction: the snapshot is taken at the first read or write") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  db.put("x", "1");
  auto t = db.begin(isolation_level::snapshot);
  db.put("x", "2");  // before t's first statement: visible to it
  CHECK(t.get("x") == "2");
  db.put("x", "3");
  CHECK(t.get("x") == "2");
  CHECK(t.snapshot_ts() < db.last_commit_ts());
  auto empty = db.begin();
  CHECK(empty.commit() == db.last_commit_ts());  // nothing read or written
}

TEST_CASE("snapshot: consistent while writes go on; pins versions against GC until released") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  for (int i = 0; i < 10; ++i) db.put("k" + std::to_string(i), "v0");
  auto snap = db.snapshot();
  auto txn = db.begin(isolation_level::snapshot);
  CHECK(txn.get("k0") == "v0");  // txn's snapshot pins the same versions
  for (int round = 1; round <= 20; ++round) {
    for (int i = 0; i < 10; ++i) db.put("k" + std::to_string(i), "v" + std::to_string(round));
  }
  db.checkpoint();
  CHECK(snap.get("k3") == "v0");
  CHECK(txn.get("k7") == "v0");
  CHECK(all(snap.scan_prefix_unchecked("k")).size() == 10);
  for (auto [k, v] : snap.scan_prefix_unchecked("k")) CHECK(v == "v0");
  auto pinned = db.stats().storage.memtable_entries;
  CHECK(pinned >= 20);  // the old and the newest version of each key at least
  snap.release();
  CHECK_THROWS_AS((void)snap.get("k1"), invalid_argument);
  txn.commit();
  db.checkpoint();
  auto s = db.stats();
  CHECK(s.storage.memtable_entries == 10);  // one version per key
  CHECK(s.storage.gc_dropped_versions >= 200);
  CHECK(s.live_snapshots == 0);
}

TEST_CASE("transaction: closing the database ends its transactions' usefulness") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  db.put("k", "v");
  auto t = db.begin();
  CHECK(t.get("k") == "v");
  auto snap = db.snapshot();
  db.close();
  CHECK_THROWS_AS((void)t.get("k"), closed);
  CHECK_THROWS_AS(t.commit(), closed);
  CHECK_THROWS_AS((void)snap.get("k"), closed);
  CHECK_THROWS_AS((void)db.begin(), closed);
}

TEST_CASE("transaction: moves keep the transaction and its scans working") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  db.put("p/1", "a");
  db.put("p/2", "b");
  auto t = db.begin();
  t.put("p/3", "c");
  auto sc = t.scan_prefix("p/");
  auto moved = std::move(t);
  auto sc2 = std::move(sc);
  CHECK(sc2.key() == "p/1");
  sc2.next();
  sc2.next();
  CHECK(sc2.key() == "p/3");
  CHECK_THROWS_AS(t.put("p/4", "d"), invalid_argument);  // moved from
  std::vector<decltype(db.begin())> many;
  for (int i = 0; i < 10; ++i) many.push_back(db.begin());  // vector growth moves them
  many[3].put("p/9", "z");
  many[3].commit();
  moved.commit();
  CHECK(all(db.scan_prefix("p/")).size() == 4);
}

TEST_CASE("transaction: after all transactions end, no bookkeeping is left") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  for (int i = 0; i < 50; ++i) {
    auto t = db.begin();
    (void)t.get("k" + std::to_string(i % 7));
    for (auto [k, v] : t.scan_prefix("k1")) (void)v;
    t.put("k" + std::to_string(i % 5), "v");
    auto other = db.begin();
    (void)other.get("k" + std::to_string(i % 5));
    try {
      t.commit();
    } catch (const transaction_conflict&) {
    }
    db.put("plain" + std::to_string(i), "x");
  }
  auto s = db.stats().transactions;
  CHECK(s.running_serializable == 0);
  CHECK(s.retained_committed == 0);
  CHECK(s.recent_write_keys == 0);
  CHECK(s.tracked_bytes == 0);
}

TEST_CASE("transaction: durable on the WAL backend; an aborted one leaves nothing") {
  memory_fs fs;
  using wal_db = basic_database<wal_storage<memory_fs>>;
  {
    auto db = wal_db::open("/db", {}, fs);
    auto t = db.begin();
    t.put("a", "1");
    t.put("b", "2");
    t.del("c");
    std::uint64_t ts = t.commit();
    auto u = db.begin();
    u.put("z", "never");
    u.abort();
    CHECK(db.last_commit_ts() == ts);
  }
  auto db = wal_db::open("/db", {}, fs);
  CHECK(db.get("a") == "1");
  CHECK(db.get("b") == "2");
  CHECK_FALSE(db.exists("z"));
  CHECK(db.stats().storage.recovery.transactions == 1);
}

}  // namespace test_mvcc_transaction_test
