// sochdb/vector/collection_index.hpp — the vector index behind a collection: one interface
// over the index family, chosen at run time from the collection's configuration.
//
// A collection is configured at run time (metric cosine | l2 | inner_product, quantization
// none | sq8 | pq), while the indexes are templates. `collection_index` holds one of them in a
// std::variant and forwards every call. It is also the tiering policy, the router of the
// collection: a new index starts as an exact `flat_index` (cheap inserts, exact results,
// nothing to tune), moves to an HNSW graph (over float vectors, or over SQ8 / PQ codes trained
// on the vectors present at that moment) once it holds `flat_limit` vectors, and — for the l2
// and cosine metrics, once it holds `vamana_above` vectors — to a Vamana tier: a DiskANN graph
// with PQ codes in RAM and the graph and full vectors in a mapped file (vamana_index.hpp),
// plus a small HNSW "delta" for vectors added after the file was built; removals are Vamana
// tombstones. When the delta or the tombstones pass a fifth of the tier, it is rebuilt.
//
// The flat -> HNSW move is done inline (it is bounded by flat_limit). A Vamana build is long,
// so its owner runs it in three steps: `begin_vamana` (exclusive: copies the vectors out and
// starts logging adds and removes), `build_vamana_file` (no lock: writes the file while
// searches and writes go on against the current tier) and `finish_vamana` (exclusive: opens
// the file, replays the logged writes into the delta and the tombstones, and switches).
// index_router.hpp does the same for a standalone index; this class keeps the collection's
// run-time choice of metric and quantization and its checkpoint format.
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
#include <sochdb/vector/vamana_index.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
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
  std::size_t vamana_above = 0;   ///< Vamana + PQ tier from this many vectors (0: never;
                                  ///< l2 and cosine only; inner product stays on HNSW)

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
    if (vamana_above != 0 && vamana_above < 256)
      bad("vamana_above must be 0 or >= 256 (its PQ codes are trained on the vectors)");
  }
  /// The PQ subspace count actually used.
  std::size_t pq_subspaces() const {
    if (pq_m != 0) return pq_m;
    std::size_t m = std::max<std::size_t>(1, dimension / 4);
    while (dimension % m != 0) --m;
    return m;
  }
};

/// Compacts an HNSW graph once its tombstones exceed `fraction` of its nodes (and 64).
template <class Graph>
bool compact_graph_if_needed(Graph& g, double fraction, std::size_t threads) {
  auto st = g.stats();
  if (st.deleted <= 64 ||
      static_cast<double>(st.deleted) <= fraction * static_cast<double>(st.size + st.deleted))
    return false;
  g.compact(threads);
  return true;
}

/// The Vamana tier of a collection index: an immutable Vamana file (tombstones for removals)
/// plus an HNSW delta for later additions. It has the members collection_index forwards to.
template <class M>
class vamana_tier {
 public:
  vamana_tier(vamana_index<M> v, hnsw_index<M> delta, std::string file)
      : v_(std::move(v)), delta_(std::move(delta)), file_(std::move(file)) {}
  vamana_tier(vamana_tier&&) noexcept = default;
  vamana_tier& operator=(vamana_tier&&) noexcept = default;

  /// The Vamana file's name, relative to the directory of the checkpoint that names it.
  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  [[nodiscard]] std::size_t vamana_size() const noexcept { return v_.size(); }
  [[nodiscard]] std::size_t delta_size() const { return delta_.size(); }
  [[nodiscard]] std::size_t tombstones() const noexcept { return removed_.size(); }

  std::size_t dimension() const noexcept { return v_.dimension(); }
  std::size_t size() const { return v_.size() + delta_.size(); }
  bool contains(label_t l) const { return v_.contains(l) || delta_.contains(l); }
  std::vector<float> get(label_t l) const { return v_.contains(l) ? v_.get(l) : delta_.get(l); }
  std::vector<label_t> labels() const {
    auto out = v_.labels();
    auto d = delta_.labels();
    out.insert(out.end(), d.begin(), d.end());
    return out;
  }
  index_stats stats() const {
    index_stats s = delta_.stats();
    const index_stats v = v_.stats();
    s.size += v.size;
    s.deleted += v.deleted;
    s.memory_bytes += v.memory_bytes;
    s.mapped_bytes += v.mapped_bytes;
    return s;
  }
  void add(const float* x, const label_t* labels, std::size_t n, std::size_t threads) {
    for (std::size_t i = 0; i < n; ++i) {
      if (v_.contains(labels[i]))
        throw already_exists("collection index: label " + std::to_string(labels[i]) + " exists");
    }
    delta_.add(x, labels, n, threads);
  }
  bool remove(label_t l) {
    if (v_.remove(l)) {
      removed_.push_back(l);
      return true;
    }
    return delta_.remove(l);
  }
  /// Compacts the delta once its tombstones pass `fraction` of it (and 64). Tombstones in the
  /// Vamana file are cleared by a rebuild instead (collection_index::vamana_due).
  bool compact_delta_if_needed(double fraction, std::size_t threads) {
    return compact_graph_if_needed(delta_, fraction, threads);
  }

  template <label_filter Filter = accept_all>
  std::vector<neighbor> search(std::span<const float> q, std::size_t k, const search_params& p,
                               const Filter& f = {}) const {
    std::vector<neighbor> a = v_.search(q, k, p, f);
    if (delta_.size() != 0) {
      auto b = delta_.search(q, k, p, f);
      a.insert(a.end(), b.begin(), b.end());
      std::sort(a.begin(), a.end(), [](const neighbor& x, const neighbor& y) {
        return x.distance < y.distance || (x.distance == y.distance && x.label < y.label);
      });
      if (a.size() > k) a.resize(k);
    }
    return a;
  }

  /// Writes the tier's manifest to `path` (the Vamana file's name and the labels removed from
  /// it; docs/formats/collection.md) and the delta to `path` + ".delta". The Vamana file itself
  /// is never rewritten: it stays where it was built.
  template <file_system Fs>
  void save(Fs& fs, const std::string& path) const {
    delta_.save(fs, path + ".delta");
    std::string m(magic);
    put_fixed32(m, version);
    put_length_prefixed(m, file_);
    put_varint64(m, removed_.size());
    for (label_t l : removed_) put_varint64(m, l);
    put_fixed32(m, checksum32(m));
    write_file_atomic(fs, path, m);
  }
  /// Reopens a saved tier: the Vamana file (mapped) from the manifest's directory, its
  /// tombstones, and the delta.
  template <file_system Fs>
  static vamana_tier load(Fs& fs, const std::string& path) {
    const std::string m = read_file(fs, path);
    byte_reader r(m, path);
    if (m.size() < magic.size() + 8 || m.substr(0, magic.size()) != magic)
      r.fail("not a Vamana tier manifest (bad magic)");
    if (decode_fixed32(m.data() + m.size() - 4) !=
        checksum32(std::string_view(m).substr(0, m.size() - 4)))
      byte_reader(m, path, m.size() - 4).fail("Vamana tier manifest checksum mismatch");
    r.skip(magic.size());
    if (auto v = r.fixed32(); v != version)
      throw unsupported(path + ": Vamana tier manifest version " + std::to_string(v));
    std::string file(r.length_prefixed());
    if (file.empty() || file.find('/') != std::string::npos || file.starts_with("."))
      r.fail("bad Vamana file name");
    std::uint64_t n = r.varint64();
    if (n > m.size()) r.fail("tombstone count larger than the manifest");
    const std::string vamana_path = path_join(parent_path(path), file);
    vamana_tier t(vamana_index<M>::open(fs, vamana_path), hnsw_index<M>::load(fs, path + ".delta"),
                  std::move(file));
    for (std::uint64_t i = 0; i < n; ++i) {
      label_t l = r.varint64();
      if (!t.v_.remove(l)) r.fail("tombstone for a label the Vamana file does not hold");
      t.removed_.push_back(l);
    }
    if (r.remaining() != 4) r.fail("trailing bytes in the Vamana tier manifest");
    if (t.delta_.dimension() != t.v_.dimension()) r.fail("delta and Vamana file dimensions differ");
    return t;
  }

 private:
  static constexpr std::string_view magic = "SOCHVTIR";  // format
  static constexpr std::uint32_t version = 1;            // format

  vamana_index<M> v_;
  hnsw_index<M> delta_;
  std::string file_;
  std::vector<label_t> removed_;  // tombstoned in v_ (saved with the tier)
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
  // Format: the alternative's index is recorded in checkpoints; append only.
  using variant_t =
      std::variant<flat<l2m>, flat<ipm>, flat<cosm>, graph<l2m>, graph<ipm>, graph<cosm>,
                   graph_sq8<l2m>, graph_sq8<ipm>, graph_sq8<cosm>, graph_pq<l2m>, graph_pq<ipm>,
                   graph_pq<cosm>, vamana_tier<l2m>, vamana_tier<cosm>>;
  static constexpr std::size_t first_vamana = 12;

 public:
  explicit collection_index(const collection_index_options& o) : o_(o), idx_(make_flat(o)) {
    o.validate();
  }
  collection_index(collection_index&&) noexcept = default;
  collection_index& operator=(collection_index&&) noexcept = default;

  const collection_index_options& options() const noexcept { return o_; }
  std::size_t dimension() const noexcept { return o_.dimension; }
  /// flat, hnsw or vamana.
  index_kind kind() const noexcept {
    if (idx_.index() < 3) return index_kind::flat;
    return idx_.index() < first_vamana ? index_kind::hnsw : index_kind::vamana;
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
    if (build_) build_->added.insert(build_->added.end(), labels, labels + n);
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
    bool removed = std::visit([&](auto& i) { return i.remove(l); }, idx_);
    if (removed && build_) build_->removed.push_back(l);
    return removed;
  }

  // ---- the Vamana tier ----

  /// Whether a Vamana build is due: the HNSW tier (l2 or cosine) has reached vamana_above, or
  /// the Vamana tier's delta or tombstones have passed a fifth of it (and 1,000). False while
  /// a build is under way.
  [[nodiscard]] bool vamana_due() const {
    if (build_ || o_.vamana_above == 0 || o_.metric == metric_kind::inner_product) return false;
    if (kind() == index_kind::hnsw) return size() >= o_.vamana_above;
    if (kind() != index_kind::vamana) return false;
    return std::visit(
        [](const auto& i) {
          if constexpr (requires { i.delta_size(); }) {
            const std::size_t churn = std::max(i.delta_size(), i.tombstones());
            return churn >= 1000 &&
                   static_cast<double>(churn) > 0.2 * static_cast<double>(i.vamana_size() + 1);
          } else {
            return false;
          }
        },
        idx_);
  }
  [[nodiscard]] bool vamana_building() const noexcept { return build_.has_value(); }
  /// The Vamana file the current tier reads ("" when it is not the Vamana tier).
  [[nodiscard]] std::string vamana_file() const {
    return std::visit(
        [](const auto& i) -> std::string {
          if constexpr (requires { i.file(); }) {
            return i.file();
          } else {
            return {};
          }
        },
        idx_);
  }

  /// The vectors a Vamana build starts from (row-major, with their labels).
  struct vamana_input {
    std::vector<float> x;
    std::vector<label_t> labels;
  };
  /// Step 1 (exclusive): copies every live vector out and starts logging adds and removes.
  vamana_input begin_vamana() {
    if (build_) throw invalid_argument("collection index: a Vamana build is already under way");
    vamana_input in;
    in.labels = std::visit(
        [](const auto& i) {
          if constexpr (requires { i.labels(); }) return i.labels();
          return std::vector<label_t>{};
        },
        idx_);
    in.x.reserve(in.labels.size() * o_.dimension);
    for (label_t l : in.labels) {
      auto v = get(l);
      in.x.insert(in.x.end(), v.begin(), v.end());
    }
    build_.emplace();
    return in;
  }
  /// Step 2 (touches no index: run it with no lock held): builds the file at `path` for an
  /// index with options `o` (0 threads: all cores).
  template <file_system Fs>
  static void build_vamana_file(Fs& fs, const std::string& path, const collection_index_options& o,
                                const vamana_input& in, std::size_t threads = 0) {
    vamana_options vo{.dimension = o.dimension,
                      .search_list = std::max<std::size_t>(o.ef_search, 16),
                      .build_threads = threads};
    if (o.metric == metric_kind::l2) {
      vamana_index<l2m>::write_built(fs, path, vo, in.x.data(), in.labels.data(), in.labels.size(),
                                     default_vamana_pq(o.dimension, o.metric));
    } else {
      vamana_index<cosm>::write_built(fs, path, vo, in.x.data(), in.labels.data(), in.labels.size(),
                                      default_vamana_pq(o.dimension, o.metric));
    }
  }
  /// Step 3 (exclusive): opens the file `dir`/`file` and switches to it, with the vectors added
  /// since step 1 in the delta and those removed since as tombstones.
  template <file_system Fs>
  void finish_vamana(Fs& fs, const std::string& dir, const std::string& file) {
    if (!build_) throw invalid_argument("collection index: no Vamana build under way");
    if (o_.metric == metric_kind::l2) {
      finish_metric<l2m>(fs, dir, file);
    } else {
      finish_metric<cosm>(fs, dir, file);
    }
    build_.reset();
  }
  /// Gives a build up (its file was not written or cannot be used): stops logging.
  void abandon_vamana() noexcept { build_.reset(); }

  /// Compacts the HNSW graph (repairs the links around tombstones and frees them) once
  /// tombstones exceed `fraction` of the nodes (and 64); a flat index frees rows on remove.
  /// Returns whether it compacted. Amortized: each compaction follows at least fraction * n
  /// removals, and costs about the work of re-inserting the removed nodes' neighbours.
  bool compact_if_needed(double fraction = 0.2, std::size_t threads = 0) {
    return std::visit(
        [&](auto& i) {
          if constexpr (requires { i.compact_delta_if_needed(fraction, threads); }) {
            return i.compact_delta_if_needed(fraction, threads);
          } else if constexpr (requires { i.compact(threads); }) {
            return compact_graph_if_needed(i, fraction, threads);
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

  template <class M>
  void finish_metric(auto& fs, const std::string& dir, const std::string& file) {
    auto v = vamana_index<M>::open(fs, path_join(dir, file));
    hnsw_options h{.dimension = o_.dimension,
                   .m = o_.m,
                   .ef_construction = o_.ef_construction,
                   .ef_search = o_.ef_search,
                   .capacity = 1024};
    vamana_tier<M> t(std::move(v), hnsw_index<M>(h), file);
    for (label_t l : build_->removed) (void)t.remove(l);
    for (label_t l : build_->added) {
      if (!contains(l)) continue;  // removed again since
      (void)t.remove(l);
      auto x = get(l);
      t.add(x.data(), &l, 1, 1);
    }
    idx_ = std::move(t);
  }

  // Writes logged while a Vamana build runs (labels are never reused).
  struct build_log {
    std::vector<label_t> added, removed;
  };

  collection_index_options o_;
  variant_t idx_;
  std::optional<build_log> build_;
};

}  // namespace vector
SOCHDB_END_NAMESPACE
