// The key-value API of basic_database: every call of docs/kv.md, bad input, limits, scans,
// path helpers, TTL, batches, stats, reopen.
#include <doctest/doctest.h>

#include <sochdb/db.hpp>

#include "test_util.hpp"

#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_db_database_test {

using namespace sochdb;
using namespace std::chrono_literals;

namespace {
using mem_db = basic_database<wal_storage<memory_fs>>;

std::vector<std::pair<std::string, std::string>> all(auto&& scan) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto [k, v] : scan) out.emplace_back(k, v);
  return out;
}
using kvs = std::vector<std::pair<std::string, std::string>>;
}  // namespace

TEST_CASE("database: put, get, exists, del; reopen; default database on posix_fs") {
  sochdb_test::temp_dir tmp("sochdb-db");
  std::string path = tmp / "db";
  {
    auto db = database::open(path);
    std::uint64_t t1 = db.put("user:1", "Alice");
    std::uint64_t t2 = db.put("user:2", "Bob");
    CHECK(t2 > t1);
    CHECK(db.get("user:1") == "Alice");
    CHECK(db.exists("user:2"));
    CHECK_FALSE(db.get("user:3").has_value());
    db.del("user:1");
    CHECK_FALSE(db.exists("user:1"));
    db.del("never-there");  // deleting a missing key is fine
    CHECK(db.last_commit_ts() >= t2);
  }
  auto db = database::open(path);
  CHECK_FALSE(db.get("user:1"));
  CHECK(db.get("user:2") == "Bob");
  CHECK_THROWS_AS(database::open(path), locked);  // one writer per directory
  db.close();
  CHECK_THROWS_AS((void)db.get("user:2"), closed);
}

TEST_CASE("database: keys and values are bytes; empty and oversized input is refused") {
  memory_fs fs;
  auto db = mem_db::open("/db", {.max_key_size = 16, .max_value_size = 32}, fs);
  std::string bin("\x00\xff\xc3\x28 not utf-8", 12);
  db.put(bin, bin);
  CHECK(db.get(bin) == bin);
  db.put("empty-value", "");
  CHECK(db.get("empty-value") == "");  // present, empty: distinct from missing
  CHECK_THROWS_AS(db.put("", "x"), invalid_argument);
  CHECK_THROWS_AS(db.del(""), invalid_argument);
  CHECK_THROWS_AS(db.put(std::string(17, 'k'), "x"), invalid_argument);
  CHECK_THROWS_AS(db.put("k", std::string(33, 'v')), invalid_argument);
  try {
    db.put(std::string(17, 'k'), "x");
  } catch (const invalid_argument& e) {
    CHECK(std::string(e.what()).find("max_key_size 16") != std::string::npos);
  }
  CHECK_THROWS_AS(db.put_batch({{"ok", "1"}, {"", "2"}}), invalid_argument);
  CHECK_FALSE(db.exists("ok"));  // a refused batch writes nothing
  CHECK_THROWS_AS(mem_db::open("/other", {.max_key_size = 0}, fs), invalid_argument);
  CHECK_THROWS_AS(mem_db::open("/other", {.wal_segment_size = 10}, fs), invalid_argument);
}

TEST_CASE("database: large values round-trip through the WAL and a checkpoint") {
  memory_fs fs;
  std::mt19937_64 rng(3);
  std::string big = sochdb_test::random_bytes(rng, 5u << 20);
  std::string big_key(60000, 'k');
  {
    auto db = mem_db::open("/db", {.wal_segment_size = 1 << 20}, fs);
    db.put(big_key, big);
    db.put("small", "x");
    CHECK(db.get(big_key) == big);
  }
  {
    auto db = mem_db::open("/db", {}, fs);
    CHECK(db.get(big_key) == big);
    db.checkpoint();
  }
  auto db = mem_db::open("/db", {}, fs);
  CHECK(db.get(big_key) == big);
  CHECK(db.stats().storage.recovery.checkpoint_entries == 2);
}

TEST_CASE("database: batches are atomic and get_batch reads one snapshot") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  std::uint64_t ts = db.put_batch({{"key1", "value1"}, {"key2", "value2"}, {"key3", "value3"}});
  auto vals = db.get_batch({"key1", "key2", "missing", "key3"});
  REQUIRE(vals.size() == 4);
  CHECK(vals[0] == "value1");
  CHECK(vals[1] == "value2");
  CHECK_FALSE(vals[2]);
  CHECK(vals[3] == "value3");
  CHECK(db.delete_batch({"key1", "key3"}) > ts);
  CHECK_FALSE(db.exists("key1"));
  CHECK(db.exists("key2"));
  write_batch b;
  b.put("x", "1").del("key2").put("x", "2");
  db.write(b);
  CHECK(db.get("x") == "2");  // the later operation on a key wins
  CHECK_FALSE(db.exists("key2"));
}

TEST_CASE("database: prefix and range scans stream in both directions at a snapshot") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  for (auto k : {"logs/1", "logs/2", "logs/3", "users/a", "users/b", "users/c", "usersX"}) {
    db.put(k, std::string("v-") + k);
  }
  CHECK(all(db.scan_prefix("users/")) ==
        kvs{{"users/a", "v-users/a"}, {"users/b", "v-users/b"}, {"users/c", "v-users/c"}});
  CHECK(all(db.scan_prefix("logs/", scan_order::reverse)) ==
        kvs{{"logs/3", "v-logs/3"}, {"logs/2", "v-logs/2"}, {"logs/1", "v-logs/1"}});
  CHECK(all(db.scan_range("users/a", "users/c")) ==
        kvs{{"users/a", "v-users/a"}, {"users/b", "v-users/b"}});
  CHECK(all(db.scan_range("users/b", "", scan_order::reverse)).size() == 3);
  CHECK_THROWS_AS((void)db.scan_prefix("u"), invalid_argument);
  CHECK_THROWS_AS((void)db.scan_prefix(""), invalid_argument);
  CHECK(all(db.scan_prefix_unchecked("")).size() == 7);
  CHECK(all(db.scan_prefix_unchecked("u")).size() == 4);
  // A scan keeps its snapshot while writes go on.
  auto scan = db.scan_prefix("users/");
  db.del("users/b");
  db.put("users/bb", "new");
  CHECK(all(scan).size() == 3);
  CHECK(all(db.scan_prefix("users/")) ==
        kvs{{"users/a", "v-users/a"}, {"users/bb", "new"}, {"users/c", "v-users/c"}});
  // Prefixes ending in 0xff bytes scan to the end of the key space correctly.
  db.put(std::string("\xff\xff", 2) + "z", "top");
  CHECK(all(db.scan_prefix(std::string("\xff\xff", 2))).size() == 1);
  // Cursor-style use.
  auto c = db.scan_prefix("logs/");
  int n = 0;
  for (; c.valid(); c.next()) ++n;
  CHECK(n == 3);
  CHECK(db.stats().live_snapshots == 2);  // `scan` and `c` hold theirs
}

TEST_CASE("database: path helpers list direct children") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  db.put_path("users/alice/name", "Alice Smith");
  db.put_path("users/alice/email", "alice@example.com");
  db.put_path("users/bob/name", "Bob Jones");
  db.put_path("/users/carol", "leaf");
  db.put_path("usersX/zed", "not a child of users/");
  CHECK(db.get_path("users/alice/name") == "Alice Smith");
  CHECK(db.get_path("/users/alice/name") == "Alice Smith");
  CHECK(db.list_path("users/") == std::vector<std::string>{"alice", "bob", "carol"});
  CHECK(db.list_path("users") == std::vector<std::string>{"alice", "bob", "carol"});
  CHECK(db.list_path("users/alice") == std::vector<std::string>{"email", "name"});
  CHECK(db.list_path("") == std::vector<std::string>{"users", "usersX"});
  CHECK(db.list_path("nothing/here").empty());
  CHECK(db.stats().live_snapshots == 0);  // every listing released its snapshot
  db.delete_path("users/alice/email");
  CHECK(db.list_path("users/alice") == std::vector<std::string>{"name"});
  CHECK_THROWS_AS(db.put_path("", "x"), invalid_argument);
  CHECK_THROWS_AS(db.put_path("a//b", "x"), invalid_argument);
  CHECK_THROWS_AS(db.put_path("a/b/", "x"), invalid_argument);
}

TEST_CASE("database: TTL hides a value once it expires, also after reopen") {
  memory_fs fs;
  {
    auto db = mem_db::open("/db", {}, fs);
    db.put("session:short", "x", 1ms);
    db.put("session:long", "y", 1h);
    db.put("permanent", "z", 0s);  // 0: no expiry
    std::this_thread::sleep_for(5ms);
    CHECK_FALSE(db.exists("session:short"));
    CHECK(db.get("session:long") == "y");
    CHECK(all(db.scan_prefix("session:")) == kvs{{"session:long", "y"}});
    db.checkpoint();
  }
  auto db = mem_db::open("/db", {}, fs);
  CHECK_FALSE(db.exists("session:short"));
  CHECK(db.get("session:long") == "y");
  CHECK(db.get("permanent") == "z");
}

TEST_CASE("database: stats report counts, bytes, WAL size and recovery") {
  memory_fs fs;
  {
    auto db = mem_db::open("/db", {}, fs);
    for (int i = 0; i < 10; ++i) db.put("k" + std::to_string(i), "v");
    auto s = db.stats();
    CHECK(s.commits == 10);
    CHECK(s.commit_groups == 10);
    CHECK(s.storage.memtable_entries == 10);
    CHECK(s.storage.wal_bytes > 0);
    CHECK(s.storage.wal_syncs >= 10);
    CHECK(s.live_snapshots == 0);
  }
  auto db = mem_db::open("/db", {}, fs);
  auto s = db.stats();
  CHECK(s.storage.recovery.transactions == 10);
  CHECK(s.last_commit_ts == s.storage.recovery.last_commit_ts);
  CHECK(db.put("after", "x") > s.last_commit_ts);  // the clock moves past recovered commits
}

TEST_CASE("database: memory_storage backend behaves the same, minus durability") {
  auto db = basic_database<memory_storage>::open("ignored");
  db.put_batch({{"aa", "1"}, {"ab", "2"}});
  CHECK(db.get("aa") == "1");
  CHECK(all(db.scan_prefix("ab")) == kvs{{"ab", "2"}});
  db.checkpoint();
  CHECK(db.get("ab") == "2");
}

TEST_CASE("database: random operations agree with a std::map, across reopen and checkpoints") {
  memory_fs fs;
  std::mt19937_64 rng(99);
  std::map<std::string, std::string> model;
  for (int round = 0; round < 4; ++round) {
    auto db = mem_db::open("/db", {.sync = sync_mode::off, .memtable_size = 16 * 1024}, fs);
    for (int i = 0; i < 1500; ++i) {
      std::string k = "k" + std::to_string(rng() % 300);
      switch (rng() % 6) {
        case 0:
          db.del(k);
          model.erase(k);
          break;
        case 1: {
          std::string k2 = "k" + std::to_string(rng() % 300);
          db.put_batch({{k, std::string("b").append(k)}, {k2, std::string("b").append(k2)}});
          model[k] = std::string("b").append(k);
          model[k2] = std::string("b").append(k2);
          break;
        }
        case 2:
          CHECK(db.get(k) == (model.count(k) ? std::optional(model[k]) : std::nullopt));
          break;
        default: {
          std::string v = std::to_string(rng());
          db.put(k, v);
          model[k] = v;
        }
      }
    }
    auto got = all(db.scan_prefix_unchecked(""));
    CHECK(got == kvs(model.begin(), model.end()));
    auto rev = all(db.scan_prefix_unchecked("", scan_order::reverse));
    std::reverse(rev.begin(), rev.end());
    CHECK(rev == got);
    if (round == 2) db.checkpoint();
  }
}

}  // namespace test_db_database_test
