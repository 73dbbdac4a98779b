// sochdb/vector/search.hpp — what every vector index shares: labels, results, per-query
// parameters, filters, and the options of the index families.
//
// Every index (flat_index, hnsw_index, vamana_index, index_router) stores vectors under an
// external 64-bit `label` chosen by the caller (a document id, a row id) and answers
// `search(query, k, params, filter)` with up to k `neighbor`s sorted by ascending internal
// distance. Parameters are per query (`search_params`): no index has mutable search state, so
// any number of threads may search one index at once with different parameters.
//
// A filter is any callable `bool(label_t)` (`label_filter`): only labels for which it returns
// true can be results. Indexes evaluate it inside the search (pre-filtering), not on a
// post-filtered top-k, so a selective filter still returns k results when k exist. `accept_all`
// is the no-filter default and costs nothing.
#pragma once

#include <sochdb/core/error.hpp>
#include <sochdb/simd/concepts.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace vector {

/// The caller's name for a vector.
using label_t = std::uint64_t;

/// One search result.
struct neighbor {
  label_t label = 0;     ///< the vector's label
  float distance = 0.f;  ///< internal distance (smaller is closer; simd/concepts.hpp)
  float score = 0.f;     ///< the metric's user-facing value (true L2, dot, 1 - cos)
  friend bool operator==(const neighbor&, const neighbor&) = default;
};

/// Per-query parameters. Zero means "the index's default".
struct search_params {
  /// HNSW: size of the dynamic candidate list at layer 0 (>= k is used; 0: the index's
  /// `ef_search` option). Vamana: the search list size L (0: the index's `search_list`).
  std::size_t ef = 0;
  /// Quantized indexes: how many of the best candidates are re-ranked with the full vectors
  /// (0: max(3k, 16), at most ef; re-ranking needs the vectors kept, see the index options).
  std::size_t rerank = 0;
  /// Filtered search: when the estimated number of vectors passing the filter is at most this,
  /// the index scans them exactly instead of walking the graph (0: the index's default).
  std::size_t brute_force_below = 0;
};

/// A filter over labels.
template <class F>
concept label_filter = std::copy_constructible<F> && requires(const F& f, label_t l) {
  { f(l) } -> std::convertible_to<bool>;
};

/// The default filter: every label passes.
struct accept_all {
  constexpr bool operator()(label_t) const noexcept { return true; }
};

/// Which graph/flat structure a file or a router tier holds (format values: do not change).
enum class index_kind : std::uint8_t { flat = 1, hnsw = 2, vamana = 3 };

constexpr const char* to_string(index_kind k) noexcept {
  switch (k) {
    case index_kind::flat:
      return "flat";
    case index_kind::hnsw:
      return "hnsw";
    case index_kind::vamana:
      return "vamana";
  }
  return "unknown";
}

/// Sizes an index reports (`stats()`).
struct index_stats {
  std::size_t size = 0;          ///< live vectors
  std::size_t deleted = 0;       ///< tombstones not yet compacted away
  std::size_t dimension = 0;     ///< floats per vector
  std::size_t memory_bytes = 0;  ///< heap bytes owned by the index (not counting mapped files)
  std::size_t mapped_bytes = 0;  ///< bytes of mapped files (resident only as pages are read)
};

namespace detail {

inline void check_query_dimension(std::size_t got, std::size_t want, const char* who) {
  if (got != want) throw dimension_mismatch(who, want, got);
}

/// Queries with NaN or infinity would make every distance NaN and the ordering meaningless.
template <class Span>
void check_finite(const Span& v, const char* who) {
  for (std::size_t j = 0; j < v.size(); ++j) {
    if (!(v[j] - v[j] == 0.f))
      throw invalid_argument(std::string(who) + ": non-finite value at position " +
                             std::to_string(j));
  }
}

}  // namespace detail
}  // namespace vector
SOCHDB_END_NAMESPACE
