// sochdb/db/atomic_writer.hpp — atomic multi-index writes (seed §17): one memory = a blob, an
// embedding document in a collection, graph nodes and edges, all committed in ONE transaction.
//
//     sochdb::atomic_memory_writer writer(db);
//     auto r = writer.write_atomic("memory_123", {
//         sochdb::memory_op::put_blob("memories/memory_123/content", "Meeting notes ..."),
//         sochdb::memory_op::put_embedding("default", "memories", "memory_123", emb),
//         sochdb::memory_op::create_node("default", "memory_123", "memory"),
//         sochdb::memory_op::create_edge("default", "memory_123", "relates_to", "project_x"),
//     });
//     // r.status == "committed", r.ops_applied == 4, r.intent_id == commit timestamp
//
// Why it is atomic, including across a crash: every op writes into the same KV transaction,
// so the blob, the document and the graph keys (graph/graph_store.hpp, in the namespace's
// graph) are one WAL batch — recovery replays all of it or none. The derived indexes follow
// the committed documents (db/collection.hpp: on-commit apply, caught up from the KV store on
// open), so after a crash the vector and BM25 indexes show the memory exactly when its blob and
// graph node are there. The seed's intent log (write intent, apply, write commit) is
// unnecessary here: the transaction is the intent.
//
// Extension point: `memory_op::custom(what, fn)` runs fn(db, txn) inside the same transaction,
// for any other structure kept in the KV store.
//
// Thread safety: a writer is a thin handle; concurrent write_atomic calls are independent
// transactions (retried on conflicts).
#pragma once

#include <sochdb/db/namespace.hpp>

#include <functional>
#include <string>
#include <variant>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

template <class Db>
class basic_memory_op {
 public:
  using transaction_type = typename Db::transaction_type;
  struct blob {
    std::string ns;  // "" : the database's root keyspace; else a namespace's KV
    std::string key, value;
  };
  struct embedding {
    std::string ns, collection;
    document doc;
  };
  struct node {
    std::string ns, id, type;
    graph_properties props;
  };
  struct edge {
    std::string ns, from, type, to;
    graph_properties props;
  };
  struct custom_op {
    std::string what;
    std::function<void(Db&, transaction_type&)> fn;
  };

  /// A KV blob at `key` of the root keyspace.
  static basic_memory_op put_blob(std::string key, std::string value) {
    return basic_memory_op(blob{{}, std::move(key), std::move(value)});
  }
  /// A KV blob at `key` of namespace `ns`.
  static basic_memory_op put_ns_blob(std::string ns, std::string key, std::string value) {
    return basic_memory_op(blob{std::move(ns), std::move(key), std::move(value)});
  }
  /// A document (upserted) with one embedding into collection `collection` of namespace `ns`.
  static basic_memory_op put_embedding(std::string ns, std::string collection, std::string id,
                                       std::vector<float> v,
                                       nlohmann::json metadata = nlohmann::json::object(),
                                       std::string text = {}) {
    return basic_memory_op(embedding{std::move(ns), std::move(collection),
                                     document{.id = std::move(id),
                                              .vectors = {std::move(v)},
                                              .metadata = std::move(metadata),
                                              .text = std::move(text)}});
  }
  /// A graph node in namespace `ns`'s graph (already_exists if the id is taken).
  static basic_memory_op create_node(std::string ns, std::string id, std::string type,
                                     graph_properties props = graph_properties::object()) {
    return basic_memory_op(node{std::move(ns), std::move(id), std::move(type), std::move(props)});
  }
  /// A directed edge from -> to in namespace `ns`'s graph (both nodes must exist, possibly
  /// created by earlier ops of the same write).
  static basic_memory_op create_edge(std::string ns, std::string from, std::string type,
                                     std::string to,
                                     graph_properties props = graph_properties::object()) {
    return basic_memory_op(
        edge{std::move(ns), std::move(from), std::move(type), std::move(to), std::move(props)});
  }
  /// Any other writes into the same transaction (the extension point).
  static basic_memory_op custom(std::string what, std::function<void(Db&, transaction_type&)> fn) {
    return basic_memory_op(custom_op{std::move(what), std::move(fn)});
  }

  std::variant<blob, embedding, node, edge, custom_op> op;

 private:
  template <class T>
  explicit basic_memory_op(T x) : op(std::move(x)) {}
};

struct atomic_write_result {
  std::uint64_t intent_id = 0;  ///< the commit timestamp of the transaction
  std::size_t ops_applied = 0;
  std::string status;  ///< "committed"
  std::string memory_id;
};

template <class Db>
class atomic_memory_writer {
 public:
  using op_type = basic_memory_op<Db>;
  explicit atomic_memory_writer(Db& db) : db_(&db) {}

  /// Applies every op in one transaction (retried as a whole on conflicts); throws on any
  /// error, leaving nothing behind.
  atomic_write_result write_atomic(std::string_view memory_id, const std::vector<op_type>& ops) {
    // Collections are resolved before the transaction (their indexes open and catch up once).
    std::vector<std::optional<basic_collection<Db>>> colls(ops.size());
    std::vector<std::optional<basic_namespace<Db>>> nss(ops.size());
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (auto* e = std::get_if<typename op_type::embedding>(&ops[i].op)) {
        nss[i].emplace(basic_namespace<Db>::open(*db_, e->ns));
        colls[i].emplace(nss[i]->collection(e->collection));
      } else if (auto* b = std::get_if<typename op_type::blob>(&ops[i].op); b && !b->ns.empty()) {
        nss[i].emplace(basic_namespace<Db>::open(*db_, b->ns));
      } else if (auto* n = std::get_if<typename op_type::node>(&ops[i].op)) {
        nss[i].emplace(basic_namespace<Db>::open(*db_, n->ns));
      } else if (auto* e2 = std::get_if<typename op_type::edge>(&ops[i].op)) {
        nss[i].emplace(basic_namespace<Db>::open(*db_, e2->ns));
      }
    }
    atomic_write_result r;
    r.memory_id = std::string(memory_id);
    r.intent_id = db_->transaction([&](typename Db::transaction_type& t) {
      for (std::size_t i = 0; i < ops.size(); ++i) {
        std::visit(
            [&](const auto& o) {
              using T = std::decay_t<decltype(o)>;
              if constexpr (std::is_same_v<T, typename op_type::blob>) {
                if (o.ns.empty())
                  t.put(o.key, o.value);
                else
                  nss[i]->put(t, o.key, o.value);
              } else if constexpr (std::is_same_v<T, typename op_type::embedding>) {
                colls[i]->upsert(t, o.doc);
              } else if constexpr (std::is_same_v<T, typename op_type::node>) {
                nss[i]->graph().add_node(t, o.id, o.type, o.props);
              } else if constexpr (std::is_same_v<T, typename op_type::edge>) {
                nss[i]->graph().add_edge(t, o.from, o.type, o.to, o.props);
              } else {
                o.fn(*db_, t);
              }
            },
            ops[i].op);
      }
      return t.commit();
    });
    r.ops_applied = ops.size();
    r.status = "committed";
    return r;
  }

 private:
  Db* db_;
};

template <class Db>
atomic_memory_writer(Db&) -> atomic_memory_writer<Db>;

using memory_op = basic_memory_op<database>;

SOCHDB_END_NAMESPACE
