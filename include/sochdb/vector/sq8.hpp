// sochdb/vector/sq8.hpp — scalar quantization to 8 bits per dimension (4x smaller than float).
//
// Training finds, per dimension j, a range [lo_j, lo_j + 255 * scale_j] — the minimum and
// maximum of a sample, or percentiles when `clip` > 0 — and a value x_j is stored as the byte
// c_j = round((x_j - lo_j) / scale_j) clamped to 0..255; it decodes to lo_j + scale_j * c_j.
// Inside the range the decoding error is at most scale_j / 2 per dimension.
//
// Distances never decode. For a query q the distance computer maps q once into code space
// and then runs one SIMD kernel per code (simd kernel_table::sq8_*), reading 1 byte per
// dimension:
//   l2:            |q - x|^2  = sum scale_j^2 (q'_j - c_j)^2 with q'_j = (q_j - lo_j) / scale_j
//   inner_product: q . x      = sum q_j lo_j + sum (q_j scale_j) c_j
//   cosine:        as inner_product on unit-length vectors (encode and query normalize), 1 - dot.
// Dimensions with scale 0 (constant in training) contribute a per-query constant.
// Symmetric (code-vs-code) distances use the same expansion on both sides.
//
// This is the reference model of the `quantizer` concept (vector/concepts.hpp). Thread-safety:
// const members from any number of threads; train/load exclusive. Bytes:
// docs/formats/quantizers.md.
#pragma once

#include <sochdb/simd/dispatch.hpp>
#include <sochdb/vector/concepts.hpp>
#include <sochdb/vector/detail/common.hpp>
#include <sochdb/vector/detail/quantizer_io.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace vector {

/// Options of `sq8`.
struct sq8_options {
  std::size_t dimension = 0;             ///< required: floats per vector
  metric_kind metric = metric_kind::l2;  ///< l2, inner_product or cosine
  float clip = 0.0f;                     ///< fraction cut at each end per dimension
                                         ///< (0: min/max; 0.001: 0.1 and 99.9 percentiles); < 0.5
  std::size_t max_train_rows = 100000;   ///< rows sampled for training (0: all)
  std::uint64_t seed = 0x5eed;           ///< sample selection
};

class sq8 {
 public:
  /// The per-query distance computer (see the `distance_computer` concept).
  class computer {
   public:
    float operator()(const std::uint8_t* code) const noexcept {
      if (l2_) return bias_ + k_->sq8_l2sq(q_.data(), w_, code, d_);
      return finish(k_->sq8_dot(q_.data(), code, d_));
    }
    void many(const std::uint8_t* codes, std::size_t n, float* out) const noexcept {
      if (l2_) {
        k_->sq8_l2sq_many(q_.data(), w_, codes, n, d_, d_, out);
        for (std::size_t j = 0; j < n; ++j) out[j] += bias_;
      } else {
        k_->sq8_dot_many(q_.data(), codes, n, d_, d_, out);
        for (std::size_t j = 0; j < n; ++j) out[j] = finish(out[j]);
      }
    }
    void gather(const std::uint8_t* const* codes, std::size_t n, float* out) const noexcept {
      for (std::size_t j = 0; j < n; ++j) out[j] = (*this)(codes[j]);
    }

   private:
    friend class sq8;
    float finish(float dot) const noexcept {
      const float s = bias_ + dot;
      return cosine_ ? 1.f - s : -s;
    }
    const simd::kernel_table* k_ = nullptr;
    const float* w_ = nullptr;  // the quantizer's scale^2 (its heap buffer)
    std::vector<float> q_;
    std::size_t d_ = 0;
    float bias_ = 0;
    bool l2_ = true;
    bool cosine_ = false;
  };

  explicit sq8(const sq8_options& o, const simd::kernel_table& k = simd::best_kernels())
      : o_(o), k_(&k) {
    detail::check_dimension(o.dimension, detail::max_quantizer_dimension, "sq8");
    detail::check_quantizer_metric(o.metric, "sq8");
    if (!(o.clip >= 0.f && o.clip < 0.5f)) {
      throw invalid_argument("sq8: clip must be in [0, 0.5), got " + std::to_string(o.clip));
    }
  }

  std::size_t dimension() const noexcept { return o_.dimension; }
  std::size_t code_size() const noexcept { return o_.dimension; }
  metric_kind metric() const noexcept { return o_.metric; }
  bool is_trained() const noexcept { return !lo_.empty(); }
  std::string_view isa_name() const noexcept { return simd::isa_name(k_->id); }
  /// Per-dimension range start and step (empty before training).
  const std::vector<float>& lower() const noexcept { return lo_; }
  const std::vector<float>& scale() const noexcept { return scale_; }

  /// Learns the per-dimension ranges from n row-major vectors (n >= 1).
  void train(const float* x, std::size_t n) {
    if (n == 0) throw invalid_argument("sq8: training needs at least one vector");
    const std::size_t d = o_.dimension;
    std::vector<float> sample =
        detail::training_sample(x, n, d, o_.max_train_rows, o_.seed, o_.metric);
    const std::size_t rows = sample.size() / d;
    std::vector<float> lo(d), scale(d), col(rows);
    for (std::size_t j = 0; j < d; ++j) {
      for (std::size_t i = 0; i < rows; ++i) col[i] = sample[i * d + j];
      float a, b;
      if (o_.clip > 0.f && rows > 2) {
        const auto cut =
            static_cast<std::size_t>(static_cast<double>(o_.clip) * static_cast<double>(rows - 1));
        std::nth_element(col.begin(), col.begin() + static_cast<std::ptrdiff_t>(cut), col.end());
        a = col[cut];
        std::nth_element(col.begin(), col.begin() + static_cast<std::ptrdiff_t>(rows - 1 - cut),
                         col.end());
        b = col[rows - 1 - cut];
      } else {
        auto [mn, mx] = std::minmax_element(col.begin(), col.end());
        a = *mn;
        b = *mx;
      }
      if (!std::isfinite(a) || !std::isfinite(b)) {
        throw invalid_argument("sq8: training data has a non-finite value in dimension " +
                               std::to_string(j));
      }
      lo[j] = a;
      scale[j] = b > a ? static_cast<float>((static_cast<double>(b) - a) / 255.0) : 0.f;
    }
    set_params(std::move(lo), std::move(scale));
  }

  void encode(const float* x, std::uint8_t* code) const {
    require_trained();
    std::vector<float> buf;
    encode_one(detail::prepare(x, o_.dimension, o_.metric, buf), code);
  }
  void encode(const float* x, std::size_t n, std::uint8_t* codes) const {
    require_trained();
    std::vector<float> buf;
    for (std::size_t i = 0; i < n; ++i) {
      encode_one(detail::prepare(x + i * o_.dimension, o_.dimension, o_.metric, buf),
                 codes + i * o_.dimension);
    }
  }
  void decode(const std::uint8_t* code, float* x) const {
    require_trained();
    for (std::size_t j = 0; j < o_.dimension; ++j)
      x[j] = lo_[j] + scale_[j] * static_cast<float>(code[j]);
  }

  computer query(const float* q) const {
    require_trained();
    const std::size_t d = o_.dimension;
    std::vector<float> buf;
    const float* x = detail::prepare(q, d, o_.metric, buf);
    computer c;
    c.k_ = k_;
    c.w_ = w_.data();
    c.d_ = d;
    c.q_.resize(d);
    c.l2_ = o_.metric == metric_kind::l2;
    c.cosine_ = o_.metric == metric_kind::cosine;
    double bias = 0;
    for (std::size_t j = 0; j < d; ++j) {
      if (c.l2_) {
        if (scale_[j] > 0.f) {
          c.q_[j] = (x[j] - lo_[j]) / scale_[j];
        } else {
          c.q_[j] = 0.f;
          const double t = static_cast<double>(x[j]) - lo_[j];
          bias += t * t;
        }
      } else {
        c.q_[j] = x[j] * scale_[j];
        bias += static_cast<double>(x[j]) * lo_[j];
      }
    }
    c.bias_ = static_cast<float>(bias);
    return c;
  }

  /// Code against code (precondition: trained).
  float symmetric_distance(const std::uint8_t* a, const std::uint8_t* b) const noexcept {
    const std::size_t d = o_.dimension;
    if (o_.metric == metric_kind::l2) return k_->sq8_l2sq_sym(w_.data(), a, b, d);
    const float dot = lo_sq_ + k_->sq8_dot(v_.data(), a, d) + k_->sq8_dot(v_.data(), b, d) +
                      k_->sq8_dot_sym(w_.data(), a, b, d);
    return o_.metric == metric_kind::cosine ? 1.f - dot : -dot;
  }

  /// Appends the quantizer's bytes (docs/formats/quantizers.md).
  void save(std::string& out) const {
    require_trained();
    const std::size_t d = o_.dimension;
    const std::size_t start =
        detail::begin_quantizer(out, detail::quantizer_kind::sq8, o_.metric, d, 8 * d);
    for (std::size_t j = 0; j < d; ++j) detail::put_float(out, lo_[j]);
    for (std::size_t j = 0; j < d; ++j) detail::put_float(out, scale_[j]);
    detail::finish_quantizer(out, start);
  }
  std::string save() const {
    std::string s;
    save(s);
    return s;
  }

  /// Reads bytes written by save(); `source` names them in errors.
  static sq8 load(std::string_view bytes, std::string_view source = "sq8",
                  const simd::kernel_table& k = simd::best_kernels()) {
    const auto h = detail::read_quantizer(bytes, source, detail::quantizer_kind::sq8);
    byte_reader r(h.payload, source, h.payload_offset);
    if (h.payload.size() != 8 * h.dimension) {
      r.fail("sq8 payload of " + std::to_string(h.payload.size()) + " bytes, expected " +
             std::to_string(8 * h.dimension));
    }
    std::vector<float> lo(h.dimension), scale(h.dimension);
    for (auto& v : lo) v = detail::read_finite(r, "range start");
    for (auto& v : scale) {
      v = detail::read_finite(r, "scale");
      if (v < 0.f) r.fail("negative scale");
    }
    sq8 q(sq8_options{.dimension = h.dimension, .metric = h.metric}, k);
    q.set_params(std::move(lo), std::move(scale));
    return q;
  }

 private:
  void require_trained() const {
    if (!is_trained()) throw invalid_argument("sq8: used before train()");
  }
  void set_params(std::vector<float> lo, std::vector<float> scale) {
    lo_ = std::move(lo);
    scale_ = std::move(scale);
    const std::size_t d = o_.dimension;
    w_.resize(d);
    v_.resize(d);
    double lo_sq = 0;
    for (std::size_t j = 0; j < d; ++j) {
      w_[j] = scale_[j] * scale_[j];
      v_[j] = lo_[j] * scale_[j];
      lo_sq += static_cast<double>(lo_[j]) * lo_[j];
    }
    lo_sq_ = static_cast<float>(lo_sq);
  }
  void encode_one(const float* x, std::uint8_t* code) const noexcept {
    for (std::size_t j = 0; j < o_.dimension; ++j) {
      float c = scale_[j] > 0.f ? std::nearbyint((x[j] - lo_[j]) / scale_[j]) : 0.f;
      // NaN compares false both ways and lands on 0.
      code[j] = c >= 255.f ? std::uint8_t{255}
                           : (c > 0.f ? static_cast<std::uint8_t>(c) : std::uint8_t{0});
    }
  }

  sq8_options o_;
  const simd::kernel_table* k_;
  std::vector<float> lo_, scale_;
  std::vector<float> w_;  // scale^2
  std::vector<float> v_;  // lo * scale
  float lo_sq_ = 0;       // sum lo^2
};

static_assert(quantizer<sq8>);

}  // namespace vector
SOCHDB_END_NAMESPACE
