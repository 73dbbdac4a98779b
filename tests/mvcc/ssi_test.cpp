// Serializable snapshot isolation beyond Hermitage:
//   * random interleavings of small transactions (point reads, predicate scans, inserts,
//     updates) checked by building the direct serialization graph (Adya: ww, wr, rw edges over
//     the version order of commit timestamps) of the committed ones: never a cycle at
//     serializable, with and without a tiny memory limit that forces summarization; at snapshot
//     isolation the same generator does produce cycles (the checker can fail);
//   * the read-only rules: the read-only anomaly (Fekete, O'Neil & O'Neil 2004) is caught in
//     both orders; a read-only transaction that no writer overlaps never aborts; declared
//     read-only transactions on a safe snapshot are not tracked;
//   * a scan is a predicate read of what it consumed: inserts past where it stopped do not
//     conflict, inserts before do;
//   * the bookkeeping stays under its memory limit while a long transaction runs.
#include <doctest/doctest.h>

#include <sochdb/db.hpp>

#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_mvcc_ssi_test {

using namespace sochdb;

namespace {
using mem_db = basic_database<memory_storage>;

// ---- random histories and the serialization-graph check ----

constexpr int n_keys = 8;  // k0..k7; k0..k3 exist initially, the others may be inserted
constexpr int initial_keys = 4;

struct history_checker {
  std::string pad;  // long keys make the bookkeeping big (summarization tests)
  std::string key(int i) const { return pad + "k" + std::to_string(i); }
  int key_index(std::string_view k) const { return k.back() - '0'; }

  struct txn_log {
    std::map<int, int> reads;  // key -> writer id seen (0: the initial version or absence)
    std::set<int> writes;
    std::uint64_t commit_ts = 0;
    bool committed = false;
  };

  // One random history; returns true when the committed transactions' graph has a cycle.
  template <class Db>
  bool run(Db& db, isolation_level level, std::mt19937_64& rng, int n_txns) {
    for (int i = 0; i < initial_keys; ++i) db.put(key(i), "T0");
    for (int i = initial_keys; i < n_keys; ++i) db.del(key(i));
    std::vector<txn_log> logs(static_cast<std::size_t>(n_txns) + 1);
    struct live {
      int id;
      typename Db::transaction_type txn;
      int ops_left;
    };
    std::vector<live> running;
    int next_id = 1;
    auto do_op = [&](live& l) {
      auto& log = logs[static_cast<std::size_t>(l.id)];
      auto seen = [&](int k, std::optional<std::string> v) {
        if (log.writes.count(k)) return;  // own write: no dependency on anyone
        int w = v ? std::stoi(v->substr(1)) : 0;
        log.reads.emplace(k, w);
      };
      int kind = static_cast<int>(rng() % 10);
      if (kind < 4) {
        int k = static_cast<int>(rng() % n_keys);
        seen(k, l.txn.get(key(k)));
      } else if (kind < 6) {
        // Predicate read of a key range [a, b): every key in it is read (present or not).
        int a = static_cast<int>(rng() % n_keys), b = a + 1 + static_cast<int>(rng() % 4);
        std::map<int, std::string> got;
        std::string hi = b >= n_keys ? pad + "l" : key(b);
        for (auto [k, v] : l.txn.scan_range(key(a), hi)) got[key_index(k)] = std::string(v);
        for (int k = a; k < std::min(b, n_keys); ++k) {
          auto it = got.find(k);
          seen(k, it == got.end() ? std::nullopt : std::optional<std::string>(it->second));
        }
      } else {
        int k = static_cast<int>(rng() % n_keys);
        l.txn.put(key(k), "T" + std::to_string(l.id));
        log.writes.insert(k);
      }
    };
    while (next_id <= n_txns || !running.empty()) {
      bool start =
          next_id <= n_txns && (running.size() < 2 || (running.size() < 4 && rng() % 3 == 0));
      if (start) {
        running.push_back({next_id++, db.begin(level), 1 + static_cast<int>(rng() % 5)});
        continue;
      }
      std::size_t i = rng() % running.size();
      auto& l = running[i];
      try {
        if (l.ops_left-- > 0) {
          do_op(l);
          continue;
        }
        std::uint64_t ts = l.txn.commit();
        auto& log = logs[static_cast<std::size_t>(l.id)];
        log.committed = true;
        log.commit_ts = log.writes.empty() ? 0 : ts;
      } catch (const transaction_conflict&) {
      }
      if (l.ops_left < 0 || !l.txn.active()) running.erase(running.begin() + static_cast<long>(i));
    }
    return has_cycle(logs);
  }

  static bool has_cycle(const std::vector<txn_log>& logs) {
    std::size_t n = logs.size();
    std::vector<std::set<std::size_t>> edges(n);
    // Version order of each key: T0, then its writers by commit timestamp.
    for (int k = 0; k < n_keys; ++k) {
      std::vector<std::pair<std::uint64_t, std::size_t>> writers{{0, 0}};
      for (std::size_t t = 1; t < n; ++t) {
        if (logs[t].committed && logs[t].writes.count(k))
          writers.emplace_back(logs[t].commit_ts, t);
      }
      std::sort(writers.begin(), writers.end());
      for (std::size_t i = 1; i < writers.size(); ++i) {
        edges[writers[i - 1].second].insert(writers[i].second);  // ww
      }
      for (std::size_t r = 1; r < n; ++r) {
        if (!logs[r].committed) continue;
        auto it = logs[r].reads.find(k);
        if (it == logs[r].reads.end()) continue;
        auto w = static_cast<std::size_t>(it->second);
        std::size_t pos = 0;
        while (pos < writers.size() && writers[pos].second != w) ++pos;
        REQUIRE_MESSAGE(pos < writers.size(), "read a version of an uncommitted writer");
        if (w != r) edges[w].insert(r);  // wr
        if (pos + 1 < writers.size() && writers[pos + 1].second != r) {
          edges[r].insert(writers[pos + 1].second);  // rw: the next version overwrote it
        }
      }
    }
    std::vector<int> color(n, 0);
    std::function<bool(std::size_t)> dfs = [&](std::size_t u) {
      color[u] = 1;
      for (auto v : edges[u]) {
        if (color[v] == 1) return true;
        if (color[v] == 0 && dfs(v)) return true;
      }
      color[u] = 2;
      return false;
    };
    for (std::size_t u = 0; u < n; ++u) {
      if (color[u] == 0 && dfs(u)) return true;
    }
    return false;
  }
};

#ifdef NDEBUG
constexpr int histories = 20000;
#else
constexpr int histories = 2000;
#endif

}  // namespace

TEST_CASE("ssi: random histories at serializable have acyclic serialization graphs") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  history_checker h;
  std::mt19937_64 rng(2024);
  int cycles = 0;
  for (int i = 0; i < histories; ++i) cycles += h.run(db, isolation_level::serializable, rng, 6);
  CHECK(cycles == 0);
  auto s = db.stats().transactions;
  MESSAGE(histories << " histories: " << s.ssi_conflicts << " SSI aborts, " << s.write_conflicts
                    << " write conflicts");
  CHECK(s.ssi_conflicts > 0);
  CHECK(s.running_serializable == 0);
}

TEST_CASE("ssi: the same histories at snapshot isolation do contain cycles (write skew)") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  history_checker h;
  std::mt19937_64 rng(2024);
  int cycles = 0;
  for (int i = 0; i < histories; ++i) cycles += h.run(db, isolation_level::snapshot, rng, 6);
  MESSAGE(cycles << " of " << histories << " snapshot-isolation histories are not serializable");
  CHECK(cycles > 0);
}

TEST_CASE("ssi: with a tiny memory limit the summaries keep histories serializable") {
  memory_fs fs;
  auto db = mem_db::open("/db", {.ssi_memory_limit = 4096}, fs);
  history_checker h;
  h.pad = std::string(200, 'p');  // every tracked key costs > 200 bytes
  std::mt19937_64 rng(77);
  int cycles = 0;
  for (int i = 0; i < histories / 2; ++i)
    cycles += h.run(db, isolation_level::serializable, rng, 8);
  CHECK(cycles == 0);
  auto s = db.stats().transactions;
  MESSAGE(s.summarized << " entries summarized, " << s.ssi_conflicts << " SSI aborts");
  CHECK(s.summarized > 0);
}

TEST_CASE("ssi: the read-only anomaly is caught in both orders") {
  // Fekete, O'Neil & O'Neil 2004: T2 reads x and y and writes y; T3 writes x and commits first;
  // T1, read-only, starts after T3 and reads x (new) and y (old).
  for (bool declared : {false, true}) {
    CAPTURE(declared);
    SUBCASE("T1 reads y before T2 commits: T2 (the pivot) aborts") {
      memory_fs fs;
      auto db = mem_db::open("/db", {}, fs);
      db.put_batch({{"x", "0"}, {"y", "0"}});
      auto t2 = db.begin();
      (void)t2.get("x");
      (void)t2.get("y");
      auto t3 = db.begin();
      t3.put("x", "20");
      t3.commit();
      auto t1 = db.begin({.read_only = declared});
      CHECK(t1.get("x") == "20");
      CHECK(t1.get("y") == "0");
      t2.put("y", "-11");
      CHECK_THROWS_AS(t2.commit(), transaction_conflict);
      CHECK_NOTHROW(t1.commit());
    }
    SUBCASE("T2 commits before T1 reads y: T1 (read-only) aborts at that read") {
      memory_fs fs;
      auto db = mem_db::open("/db", {}, fs);
      db.put_batch({{"x", "0"}, {"y", "0"}});
      auto t2 = db.begin();
      (void)t2.get("x");
      (void)t2.get("y");
      auto t3 = db.begin();
      t3.put("x", "20");
      t3.commit();
      auto t1 = db.begin({.read_only = declared});
      CHECK(t1.get("x") == "20");
      t2.put("y", "-11");
      t2.commit();
      CHECK_THROWS_AS((void)t1.get("y"), transaction_conflict);
    }
  }
}

TEST_CASE("ssi: a read-only transaction that no writer overlaps never aborts") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  std::mt19937_64 rng(5);
  for (int i = 0; i < 16; ++i) db.put("k" + std::to_string(i), "0");
  int committed_ro = 0;
  for (int round = 0; round < 200; ++round) {
    // Writers that read and write but commit only after the reader is done.
    std::vector<mem_db::transaction_type> writers;
    for (int w = 0; w < 3; ++w) {
      writers.push_back(db.begin());
      for (int j = 0; j < 3; ++j) (void)writers.back().get("k" + std::to_string(rng() % 16));
      writers.back().put("k" + std::to_string(rng() % 16), std::to_string(round));
    }
    auto reader = db.begin({.read_only = rng() % 2 == 0});
    for (auto [k, v] : reader.scan_prefix_unchecked("k")) (void)v;
    for (int j = 0; j < 4; ++j) (void)reader.get("k" + std::to_string(rng() % 16));
    CHECK_NOTHROW(reader.commit());
    ++committed_ro;
    for (auto& w : writers) {
      try {
        w.commit();
      } catch (const transaction_conflict&) {
      }
    }
  }
  CHECK(committed_ro == 200);
}

TEST_CASE("ssi: declared read-only transactions on a safe snapshot are not tracked") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  db.put("a", "1");
  auto ro = db.begin({.read_only = true});
  CHECK(ro.get("a") == "1");
  auto s = db.stats().transactions;
  CHECK(s.safe_snapshots == 1);
  CHECK(s.running_serializable == 0);
  ro.commit();
  // With a read-write serializable transaction running, the snapshot is not safe.
  auto rw = db.begin();
  (void)rw.get("a");
  auto ro2 = db.begin({.read_only = true});
  (void)ro2.get("a");
  CHECK(db.stats().transactions.running_serializable == 2);
  CHECK(db.stats().transactions.safe_snapshots == 1);
}

TEST_CASE("ssi: readers that commit without writing are not retained once nothing overlaps") {
  // Two transactions on the same snapshot read, write nothing and commit: the commit point of
  // each is that snapshot, at the pruning horizon itself. Neither may stay behind.
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  db.put("a", "1");
  for (int round = 0; round < 3; ++round) {
    auto t1 = db.begin();
    auto t2 = db.begin();
    CHECK(t1.get("a") == "1");
    CHECK(t2.get("a") == "1");
    t1.commit();
    t2.commit();
    auto s = db.stats().transactions;
    CHECK(s.running_serializable == 0);
    CHECK(s.retained_committed == 0);
  }
}

TEST_CASE("ssi: a scan is a predicate read of the part it consumed") {
  for (bool inside : {false, true}) {
    CAPTURE(inside);
    memory_fs fs;
    auto db = mem_db::open("/db", {}, fs);
    db.put_batch({{"p/a", "1"}, {"p/m", "2"}, {"k", "0"}});
    auto t1 = db.begin();
    {
      auto sc = t1.scan_prefix("p/");
      REQUIRE(sc.key() == "p/a");  // stop after the first key
    }
    auto t2 = db.begin();
    (void)t2.get("k");
    t2.put(inside ? "p/0" : "p/z", "new");  // before or after where t1's scan stopped
    t2.commit();
    t1.put("k", "1");
    // inside: t1 -rw-> t2 (its scan missed p/0) and t2 -rw-> t1 (t2 read k): a cycle.
    if (inside) {
      CHECK_THROWS_AS(t1.commit(), transaction_conflict);
    } else {
      CHECK_NOTHROW(t1.commit());
    }
  }
}

TEST_CASE("ssi: bookkeeping stays bounded while a long transaction pins it") {
  memory_fs fs;
  constexpr std::size_t limit = 64 * 1024;
  auto db = mem_db::open("/db", {.ssi_memory_limit = limit}, fs);
  auto old = db.begin();
  (void)old.get("anything");  // an old snapshot: everything after it must be kept or summarized
  std::size_t peak = 0;
  for (int i = 0; i < 3000; ++i) {
    auto t = db.begin();
    std::string k = "key/" + std::to_string(i) + std::string(40, 'x');
    (void)t.get(k);
    for (auto [kk, v] : t.scan_range("key/" + std::to_string(i), "key/" + std::to_string(i + 1)))
      (void)v;
    t.put(k, "v");
    t.commit();
    peak = std::max(peak, db.stats().transactions.tracked_bytes);
  }
  auto s = db.stats().transactions;
  MESSAGE("peak tracked bytes " << peak << ", summarized " << s.summarized << ", retained "
                                << s.retained_committed << ", index keys " << s.recent_write_keys);
  CHECK(peak <= limit + 4096);
  CHECK(s.summarized > 0);
  // The long transaction is still protected, conservatively: writing a key that a summarized
  // transaction may have read, after reading past summarized writes, aborts.
  (void)old.scan_prefix("key/").valid();
  old.put("key/0", "w");
  CHECK_THROWS_AS(old.commit(), transaction_conflict);
  auto after = db.stats().transactions;
  CHECK(after.tracked_bytes == 0);
  CHECK(after.retained_committed == 0);
}

}  // namespace test_mvcc_ssi_test
