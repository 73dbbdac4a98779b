// sochdb/vector/pq.hpp — product quantization: M bytes per vector (Jégou, Douze, Schmid,
// "Product quantization for nearest neighbor search", IEEE TPAMI 2011).
//
// The dimension d is split into M subspaces of d / M consecutive dimensions; each subspace has
// its own codebook of 256 centroids learnt by k-means (k-means++ seeding, Arthur & Vassilvitskii
// 2007; Lloyd iterations) on a sample, with a fixed seed so training is reproducible. A vector
// is stored as the index of the nearest centroid in every subspace: M bytes (d = 128, M = 32:
// 512 bytes of floats become 32 bytes).
//
// Asymmetric distance computation (ADC, §4.1 of the paper): for a query the distance computer
// fills an M x 256 table with the distance (squared L2, or -dot) from each query sub-vector to
// each centroid; the distance to a code is the sum of M table entries, looked up with the
// kernel table's SIMD gather (`pq_adc`, `pq_adc_many`). Symmetric distances (code vs code)
// sum centroid-to-centroid distances. Cosine normalizes vectors and queries and uses 1 - dot.
// PQ distances are approximate: indexes re-rank the best candidates with full vectors.
//
// Thread-safety: const members from any number of threads; train/load exclusive. Bytes:
// docs/formats/quantizers.md.
#pragma once

#include <sochdb/simd/dispatch.hpp>
#include <sochdb/vector/concepts.hpp>
#include <sochdb/vector/detail/common.hpp>
#include <sochdb/vector/detail/quantizer_io.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace vector {

/// Options of `pq`.
struct pq_options {
  std::size_t dimension = 0;             ///< required: floats per vector
  std::size_t m = 0;                     ///< required: subspaces = code bytes; divides dimension
  metric_kind metric = metric_kind::l2;  ///< l2, inner_product or cosine
  std::size_t iterations = 20;         ///< Lloyd iterations per subspace (stops early when stable)
  std::size_t max_train_rows = 32768;  ///< rows sampled for training (0: all)
  std::uint64_t seed = 0x5eed;         ///< sample selection and k-means++ seeding
};

class pq {
 public:
  /// Centroids per subspace (8-bit codes).
  static constexpr std::size_t ksub = 256;

  class computer {
   public:
    float operator()(const std::uint8_t* code) const noexcept {
      return bias_ + adc_(tables_.data(), code, m_);
    }
    void many(const std::uint8_t* codes, std::size_t n, float* out) const noexcept {
      many_(tables_.data(), codes, n, m_, out);
      if (bias_ != 0.f)
        for (std::size_t j = 0; j < n; ++j) out[j] += bias_;
    }
    void gather(const std::uint8_t* const* codes, std::size_t n, float* out) const noexcept {
      for (std::size_t j = 0; j < n; ++j) {
        if (j + 4 < n) __builtin_prefetch(codes[j + 4], 0, 3);
        out[j] = (*this)(codes[j]);
      }
    }
    /// The M x 256 lookup table (row s holds subspace s).
    const std::vector<float>& tables() const noexcept { return tables_; }

   private:
    friend class pq;
    float (*adc_)(const float*, const std::uint8_t*, std::size_t) noexcept = nullptr;
    void (*many_)(const float*, const std::uint8_t*, std::size_t, std::size_t,
                  float*) noexcept = nullptr;
    std::vector<float> tables_;
    std::size_t m_ = 0;
    float bias_ = 0;
  };

  explicit pq(const pq_options& o, const simd::kernel_table& k = simd::best_kernels())
      : o_(o), k_(&k) {
    detail::check_dimension(o.dimension, detail::max_quantizer_dimension, "pq");
    detail::check_quantizer_metric(o.metric, "pq");
    if (o.m == 0 || o.m > o.dimension || o.dimension % o.m != 0) {
      throw invalid_argument("pq: m must divide the dimension " + std::to_string(o.dimension) +
                             ", got m = " + std::to_string(o.m));
    }
    if (o.iterations == 0) throw invalid_argument("pq: iterations must be at least 1");
    dsub_ = o.dimension / o.m;
  }

  std::size_t dimension() const noexcept { return o_.dimension; }
  std::size_t code_size() const noexcept { return o_.m; }
  std::size_t subspaces() const noexcept { return o_.m; }
  std::size_t subspace_dimension() const noexcept { return dsub_; }
  metric_kind metric() const noexcept { return o_.metric; }
  bool is_trained() const noexcept { return !centroids_.empty(); }
  std::string_view isa_name() const noexcept { return simd::isa_name(k_->id); }
  /// Centroid c of subspace s: dsub floats at centroids().data() + (s * 256 + c) * dsub.
  const std::vector<float>& centroids() const noexcept { return centroids_; }

  /// Learns the codebooks from n >= 256 row-major vectors.
  void train(const float* x, std::size_t n) {
    if (n < ksub) {
      throw invalid_argument("pq: training needs at least 256 vectors, got " + std::to_string(n));
    }
    const std::size_t d = o_.dimension;
    std::vector<float> sample =
        detail::training_sample(x, n, d, o_.max_train_rows, o_.seed, o_.metric);
    const std::size_t rows = sample.size() / d;
    std::vector<float> cents(o_.m * ksub * dsub_);
    std::vector<float> sub(rows * dsub_);
    for (std::size_t s = 0; s < o_.m; ++s) {
      for (std::size_t i = 0; i < rows; ++i) {
        std::memcpy(sub.data() + i * dsub_, sample.data() + i * d + s * dsub_,
                    dsub_ * sizeof(float));
      }
      for (float v : sub) {
        if (!std::isfinite(v)) throw invalid_argument("pq: training data has a non-finite value");
      }
      detail::splitmix64 rng{o_.seed ^ (0x9e37ull * (s + 1))};
      kmeans(sub.data(), rows, rng, cents.data() + s * ksub * dsub_);
    }
    set_centroids(std::move(cents));
  }

  void encode(const float* x, std::uint8_t* code) const { encode(x, 1, code); }
  void encode(const float* x, std::size_t n, std::uint8_t* codes) const {
    require_trained();
    std::vector<float> buf;
    float dist[ksub];
    for (std::size_t i = 0; i < n; ++i) {
      const float* v = detail::prepare(x + i * o_.dimension, o_.dimension, o_.metric, buf);
      for (std::size_t s = 0; s < o_.m; ++s) {
        codes[i * o_.m + s] = static_cast<std::uint8_t>(nearest(
            v + s * dsub_, ct_.data() + s * dsub_ * ksub, cnorm_.data() + s * ksub, dsub_, dist));
      }
    }
  }
  void decode(const std::uint8_t* code, float* x) const {
    require_trained();
    for (std::size_t s = 0; s < o_.m; ++s) {
      std::memcpy(x + s * dsub_, centroids_.data() + (s * ksub + code[s]) * dsub_,
                  dsub_ * sizeof(float));
    }
  }

  /// Builds the query's M x 256 distance table.
  computer query(const float* q) const {
    require_trained();
    std::vector<float> buf;
    const float* x = detail::prepare(q, o_.dimension, o_.metric, buf);
    computer c;
    c.adc_ = k_->pq_adc;
    c.many_ = k_->pq_adc_many;
    c.m_ = o_.m;
    c.tables_.assign(o_.m * ksub, 0.f);
    const bool l2 = o_.metric == metric_kind::l2;
    for (std::size_t s = 0; s < o_.m; ++s) {
      float* t = c.tables_.data() + s * ksub;
      const float* ct = ct_.data() + s * dsub_ * ksub;
      for (std::size_t kk = 0; kk < dsub_; ++kk) {
        const float qk = x[s * dsub_ + kk];
        const float* row = ct + kk * ksub;
        if (l2) {
          for (std::size_t cc = 0; cc < ksub; ++cc) {
            const float diff = qk - row[cc];
            t[cc] += diff * diff;
          }
        } else {
          for (std::size_t cc = 0; cc < ksub; ++cc) t[cc] -= qk * row[cc];
        }
      }
    }
    c.bias_ = o_.metric == metric_kind::cosine ? 1.f : 0.f;
    return c;
  }

  /// Code against code (precondition: trained).
  float symmetric_distance(const std::uint8_t* a, const std::uint8_t* b) const noexcept {
    double s = 0;
    const bool l2 = o_.metric == metric_kind::l2;
    for (std::size_t sub = 0; sub < o_.m; ++sub) {
      const float* x = centroids_.data() + (sub * ksub + a[sub]) * dsub_;
      const float* y = centroids_.data() + (sub * ksub + b[sub]) * dsub_;
      for (std::size_t kk = 0; kk < dsub_; ++kk) {
        if (l2) {
          const double t = static_cast<double>(x[kk]) - y[kk];
          s += t * t;
        } else {
          s -= static_cast<double>(x[kk]) * y[kk];
        }
      }
    }
    return static_cast<float>(o_.metric == metric_kind::cosine ? 1.0 + s : s);
  }

  void save(std::string& out) const {
    require_trained();
    const std::size_t start =
        detail::begin_quantizer(out, detail::quantizer_kind::pq, o_.metric, o_.dimension,
                                8 + centroids_.size() * sizeof(float));
    put_fixed32(out, static_cast<std::uint32_t>(o_.m));
    put_fixed32(out, static_cast<std::uint32_t>(ksub));
    for (float v : centroids_) detail::put_float(out, v);
    detail::finish_quantizer(out, start);
  }
  std::string save() const {
    std::string s;
    save(s);
    return s;
  }

  static pq load(std::string_view bytes, std::string_view source = "pq",
                 const simd::kernel_table& k = simd::best_kernels()) {
    const auto h = detail::read_quantizer(bytes, source, detail::quantizer_kind::pq);
    byte_reader r(h.payload, source, h.payload_offset);
    const std::uint32_t m = r.fixed32();
    if (m == 0 || m > h.dimension || h.dimension % m != 0) {
      r.fail("pq subspace count " + std::to_string(m) + " does not divide dimension " +
             std::to_string(h.dimension));
    }
    const std::uint32_t ks = r.fixed32();
    if (ks != ksub) r.fail("pq codebook size " + std::to_string(ks) + " (only 256 is supported)");
    const std::size_t count = ksub * h.dimension;  // m * 256 * dsub
    if (r.remaining() != count * sizeof(float)) {
      r.fail("pq payload holds " + std::to_string(r.remaining()) +
             " bytes of centroids, expected " + std::to_string(count * sizeof(float)));
    }
    std::vector<float> cents(count);
    for (auto& v : cents) v = detail::read_finite(r, "centroid value");
    pq q(pq_options{.dimension = h.dimension, .m = m, .metric = h.metric}, k);
    q.set_centroids(std::move(cents));
    return q;
  }

 private:
  void require_trained() const {
    if (!is_trained()) throw invalid_argument("pq: used before train()");
  }

  /// Index of the centroid nearest to x: argmin |c|^2 - 2 x.c over the transposed codebook
  /// `ct` (dsub rows of 256). The inner loop runs over centroids, so it vectorizes.
  static std::size_t nearest(const float* x, const float* ct, const float* cnorm, std::size_t dsub,
                             float* dist) noexcept {
    for (std::size_t c = 0; c < ksub; ++c) dist[c] = cnorm[c];
    for (std::size_t kk = 0; kk < dsub; ++kk) {
      const float m2x = -2.f * x[kk];
      const float* row = ct + kk * ksub;
      for (std::size_t c = 0; c < ksub; ++c) dist[c] += m2x * row[c];
    }
    std::size_t best = 0;
    for (std::size_t c = 1; c < ksub; ++c)
      if (dist[c] < dist[best]) best = c;
    return best;
  }

  static float sq_dist(const float* a, const float* b, std::size_t n) noexcept {
    float s = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const float t = a[i] - b[i];
      s += t * t;
    }
    return s;
  }

  /// k-means with k = 256 over n >= 256 points of dimension dsub_; writes 256 x dsub_ floats.
  void kmeans(const float* pts, std::size_t n, detail::splitmix64& rng, float* out) const {
    const std::size_t ds = dsub_;
    // k-means++ seeding: each next centroid is a point drawn with probability proportional to
    // its squared distance to the nearest centroid so far.
    std::vector<double> dmin(n);
    std::size_t first = rng.below(n);
    std::memcpy(out, pts + first * ds, ds * sizeof(float));
    for (std::size_t i = 0; i < n; ++i) dmin[i] = sq_dist(pts + i * ds, out, ds);
    for (std::size_t c = 1; c < ksub; ++c) {
      double total = 0;
      for (double v : dmin) total += v;
      std::size_t pick = 0;
      if (total > 0) {
        double r = rng.unit() * total;
        for (pick = 0; pick + 1 < n; ++pick) {
          r -= dmin[pick];
          if (r < 0) break;
        }
      } else {
        pick = rng.below(n);  // every point coincides with a centroid already
      }
      float* cen = out + c * ds;
      std::memcpy(cen, pts + pick * ds, ds * sizeof(float));
      for (std::size_t i = 0; i < n; ++i)
        dmin[i] = std::min<double>(dmin[i], sq_dist(pts + i * ds, cen, ds));
    }
    // Lloyd iterations.
    std::vector<std::uint8_t> assign(n, 0);
    std::vector<float> ct(ds * ksub), cnorm(ksub), dist(ksub), err(n);
    std::vector<double> sums(ksub * ds);
    std::vector<std::size_t> counts(ksub);
    for (std::size_t it = 0; it < o_.iterations; ++it) {
      transpose(out, ct.data(), cnorm.data());
      bool changed = it == 0;
      for (std::size_t i = 0; i < n; ++i) {
        const auto a = static_cast<std::uint8_t>(
            nearest(pts + i * ds, ct.data(), cnorm.data(), ds, dist.data()));
        if (a != assign[i]) changed = true;
        assign[i] = a;
      }
      if (!changed) break;
      std::fill(sums.begin(), sums.end(), 0.0);
      std::fill(counts.begin(), counts.end(), 0);
      for (std::size_t i = 0; i < n; ++i) {
        ++counts[assign[i]];
        for (std::size_t kk = 0; kk < ds; ++kk) sums[assign[i] * ds + kk] += pts[i * ds + kk];
      }
      for (std::size_t c = 0; c < ksub; ++c) {
        if (counts[c] == 0) continue;
        for (std::size_t kk = 0; kk < ds; ++kk)
          out[c * ds + kk] = static_cast<float>(sums[c * ds + kk] / static_cast<double>(counts[c]));
      }
      // An empty cluster takes the point worst served by its centroid (deterministic).
      bool have_err = false;
      for (std::size_t c = 0; c < ksub; ++c) {
        if (counts[c] != 0) continue;
        if (!have_err) {
          for (std::size_t i = 0; i < n; ++i)
            err[i] = sq_dist(pts + i * ds, out + assign[i] * ds, ds);
          have_err = true;
        }
        std::size_t worst = 0;
        for (std::size_t i = 1; i < n; ++i)
          if (err[i] > err[worst]) worst = i;
        std::memcpy(out + c * ds, pts + worst * ds, ds * sizeof(float));
        err[worst] = 0;
      }
    }
  }

  /// One subspace's codebook (256 x dsub) to its transposed form (dsub x 256) and norms.
  void transpose(const float* cents, float* ct, float* cnorm) const noexcept {
    for (std::size_t c = 0; c < ksub; ++c) {
      float nrm = 0;
      for (std::size_t kk = 0; kk < dsub_; ++kk) {
        const float v = cents[c * dsub_ + kk];
        ct[kk * ksub + c] = v;
        nrm += v * v;
      }
      cnorm[c] = nrm;
    }
  }

  void set_centroids(std::vector<float> cents) {
    centroids_ = std::move(cents);
    ct_.assign(o_.m * dsub_ * ksub, 0.f);
    cnorm_.assign(o_.m * ksub, 0.f);
    for (std::size_t s = 0; s < o_.m; ++s) {
      transpose(centroids_.data() + s * ksub * dsub_, ct_.data() + s * dsub_ * ksub,
                cnorm_.data() + s * ksub);
    }
  }

  pq_options o_;
  const simd::kernel_table* k_;
  std::size_t dsub_ = 0;
  std::vector<float> centroids_;  // m x 256 x dsub
  std::vector<float> ct_;         // m x dsub x 256 (transposed, for assignment and tables)
  std::vector<float> cnorm_;      // m x 256 squared centroid norms
};

static_assert(quantizer<pq>);

}  // namespace vector
SOCHDB_END_NAMESPACE
