// sochdb/mcp/collection_tools.hpp — MCP tools over namespaces and collections (db/namespace.hpp):
// sochdb_list_collections and sochdb_search.
//
//     sochdb::mcp::add_collection_tools(srv, db);                      // BM25 / given vectors
//     sochdb::mcp::add_collection_tools(srv, db, {.embed = my_embedder}); // text -> vector too
//
// sochdb_search runs the collection's real search (vector, keyword or hybrid, with metadata
// pre-filters — docs/collections.md): a `vector` argument searches by vector; a `query` text
// searches BM25 (hybrid collections) and, when the server has an embedder, also by the text's
// embedding, fused (RRF, or alpha-weighted with `alpha`). Hits are rows {id, score, ...metadata}.
//
// Thread safety: as the collections. The database must outlive the server.
#pragma once

#include <sochdb/db/namespace.hpp>
#include <sochdb/mcp/server.hpp>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace mcp {

struct collection_tool_options {
  /// Text -> embedding for `query` arguments (must return the collection's dimension); without
  /// one, text queries are keyword (BM25) searches.
  std::function<std::vector<float>(std::string_view)> embed;
  std::string default_namespace = "default";  ///< when a call names none
  std::size_t max_k = 1000;                   ///< most hits per search
};

/// Registers sochdb_list_collections and sochdb_search over `db`'s namespaces.
template <class Database>
void add_collection_tools(server& srv, Database& db, collection_tool_options o = {}) {
  const json ns_schema = {{"type", "string"},
                          {"description", "namespace (default \"" + o.default_namespace + "\")"}};

  srv.add_tool({
      .name = "sochdb_list_collections",
      .title = "List collections",
      .description = "List the namespaces and their collections with dimension, metric, "
                     "document count and whether they keep a BM25 index (hybrid).",
      .input_schema = {{"type", "object"}, {"properties", {{"namespace", ns_schema}}}},
      .annotations = {{"readOnlyHint", true}},
      .handler =
          [&db](const json& a) {
            std::vector<std::string> names;
            if (a.contains("namespace"))
              names.push_back(a["namespace"].get<std::string>());
            else
              names = db.list_namespaces();
            json rows = json::array();
            for (auto& n : names) {
              auto ns = db.ns(n);
              for (auto& c : ns.list_collections()) {
                auto info = ns.collection(c).info();
                rows.push_back({{"namespace", n},
                                {"collection", c},
                                {"dimension", info.config.dimension},
                                {"metric", std::string(simd::to_string(info.config.metric))},
                                {"documents", info.count},
                                {"hybrid", info.config.hybrid}});
              }
            }
            std::size_t n = rows.size();
            return json{{"collections", std::move(rows)}, {"count", n}};
          },
  });

  srv.add_tool({
      .name = "sochdb_search",
      .title = "Search a collection",
      .description =
          "Search a collection by vector similarity, keywords (BM25) or both (hybrid), with an "
          "optional metadata filter such as {\"year\": {\"$gte\": 2020}}. Give `query` (text) "
          "and/or `vector` (numbers of the collection's dimension).",
      .input_schema = {{"type", "object"},
                       {"properties",
                        {{"namespace", ns_schema},
                         {"collection", {{"type", "string"}, {"description", "collection name"}}},
                         {"query", {{"type", "string"}, {"description", "text to search for"}}},
                         {"vector",
                          {{"type", "array"},
                           {"items", {{"type", "number"}}},
                           {"description", "query embedding"}}},
                         {"k",
                          {{"type", "integer"},
                           {"minimum", 1},
                           {"maximum", o.max_k},
                           {"default", 10},
                           {"description", "results wanted"}}},
                         {"filter",
                          {{"type", "object"},
                           {"description",
                            "metadata filter: {field: value | {$eq,$ne,$gt,$gte,$lt,"
                            "$lte,$in,$nin,$exists}}, $and, $or, $not"}}},
                         {"alpha",
                          {{"type", "number"},
                           {"minimum", 0},
                           {"maximum", 1},
                           {"description", "hybrid weight of the vector side; default: RRF"}}},
                         {"min_score",
                          {{"type", "number"}, {"description", "drop hits scoring below"}}}}},
                       {"required", {"collection"}}},
      .annotations = {{"readOnlyHint", true}},
      .handler =
          [&db, o](const json& a) {
            std::string nsname = a.value("namespace", o.default_namespace);
            auto coll = db.ns(nsname).collection(a["collection"].get<std::string>());
            search_request r;
            r.k = a.value("k", std::size_t{10});
            if (a.contains("vector")) r.vector = a["vector"].get<std::vector<float>>();
            if (a.contains("query")) {
              r.text = a["query"].get<std::string>();
              if (r.vector.empty() && o.embed) r.vector = o.embed(r.text);
              if (!coll.info().config.hybrid) {
                if (r.vector.empty())
                  throw tool_error("collection " + a["collection"].get<std::string>() +
                                   " has no keyword index (not hybrid) and the server has no "
                                   "embedder: pass `vector`");
                r.text.clear();  // vector search only
              }
            }
            if (r.vector.empty() && r.text.empty()) throw tool_error("give `query` or `vector`");
            if (a.contains("filter"))
              r.filter = metadata_filter::compile(nlohmann::json::parse(a["filter"].dump()));
            if (a.contains("alpha")) r.alpha = a["alpha"].get<double>();
            if (a.contains("min_score")) r.min_score = a["min_score"].get<double>();
            std::string mode = r.vector.empty() ? "keyword" : r.text.empty() ? "vector" : "hybrid";
            json hits = json::array();
            for (auto& h : coll.search(r)) {
              json row = {{"id", h.id}, {"score", h.score}};
              if (!std::isnan(h.distance)) row["distance"] = h.distance;
              if (h.metadata.is_object()) {
                json meta = detail::to_ordered(h.metadata);  // named: items() refers into it
                for (auto& [k, v] : meta.items())
                  if (!row.contains(k)) row[k] = v;
              }
              hits.push_back(std::move(row));
            }
            std::size_t n = hits.size();
            return json{{"namespace", nsname},
                        {"collection", a["collection"]},
                        {"mode", mode},
                        {"hits", std::move(hits)},
                        {"count", n}};
          },
  });
}

}  // namespace mcp
SOCHDB_END_NAMESPACE
