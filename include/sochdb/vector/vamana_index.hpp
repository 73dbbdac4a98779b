// sochdb/vector/vamana_index.hpp — DiskANN's Vamana graph (Subramanya et al., "DiskANN: Fast
// Accurate Billion-point Nearest Neighbor Search on a Single Node", NeurIPS 2019) with
// quantized codes in RAM and the graph plus full vectors in a file that is searched mapped.
//
// `vamana_index<Metric, Quantizer>` is built once from a batch (`build`): a random R-regular
// graph refined by two passes of greedy search + RobustPrune over the full-precision vectors
// (alpha = 1, then the configured alpha), written to a file, and opened. The file holds one
// fixed-size block per node — full vector, label, degree, up to R neighbour ids — so one read
// of a block gives both the exact distance of that node and its out-links. Only the codes
// (PQ: m bytes per vector) are copied into RAM. A search is DiskANN's beam search: the beam
// is ordered by code distances; every node it expands has its block read, which yields the
// exact distance used for the results (re-ranking costs no extra reads). The search path
// never needs the full vectors resident: with `open` the blocks are mapped and the OS pages
// them in and out as they are touched.
//
// Deletes are tombstones (a bit per node in RAM): a deleted node still routes but is never
// returned; `save` writes them. The graph itself is immutable after `build` — the router
// (index_router.hpp) adds a delta index in front for inserts.
//
// Thread-safety: `search`, `contains`, `get`, `remove`, `stats` run concurrently from any
// number of threads (tombstones are atomic bit flips; everything else is immutable after
// opening). `save` may run concurrently with searches. Moves are not thread-safe.
//
// Metrics: l2 and cosine (stored at unit length). Inner product is rejected: RobustPrune's
// alpha test needs non-negative distances. File format: docs/formats/vector-index.md.
#pragma once

#include <sochdb/core/error.hpp>
#include <sochdb/core/fs.hpp>
#include <sochdb/core/thread_pool.hpp>
#include <sochdb/simd/metrics.hpp>
#include <sochdb/vector/concepts.hpp>
#include <sochdb/vector/detail/common.hpp>
#include <sochdb/vector/detail/graph_util.hpp>
#include <sochdb/vector/detail/index_file.hpp>
#include <sochdb/vector/hnsw_index.hpp>
#include <sochdb/vector/pq.hpp>
#include <sochdb/vector/search.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace vector {

/// Options of `vamana_index::build`.
struct vamana_options {
  std::size_t dimension = 0;          ///< required: floats per vector
  std::size_t r = 64;                 ///< maximum out-degree R (4..1024)
  std::size_t l_build = 100;          ///< search list size while building (>= r is sensible)
  float alpha = 1.2f;                 ///< RobustPrune's distance factor of the second pass (>= 1)
  std::size_t search_list = 100;      ///< search list size L of a query whose params.ef is 0
  std::uint64_t seed = 0x5eed;        ///< random initial graph and insertion order
  std::size_t build_threads = 0;      ///< threads for building (0: all cores)
  std::size_t brute_force_below = 0;  ///< filtered search: exact scan when at most this many
                                      ///< vectors are estimated to pass (0: automatic)
};

/// The default quantizer of a Vamana index: PQ with the largest m <= 32 dividing the dimension
/// (32 bytes per vector for d = 128).
inline pq default_vamana_pq(std::size_t dimension, metric_kind metric) {
  std::size_t m = 1;
  for (std::size_t c = std::min<std::size_t>(32, dimension); c >= 1; --c) {
    if (dimension % c == 0) {
      m = c;
      break;
    }
  }
  return pq(pq_options{.dimension = dimension, .m = m, .metric = metric});
}

template <simd::distance_metric Metric = simd::l2<>, quantizer Quantizer = pq>
class vamana_index {
  static_assert(std::is_same_v<typename Metric::value_type, float>,
                "vamana_index: the metric must work on float vectors");
  static_assert(Metric::kind == simd::metric_kind::l2 || Metric::kind == simd::metric_kind::cosine,
                "vamana_index: metric must be l2 or cosine (RobustPrune needs distances >= 0)");

 public:
  using metric_type = Metric;
  using quantizer_type = Quantizer;

  vamana_index(vamana_index&&) noexcept = default;
  vamana_index& operator=(vamana_index&&) noexcept = default;

  /// Builds the index over n row-major vectors (labels must be distinct), writes it to `path`
  /// (atomically) and opens it mapped. `q` may be untrained: it is trained on the batch.
  template <file_system Fs>
  static vamana_index build(Fs& fs, const std::string& path, const vamana_options& o,
                            const float* x, const label_t* labels, std::size_t n, Quantizer q) {
    write_built(fs, path, o, x, labels, n, std::move(q));
    return open(fs, path);
  }
  /// The same with the default quantizer (PQ: `default_vamana_pq`).
  template <file_system Fs>
  static vamana_index build(Fs& fs, const std::string& path, const vamana_options& o,
                            const float* x, const label_t* labels,
                            std::size_t n) requires std::is_same_v<Quantizer, pq> {
    return build(fs, path, o, x, labels, n, default_vamana_pq(o.dimension, Metric::kind));
  }

  /// Builds and writes the file without opening it (for a caller that opens it elsewhere).
  template <file_system Fs>
  static void write_built(Fs& fs, const std::string& path, const vamana_options& o, const float* x,
                          const label_t* labels, std::size_t n, Quantizer q) {
    check_options(o);
    if (q.dimension() != o.dimension || q.metric() != Metric::kind)
      throw invalid_argument("vamana_index: quantizer dimension/metric does not match the index");
    if (n == 0) throw invalid_argument("vamana_index::build: no vectors");
    if (n >= std::numeric_limits<std::uint32_t>::max())
      throw invalid_argument("vamana_index::build: too many vectors");
    builder b(o, x, labels, n);
    if (!q.is_trained()) q.train(b.data(), n);
    b.run();
    b.write(fs, path, q);
  }

  /// Opens a saved index with its blocks mapped (`fs.map`): the codes are read into RAM, the
  /// graph and the full vectors stay in the file. Every byte is verified first.
  template <file_system Fs>
  static vamana_index open(Fs& fs, const std::string& path) {
    return vamana_index(state::load(fs, path, true));
  }
  /// Reads a saved index entirely into RAM (blocks included).
  template <file_system Fs>
  static vamana_index load(Fs& fs, const std::string& path) {
    return vamana_index(state::load(fs, path, false));
  }

  /// Writes the index (with its tombstones) to `path`, atomically replaced.
  template <file_system Fs>
  void save(Fs& fs, const std::string& path) const {
    s_->save(fs, path);
  }

  std::size_t dimension() const noexcept { return s_->o.dimension; }
  const vamana_options& options() const noexcept { return s_->o; }
  /// Live vectors.
  std::size_t size() const noexcept { return s_->n - s_->deleted.load(std::memory_order_relaxed); }
  const Quantizer& quantizer() const noexcept { return *s_->quant; }
  bool mapped() const noexcept { return s_->mapping != nullptr; }

  bool contains(label_t label) const noexcept {
    auto id = s_->find(label);
    return id && !s_->is_deleted(*id);
  }
  /// The labels of the live vectors, ascending.
  std::vector<label_t> labels() const {
    std::vector<label_t> out;
    out.reserve(size());
    for (std::size_t i = 0; i < s_->n; ++i) {
      const char* e = s_->lookup + i * lookup_entry;
      if (!s_->is_deleted(get32(e + 8))) out.push_back(get64(e));
    }
    return out;
  }
  /// Marks `label` deleted (never returned again); false when absent or already deleted.
  bool remove(label_t label) { return s_->remove(label); }

  /// The stored full vector of `label` (unit length for cosine); `not_found` when absent.
  std::vector<float> get(label_t label) const {
    auto id = s_->find(label);
    if (!id || s_->is_deleted(*id))
      throw not_found("vamana_index: no vector with label " + std::to_string(label));
    const float* v = s_->vec(*id);
    return std::vector<float>(v, v + dimension());
  }

  /// The k nearest live vectors passing `filter`, closest first.
  template <label_filter Filter = accept_all>
  std::vector<neighbor> search(std::span<const float> query, std::size_t k,
                               const search_params& params = {}, const Filter& filter = {}) const {
    std::vector<neighbor> out;
    search(query, k, out, params, filter);
    return out;
  }
  template <label_filter Filter = accept_all>
  void search(std::span<const float> query, std::size_t k, std::vector<neighbor>& out,
              const search_params& params = {}, const Filter& filter = {}) const {
    detail::check_query_dimension(query.size(), dimension(), "vamana_index::search");
    detail::check_finite(query, "vamana_index::search");
    s_->search(query.data(), k, params, filter, out);
  }

  index_stats stats() const {
    index_stats st;
    st.size = size();
    st.deleted = s_->deleted.load(std::memory_order_relaxed);
    st.dimension = dimension();
    st.memory_bytes = s_->codes_bytes() + s_->dead.size() * 8 + s_->pool.memory_bytes() +
                      (s_->mapping ? 0 : s_->graph_bytes() + s_->lookup_bytes());
    st.mapped_bytes = s_->mapping ? s_->graph_bytes() + s_->lookup_bytes() : 0;
    return st;
  }

 private:
  // ---- block layout (format: docs/formats/vector-index.md, "GRPH") ----
  // [vector: d floats][label: u64][degree: u32][neighbours: R x u32], zero-padded to a
  // multiple of 64 bytes.
  static std::size_t block_size(std::size_t d, std::size_t r) {
    return detail::align_up(4 * d + 12 + 4 * r, 64);
  }
  static constexpr std::size_t lookup_entry = 16;  // label u64, id u32, zero u32

  static void check_options(const vamana_options& o) {
    detail::check_dimension(o.dimension, 65536, "vamana_index");
    if (o.r < 4 || o.r > 1024) throw invalid_argument("vamana_index: r must be in 4..1024");
    if (o.l_build == 0 || o.l_build > 100000)
      throw invalid_argument("vamana_index: l_build must be in 1..100000");
    if (o.search_list == 0 || o.search_list > 100000)
      throw invalid_argument("vamana_index: search_list must be in 1..100000");
    if (!(o.alpha >= 1.f && o.alpha <= 4.f))
      throw invalid_argument("vamana_index: alpha must be in [1, 4]");
  }

  struct aligned_free {
    void operator()(char* p) const noexcept { ::operator delete (p, std::align_val_t{64}); }
  };
  using buffer = std::unique_ptr<char, aligned_free>;
  static buffer alloc(std::size_t bytes) {
    return buffer(static_cast<char*>(
        ::operator new (std::max<std::size_t>(bytes, 64), std::align_val_t{64})));
  }

  // ---- building (in RAM, full precision) ----
  class builder {
   public:
    builder(const vamana_options& o, const float* x, const label_t* labels, std::size_t n)
        : o_(o),
          n_(n),
          d_(o.dimension),
          r_(o.r),
          labels_(labels),
          metric_(detail::make_index_metric<Metric>()) {
      if constexpr (Metric::kind == simd::metric_kind::cosine) {
        own_.assign(x, x + n * d_);
        for (std::size_t i = 0; i < n; ++i) detail::normalize(own_.data() + i * d_, d_);
        x_ = own_.data();
      } else {
        x_ = x;
      }
      for (std::size_t i = 0; i < n * d_; ++i) {
        if (!std::isfinite(x_[i]))
          throw invalid_argument("vamana_index::build: non-finite value in vector " +
                                 std::to_string(i / d_));
      }
      std::vector<label_t> sorted(labels, labels + n);
      std::sort(sorted.begin(), sorted.end());
      if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
        throw invalid_argument("vamana_index::build: duplicate labels");
    }
    const float* data() const noexcept { return x_; }

    void run() {
      adj_.assign(n_ * r_, 0);
      deg_ = std::make_unique<std::atomic<std::uint32_t>[]>(n_);
      locks_ = std::make_unique<std::atomic<std::uint8_t>[]>(n_);
      for (std::size_t i = 0; i < n_; ++i) {
        deg_[i].store(0, std::memory_order_relaxed);
        locks_[i].store(0, std::memory_order_relaxed);
      }
      medoid_ = find_medoid();
      // A random graph of degree min(R, n - 1) / 2 (the paper starts from a random R-regular
      // graph; half the degree leaves room for the backward edges of the first pass).
      detail::splitmix64 rng{o_.seed};
      const std::size_t init = std::min<std::size_t>(r_ / 2, n_ - 1);
      for (std::size_t i = 0; i < n_; ++i) {
        std::uint32_t* a = adj_.data() + i * r_;
        std::uint32_t c = 0;
        while (c < init) {
          const auto j = static_cast<std::uint32_t>(rng.below(n_));
          if (j == i || std::find(a, a + c, j) != a + c) continue;
          a[c++] = j;
        }
        deg_[i].store(c, std::memory_order_relaxed);
      }
      std::vector<std::uint32_t> order(n_);
      std::iota(order.begin(), order.end(), 0u);
      for (std::size_t i = n_; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
      std::size_t threads = o_.build_threads;
      if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
      for (float alpha : {1.0f, o_.alpha}) {
        auto step = [&](std::size_t i) {
          thread_local build_scratch sc;
          insert(order[i], alpha, sc);
        };
        if (threads <= 1 || n_ < 256) {
          for (std::size_t i = 0; i < n_; ++i) step(i);
        } else {
          thread_pool pool(threads - 1);
          pool.parallel_for(0, n_, step);
        }
      }
    }

    template <file_system Fs>
    void write(Fs& fs, const std::string& path, const Quantizer& q) const {
      detail::index_writer<Fs> w(fs, path, index_kind::vamana, Metric::kind, d_);
      const std::size_t bs = block_size(d_, r_);
      std::string params;
      put_params(params, o_, n_, medoid_, bs, q.code_size(), 0);
      w.begin_section(detail::section_tag::params);
      w.write(params);
      w.end_section();
      w.begin_section(detail::section_tag::quantizer);
      w.write(q.save());
      w.end_section();
      w.begin_section(detail::section_tag::codes);
      {
        const std::size_t chunk = 4096;
        std::vector<std::uint8_t> codes(chunk * q.code_size());
        for (std::size_t i = 0; i < n_; i += chunk) {
          const std::size_t m = std::min(chunk, n_ - i);
          q.encode(x_ + i * d_, m, codes.data());
          w.write(codes.data(), m * q.code_size());
        }
      }
      w.end_section();
      w.begin_section(detail::section_tag::graph);
      std::string blk(bs, '\0');
      for (std::size_t i = 0; i < n_; ++i) {
        std::fill(blk.begin(), blk.end(), '\0');
        std::memcpy(blk.data(), x_ + i * d_, 4 * d_);
        put_at64(blk.data() + 4 * d_, labels_[i]);
        const std::uint32_t dg = deg_[i].load(std::memory_order_relaxed);
        put_at32(blk.data() + 4 * d_ + 8, dg);
        for (std::uint32_t j = 0; j < dg; ++j)
          put_at32(blk.data() + 4 * d_ + 12 + 4 * j, adj_[i * r_ + j]);
        w.write(blk);
      }
      w.end_section();
      w.begin_section(detail::section_tag::lookup);
      std::vector<std::pair<label_t, std::uint32_t>> lk(n_);
      for (std::size_t i = 0; i < n_; ++i) lk[i] = {labels_[i], static_cast<std::uint32_t>(i)};
      std::sort(lk.begin(), lk.end());
      std::string e(lookup_entry, '\0');
      for (auto& [l, id] : lk) {
        put_at64(e.data(), l);
        put_at32(e.data() + 8, id);
        w.write(e);
      }
      w.end_section();
      w.finish();
    }

   private:
    struct build_scratch {
      detail::visited_set visited;
      std::vector<detail::scored> list;    // the search list, sorted by distance
      std::vector<std::uint8_t> expanded;  // parallel to list
      std::vector<detail::scored> pool;    // expanded nodes (RobustPrune candidates)
      std::vector<std::uint32_t> nbrs;
      std::vector<const float*> rows;
      std::vector<float> dist;
    };

    void lock(std::size_t i) const noexcept {
      for (unsigned spins = 0;; ++spins) {
        std::uint8_t z = 0;
        if (locks_[i].compare_exchange_weak(z, 1, std::memory_order_acquire,
                                            std::memory_order_relaxed))
          return;
        if (spins > 64) std::this_thread::yield();
      }
    }
    void unlock(std::size_t i) const noexcept { locks_[i].store(0, std::memory_order_release); }
    const float* row(std::size_t i) const noexcept { return x_ + i * d_; }
    float dist(std::size_t a, std::size_t b) const noexcept {
      return metric_.distance(row(a), row(b), d_);
    }

    void copy_links(std::uint32_t i, std::vector<std::uint32_t>& out) const {
      lock(i);
      const std::uint32_t dg = deg_[i].load(std::memory_order_relaxed);
      out.assign(adj_.begin() + static_cast<std::ptrdiff_t>(i * r_),
                 adj_.begin() + static_cast<std::ptrdiff_t>(i * r_ + dg));
      unlock(i);
    }

    std::uint32_t find_medoid() const {
      // The vector closest to the centroid (the paper's start node).
      std::vector<double> c(d_, 0.0);
      for (std::size_t i = 0; i < n_; ++i)
        for (std::size_t j = 0; j < d_; ++j) c[j] += row(i)[j];
      std::vector<float> cf(d_);
      for (std::size_t j = 0; j < d_; ++j)
        cf[j] = static_cast<float>(c[j] / static_cast<double>(n_));
      simd::l2<> l2;
      std::uint32_t best = 0;
      float bd = std::numeric_limits<float>::infinity();
      for (std::size_t i = 0; i < n_; ++i) {
        const float dd = l2.distance(cf.data(), row(i), d_);
        if (dd < bd) {
          bd = dd;
          best = static_cast<std::uint32_t>(i);
        }
      }
      return best;
    }

    // GreedySearch(s, x_p, k = 1, L) of the paper; leaves the expanded nodes in sc.pool.
    void greedy(std::uint32_t p, build_scratch& sc) const {
      const float* q = row(p);
      const std::size_t L = std::max<std::size_t>(o_.l_build, 1);
      sc.visited.begin(n_);
      sc.list.clear();
      sc.expanded.clear();
      sc.pool.clear();
      sc.visited.visit(medoid_);
      sc.visited.visit(p);
      sc.list.push_back({metric_.distance(q, row(medoid_), d_), medoid_});
      sc.expanded.push_back(0);
      std::size_t cur = 0;
      while (cur < sc.list.size()) {
        const detail::scored c = sc.list[cur];
        sc.expanded[cur] = 1;
        if (c.id != p) sc.pool.push_back(c);
        copy_links(c.id, sc.nbrs);
        sc.rows.clear();
        std::size_t m = 0;
        for (std::uint32_t nb : sc.nbrs) {
          if (!sc.visited.visit(nb)) continue;
          sc.nbrs[m++] = nb;
          sc.rows.push_back(row(nb));
        }
        sc.dist.resize(m);
        if (m) metric_.distance_gather(q, sc.rows.data(), m, d_, sc.dist.data());
        std::size_t lowest = sc.list.size();
        for (std::size_t j = 0; j < m; ++j) {
          const detail::scored s{sc.dist[j], sc.nbrs[j]};
          if (sc.list.size() >= L && !detail::closer{}(s, sc.list.back())) continue;
          auto it = std::upper_bound(sc.list.begin(), sc.list.end(), s, detail::closer{});
          const std::size_t pos = static_cast<std::size_t>(it - sc.list.begin());
          sc.list.insert(it, s);
          sc.expanded.insert(sc.expanded.begin() + static_cast<std::ptrdiff_t>(pos), 0);
          if (sc.list.size() > L) {
            sc.list.pop_back();
            sc.expanded.pop_back();
          }
          lowest = std::min(lowest, pos);
        }
        // The next unexpanded entry: the first one at or after min(lowest, cur + 1).
        cur = std::min(lowest, cur + 1);
        while (cur < sc.list.size() && sc.expanded[cur]) ++cur;
      }
    }

    // RobustPrune(p, V, alpha, R): V (distances to p) sorted in place; the chosen ids to out.
    void robust_prune(std::uint32_t p, std::vector<detail::scored>& v, float alpha,
                      std::vector<std::uint32_t>& out) const {
      std::sort(v.begin(), v.end(), detail::closer{});
      v.erase(std::unique(v.begin(), v.end(), [](auto& a, auto& b) { return a.id == b.id; }),
              v.end());
      out.clear();
      for (std::size_t i = 0; i < v.size() && out.size() < r_; ++i) {
        if (v[i].id == p || !std::isfinite(v[i].dist)) continue;
        const std::uint32_t star = v[i].id;
        out.push_back(star);
        for (std::size_t j = i + 1; j < v.size(); ++j) {
          if (!std::isfinite(v[j].dist) || v[j].id == p) continue;
          if (alpha * dist(star, v[j].id) <= v[j].dist)
            v[j].dist = std::numeric_limits<float>::infinity();
        }
      }
    }

    void insert(std::uint32_t p, float alpha, build_scratch& sc) {
      greedy(p, sc);
      // V = expanded nodes ∪ N_out(p).
      copy_links(p, sc.nbrs);
      for (std::uint32_t nb : sc.nbrs) sc.pool.push_back({dist(p, nb), nb});
      std::vector<std::uint32_t> chosen;
      robust_prune(p, sc.pool, alpha, chosen);
      lock(p);
      std::copy(chosen.begin(), chosen.end(), adj_.begin() + static_cast<std::ptrdiff_t>(p * r_));
      deg_[p].store(static_cast<std::uint32_t>(chosen.size()), std::memory_order_relaxed);
      unlock(p);
      // Backward edges, pruning any list that overflows.
      std::vector<detail::scored> cand;
      std::vector<std::uint32_t> pruned;
      for (std::uint32_t j : chosen) {
        lock(j);
        std::uint32_t dg = deg_[j].load(std::memory_order_relaxed);
        std::uint32_t* a = adj_.data() + static_cast<std::size_t>(j) * r_;
        if (std::find(a, a + dg, p) != a + dg) {
          unlock(j);
          continue;
        }
        if (dg < r_) {
          a[dg] = p;
          deg_[j].store(dg + 1, std::memory_order_relaxed);
          unlock(j);
          continue;
        }
        cand.clear();
        for (std::uint32_t t = 0; t < dg; ++t) cand.push_back({dist(j, a[t]), a[t]});
        cand.push_back({dist(j, p), p});
        robust_prune(j, cand, alpha, pruned);
        std::copy(pruned.begin(), pruned.end(), a);
        deg_[j].store(static_cast<std::uint32_t>(pruned.size()), std::memory_order_relaxed);
        unlock(j);
      }
    }

    const vamana_options& o_;
    std::size_t n_, d_, r_;
    const label_t* labels_;
    Metric metric_;
    std::vector<float> own_;
    const float* x_ = nullptr;
    std::vector<std::uint32_t> adj_;
    std::unique_ptr<std::atomic<std::uint32_t>[]> deg_;
    std::unique_ptr<std::atomic<std::uint8_t>[]> locks_;
    std::uint32_t medoid_ = 0;
  };

  static void put_at32(char* p, std::uint32_t v) noexcept { std::memcpy(p, &v, 4); }
  static void put_at64(char* p, std::uint64_t v) noexcept { std::memcpy(p, &v, 8); }
  static std::uint32_t get32(const char* p) noexcept {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  static std::uint64_t get64(const char* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }

  static void put_params(std::string& s, const vamana_options& o, std::size_t n,
                         std::uint32_t medoid, std::size_t bs, std::size_t code_size,
                         std::size_t deleted) {
    put_fixed32(s, static_cast<std::uint32_t>(o.r));
    put_fixed32(s, static_cast<std::uint32_t>(o.l_build));
    put_fixed32(s, std::bit_cast<std::uint32_t>(o.alpha));
    put_fixed32(s, static_cast<std::uint32_t>(o.search_list));
    put_fixed64(s, o.seed);
    put_fixed32(s, static_cast<std::uint32_t>(n));
    put_fixed32(s, medoid);
    put_fixed32(s, static_cast<std::uint32_t>(bs));
    put_fixed32(s, static_cast<std::uint32_t>(code_size));
    put_fixed32(s, static_cast<std::uint32_t>(deleted));
    put_fixed32(s, 0);  // reserved
  }

  // ---- an opened index ----
  struct scratch {
    detail::visited_set visited;
    std::vector<detail::scored> list;
    std::vector<std::uint8_t> expanded;
    detail::max_heap top;
    std::vector<std::uint32_t> ids;
    std::vector<const std::uint8_t*> codes;
    std::vector<float> dist, qbuf;
    std::size_t memory_bytes() const noexcept { return visited.memory_bytes(); }
  };

  struct state {
    vamana_options o;
    Metric metric = detail::make_index_metric<Metric>();
    std::optional<Quantizer> quant;
    std::size_t n = 0, bs = 0, cs = 0;
    std::uint32_t medoid = 0;
    buffer codes;                  // n x cs, always in RAM
    buffer graph_own, lookup_own;  // load(): the blocks and the lookup table in RAM
    const char* graph = nullptr;   // n blocks (mapped or graph_own)
    const char* lookup = nullptr;  // n lookup entries sorted by label
    std::shared_ptr<void> mapping;
    std::vector<std::uint64_t> dead;  // tombstone bits (atomic_ref access)
    std::atomic<std::size_t> deleted{0};
    mutable detail::scratch_pool<scratch> pool;

    std::size_t codes_bytes() const noexcept { return n * cs; }
    std::size_t graph_bytes() const noexcept { return n * bs; }
    std::size_t lookup_bytes() const noexcept { return n * lookup_entry; }
    const char* block(std::uint32_t id) const noexcept {
      return graph + static_cast<std::size_t>(id) * bs;
    }
    const float* vec(std::uint32_t id) const noexcept {
      return reinterpret_cast<const float*>(block(id));
    }
    label_t label_of(std::uint32_t id) const noexcept { return get64(block(id) + 4 * o.dimension); }
    const std::uint8_t* code(std::uint32_t id) const noexcept {
      return reinterpret_cast<const std::uint8_t*>(codes.get()) + static_cast<std::size_t>(id) * cs;
    }
    bool is_deleted(std::uint32_t id) const noexcept {
      return (std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(dead[id >> 6]))
                  .load(std::memory_order_relaxed) >>
              (id & 63)) &
             1u;
    }

    std::optional<std::uint32_t> find(label_t l) const noexcept {
      std::size_t lo = 0, hi = n;
      while (lo < hi) {
        const std::size_t mid = (lo + hi) / 2;
        const label_t ml = get64(lookup + mid * lookup_entry);
        if (ml < l)
          lo = mid + 1;
        else
          hi = mid;
      }
      if (lo < n && get64(lookup + lo * lookup_entry) == l)
        return get32(lookup + lo * lookup_entry + 8);
      return std::nullopt;
    }

    bool remove(label_t l) {
      auto id = find(l);
      if (!id) return false;
      const std::uint64_t bit = std::uint64_t{1} << (*id & 63);
      const std::uint64_t old =
          std::atomic_ref<std::uint64_t>(dead[*id >> 6]).fetch_or(bit, std::memory_order_relaxed);
      if (old & bit) return false;
      deleted.fetch_add(1, std::memory_order_relaxed);
      return true;
    }

    template <class Filter>
    void search(const float* query, std::size_t k, const search_params& params,
                const Filter& filter, std::vector<neighbor>& out) const {
      out.clear();
      if (k == 0 || n == 0) return;
      auto sc = pool.acquire();
      const float* q = detail::prepare(query, o.dimension, Metric::kind, sc->qbuf);
      const auto comp = quant->query(q);
      std::size_t L = std::max(params.ef != 0 ? params.ef : o.search_list, k);
      constexpr bool filtered = !std::is_same_v<Filter, accept_all>;
      if constexpr (filtered) {
        // Selectivity from 256 evenly spread nodes (labels read from the lookup table).
        const std::size_t sample = std::min<std::size_t>(256, n);
        std::size_t pass = 0;
        for (std::size_t i = 0; i < sample; ++i) {
          const std::size_t at = i * n / sample;
          if (filter(get64(lookup + at * lookup_entry))) ++pass;
        }
        const double sel = static_cast<double>(pass + 1) / static_cast<double>(sample + 1);
        const double est = sel * static_cast<double>(n);
        const std::size_t bf =
            params.brute_force_below ? params.brute_force_below : o.brute_force_below;
        // The graph walk needs about L / sel expansions; the scan codes-scores est vectors.
        if ((bf != 0 && est <= static_cast<double>(bf)) ||
            sel * sel * static_cast<double>(n) <= 16.0 * L) {
          scan(q, comp, k, L, filter, *sc, out);
          return;
        }
        L = std::min<std::size_t>(static_cast<std::size_t>(static_cast<double>(L) / sel), 16 * L);
      }
      beam(q, comp, k, L, filter, *sc, out);
    }

    // DiskANN's beam search (beam width 1): the list ordered by code distance, every expanded
    // node's block gives its exact distance for the results.
    template <class Comp, class Filter>
    void beam(const float* q, const Comp& comp, std::size_t k, std::size_t L, const Filter& filter,
              scratch& sc, std::vector<neighbor>& out) const {
      sc.visited.begin(n);
      sc.list.clear();
      sc.expanded.clear();
      sc.top.clear();
      sc.visited.visit(medoid);
      sc.list.push_back({comp(code(medoid)), medoid});
      sc.expanded.push_back(0);
      const std::size_t d = o.dimension;
      std::size_t cur = 0;
      while (cur < sc.list.size()) {
        const std::uint32_t id = sc.list[cur].id;
        sc.expanded[cur] = 1;
        const char* b = block(id);
        const std::uint32_t dg =
            std::min<std::uint32_t>(get32(b + 4 * d + 8), static_cast<std::uint32_t>(o.r));
        const char* links = b + 4 * d + 12;
        sc.ids.clear();
        sc.codes.clear();
        for (std::uint32_t j = 0; j < dg; ++j) {
          const std::uint32_t nb = get32(links + 4 * j);
          if (!sc.visited.visit(nb)) continue;
          sc.ids.push_back(nb);
          sc.codes.push_back(code(nb));
        }
        sc.dist.resize(sc.ids.size());
        if (!sc.ids.empty()) comp.gather(sc.codes.data(), sc.ids.size(), sc.dist.data());
        // The exact distance of the expanded node, from its block (already in cache).
        if (!is_deleted(id) && filter(get64(b + 4 * d))) {
          const float ex = metric.distance(q, reinterpret_cast<const float*>(b), d);
          if (sc.top.size() < k)
            sc.top.push({ex, id});
          else if (detail::closer{}({ex, id}, sc.top.top())) {
            sc.top.pop();
            sc.top.push({ex, id});
          }
        }
        std::size_t lowest = sc.list.size();
        for (std::size_t j = 0; j < sc.ids.size(); ++j) {
          const detail::scored s{sc.dist[j], sc.ids[j]};
          if (sc.list.size() >= L && !detail::closer{}(s, sc.list.back())) continue;
          auto it = std::upper_bound(sc.list.begin(), sc.list.end(), s, detail::closer{});
          const std::size_t pos = static_cast<std::size_t>(it - sc.list.begin());
          sc.list.insert(it, s);
          sc.expanded.insert(sc.expanded.begin() + static_cast<std::ptrdiff_t>(pos), 0);
          if (sc.list.size() > L) {
            sc.list.pop_back();
            sc.expanded.pop_back();
          }
          lowest = std::min(lowest, pos);
        }
        cur = std::min(lowest, cur + 1);
        while (cur < sc.list.size() && sc.expanded[cur]) ++cur;
        // Prefetch the next block's first lines (its vector and links).
        if (cur < sc.list.size()) detail::prefetch_lines(block(sc.list[cur].id), bs, 4);
      }
      emit(sc, out);
    }

    // Filtered scan: the passing live nodes (from the lookup table) by code distance, the
    // best max(L, 4k) re-ranked exactly from their blocks.
    template <class Comp, class Filter>
    void scan(const float* q, const Comp& comp, std::size_t k, std::size_t L, const Filter& filter,
              scratch& sc, std::vector<neighbor>& out) const {
      const std::size_t keep = std::max(L, 4 * k);
      detail::max_heap& cand = sc.top;
      cand.clear();
      for (std::size_t i = 0; i < n; ++i) {
        const char* e = lookup + i * lookup_entry;
        const std::uint32_t id = get32(e + 8);
        if (is_deleted(id) || !filter(get64(e))) continue;
        const float dd = comp(code(id));
        if (cand.size() < keep)
          cand.push({dd, id});
        else if (detail::closer{}({dd, id}, cand.top())) {
          cand.pop();
          cand.push({dd, id});
        }
      }
      sc.list.assign(cand.data().begin(), cand.data().end());
      cand.clear();
      for (const auto& c : sc.list) {
        const float ex = metric.distance(q, vec(c.id), o.dimension);
        if (cand.size() < k)
          cand.push({ex, c.id});
        else if (detail::closer{}({ex, c.id}, cand.top())) {
          cand.pop();
          cand.push({ex, c.id});
        }
      }
      emit(sc, out);
    }

    void emit(scratch& sc, std::vector<neighbor>& out) const {
      auto& v = sc.top.sorted();
      out.reserve(v.size());
      for (const auto& s : v) out.push_back({label_of(s.id), s.dist, Metric::to_score(s.dist)});
      sc.top.clear();
    }

    // ---- persistence ----
    template <file_system Fs>
    void save(Fs& fs, const std::string& path) const {
      detail::index_writer<Fs> w(fs, path, index_kind::vamana, Metric::kind, o.dimension);
      std::string params;
      const std::size_t del = deleted.load();
      put_params(params, o, n, medoid, bs, cs, del);
      w.begin_section(detail::section_tag::params);
      w.write(params);
      w.end_section();
      w.begin_section(detail::section_tag::quantizer);
      w.write(quant->save());
      w.end_section();
      w.begin_section(detail::section_tag::codes);
      w.write(codes.get(), n * cs);
      w.end_section();
      w.begin_section(detail::section_tag::graph);
      w.write(graph, n * bs);
      w.end_section();
      w.begin_section(detail::section_tag::lookup);
      w.write(lookup, n * lookup_entry);
      w.end_section();
      if (del != 0) {
        w.begin_section(detail::section_tag::deleted);
        std::string bits;
        for (std::size_t i = 0; i < dead.size(); ++i)
          put_fixed64(bits,
                      std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(dead[i])).load());
        w.write(bits);
        w.end_section();
      }
      w.finish();
    }

    template <file_system Fs>
    static std::unique_ptr<state> load(Fs& fs, const std::string& path, bool map) {
      auto f = fs.open(path, open_mode::read);
      const auto info = detail::read_index_header(f, path, index_kind::vamana);
      if (info.metric != Metric::kind)
        throw invalid_argument(path + ": index metric " +
                               std::string(simd::to_string(info.metric)) + ", expected " +
                               std::string(simd::to_string(Metric::kind)));
      auto s = std::make_unique<state>();
      const auto& ps = detail::require_section(info, detail::section_tag::params, path);
      const std::string params = detail::read_section(f, ps, path);
      byte_reader pr(params, path, ps.offset);
      s->o.dimension = info.dimension;
      s->o.r = pr.fixed32();
      s->o.l_build = pr.fixed32();
      s->o.alpha = std::bit_cast<float>(pr.fixed32());
      s->o.search_list = pr.fixed32();
      s->o.seed = pr.fixed64();
      s->n = pr.fixed32();
      s->medoid = pr.fixed32();
      s->bs = pr.fixed32();
      s->cs = pr.fixed32();
      const std::uint32_t del = pr.fixed32();
      if (pr.fixed32() != 0) pr.fail("reserved field not zero");
      if (!pr.empty()) pr.fail("trailing bytes in PARM");
      try {
        check_options(s->o);
      } catch (const invalid_argument& ex) {
        pr.fail(std::string("invalid parameters: ") + ex.what());
      }
      const std::size_t n = s->n, d = s->o.dimension, r = s->o.r;
      if (n == 0 || n >= std::numeric_limits<std::uint32_t>::max()) pr.fail("invalid node count");
      if (s->medoid >= n) pr.fail("start node out of range");
      if (s->bs != block_size(d, r)) pr.fail("block size does not match the parameters");
      if (del > n) pr.fail("deleted count out of range");
      const auto& qs = detail::require_section(info, detail::section_tag::quantizer, path);
      s->quant.emplace(Quantizer::load(detail::read_section(f, qs, path), path));
      if (!s->quant->is_trained()) throw corruption(path + ": untrained quantizer in index file");
      if (s->quant->dimension() != d || s->quant->metric() != Metric::kind)
        throw corruption(path + ": quantizer does not match the index");
      if (s->cs != s->quant->code_size()) pr.fail("code size does not match the quantizer");
      const auto& cs_ = detail::require_section(info, detail::section_tag::codes, path);
      const auto& gs = detail::require_section(info, detail::section_tag::graph, path);
      const auto& ls = detail::require_section(info, detail::section_tag::lookup, path);
      auto size_check = [&](const detail::section& sec, std::uint64_t want) {
        if (sec.length != want)
          byte_reader({}, path, sec.offset)
              .fail("section " + detail::tag_name(sec.tag) + " of " + std::to_string(sec.length) +
                    " bytes, expected " + std::to_string(want));
      };
      size_check(cs_, static_cast<std::uint64_t>(n) * s->cs);
      size_check(gs, static_cast<std::uint64_t>(n) * s->bs);
      size_check(ls, static_cast<std::uint64_t>(n) * lookup_entry);
      s->codes = alloc(n * s->cs);
      detail::read_section(f, cs_, path, s->codes.get());
      // Blocks: checksum and structure in one streaming pass through the file handle (pages
      // go through the page cache, not this process's mapping), keeping each block's label.
      std::vector<label_t> labels(n);
      {
        checksum_builder sum;
        const std::size_t per = std::max<std::size_t>(1, (1u << 20) / s->bs);
        std::string buf(per * s->bs, '\0');
        for (std::size_t i = 0; i < n; i += per) {
          const std::size_t m = std::min(per, n - i);
          const std::uint64_t at = gs.offset + static_cast<std::uint64_t>(i) * s->bs;
          const std::size_t want = m * s->bs;
          if (f.read_at(at, std::span<char>(buf.data(), want)) != want)
            byte_reader({}, path, at).fail("truncated section GRPH");
          sum.update(std::string_view(buf.data(), want));
          for (std::size_t b = 0; b < m; ++b) {
            const char* p = buf.data() + b * s->bs;
            const std::uint64_t boff = at + b * s->bs;
            auto fail = [&](std::size_t off, const std::string& what) {
              byte_reader({}, path, boff + off).fail("node " + std::to_string(i + b) + ": " + what);
            };
            for (std::size_t j = 0; j < d; ++j) {
              float v;
              std::memcpy(&v, p + 4 * j, 4);
              if (!std::isfinite(v)) fail(4 * j, "non-finite vector value");
            }
            labels[i + b] = get64(p + 4 * d);
            const std::uint32_t dg = get32(p + 4 * d + 8);
            if (dg > r) fail(4 * d + 8, "degree " + std::to_string(dg) + " exceeds R");
            for (std::uint32_t j = 0; j < dg; ++j) {
              if (get32(p + 4 * d + 12 + 4 * j) >= n)
                fail(4 * d + 12 + 4 * j, "neighbour id out of range");
            }
            for (std::size_t j = 4 * d + 12 + 4 * dg; j < s->bs; ++j)
              if (p[j] != 0) fail(j, "nonzero padding");
          }
        }
        if (sum.value() != gs.checksum)
          byte_reader({}, path, gs.offset).fail("checksum mismatch in section GRPH");
      }
      {
        const std::string lk = detail::read_section(f, ls, path);
        for (std::size_t i = 0; i < n; ++i) {
          const char* e = lk.data() + i * lookup_entry;
          auto fail = [&](const std::string& what) {
            byte_reader({}, path, ls.offset + i * lookup_entry)
                .fail("lookup entry " + std::to_string(i) + ": " + what);
          };
          const label_t l = get64(e);
          const std::uint32_t id = get32(e + 8);
          if (get32(e + 12) != 0) fail("reserved field not zero");
          if (i > 0 && get64(e - lookup_entry) >= l) fail("labels not strictly increasing");
          if (id >= n || labels[id] != l) fail("does not match the node's label");
        }
        if (!map) {
          s->lookup_own = alloc(lk.size());
          std::memcpy(s->lookup_own.get(), lk.data(), lk.size());
          s->lookup = s->lookup_own.get();
        }
      }
      s->dead.assign((n + 63) / 64, 0);
      if (const auto* ds = info.find(detail::section_tag::deleted)) {
        size_check(*ds, s->dead.size() * 8);
        const std::string bits = detail::read_section(f, *ds, path);
        std::size_t count = 0;
        for (std::size_t i = 0; i < s->dead.size(); ++i) {
          s->dead[i] = decode_fixed64(bits.data() + 8 * i);
          count += static_cast<std::size_t>(std::popcount(s->dead[i]));
        }
        if ((n % 64) != 0 && (s->dead.back() >> (n % 64)) != 0)
          byte_reader({}, path, ds->offset).fail("tombstone bits past the last node");
        if (count != del)
          byte_reader({}, path, ds->offset).fail("tombstone count does not match PARM");
      } else if (del != 0) {
        pr.fail("deleted count without a DELE section");
      }
      s->deleted.store(del);
      if (map) {
        auto m = std::make_shared<typename Fs::mapping>(fs.map(path));
        if (m->size() != info.file_size) throw corruption(path + ": file changed while opening");
        s->graph = m->data() + gs.offset;
        s->lookup = m->data() + ls.offset;
        s->mapping = m;
      } else {
        s->graph_own = alloc(n * s->bs);
        detail::read_section(f, gs, path, s->graph_own.get());
        s->graph = s->graph_own.get();
      }
      return s;
    }
  };

  explicit vamana_index(std::unique_ptr<state> s) : s_(std::move(s)) {}
  std::unique_ptr<state> s_;
};

}  // namespace vector
SOCHDB_END_NAMESPACE
