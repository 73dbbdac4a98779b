// Graph store tests: nodes, edges, adjacency both ways, traversal against a reference BFS on a
// random graph (10k nodes, 50k edges), paths (hops and weighted, against reference searches),
// deletes, namespaces, transactions, key encoding and corruption.
#include <doctest/doctest.h>

#include <sochdb/db.hpp>
#include <sochdb/graph.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_graph_graph_test {

using namespace sochdb;

namespace {
using mem_db = basic_database<memory_storage>;

mem_db open_mem() { return mem_db::open("/g", {}, memory_fs{}); }

std::string nid(int i) { return "n" + std::to_string(i); }

// A random directed multigraph over typed nodes, and the reference adjacency.
struct random_graph {
  int n = 0;
  std::vector<std::string> node_type;
  // (from, type, to) -> weight; at most one edge per triple, as the store keeps.
  std::map<std::tuple<int, std::string, int>, int> edges;
  std::vector<std::vector<std::pair<int, std::string>>> out, in;
};

random_graph make_graph(int n, int m, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  random_graph g;
  g.n = n;
  const char* types[] = {"person", "project", "doc"};
  const char* etypes[] = {"knows", "works_on", "cites"};
  for (int i = 0; i < n; ++i) g.node_type.push_back(types[rng() % 3]);
  while (static_cast<int>(g.edges.size()) < m) {
    int a = static_cast<int>(rng() % static_cast<std::uint64_t>(n));
    int b = static_cast<int>(rng() % static_cast<std::uint64_t>(n));
    g.edges.emplace(std::make_tuple(a, std::string(etypes[rng() % 3]), b),
                    1 + static_cast<int>(rng() % 9));
  }
  g.out.resize(static_cast<std::size_t>(n));
  g.in.resize(static_cast<std::size_t>(n));
  for (auto& [k, w] : g.edges) {
    auto& [a, t, b] = k;
    g.out[static_cast<std::size_t>(a)].push_back({b, t});
    g.in[static_cast<std::size_t>(b)].push_back({a, t});
  }
  return g;
}

template <class Db>
void load(graph_store<Db>& gs, Db& db, const random_graph& g) {
  // Large transactions keep the load fast; every call goes through the public API.
  const int chunk = 2000;
  for (int i = 0; i < g.n; i += chunk) {
    db.transaction([&](auto& t) {
      for (int j = i; j < std::min(g.n, i + chunk); ++j) {
        gs.add_node(t, nid(j), g.node_type[static_cast<std::size_t>(j)], {{"i", j}});
      }
    });
  }
  std::vector<std::pair<std::tuple<int, std::string, int>, int>> es(g.edges.begin(), g.edges.end());
  for (std::size_t i = 0; i < es.size(); i += chunk) {
    db.transaction([&](auto& t) {
      for (std::size_t j = i; j < std::min(es.size(), i + chunk); ++j) {
        auto& [k, w] = es[j];
        gs.add_edge(t, nid(std::get<0>(k)), std::get<1>(k), nid(std::get<2>(k)), {{"w", w}});
      }
    });
  }
}

// Reference BFS: depth of every node reachable from s within max_depth, through nodes that
// `ok` accepts, over edges of `types` (empty = all).
std::map<int, std::size_t> ref_bfs(const random_graph& g, int s, std::size_t max_depth,
                                   direction dir, const std::set<std::string>& types,
                                   const std::function<bool(int)>& ok) {
  std::map<int, std::size_t> depth{{s, 0}};
  std::deque<int> q{s};
  while (!q.empty()) {
    int u = q.front();
    q.pop_front();
    std::size_t d = depth[u];
    if (d >= max_depth) continue;
    auto visit = [&](const std::vector<std::pair<int, std::string>>& adj) {
      for (auto& [v, t] : adj) {
        if (!types.empty() && !types.contains(t)) continue;
        if (depth.contains(v) || !ok(v)) continue;
        depth[v] = d + 1;
        q.push_back(v);
      }
    };
    if (dir != direction::incoming) visit(g.out[static_cast<std::size_t>(u)]);
    if (dir != direction::outgoing) visit(g.in[static_cast<std::size_t>(u)]);
  }
  return depth;
}

int num(const std::string& id) { return std::stoi(id.substr(1)); }

}  // namespace

TEST_CASE("graph: nodes, edges and adjacency both ways") {
  auto db = open_mem();
  graph_store g(db);
  g.add_node("alice", "person", {{"role", "engineer"}, {"team", "ml"}});
  g.add_node("bob", "person", {{"team", "ml"}});
  g.add_node("project_x", "project", {{"status", "active"}});
  CHECK_THROWS_AS(g.add_node("alice", "person"), already_exists);
  CHECK_THROWS_AS(g.add_node("", "person"), invalid_argument);
  CHECK_THROWS_AS(g.add_node("x", ""), invalid_argument);
  CHECK_THROWS_AS(g.add_node("x", "t", graph_properties::array()), invalid_argument);

  auto a = g.get_node("alice");
  REQUIRE(a);
  CHECK(a->type == "person");
  CHECK(a->properties["team"] == "ml");
  CHECK_FALSE(g.get_node("nobody"));

  g.add_edge("alice", "works_on", "project_x", {{"role", "lead"}});
  g.add_edge("alice", "reports_to", "bob");
  g.add_edge("bob", "manages", "project_x");
  CHECK_THROWS_AS(g.add_edge("alice", "knows", "ghost"), not_found);
  CHECK_THROWS_AS(g.add_edge("ghost", "knows", "alice"), not_found);

  auto e = g.get_edge("alice", "works_on", "project_x");
  REQUIRE(e);
  CHECK(e->properties["role"] == "lead");
  CHECK_FALSE(g.get_edge("alice", "works_on", "bob"));

  using N = graph_neighbor;
  CHECK(g.neighbors("alice") == std::vector<N>{{"bob", "reports_to", direction::outgoing},
                                               {"project_x", "works_on", direction::outgoing}});
  CHECK(g.neighbors("project_x", direction::incoming) ==
        std::vector<N>{{"bob", "manages", direction::incoming},
                       {"alice", "works_on", direction::incoming}});
  CHECK(g.neighbors("bob", direction::both) ==
        std::vector<N>{{"project_x", "manages", direction::outgoing},
                       {"alice", "reports_to", direction::incoming}});
  CHECK(g.neighbors("alice", direction::outgoing, {"works_on"}) ==
        std::vector<N>{{"project_x", "works_on", direction::outgoing}});
  CHECK(g.neighbors("alice", direction::outgoing, {"works_on", "reports_to", "works_on"}).size() ==
        2);
  auto in = g.edges("project_x", direction::incoming, {"works_on"});
  REQUIRE(in.size() == 1);
  CHECK(in[0] == graph_edge{"alice", "works_on", "project_x", {{"role", "lead"}}});

  // Edge upsert replaces properties in both directions.
  g.add_edge("alice", "works_on", "project_x", {{"role", "member"}});
  CHECK(g.edges("project_x", direction::incoming, {"works_on"})[0].properties["role"] == "member");

  CHECK(g.nodes_of_type("person") == std::vector<std::string>{"alice", "bob"});
  g.put_node("bob", "manager", {{"team", "infra"}});
  CHECK(g.nodes_of_type("person") == std::vector<std::string>{"alice"});
  CHECK(g.nodes_of_type("manager") == std::vector<std::string>{"bob"});
  CHECK(g.neighbors("bob").size() == 1);  // edges survive put_node
  g.update_node("alice", {{"team", "research"}});
  CHECK(g.get_node("alice")->properties == graph_properties{{"team", "research"}});
  CHECK(g.get_node("alice")->type == "person");
  CHECK_THROWS_AS(g.update_node("ghost", {}), not_found);

  CHECK(g.delete_edge("alice", "reports_to", "bob"));
  CHECK_FALSE(g.delete_edge("alice", "reports_to", "bob"));
  CHECK(g.neighbors("bob", direction::incoming).empty());
}

TEST_CASE("graph: ids with any bytes, namespaces do not see each other") {
  auto db = open_mem();
  graph_store a(db, {.ns = "a"});
  graph_store a2(db, {.ns = std::string("a\0n", 3)});  // would collide without escaping
  graph_store raw(db, {.key_prefix = "coll/x/graph/"});
  std::string weird("x\0y", 3), prefixy("x");
  a.add_node(weird, "t");
  a.add_node(prefixy, "t");
  a.add_node("x\xff", "t");
  a.add_edge(weird, "e", prefixy);
  a.add_edge(prefixy, "e", "x\xff");
  CHECK(a.neighbors(prefixy) == std::vector<graph_neighbor>{{"x\xff", "e", direction::outgoing}});
  CHECK(a.neighbors(weird) == std::vector<graph_neighbor>{{"x", "e", direction::outgoing}});
  CHECK(a.neighbors(prefixy, direction::incoming) ==
        std::vector<graph_neighbor>{{weird, "e", direction::incoming}});
  CHECK_FALSE(a2.get_node(prefixy));
  CHECK(a2.nodes_of_type("t").empty());
  raw.add_node("r", "t");
  CHECK(raw.nodes_of_type("t") == std::vector<std::string>{"r"});
  CHECK(a.nodes_of_type("t").size() == 3);
  CHECK(db.get(std::string("coll/x/graph/n/r") + std::string("\0\x01", 2)).has_value());
  CHECK_THROWS_AS(graph_store(db, {.ns = ""}), invalid_argument);
}

TEST_CASE("graph: traversal matches a reference BFS on a random graph (10k nodes, 50k edges)") {
  auto db = open_mem();
  graph_store gs(db);
  auto g = make_graph(10000, 50000, 42);
  load(gs, db, g);

  std::mt19937_64 rng(7);
  auto all = [](int) { return true; };
  struct scenario {
    std::size_t depth;
    direction dir;
    std::set<std::string> etypes;
    std::vector<std::string> ntypes;
  };
  std::vector<scenario> scenarios = {
      {1, direction::outgoing, {}, {}},
      {2, direction::outgoing, {}, {}},
      {3, direction::incoming, {}, {}},
      {2, direction::both, {}, {}},
      {4, direction::outgoing, {"knows"}, {}},
      {3, direction::outgoing, {"knows", "cites"}, {"person", "doc"}},
      {0, direction::outgoing, {}, {}},
  };
  for (auto& sc : scenarios) {
    for (int rep = 0; rep < 3; ++rep) {
      int s = static_cast<int>(rng() % 10000);
      std::set<std::string> nt(sc.ntypes.begin(), sc.ntypes.end());
      auto ok = [&](int v) {
        return nt.empty() || nt.contains(g.node_type[static_cast<std::size_t>(v)]);
      };
      auto ref = ref_bfs(g, s, sc.depth, sc.dir, sc.etypes, ok);
      std::vector<std::string> et(sc.etypes.begin(), sc.etypes.end());
      for (auto order : {traversal_order::bfs, traversal_order::dfs}) {
        INFO("start " << s << " depth " << sc.depth << " order " << static_cast<int>(order));
        auto t = gs.traverse(nid(s), {.max_depth = sc.depth,
                                      .order = order,
                                      .dir = sc.dir,
                                      .edge_types = et,
                                      .node_types = sc.ntypes});
        std::map<int, std::size_t> got;
        for (std::size_t i = 0; i < t.nodes.size(); ++i) {
          CHECK(got.emplace(num(t.nodes[i].id), t.depths[i]).second);  // each node once
          CHECK(t.nodes[i].properties["i"] == num(t.nodes[i].id));
        }
        CHECK(got == ref);
        CHECK(t.nodes.front().id == nid(s));
        if (order == traversal_order::bfs) {
          CHECK(std::is_sorted(t.depths.begin(), t.depths.end()));
        }
        // Edges: exactly those followed from a node at depth < max to an included node.
        std::set<std::tuple<int, std::string, int>> want_edges, got_edges;
        for (auto& [k, w] : g.edges) {
          auto& [a, ty, b] = k;
          if (!sc.etypes.empty() && !sc.etypes.contains(ty)) continue;
          bool fwd = sc.dir != direction::incoming && ref.contains(a) && ref[a] < sc.depth &&
                     ref.contains(b);
          bool bwd = sc.dir != direction::outgoing && ref.contains(b) && ref[b] < sc.depth &&
                     ref.contains(a);
          if (fwd || bwd) want_edges.insert(k);
        }
        for (auto& e : t.edges) {
          CHECK(got_edges.emplace(num(e.from), e.type, num(e.to)).second);
          CHECK(e.properties["w"] == g.edges.at({num(e.from), e.type, num(e.to)}));
        }
        CHECK(got_edges == want_edges);
      }
    }
  }
  (void)all;

  // Neighbours in both directions equal the reference adjacency.
  for (int rep = 0; rep < 50; ++rep) {
    int u = static_cast<int>(rng() % 10000);
    std::multiset<std::pair<int, std::string>> want_out(g.out[static_cast<std::size_t>(u)].begin(),
                                                        g.out[static_cast<std::size_t>(u)].end());
    std::multiset<std::pair<int, std::string>> want_in(g.in[static_cast<std::size_t>(u)].begin(),
                                                       g.in[static_cast<std::size_t>(u)].end());
    std::multiset<std::pair<int, std::string>> got_out, got_in;
    for (auto& nb : gs.neighbors(nid(u), direction::both)) {
      (nb.dir == direction::outgoing ? got_out : got_in).insert({num(nb.id), nb.edge_type});
    }
    CHECK(got_out == want_out);
    CHECK(got_in == want_in);
  }

  // Paths: hop-shortest equals the reference BFS distance; weighted equals a reference
  // hop-bounded Bellman-Ford.
  for (int rep = 0; rep < 20; ++rep) {
    int s = static_cast<int>(rng() % 10000), d = static_cast<int>(rng() % 10000);
    auto ref = ref_bfs(g, s, 6, direction::outgoing, {}, all);
    auto p = gs.find_path(nid(s), nid(d), {.max_depth = 6});
    if (!ref.contains(d)) {
      CHECK_FALSE(p);
      continue;
    }
    REQUIRE(p);
    CHECK(p->edges.size() == ref[d]);
    CHECK(p->nodes.front() == nid(s));
    CHECK(p->nodes.back() == nid(d));
    for (std::size_t i = 0; i < p->edges.size(); ++i) {
      CHECK(p->edges[i].from == p->nodes[i]);
      CHECK(p->edges[i].to == p->nodes[i + 1]);
      CHECK(g.edges.contains({num(p->edges[i].from), p->edges[i].type, num(p->edges[i].to)}));
    }
    // Weighted, at most 4 hops.
    std::map<int, long> best{{s, 0}};
    std::map<int, long> layer{{s, 0}};
    for (int h = 1; h <= 4; ++h) {
      std::map<int, long> next;
      for (auto& [u, c] : layer) {
        for (auto& [v, t] : g.out[static_cast<std::size_t>(u)]) {
          long nc = c + g.edges.at({u, t, v});
          if (best.contains(v) && best[v] <= nc) continue;
          if (next.contains(v) && next[v] <= nc) continue;
          next[v] = nc;
        }
      }
      for (auto& [v, c] : next) best[v] = std::min(best.contains(v) ? best[v] : c, c);
      layer = next;
    }
    auto wp = gs.find_path(nid(s), nid(d), {.max_depth = 4, .weight_property = "w"});
    if (!best.contains(d) || d == s) {
      if (d != s) CHECK_FALSE(wp);
      continue;
    }
    REQUIRE(wp);
    CHECK(wp->cost == doctest::Approx(static_cast<double>(best[d])));
    CHECK(wp->edges.size() <= 4);
    double sum = 0;
    for (auto& e : wp->edges) sum += e.properties["w"].get<double>();
    CHECK(sum == doctest::Approx(wp->cost));
  }
}

TEST_CASE("graph: traversal filters, dfs preorder, paths in small graphs") {
  auto db = open_mem();
  graph_store g(db);
  for (auto [id, type, team] : {std::tuple{"alice", "person", "ml"},
                                {"bob", "person", "ml"},
                                {"carol", "person", "infra"},
                                {"px", "project", "ml"},
                                {"py", "project", "infra"}}) {
    g.add_node(id, type, {{"team", team}});
  }
  g.add_edge("alice", "works_on", "px");
  g.add_edge("alice", "reports_to", "bob");
  g.add_edge("bob", "manages", "px");
  g.add_edge("bob", "reports_to", "carol");
  g.add_edge("carol", "manages", "py");

  auto t = g.traverse("alice", {.max_depth = 3, .node_filter = properties_match({{"team", "ml"}})});
  std::vector<std::string> ids;
  for (auto& n : t.nodes) ids.push_back(n.id);
  CHECK(ids == std::vector<std::string>{"alice", "bob", "px"});  // carol filtered: py unreached
  CHECK(t.edges.size() == 3);

  auto d = g.traverse("alice", {.max_depth = 3, .order = traversal_order::dfs});
  ids.clear();
  for (auto& n : d.nodes) ids.push_back(n.id);
  // Neighbours in (edge type, id) order: reports_to bob before works_on px.
  CHECK(ids == std::vector<std::string>{"alice", "bob", "px", "carol", "py"});
  CHECK(d.depths == std::vector<std::size_t>{0, 1, 1, 2, 3});  // px lowered to depth 1

  auto p = g.find_path("alice", "py");
  REQUIRE(p);
  CHECK(p->nodes == std::vector<std::string>{"alice", "bob", "carol", "py"});
  CHECK_FALSE(g.find_path("alice", "py", {.max_depth = 2}));
  CHECK_FALSE(g.find_path("py", "alice"));
  auto back = g.find_path("py", "alice", {.dir = direction::incoming});
  REQUIRE(back);
  CHECK(back->nodes == std::vector<std::string>{"py", "carol", "bob", "alice"});
  CHECK(back->edges[0] == graph_edge{"carol", "manages", "py", graph_properties::object()});
  CHECK(g.find_path("alice", "alice")->nodes == std::vector<std::string>{"alice"});
  CHECK_THROWS_AS((void)g.find_path("alice", "ghost"), not_found);
  CHECK_THROWS_AS((void)g.traverse("ghost"), not_found);

  // Weighted: the cheap route is longer.
  g.add_edge("alice", "fast", "py", {{"cost", 10}});
  g.add_edge("alice", "slow", "carol", {{"cost", 1}});
  auto w = g.find_path("alice", "py", {.weight_property = "cost"});
  REQUIRE(w);
  CHECK(w->nodes == std::vector<std::string>{"alice", "carol", "py"});  // 1 + 1 (missing = 1)
  CHECK(w->cost == 2.0);
  g.add_edge("carol", "manages", "py", {{"cost", "high"}});
  CHECK_THROWS_AS((void)g.find_path("alice", "py", {.weight_property = "cost"}), invalid_argument);
}

TEST_CASE("graph: deleting a node deletes its edges both ways") {
  auto db = open_mem();
  graph_store g(db);
  for (auto id : {"a", "b", "c"}) g.add_node(id, "t");
  g.add_edge("a", "x", "b");
  g.add_edge("b", "x", "c");
  g.add_edge("c", "y", "b");
  g.add_edge("b", "self", "b");
  g.add_temporal_edge("b", "STATE", "on", 100, 0);
  g.add_temporal_edge("a", "SEES", "b", 100, 200);
  CHECK(g.delete_node("b"));
  CHECK_FALSE(g.delete_node("b"));
  CHECK(g.neighbors("a", direction::both).empty());
  CHECK(g.neighbors("c", direction::both).empty());
  CHECK(g.nodes_of_type("t") == std::vector<std::string>{"a", "c"});
  CHECK(g.query_temporal_graph("a", temporal_query::range(0, 0)).empty());
  CHECK(g.query_temporal_graph("b", temporal_query::range(0, 0)).empty());
  // Nothing of b is left anywhere in the keyspace except a's and c's own records.
  std::size_t keys = 0;
  for (auto [k, v] : db.scan_prefix(g.key_prefix())) {
    (void)v;
    ++keys;
  }
  CHECK(keys == 4);  // two node records, two type index entries
}

TEST_CASE("graph: node and edges in one caller transaction commit or vanish together") {
  auto db = open_mem();
  graph_store g(db);
  g.add_node("hub", "t");
  {
    auto txn = db.begin();
    txn.put("docs/1", "{\"title\":\"x\"}");
    g.add_node(txn, "doc1", "document");
    g.add_edge(txn, "hub", "has", "doc1");
    g.add_edge(txn, "doc1", "in", "hub");
    CHECK(g.neighbors(txn, "hub", direction::both).size() == 2);  // read-your-writes
    CHECK(g.neighbors("hub").empty());                            // invisible outside
    txn.abort();
  }
  CHECK_FALSE(g.get_node("doc1"));
  CHECK(g.neighbors("hub", direction::both).empty());
  CHECK_FALSE(db.get("docs/1"));

  db.transaction([&](auto& txn) {
    txn.put("docs/1", "{\"title\":\"x\"}");
    g.add_node(txn, "doc1", "document");
    g.add_edge(txn, "hub", "has", "doc1");
  });
  CHECK(g.get_node("doc1"));
  CHECK(g.neighbors("doc1", direction::incoming).size() == 1);

  // An error in the middle aborts the whole transaction.
  CHECK_THROWS_AS(db.transaction([&](auto& txn) {
    g.add_node(txn, "doc2", "document");
    g.add_edge(txn, "doc2", "in", "hub");
    g.add_edge(txn, "doc2", "in", "ghost");
  }),
                  not_found);
  CHECK_FALSE(g.get_node("doc2"));
  CHECK(g.neighbors("hub", direction::incoming).empty());
}

TEST_CASE("graph: corrupt records are reported with the key") {
  auto db = open_mem();
  graph_store g(db);
  g.add_node("a", "t");
  g.add_node("b", "t");
  g.add_edge("a", "e", "b");
  std::string nk = g.key_prefix() + "n/a" + std::string("\0\x01", 2);
  db.put(nk, "not json");
  CHECK_THROWS_AS((void)g.get_node("a"), corruption);
  std::string ok = g.key_prefix() + "o/a" + std::string("\0\x01", 2) + "e" +
                   std::string("\0\x01", 2) + "b" + std::string("\0\x01", 2);
  REQUIRE(db.get(ok));
  db.put(ok, "[1]");
  CHECK_THROWS_AS((void)g.edges("a"), corruption);
  db.put(g.key_prefix() + "o/a" + std::string("\0\x01", 2) + "junk", "{}");
  CHECK_THROWS_AS((void)g.neighbors("a"), corruption);
}

TEST_CASE("graph: concurrent writers keep adjacency symmetric" *
          doctest::test_suite("concurrency")) {
  auto db = open_mem();
  graph_store g(db);
  for (int i = 0; i < 20; ++i) g.add_node(nid(i), "t");
  auto worker = [&](int t) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(t));
    for (int k = 0; k < 300; ++k) {
      int a = static_cast<int>(rng() % 20), b = static_cast<int>(rng() % 20);
      if (rng() % 3 == 0) {
        g.delete_edge(nid(a), "e", nid(b));
      } else {
        g.add_edge(nid(a), "e", nid(b), {{"by", t}});
      }
      if (k % 50 == 0) (void)g.traverse(nid(a), {.max_depth = 2, .dir = direction::both});
    }
  };
  std::thread x(worker, 1), y(worker, 2), z(worker, 3);
  x.join();
  y.join();
  z.join();
  std::set<std::pair<std::string, std::string>> outs, ins;
  for (int i = 0; i < 20; ++i) {
    for (auto& n : g.neighbors(nid(i), direction::outgoing)) outs.insert({nid(i), n.id});
    for (auto& n : g.neighbors(nid(i), direction::incoming)) ins.insert({n.id, nid(i)});
  }
  CHECK(outs == ins);
}

}  // namespace test_graph_graph_test
