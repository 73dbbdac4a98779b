// lsm_storage beyond the shared contract: flushes and leveled compaction with tiny sizes, version
// GC at the snapshot horizon (old versions, bottommost tombstones, expired TTL), manual
// compaction, the manifest and WAL life cycle, obsolete files kept while a reader needs them,
// corruption in an SSTable, write stalls, stats, and scans that stay consistent while
// compactions run.
#include <doctest/doctest.h>

#include <sochdb/storage.hpp>

#include "test_util.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_storage_lsm_test {

using namespace sochdb;

namespace {

// Sizes that make a few thousand small commits flush and compact many times.
storage_options tiny(sync_mode m = sync_mode::off) {
  storage_options o;
  o.sync = m;
  o.wal_segment_size = 16 * 1024;
  o.memtable_size = 8 * 1024;
  o.lsm.block_size = 512;
  o.lsm.target_file_size = 4 * 1024;
  o.lsm.level1_size = 16 * 1024;
  o.lsm.level_ratio = 4;
  o.lsm.max_levels = 5;
  o.lsm.l0_compaction_trigger = 2;
  o.lsm.l0_slowdown_trigger = 6;
  o.lsm.l0_stop_trigger = 10;
  o.lsm.block_cache_size = 64 * 1024;
  return o;
}

template <class S>
void commit(S& s, std::uint64_t ts, const write_batch& b) {
  commit_entry e{&b, ts, ts};
  s.apply(std::span<const commit_entry>(&e, 1));
}

std::string key_of(std::uint64_t i) {
  char b[32];
  std::snprintf(b, sizeof b, "k%06llu", static_cast<unsigned long long>(i));
  return b;
}

template <class S>
std::map<std::string, std::string> dump(const S& s, std::uint64_t ts = max_timestamp,
                                        scan_order order = scan_order::forward) {
  std::map<std::string, std::string> m;
  std::string prev;
  bool first = true;
  for (auto c = s.scan(scan_spec{ts, "", std::nullopt, order, 0}); c.valid(); c.next()) {
    std::string k(c.key());
    if (!first) {
      if (order == scan_order::forward) {
        REQUIRE(prev < k);
      } else {
        REQUIRE(prev > k);
      }
    }
    prev = k;
    first = false;
    m.emplace(k, c.value());
  }
  return m;
}

using lsm_mem = lsm_storage<memory_fs>;

std::size_t count_files(memory_fs& fs, const std::string& dir, std::string_view suffix) {
  std::size_t n = 0;
  for (auto& f : fs.list(dir)) n += f.ends_with(suffix);
  return n;
}

}  // namespace

TEST_CASE("lsm: a workload flushes and compacts into levels; reads and reopen see everything") {
  memory_fs fs;
  std::map<std::string, std::string> model;
  std::mt19937_64 rng(1);
  std::uint64_t ts = 0;
  for (int round = 0; round < 3; ++round) {
    auto s = lsm_mem::open(fs, "/db", tiny());
    CHECK(s->last_commit_ts() == ts);
    CHECK(dump(*s) == model);
    for (int i = 0; i < 3000; ++i) {
      write_batch b;
      std::string k = key_of(rng() % 800);
      if (rng() % 7 == 0) {
        b.del(k);
        model.erase(k);
      } else {
        std::string v = "v" + std::to_string(ts) + std::string(rng() % 40, 'x');
        b.put(k, v);
        model[k] = v;
      }
      commit(*s, ++ts, b);
    }
    s->wait_for_background();
    auto st = s->stats();
    CHECK(st.lsm.enabled);
    CHECK(st.lsm.flushes > 5);
    CHECK(st.lsm.compactions > 0);
    CHECK(st.lsm.sst_files > 1);
    std::uint64_t deeper = 0;
    for (std::size_t l = 1; l < st.lsm.levels.size(); ++l) deeper += st.lsm.levels[l].files;
    CHECK(deeper > 0);
    CHECK(st.lsm.write_amplification > 1.0);
    // Point reads agree with the model, at the newest snapshot.
    std::string v;
    for (std::uint64_t i = 0; i < 800; ++i) {
      std::string k = key_of(i);
      auto it = model.find(k);
      bool got = s->get(k, max_timestamp, 0, v);
      REQUIRE(got == (it != model.end()));
      if (got) CHECK(v == it->second);
    }
    CHECK(dump(*s, max_timestamp, scan_order::reverse) == model);
    s->close();
  }
  // Nothing but live files remain: WAL segments below the manifest's log number and
  // compacted SSTables were deleted.
  auto s = lsm_mem::open(fs, "/db", tiny());
  auto st = s->stats();
  CHECK(count_files(fs, "/db", ".sst") == st.lsm.sst_files);
  CHECK(count_files(fs, "/db", ".log") <= 2);
  CHECK(count_files(fs, "/db", "CURRENT") == 1);
  std::size_t manifests = 0;
  for (auto& f : fs.list("/db")) manifests += f.starts_with("MANIFEST-");
  CHECK(manifests == 1);
  // Opening reads no table (they open on first use).
  CHECK(st.lsm.open_tables == 0);
}

TEST_CASE("lsm: snapshots read old versions across flushes and compactions") {
  memory_fs fs;
  auto o = tiny();
  o.lsm.background_compaction = false;
  auto s = lsm_mem::open(fs, "/db", o);
  std::map<std::uint64_t, std::map<std::string, std::string>> at;  // ts -> state
  std::map<std::string, std::string> model;
  std::mt19937_64 rng(2);
  for (std::uint64_t ts = 1; ts <= 2000; ++ts) {
    write_batch b;
    std::string k = key_of(rng() % 200);
    if (rng() % 6 == 0) {
      b.del(k);
      model.erase(k);
    } else {
      b.put(k, std::to_string(ts));
      model[k] = std::to_string(ts);
    }
    commit(*s, ts, b);
    if (ts % 400 == 0) at[ts] = model;
  }
  s->compact();  // no horizon: every version stays
  auto st = s->stats();
  std::size_t bottom = 0;
  for (std::size_t l = 0; l < st.lsm.levels.size(); ++l) {
    if (st.lsm.levels[l].files) bottom = l;
  }
  CHECK(bottom >= 1);
  for (std::size_t l = 0; l < bottom; ++l) CHECK(st.lsm.levels[l].files == 0);
  for (auto& [ts, m] : at) {
    CHECK(dump(*s, ts) == m);
    CHECK(dump(*s, ts, scan_order::reverse) == m);
  }
}

TEST_CASE("lsm: compaction drops what no snapshot can see: old versions, tombstones, expired") {
  memory_fs fs;
  auto o = tiny();
  o.auto_checkpoint = false;  // flushes and compactions only when asked
  auto s = lsm_mem::open(fs, "/db", o);
  std::uint64_t horizon = 0;
  s->set_snapshot_horizon([&] { return horizon; });
  // 100 keys x 10 versions, then delete half, then TTL values that expire at 5 ms.
  std::uint64_t ts = 0;
  for (int v = 0; v < 10; ++v) {
    for (int i = 0; i < 100; ++i)
      commit(*s, ++ts, write_batch().put(key_of(i), "v" + std::to_string(v)));
    s->checkpoint();
  }
  for (int i = 0; i < 50; ++i) commit(*s, ++ts, write_batch().del(key_of(i)));
  for (int i = 0; i < 20; ++i) commit(*s, ++ts, write_batch().put("ttl" + key_of(i), "x", 5));
  s->checkpoint();
  std::uint64_t snap = 500;  // a reader still at ts 500
  horizon = snap;
  s->compact();
  auto entries = [&] {
    std::uint64_t n = 0;
    auto it = s->internal_scan();
    for (it.seek_to_first(); it.valid(); it.next()) ++n;
    return n;
  };
  std::uint64_t with_snapshot = entries();
  // Everything a reader at 500 sees survives.
  std::string v;
  for (int i = 0; i < 100; ++i) {
    REQUIRE(s->get(key_of(i), snap, 0, v));
    CHECK(v == "v4");
  }
  // The reader leaves: the horizon moves to the newest commit.
  horizon = ts;
  s->compact();
  std::uint64_t after = entries();
  CHECK(after < with_snapshot);
  CHECK(after == 50);  // one version of each live key; tombstones and expired values are gone
  for (int i = 0; i < 100; ++i) {
    CHECK(s->get(key_of(i), max_timestamp, 0, v) == (i >= 50));
    if (i >= 50) CHECK(v == "v9");
  }
  CHECK_FALSE(s->get("ttl" + key_of(3), max_timestamp, 0, v));
  CHECK(s->stats().gc_dropped_versions > 900);
}

TEST_CASE("lsm: with snapshot points, GC keeps exactly the versions some point reads") {
  // Random puts and deletes with flushes in between; live snapshots at a few timestamps. After a
  // full compaction every snapshot (and the top) reads what it read before, and the tree holds
  // exactly one version per (key, distinct version some point reads) -- minus deletions the
  // oldest point reads, which the bottommost level drops.
  memory_fs fs;
  auto o = tiny();
  o.auto_checkpoint = false;
  auto s = lsm_mem::open(fs, "/db", o);
  std::vector<std::uint64_t> live{300, 301, 950, 1400};
  std::uint64_t top = 2000;
  s->set_snapshot_points([&](std::vector<std::uint64_t>& out) {
    out.insert(out.end(), live.begin(), live.end());
    out.push_back(top);
  });
  // history[key] = (ts, value or nullopt for a deletion), oldest first.
  std::map<std::string, std::vector<std::pair<std::uint64_t, std::optional<std::string>>>> history;
  std::mt19937_64 rng(7);
  for (std::uint64_t ts = 1; ts <= top; ++ts) {
    std::string k = key_of(rng() % 150);
    if (rng() % 5 == 0) {
      commit(*s, ts, write_batch().del(k));
      history[k].emplace_back(ts, std::nullopt);
    } else {
      commit(*s, ts, write_batch().put(k, std::to_string(ts)));
      history[k].emplace_back(ts, std::to_string(ts));
    }
    if (ts % 250 == 0) s->checkpoint();
  }
  std::map<std::uint64_t, std::map<std::string, std::string>> before;
  for (auto p : live) before[p] = dump(*s, p);
  before[top] = dump(*s, top);
  s->compact();
  for (auto& [p, m] : before) CHECK(dump(*s, p) == m);
  std::uint64_t expected = 0;
  for (auto& [k, h] : history) {
    std::set<std::uint64_t> read;                   // timestamps of the versions some point reads
    std::optional<std::uint64_t> dropped_deletion;  // the deletion the oldest point reads
    for (std::size_t i = 0; i <= live.size(); ++i) {
      std::uint64_t p = i < live.size() ? live[i] : top;
      const std::pair<std::uint64_t, std::optional<std::string>>* v = nullptr;
      for (auto& e : h) {
        if (e.first <= p) v = &e;
      }
      if (v == nullptr) continue;
      if (i == 0 && !v->second) dropped_deletion = v->first;
      read.insert(v->first);
    }
    if (dropped_deletion) read.erase(*dropped_deletion);
    expected += read.size();
  }
  std::uint64_t n = 0;
  auto it = s->internal_scan();
  for (it.seek_to_first(); it.valid(); it.next()) ++n;
  CHECK(n == expected);
}

TEST_CASE("lsm: compact_range compacts only the overlapping files") {
  memory_fs fs;
  auto o = tiny();
  o.auto_checkpoint = false;
  auto s = lsm_mem::open(fs, "/db", o);
  std::uint64_t ts = 0;
  for (int r = 0; r < 3; ++r) {
    for (int i = 0; i < 300; ++i) commit(*s, ++ts, write_batch().put(key_of(i), std::to_string(r)));
    s->checkpoint();
  }
  CHECK(s->stats().lsm.levels[0].files == 3);
  s->compact_range(key_of(0), key_of(10));  // every L0 file overlaps it
  auto st = s->stats();
  CHECK(st.lsm.levels[0].files == 0);
  CHECK(st.lsm.levels[1].files >= 1);
  std::string v;
  REQUIRE(s->get(key_of(5), max_timestamp, 0, v));
  CHECK(v == "2");
}

TEST_CASE("lsm: obsolete files live until the last reader of them is gone") {
  memory_fs fs;
  auto o = tiny();
  o.auto_checkpoint = false;
  auto s = lsm_mem::open(fs, "/db", o);
  std::uint64_t ts = 0;
  for (int r = 0; r < 2; ++r) {
    for (int i = 0; i < 200; ++i) commit(*s, ++ts, write_batch().put(key_of(i), std::to_string(r)));
    s->checkpoint();
  }
  auto before = fs.list("/db");
  auto c = s->scan(scan_spec{ts, "", std::nullopt, scan_order::forward, 0});  // pins L0 files
  s->compact();
  // The L0 inputs are gone from the manifest but the cursor still reads them.
  std::size_t still = 0;
  for (auto& f : before) still += f.ends_with(".sst") && fs.exists("/db/" + f);
  CHECK(still == 2);
  std::size_t n = 0;
  for (; c.valid(); c.next()) {
    CHECK(c.value() == "1");
    ++n;
  }
  CHECK(n == 200);
  c = s->scan(scan_spec{ts, "zzz", std::nullopt, scan_order::forward, 0});  // releases the pin
  still = 0;
  for (auto& f : before) still += f.ends_with(".sst") && fs.exists("/db/" + f);
  CHECK(still == 0);
  CHECK(s->stats().lsm.obsolete_files_deleted == 2);
}

TEST_CASE("lsm: WAL segments are deleted once their flush is in the manifest") {
  memory_fs fs;
  auto o = tiny();
  o.wal_segment_size = 4096;
  o.auto_checkpoint = false;
  auto s = lsm_mem::open(fs, "/db", o);
  for (std::uint64_t ts = 1; ts <= 500; ++ts) {
    commit(*s, ts, write_batch().put(key_of(ts), std::string(50, 'v')));
  }
  CHECK(count_files(fs, "/db", ".log") > 5);
  s->checkpoint();
  CHECK(count_files(fs, "/db", ".log") == 1);  // the fresh segment after the roll
  s->close();
  auto r = lsm_mem::open(fs, "/db", o);
  CHECK(r->stats().recovery.transactions == 0);  // nothing to replay: all in SSTables
  CHECK(r->last_commit_ts() == 500);
  std::string v;
  CHECK(r->get(key_of(250), max_timestamp, 0, v));
}

TEST_CASE("lsm: a corrupted SSTable block is reported with file and offset; other keys read") {
  memory_fs fs;
  auto o = tiny();
  o.auto_checkpoint = false;
  o.lsm.block_cache_size = 0;
  std::string victim;
  {
    auto s = lsm_mem::open(fs, "/db", o);
    for (std::uint64_t ts = 1; ts <= 400; ++ts) {
      commit(*s, ts, write_batch().put(key_of(ts), std::string(40, 'a' + ts % 26)));
    }
    s->checkpoint();
    s->close();
  }
  for (auto& f : fs.list("/db")) {
    if (f.ends_with(".sst")) victim = f;
  }
  REQUIRE_FALSE(victim.empty());
  std::string bytes = read_file(fs, "/db/" + victim);
  bytes[100] ^= 0x10;  // inside the first data block
  write_file(fs, "/db/" + victim, bytes);
  auto s = lsm_mem::open(fs, "/db", o);
  int bad = 0, good = 0;
  std::string v;
  for (std::uint64_t i = 1; i <= 400; ++i) {
    try {
      if (s->get(key_of(i), max_timestamp, 0, v)) ++good;
    } catch (const corruption& e) {
      std::string msg = e.what();
      CHECK_MESSAGE(msg.find("sstable " + victim) != std::string::npos, msg);
      CHECK_MESSAGE(msg.find("at offset 0") != std::string::npos, msg);
      ++bad;
    }
  }
  CHECK(bad > 0);
  CHECK(good + bad == 400);
  CHECK(good > 300);
  // A scan over the damaged block fails loudly too.
  CHECK_THROWS_AS(dump(*s), corruption);
}

TEST_CASE("lsm: mmap reads and zstd give the same answers") {
  sochdb_test::temp_dir tmp("sochdb-lsm");
  auto o = tiny();
  o.lsm.use_mmap_reads = true;
  o.lsm.compression.level = 5;
  std::map<std::string, std::string> model;
  {
    auto s = lsm_storage<posix_fs, zstd>::open(posix_fs{}, tmp.path() + "/db", o);
    for (std::uint64_t ts = 1; ts <= 3000; ++ts) {
      std::string k = key_of(ts % 700), v = std::to_string(ts) + std::string(30, 'z');
      commit(*s, ts, write_batch().put(k, v));
      model[k] = v;
    }
    s->wait_for_background();
    CHECK(dump(*s) == model);
    s->close();
  }
  auto s = lsm_storage<posix_fs, zstd>::open(posix_fs{}, tmp.path() + "/db", o);
  CHECK(dump(*s) == model);
  CHECK(dump(*s, max_timestamp, scan_order::reverse) == model);
  // A database written with zstd opens with the lz4 policy too (blocks name their method).
  s->close();
  auto l = lsm_storage<posix_fs, lz4>::open(posix_fs{}, tmp.path() + "/db", tiny());
  CHECK(dump(*l) == model);
}

TEST_CASE("lsm: writes slow down while L0 is deep, and stall time is counted") {
  memory_fs fs;
  auto o = tiny();
  o.lsm.l0_compaction_trigger = 1;
  o.lsm.l0_slowdown_trigger = 1;
  o.lsm.l0_stop_trigger = 2;
  auto s = lsm_mem::open(fs, "/db", o);
  for (std::uint64_t ts = 1; ts <= 2000; ++ts) {
    commit(*s, ts, write_batch().put(key_of(ts % 300), std::string(30, 'v')));
  }
  auto st = s->stats();
  CHECK(st.lsm.slowdowns > 0);
  CHECK(st.lsm.stall_micros > 0);
}

TEST_CASE("lsm: bad options and foreign directories are refused clearly") {
  memory_fs fs;
  auto o = tiny();
  o.lsm.level_ratio = 1;
  CHECK_THROWS_AS(lsm_mem::open(fs, "/db", o), invalid_argument);
  o = tiny();
  o.lsm.l0_stop_trigger = 1;
  CHECK_THROWS_AS(lsm_mem::open(fs, "/db", o), invalid_argument);
  // A wal_storage directory with a checkpoint file.
  {
    auto w = wal_storage<memory_fs>::open(fs, "/w", storage_options{});
    commit(*w, 1, write_batch().put("a", "b"));
    w->checkpoint();
    w->close();
  }
  CHECK_THROWS_AS(lsm_mem::open(fs, "/w", tiny()), unsupported);
  // A wal_storage directory that never checkpointed opens: its WAL replays.
  {
    auto w = wal_storage<memory_fs>::open(fs, "/w2", storage_options{.auto_checkpoint = false});
    commit(*w, 1, write_batch().put("a", "b"));
    w->close();
  }
  auto s = lsm_mem::open(fs, "/w2", tiny());
  std::string v;
  CHECK(s->get("a", max_timestamp, 0, v));
  s->close();
  // A missing SSTable the manifest lists.
  {
    auto t = lsm_mem::open(fs, "/m", tiny());
    commit(*t, 1, write_batch().put("a", "b"));
    t->checkpoint();
    t->close();
  }
  for (auto& f : fs.list("/m")) {
    if (f.ends_with(".sst")) fs.remove("/m/" + f);
  }
  try {
    lsm_mem::open(fs, "/m", tiny());
    FAIL("opened with a missing table");
  } catch (const corruption& e) {
    CHECK(std::string(e.what()).find("missing") != std::string::npos);
  }
}

TEST_CASE("lsm: scans stay consistent at their snapshot while flushes and compactions run" *
          doctest::test_suite("concurrency")) {
  memory_fs fs;
  auto s = lsm_mem::open(fs, "/db", tiny());
  std::atomic<std::uint64_t> published{0};
  std::atomic<bool> stop{false};
  std::atomic<int> scans{0};
  // Each batch writes the same value to 20 keys; a snapshot must see all 20 equal.
  auto reader = [&](scan_order order) {
    std::string v;
    while (!stop.load()) {
      std::uint64_t ts = published.load();
      std::vector<std::string> vals;
      for (auto c = s->scan(scan_spec{ts, "", std::nullopt, order, 0}); c.valid(); c.next()) {
        vals.emplace_back(c.value());
      }
      if (!vals.empty()) {
        REQUIRE(vals.size() == 20);
        for (auto& x : vals) REQUIRE(x == vals[0]);
        REQUIRE(s->get(key_of(7), ts, 0, v));
        REQUIRE(v == vals[0]);
      }
      ++scans;
    }
  };
  std::thread r1(reader, scan_order::forward), r2(reader, scan_order::reverse);
  for (std::uint64_t ts = 1; ts <= 3000; ++ts) {
    write_batch b;
    for (int k = 0; k < 20; ++k)
      b.put(key_of(static_cast<std::uint64_t>(k)), std::to_string(ts) + std::string(20, '.'));
    commit(*s, ts, b);
    published.store(ts);
  }
  stop = true;
  r1.join();
  r2.join();
  auto st = s->stats();
  CHECK(st.lsm.flushes > 10);
  CHECK(scans.load() > 0);
  MESSAGE("scans: " << scans.load() << ", flushes: " << st.lsm.flushes
                    << ", compactions: " << st.lsm.compactions);
}

}  // namespace test_storage_lsm_test
