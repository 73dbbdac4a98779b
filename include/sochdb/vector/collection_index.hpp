// sochdb/vector/collection_index.hpp — the vector index behind a collection: one interface
// over the index family, chosen at run time from the collection's configuration.
//
// A collection is configured at run time (metric cosine | l2 | inner_product, quantization
// none | sq8 | pq), while the indexes are templates. `collection_index` holds one of them in a
// std::variant and forwards every call. It is also the tiering policy: a new index starts as
// an exact `flat_index` (cheap inserts, exact results, nothing to tune) and moves to an HNSW
// graph (over float vectors, or over SQ8 / PQ codes trained on the vectors present at that
// moment) once it holds `flat_limit` vectors. When the vector module's router (flat → HNSW →
// Vamana) lands, this class becomes a thin wrapper over it: callers only see this interface.
//
// Labels are the caller's 64-bit names (a collection uses one label per stored vector).
// Filters are `label_predicate`s evaluated inside the index search (pre-filtering). Distances
// follow simd/concepts.hpp (`neighbor::score` is the metric's user-facing value).
//
// Thread safety: none of its own. The collection guards it with a reader/writer lock
// (searches shared, writes and tier changes exclusive).
#pragma once

#include <sochdb/core/error.hpp>
#include <sochdb/core/fs.hpp>
#include <sochdb/vector/flat_index.hpp>
#include <sochdb/vector/hnsw_index.hpp>
#include <sochdb/vector/pq.hpp>
#include <sochdb/vector/search.hpp>
#include <sochdb/vector/sq8.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace vector {

/// How a collection's HNSW graph stores vectors (format values: do not change).
enum class quantization : std::uint8_t { none = 0, sq8 = 1, pq = 2 };

constexpr const char* to_string(quantization q) noexcept {
  switch (q) {
    case quantization::none:
      return "none";
    case quantization::sq8:
      return "sq8";
    case quantization::pq:
      return "pq";
  }
  return "unknown";
}

/// A type-erased filter over labels: one indirect call per evaluated label.
struct label_predicate {
  bool (*fn)(const void*, label_t) = nullptr;
  const void* ctx = nullptr;
  bool operator()(label_t l) const { return fn == nullptr || fn(ctx, l); }
};

struct collection_index_options {
  std::size_t dimension = 0;                 ///< required: floats per vector
  metric_kind metric = metric_kind::cosine;  ///< cosine (default), l2 or inner_product
  std::size_t m = 16;                        ///< HNSW links per node (default 16)
  std::size_t ef_construction = 100;         ///< HNSW build beam (default 100)
  std::size_t ef_search = 64;                ///< HNSW search beam (default 64)
  quantization quant = quantization::none;   ///< graph codes (default none: float32)
  std::size_t pq_m = 0;           ///< PQ subspaces (0: dimension / 4, rounded to a divisor)
  std::size_t flat_limit = 1000;  ///< vectors held exactly before the graph is built

  void validate() const {
    auto bad = [](const std::string& w) { throw invalid_argument("collection index: " + w); };
    if (dimension == 0 || dimension > 65536) bad("dimension must be in 1..65536");
    if (metric != metric_kind::cosine && metric != metric_kind::l2 &&
        metric != metric_kind::inner_product)
      bad("metric must be cosine, l2 or inner_product");
    if (m < 2 || m > 256) bad("m must be in 2..256");
    if (ef_construction == 0 || ef_search == 0) bad("ef_construction and ef_search must be > 0");
    if (quant == quantization::pq && pq_m != 0 && dimension % pq_m != 0)
      bad("pq_m must divide the dimension");
    if (quant != quantization::none && flat_limit < 256)
      bad("flat_limit must be >= 256 with quantization (the codes are trained on them)");
  }
  /// The PQ subspace count actually used.
  std::size_t pq_subspaces() const {
    if (pq_m != 0) return pq_m;
    std::size_t m = std::max<std::size_t>(1, dimension / 4);
    while (dimension % m != 0) --m;
    return m;
  }
};

class collection_index {
  template <class M>
  using flat = flat_index<M>;
  template <class M>
  using graph = hnsw_index<M>;
  template <class M>
  using graph_sq8 = hnsw_index<M, sq8>;
  template <class M>
  using graph_pq = hnsw_index<M, pq>;
  using l2m = simd::l2<>;
  using ipm = simd::inner_product<>;
  using cosm = simd::cosine;
  using variant_t = std::variant<flat<l2m>, flat<ipm>, flat<cosm>, graph<l2m>, graph<ipm>,
                                 graph<cosm>, graph_sq8<l2m>, graph_sq8<ipm>, graph_sq8<cosm>,
                                 graph_pq<l2m>, graph_pq<ipm>, graph_pq<cosm>>;

 public:
  explicit collection_index(const collection_index_options& o) : o_(o), idx_(make_flat(o)) {
    o.validate();
  }
  collection_index(collection_index&&) noexcept = default;
  collection_index& operator=(collection_index&&) noexcept = default;

  const collection_index_options& options() const noexcept { return o_; }
  std::size_t dimension() const noexcept { return o_.dimension; }
  /// flat or hnsw.
  index_kind kind() const noexcept {
    return idx_.index() < 3 ? index_kind::flat : index_kind::hnsw;
  }
  std::size_t size() const {
    return std::visit([](const auto& i) { return i.size(); }, idx_);
  }
  index_stats stats() const {
    return std::visit([](const auto& i) { return i.stats(); }, idx_);
  }
  bool contains(label_t l) const {
    return std::visit([&](const auto& i) { return i.contains(l); }, idx_);
  }
  /// The stored vector (unit length under cosine).
  std::vector<float> get(label_t l) const {
    return std::visit([&](const auto& i) { return i.get(l); }, idx_);
  }

  /// Adds n row-major vectors under new labels; builds the graph once flat_limit is reached.
  void add(const float* x, const label_t* labels, std::size_t n, std::size_t threads = 0) {
    if (n == 0) return;
    if (kind() == index_kind::flat && size() + n >= o_.flat_limit)
      promote(x, labels, n, threads);
    else
      std::visit(
          [&](auto& i) {
            if constexpr (requires { i.add(x, labels, n, threads); }) {
              i.add(x, labels, n, threads);
            } else {
              i.add(x, labels, n);
            }
          },
          idx_);
  }
  bool remove(label_t l) {
    return std::visit([&](auto& i) { return i.remove(l); }, idx_);
  }

  /// Compacts the HNSW graph (repairs the links around tombstones and frees them) once
  /// tombstones exceed `fraction` of the nodes (and 64); a flat index frees rows on remove.
  /// Returns whether it compacted. Amortized: each compaction follows at least fraction * n
  /// removals, and costs about the work of re-inserting the removed nodes' neighbours.
  bool compact_if_needed(double fraction = 0.2, std::size_t threads = 0) {
    return std::visit(
        [&](auto& i) {
          if constexpr (requires { i.compact(threads); }) {
            auto st = i.stats();
            if (st.deleted <= 64 || static_cast<double>(st.deleted) <=
                                        fraction * static_cast<double>(st.size + st.deleted))
              return false;
            i.compact(threads);
            return true;
          } else {
            return false;
          }
        },
        idx_);
  }

  /// The k nearest live vectors passing `filter` (pre-filtered inside the index).
  std::vector<neighbor> search(std::span<const float> q, std::size_t k, const search_params& p,
                               const label_predicate& filter) const {
    return std::visit(
        [&](const auto& i) {
          if (filter.fn == nullptr) return i.search(q, k, p);
          return i.search(q, k, p, filter);
        },
        idx_);
  }

  /// Writes the index to `path` (atomic replace; format of the index family,
  /// docs/formats/vector-index.md). The variant alternative is recorded by the caller
  /// (`alternative()`), so `load` knows which family to read.
  template <file_system Fs>
  void save(Fs& fs, const std::string& path) const {
    std::visit([&](const auto& i) { i.save(fs, path); }, idx_);
  }
  std::uint8_t alternative() const noexcept { return static_cast<std::uint8_t>(idx_.index()); }

  template <file_system Fs>
  static collection_index load(Fs& fs, const std::string& path, const collection_index_options& o,
                               std::uint8_t alternative) {
    o.validate();
    collection_index c(o);
    c.idx_ =
        load_alt(fs, path, alternative, std::make_index_sequence<std::variant_size_v<variant_t>>{});
    if (c.dimension() != std::visit([](const auto& i) { return i.dimension(); }, c.idx_))
      throw corruption(path + ": index dimension differs from the collection's");
    return c;
  }

 private:
  template <file_system Fs, std::size_t... I>
  static variant_t load_alt(Fs& fs, const std::string& path, std::uint8_t alt,
                            std::index_sequence<I...>) {
    std::optional<variant_t> out;
    ((alt == I ? (out.emplace(std::in_place_index<I>,
                              std::variant_alternative_t<I, variant_t>::load(fs, path)),
                  0)
               : 0),
     ...);
    if (!out) throw corruption(path + ": unknown index alternative " + std::to_string(alt));
    return std::move(*out);
  }

  static variant_t make_flat(const collection_index_options& o) {
    flat_options f{.dimension = o.dimension};
    switch (o.metric) {
      case metric_kind::l2:
        return flat<l2m>(f);
      case metric_kind::inner_product:
        return flat<ipm>(f);
      default:
        return flat<cosm>(f);
    }
  }

  template <class Graph>
  void build_graph(Graph g, const float* x, const label_t* labels, std::size_t n,
                   std::size_t threads) {
    // Every vector so far, then the new batch, in one parallel batch insert (an untrained
    // quantizer is trained on that batch).
    std::vector<label_t> old = std::visit(
        [](const auto& i) {
          if constexpr (requires { i.labels(); }) return i.labels();
          return std::vector<label_t>{};
        },
        idx_);
    const std::size_t d = o_.dimension;
    std::vector<float> all((old.size() + n) * d);
    std::vector<label_t> all_labels(old.size() + n);
    for (std::size_t r = 0; r < old.size(); ++r) {
      auto v = get(old[r]);
      std::copy(v.begin(), v.end(), all.begin() + static_cast<std::ptrdiff_t>(r * d));
      all_labels[r] = old[r];
    }
    std::copy(x, x + n * d, all.begin() + static_cast<std::ptrdiff_t>(old.size() * d));
    std::copy(labels, labels + n, all_labels.begin() + static_cast<std::ptrdiff_t>(old.size()));
    g.add(all.data(), all_labels.data(), all_labels.size(), threads);
    idx_ = std::move(g);
  }

  template <class M>
  void promote_metric(const float* x, const label_t* labels, std::size_t n, std::size_t threads) {
    hnsw_options h{.dimension = o_.dimension,
                   .m = o_.m,
                   .ef_construction = o_.ef_construction,
                   .ef_search = o_.ef_search,
                   .capacity = std::max<std::size_t>(size() + n, 1024)};
    switch (o_.quant) {
      case quantization::none:
        build_graph(graph<M>(h), x, labels, n, threads);
        break;
      case quantization::sq8:
        build_graph(graph_sq8<M>(h, sq8({.dimension = o_.dimension, .metric = o_.metric})), x,
                    labels, n, threads);
        break;
      case quantization::pq:
        build_graph(
            graph_pq<M>(
                h, pq({.dimension = o_.dimension, .m = o_.pq_subspaces(), .metric = o_.metric})),
            x, labels, n, threads);
        break;
    }
  }

  void promote(const float* x, const label_t* labels, std::size_t n, std::size_t threads) {
    switch (o_.metric) {
      case metric_kind::l2:
        promote_metric<l2m>(x, labels, n, threads);
        break;
      case metric_kind::inner_product:
        promote_metric<ipm>(x, labels, n, threads);
        break;
      default:
        promote_metric<cosm>(x, labels, n, threads);
        break;
    }
  }

  collection_index_options o_;
  variant_t idx_;
};

}  // namespace vector
SOCHDB_END_NAMESPACE
