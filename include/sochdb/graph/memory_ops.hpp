// sochdb/graph/memory_ops.hpp — graph writes as atomic-writer operations.
//
//     sochdb::atomic_memory_writer w(db);
//     auto where = sochdb::graph_options{.key_prefix = db.ns("default").graph_prefix()};
//     w.write_atomic("m1", {
//         sochdb::memory_op::put_blob("memories/m1/content", "Meeting notes ..."),
//         sochdb::memory_op::put_embedding("default", "memories", "m1", emb, {{"type",
//         "meeting"}}), sochdb::graph_op::create_node(where, "m1", "memory", {{"topic",
//         "roadmap"}}), sochdb::graph_op::create_edge(where, "alice", "remembers", "m1"),
//     });
//
// Each operation runs the graph_store call of the same name on the writer's transaction
// (db/atomic_writer.hpp's extension point), so the blob, the document and the graph keys commit
// as one batch or not at all. create_node adds or replaces the node (put_node); create_edge
// needs both nodes (created earlier in the same write or before).
//
// Thread safety: operations are values; they hold copies of their arguments.
#pragma once

#include <sochdb/db/atomic_writer.hpp>
#include <sochdb/graph/graph_store.hpp>

#include <string>

SOCHDB_BEGIN_NAMESPACE

template <class Db>
struct basic_graph_op {
  using op_type = basic_memory_op<Db>;
  using transaction_type = typename Db::transaction_type;

  static op_type create_node(graph_options where, std::string id, std::string type,
                             graph_properties props = graph_properties::object()) {
    std::string what = "graph node " + id;
    return op_type::custom(std::move(what),
                           [where = std::move(where), id = std::move(id), type = std::move(type),
                            props = std::move(props)](Db& db, transaction_type& t) {
                             graph_store<Db>(db, where).put_node(t, id, type, props);
                           });
  }
  static op_type create_edge(graph_options where, std::string from, std::string type,
                             std::string to, graph_properties props = graph_properties::object()) {
    std::string what = "graph edge " + from + " -" + type + "-> " + to;
    return op_type::custom(
        std::move(what),
        [where = std::move(where), from = std::move(from), type = std::move(type),
         to = std::move(to), props = std::move(props)](Db& db, transaction_type& t) {
          graph_store<Db>(db, where).add_edge(t, from, type, to, props);
        });
  }
  static op_type create_temporal_edge(graph_options where, std::string from, std::string type,
                                      std::string to, std::uint64_t valid_from,
                                      std::uint64_t valid_until = 0,
                                      graph_properties props = graph_properties::object()) {
    std::string what = "graph temporal edge " + from + " -" + type + "-> " + to;
    return op_type::custom(std::move(what), [=](Db& db, transaction_type& t) {
      graph_store<Db>(db, where).add_temporal_edge(t, from, type, to, valid_from, valid_until,
                                                   props);
    });
  }
};

/// Graph operations for the default database's atomic writer.
using graph_op = basic_graph_op<database>;

SOCHDB_END_NAMESPACE
