// graph_bench: the graph store on a 100k-node graph — bulk load, neighbour lookups (outgoing,
// incoming) and 2-hop traversals — beside SQLite running the same workload on an adjacency table
// (edges(src, type, dst) WITHOUT ROWID + an index on (dst, type, src); the same BFS in C++ over
// prepared statements), in the same run.
//
//   graph_bench [--nodes N] [--degree D] [--queries Q] [--dir DIR]
//
// Defaults: 100,000 nodes, out-degree 5 (500,000 edges, uniform random targets), 20,000
// neighbour queries, 2,000 2-hop traversals, files under $TMPDIR. Both stores are on disk with
// syncing off (sochdb sync off; SQLite synchronous=OFF, journal WAL) and read warm.
#include "bench_util.hpp"

#include <sochdb/db.hpp>
#include <sochdb/graph.hpp>

#if SOCHDB_BENCH_SQLITE
#include <sqlite3.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

using namespace sochdb_bench;

namespace {

struct config {
  std::size_t nodes = 100000;
  std::size_t degree = 5;
  std::size_t queries = 20000;
  std::size_t traversals = 2000;
  std::string dir;
};

std::string nid(std::size_t i) { return "node" + std::to_string(i); }

struct workload {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> edges;  // (from, to)
  std::vector<std::uint32_t> probe;                            // query nodes
};

workload make_workload(const config& c) {
  std::mt19937_64 rng(2024);
  workload w;
  w.edges.reserve(c.nodes * c.degree);
  for (std::size_t i = 0; i < c.nodes; ++i) {
    for (std::size_t d = 0; d < c.degree; ++d) {
      w.edges.emplace_back(static_cast<std::uint32_t>(i),
                           static_cast<std::uint32_t>(rng() % c.nodes));
    }
  }
  for (std::size_t i = 0; i < c.queries; ++i)
    w.probe.push_back(static_cast<std::uint32_t>(rng() % c.nodes));
  return w;
}

const char* etype(std::size_t i) {
  return i % 3 == 0 ? "knows" : i % 3 == 1 ? "works_on" : "cites";
}

struct result {
  std::string system, op;
  double seconds = 0;
  std::size_t ops = 0;
  std::size_t items = 0;  // neighbours / nodes reached, as a cross-check between systems
};

nlohmann::ordered_json row(const result& r) {
  nlohmann::ordered_json j;
  j["bench"] = "graph";
  j["system"] = r.system;
  j["op"] = r.op;
  j["ops"] = r.ops;
  j["seconds"] = r.seconds;
  j["us_per_op"] = r.seconds * 1e6 / static_cast<double>(std::max<std::size_t>(r.ops, 1));
  j["ops_per_s"] = static_cast<double>(r.ops) / r.seconds;
  j["items"] = r.items;
  return j;
}

std::vector<result> run_sochdb(const config& c, const workload& w) {
  using db_t = sochdb::database;
  std::string path = c.dir + "/sochdb";
  std::filesystem::remove_all(path);
  auto db = db_t::open(path, {.sync = sochdb::sync_mode::off});
  sochdb::graph_store g(db);
  std::vector<result> out;
  stopwatch sw;
  const std::size_t chunk = 5000;
  for (std::size_t i = 0; i < c.nodes; i += chunk) {
    db.transaction([&](auto& t) {
      for (std::size_t j = i; j < std::min(c.nodes, i + chunk); ++j) {
        g.add_node(t, nid(j), j % 2 ? "person" : "doc", {{"n", j}});
      }
    });
  }
  for (std::size_t i = 0; i < w.edges.size(); i += chunk) {
    db.transaction([&](auto& t) {
      for (std::size_t j = i; j < std::min(w.edges.size(), i + chunk); ++j) {
        g.add_edge(t, nid(w.edges[j].first), etype(j), nid(w.edges[j].second));
      }
    });
  }
  out.push_back({"sochdb", "load", sw.seconds(), c.nodes + w.edges.size(), 0});

  for (int dir = 0; dir < 2; ++dir) {
    auto d = dir == 0 ? sochdb::direction::outgoing : sochdb::direction::incoming;
    std::size_t items = 0;
    sw.reset();
    for (auto q : w.probe) items += g.neighbors(nid(q), d).size();
    out.push_back({"sochdb", dir == 0 ? "neighbors_out" : "neighbors_in", sw.seconds(),
                   w.probe.size(), items});
  }
  std::size_t items = 0;
  sw.reset();
  for (std::size_t i = 0; i < c.traversals; ++i) {
    auto t = g.traverse(nid(w.probe[i]), {.max_depth = 2});
    items += t.nodes.size();
  }
  out.push_back({"sochdb", "traverse_2hop", sw.seconds(), c.traversals, items});
  // 2 hops over ids only (no node records): neighbors of neighbors.
  items = 0;
  sw.reset();
  for (std::size_t i = 0; i < c.traversals; ++i) {
    std::unordered_set<std::string> seen{nid(w.probe[i])};
    for (auto& a : g.neighbors(nid(w.probe[i]))) {
      seen.insert(a.id);
      for (auto& b : g.neighbors(a.id)) seen.insert(b.id);
    }
    items += seen.size();
  }
  out.push_back({"sochdb", "ids_2hop", sw.seconds(), c.traversals, items});
  db.close();
  std::filesystem::remove_all(path);
  return out;
}

#if SOCHDB_BENCH_SQLITE
struct sqlite_graph {
  sqlite3* db = nullptr;
  sqlite3_stmt *out = nullptr, *in = nullptr, *node = nullptr;
  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error("sqlite: " + m);
    }
  }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db));
    }
    return s;
  }
  ~sqlite_graph() {
    for (auto* s : {out, in, node}) sqlite3_finalize(s);
    sqlite3_close(db);
  }
  // Neighbours (type, id) of `id` through statement `s`.
  template <class F>
  void each(sqlite3_stmt* s, const std::string& id, F&& f) {
    sqlite3_bind_text(s, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    while (sqlite3_step(s) == SQLITE_ROW) {
      f(std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)),
                         static_cast<std::size_t>(sqlite3_column_bytes(s, 0))),
        std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(s, 1)),
                         static_cast<std::size_t>(sqlite3_column_bytes(s, 1))));
    }
    sqlite3_reset(s);
  }
};

std::vector<result> run_sqlite(const config& c, const workload& w) {
  std::string path = c.dir + "/graph.sqlite";
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  sqlite_graph s;
  sqlite3_open(path.c_str(), &s.db);
  s.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144;");
  s.exec(
      "CREATE TABLE nodes(id TEXT PRIMARY KEY, type TEXT, props TEXT) WITHOUT ROWID;"
      "CREATE TABLE edges(src TEXT, type TEXT, dst TEXT, props TEXT,"
      " PRIMARY KEY(src, type, dst)) WITHOUT ROWID;"
      "CREATE INDEX edges_in ON edges(dst, type, src);");
  std::vector<result> out;
  stopwatch sw;
  auto* put_node = s.prepare("INSERT INTO nodes VALUES(?, ?, ?)");
  auto* put_edge = s.prepare("INSERT OR REPLACE INTO edges VALUES(?, ?, ?, '{}')");
  const std::size_t chunk = 5000;
  for (std::size_t i = 0; i < c.nodes; i += chunk) {
    s.exec("BEGIN");
    for (std::size_t j = i; j < std::min(c.nodes, i + chunk); ++j) {
      std::string id = nid(j), props = "{\"n\":" + std::to_string(j) + "}";
      sqlite3_bind_text(put_node, 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(put_node, 2, j % 2 ? "person" : "doc", -1, SQLITE_STATIC);
      sqlite3_bind_text(put_node, 3, props.data(), static_cast<int>(props.size()),
                        SQLITE_TRANSIENT);
      sqlite3_step(put_node);
      sqlite3_reset(put_node);
    }
    s.exec("COMMIT");
  }
  for (std::size_t i = 0; i < w.edges.size(); i += chunk) {
    s.exec("BEGIN");
    for (std::size_t j = i; j < std::min(w.edges.size(), i + chunk); ++j) {
      std::string a = nid(w.edges[j].first), b = nid(w.edges[j].second);
      sqlite3_bind_text(put_edge, 1, a.data(), static_cast<int>(a.size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(put_edge, 2, etype(j), -1, SQLITE_STATIC);
      sqlite3_bind_text(put_edge, 3, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
      sqlite3_step(put_edge);
      sqlite3_reset(put_edge);
    }
    s.exec("COMMIT");
  }
  sqlite3_finalize(put_node);
  sqlite3_finalize(put_edge);
  out.push_back({"sqlite", "load", sw.seconds(), c.nodes + w.edges.size(), 0});
  s.out = s.prepare("SELECT type, dst FROM edges WHERE src = ?");
  s.in = s.prepare("SELECT type, src FROM edges WHERE dst = ?");
  s.node = s.prepare("SELECT type, props FROM nodes WHERE id = ?");
  for (int dir = 0; dir < 2; ++dir) {
    std::size_t items = 0;
    sw.reset();
    for (auto q : w.probe) {
      std::vector<std::pair<std::string, std::string>> nb;
      s.each(dir == 0 ? s.out : s.in, nid(q),
             [&](std::string_view t, std::string_view id) { nb.emplace_back(t, id); });
      items += nb.size();
    }
    out.push_back({"sqlite", dir == 0 ? "neighbors_out" : "neighbors_in", sw.seconds(),
                   w.probe.size(), items});
  }
  // The same BFS as graph_store::traverse: node records loaded and parsed, edges listed.
  std::size_t items = 0;
  sw.reset();
  for (std::size_t i = 0; i < c.traversals; ++i) {
    std::unordered_map<std::string, std::size_t> depth;
    std::vector<nlohmann::ordered_json> nodes;
    std::vector<std::tuple<std::string, std::string, std::string>> edges;
    auto load = [&](const std::string& id) {
      s.each(s.node, id, [&](std::string_view t, std::string_view props) {
        nlohmann::ordered_json n;
        n["type"] = t;
        n["properties"] = nlohmann::ordered_json::parse(props);
        nodes.push_back(std::move(n));
      });
    };
    std::string start = nid(w.probe[i]);
    depth[start] = 0;
    load(start);
    std::deque<std::string> q{start};
    while (!q.empty()) {
      std::string u = q.front();
      q.pop_front();
      if (depth[u] >= 2) continue;
      std::vector<std::pair<std::string, std::string>> nb;
      s.each(s.out, u, [&](std::string_view t, std::string_view v) { nb.emplace_back(t, v); });
      for (auto& [t, v] : nb) {
        edges.emplace_back(u, t, v);
        if (depth.emplace(v, depth[u] + 1).second) {
          load(v);
          q.push_back(v);
        }
      }
    }
    items += nodes.size();
  }
  out.push_back({"sqlite", "traverse_2hop", sw.seconds(), c.traversals, items});
  items = 0;
  sw.reset();
  for (std::size_t i = 0; i < c.traversals; ++i) {
    std::string start = nid(w.probe[i]);
    std::unordered_set<std::string> seen{start};
    std::vector<std::string> first;
    s.each(s.out, start, [&](std::string_view, std::string_view v) { first.emplace_back(v); });
    for (auto& a : first) {
      seen.insert(a);
      s.each(s.out, a, [&](std::string_view, std::string_view v) { seen.emplace(v); });
    }
    items += seen.size();
  }
  out.push_back({"sqlite", "ids_2hop", sw.seconds(), c.traversals, items});
  return out;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  config c;
  const char* tmp = std::getenv("TMPDIR");
  c.dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/sochdb_graph_bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    std::size_t v = std::strtoull(argv[i + 1], nullptr, 10);
    if (a == "--nodes")
      c.nodes = v;
    else if (a == "--degree")
      c.degree = v;
    else if (a == "--queries")
      c.queries = v;
    else if (a == "--traversals")
      c.traversals = v;
    else if (a == "--dir")
      c.dir = argv[i + 1];
    else {
      std::fprintf(stderr,
                   "usage: graph_bench [--nodes N] [--degree D] [--queries Q] [--traversals T] "
                   "[--dir DIR]\n");
      return 2;
    }
  }
  c.traversals = std::min(c.traversals, c.queries);
  std::filesystem::create_directories(c.dir);
  auto w = make_workload(c);
  reporter rep({"system", "op", "ops", "seconds", "us_per_op", "ops_per_s", "items"});
  std::vector<result> all;
  for (auto& r : run_sochdb(c, w)) all.push_back(r);
#if SOCHDB_BENCH_SQLITE
  for (auto& r : run_sqlite(c, w)) all.push_back(r);
#endif
  for (auto& r : all) rep.emit(row(r));
  std::cout << "\n" << c.nodes << " nodes, " << w.edges.size() << " edges\n";
  rep.print_table();
#if SOCHDB_BENCH_SQLITE
  std::cout << "\nsochdb time / sqlite time (lower is better for sochdb):\n";
  for (auto& a : all) {
    if (a.system != "sochdb") continue;
    for (auto& b : all) {
      if (b.system == "sqlite" && b.op == a.op) {
        std::printf("  %-14s %.2fx\n", a.op.c_str(), a.seconds / b.seconds);
      }
    }
  }
#endif
  std::filesystem::remove_all(c.dir);
  return 0;
}
