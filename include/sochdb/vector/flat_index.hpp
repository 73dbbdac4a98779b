// sochdb/vector/flat_index.hpp — exact search by scanning every vector: the recall oracle of
// the approximate indexes and the right index for small collections.
//
// `flat_index<Metric, Quantizer>` keeps codes contiguously in insertion order (float vectors
// with `no_quantizer`) and scans them in blocks with the SIMD kernels: `distance_many` for one
// query, `distance_batch` (register-blocked, cache-sized blocks) for many queries at once.
// With a quantizer the scan reads codes and, when the float vectors are kept, re-ranks the
// best `rerank` candidates exactly. A filter is evaluated per row before any distance is
// computed, so a selective filter scans fewer vectors.
//
// Thread-safety: `search`, `search_batch`, `contains`, `get`, `stats` and `save` may run
// concurrently with each other; `add`, `update`, `remove` and `load` take an exclusive lock
// (they wait for running searches). Removing moves the last row into the hole, so memory is
// returned at once (the vectors shrink when a quarter is unused). File format:
// docs/formats/vector-index.md.
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
#include <sochdb/vector/no_quantizer.hpp>
#include <sochdb/vector/search.hpp>

#include <tsl/robin_map.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace vector {

/// Options of `flat_index`.
struct flat_options {
  std::size_t dimension = 0;  ///< required: floats per vector
  std::size_t capacity = 0;   ///< vectors expected (reserves memory; a hint)
  bool keep_vectors = true;   ///< quantized: keep float vectors to re-rank exactly and for get()
  std::size_t rerank = 0;     ///< quantized: candidates re-ranked when params.rerank is 0 (0: 4k)
};

template <simd::distance_metric Metric = simd::l2<>, quantizer Quantizer = no_quantizer>
class flat_index {
  static_assert(std::is_same_v<typename Metric::value_type, float>,
                "flat_index: the metric must work on float vectors");

 public:
  using metric_type = Metric;
  using quantizer_type = Quantizer;
  static constexpr bool quantized = !std::is_same_v<Quantizer, no_quantizer>;

  explicit flat_index(const flat_options& o,
                      Metric metric = detail::make_index_metric<Metric>()) requires(!quantized)
      : s_(std::make_unique<state>(o, std::move(metric), std::nullopt)) {}
  flat_index(const flat_options& o, Quantizer q,
             Metric metric = detail::make_index_metric<Metric>()) requires(quantized)
      : s_(std::make_unique<state>(o, std::move(metric), std::move(q))) {}
  flat_index(flat_index&&) noexcept = default;
  flat_index& operator=(flat_index&&) noexcept = default;

  std::size_t dimension() const noexcept { return s_->o.dimension; }
  std::size_t size() const {
    std::shared_lock lk(s_->mu);
    return s_->labels.size();
  }
  const Metric& metric() const noexcept { return s_->metric; }

  void train(const float* x, std::size_t n) {
    if constexpr (quantized) {
      std::unique_lock lk(s_->mu);
      if (!s_->labels.empty()) throw invalid_argument("flat_index: train after vectors were added");
      s_->quant->train(x, n);
    } else {
      (void)x;
      (void)n;
    }
  }

  void add(label_t label, std::span<const float> v) {
    detail::check_query_dimension(v.size(), dimension(), "flat_index::add");
    std::unique_lock lk(s_->mu);
    s_->insert(label, v.data(), false);
  }
  /// n row-major vectors with their labels (an untrained quantizer is trained on them).
  void add(const float* x, const label_t* labels, std::size_t n) {
    if constexpr (quantized) {
      if (!s_->quant->is_trained()) train(x, n);
    }
    std::unique_lock lk(s_->mu);
    s_->reserve(s_->labels.size() + n);
    for (std::size_t i = 0; i < n; ++i) s_->insert(labels[i], x + i * dimension(), false);
  }
  void update(label_t label, std::span<const float> v) {
    detail::check_query_dimension(v.size(), dimension(), "flat_index::update");
    std::unique_lock lk(s_->mu);
    s_->insert(label, v.data(), true);
  }
  bool remove(label_t label) {
    std::unique_lock lk(s_->mu);
    return s_->remove(label);
  }
  bool contains(label_t label) const {
    std::shared_lock lk(s_->mu);
    return s_->rows.find(label) != s_->rows.end();
  }
  std::vector<float> get(label_t label) const {
    std::shared_lock lk(s_->mu);
    auto it = s_->rows.find(label);
    if (it == s_->rows.end())
      throw not_found("flat_index: no vector with label " + std::to_string(label));
    std::vector<float> out(dimension());
    s_->vector_of(it->second, out.data());
    return out;
  }
  /// Every label, in storage order (migration, export).
  std::vector<label_t> labels() const {
    std::shared_lock lk(s_->mu);
    return s_->labels;
  }

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
    detail::check_query_dimension(query.size(), dimension(), "flat_index::search");
    detail::check_finite(query, "flat_index::search");
    std::shared_lock lk(s_->mu);
    s_->search(query.data(), k, params, filter, out);
  }

  /// Exact k nearest for nq row-major queries at once (float indexes: register-blocked
  /// kernels); row i of the result holds query i's neighbours. `threads` 0: all cores.
  std::vector<std::vector<neighbor>> search_batch(const float* queries, std::size_t nq,
                                                  std::size_t k, std::size_t threads = 0) const {
    std::shared_lock lk(s_->mu);
    return s_->search_batch(queries, nq, k, threads);
  }

  index_stats stats() const {
    std::shared_lock lk(s_->mu);
    index_stats st;
    st.size = s_->labels.size();
    st.dimension = dimension();
    st.memory_bytes = s_->codes.capacity() + s_->vecs.capacity() * sizeof(float) +
                      s_->labels.capacity() * sizeof(label_t) +
                      s_->rows.bucket_count() * (sizeof(std::pair<label_t, std::uint32_t>) + 8);
    return st;
  }

  template <file_system Fs>
  void save(Fs& fs, const std::string& path) const {
    std::shared_lock lk(s_->mu);
    s_->save(fs, path);
  }
  template <file_system Fs>
  static flat_index load(Fs& fs, const std::string& path,
                         Metric metric = detail::make_index_metric<Metric>()) {
    return flat_index(state::load(fs, path, std::move(metric)));
  }

 private:
  struct state {
    flat_options o;
    Metric metric;
    std::optional<Quantizer> quant;
    std::size_t code_size = 0;
    std::vector<std::uint8_t> codes;  // quantized: code_size bytes per row
    std::vector<float> vecs;          // float rows (no_quantizer, or kept vectors)
    std::vector<label_t> labels;      // by row
    tsl::robin_map<label_t, std::uint32_t> rows;
    mutable std::shared_mutex mu;

    state(const flat_options& opt, Metric m, std::optional<Quantizer> q)
        : o(opt), metric(std::move(m)), quant(std::move(q)) {
      if (o.dimension == 0 || o.dimension > 65536)
        throw invalid_argument("flat_index: dimension must be in 1..65536, got " +
                               std::to_string(o.dimension));
      if constexpr (quantized) {
        if (quant->dimension() != o.dimension || quant->metric() != Metric::kind)
          throw invalid_argument(
              "flat_index: the quantizer's dimension or metric differs from the index's");
        code_size = quant->code_size();
      }
      reserve(o.capacity);
    }
    bool has_vecs() const noexcept { return !quantized || o.keep_vectors; }
    void reserve(std::size_t n) {
      labels.reserve(n);
      if constexpr (quantized) codes.reserve(n * code_size);
      if (has_vecs()) vecs.reserve(n * o.dimension);
    }
    const float* row(std::size_t r) const noexcept { return vecs.data() + r * o.dimension; }

    void insert(label_t label, const float* v, bool replace) {
      if constexpr (quantized) {
        if (!quant->is_trained())
          throw invalid_argument("flat_index: the quantizer is not trained");
      }
      for (std::size_t j = 0; j < o.dimension; ++j)
        if (!std::isfinite(v[j]))
          throw invalid_argument("flat_index: vector for label " + std::to_string(label) +
                                 " has a non-finite value at " + std::to_string(j));
      std::vector<float> buf;
      const float* pv = v;
      if constexpr (Metric::kind == simd::metric_kind::cosine) {
        buf.assign(v, v + o.dimension);
        detail::normalize(buf.data(), o.dimension);
        pv = buf.data();
      }
      auto it = rows.find(label);
      if (it != rows.end()) {
        if (!replace)
          throw already_exists("flat_index: label " + std::to_string(label) +
                               " is already present");
        write_row(it->second, pv);
        return;
      }
      if (labels.size() >= std::numeric_limits<std::uint32_t>::max())
        throw invalid_argument("flat_index: more than 2^32 - 1 vectors");
      const auto r = static_cast<std::uint32_t>(labels.size());
      labels.push_back(label);
      if constexpr (quantized) codes.resize(codes.size() + code_size);
      if (has_vecs()) vecs.resize(vecs.size() + o.dimension);
      write_row(r, pv);
      rows.emplace(label, r);
    }
    void write_row(std::uint32_t r, const float* pv) {
      if constexpr (quantized)
        quant->encode(pv, codes.data() + static_cast<std::size_t>(r) * code_size);
      if (has_vecs())
        std::memcpy(vecs.data() + static_cast<std::size_t>(r) * o.dimension, pv,
                    o.dimension * sizeof(float));
    }
    bool remove(label_t label) {
      auto it = rows.find(label);
      if (it == rows.end()) return false;
      const std::uint32_t r = it->second;
      rows.erase(it);
      const std::size_t last = labels.size() - 1;
      if (r != last) {
        labels[r] = labels[last];
        rows[labels[r]] = r;
        if constexpr (quantized)
          std::memcpy(codes.data() + r * code_size, codes.data() + last * code_size, code_size);
        if (has_vecs())
          std::memcpy(vecs.data() + static_cast<std::size_t>(r) * o.dimension, row(last),
                      o.dimension * sizeof(float));
      }
      labels.pop_back();
      if constexpr (quantized) codes.resize(codes.size() - code_size);
      if (has_vecs()) vecs.resize(vecs.size() - o.dimension);
      if (labels.capacity() > 64 && labels.size() < labels.capacity() / 4) {
        labels.shrink_to_fit();
        codes.shrink_to_fit();
        vecs.shrink_to_fit();
      }
      return true;
    }
    void vector_of(std::uint32_t r, float* out) const {
      if (has_vecs()) {
        std::memcpy(out, row(r), o.dimension * sizeof(float));
      } else if constexpr (quantized) {
        quant->decode(codes.data() + static_cast<std::size_t>(r) * code_size, out);
      }
    }

    static void push(detail::max_heap& top, std::size_t k, float d, std::uint32_t r) {
      if (top.size() < k) {
        top.push({d, r});
      } else if (d < top.top().dist) {
        top.pop();
        top.push({d, r});
      }
    }

    template <class Filter>
    void search(const float* query, std::size_t k, const search_params& p, const Filter& filter,
                std::vector<neighbor>& out) const {
      out.clear();
      const std::size_t n = labels.size();
      if (k == 0 || n == 0) return;
      std::vector<float> qbuf;
      const float* q = query;
      if constexpr (Metric::kind == simd::metric_kind::cosine) {
        qbuf.assign(query, query + o.dimension);
        detail::normalize(qbuf.data(), o.dimension);
        q = qbuf.data();
      }
      constexpr bool filtered = !std::is_same_v<Filter, accept_all>;
      constexpr std::size_t block = 256;
      float dist[block];
      std::uint32_t idx[block];
      detail::max_heap top;
      std::size_t want = k;
      std::optional<typename std::conditional_t<quantized, Quantizer, no_quantizer>::computer> comp;
      if constexpr (quantized) {
        comp.emplace(quant->query(q));
        if (o.keep_vectors)
          want = std::max(k, p.rerank != 0 ? p.rerank : (o.rerank != 0 ? o.rerank : 4 * k));
      }
      top.reserve(want + 1);
      const float* rowp[block];
      const std::uint8_t* codep[block];
      for (std::size_t b = 0; b < n; b += block) {
        const std::size_t cnt = std::min(block, n - b);
        std::size_t m = 0;
        if constexpr (filtered) {
          for (std::size_t j = 0; j < cnt; ++j)
            if (filter(labels[b + j])) idx[m++] = static_cast<std::uint32_t>(b + j);
          if (m == 0) continue;
          if constexpr (quantized) {
            for (std::size_t j = 0; j < m; ++j) codep[j] = codes.data() + idx[j] * code_size;
            comp->gather(codep, m, dist);
          } else {
            for (std::size_t j = 0; j < m; ++j) rowp[j] = row(idx[j]);
            metric.distance_gather(q, rowp, m, o.dimension, dist);
          }
        } else {
          m = cnt;
          for (std::size_t j = 0; j < m; ++j) idx[j] = static_cast<std::uint32_t>(b + j);
          if constexpr (quantized) {
            comp->many(codes.data() + b * code_size, m, dist);
          } else {
            metric.distance_many(q, row(b), m, o.dimension, o.dimension, dist);
          }
        }
        for (std::size_t j = 0; j < m; ++j) push(top, want, dist[j], idx[j]);
      }
      auto& v = top.sorted();
      if constexpr (quantized) {
        if (o.keep_vectors) {
          for (auto& c : v) c.dist = metric.distance(q, row(c.id), o.dimension);
          std::sort(v.begin(), v.end(), detail::closer{});
        }
      }
      const std::size_t r = std::min(k, v.size());
      out.resize(r);
      for (std::size_t i = 0; i < r; ++i)
        out[i] = neighbor{labels[v[i].id], v[i].dist, Metric::to_score(v[i].dist)};
    }

    std::vector<std::vector<neighbor>> search_batch(const float* queries, std::size_t nq,
                                                    std::size_t k, std::size_t threads) const {
      std::vector<std::vector<neighbor>> res(nq);
      const std::size_t n = labels.size();
      if (nq == 0 || k == 0 || n == 0) return res;
      if constexpr (quantized || Metric::kind == simd::metric_kind::cosine) {
        auto one = [&](std::size_t i) {
          search(queries + i * o.dimension, k, search_params{}, accept_all{}, res[i]);
        };
        if (threads == 1) {
          for (std::size_t i = 0; i < nq; ++i) one(i);
        } else {
          thread_pool tp(threads == 0 ? 0 : threads - 1);
          tp.parallel_for(0, nq, one);
        }
      } else {
        // Groups of 16 queries against blocks of rows with the register-blocked batch kernel.
        constexpr std::size_t qg = 16, rb = 2048;
        const std::size_t groups = (nq + qg - 1) / qg;
        auto group = [&](std::size_t g) {
          const std::size_t q0 = g * qg, qn = std::min(qg, nq - q0);
          std::vector<float> dist(qg * rb);
          std::vector<detail::max_heap> tops(qn);
          for (std::size_t b = 0; b < n; b += rb) {
            const std::size_t cnt = std::min(rb, n - b);
            metric.distance_batch(queries + q0 * o.dimension, qn, o.dimension, row(b), cnt,
                                  o.dimension, o.dimension, dist.data(), rb);
            for (std::size_t i = 0; i < qn; ++i)
              for (std::size_t j = 0; j < cnt; ++j)
                push(tops[i], k, dist[i * rb + j], static_cast<std::uint32_t>(b + j));
          }
          for (std::size_t i = 0; i < qn; ++i) {
            auto& v = tops[i].sorted();
            auto& out = res[q0 + i];
            out.resize(v.size());
            for (std::size_t j = 0; j < v.size(); ++j)
              out[j] = neighbor{labels[v[j].id], v[j].dist, Metric::to_score(v[j].dist)};
          }
        };
        if (threads == 1 || groups == 1) {
          for (std::size_t g = 0; g < groups; ++g) group(g);
        } else {
          thread_pool tp(threads == 0 ? 0 : threads - 1);
          tp.parallel_for(0, groups, group);
        }
      }
      return res;
    }

    template <file_system Fs>
    void save(Fs& fs, const std::string& path) const {
      detail::index_writer<Fs> w(fs, path, index_kind::flat, Metric::kind, o.dimension);
      std::string params;
      put_fixed64(params, labels.size());
      params.push_back(static_cast<char>(quantized ? 1 : 0));
      params.push_back(static_cast<char>(has_vecs() ? 1 : 0));
      w.begin_section(detail::section_tag::params);
      w.write(params);
      w.end_section();
      if constexpr (quantized) {
        w.begin_section(detail::section_tag::quantizer);
        w.write(quant->save());
        w.end_section();
        w.begin_section(detail::section_tag::codes);
        w.write(codes.data(), codes.size());
        w.end_section();
      }
      w.begin_section(detail::section_tag::labels);
      w.write(labels.data(), labels.size() * sizeof(label_t));
      w.end_section();
      if (has_vecs()) {
        w.begin_section(detail::section_tag::vectors);
        w.write(vecs.data(), vecs.size() * sizeof(float));
        w.end_section();
      }
      w.finish();
    }

    template <file_system Fs>
    static std::unique_ptr<state> load(Fs& fs, const std::string& path, Metric metric) {
      auto f = fs.open(path, open_mode::read);
      const auto info = detail::read_index_header(f, path, index_kind::flat);
      if (info.metric != Metric::kind)
        throw invalid_argument(path + ": index metric " +
                               std::string(simd::to_string(info.metric)) + ", expected " +
                               std::string(simd::to_string(Metric::kind)));
      const auto& ps = detail::require_section(info, detail::section_tag::params, path);
      const std::string params = detail::read_section(f, ps, path);
      byte_reader pr(params, path, ps.offset);
      const std::uint64_t n = pr.fixed64();
      const std::uint8_t is_q = pr.u8();
      const std::uint8_t keep = pr.u8();
      if (is_q != (quantized ? 1 : 0)) pr.fail("quantizer presence does not match the index type");
      if (n >= std::numeric_limits<std::uint32_t>::max()) pr.fail("too many vectors");
      flat_options o{.dimension = info.dimension, .keep_vectors = keep != 0};
      if (!quantized && !o.keep_vectors) pr.fail("a float index must keep its vectors");
      std::optional<Quantizer> q;
      if constexpr (quantized) {
        const auto& qs = detail::require_section(info, detail::section_tag::quantizer, path);
        q.emplace(Quantizer::load(detail::read_section(f, qs, path), path));
        if (!q->is_trained() || q->dimension() != o.dimension || q->metric() != Metric::kind)
          throw corruption(path + ": quantizer does not match the index");
      }
      auto s = std::make_unique<state>(o, std::move(metric), std::move(q));
      const auto& ls = detail::require_section(info, detail::section_tag::labels, path);
      if (ls.length != n * sizeof(label_t))
        byte_reader({}, path, ls.offset).fail("LABL section has the wrong size");
      s->labels.resize(static_cast<std::size_t>(n));
      detail::read_section(f, ls, path, reinterpret_cast<char*>(s->labels.data()));
      if constexpr (quantized) {
        const auto& cs = detail::require_section(info, detail::section_tag::codes, path);
        if (cs.length != n * s->code_size)
          byte_reader({}, path, cs.offset).fail("CODE section has the wrong size");
        s->codes.resize(static_cast<std::size_t>(cs.length));
        detail::read_section(f, cs, path, reinterpret_cast<char*>(s->codes.data()));
      }
      if (s->has_vecs()) {
        const auto& vs = detail::require_section(info, detail::section_tag::vectors, path);
        if (vs.length != n * o.dimension * sizeof(float))
          byte_reader({}, path, vs.offset).fail("VECS section has the wrong size");
        s->vecs.resize(static_cast<std::size_t>(n) * o.dimension);
        detail::read_section(f, vs, path, reinterpret_cast<char*>(s->vecs.data()));
        for (std::size_t i = 0; i < s->vecs.size(); ++i)
          if (!std::isfinite(s->vecs[i]))
            byte_reader({}, path, vs.offset + i * 4).fail("non-finite vector value");
      }
      for (std::uint32_t r = 0; r < n; ++r) {
        if (!s->rows.emplace(s->labels[r], r).second)
          byte_reader({}, path, ls.offset + r * 8)
              .fail("duplicate label " + std::to_string(s->labels[r]));
      }
      return s;
    }
  };

  explicit flat_index(std::unique_ptr<state> s) : s_(std::move(s)) {}
  std::unique_ptr<state> s_;
};

}  // namespace vector
SOCHDB_END_NAMESPACE
