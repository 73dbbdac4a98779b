// sochdb/simd/scalar.hpp — the portable kernel table: plain C++ loops, every CPU.
//
// The scalar table is the fallback of runtime dispatch and the readable statement of what each
// kernel computes (the SIMD tables in simd/detail/kernels_impl.hpp compute the same sums in a
// different order). Float sums use four partial accumulators, like the vector kernels, so the
// error bound of docs/simd.md holds for every table. Thread-safe: the table is immutable.
#pragma once

#include <sochdb/simd/float16.hpp>
#include <sochdb/simd/kernel_table.hpp>

#include <bit>
#include <cmath>
#include <cstring>

SOCHDB_BEGIN_NAMESPACE
namespace simd {
namespace detail::scalar {

template <class Term>
inline float sum4(std::size_t d, Term term) noexcept {
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  std::size_t i = 0;
  for (; i + 4 <= d; i += 4) {
    s0 += term(i);
    s1 += term(i + 1);
    s2 += term(i + 2);
    s3 += term(i + 3);
  }
  for (; i < d; ++i) s0 += term(i);
  return (s0 + s1) + (s2 + s3);
}

inline float l2sq_f32(const float* a, const float* b, std::size_t d) noexcept {
  return sum4(d, [&](std::size_t i) {
    float t = a[i] - b[i];
    return t * t;
  });
}
inline float dot_f32(const float* a, const float* b, std::size_t d) noexcept {
  return sum4(d, [&](std::size_t i) { return a[i] * b[i]; });
}
inline float cosine_from_parts(float dot, float na, float nb) noexcept {
  if (na <= 0.f || nb <= 0.f) return 1.f;
  // Computed in double: na * nb can overflow float for long vectors of large values.
  return static_cast<float>(1.0 - static_cast<double>(dot) /
                                      std::sqrt(static_cast<double>(na) * static_cast<double>(nb)));
}
inline float cosine_f32(const float* a, const float* b, std::size_t d) noexcept {
  return cosine_from_parts(dot_f32(a, b, d), dot_f32(a, a, d), dot_f32(b, b, d));
}
inline void l2sq_f32_many(const float* q, const float* rows, std::size_t n, std::size_t stride,
                          std::size_t d, float* out) noexcept {
  for (std::size_t j = 0; j < n; ++j) out[j] = l2sq_f32(q, rows + j * stride, d);
}
inline void dot_f32_many(const float* q, const float* rows, std::size_t n, std::size_t stride,
                         std::size_t d, float* out) noexcept {
  for (std::size_t j = 0; j < n; ++j) out[j] = dot_f32(q, rows + j * stride, d);
}
inline void cosine_f32_many(const float* q, const float* rows, std::size_t n, std::size_t stride,
                            std::size_t d, float* out) noexcept {
  const float nq = dot_f32(q, q, d);
  for (std::size_t j = 0; j < n; ++j) {
    const float* r = rows + j * stride;
    out[j] = cosine_from_parts(dot_f32(q, r, d), nq, dot_f32(r, r, d));
  }
}
inline void l2sq_f32_gather(const float* q, const float* const* rows, std::size_t n, std::size_t d,
                            float* out) noexcept {
  for (std::size_t j = 0; j < n; ++j) out[j] = l2sq_f32(q, rows[j], d);
}
inline void dot_f32_gather(const float* q, const float* const* rows, std::size_t n, std::size_t d,
                           float* out) noexcept {
  for (std::size_t j = 0; j < n; ++j) out[j] = dot_f32(q, rows[j], d);
}
inline void l2sq_f32_batch(const float* qs, std::size_t nq, std::size_t qstride, const float* rows,
                           std::size_t n, std::size_t rstride, std::size_t d, float* out,
                           std::size_t ostride) noexcept {
  for (std::size_t i = 0; i < nq; ++i)
    l2sq_f32_many(qs + i * qstride, rows, n, rstride, d, out + i * ostride);
}
inline void dot_f32_batch(const float* qs, std::size_t nq, std::size_t qstride, const float* rows,
                          std::size_t n, std::size_t rstride, std::size_t d, float* out,
                          std::size_t ostride) noexcept {
  for (std::size_t i = 0; i < nq; ++i)
    dot_f32_many(qs + i * qstride, rows, n, rstride, d, out + i * ostride);
}
inline float l2sq_f32_f16(const float* q, const std::uint16_t* x, std::size_t d) noexcept {
  return sum4(d, [&](std::size_t i) {
    float t = q[i] - half_to_float(x[i]);
    return t * t;
  });
}
inline float dot_f32_f16(const float* q, const std::uint16_t* x, std::size_t d) noexcept {
  return sum4(d, [&](std::size_t i) { return q[i] * half_to_float(x[i]); });
}

template <class T>
inline std::int32_t dot_int(const T* a, const T* b, std::size_t d) noexcept {
  std::int32_t s = 0;
  for (std::size_t i = 0; i < d; ++i) s += std::int32_t{a[i]} * std::int32_t{b[i]};
  return s;
}
template <class T>
inline std::int32_t l2sq_int(const T* a, const T* b, std::size_t d) noexcept {
  std::int32_t s = 0;
  for (std::size_t i = 0; i < d; ++i) {
    std::int32_t t = std::int32_t{a[i]} - std::int32_t{b[i]};
    s += t * t;
  }
  return s;
}
inline std::int32_t dot_i8(const std::int8_t* a, const std::int8_t* b, std::size_t d) noexcept {
  return dot_int(a, b, d);
}
inline std::int32_t l2sq_i8(const std::int8_t* a, const std::int8_t* b, std::size_t d) noexcept {
  return l2sq_int(a, b, d);
}
inline std::int32_t dot_u8(const std::uint8_t* a, const std::uint8_t* b, std::size_t d) noexcept {
  return dot_int(a, b, d);
}
inline std::int32_t l2sq_u8(const std::uint8_t* a, const std::uint8_t* b, std::size_t d) noexcept {
  return l2sq_int(a, b, d);
}

inline float sq8_l2sq(const float* q, const float* w, const std::uint8_t* c,
                      std::size_t d) noexcept {
  return sum4(d, [&](std::size_t i) {
    float t = q[i] - static_cast<float>(c[i]);
    return w[i] * t * t;
  });
}
inline float sq8_dot(const float* q, const std::uint8_t* c, std::size_t d) noexcept {
  return sum4(d, [&](std::size_t i) { return q[i] * static_cast<float>(c[i]); });
}
inline void sq8_l2sq_many(const float* q, const float* w, const std::uint8_t* codes, std::size_t n,
                          std::size_t stride, std::size_t d, float* out) noexcept {
  for (std::size_t j = 0; j < n; ++j) out[j] = sq8_l2sq(q, w, codes + j * stride, d);
}
inline void sq8_dot_many(const float* q, const std::uint8_t* codes, std::size_t n,
                         std::size_t stride, std::size_t d, float* out) noexcept {
  for (std::size_t j = 0; j < n; ++j) out[j] = sq8_dot(q, codes + j * stride, d);
}
inline float sq8_l2sq_sym(const float* w, const std::uint8_t* a, const std::uint8_t* b,
                          std::size_t d) noexcept {
  return sum4(d, [&](std::size_t i) {
    float t = static_cast<float>(a[i]) - static_cast<float>(b[i]);
    return w[i] * t * t;
  });
}
inline float sq8_dot_sym(const float* w, const std::uint8_t* a, const std::uint8_t* b,
                         std::size_t d) noexcept {
  return sum4(
      d, [&](std::size_t i) { return w[i] * static_cast<float>(a[i]) * static_cast<float>(b[i]); });
}

inline std::uint64_t hamming(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) noexcept {
  std::uint64_t s = 0;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t x, y;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    s += static_cast<std::uint64_t>(std::popcount(x ^ y));
  }
  for (; i < n; ++i)
    s += static_cast<std::uint64_t>(std::popcount(static_cast<unsigned>(a[i] ^ b[i])));
  return s;
}

inline void hamming_many(const std::uint8_t* q, const std::uint8_t* rows, std::size_t n,
                         std::size_t stride, std::size_t nbytes, float* out) noexcept {
  for (std::size_t j = 0; j < n; ++j)
    out[j] = static_cast<float>(hamming(q, rows + j * stride, nbytes));
}

inline float pq_adc(const float* tables, const std::uint8_t* code, std::size_t m) noexcept {
  return sum4(m, [&](std::size_t s) { return tables[s * 256 + code[s]]; });
}
inline void pq_adc_many(const float* tables, const std::uint8_t* codes, std::size_t n,
                        std::size_t m, float* out) noexcept {
  for (std::size_t j = 0; j < n; ++j) out[j] = pq_adc(tables, codes + j * m, m);
}

}  // namespace detail::scalar

/// The portable table (isa::scalar).
inline const kernel_table& scalar_kernels() noexcept {
  namespace k = detail::scalar;
  static constexpr kernel_table table{
      .id = isa::scalar,
      .l2sq_f32 = k::l2sq_f32,
      .dot_f32 = k::dot_f32,
      .cosine_f32 = k::cosine_f32,
      .l2sq_f32_many = k::l2sq_f32_many,
      .dot_f32_many = k::dot_f32_many,
      .cosine_f32_many = k::cosine_f32_many,
      .l2sq_f32_gather = k::l2sq_f32_gather,
      .dot_f32_gather = k::dot_f32_gather,
      .l2sq_f32_batch = k::l2sq_f32_batch,
      .dot_f32_batch = k::dot_f32_batch,
      .l2sq_f32_f16 = k::l2sq_f32_f16,
      .dot_f32_f16 = k::dot_f32_f16,
      .dot_i8 = k::dot_i8,
      .l2sq_i8 = k::l2sq_i8,
      .dot_u8 = k::dot_u8,
      .l2sq_u8 = k::l2sq_u8,
      .sq8_l2sq = k::sq8_l2sq,
      .sq8_dot = k::sq8_dot,
      .sq8_l2sq_many = k::sq8_l2sq_many,
      .sq8_dot_many = k::sq8_dot_many,
      .sq8_l2sq_sym = k::sq8_l2sq_sym,
      .sq8_dot_sym = k::sq8_dot_sym,
      .hamming = k::hamming,
      .hamming_many = k::hamming_many,
      .pq_adc = k::pq_adc,
      .pq_adc_many = k::pq_adc_many,
  };
  return table;
}

}  // namespace simd
SOCHDB_END_NAMESPACE
