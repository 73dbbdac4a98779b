// Temporal edges: interval boundaries (valid_from inclusive, valid_until exclusive, 0 = open),
// end_temporal_edge, point / current / range queries against a brute-force reference, and the
// time-block index bound (a point query reads a few blocks, not the node's whole history).
#include <doctest/doctest.h>

#include <sochdb/db.hpp>
#include <sochdb/graph.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <tuple>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_graph_temporal_test {

using namespace sochdb;

namespace {
using mem_db = basic_database<memory_storage>;
mem_db open_mem() { return mem_db::open("/t", {}, memory_fs{}); }

std::vector<std::string> targets(const std::vector<temporal_edge>& es) {
  std::vector<std::string> out;
  for (auto& e : es) out.push_back(e.to);
  return out;
}
}  // namespace

TEST_CASE("temporal: boundaries, open edges, ending an edge") {
  auto db = open_mem();
  graph_store g(db, {.ns = "smart_home"});
  const std::uint64_t h = 3600 * 1000;
  const std::uint64_t t0 = 1'700'000'000'000;
  g.add_temporal_edge("door", "STATE", "open", t0, t0 + h, {{"sensor", "m1"}});
  g.add_temporal_edge("door", "STATE", "closed", t0 + h, 0);
  g.add_temporal_edge("door", "LOCK", "locked", t0 + 2 * h, t0 + 3 * h);

  using Q = temporal_query;
  CHECK(g.query_temporal_graph("door", Q::point_in_time(t0 - 1)).empty());
  CHECK(targets(g.query_temporal_graph("door", Q::point_in_time(t0))) ==
        std::vector<std::string>{"open"});  // valid_from inclusive
  CHECK(targets(g.query_temporal_graph("door", Q::point_in_time(t0 + h - 1))) ==
        std::vector<std::string>{"open"});
  CHECK(targets(g.query_temporal_graph("door", Q::point_in_time(t0 + h))) ==
        std::vector<std::string>{"closed"});  // valid_until exclusive
  CHECK(targets(g.query_temporal_graph("door", Q::point_in_time(t0 + 2 * h))) ==
        std::vector<std::string>{"closed", "locked"});
  CHECK(targets(g.query_temporal_graph("door", Q::point_in_time(t0 + 2 * h, "STATE"))) ==
        std::vector<std::string>{"closed"});
  CHECK(targets(g.query_temporal_graph("door", Q::point_in_time(~0ull))) ==
        std::vector<std::string>{"closed"});  // open edges hold forever
  auto first = g.query_temporal_graph("door", Q::point_in_time(t0));
  REQUIRE(first.size() == 1);
  CHECK(first[0] == temporal_edge{"door", "STATE", "open", t0, t0 + h, {{"sensor", "m1"}}});

  // CURRENT: the wall clock is far past t0 + 3h.
  CHECK(targets(g.query_temporal_graph("door", Q::current())) ==
        std::vector<std::string>{"closed"});

  // RANGE [s, e): overlap, e exclusive, s inclusive against valid_until exclusive.
  CHECK(targets(g.query_temporal_graph("door", Q::range(t0 + h, t0 + 2 * h))) ==
        std::vector<std::string>{"closed"});
  CHECK(targets(g.query_temporal_graph("door", Q::range(t0 + h - 1, t0 + 2 * h + 1))) ==
        std::vector<std::string>{"open", "closed", "locked"});
  CHECK(targets(g.query_temporal_graph("door", Q::range(0, t0))).empty());
  CHECK(targets(g.query_temporal_graph("door", Q::range(0, 0))).size() == 3);
  CHECK_THROWS_AS((void)g.query_temporal_graph("door", Q::range(5, 5)), invalid_argument);

  // Ending the open edge.
  CHECK(g.end_temporal_edge("door", "STATE", "closed", t0 + 5 * h) == 1);
  CHECK(g.query_temporal_graph("door", Q::point_in_time(t0 + 5 * h)).empty());
  CHECK(targets(g.query_temporal_graph("door", Q::point_in_time(t0 + 5 * h - 1))) ==
        std::vector<std::string>{"closed"});
  CHECK_THROWS_AS(g.end_temporal_edge("door", "STATE", "closed", t0 + 6 * h), not_found);
  g.add_temporal_edge("door", "STATE", "ajar", t0 + 6 * h, 0);
  CHECK_THROWS_AS(g.end_temporal_edge("door", "STATE", "ajar", t0 + 6 * h), not_found);

  CHECK_THROWS_AS(g.add_temporal_edge("door", "STATE", "x", 10, 10), invalid_argument);
  CHECK_THROWS_AS(g.add_temporal_edge("door", "STATE", "x", 10, 5), invalid_argument);
  CHECK_THROWS_AS(g.add_temporal_edge("door", "", "x", 10, 0), invalid_argument);

  // Replacing the record with the same (from, type, to, valid_from) moves it in the index.
  g.add_temporal_edge("door", "STATE", "open", t0, t0 + 10, {{"sensor", "m2"}});
  auto r = g.query_temporal_graph("door", Q::range(t0, t0 + h, "STATE"));
  REQUIRE(r.size() == 1);
  CHECK(r[0].valid_until == t0 + 10);
  CHECK(r[0].properties["sensor"] == "m2");
  CHECK(g.query_temporal_graph("door", Q::point_in_time(t0 + 10)).empty());

  // Inside a caller's transaction, with time at the extremes.
  db.transaction([&](auto& txn) {
    g.add_temporal_edge(txn, "x", "T", "y", 0, 1);
    g.add_temporal_edge(txn, "x", "T", "z", ~0ull - 1, ~0ull);
    CHECK(targets(g.query_temporal_graph(txn, "x", Q::point_in_time(0))) ==
          std::vector<std::string>{"y"});
  });
  CHECK(g.query_temporal_graph("x", Q::point_in_time(1)).empty());
  CHECK(targets(g.query_temporal_graph("x", Q::point_in_time(~0ull - 1))) ==
        std::vector<std::string>{"z"});
  CHECK(g.query_temporal_graph("x", Q::range(0, 0)).size() == 2);
}

TEST_CASE("temporal: random histories against a brute-force reference") {
  auto db = open_mem();
  graph_store g(db);
  std::mt19937_64 rng(99);
  struct rec {
    std::string type, to;
    std::uint64_t from, until;
  };
  std::vector<rec> all;
  const std::uint64_t base = 1'000'000;
  db.transaction([&](auto& txn) {
    for (int i = 0; i < 3000; ++i) {
      std::uint64_t from = base + rng() % 1'000'000;
      std::uint64_t len = rng() % 4 == 0 ? 0 : 1 + (rng() % (rng() % 2 ? 100 : 200'000));
      std::string to = std::to_string(i);
      to.insert(0, 1, 's');  // (not "s" + ...: g++ 12 warns -Wrestrict on it)
      rec r{rng() % 2 ? "A" : "B", to, from, len == 0 ? 0 : from + len};
      g.add_temporal_edge(txn, "node", r.type, r.to, r.from, r.until);
      all.push_back(r);
    }
  });
  auto check = [&](const temporal_query& q, std::uint64_t lo, std::uint64_t hi) {
    std::vector<std::tuple<std::uint64_t, std::string, std::string>> want, got;
    for (auto& r : all) {
      if (!q.edge_type.empty() && r.type != q.edge_type) continue;
      if (r.from <= hi && (r.until == 0 || r.until > lo)) want.emplace_back(r.from, r.type, r.to);
    }
    std::sort(want.begin(), want.end());
    for (auto& e : g.query_temporal_graph("node", q)) got.emplace_back(e.valid_from, e.type, e.to);
    CHECK(got == want);
  };
  for (int i = 0; i < 200; ++i) {
    std::uint64_t t = base - 10 + rng() % 1'300'000;
    check(temporal_query::point_in_time(t), t, t);
    check(temporal_query::point_in_time(t, "A"), t, t);
    std::uint64_t len = 1 + rng() % 50'000;
    check(temporal_query::range(t, t + len), t, t + len - 1);
    check(temporal_query::range(t, t + len, "B"), t, t + len - 1);
  }
}

TEST_CASE("temporal: a point query reads a few time blocks, not the whole history") {
  auto db = open_mem();
  graph_store g(db);
  // A device with 20,000 consecutive one-minute states, then one open state.
  const std::uint64_t minute = 60'000, t0 = 1'700'000'000'000;
  const int n = 20000;
  db.transaction([&](auto& txn) {
    for (int i = 0; i < n; ++i) {
      g.add_temporal_edge(txn, "dev", "STATE", i % 2 ? "on" : "off", t0 + i * minute,
                          t0 + (i + 1) * minute);
    }
    g.add_temporal_edge(txn, "dev", "STATE", "idle", t0 + n * minute, 0);
  });
  std::size_t worst = 0;
  for (int i : {0, 1, 777, 5000, 12345, n - 1}) {
    temporal_scan_stats st;
    auto r = g.query_temporal_graph("dev", temporal_query::point_in_time(t0 + i * minute + 5), &st);
    REQUIRE(r.size() == 1);
    CHECK(r[0].to == (i % 2 ? "on" : "off"));
    CHECK(st.scans == 17);
    worst = std::max(worst, st.entries_read);
  }
  MESSAGE("point query over " << n << " intervals read at most " << worst << " index entries");
  CHECK(worst < 200);  // the whole history is 20,001 entries
  temporal_scan_stats st;
  auto cur = g.query_temporal_graph("dev", temporal_query::current(), &st);
  REQUIRE(cur.size() == 1);
  CHECK(cur[0].to == "idle");
  CHECK(st.entries_read < 200);
}

}  // namespace test_graph_temporal_test
