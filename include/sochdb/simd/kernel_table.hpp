// sochdb/simd/kernel_table.hpp — one complete set of distance kernels for one instruction set.
//
// A `kernel_table` is a plain struct of function pointers, all compiled for the same `isa`.
// Tables are immutable objects with static storage duration (`scalar_kernels()`,
// `native_kernels()`, the per-ISA tables of the sochdb-dispatch library); metrics and
// quantizers copy the pointers they need at construction, so a hot loop calls a kernel through
// one indirect call (or the caller hoists the pointer itself, see docs/simd.md). Tables are
// safe to use from any number of threads.
//
// Conventions shared by every kernel:
//  * `d` is the number of elements (bytes for `hamming`); any d >= 0 is accepted, d = 0 gives 0.
//  * Pointers need no alignment. Rows of the `*_many` and `*_batch` forms are `stride`
//    elements apart (stride >= d); outputs never alias inputs.
//  * Kernels return raw quantities — squared L2, dot product, cosine *distance*, popcount —
//    and never negate: the sign conventions of the metrics live in simd/metrics.hpp.
//  * Float kernels may reorder the summation (several accumulators, lane-wise partial sums);
//    the error bound against exact arithmetic is documented in docs/simd.md and tested.
//  * Integer kernels accumulate in int32: exact as long as d <= 32768 (255 * 255 * 32768 <
//    2^31). Callers with longer integer vectors must split them.
#pragma once

#include <sochdb/simd/isa.hpp>

#include <cstddef>
#include <cstdint>

SOCHDB_BEGIN_NAMESPACE
namespace simd {

/// Largest d the int32-accumulating kernels are exact for.
inline constexpr std::size_t max_integer_dimension = 32768;

/// The kernels of one instruction set. Every field is non-null in every table.
struct kernel_table {
  isa id = isa::scalar;

  // ---- float32 ----
  /// sum (a[i] - b[i])^2
  float (*l2sq_f32)(const float* a, const float* b, std::size_t d) noexcept;
  /// sum a[i] * b[i]
  float (*dot_f32)(const float* a, const float* b, std::size_t d) noexcept;
  /// 1 - dot(a, b) / (|a| |b|); 1 when either vector is zero.
  float (*cosine_f32)(const float* a, const float* b, std::size_t d) noexcept;

  /// out[j] = l2sq(q, rows + j * stride) for j < n (a contiguous block, several rows a pass).
  void (*l2sq_f32_many)(const float* q, const float* rows, std::size_t n, std::size_t stride,
                        std::size_t d, float* out) noexcept;
  void (*dot_f32_many)(const float* q, const float* rows, std::size_t n, std::size_t stride,
                       std::size_t d, float* out) noexcept;
  void (*cosine_f32_many)(const float* q, const float* rows, std::size_t n, std::size_t stride,
                          std::size_t d, float* out) noexcept;

  /// out[j] = l2sq(q, rows[j]) for j < n: rows anywhere (graph neighbours), prefetched ahead.
  void (*l2sq_f32_gather)(const float* q, const float* const* rows, std::size_t n, std::size_t d,
                          float* out) noexcept;
  void (*dot_f32_gather)(const float* q, const float* const* rows, std::size_t n, std::size_t d,
                         float* out) noexcept;

  /// out[i * out_stride + j] = l2sq(queries + i * q_stride, rows + j * r_stride), i < nq, j < n:
  /// register-blocked over queries and rows, rows visited in cache-sized blocks.
  void (*l2sq_f32_batch)(const float* queries, std::size_t nq, std::size_t q_stride,
                         const float* rows, std::size_t n, std::size_t r_stride, std::size_t d,
                         float* out, std::size_t out_stride) noexcept;
  void (*dot_f32_batch)(const float* queries, std::size_t nq, std::size_t q_stride,
                        const float* rows, std::size_t n, std::size_t r_stride, std::size_t d,
                        float* out, std::size_t out_stride) noexcept;

  // ---- float16 storage (IEEE binary16 bits), float32 query ----
  float (*l2sq_f32_f16)(const float* q, const std::uint16_t* x, std::size_t d) noexcept;
  float (*dot_f32_f16)(const float* q, const std::uint16_t* x, std::size_t d) noexcept;

  // ---- 8-bit integers, exact int32 accumulation ----
  std::int32_t (*dot_i8)(const std::int8_t* a, const std::int8_t* b, std::size_t d) noexcept;
  std::int32_t (*l2sq_i8)(const std::int8_t* a, const std::int8_t* b, std::size_t d) noexcept;
  std::int32_t (*dot_u8)(const std::uint8_t* a, const std::uint8_t* b, std::size_t d) noexcept;
  std::int32_t (*l2sq_u8)(const std::uint8_t* a, const std::uint8_t* b, std::size_t d) noexcept;

  // ---- SQ8 (uint8 codes with per-dimension affine decoding; see vector/sq8.hpp) ----
  /// sum w[i] * (q[i] - c[i])^2 — asymmetric L2 with the query mapped to code space.
  float (*sq8_l2sq)(const float* q, const float* w, const std::uint8_t* c, std::size_t d) noexcept;
  /// sum q[i] * c[i] — asymmetric dot with the query pre-scaled.
  float (*sq8_dot)(const float* q, const std::uint8_t* c, std::size_t d) noexcept;
  /// Many-row forms of the two above over codes `stride` bytes apart.
  void (*sq8_l2sq_many)(const float* q, const float* w, const std::uint8_t* codes, std::size_t n,
                        std::size_t stride, std::size_t d, float* out) noexcept;
  void (*sq8_dot_many)(const float* q, const std::uint8_t* codes, std::size_t n, std::size_t stride,
                       std::size_t d, float* out) noexcept;
  /// sum w[i] * (a[i] - b[i])^2 and sum w[i] * a[i] * b[i] — symmetric code-vs-code.
  float (*sq8_l2sq_sym)(const float* w, const std::uint8_t* a, const std::uint8_t* b,
                        std::size_t d) noexcept;
  float (*sq8_dot_sym)(const float* w, const std::uint8_t* a, const std::uint8_t* b,
                       std::size_t d) noexcept;

  // ---- bit vectors ----
  /// Number of differing bits of two `nbytes`-byte strings.
  std::uint64_t (*hamming)(const std::uint8_t* a, const std::uint8_t* b,
                           std::size_t nbytes) noexcept;
  /// out[j] = hamming(q, rows + j * stride, nbytes) for j < n (exact as float up to 2^24 bits).
  void (*hamming_many)(const std::uint8_t* q, const std::uint8_t* rows, std::size_t n,
                       std::size_t stride, std::size_t nbytes, float* out) noexcept;

  // ---- PQ asymmetric distance (ADC) by table lookup ----
  /// sum over s < m of tables[s * 256 + code[s]] — one code.
  float (*pq_adc)(const float* tables, const std::uint8_t* code, std::size_t m) noexcept;
  /// out[j] = pq_adc(tables, codes + j * m, m) for j < n (codes contiguous).
  void (*pq_adc_many)(const float* tables, const std::uint8_t* codes, std::size_t n, std::size_t m,
                      float* out) noexcept;
};

}  // namespace simd
SOCHDB_END_NAMESPACE
