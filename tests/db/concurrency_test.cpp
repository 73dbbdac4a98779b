// Concurrency: 2 writer and 2 reader threads on one database (run under TSan in CI). Writers
// commit batches that set a group of keys to one value; readers scan and get_batch at their
// snapshots and must always see a group whole. Automatic checkpoints and version GC run
// underneath (small memtable_size).
#include <doctest/doctest.h>

#include "test_util.hpp"

#include <sochdb/db.hpp>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_db_concurrency_test {

using namespace sochdb;

namespace {
template <class Db>
void hammer(Db& db, int commits_per_writer) {
  constexpr int groups = 8, group_size = 4;
  auto gkey = [](int g, int i) { return "g" + std::to_string(g) + "/" + std::to_string(i); };
  std::atomic<int> writers_done{0};
  std::atomic<long> reads{0};
  auto writer = [&](int w) {
    std::mt19937_64 rng(static_cast<unsigned>(w));
    for (int c = 0; c < commits_per_writer; ++c) {
      int g = static_cast<int>(rng() % groups);
      std::string v = "w" + std::to_string(w) + "c" + std::to_string(c);
      write_batch b;
      if (rng() % 5 == 0) {
        for (int i = 0; i < group_size; ++i) b.del(gkey(g, i));
      } else {
        for (int i = 0; i < group_size; ++i) b.put(gkey(g, i), v);
      }
      db.write(b);
      if (rng() % 7 == 0) db.put("single/" + std::to_string(w), v);
    }
    writers_done.fetch_add(1);
  };
  auto reader = [&](int r) {
    std::mt19937_64 rng(100 + static_cast<unsigned>(r));
    // At least some reads even if the writers finish first (scheduling varies).
    for (int n = 0; writers_done.load() < 2 || n < 200; ++n) {
      int g = static_cast<int>(rng() % groups);
      std::string prefix = "g" + std::to_string(g) + "/";
      std::vector<std::string> seen;
      auto order = rng() % 2 ? scan_order::forward : scan_order::reverse;
      for (auto [k, v] : db.scan_prefix(prefix, order)) seen.emplace_back(v);
      // A group is all present with one value, or all absent.
      REQUIRE((seen.empty() || seen.size() == group_size));
      for (auto& v : seen) REQUIRE(v == seen[0]);
      std::vector<std::string> keys;
      for (int i = 0; i < group_size; ++i) keys.push_back(gkey(g, i));
      std::vector<std::string_view> views(keys.begin(), keys.end());
      auto vals = db.get_batch(std::span<const std::string_view>(views));
      for (auto& v : vals) REQUIRE(v.has_value() == vals[0].has_value());
      if (vals[0]) {
        for (auto& v : vals) REQUIRE(*v == *vals[0]);
      }
      reads.fetch_add(1);
    }
  };
  std::vector<std::thread> ts;
  ts.emplace_back(writer, 0);
  ts.emplace_back(writer, 1);
  ts.emplace_back(reader, 0);
  ts.emplace_back(reader, 1);
  for (auto& t : ts) t.join();
  CHECK(reads.load() > 0);
  auto s = db.stats();
  CHECK(s.commits >= static_cast<std::uint64_t>(2 * commits_per_writer));
  CHECK(s.commit_groups <= s.commits);
  MESSAGE("commits " << s.commits << " in " << s.commit_groups << " groups, checkpoints "
                     << s.storage.checkpoints << ", GC dropped " << s.storage.gc_dropped_versions);
}
}  // namespace

TEST_CASE("concurrency: 2 writers + 2 readers, readers never see a partial batch" *
          doctest::test_suite("concurrency")) {
  memory_fs fs;
  auto db = basic_database<wal_storage<memory_fs>>::open(
      "/db", {.wal_segment_size = 32 * 1024, .memtable_size = 64 * 1024}, fs);
  hammer(db, 1500);
  db.checkpoint();
}

TEST_CASE("concurrency: the same on memory_storage" * doctest::test_suite("concurrency")) {
  auto db = basic_database<memory_storage>::open("mem");
  hammer(db, 1500);
}

TEST_CASE("concurrency: sync full groups concurrent commits into shared syncs" *
          doctest::test_suite("concurrency")) {
  // On a real disk a sync takes long enough for committers to queue behind the leader.
  sochdb_test::temp_dir tmp("sochdb-group");
  auto db = database::open(tmp / "db");
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) db.put("k" + std::to_string(t) + "/" + std::to_string(i), "v");
    });
  }
  for (auto& t : ts) t.join();
  auto s = db.stats();
  CHECK(s.commits == 200);
  // Every commit was synced before it returned, with one sync per group.
  CHECK(s.storage.wal_syncs <= s.commit_groups + 1);
  MESSAGE("200 commits from 4 threads: " << s.commit_groups << " groups, " << s.storage.wal_syncs
                                         << " WAL syncs");
}

}  // namespace test_db_concurrency_test
