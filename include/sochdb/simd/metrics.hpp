// sochdb/simd/metrics.hpp — the metric policies `l2`, `inner_product`, `cosine`, `hamming`.
//
// A metric object holds the kernel table chosen for the running CPU (simd/dispatch.hpp) and
// the pointer of its one-to-one kernel, both fixed at construction: copying a metric copies
// two pointers, and `distance()` is one indirect call. Metric objects are immutable and may be
// used from any number of threads.
//
// Distance convention (simd/concepts.hpp): `distance()` is internal (smaller is closer) —
// squared L2, -dot, 1 - cos, differing bits — and `to_score()` gives what users see — true L2,
// dot, 1 - cos, differing bits. Element types: float for all; int8_t / uint8_t for l2 and
// inner_product (exact int32 sums, d <= max_integer_dimension); hamming works on bytes (d is
// the number of bytes, 8 bits each).
//
// How an index calls a kernel (docs/simd.md): keep the metric by value in the index and call
// `metric.distance(a, b, d)` per graph hop, or hoist `metric.kernel()` (a plain function
// pointer) into a local before a hot loop; use `distance_gather` for a node's neighbour list
// (rows prefetched ahead), `distance_many` for a contiguous block, `distance_batch` for many
// queries against a block.
#pragma once

#include <sochdb/simd/concepts.hpp>
#include <sochdb/simd/dispatch.hpp>

#include <cmath>
#include <cstdint>
#include <string_view>
#include <type_traits>

SOCHDB_BEGIN_NAMESPACE
namespace simd {
namespace detail {

template <class T>
inline constexpr bool is_kernel_element =
    std::is_same_v<T, float> || std::is_same_v<T, std::int8_t> || std::is_same_v<T, std::uint8_t>;

template <class T>
using pair_kernel_t =
    std::conditional_t<std::is_same_v<T, float>,
                       float (*)(const float*, const float*, std::size_t) noexcept,
                       std::int32_t (*)(const T*, const T*, std::size_t) noexcept>;

}  // namespace detail

/// Squared Euclidean distance internally, Euclidean distance reported. The reference model of
/// `distance_metric`: each member below is a requirement of the concept unless marked extra.
template <class T = float>
class l2 {
  static_assert(detail::is_kernel_element<T>, "l2<T>: T must be float, int8_t or uint8_t");

 public:
  /// The element type of the vectors.
  using value_type = T;
  /// Extra: the one-to-one kernel's type (float result for float, exact int32 for 8-bit).
  using kernel_fn = detail::pair_kernel_t<T>;
  /// Which distance this is; stored in index files.
  static constexpr metric_kind kind = metric_kind::l2;

  /// Uses the best table for the running CPU (or for the compiler flags, header-only).
  l2() noexcept : l2(best_kernels()) {}
  /// Extra: uses a given table (tests, benchmarks, forcing an ISA).
  explicit l2(const kernel_table& k) noexcept : k_(&k), fn_(pick(k)) {}

  /// Internal distance of a and b, d elements each.
  float distance(const T* a, const T* b, std::size_t d) const noexcept {
    return static_cast<float>(fn_(a, b, d));
  }
  /// out[j] = distance(q, rows + j * stride, d) for j < n.
  void distance_many(const T* q, const T* rows, std::size_t n, std::size_t stride, std::size_t d,
                     float* out) const noexcept {
    if constexpr (std::is_same_v<T, float>) {
      k_->l2sq_f32_many(q, rows, n, stride, d, out);
    } else {
      for (std::size_t j = 0; j < n; ++j) out[j] = distance(q, rows + j * stride, d);
    }
  }
  /// out[j] = distance(q, rows[j], d) for j < n; rows are prefetched ahead.
  void distance_gather(const T* q, const T* const* rows, std::size_t n, std::size_t d,
                       float* out) const noexcept {
    if constexpr (std::is_same_v<T, float>) {
      k_->l2sq_f32_gather(q, rows, n, d, out);
    } else {
      for (std::size_t j = 0; j < n; ++j) out[j] = distance(q, rows[j], d);
    }
  }
  /// out[i * out_stride + j] = distance(queries + i * q_stride, rows + j * r_stride, d).
  void distance_batch(const T* queries, std::size_t nq, std::size_t q_stride, const T* rows,
                      std::size_t n, std::size_t r_stride, std::size_t d, float* out,
                      std::size_t out_stride) const noexcept {
    if constexpr (std::is_same_v<T, float>) {
      k_->l2sq_f32_batch(queries, nq, q_stride, rows, n, r_stride, d, out, out_stride);
    } else {
      for (std::size_t i = 0; i < nq; ++i)
        distance_many(queries + i * q_stride, rows, n, r_stride, d, out + i * out_stride);
    }
  }
  /// The user-facing value of an internal distance.
  static float to_score(float internal) noexcept { return std::sqrt(internal); }
  /// Extra: the internal distance of a user-facing value (range-search radii).
  static float to_internal(float score) noexcept { return score * score; }
  /// The ISA of the kernels in use ("avx512-vnni", "avx2", "scalar", ...).
  std::string_view isa_name() const noexcept { return simd::isa_name(k_->id); }
  /// Extra: the one-to-one kernel pointer, to hoist out of a hot loop.
  kernel_fn kernel() const noexcept { return fn_; }
  /// Extra: the whole table.
  const kernel_table& kernels() const noexcept { return *k_; }

 private:
  static kernel_fn pick(const kernel_table& k) noexcept {
    if constexpr (std::is_same_v<T, float>) {
      return k.l2sq_f32;
    } else if constexpr (std::is_same_v<T, std::int8_t>) {
      return k.l2sq_i8;
    } else {
      return k.l2sq_u8;
    }
  }
  const kernel_table* k_;
  kernel_fn fn_;
};

/// -dot internally (smaller is closer), the dot product reported. `kernel()` returns the dot
/// product itself (positive sense).
template <class T = float>
class inner_product {
  static_assert(detail::is_kernel_element<T>,
                "inner_product<T>: T must be float, int8_t or uint8_t");

 public:
  using value_type = T;
  using kernel_fn = detail::pair_kernel_t<T>;
  static constexpr metric_kind kind = metric_kind::inner_product;

  inner_product() noexcept : inner_product(best_kernels()) {}
  explicit inner_product(const kernel_table& k) noexcept : k_(&k), fn_(pick(k)) {}

  float distance(const T* a, const T* b, std::size_t d) const noexcept {
    return -static_cast<float>(fn_(a, b, d));
  }
  void distance_many(const T* q, const T* rows, std::size_t n, std::size_t stride, std::size_t d,
                     float* out) const noexcept {
    if constexpr (std::is_same_v<T, float>) {
      k_->dot_f32_many(q, rows, n, stride, d, out);
      negate(out, n);
    } else {
      for (std::size_t j = 0; j < n; ++j) out[j] = distance(q, rows + j * stride, d);
    }
  }
  void distance_gather(const T* q, const T* const* rows, std::size_t n, std::size_t d,
                       float* out) const noexcept {
    if constexpr (std::is_same_v<T, float>) {
      k_->dot_f32_gather(q, rows, n, d, out);
      negate(out, n);
    } else {
      for (std::size_t j = 0; j < n; ++j) out[j] = distance(q, rows[j], d);
    }
  }
  void distance_batch(const T* queries, std::size_t nq, std::size_t q_stride, const T* rows,
                      std::size_t n, std::size_t r_stride, std::size_t d, float* out,
                      std::size_t out_stride) const noexcept {
    if constexpr (std::is_same_v<T, float>) {
      k_->dot_f32_batch(queries, nq, q_stride, rows, n, r_stride, d, out, out_stride);
      for (std::size_t i = 0; i < nq; ++i) negate(out + i * out_stride, n);
    } else {
      for (std::size_t i = 0; i < nq; ++i)
        distance_many(queries + i * q_stride, rows, n, r_stride, d, out + i * out_stride);
    }
  }
  static float to_score(float internal) noexcept { return -internal; }
  static float to_internal(float score) noexcept { return -score; }
  std::string_view isa_name() const noexcept { return simd::isa_name(k_->id); }
  kernel_fn kernel() const noexcept { return fn_; }
  const kernel_table& kernels() const noexcept { return *k_; }

 private:
  static void negate(float* out, std::size_t n) noexcept {
    for (std::size_t j = 0; j < n; ++j) out[j] = -out[j];
  }
  static kernel_fn pick(const kernel_table& k) noexcept {
    if constexpr (std::is_same_v<T, float>) {
      return k.dot_f32;
    } else if constexpr (std::is_same_v<T, std::int8_t>) {
      return k.dot_i8;
    } else {
      return k.dot_u8;
    }
  }
  const kernel_table* k_;
  kernel_fn fn_;
};

/// Options of `cosine`.
struct cosine_options {
  /// Default false. True when every vector passed in has unit length (the index normalized
  /// them): the distance is then 1 - dot, one pass and no square roots.
  bool normalized = false;
};

/// Cosine distance 1 - cos(a, b), internally and reported; a zero vector has distance 1 to
/// everything. Float only.
class cosine {
 public:
  using value_type = float;
  using kernel_fn = float (*)(const float*, const float*, std::size_t) noexcept;
  static constexpr metric_kind kind = metric_kind::cosine;

  cosine() noexcept : cosine(best_kernels(), {}) {}
  explicit cosine(cosine_options o) noexcept : cosine(best_kernels(), o) {}
  explicit cosine(const kernel_table& k, cosine_options o = {}) noexcept
      : k_(&k), normalized_(o.normalized), fn_(o.normalized ? k.dot_f32 : k.cosine_f32) {}

  float distance(const float* a, const float* b, std::size_t d) const noexcept {
    return normalized_ ? 1.f - fn_(a, b, d) : fn_(a, b, d);
  }
  void distance_many(const float* q, const float* rows, std::size_t n, std::size_t stride,
                     std::size_t d, float* out) const noexcept {
    if (normalized_) {
      k_->dot_f32_many(q, rows, n, stride, d, out);
      one_minus(out, n);
    } else {
      k_->cosine_f32_many(q, rows, n, stride, d, out);
    }
  }
  void distance_gather(const float* q, const float* const* rows, std::size_t n, std::size_t d,
                       float* out) const noexcept {
    if (normalized_) {
      k_->dot_f32_gather(q, rows, n, d, out);
      one_minus(out, n);
    } else {
      for (std::size_t j = 0; j < n; ++j) out[j] = fn_(q, rows[j], d);
    }
  }
  void distance_batch(const float* queries, std::size_t nq, std::size_t q_stride, const float* rows,
                      std::size_t n, std::size_t r_stride, std::size_t d, float* out,
                      std::size_t out_stride) const noexcept {
    if (normalized_) {
      k_->dot_f32_batch(queries, nq, q_stride, rows, n, r_stride, d, out, out_stride);
      for (std::size_t i = 0; i < nq; ++i) one_minus(out + i * out_stride, n);
    } else {
      for (std::size_t i = 0; i < nq; ++i)
        k_->cosine_f32_many(queries + i * q_stride, rows, n, r_stride, d, out + i * out_stride);
    }
  }
  static float to_score(float internal) noexcept { return internal; }
  static float to_internal(float score) noexcept { return score; }
  std::string_view isa_name() const noexcept { return simd::isa_name(k_->id); }
  /// Extra: true when constructed with `normalized`; then `kernel()` is the dot product and
  /// the distance is 1 - kernel(a, b, d).
  bool normalized() const noexcept { return normalized_; }
  kernel_fn kernel() const noexcept { return fn_; }
  const kernel_table& kernels() const noexcept { return *k_; }

 private:
  static void one_minus(float* out, std::size_t n) noexcept {
    for (std::size_t j = 0; j < n; ++j) out[j] = 1.f - out[j];
  }
  const kernel_table* k_;
  bool normalized_;
  kernel_fn fn_;
};

/// Number of differing bits of two bit vectors of d bytes.
class hamming {
 public:
  using value_type = std::uint8_t;
  using kernel_fn = std::uint64_t (*)(const std::uint8_t*, const std::uint8_t*,
                                      std::size_t) noexcept;
  static constexpr metric_kind kind = metric_kind::hamming;

  hamming() noexcept : hamming(best_kernels()) {}
  explicit hamming(const kernel_table& k) noexcept : k_(&k), fn_(k.hamming) {}

  float distance(const std::uint8_t* a, const std::uint8_t* b, std::size_t d) const noexcept {
    return static_cast<float>(fn_(a, b, d));
  }
  void distance_many(const std::uint8_t* q, const std::uint8_t* rows, std::size_t n,
                     std::size_t stride, std::size_t d, float* out) const noexcept {
    k_->hamming_many(q, rows, n, stride, d, out);
  }
  void distance_gather(const std::uint8_t* q, const std::uint8_t* const* rows, std::size_t n,
                       std::size_t d, float* out) const noexcept {
    for (std::size_t j = 0; j < n; ++j) out[j] = distance(q, rows[j], d);
  }
  void distance_batch(const std::uint8_t* queries, std::size_t nq, std::size_t q_stride,
                      const std::uint8_t* rows, std::size_t n, std::size_t r_stride, std::size_t d,
                      float* out, std::size_t out_stride) const noexcept {
    for (std::size_t i = 0; i < nq; ++i)
      distance_many(queries + i * q_stride, rows, n, r_stride, d, out + i * out_stride);
  }
  static float to_score(float internal) noexcept { return internal; }
  static float to_internal(float score) noexcept { return score; }
  std::string_view isa_name() const noexcept { return simd::isa_name(k_->id); }
  kernel_fn kernel() const noexcept { return fn_; }
  const kernel_table& kernels() const noexcept { return *k_; }

 private:
  const kernel_table* k_;
  kernel_fn fn_;
};

static_assert(distance_metric<l2<>>);
static_assert(distance_metric<l2<std::int8_t>>);
static_assert(distance_metric<inner_product<>>);
static_assert(distance_metric<cosine>);
static_assert(distance_metric<hamming>);

}  // namespace simd
SOCHDB_END_NAMESPACE
