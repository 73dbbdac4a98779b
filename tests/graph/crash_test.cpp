// Crash test: a graph workload on fault_injection_fs (sync full). Each transaction adds a node,
// links it both ways to earlier nodes, writes a document key beside it, and every fifth one
// deletes an earlier node. Power is cut after the n-th write, after the n-th sync, or torn in the
// n-th write; after recovery every acknowledged transaction is there whole, none is there in
// part (a node without its edges or document, an edge without its mirror key or endpoints).
#include <doctest/doctest.h>

#include <sochdb/db.hpp>
#include <sochdb/graph.hpp>

#include <optional>
#include <random>
#include <set>
#include <string>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_graph_crash_test {

using namespace sochdb;

namespace {
using fi_fs = fault_injection_fs<memory_fs>;
using fi_db = basic_database<wal_storage<fi_fs>>;
constexpr int steps = 60;

database_options options() {
  return database_options{
      .sync = sync_mode::full, .wal_segment_size = 8 * 1024, .auto_checkpoint = false};
}
std::string nid(int i) { return "n" + std::to_string(i); }
bool deletes_at(int i) { return i % 5 == 4; }
int victim(int i) { return i - 3; }

// Returns how many steps were acknowledged.
int run(fi_fs& fs) {
  int acked = 0;
  try {
    auto db = fi_db::open("/db", options(), fs);
    graph_store g(db);
    for (int i = 0; i < steps; ++i) {
      db.transaction([&](auto& t) {
        t.put("doc/" + nid(i), "payload " + std::to_string(i));
        g.add_node(t, nid(i), "item", {{"i", i}});
        if (i > 0) {
          g.add_edge(t, nid(i), "next_of", nid(i - 1));
          g.add_edge(t, nid(i - 1), "prev_of", nid(i));
        }
        if (deletes_at(i)) g.delete_node(t, nid(victim(i)));
      });
      acked = i + 1;
      if (i == steps / 2) db.checkpoint();
    }
  } catch (const error&) {
  }
  return acked;
}

void verify(fi_fs& fs, int acked, const std::string& where) {
  INFO(where);
  std::optional<fi_db> db;
  REQUIRE_NOTHROW(db.emplace(fi_db::open("/db", options(), fs)));
  graph_store g(*db);
  // Steps 0..k-1 are applied for some k in {acked, acked + 1}.
  int k = 0;
  while (k < steps && db->exists("doc/" + nid(k))) ++k;
  CHECK((k == acked || k == acked + 1));
  std::set<int> deleted;
  for (int i = 0; i < k; ++i) {
    if (deletes_at(i)) deleted.insert(victim(i));
  }
  for (int i = 0; i < steps; ++i) {
    bool should = i < k && !deleted.contains(i);
    CHECK_MESSAGE(g.get_node(nid(i)).has_value() == should, "node " << i);
    CHECK(db->exists("doc/" + nid(i)) == (i < k));
    if (!should) {
      CHECK(g.neighbors(nid(i), direction::both).empty());
      continue;
    }
    std::set<std::string> want;
    if (i > 0 && !deleted.contains(i - 1)) want.insert(nid(i - 1));
    if (i + 1 < k && !deleted.contains(i + 1)) want.insert(nid(i + 1));
    std::set<std::string> out, in;
    for (auto& n : g.neighbors(nid(i), direction::outgoing)) out.insert(n.id);
    for (auto& n : g.neighbors(nid(i), direction::incoming)) in.insert(n.id);
    CHECK_MESSAGE(out == want, "out edges of node " << i);
    CHECK_MESSAGE(in == want, "in edges of node " << i);
  }
  CHECK_NOTHROW(g.add_node("after_recovery", "item"));
}

std::uint64_t count_ops(fault_op kind) {
  fi_fs fs;
  run(fs);
  auto s = fs.stats();
  return kind == fault_op::write ? s.writes : s.file_syncs + s.dir_syncs;
}

void sweep(fault_op kind, const char* label) {
  std::uint64_t total = count_ops(kind);
  std::uint64_t crashed = 0;
  std::uint64_t stride = total > 120 ? total / 120 : 1;
  for (std::uint64_t n = 1; n <= total + 1; n += stride) {
    fi_fs fs;
    fs.crash_after(kind, n);
    int acked = run(fs);
    if (!fs.is_down()) continue;
    ++crashed;
    fs.simulate_power_loss();
    verify(fs, acked, std::string(label) + " after op " + std::to_string(n));
  }
  MESSAGE(std::string(label) << ": " << crashed << " crash points verified (of " << total
                             << " ops)");
  CHECK(crashed > 0);
}
}  // namespace

TEST_CASE("graph crash: power cut after every write") { sweep(fault_op::write, "graph/write"); }
TEST_CASE("graph crash: power cut after every sync") { sweep(fault_op::sync, "graph/sync"); }

TEST_CASE("graph crash: torn writes") {
  std::uint64_t total = count_ops(fault_op::write);
  std::uint64_t stride = total > 60 ? total / 60 : 1;
  std::mt19937_64 rng(5);
  std::uint64_t crashed = 0;
  for (std::uint64_t n = 1; n <= total; n += stride) {
    fi_fs fs;
    fs.tear_nth_write(n, static_cast<std::size_t>(rng() % 200));
    int acked = run(fs);
    if (!fs.is_down()) continue;
    ++crashed;
    fs.simulate_power_loss();
    verify(fs, acked, "torn write " + std::to_string(n));
  }
  MESSAGE("graph/torn: " << crashed << " points verified");
  CHECK(crashed > 0);
}

}  // namespace test_graph_crash_test
