// sochdb/simd/concepts.hpp — the distance-metric policy concept.
//
// A metric tells an index how far apart two vectors are. Every index (flat, HNSW, Vamana) and
// every user-written metric follows one convention:
//
//  * `distance()` returns the *internal* distance: smaller is closer, and it is what indexes
//    compare and keep in heaps. l2: squared Euclidean distance. inner_product: -dot(a, b).
//    cosine: 1 - cos(a, b) (0 for equal directions, 2 for opposite). hamming: differing bits.
//  * `to_score()` turns an internal distance into what users see: l2 reports the true
//    Euclidean distance (sqrt), inner_product the dot product itself (larger is closer),
//    cosine and hamming their distance unchanged.
//
// The reference model is `l2<float>` in simd/metrics.hpp, whose comments document each
// requirement; tests/simd/metric_contract_test.cpp runs one contract test over every model,
// including a user-written one.
#pragma once

#include <sochdb/version.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>

SOCHDB_BEGIN_NAMESPACE
namespace simd {

/// Which distance a metric (or a quantizer) computes. The values are part of the quantizer and
/// index file formats (docs/formats/quantizers.md): do not change them.
enum class metric_kind : std::uint8_t {
  l2 = 0,             ///< squared Euclidean internally, Euclidean reported
  inner_product = 1,  ///< -dot internally, dot reported
  cosine = 2,         ///< 1 - cosine similarity, internally and reported
  hamming = 3,        ///< number of differing bits
  custom = 255,       ///< a user-written metric
};

constexpr std::string_view to_string(metric_kind k) noexcept {
  switch (k) {
    case metric_kind::l2:
      return "l2";
    case metric_kind::inner_product:
      return "inner_product";
    case metric_kind::cosine:
      return "cosine";
    case metric_kind::hamming:
      return "hamming";
    case metric_kind::custom:
      return "custom";
  }
  return "unknown";
}

/// The metric policy. See the reference model `l2<float>` for the meaning of each member.
template <class M>
concept distance_metric = std::copy_constructible<M> &&
    requires(const M& m, const typename M::value_type* v, const typename M::value_type* const* vs,
             std::size_t n, float* out, float x) {
  typename M::value_type;
  { M::kind } -> std::convertible_to<metric_kind>;
  { m.distance(v, v, n) }
  noexcept->std::same_as<float>;
  { m.distance_many(v, v, n, n, n, out) }
  noexcept;
  { m.distance_gather(v, vs, n, n, out) }
  noexcept;
  { m.distance_batch(v, n, n, v, n, n, n, out, n) }
  noexcept;
  { M::to_score(x) }
  noexcept->std::same_as<float>;
  { m.isa_name() }
  noexcept->std::convertible_to<std::string_view>;
};

}  // namespace simd
SOCHDB_END_NAMESPACE
