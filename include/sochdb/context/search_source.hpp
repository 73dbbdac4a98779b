// sochdb/context/search_source.hpp — what the context builder's search sections call.
//
//     builder.with_search("docs", sochdb::text_index_search(bm25, sochdb::kv_document_loader(db,
//     "docs/"))); builder.with_search("images", sochdb::vector_index_search(hnsw, loader));
//     builder.with_search("notes", [](const sochdb::context_search_request& r) { ... return hits;
//     });
//
// A search source is any callable `std::vector<context_search_hit>(const context_search_request&)`:
// the collection name, the query (a JSON string for text search, a JSON array of numbers for an
// embedding) and k. The adapters here wrap the text (BM25) and vector indexes with a document
// loader; collections plug in the same way (docs/context.md).
//
// Thread-safety: the adapters hold references to the index and the database; they are as
// thread-safe as those (concurrent searches on an index are safe; see the index headers).
#pragma once

#include <sochdb/core/error.hpp>
#include <sochdb/text/bm25.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// JSON values of the context builder (object keys in insertion order).
using context_value = nlohmann::ordered_json;

struct context_search_request {
  std::string collection;
  context_value query;  ///< a string (text search) or an array of numbers (an embedding)
  std::size_t k = 10;
};

struct context_search_hit {
  std::string id;
  double score = 0;
  context_value document;  ///< an object's fields become row fields; anything else `document`
};

using search_function =
    std::function<std::vector<context_search_hit>(const context_search_request&)>;

/// Loads a document by id: nullopt when it is gone (the hit is then skipped).
using document_loader = std::function<std::optional<context_value>(const std::string& id)>;

/// A loader reading key `prefix + id` of `db` (any object with get(key, out)); values that are
/// JSON become JSON, others strings.
template <class Db>
document_loader kv_document_loader(Db& db, std::string prefix) {
  return [&db, prefix = std::move(prefix)](const std::string& id) -> std::optional<context_value> {
    std::string v;
    if (!db.get(prefix + id, v)) return std::nullopt;
    auto j = context_value::parse(v, nullptr, false);
    if (j.is_discarded()) return context_value(v);
    return j;
  };
}

/// A search source over a BM25 index (document ids are its uint64 ids, in decimal). The query
/// must be a string.
inline search_function text_index_search(const bm25_index& index, document_loader load) {
  return [&index, load = std::move(load)](const context_search_request& r) {
    if (!r.query.is_string()) {
      throw invalid_argument("context search '" + r.collection +
                             "': a text index needs a string query");
    }
    std::vector<context_search_hit> hits;
    for (auto& s : index.search(r.query.get_ref<const std::string&>(), r.k)) {
      std::string id = std::to_string(s.id);
      auto doc = load(id);
      if (!doc) continue;
      hits.push_back({id, s.score, std::move(*doc)});
    }
    return hits;
  };
}

/// A search source over a vector index (flat_index, hnsw_index: anything with
/// search(span<const float>, k) returning neighbours with label and score). The query must be
/// an array of numbers of the index dimension.
template <class Index>
search_function vector_index_search(const Index& index, document_loader load) {
  return [&index, load = std::move(load)](const context_search_request& r) {
    if (!r.query.is_array()) {
      throw invalid_argument("context search '" + r.collection +
                             "': a vector index needs an embedding (an array of numbers)");
    }
    std::vector<float> q;
    q.reserve(r.query.size());
    for (auto& x : r.query) {
      if (!x.is_number()) {
        throw invalid_argument("context search '" + r.collection +
                               "': the embedding holds a non-number");
      }
      q.push_back(x.template get<float>());
    }
    std::vector<context_search_hit> hits;
    for (auto& n : index.search(std::span<const float>(q), r.k)) {
      std::string id = std::to_string(n.label);
      auto doc = load(id);
      if (!doc) continue;
      hits.push_back({id, static_cast<double>(n.score), std::move(*doc)});
    }
    return hits;
  };
}

SOCHDB_END_NAMESPACE
