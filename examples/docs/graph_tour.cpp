// Every code block of docs/graph.md, as a program (run as a test: suite `docs`).
#include <sochdb/sochdb.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

static void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "graph_tour: failed: %s\n", what);
    std::exit(1);
  }
}
#define EXPECT(x) expect((x), #x)

int main() {
  std::string dir = (std::filesystem::temp_directory_path() / "sochdb-graph-tour").string();
  std::filesystem::remove_all(dir);
  {
    // [nodes]
    auto db = sochdb::database::open(dir);
    sochdb::graph_store g(db, {.ns = "default"});

    g.add_node("alice", "person", {{"role", "engineer"}, {"team", "ml"}});
    g.add_node("bob", "person", {{"role", "manager"}, {"team", "ml"}});
    g.add_node("project_x", "project", {{"status", "active"}});
    g.add_edge("alice", "works_on", "project_x", {{"role", "lead"}});
    g.add_edge("alice", "reports_to", "bob");
    g.add_edge("bob", "manages", "project_x");

    auto who = g.neighbors("project_x", sochdb::direction::incoming);  // bob, alice
    auto edge = g.get_edge("alice", "works_on", "project_x");          // with {"role": "lead"}
    // [nodes]
    EXPECT(who.size() == 2 && who[0].id == "bob" && who[1].id == "alice");
    EXPECT(edge && edge->properties["role"] == "lead");

    // [traverse]
    auto t = g.traverse("alice", {.max_depth = 2,
                                  .order = sochdb::traversal_order::bfs,
                                  .edge_types = {"works_on", "reports_to"},
                                  .node_filter = sochdb::properties_match({{"team", "ml"}})});
    for (std::size_t i = 0; i < t.nodes.size(); ++i) {
      std::printf("%s (%s) at depth %zu\n", t.nodes[i].id.c_str(), t.nodes[i].type.c_str(),
                  t.depths[i]);
    }
    auto path = g.find_path("alice", "project_x", {.max_depth = 5});  // alice -> project_x
    // [traverse]
    EXPECT(t.nodes.size() == 2);  // project_x has no "team": filtered out
    EXPECT(path && path->nodes.size() == 2);

    // [txn]
    db.transaction([&](auto& txn) {
      txn.put("docs/42", R"({"title": "Design notes"})");
      g.add_node(txn, "doc42", "document");
      g.add_edge(txn, "alice", "wrote", "doc42");
    });  // the document, the node and the edge commit together, or not at all
    // [txn]
    EXPECT(g.neighbors("doc42", sochdb::direction::incoming).size() == 1);

    // [temporal]
    const std::uint64_t hour = 3600 * 1000, t0 = 1'700'000'000'000;
    g.add_temporal_edge("door", "STATE", "open", t0, t0 + hour, {{"sensor", "m1"}});
    g.add_temporal_edge("door", "STATE", "closed", t0 + hour, 0);  // 0 = still valid

    using q = sochdb::temporal_query;
    auto then = g.query_temporal_graph("door", q::point_in_time(t0 + hour / 2));  // open
    auto now = g.query_temporal_graph("door", q::current("STATE"));               // closed
    auto all = g.query_temporal_graph("door", q::range(t0, t0 + 2 * hour));       // both
    g.end_temporal_edge("door", "STATE", "closed", t0 + 3 * hour);
    // [temporal]
    EXPECT(then.size() == 1 && then[0].to == "open");
    EXPECT(now.size() == 1 && now[0].to == "closed");
    EXPECT(all.size() == 2);
    EXPECT(g.query_temporal_graph("door", q::current()).empty());

    // [delete]
    g.delete_node("bob");  // and every edge touching bob
    // [delete]
    EXPECT(g.neighbors("alice", sochdb::direction::outgoing, {"reports_to"}).empty());
  }
  std::filesystem::remove_all(dir);
  std::puts("graph_tour: ok");
  return 0;
}
