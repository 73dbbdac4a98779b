// sochdb/vector/no_quantizer.hpp — full float32 vectors as "codes" (4 bytes per dimension).
//
// The identity quantizer, so indexes have one code path for exact and quantized storage: a
// code is the vector's float bytes (normalized first for cosine). Codes must be 4-byte
// aligned (the index's code arrays are). Distances are the metric kernels themselves: l2sq,
// -dot, 1 - dot. Training is a no-op. Thread-safety as every quantizer (vector/concepts.hpp).
#pragma once

#include <sochdb/simd/dispatch.hpp>
#include <sochdb/vector/concepts.hpp>
#include <sochdb/vector/detail/common.hpp>
#include <sochdb/vector/detail/quantizer_io.hpp>

#include <cstring>
#include <string>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace vector {

/// Options of `no_quantizer`.
struct no_quantizer_options {
  std::size_t dimension = 0;             ///< required: floats per vector
  metric_kind metric = metric_kind::l2;  ///< l2, inner_product or cosine
};

class no_quantizer {
 public:
  class computer {
   public:
    float operator()(const std::uint8_t* code) const noexcept {
      const float v = fn_(q_.data(), as_floats(code), d_);
      return finish(v);
    }
    void many(const std::uint8_t* codes, std::size_t n, float* out) const noexcept {
      many_(q_.data(), as_floats(codes), n, d_, d_, out);
      if (metric_ != metric_kind::l2)
        for (std::size_t j = 0; j < n; ++j) out[j] = finish(out[j]);
    }
    void gather(const std::uint8_t* const* codes, std::size_t n, float* out) const noexcept {
      for (std::size_t j = 0; j < n; ++j) out[j] = (*this)(codes[j]);
    }

   private:
    friend class no_quantizer;
    static const float* as_floats(const std::uint8_t* p) noexcept {
      return reinterpret_cast<const float*>(p);
    }
    float finish(float v) const noexcept {
      switch (metric_) {
        case metric_kind::inner_product:
          return -v;
        case metric_kind::cosine:
          return 1.f - v;
        default:
          return v;
      }
    }
    float (*fn_)(const float*, const float*, std::size_t) noexcept = nullptr;
    void (*many_)(const float*, const float*, std::size_t, std::size_t, std::size_t,
                  float*) noexcept = nullptr;
    std::vector<float> q_;
    std::size_t d_ = 0;
    metric_kind metric_ = metric_kind::l2;
  };

  explicit no_quantizer(const no_quantizer_options& o,
                        const simd::kernel_table& k = simd::best_kernels())
      : o_(o), k_(&k) {
    detail::check_dimension(o.dimension, detail::max_quantizer_dimension, "no_quantizer");
    detail::check_quantizer_metric(o.metric, "no_quantizer");
  }

  std::size_t dimension() const noexcept { return o_.dimension; }
  std::size_t code_size() const noexcept { return o_.dimension * sizeof(float); }
  metric_kind metric() const noexcept { return o_.metric; }
  bool is_trained() const noexcept { return true; }
  std::string_view isa_name() const noexcept { return simd::isa_name(k_->id); }

  void train(const float*, std::size_t) noexcept {}
  void encode(const float* x, std::uint8_t* code) const { encode(x, 1, code); }
  void encode(const float* x, std::size_t n, std::uint8_t* codes) const {
    const std::size_t d = o_.dimension;
    std::memcpy(codes, x, n * d * sizeof(float));
    if (o_.metric == metric_kind::cosine) {
      for (std::size_t i = 0; i < n; ++i) {
        float* v = reinterpret_cast<float*>(codes + i * d * sizeof(float));
        detail::normalize(v, d);
      }
    }
  }
  void decode(const std::uint8_t* code, float* x) const {
    std::memcpy(x, code, o_.dimension * sizeof(float));
  }
  computer query(const float* q) const {
    computer c;
    c.q_.assign(q, q + o_.dimension);
    if (o_.metric == metric_kind::cosine) detail::normalize(c.q_.data(), o_.dimension);
    c.d_ = o_.dimension;
    c.metric_ = o_.metric;
    c.fn_ = o_.metric == metric_kind::l2 ? k_->l2sq_f32 : k_->dot_f32;
    c.many_ = o_.metric == metric_kind::l2 ? k_->l2sq_f32_many : k_->dot_f32_many;
    return c;
  }
  float symmetric_distance(const std::uint8_t* a, const std::uint8_t* b) const noexcept {
    const auto* x = reinterpret_cast<const float*>(a);
    const auto* y = reinterpret_cast<const float*>(b);
    switch (o_.metric) {
      case metric_kind::inner_product:
        return -k_->dot_f32(x, y, o_.dimension);
      case metric_kind::cosine:
        return 1.f - k_->dot_f32(x, y, o_.dimension);
      default:
        return k_->l2sq_f32(x, y, o_.dimension);
    }
  }

  void save(std::string& out) const {
    const std::size_t start =
        detail::begin_quantizer(out, detail::quantizer_kind::none, o_.metric, o_.dimension, 0);
    detail::finish_quantizer(out, start);
  }
  std::string save() const {
    std::string s;
    save(s);
    return s;
  }
  static no_quantizer load(std::string_view bytes, std::string_view source = "no_quantizer",
                           const simd::kernel_table& k = simd::best_kernels()) {
    const auto h = detail::read_quantizer(bytes, source, detail::quantizer_kind::none);
    if (!h.payload.empty()) {
      byte_reader(h.payload, source, h.payload_offset).fail("no_quantizer payload must be empty");
    }
    return no_quantizer(no_quantizer_options{.dimension = h.dimension, .metric = h.metric}, k);
  }

 private:
  no_quantizer_options o_;
  const simd::kernel_table* k_;
};

static_assert(quantizer<no_quantizer>);

}  // namespace vector
SOCHDB_END_NAMESPACE
