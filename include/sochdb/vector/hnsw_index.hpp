// sochdb/vector/hnsw_index.hpp — Hierarchical Navigable Small World graphs (Malkov & Yashunin,
// "Efficient and robust approximate nearest neighbor search using HNSW graphs", TPAMI 2018).
//
// `hnsw_index<Metric, Quantizer>` stores every vector as a node: layer 0 is one fixed-size
// record per node holding its header, its up-to-M0 neighbour ids and its code (the float
// vector itself with `no_quantizer`, an SQ8 or PQ code otherwise) together, so expanding a
// node and scoring its neighbours touches few cache lines. Nodes above layer 0 (a geometric
// fraction, level ~ floor(-ln U / ln M), §4 of the paper) have a separate block of upper
// links. Insertion follows Algorithm 1 with the neighbour-selection heuristic (Algorithm 4);
// search descends greedily and runs a beam of width `ef` at layer 0 (Algorithm 2), scoring a
// node's unvisited neighbours in one batched, prefetched kernel call. Quantized indexes keep
// the float vectors apart (when `keep_vectors`) and re-rank the best candidates with them.
//
// Thread-safety: `search`, `add`, `update`, `remove`, `contains`, `get` and `stats` may run
// concurrently from any number of threads. An insert locks only the neighbour list it is
// rewriting, and readers never wait for that lock: each list carries a version (a seqlock);
// a reader copies the ids, re-checks the version, and retries only if the list was being
// overwritten at that instant (a few dozen stores). `compact`, `save` and move/assignment
// take the index's structural lock exclusively (they wait for running calls and block new
// ones). A mapped index (`open_mapped`) is read-only: writes throw `unsupported`.
//
// Invariants: ids are dense 32-bit numbers in insertion order; a node's record is complete
// (label, code, level, flags `ready`) before any list points to it; neighbour ids are always
// ids of complete nodes; deleted nodes keep navigating (tombstones) until `compact` repairs
// their in-neighbours' lists (FreshDiskANN-style consolidation, Singh et al. 2021) and drops
// them. File format: docs/formats/vector-index.md.
#pragma once

#include <sochdb/core/error.hpp>
#include <sochdb/core/fs.hpp>
#include <sochdb/core/thread_pool.hpp>
#include <sochdb/simd/metrics.hpp>
#include <sochdb/vector/concepts.hpp>
#include <sochdb/vector/detail/common.hpp>
#include <sochdb/vector/detail/graph_util.hpp>
#include <sochdb/vector/detail/index_file.hpp>
#include <sochdb/vector/no_quantizer.hpp>
#include <sochdb/vector/search.hpp>

#include <tsl/robin_map.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace vector {

/// Options of `hnsw_index`.
struct hnsw_options {
  std::size_t dimension = 0;          ///< required: floats per vector
  std::size_t m = 16;                 ///< links per node above layer 0 (2..256)
  std::size_t m0 = 0;                 ///< links per node at layer 0 (0: 2 * m)
  std::size_t ef_construction = 200;  ///< beam width while inserting
  std::size_t ef_search = 64;         ///< beam width of a search whose params.ef is 0
  std::size_t capacity = 0;           ///< vectors expected (sizes the first allocation; a hint)
  std::uint64_t seed = 100;           ///< level sampling (levels are a function of the id)
  bool keep_vectors = true;           ///< quantized: keep float vectors for re-ranking / get()
  std::size_t brute_force_below = 0;  ///< filtered search: exact scan when at most this many
                                      ///< vectors are estimated to pass (0: automatic)
};

namespace detail {
template <class Metric>
Metric make_index_metric() {
  if constexpr (std::is_same_v<Metric, simd::cosine>) {
    return simd::cosine(simd::cosine_options{.normalized = true});  // vectors stored unit length
  } else {
    return Metric{};
  }
}
inline std::uint64_t mix64(std::uint64_t z) noexcept {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
}  // namespace detail

template <simd::distance_metric Metric = simd::l2<>, quantizer Quantizer = no_quantizer>
class hnsw_index {
  static_assert(std::is_same_v<typename Metric::value_type, float>,
                "hnsw_index: the metric must work on float vectors");

 public:
  using metric_type = Metric;
  using quantizer_type = Quantizer;
  /// True when layer 0 holds quantizer codes instead of float vectors.
  static constexpr bool quantized = !std::is_same_v<Quantizer, no_quantizer>;

  /// A float32 index (no quantizer).
  explicit hnsw_index(const hnsw_options& o,
                      Metric metric = detail::make_index_metric<Metric>()) requires(!quantized)
      : s_(std::make_unique<state>(o, std::move(metric), std::nullopt)) {}
  /// A quantized index; `q` may be untrained (then `train` or the first batch `add` trains it).
  hnsw_index(const hnsw_options& o, Quantizer q,
             Metric metric = detail::make_index_metric<Metric>()) requires(quantized)
      : s_(std::make_unique<state>(o, std::move(metric), std::move(q))) {}

  hnsw_index(hnsw_index&&) noexcept = default;
  hnsw_index& operator=(hnsw_index&&) noexcept = default;

  std::size_t dimension() const noexcept { return s_->o.dimension; }
  const hnsw_options& options() const noexcept { return s_->o; }
  const Metric& metric() const noexcept { return s_->metric; }
  /// Live vectors.
  std::size_t size() const noexcept { return s_->live.load(std::memory_order_relaxed); }
  bool read_only() const noexcept { return s_->mapped != nullptr; }
  bool is_trained() const noexcept {
    if constexpr (quantized) return s_->quant->is_trained();
    return true;
  }
  const Quantizer* quantizer() const noexcept {
    if constexpr (quantized) return &*s_->quant;
    return nullptr;
  }

  /// Trains the quantizer on n row-major vectors (quantized indexes, before the first add).
  void train(const float* x, std::size_t n) {
    if constexpr (quantized) {
      std::unique_lock lk(s_->structure);
      if (s_->next_id.load() != 0)
        throw invalid_argument("hnsw_index: train after vectors were added");
      s_->quant->train(x, n);
    } else {
      (void)x;
      (void)n;
    }
  }

  /// Inserts one vector under `label`; `already_exists` if the label is present.
  void add(label_t label, std::span<const float> v) {
    detail::check_query_dimension(v.size(), dimension(), "hnsw_index::add");
    std::shared_lock lk(s_->structure);
    s_->require_writable();
    s_->require_trained();
    s_->insert(label, v.data(), false);
  }

  /// Inserts n row-major vectors with their labels on `threads` threads (0: all cores). An
  /// untrained quantizer is trained on this batch first.
  void add(const float* x, const label_t* labels, std::size_t n, std::size_t threads = 0) {
    if (n == 0) return;
    if constexpr (quantized) {
      if (!s_->quant->is_trained()) train(x, n);
    }
    std::shared_lock lk(s_->structure);
    s_->require_writable();
    s_->require_trained();
    s_->store.ensure(s_->next_id.load() + n);
    if constexpr (quantized) {
      if (s_->o.keep_vectors) s_->vecs.ensure(s_->next_id.load() + n);
    }
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    const std::size_t d = dimension();
    if (threads <= 1 || n < 64) {
      for (std::size_t i = 0; i < n; ++i) s_->insert(labels[i], x + i * d, false);
      return;
    }
    thread_pool pool(threads - 1);
    pool.parallel_for(0, n, [&](std::size_t i) { s_->insert(labels[i], x + i * d, false); });
  }

  /// Replaces the vector of `label` (inserts it when absent). The old node becomes a
  /// tombstone; readers see either the old or the new vector, never a mix.
  void update(label_t label, std::span<const float> v) {
    detail::check_query_dimension(v.size(), dimension(), "hnsw_index::update");
    std::shared_lock lk(s_->structure);
    s_->require_writable();
    s_->require_trained();
    s_->insert(label, v.data(), true);
  }

  /// Deletes `label` (a tombstone until `compact`); false when absent.
  bool remove(label_t label) {
    std::shared_lock lk(s_->structure);
    s_->require_writable();
    return s_->remove(label);
  }

  bool contains(label_t label) const {
    std::shared_lock lk(s_->structure);
    return s_->find(label).has_value();
  }

  /// The stored vector of `label` (unit length for cosine; decoded from its code when a
  /// quantized index keeps no vectors); `not_found` when absent.
  std::vector<float> get(label_t label) const {
    std::shared_lock lk(s_->structure);
    auto id = s_->find(label);
    if (!id) throw not_found("hnsw_index: no vector with label " + std::to_string(label));
    std::vector<float> out(dimension());
    s_->vector_of(*id, out.data());
    return out;
  }

  /// The labels of the live vectors, in insertion order (a snapshot: concurrent writes may or
  /// may not be reflected).
  std::vector<label_t> labels() const {
    std::shared_lock lk(s_->structure);
    std::vector<label_t> out;
    const std::uint32_t n = s_->next_id.load(std::memory_order_acquire);
    out.reserve(size());
    for (std::uint32_t id = 0; id < n; ++id) {
      const char* r = s_->rec(id);
      const std::uint8_t f = state::flags_of(r);
      if ((f & flag_ready) && !(f & flag_deleted)) out.push_back(state::label_of(r));
    }
    return out;
  }

  /// The k nearest live vectors passing `filter`, closest first.
  template <label_filter Filter = accept_all>
  std::vector<neighbor> search(std::span<const float> query, std::size_t k,
                               const search_params& params = {}, const Filter& filter = {}) const {
    std::vector<neighbor> out;
    search(query, k, out, params, filter);
    return out;
  }
  /// The same into a caller-owned vector (no allocation when it has room).
  template <label_filter Filter = accept_all>
  void search(std::span<const float> query, std::size_t k, std::vector<neighbor>& out,
              const search_params& params = {}, const Filter& filter = {}) const {
    detail::check_query_dimension(query.size(), dimension(), "hnsw_index::search");
    detail::check_finite(query, "hnsw_index::search");
    std::shared_lock lk(s_->structure);
    s_->require_trained();
    s_->search(query.data(), k, params, filter, out);
  }

  /// Repairs the lists that point to deleted nodes and drops those nodes, returning their
  /// memory (the index is rebuilt densely: ids change, labels do not). Exclusive.
  void compact(std::size_t threads = 0) {
    std::unique_lock lk(s_->structure);
    s_->require_writable();
    s_->compact(threads);
  }

  index_stats stats() const {
    std::shared_lock lk(s_->structure);
    return s_->stats();
  }

  /// Writes the index to `path` (atomically replaced). Waits for running writes.
  template <file_system Fs>
  void save(Fs& fs, const std::string& path) const {
    std::unique_lock lk(s_->structure);
    s_->save(fs, path);
  }

  /// Reads an index saved by `save` into memory (no rebuild).
  template <file_system Fs>
  static hnsw_index load(Fs& fs, const std::string& path,
                         Metric metric = detail::make_index_metric<Metric>()) {
    return hnsw_index(state::load(fs, path, std::move(metric), false));
  }
  /// Opens a saved index read-only with its records mapped in place (`fs.map`): nothing is
  /// copied or rebuilt; pages are read as searches touch them.
  template <file_system Fs>
  static hnsw_index open_mapped(Fs& fs, const std::string& path,
                                Metric metric = detail::make_index_metric<Metric>()) {
    return hnsw_index(state::load(fs, path, std::move(metric), true));
  }

 private:
  // ---- record layout (format: docs/formats/vector-index.md, "NODE") ----
  static constexpr std::size_t off_label = 0;   // u64
  static constexpr std::size_t off_lock = 8;    // u32 link lock / version (0 on disk)
  static constexpr std::size_t off_count = 12;  // u32 layer-0 link count
  static constexpr std::size_t off_upper = 16;  // u64 upper block (pointer; file: offset + 1)
  static constexpr std::size_t off_level = 24;  // u8
  static constexpr std::size_t off_flags = 25;  // u8
  static constexpr std::size_t header_size = 32;
  static constexpr std::uint8_t flag_ready = 1, flag_deleted = 2;
  static constexpr std::uint32_t no_node = std::numeric_limits<std::uint32_t>::max();
  static constexpr unsigned max_level = 15;

  struct scratch {
    detail::visited_set visited;
    detail::min_heap cand;
    detail::max_heap top;
    std::vector<std::uint32_t> links, ids;
    std::vector<const std::uint8_t*> codes;
    std::vector<const float*> rows;
    std::vector<float> dist, qbuf;
    std::vector<detail::scored> sel;
    std::size_t memory_bytes() const noexcept { return visited.memory_bytes(); }
  };

  struct state {
    hnsw_options o;
    Metric metric;
    std::optional<Quantizer> quant;
    std::size_t code_size = 0, code_off = 0, m0 = 0, upper_block = 0;
    double level_mult = 0;
    detail::record_store store;
    detail::record_store vecs;  // quantized + keep_vectors: float vectors by id
    std::atomic<std::uint32_t> next_id{0};
    std::atomic<std::size_t> live{0}, deleted{0};
    // Entry point and top level in one word (level << 32 | id); no_node when empty.
    std::atomic<std::uint64_t> entry{no_node};
    std::mutex entry_mu;
    mutable std::shared_mutex structure;
    mutable std::mutex labels_mu;
    tsl::robin_map<label_t, std::uint32_t> labels;
    mutable detail::scratch_pool<scratch> pool;
    std::shared_ptr<void> mapped;      // the mapping of a read-only index
    const char* upper_base = nullptr;  // mapped: start of the UPPR section
    bool upper_offsets = false;        // load: records still hold UPPR offsets (not owned)

    state(const hnsw_options& opt, Metric m, std::optional<Quantizer> q)
        : o(opt), metric(std::move(m)), quant(std::move(q)) {
      check_options(o);
      if (o.m0 == 0) o.m0 = 2 * o.m;
      m0 = o.m0;
      if constexpr (quantized) {
        if (quant->dimension() != o.dimension)
          throw invalid_argument("hnsw_index: quantizer dimension " +
                                 std::to_string(quant->dimension()) + " != index dimension " +
                                 std::to_string(o.dimension));
        if (quant->metric() != Metric::kind)
          throw invalid_argument("hnsw_index: quantizer metric " +
                                 std::string(simd::to_string(quant->metric())) +
                                 " != index metric " + std::string(simd::to_string(Metric::kind)));
        code_size = quant->code_size();
      } else {
        code_size = o.dimension * sizeof(float);
      }
      code_off = header_size + 4 * m0;
      upper_block = 4 + 4 * o.m;
      level_mult = 1.0 / std::log(static_cast<double>(o.m));
      store = detail::record_store(record_size(), o.capacity);
      if constexpr (quantized) {
        if (o.keep_vectors) vecs = detail::record_store(o.dimension * sizeof(float), o.capacity);
      }
    }
    ~state() { free_upper(); }

    static void check_options(const hnsw_options& o) {
      if (o.dimension == 0 || o.dimension > 65536)
        throw invalid_argument("hnsw_index: dimension must be in 1..65536, got " +
                               std::to_string(o.dimension));
      if (o.m < 2 || o.m > 256)
        throw invalid_argument("hnsw_index: m must be in 2..256, got " + std::to_string(o.m));
      if (o.m0 != 0 && (o.m0 < o.m || o.m0 > 1024))
        throw invalid_argument("hnsw_index: m0 must be in m..1024, got " + std::to_string(o.m0));
      if (o.ef_construction == 0 || o.ef_construction > 100000)
        throw invalid_argument("hnsw_index: ef_construction must be in 1..100000");
      if (o.ef_search == 0 || o.ef_search > 100000)
        throw invalid_argument("hnsw_index: ef_search must be in 1..100000");
    }

    std::size_t record_size() const noexcept { return detail::align_up(code_off + code_size, 8); }

    void require_writable() const {
      if (mapped) throw unsupported("hnsw_index: a mapped index is read-only");
    }
    void require_trained() const {
      if constexpr (quantized) {
        if (!quant->is_trained())
          throw invalid_argument(
              "hnsw_index: the quantizer is not trained (call train or add a batch)");
      }
    }

    // ---- record access ----
    char* rec(std::uint32_t id) const noexcept { return store.at(id); }
    static std::uint32_t* lock_word(char* r) noexcept {
      return reinterpret_cast<std::uint32_t*>(r + off_lock);
    }
    static label_t label_of(const char* r) noexcept {
      label_t l;
      std::memcpy(&l, r + off_label, 8);
      return l;
    }
    static unsigned level_of(const char* r) noexcept {
      return static_cast<unsigned char>(r[off_level]);
    }
    static std::uint8_t flags_of(const char* r) noexcept {
      return std::atomic_ref<std::uint8_t>(
                 *reinterpret_cast<std::uint8_t*>(const_cast<char*>(r) + off_flags))
          .load(std::memory_order_acquire);
    }
    static void set_flag(char* r, std::uint8_t f) noexcept {
      std::atomic_ref<std::uint8_t>(*reinterpret_cast<std::uint8_t*>(r + off_flags))
          .fetch_or(f, std::memory_order_release);
    }
    const std::uint8_t* code(const char* r) const noexcept {
      return reinterpret_cast<const std::uint8_t*>(r + code_off);
    }
    char* upper_of(const char* r) const noexcept {
      std::uint64_t u;
      std::memcpy(&u, r + off_upper, 8);
      if (u == 0) return nullptr;
      if (mapped) return const_cast<char*>(upper_base) + (u - 1);
      return reinterpret_cast<char*>(static_cast<std::uintptr_t>(u));
    }
    /// (count word, first link) of a node's list at `level`.
    std::pair<std::uint32_t*, std::uint32_t*> list_of(char* r, unsigned level) const noexcept {
      if (level == 0) {
        return {reinterpret_cast<std::uint32_t*>(r + off_count),
                reinterpret_cast<std::uint32_t*>(r + header_size)};
      }
      char* b = upper_of(r) + (level - 1) * upper_block;
      return {reinterpret_cast<std::uint32_t*>(b), reinterpret_cast<std::uint32_t*>(b + 4)};
    }
    std::size_t max_links(unsigned level) const noexcept { return level == 0 ? m0 : o.m; }

    /// Copies a node's list at `level` into out (consistent snapshot); returns the count.
    std::size_t read_links(std::uint32_t id, unsigned level, std::uint32_t* out) const noexcept {
      char* r = rec(id);
      detail::link_lock lk(lock_word(r));
      auto [cnt, links] = list_of(r, level);
      const std::size_t cap = max_links(level);
      for (;;) {
        const std::uint32_t v = lk.read_begin();
        const std::size_t n = std::min<std::size_t>(detail::load_relaxed(cnt), cap);
        for (std::size_t i = 0; i < n; ++i) out[i] = detail::load_relaxed(links + i);
        if (lk.read_valid(v)) return n;
      }
    }
    /// Overwrites a list; the caller holds the node's writer lock.
    void write_links(char* r, unsigned level, const std::uint32_t* ids, std::size_t n) noexcept {
      detail::link_lock lk(lock_word(r));
      auto [cnt, links] = list_of(r, level);
      lk.begin_write();
      for (std::size_t i = 0; i < n; ++i) detail::store_relaxed(links + i, ids[i]);
      detail::store_relaxed(cnt, static_cast<std::uint32_t>(n));
      lk.end_write();
    }

    // ---- distances ----
    /// Per-query distance source: the float query against float codes, or a quantizer
    /// computer against codes.
    struct query_dist {
      const state* s;
      const float* q;  // prepared (unit length for cosine)
      std::conditional_t<quantized, std::optional<typename Quantizer::computer>, char> comp{};

      float one(std::uint32_t id) const noexcept {
        const char* r = s->rec(id);
        if constexpr (quantized) {
          return (*comp)(s->code(r));
        } else {
          return s->metric.distance(q, reinterpret_cast<const float*>(r + s->code_off),
                                    s->o.dimension);
        }
      }
      /// Distances to n nodes; scratch holds the pointer arrays.
      void many(const std::uint32_t* ids, std::size_t n, float* out, scratch& sc) const noexcept {
        if constexpr (quantized) {
          const std::uint8_t** cp = sc.codes.data();
          for (std::size_t j = 0; j < n; ++j) cp[j] = s->code(s->rec(ids[j]));
          const std::size_t cs = s->code_size;
          for (std::size_t j = 0; j < std::min<std::size_t>(n, 2); ++j)
            detail::prefetch_lines(cp[j], cs);
          for (std::size_t j = 0; j < n; ++j) {
            if (j + 2 < n) detail::prefetch_lines(cp[j + 2], cs);
            out[j] = (*comp)(cp[j]);
          }
        } else {
          const float** rp = sc.rows.data();
          for (std::size_t j = 0; j < n; ++j)
            rp[j] = reinterpret_cast<const float*>(s->rec(ids[j]) + s->code_off);
          s->metric.distance_gather(q, rp, n, s->o.dimension, out);
        }
      }
    };

    const float* prepare(const float* q, std::vector<float>& buf) const {
      if constexpr (Metric::kind == simd::metric_kind::cosine) {
        buf.assign(q, q + o.dimension);
        detail::normalize(buf.data(), o.dimension);
        return buf.data();
      } else {
        (void)buf;
        return q;
      }
    }
    query_dist make_dist(const float* prepared) const {
      query_dist qd{this, prepared};
      if constexpr (quantized) qd.comp.emplace(quant->query(prepared));
      return qd;
    }
    /// Node-to-node distance (graph construction, pruning).
    float node_dist(std::uint32_t a, std::uint32_t b) const noexcept {
      const char* ra = rec(a);
      const char* rb = rec(b);
      if constexpr (quantized) {
        return quant->symmetric_distance(code(ra), code(rb));
      } else {
        return metric.distance(reinterpret_cast<const float*>(ra + code_off),
                               reinterpret_cast<const float*>(rb + code_off), o.dimension);
      }
    }
    /// Exact distance to a stored float vector (re-ranking); quantized with kept vectors.
    float exact_dist(const float* q, std::uint32_t id) const noexcept {
      return metric.distance(q, reinterpret_cast<const float*>(vecs.at(id)), o.dimension);
    }

    void ensure_scratch(scratch& sc) const {
      const std::size_t cap = std::max(m0, o.m) + 1;
      if (sc.links.size() < cap) {
        sc.links.resize(cap);
        sc.ids.resize(cap);
        sc.codes.resize(cap);
        sc.rows.resize(cap);
        sc.dist.resize(cap);
      }
    }

    // ---- search ----
    /// Greedy descent from the entry point down to `target_level` + 1.
    std::pair<std::uint32_t, float> descend(const query_dist& qd, std::uint32_t ep, unsigned top,
                                            unsigned target_level, scratch& sc) const {
      float best = qd.one(ep);
      for (unsigned level = top; level > target_level; --level) {
        for (bool changed = true; changed;) {
          changed = false;
          const std::size_t n = read_links(ep, level, sc.links.data());
          qd.many(sc.links.data(), n, sc.dist.data(), sc);
          for (std::size_t j = 0; j < n; ++j) {
            if (sc.dist[j] < best) {
              best = sc.dist[j];
              ep = sc.links[j];
              changed = true;
            }
          }
        }
      }
      return {ep, best};
    }

    /// Beam search at `level` from one entry; results (at most ef, those `accept` passes)
    /// in sc.top. `accept(id)` filters results only: every node still navigates.
    template <class Accept>
    void search_level(const query_dist& qd, std::uint32_t ep, float ep_dist, std::size_t ef,
                      unsigned level, const Accept& accept, scratch& sc) const {
      sc.visited.begin(next_id.load(std::memory_order_acquire));
      sc.cand.clear();
      sc.top.clear();
      sc.visited.visit(ep);
      sc.cand.push({ep_dist, ep});
      float lower = std::numeric_limits<float>::infinity();
      if (accept(ep)) {
        sc.top.push({ep_dist, ep});
        if (sc.top.size() >= ef) lower = sc.top.top().dist;
      }
      while (!sc.cand.empty()) {
        const detail::scored c = sc.cand.top();
        if (c.dist > lower && sc.top.size() >= ef) break;
        sc.cand.pop();
        const std::size_t n = read_links(c.id, level, sc.links.data());
        std::size_t m = 0;
        for (std::size_t j = 0; j < n; ++j) {
          const std::uint32_t id = sc.links[j];
          if (sc.visited.visit(id)) sc.ids[m++] = id;
        }
        if (m == 0) continue;
        qd.many(sc.ids.data(), m, sc.dist.data(), sc);
        for (std::size_t j = 0; j < m; ++j) {
          const float dj = sc.dist[j];
          if (sc.top.size() < ef || dj < lower) {
            sc.cand.push({dj, sc.ids[j]});
            if (accept(sc.ids[j])) {
              sc.top.push({dj, sc.ids[j]});
              if (sc.top.size() > ef) sc.top.pop();
              if (sc.top.size() >= ef) lower = sc.top.top().dist;
            }
          }
        }
      }
    }

    template <class Filter>
    void search(const float* query, std::size_t k, const search_params& p, const Filter& filter,
                std::vector<neighbor>& out) const {
      out.clear();
      if (k == 0) return;
      const std::uint64_t e = entry.load(std::memory_order_acquire);
      if (e == no_node) return;
      auto sc = pool.acquire();
      ensure_scratch(*sc);
      const float* q = prepare(query, sc->qbuf);
      const query_dist qd = make_dist(q);
      const std::size_t ef = std::max(k, p.ef != 0 ? p.ef : o.ef_search);
      constexpr bool filtered = !std::is_same_v<Filter, accept_all>;
      const bool has_deleted = deleted.load(std::memory_order_relaxed) != 0;

      if constexpr (filtered) {
        // Selectivity: sample ids; few passing vectors -> an exact scan is cheaper than a graph
        // walk that must pass ~ef / selectivity nodes to find ef passing ones.
        const std::size_t n = next_id.load(std::memory_order_acquire);
        const std::size_t samples = std::min<std::size_t>(n, 256);
        std::size_t pass = 0;
        for (std::size_t i = 0; i < samples; ++i) {
          const auto id = static_cast<std::uint32_t>((i * n) / samples);
          const char* r = rec(id);
          const std::uint8_t f = flags_of(r);
          if ((f & flag_ready) && !(f & flag_deleted) && filter(label_of(r))) ++pass;
        }
        const double sel = samples ? static_cast<double>(pass) / static_cast<double>(samples) : 0.0;
        const double est = sel * static_cast<double>(n);
        std::size_t limit = p.brute_force_below != 0 ? p.brute_force_below : o.brute_force_below;
        bool brute = limit != 0
                         ? est <= static_cast<double>(limit)
                         // graph cost ~ 16 * ef / sel distances vs sel * n for the scan
                         : sel * sel * static_cast<double>(n) <= 16.0 * static_cast<double>(ef);
        if (brute) {
          exact_scan(q, qd, k, filter, *sc, out);
          return;
        }
      }

      const auto top_level = static_cast<unsigned>(e >> 32);
      auto [ep, ep_dist] = descend(qd, static_cast<std::uint32_t>(e), top_level, 0, *sc);
      if (!filtered && !has_deleted) {
        search_level(
            qd, ep, ep_dist, ef, 0, [](std::uint32_t) { return true; }, *sc);
      } else {
        search_level(
            qd, ep, ep_dist, ef, 0,
            [&](std::uint32_t id) {
              const char* r = rec(id);
              if (flags_of(r) & flag_deleted) return false;
              if constexpr (filtered) return static_cast<bool>(filter(label_of(r)));
              return true;
            },
            *sc);
      }
      finish(q, k, p, *sc, out);
    }

    /// Turns sc.top into results: re-ranked with float vectors when quantized.
    void finish(const float* q, std::size_t k, const search_params& p, scratch& sc,
                std::vector<neighbor>& out) const {
      auto& v = sc.top.sorted();
      if constexpr (quantized) {
        if (o.keep_vectors) {
          // Default: the best 3k (at least 16) by code distance; SQ8 and PQ order the
          // candidates well enough that the exact distances of the rest rarely matter.
          std::size_t r =
              std::min(p.rerank != 0 ? p.rerank : std::max<std::size_t>(3 * k, 16), v.size());
          r = std::max(r, std::min(k, v.size()));
          for (std::size_t i = 0; i < r; ++i) {
            __builtin_prefetch(vecs.at(v[std::min(i + 2, r - 1)].id));
            v[i].dist = exact_dist(q, v[i].id);
          }
          v.resize(r);
          std::sort(v.begin(), v.end(), detail::closer{});
        }
      }
      const std::size_t n = std::min(k, v.size());
      out.resize(n);
      for (std::size_t i = 0; i < n; ++i) {
        out[i].label = label_of(rec(v[i].id));
        out[i].distance = v[i].dist;
        out[i].score = Metric::to_score(v[i].dist);
      }
    }

    template <class Filter>
    void exact_scan(const float* q, const query_dist& qd, std::size_t k, const Filter& filter,
                    scratch& sc, std::vector<neighbor>& out) const {
      const std::uint32_t n = next_id.load(std::memory_order_acquire);
      sc.top.clear();
      for (std::uint32_t id = 0; id < n; ++id) {
        const char* r = rec(id);
        const std::uint8_t f = flags_of(r);
        if (!(f & flag_ready) || (f & flag_deleted) || !filter(label_of(r))) continue;
        float dd;
        if constexpr (quantized) {
          dd = o.keep_vectors ? exact_dist(q, id) : qd.one(id);
        } else {
          dd = qd.one(id);
        }
        if (sc.top.size() < k) {
          sc.top.push({dd, id});
        } else if (dd < sc.top.top().dist) {
          sc.top.pop();
          sc.top.push({dd, id});
        }
      }
      auto& v = sc.top.sorted();
      out.resize(v.size());
      for (std::size_t i = 0; i < v.size(); ++i)
        out[i] = neighbor{label_of(rec(v[i].id)), v[i].dist, Metric::to_score(v[i].dist)};
    }

    // ---- insertion ----
    unsigned random_level(std::uint32_t id) const noexcept {
      const std::uint64_t h =
          detail::mix64(o.seed ^ (static_cast<std::uint64_t>(id) * 0x9e3779b97f4a7c15ull));
      const double u = (static_cast<double>(h >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
      const double l = -std::log(u) * level_mult;
      return static_cast<unsigned>(std::min<double>(l, max_level));
    }

    std::optional<std::uint32_t> find(label_t label) const {
      std::lock_guard lk(labels_mu);
      auto it = labels.find(label);
      if (it == labels.end()) return std::nullopt;
      return it->second;
    }

    void vector_of(std::uint32_t id, float* out) const {
      if constexpr (quantized) {
        if (o.keep_vectors) {
          std::memcpy(out, vecs.at(id), o.dimension * sizeof(float));
        } else {
          quant->decode(code(rec(id)), out);
        }
      } else {
        std::memcpy(out, rec(id) + code_off, o.dimension * sizeof(float));
      }
    }

    bool remove(label_t label) {
      std::uint32_t id;
      {
        std::lock_guard lk(labels_mu);
        auto it = labels.find(label);
        if (it == labels.end()) return false;
        id = it->second;
        labels.erase(it);
      }
      set_flag(rec(id), flag_deleted);
      live.fetch_sub(1, std::memory_order_relaxed);
      deleted.fetch_add(1, std::memory_order_relaxed);
      return true;
    }

    /// Heuristic neighbour selection (Algorithm 4): `cand` sorted closest first; keeps a
    /// candidate only if it is closer to the base than to every neighbour kept so far.
    void select_neighbors(std::vector<detail::scored>& cand, std::size_t m) const {
      if (cand.size() <= m) return;
      std::size_t kept = 0;
      for (std::size_t i = 0; i < cand.size() && kept < m; ++i) {
        bool good = true;
        for (std::size_t j = 0; j < kept; ++j) {
          if (node_dist(cand[i].id, cand[j].id) < cand[i].dist) {
            good = false;
            break;
          }
        }
        if (good) cand[kept++] = cand[i];
      }
      cand.resize(kept);
    }

    void insert(label_t label, const float* v, bool replace) {
      if (!replace && find(label))
        throw already_exists("hnsw_index: label " + std::to_string(label) + " is already present");
      std::optional<std::uint32_t> old;
      for (std::size_t j = 0; j < o.dimension; ++j) {
        if (!std::isfinite(v[j]))
          throw invalid_argument("hnsw_index: vector for label " + std::to_string(label) +
                                 " has a non-finite value at " + std::to_string(j));
      }
      const std::uint32_t id = next_id.fetch_add(1, std::memory_order_relaxed);
      if (id == no_node) throw invalid_argument("hnsw_index: more than 2^32 - 1 vectors");
      store.ensure(static_cast<std::size_t>(id) + 1);
      char* r = rec(id);
      const unsigned level = random_level(id);
      std::memcpy(r + off_label, &label, 8);
      r[off_level] = static_cast<char>(level);
      if (level > 0) {
        auto* up = new char[level * upper_block]();
        const auto u = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(up));
        std::memcpy(r + off_upper, &u, 8);
      }
      std::vector<float> nbuf;
      const float* pv = prepare(v, nbuf);
      if constexpr (quantized) {
        quant->encode(pv, reinterpret_cast<std::uint8_t*>(r + code_off));
        if (o.keep_vectors) {
          vecs.ensure(static_cast<std::size_t>(id) + 1);
          std::memcpy(vecs.at(id), pv, o.dimension * sizeof(float));
        }
      } else {
        std::memcpy(r + code_off, pv, o.dimension * sizeof(float));
      }
      set_flag(r, flag_ready);
      link(id, level, pv);
      {
        std::lock_guard lk(labels_mu);
        auto it = labels.find(label);
        if (it != labels.end()) {
          if (!replace) {
            // Another thread added the same label meanwhile: this node loses.
            set_flag(r, flag_deleted);
            deleted.fetch_add(1, std::memory_order_relaxed);
            throw already_exists("hnsw_index: label " + std::to_string(label) +
                                 " is already present");
          }
          old = it->second;
          it.value() = id;
        } else {
          labels.emplace(label, id);
          live.fetch_add(1, std::memory_order_relaxed);
        }
      }
      if (old) {
        set_flag(rec(*old), flag_deleted);
        deleted.fetch_add(1, std::memory_order_relaxed);
      }
    }

    /// Connects a complete node into the graph (Algorithm 1).
    void link(std::uint32_t id, unsigned level, const float* pv) {
      auto sc = pool.acquire();
      ensure_scratch(*sc);
      std::unique_lock<std::mutex> top_lock(entry_mu, std::defer_lock);
      std::uint64_t e = entry.load(std::memory_order_acquire);
      if (e == no_node || level > (e >> 32)) {
        top_lock.lock();  // may become the entry point: hold it for the whole insert
        e = entry.load(std::memory_order_acquire);
        if (e == no_node) {
          entry.store((static_cast<std::uint64_t>(level) << 32) | id, std::memory_order_release);
          return;
        }
        if (level <= (e >> 32)) top_lock.unlock();
      }
      const auto top = static_cast<unsigned>(e >> 32);
      const query_dist qd = make_dist(pv);
      std::uint32_t ep = static_cast<std::uint32_t>(e);
      float ep_dist;
      std::tie(ep, ep_dist) = descend(qd, ep, top, level, *sc);
      char* r = rec(id);
      std::vector<std::uint32_t> chosen;
      // The node's own lists first, at every level; only then the reverse links that make it
      // reachable. A search that lands on the node (say through a level-1 link) thus always
      // finds its level-0 list filled, instead of a dead end.
      const unsigned from = std::min(level, top);
      std::vector<std::vector<detail::scored>> picked(from + 1);
      for (int lc = static_cast<int>(from); lc >= 0; --lc) {
        const auto lvl = static_cast<unsigned>(lc);
        search_level(
            qd, ep, ep_dist, o.ef_construction, lvl, [](std::uint32_t) { return true; }, *sc);
        auto& cand = sc->top.sorted();
        ep = cand.front().id;
        ep_dist = cand.front().dist;
        select_neighbors(cand, o.m);
        chosen.clear();
        for (const auto& c : cand) chosen.push_back(c.id);
        {
          detail::link_lock lk(lock_word(r));
          lk.lock();
          write_links(r, lvl, chosen.data(), chosen.size());
          lk.unlock();
        }
        picked[lvl].assign(cand.begin(), cand.end());
      }
      for (int lc = static_cast<int>(from); lc >= 0; --lc) {
        const auto lvl = static_cast<unsigned>(lc);
        for (const auto& c : picked[lvl]) add_reverse(c.id, id, c.dist, lvl, *sc);
      }
      if (top_lock.owns_lock()) {
        entry.store((static_cast<std::uint64_t>(level) << 32) | id, std::memory_order_release);
      }
    }

    /// Adds `id` to `nb`'s list at `level`, pruning with the heuristic when full.
    void add_reverse(std::uint32_t nb, std::uint32_t id, float d, unsigned level, scratch& sc) {
      char* r = rec(nb);
      detail::link_lock lk(lock_word(r));
      lk.lock();
      auto [cnt, links] = list_of(r, level);
      const std::size_t n = detail::load_relaxed(cnt);
      const std::size_t cap = max_links(level);
      auto& tmp = sc.ids;  // ids (m0 + 1 capacity)
      for (std::size_t i = 0; i < n; ++i) tmp[i] = detail::load_relaxed(links + i);
      for (std::size_t i = 0; i < n; ++i) {
        if (tmp[i] == id) {
          lk.unlock();
          return;
        }
      }
      if (n < cap) {
        tmp[n] = id;
        write_links(r, level, tmp.data(), n + 1);
        lk.unlock();
        return;
      }
      auto& cand = sc.sel;
      cand.clear();
      cand.push_back({d, id});
      for (std::size_t i = 0; i < n; ++i) cand.push_back({node_dist(nb, tmp[i]), tmp[i]});
      std::sort(cand.begin(), cand.end(), detail::closer{});
      select_neighbors(cand, cap);
      for (std::size_t i = 0; i < cand.size(); ++i) tmp[i] = cand[i].id;
      write_links(r, level, tmp.data(), cand.size());
      lk.unlock();
    }

    // ---- compaction ----
    void free_upper() noexcept {
      // While loading, the upper fields hold file offsets, not allocations.
      if (mapped || upper_offsets) return;
      const std::uint32_t n = next_id.load();
      for (std::uint32_t id = 0; id < n && id < store.capacity(); ++id) {
        char* r = rec(id);
        if (char* u = upper_of(r)) delete[] u;
        std::memset(r + off_upper, 0, 8);
      }
    }

    void compact(std::size_t threads) {
      const std::uint32_t n = next_id.load();
      if (deleted.load() == 0) return;
      if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
      auto is_dead = [&](std::uint32_t id) {
        const std::uint8_t f = flags_of(rec(id));
        return (f & flag_deleted) || !(f & flag_ready);
      };
      // 1. Repair: every live node that links to a dead one gets a new list chosen by the
      //    heuristic from its live neighbours and the dead neighbours' live neighbours.
      struct repair {
        std::uint32_t id;
        unsigned level;
        std::vector<std::uint32_t> links;
      };
      std::vector<std::vector<repair>> repairs(n);
      auto repair_node = [&](std::size_t i) {
        const auto id = static_cast<std::uint32_t>(i);
        if (is_dead(id)) return;
        const unsigned lv = level_of(rec(id));
        std::vector<std::uint32_t> cur(std::max(m0, o.m)), nb(std::max(m0, o.m));
        for (unsigned level = 0; level <= lv; ++level) {
          const std::size_t c = read_links(id, level, cur.data());
          bool any = false;
          for (std::size_t j = 0; j < c; ++j) any |= is_dead(cur[j]);
          if (!any) continue;
          std::vector<std::uint32_t> pool_ids;
          for (std::size_t j = 0; j < c; ++j) {
            if (!is_dead(cur[j])) {
              pool_ids.push_back(cur[j]);
              continue;
            }
            if (level_of(rec(cur[j])) < level) continue;
            const std::size_t c2 = read_links(cur[j], level, nb.data());
            for (std::size_t t = 0; t < c2; ++t)
              if (nb[t] != id && !is_dead(nb[t])) pool_ids.push_back(nb[t]);
          }
          std::sort(pool_ids.begin(), pool_ids.end());
          pool_ids.erase(std::unique(pool_ids.begin(), pool_ids.end()), pool_ids.end());
          std::vector<detail::scored> cand;
          cand.reserve(pool_ids.size());
          for (auto x : pool_ids) cand.push_back({node_dist(id, x), x});
          std::sort(cand.begin(), cand.end(), detail::closer{});
          select_neighbors(cand, max_links(level));
          repair rp{id, level, {}};
          for (auto& x : cand) rp.links.push_back(x.id);
          repairs[i].push_back(std::move(rp));
        }
      };
      if (threads > 1 && n > 1024) {
        thread_pool tp(threads - 1);
        tp.parallel_for(0, n, repair_node);
      } else {
        for (std::size_t i = 0; i < n; ++i) repair_node(i);
      }
      for (auto& rs : repairs)
        for (auto& rp : rs) write_links(rec(rp.id), rp.level, rp.links.data(), rp.links.size());
      repairs.clear();
      repairs.shrink_to_fit();

      // 2. Renumber live nodes densely into new storage.
      std::vector<std::uint32_t> remap(n, no_node);
      std::uint32_t live_n = 0;
      for (std::uint32_t id = 0; id < n; ++id)
        if (!is_dead(id)) remap[id] = live_n++;
      detail::record_store fresh(record_size(), std::max<std::size_t>(live_n, 1));
      detail::record_store fresh_vecs;
      if constexpr (quantized) {
        if (o.keep_vectors)
          fresh_vecs =
              detail::record_store(o.dimension * sizeof(float), std::max<std::size_t>(live_n, 1));
      }
      std::vector<std::uint32_t> tmp(std::max(m0, o.m));
      for (std::uint32_t id = 0; id < n; ++id) {
        char* r = rec(id);
        if (remap[id] == no_node) {
          if (char* u = upper_of(r)) delete[] u;
          continue;
        }
        char* w = fresh.at(remap[id]);
        std::memcpy(w, r, record_size());
        std::memset(w + off_lock, 0, 4);
        const unsigned lv = level_of(r);
        for (unsigned level = 0; level <= lv; ++level) {
          auto [cnt, links] = list_of(w, level);
          std::size_t c = 0;
          const std::size_t old_c = *cnt;
          for (std::size_t j = 0; j < old_c; ++j)
            if (remap[links[j]] != no_node) tmp[c++] = remap[links[j]];
          std::memcpy(links, tmp.data(), c * 4);
          *cnt = static_cast<std::uint32_t>(c);
        }
        if constexpr (quantized) {
          if (o.keep_vectors)
            std::memcpy(fresh_vecs.at(remap[id]), vecs.at(id), o.dimension * sizeof(float));
        }
      }
      // 3. Entry point: the old one if alive, else the live node with the highest level.
      std::uint64_t e = entry.load();
      std::uint32_t ep = no_node;
      unsigned top = 0;
      if (e != no_node && remap[static_cast<std::uint32_t>(e)] != no_node) {
        ep = remap[static_cast<std::uint32_t>(e)];
        top = static_cast<unsigned>(e >> 32);
      } else {
        for (std::uint32_t id = 0; id < live_n; ++id) {
          const unsigned lv = level_of(fresh.at(id));
          if (ep == no_node || lv > top) {
            ep = id;
            top = lv;
          }
        }
      }
      store = std::move(fresh);
      if constexpr (quantized) vecs = std::move(fresh_vecs);
      next_id.store(live_n);
      entry.store(ep == no_node ? no_node : ((static_cast<std::uint64_t>(top) << 32) | ep));
      deleted.store(0);
      live.store(live_n);
      labels.clear();
      for (std::uint32_t id = 0; id < live_n; ++id) labels.emplace(label_of(rec(id)), id);
      pool.clear();
    }

    index_stats stats() const {
      index_stats st;
      st.size = live.load();
      st.deleted = deleted.load();
      st.dimension = o.dimension;
      std::size_t upper = 0;
      const std::uint32_t n = next_id.load();
      for (std::uint32_t id = 0; id < n; ++id) upper += level_of(rec(id)) * upper_block;
      if (mapped) {
        st.mapped_bytes = store.record_size() * n + upper;
      } else {
        st.memory_bytes = store.memory_bytes() + vecs.memory_bytes() + upper;
      }
      {
        std::lock_guard lk(labels_mu);
        st.memory_bytes += labels.bucket_count() * (sizeof(std::pair<label_t, std::uint32_t>) + 8);
      }
      st.memory_bytes += pool.memory_bytes();
      if constexpr (quantized) st.memory_bytes += quant->save().size();
      return st;
    }

    // ---- persistence ----
    template <file_system Fs>
    void save(Fs& fs, const std::string& path) const {
      const std::uint32_t n = next_id.load();
      detail::index_writer<Fs> w(fs, path, index_kind::hnsw, Metric::kind, o.dimension);
      std::string params;
      put_fixed32(params, static_cast<std::uint32_t>(o.m));
      put_fixed32(params, static_cast<std::uint32_t>(m0));
      put_fixed32(params, static_cast<std::uint32_t>(o.ef_construction));
      put_fixed32(params, static_cast<std::uint32_t>(o.ef_search));
      put_fixed64(params, o.seed);
      put_fixed32(params, n);
      put_fixed32(params, static_cast<std::uint32_t>(live.load()));
      const std::uint64_t e = entry.load();
      put_fixed64(params, e);
      put_fixed32(params, static_cast<std::uint32_t>(record_size()));
      put_fixed32(params, static_cast<std::uint32_t>(code_size));
      params.push_back(static_cast<char>(quantized ? 1 : 0));
      params.push_back(static_cast<char>(quantized && o.keep_vectors ? 1 : 0));
      w.begin_section(detail::section_tag::params);
      w.write(params);
      w.end_section();
      if constexpr (quantized) {
        w.begin_section(detail::section_tag::quantizer);
        w.write(quant->save());
        w.end_section();
      }
      // Records with the lock word cleared and the upper pointer as an offset into UPPR.
      std::uint64_t upper_off = 0;
      std::string buf(record_size(), '\0');
      w.begin_section(detail::section_tag::nodes);
      for (std::uint32_t id = 0; id < n; ++id) {
        const char* r = rec(id);
        std::memcpy(buf.data(), r, record_size());
        std::memset(buf.data() + off_lock, 0, 4);
        const unsigned lv = level_of(r);
        const std::uint64_t u = lv > 0 ? upper_off + 1 : 0;
        std::memcpy(buf.data() + off_upper, &u, 8);
        upper_off += lv * upper_block;
        w.write(buf);
      }
      w.end_section();
      w.begin_section(detail::section_tag::upper);
      for (std::uint32_t id = 0; id < n; ++id) {
        const char* r = rec(id);
        const unsigned lv = level_of(r);
        if (lv > 0) w.write(upper_of(r), lv * upper_block);
      }
      w.end_section();
      if constexpr (quantized) {
        if (o.keep_vectors) {
          w.begin_section(detail::section_tag::vectors);
          for (std::uint32_t id = 0; id < n; ++id)
            w.write(vecs.at(id), o.dimension * sizeof(float));
          w.end_section();
        }
      }
      w.finish();
    }

    template <file_system Fs>
    static std::unique_ptr<state> load(Fs& fs, const std::string& path, Metric metric, bool map) {
      auto f = fs.open(path, open_mode::read);
      const auto info = detail::read_index_header(f, path, index_kind::hnsw);
      if (info.metric != Metric::kind)
        throw invalid_argument(path + ": index metric " +
                               std::string(simd::to_string(info.metric)) + ", expected " +
                               std::string(simd::to_string(Metric::kind)));
      const auto& ps = detail::require_section(info, detail::section_tag::params, path);
      const std::string params = detail::read_section(f, ps, path);
      byte_reader pr(params, path, ps.offset);
      hnsw_options o;
      o.dimension = info.dimension;
      o.m = pr.fixed32();
      o.m0 = pr.fixed32();
      o.ef_construction = pr.fixed32();
      o.ef_search = pr.fixed32();
      o.seed = pr.fixed64();
      const std::uint32_t n = pr.fixed32();
      const std::uint32_t live_n = pr.fixed32();
      const std::uint64_t e = pr.fixed64();
      const std::uint32_t rec_size = pr.fixed32();
      const std::uint32_t csize = pr.fixed32();
      const std::uint8_t is_q = pr.u8();
      const std::uint8_t keep = pr.u8();
      if (is_q != (quantized ? 1 : 0))
        pr.fail(quantized ? "the file holds a float index, not a quantized one"
                          : "the file holds a quantized index, not a float one");
      o.keep_vectors = keep != 0;
      try {
        check_options(o);
      } catch (const invalid_argument& ex) {
        pr.fail(std::string("invalid parameters: ") + ex.what());
      }
      if (n == no_node || live_n > n) pr.fail("invalid node counts");
      std::optional<Quantizer> q;
      if constexpr (quantized) {
        const auto& qs = detail::require_section(info, detail::section_tag::quantizer, path);
        const std::string qb = detail::read_section(f, qs, path);
        q.emplace(Quantizer::load(qb, path));
        if (!q->is_trained()) throw corruption(path + ": untrained quantizer in index file");
        if (q->dimension() != o.dimension || q->metric() != Metric::kind)
          throw corruption(path + ": quantizer does not match the index");
      }
      auto s = std::make_unique<state>(o, std::move(metric), std::move(q));
      if (rec_size != s->record_size() || csize != s->code_size)
        pr.fail("record size does not match the parameters");
      const auto& ns = detail::require_section(info, detail::section_tag::nodes, path);
      const auto& us = detail::require_section(info, detail::section_tag::upper, path);
      if (ns.length != static_cast<std::uint64_t>(n) * rec_size)
        byte_reader({}, path, ns.offset)
            .fail("NODE section of " + std::to_string(ns.length) + " bytes, expected " +
                  std::to_string(static_cast<std::uint64_t>(n) * rec_size));
      const std::string upper = detail::read_section(f, us, path);
      if (map) {
        detail::verify_section(f, ns, path);
        auto m = std::make_shared<typename Fs::mapping>(fs.map(path));
        if (m->size() != info.file_size) throw corruption(path + ": file changed while opening");
        s->mapped = m;
        s->store = detail::record_store::external(m->data() + ns.offset, rec_size, n);
        auto keep_upper = std::make_shared<std::pair<std::shared_ptr<void>, std::string>>(m, upper);
        s->mapped = keep_upper;
        s->upper_base = keep_upper->second.data();
      } else {
        s->store = detail::record_store(rec_size, std::max<std::size_t>(n, 1));
        s->upper_offsets = true;  // until converted below; a failed check frees nothing
        if (n > 0) detail::read_section(f, ns, path, s->store.at(0));
      }
      s->next_id.store(n);
      s->validate(path, ns.offset, upper, e, live_n);
      if (!map) {
        // Upper blocks: copy each node's blocks into its own allocation.
        for (std::uint32_t id = 0; id < n; ++id) {
          char* r = s->rec(id);
          std::uint64_t u;
          std::memcpy(&u, r + off_upper, 8);
          const unsigned lv = level_of(r);
          if (lv == 0) continue;
          char* b = nullptr;
          try {
            b = new char[lv * s->upper_block];
          } catch (...) {
            // Drop the offsets not yet converted, so the destructor frees only allocations.
            for (std::uint32_t j = id; j < n; ++j) std::memset(s->rec(j) + off_upper, 0, 8);
            s->upper_offsets = false;
            throw;
          }
          std::memcpy(b, upper.data() + (u - 1), lv * s->upper_block);
          const auto p = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(b));
          std::memcpy(r + off_upper, &p, 8);
        }
        s->upper_offsets = false;
      }
      if constexpr (quantized) {
        if (o.keep_vectors) {
          const auto& vs = detail::require_section(info, detail::section_tag::vectors, path);
          const std::size_t vb = o.dimension * sizeof(float);
          if (vs.length != static_cast<std::uint64_t>(n) * vb)
            byte_reader({}, path, vs.offset).fail("VECS section has the wrong size");
          s->vecs = detail::record_store(vb, std::max<std::size_t>(n, 1));
          std::string all = detail::read_section(f, vs, path);
          for (std::uint32_t id = 0; id < n; ++id) {
            const float* src = reinterpret_cast<const float*>(all.data() + id * vb);
            for (std::size_t j = 0; j < o.dimension; ++j)
              if (!std::isfinite(src[j]))
                byte_reader({}, path, vs.offset + id * vb + j * 4).fail("non-finite vector value");
            std::memcpy(s->vecs.at(id), src, vb);
          }
        }
      }
      return s;
    }

    /// Structural checks of loaded records (checksums already passed): anything a search or
    /// insert relies on, so hostile files are rejected instead of crashing later.
    void validate(const std::string& path, std::uint64_t base, const std::string& upper,
                  std::uint64_t e, std::uint32_t live_n) {
      const std::uint32_t n = next_id.load();
      auto fail = [&](std::uint32_t id, const std::string& what) {
        byte_reader({}, path, base + static_cast<std::uint64_t>(id) * record_size())
            .fail("node " + std::to_string(id) + ": " + what);
      };
      std::uint64_t upper_used = 0;
      std::uint32_t live_seen = 0;
      unsigned top_seen = 0;
      labels.clear();
      for (std::uint32_t id = 0; id < n; ++id) {
        const char* r = rec(id);
        std::uint32_t lockw, cnt;
        std::memcpy(&lockw, r + off_lock, 4);
        std::memcpy(&cnt, r + off_count, 4);
        if (lockw != 0) fail(id, "lock word not zero");
        const std::uint8_t fl = static_cast<std::uint8_t>(r[off_flags]);
        if ((fl & ~(flag_ready | flag_deleted)) != 0 || !(fl & flag_ready))
          fail(id, "invalid flags");
        const unsigned lv = level_of(r);
        if (lv > max_level) fail(id, "level out of range");
        top_seen = std::max(top_seen, lv);
        if (cnt > m0) fail(id, "too many links");
        const auto* links = reinterpret_cast<const std::uint32_t*>(r + header_size);
        for (std::uint32_t j = 0; j < cnt; ++j)
          if (links[j] >= n) fail(id, "link to a missing node");
        std::uint64_t u;
        std::memcpy(&u, r + off_upper, 8);
        if (lv == 0) {
          if (u != 0) fail(id, "upper block on a level-0 node");
        } else {
          if (u != upper_used + 1) fail(id, "upper block offset out of order");
          const std::uint64_t len = static_cast<std::uint64_t>(lv) * upper_block;
          if (upper_used + len > upper.size()) fail(id, "upper block outside the UPPR section");
          for (unsigned l = 0; l < lv; ++l) {
            const char* b = upper.data() + upper_used + l * upper_block;
            std::uint32_t c;
            std::memcpy(&c, b, 4);
            if (c > o.m) fail(id, "too many upper links");
            for (std::uint32_t j = 0; j < c; ++j) {
              std::uint32_t x;
              std::memcpy(&x, b + 4 + 4 * j, 4);
              if (x >= n) fail(id, "upper link to a missing node");
              if (level_of(rec(x)) < l + 1) fail(id, "upper link to a node without that level");
            }
          }
          upper_used += len;
        }
        if constexpr (!quantized) {
          const auto* x = reinterpret_cast<const float*>(r + code_off);
          for (std::size_t j = 0; j < o.dimension; ++j)
            if (!std::isfinite(x[j])) fail(id, "non-finite vector value");
        }
        if (!(fl & flag_deleted)) {
          ++live_seen;
          if (!labels.emplace(label_of(r), id).second)
            fail(id, "duplicate label " + std::to_string(label_of(r)));
        }
      }
      if (upper_used != upper.size()) throw corruption(path + ": UPPR section has trailing bytes");
      if (live_seen != live_n)
        throw corruption(path + ": live count " + std::to_string(live_n) +
                         " does not match the records (" + std::to_string(live_seen) + ")");
      if (n == 0) {
        if (e != no_node) throw corruption(path + ": entry point in an empty index");
      } else {
        const auto ep = static_cast<std::uint32_t>(e);
        if (ep >= n || (e >> 32) != level_of(rec(ep)) || (e >> 32) != top_seen)
          throw corruption(path + ": invalid entry point");
      }
      entry.store(e);
      live.store(live_n);
      deleted.store(n - live_n);
    }
  };

  explicit hnsw_index(std::unique_ptr<state> s) : s_(std::move(s)) {}

  std::unique_ptr<state> s_;
};

}  // namespace vector
SOCHDB_END_NAMESPACE
