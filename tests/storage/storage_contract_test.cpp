// One contract, every storage backend: the requirements written on memory_storage
// (storage/concepts.hpp), checked for each model.
#include <doctest/doctest.h>

#include <sochdb/storage.hpp>

#include "test_util.hpp"

#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_storage_storage_contract_test {

using namespace sochdb;

namespace {
struct memory_env {
  using storage = memory_storage;
  memory_fs fs;
  std::string dir = "/db";
  bool durable = false;
};
struct wal_memfs_env {
  using storage = wal_storage<memory_fs>;
  memory_fs fs;
  std::string dir = "/db";
  bool durable = true;
};
struct wal_posix_env {
  using storage = wal_storage<posix_fs>;
  sochdb_test::temp_dir tmp{"sochdb-contract"};
  posix_fs fs;
  std::string dir = tmp.path() + "/db";
  bool durable = true;
};

struct lsm_memfs_env {
  using storage = lsm_storage<memory_fs>;
  memory_fs fs;
  std::string dir = "/db";
  bool durable = true;
};
struct lsm_posix_env {
  using storage = lsm_storage<posix_fs>;
  sochdb_test::temp_dir tmp{"sochdb-contract"};
  posix_fs fs;
  std::string dir = tmp.path() + "/db";
  bool durable = true;
};
struct lsm_zstd_env {  // zstd-compressed blocks
  using storage = lsm_storage<memory_fs, zstd>;
  memory_fs fs;
  std::string dir = "/db";
  bool durable = true;
};

template <class S>
void commit(S& s, std::uint64_t ts, const write_batch& b) {
  commit_entry e{&b, ts, ts};
  s.apply(std::span<const commit_entry>(&e, 1));
}

template <class S>
std::vector<std::pair<std::string, std::string>> collect(const S& s, scan_spec spec) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto c = s.scan(spec); c.valid(); c.next()) out.emplace_back(c.key(), c.value());
  return out;
}
}  // namespace

TEST_CASE_TEMPLATE("storage contract: versioned reads at any snapshot", Env, memory_env,
                   wal_memfs_env, wal_posix_env, lsm_memfs_env, lsm_posix_env, lsm_zstd_env) {
  Env env;
  auto s = Env::storage::open(env.fs, env.dir, storage_options{});
  CHECK(s->last_commit_ts() == 0);
  commit(*s, 10, write_batch().put("a", "a10").put("b", "b10"));
  commit(*s, 20, write_batch().put("a", "a20").del("b").put("c", "c20"));
  commit(*s, 30, write_batch().del("a"));
  CHECK(s->last_commit_ts() == 30);
  std::string v;
  CHECK_FALSE(s->get("a", 9, 0, v));
  REQUIRE(s->get("a", 10, 0, v));
  CHECK(v == "a10");
  REQUIRE(s->get("a", 29, 0, v));
  CHECK(v == "a20");
  CHECK_FALSE(s->get("a", 30, 0, v));
  CHECK_FALSE(s->get("b", 25, 0, v));
  CHECK(s->get("b", 15, 0, v));
  CHECK(s->newest_ts("a") == 30);
  CHECK(s->newest_ts("b") == 20);
  CHECK(s->newest_ts("zz") == 0);

  using kv = std::vector<std::pair<std::string, std::string>>;
  CHECK(collect(*s, scan_spec{15, "", std::nullopt, scan_order::forward, 0}) ==
        kv{{"a", "a10"}, {"b", "b10"}});
  CHECK(collect(*s, scan_spec{25, "", std::nullopt, scan_order::forward, 0}) ==
        kv{{"a", "a20"}, {"c", "c20"}});
  CHECK(collect(*s, scan_spec{25, "", std::nullopt, scan_order::reverse, 0}) ==
        kv{{"c", "c20"}, {"a", "a20"}});
  CHECK(collect(*s, scan_spec{max_timestamp, "b", std::string("d"), scan_order::forward, 0}) ==
        kv{{"c", "c20"}});
  // Out-of-order timestamps are refused.
  CHECK_THROWS_AS(commit(*s, 30, write_batch().put("x", "y")), invalid_argument);
}

TEST_CASE_TEMPLATE("storage contract: TTL, GC below the horizon, checkpoint keeps visibility", Env,
                   memory_env, wal_memfs_env, wal_posix_env, lsm_memfs_env, lsm_posix_env,
                   lsm_zstd_env) {
  Env env;
  auto s = Env::storage::open(env.fs, env.dir, storage_options{.auto_checkpoint = false});
  commit(*s, 1, write_batch().put("k", "v1").put("ttl", "gone", 5).put("live", "x", 1ull << 62));
  for (std::uint64_t ts = 2; ts <= 50; ++ts)
    commit(*s, ts, write_batch().put("k", "v" + std::to_string(ts)));
  std::string v;
  CHECK_FALSE(s->get("ttl", 50, 6, v));  // expired at now = 6 ms
  CHECK(s->get("ttl", 50, 4, v));        // not yet at 4
  CHECK(s->get("live", 50, 1000, v));
  auto before = s->stats();
  CHECK(before.memtable_entries == 52);
  std::uint64_t horizon = 40;
  s->set_snapshot_horizon([&] { return horizon; });
  auto cur = s->scan(scan_spec{10, "", std::nullopt, scan_order::forward, 0});  // pins old table
  s->checkpoint();
  auto after = s->stats();
  CHECK(after.memtable_entries < before.memtable_entries);
  CHECK(after.gc_dropped_versions > 0);
  for (std::uint64_t ts = 40; ts <= 50; ++ts) {
    REQUIRE(s->get("k", ts, 0, v));
    CHECK(v == "v" + std::to_string(ts));
  }
  // A cursor opened before GC still reads its snapshot.
  REQUIRE(cur.valid());
  CHECK(cur.key() == "k");
  CHECK(cur.value() == "v10");
}

TEST_CASE_TEMPLATE("storage contract: reopen shows exactly what was applied", Env, wal_memfs_env,
                   wal_posix_env, lsm_memfs_env, lsm_posix_env, lsm_zstd_env) {
  Env env;
  std::map<std::string, std::string> model;
  std::mt19937_64 rng(7);
  std::uint64_t ts = 0;
  for (int round = 0; round < 3; ++round) {
    auto s = Env::storage::open(
        env.fs, env.dir,
        storage_options{
            .sync = sync_mode::off, .wal_segment_size = 8192, .auto_checkpoint = false});
    CHECK(s->last_commit_ts() == ts);
    for (auto& [k, v] : model) {
      std::string got;
      REQUIRE(s->get(k, max_timestamp, 0, got));
      CHECK(got == v);
    }
    for (int i = 0; i < 300; ++i) {
      write_batch b;
      std::string k = "key" + std::to_string(rng() % 100);
      if (rng() % 5 == 0) {
        b.del(k);
        model.erase(k);
      } else {
        std::string v = sochdb_test::random_bytes(rng, rng() % 64);
        b.put(k, v);
        model[k] = v;
      }
      commit(*s, ++ts, b);
      if (round == 1 && i == 150) s->checkpoint();
    }
    auto st = s->stats();
    CHECK(st.wal_segments >= 1);
    s->close();
  }
}

TEST_CASE_TEMPLATE("storage contract: readers run beside the writer" *
                       doctest::test_suite("concurrency"),
                   Env, memory_env, wal_memfs_env, lsm_memfs_env, lsm_zstd_env) {
  Env env;
  auto s = Env::storage::open(env.fs, env.dir, storage_options{.sync = sync_mode::off});
  std::atomic<std::uint64_t> published{0};
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    std::string v;
    while (!stop.load()) {
      std::uint64_t ts = published.load();
      // Batches write k0..k3 with the same value: a snapshot sees all four equal.
      std::vector<std::string> vals;
      for (auto c = s->scan(scan_spec{ts, "", std::nullopt, scan_order::forward, 0}); c.valid();
           c.next()) {
        vals.emplace_back(c.value());
      }
      if (!vals.empty()) {
        REQUIRE(vals.size() == 4);
        for (auto& x : vals) REQUIRE(x == vals[0]);
      }
    }
  });
  for (std::uint64_t ts = 1; ts <= 2000; ++ts) {
    write_batch b;
    for (int k = 0; k < 4; ++k) b.put("k" + std::to_string(k), std::to_string(ts));
    commit(*s, ts, b);
    published.store(ts);
  }
  stop = true;
  reader.join();
}

}  // namespace test_storage_storage_contract_test
