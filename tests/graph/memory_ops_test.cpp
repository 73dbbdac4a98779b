// The graph inside collections' namespaces and the atomic memory writer: a blob, a collection
// document and graph nodes/edges commit in one transaction or not at all; deleting a namespace
// deletes its graph.
#include <doctest/doctest.h>

#include <sochdb/db.hpp>
#include <sochdb/graph.hpp>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_graph_memory_ops_test {

using namespace sochdb;

namespace {
using mem_db = basic_database<wal_storage<memory_fs>>;
}

TEST_CASE("graph in a namespace, written through the atomic memory writer") {
  memory_fs fs;
  auto db = mem_db::open("/db", {.sync = sync_mode::off}, fs);
  auto ns = db.create_namespace("default");
  auto other = db.create_namespace("other");
  auto c = ns.create_collection({.name = "memories", .dimension = 2});
  graph_options where{.key_prefix = ns.graph_prefix()};
  graph_store g(db, where);
  graph_store g_other(db, {.key_prefix = other.graph_prefix()});
  g.add_node("alice", "person");

  atomic_memory_writer w(db);
  using op = basic_memory_op<mem_db>;
  using gop = basic_graph_op<mem_db>;
  auto r = w.write_atomic(
      "m1", {op::put_blob("memories/m1/content", "Meeting notes"),
             op::put_embedding("default", "memories", "m1", {1, 0}, {{"type", "meeting"}}),
             gop::create_node(where, "m1", "memory", {{"topic", "roadmap"}}),
             gop::create_edge(where, "alice", "remembers", "m1", {{"weight", 0.9}}),
             gop::create_temporal_edge(where, "m1", "STATE", "fresh", 100, 200)});
  CHECK(r.ops_applied == 5);
  CHECK(db.get("memories/m1/content") == "Meeting notes");
  CHECK(c.vector_search({1, 0}, 1)[0].id == "m1");
  CHECK(g.get_node("m1")->properties["topic"] == "roadmap");
  CHECK(g.neighbors("m1", direction::incoming).size() == 1);
  CHECK(g.query_temporal_graph("m1", temporal_query::point_in_time(150)).size() == 1);
  CHECK_FALSE(g_other.get_node("m1"));
  CHECK(graph_store(db).nodes_of_type("memory").empty());  // the default "g/" graph is separate

  // An edge to a missing node fails the whole memory: no blob, no document, no node.
  CHECK_THROWS_AS(w.write_atomic("m2", {op::put_blob("memories/m2/content", "x"),
                                        op::put_embedding("default", "memories", "m2", {0, 1}),
                                        gop::create_node(where, "m2", "memory"),
                                        gop::create_edge(where, "m2", "about", "ghost")}),
                  not_found);
  CHECK_FALSE(db.get("memories/m2/content"));
  CHECK_FALSE(c.get("m2"));
  CHECK_FALSE(g.get_node("m2"));
  CHECK(c.count() == 1);

  // Deleting the namespace deletes its graph.
  db.delete_namespace("default", true);
  CHECK_FALSE(g.get_node("alice"));
  CHECK_FALSE(db.scan_prefix(where.key_prefix).valid());
}

}  // namespace test_graph_memory_ops_test
