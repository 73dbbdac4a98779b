// sochdb/db/document.hpp — the documents of a collection, their stored encoding, collection
// configurations, and the name rules of namespaces and collections.
//
// A document is the unit a collection stores: an id (any bytes, 1..1024 of them), zero or
// more vectors of the collection's dimension (several for multi-vector documents: chunks,
// frames), metadata (a JSON object, filterable) and text (BM25 content). The KV store holds
// each document under `<collection prefix>d/<id>` in the encoding below and is the source of
// truth; indexes are derived from it (db/collection.hpp).
//
// Encoding of a document value (format; docs/formats/collection.md "Document"):
//     u8 version (1) | varint flags (bit 0: expiry present) | [fixed64 expires_at_ms]
//     | varint dimension | varint vector count | count x dimension float32 (little-endian)
//     | length-prefixed metadata JSON | length-prefixed text
// `decode_document` checks every length against the bytes present before allocating: damaged
// or hostile bytes are `corruption` naming the key and offset, never a crash (fuzz target
// tests/collection/fuzz_document.cpp).
//
// Thread safety: plain values and pure functions.
#pragma once

#include <sochdb/core/coding.hpp>
#include <sochdb/core/error.hpp>
#include <sochdb/simd/concepts.hpp>
#include <sochdb/text/bm25.hpp>
#include <sochdb/vector/collection_index.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// Longest document id in bytes.
inline constexpr std::size_t max_document_id_size = 1024;

struct document {
  std::string id;                           ///< 1..1024 bytes
  std::vector<std::vector<float>> vectors;  ///< each of the collection's dimension (0..n of them)
  nlohmann::json metadata = nlohmann::json::object();  ///< a JSON object (filterable)
  std::string text;  ///< BM25 content; when empty the metadata's content_field (if a string)
  std::uint64_t expires_at_ms = 0;  ///< 0: never (semantic cache entries carry a TTL)
};

/// Validates a namespace or collection name: 1..64 bytes of [A-Za-z0-9_.-], starting with a
/// letter, digit or '_' (so no separators, no ".", no ".."). `what` names it in the error.
inline void validate_name(std::string_view name, const char* what) {
  auto bad = [&](const std::string& why) {
    throw invalid_argument(std::string(what) + " name " + printable_key(name) + " " + why);
  };
  if (name.empty() || name.size() > 64) bad("must be 1..64 bytes long");
  auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  };
  for (char c : name)
    if (!ok(c)) bad("may only contain letters, digits, '_', '-' and '.'");
  if (name[0] == '.' || name[0] == '-') bad("must start with a letter, digit or '_'");
}

inline void validate_document_id(std::string_view id) {
  if (id.empty() || id.size() > max_document_id_size)
    throw invalid_argument("document id " + printable_key(id) + " must be 1..1024 bytes long");
}

namespace detail {
inline constexpr std::uint8_t document_version = 1;  // format
}

/// The stored bytes of `d` (its id is the key, not part of the value).
inline std::string encode_document(const document& d, std::size_t dimension) {
  std::string out;
  out.push_back(static_cast<char>(detail::document_version));
  put_varint64(out, d.expires_at_ms != 0 ? 1 : 0);
  if (d.expires_at_ms != 0) put_fixed64(out, d.expires_at_ms);
  put_varint64(out, dimension);
  put_varint64(out, d.vectors.size());
  for (const auto& v : d.vectors) {
    if (v.size() != dimension)
      throw dimension_mismatch("document " + printable_key(d.id), dimension, v.size());
    std::size_t at = out.size();
    out.resize(at + v.size() * 4);
    for (std::size_t j = 0; j < v.size(); ++j) {
      std::uint32_t bits;
      std::memcpy(&bits, &v[j], 4);
      encode_fixed32(out.data() + at + j * 4, bits);
    }
  }
  put_length_prefixed(out, d.metadata.dump());
  put_length_prefixed(out, d.text);
  return out;
}

/// Decodes a stored document value; `source` (the key) names it in errors.
inline document decode_document(std::string_view bytes, std::string_view id,
                                std::string_view source) {
  byte_reader r(bytes, source);
  document d;
  d.id = std::string(id);
  auto version = r.u8();
  if (version != detail::document_version)
    throw corruption(std::string(source) + ": unknown document version " + std::to_string(version));
  std::uint64_t flags = r.varint64();
  if (flags > 1)
    throw corruption(std::string(source) + ": unknown document flags " + std::to_string(flags));
  if (flags & 1) d.expires_at_ms = r.fixed64();
  std::uint64_t dim = r.varint64();
  std::uint64_t count = r.varint64();
  if (dim > 65536 || (count != 0 && dim == 0))
    throw corruption(std::string(source) + ": bad vector dimension " + std::to_string(dim));
  if (count > r.remaining() / 4 / (dim == 0 ? 1 : dim))
    throw corruption(std::string(source) + ": " + std::to_string(count) + " vectors do not fit");
  d.vectors.resize(static_cast<std::size_t>(count));
  for (auto& v : d.vectors) {
    auto raw = r.bytes(dim * 4);
    v.resize(static_cast<std::size_t>(dim));
    for (std::size_t j = 0; j < v.size(); ++j) {
      std::uint32_t bits = decode_fixed32(raw.data() + j * 4);
      std::memcpy(&v[j], &bits, 4);
    }
  }
  auto meta = r.length_prefixed();
  d.metadata = nlohmann::json::parse(meta, nullptr, false);
  if (d.metadata.is_discarded() || !d.metadata.is_object())
    throw corruption(std::string(source) + ": metadata is not a JSON object");
  d.text = std::string(r.length_prefixed());
  if (r.remaining() != 0)
    throw corruption(std::string(source) + ": " + std::to_string(r.remaining()) +
                     " trailing bytes");
  return d;
}

/// How several vectors of one document become one score.
enum class multi_vector_aggregate : std::uint8_t {
  max = 0,    ///< the best vector's similarity (default)
  mean = 1,   ///< the mean similarity over the document's vectors
  first = 2,  ///< the first vector's similarity
};

/// A collection's configuration (stored as JSON next to its documents; immutable after create).
struct collection_config {
  std::string name;                                      ///< required: validate_name rules
  std::size_t dimension = 0;                             ///< required: floats per vector
  simd::metric_kind metric = simd::metric_kind::cosine;  ///< cosine (default), l2, inner_product
  std::size_t m = 16;                                    ///< HNSW links per node (default 16)
  std::size_t ef_construction = 100;                     ///< HNSW build beam (default 100)
  std::size_t ef_search = 64;                            ///< HNSW search beam (default 64)
  vector::quantization quantization = vector::quantization::none;  ///< none | sq8 | pq
  std::size_t pq_m = 0;       ///< PQ subspaces (0: about dimension / 4)
  bool hybrid = false;        ///< keep a BM25 index of the text
  std::string content_field;  ///< metadata field indexed by BM25 when a document has no text
  double bm25_k1 = 1.2;       ///< BM25 term-frequency saturation (default 1.2)
  double bm25_b = 0.75;       ///< BM25 length normalization (default 0.75)
  bool stopwords = false;     ///< drop the classic English stopwords from BM25 (default off)
  idf_formula bm25_idf = idf_formula::lucene;  ///< lucene (default) or robertson (= SQLite FTS5)
  std::size_t flat_limit = 1000;       ///< vectors searched exactly before the HNSW graph is built
  std::size_t vamana_above = 1000000;  ///< vectors from which a Vamana + PQ tier is built in the
                                       ///< background (0: never; l2 and cosine only)
  std::size_t checkpoint_every = 20000;  ///< index changes between automatic checkpoints
                                         ///< (0: only on close and checkpoint())

  void validate() const {
    validate_name(name, "collection");
    index_options().validate();
    if (!(bm25_k1 >= 0) || !(bm25_b >= 0 && bm25_b <= 1))
      throw invalid_argument("collection " + name + ": bm25_k1 must be >= 0 and bm25_b in [0, 1]");
  }
  [[nodiscard]] vector::collection_index_options index_options() const {
    return {.dimension = dimension,
            .metric = metric,
            .m = m,
            .ef_construction = ef_construction,
            .ef_search = ef_search,
            .quant = quantization,
            .pq_m = pq_m,
            .flat_limit = flat_limit,
            .vamana_above = vamana_above};
  }

  [[nodiscard]] nlohmann::json to_json() const {
    return {{"name", name},
            {"dimension", dimension},
            {"metric", std::string(simd::to_string(metric))},
            {"m", m},
            {"ef_construction", ef_construction},
            {"ef_search", ef_search},
            {"quantization", vector::to_string(quantization)},
            {"pq_m", pq_m},
            {"hybrid", hybrid},
            {"content_field", content_field},
            {"bm25_k1", bm25_k1},
            {"bm25_b", bm25_b},
            {"stopwords", stopwords},
            {"bm25_idf", bm25_idf == idf_formula::robertson ? "robertson" : "lucene"},
            {"flat_limit", flat_limit},
            {"vamana_above", vamana_above},
            {"checkpoint_every", checkpoint_every}};
  }
  /// Parses a configuration (missing fields keep their defaults; wrong types and unknown
  /// metric / quantization names are invalid_argument naming the field).
  static collection_config from_json(const nlohmann::json& j) {
    if (!j.is_object()) throw invalid_argument("collection config: expected a JSON object");
    collection_config c;
    auto field = [&](const char* k, auto& out) {
      auto it = j.find(k);
      if (it == j.end()) return;
      try {
        it->get_to(out);
      } catch (const nlohmann::json::exception&) {
        throw invalid_argument(std::string("collection config: field '") + k +
                               "' has the wrong type");
      }
    };
    field("name", c.name);
    field("dimension", c.dimension);
    std::string metric = std::string(simd::to_string(c.metric)),
                quant = vector::to_string(c.quantization);
    field("metric", metric);
    field("quantization", quant);
    field("m", c.m);
    field("ef_construction", c.ef_construction);
    field("ef_search", c.ef_search);
    field("pq_m", c.pq_m);
    field("hybrid", c.hybrid);
    field("content_field", c.content_field);
    field("bm25_k1", c.bm25_k1);
    field("bm25_b", c.bm25_b);
    field("stopwords", c.stopwords);
    std::string idf = "lucene";
    field("bm25_idf", idf);
    if (idf == "robertson")
      c.bm25_idf = idf_formula::robertson;
    else if (idf != "lucene")
      throw invalid_argument("collection config: bm25_idf must be lucene or robertson");
    field("flat_limit", c.flat_limit);
    field("vamana_above", c.vamana_above);
    field("checkpoint_every", c.checkpoint_every);
    c.metric = parse_metric(metric);
    c.quantization = parse_quantization(quant);
    return c;
  }
  static simd::metric_kind parse_metric(std::string_view s) {
    if (s == "cosine") return simd::metric_kind::cosine;
    if (s == "l2" || s == "euclidean") return simd::metric_kind::l2;
    if (s == "inner_product" || s == "ip" || s == "dot") return simd::metric_kind::inner_product;
    throw invalid_argument("collection config: unknown metric '" + std::string(s) +
                           "' (cosine, l2, inner_product)");
  }
  static vector::quantization parse_quantization(std::string_view s) {
    if (s == "none") return vector::quantization::none;
    if (s == "sq8" || s == "scalar") return vector::quantization::sq8;
    if (s == "pq") return vector::quantization::pq;
    throw invalid_argument("collection config: unknown quantization '" + std::string(s) +
                           "' (none, sq8, pq)");
  }
};

SOCHDB_END_NAMESPACE
