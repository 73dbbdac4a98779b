// sochdb/db/atomic_writer.hpp — atomic multi-index writes (seed §17): one memory = a blob, an
// embedding document in a collection, and (through the extension point) graph nodes and edges,
// all committed in ONE transaction.
//
//     sochdb::atomic_memory_writer writer(db);
//     auto r = writer.write_atomic("memory_123", {
//         sochdb::memory_op::put_blob("memories/memory_123/content", "Meeting notes ..."),
//         sochdb::memory_op::put_embedding("default", "memories", "memory_123", emb, {{"type",
//         "meeting"}}),
//     });
//     // r.status == "committed", r.ops_applied == 2, r.intent_id == commit timestamp
//
// Why it is atomic, including across a crash: every op writes into the same KV transaction,
// so the blob, the document and any graph keys are one WAL batch — recovery replays all of it or
// none. The derived indexes follow the committed documents (db/collection.hpp: on-commit apply,
// caught up from the KV store on open), so after a crash the vector and BM25 indexes show the
// memory exactly when its blob is there. The seed's intent log (write intent, apply, write
// commit) is unnecessary here: the transaction is the intent.
//
// Extension point: `memory_op::custom(fn)` runs fn(txn) inside the same transaction; the graph
// module (issue 10) plugs its node / edge writes in through it (its operations take a
// caller's transaction), and `memory_op::create_node / create_edge` are added there.
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
  /// Any writes into the same transaction (graph nodes and edges plug in here).
  static basic_memory_op custom(std::string what, std::function<void(Db&, transaction_type&)> fn) {
    return basic_memory_op(custom_op{std::move(what), std::move(fn)});
  }

  std::variant<blob, embedding, custom_op> op;

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
