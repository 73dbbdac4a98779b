// sochdb/vector/detail/common.hpp — small pieces shared by the quantizers: option checks,
// training-sample selection, and unit-length normalization for cosine.
#pragma once

#include <sochdb/core/error.hpp>
#include <sochdb/simd/concepts.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace vector::detail {

/// Scales x (d floats) to unit length in place; a zero vector stays zero.
inline void normalize(float* x, std::size_t d) noexcept {
  double s = 0;
  for (std::size_t i = 0; i < d; ++i) s += static_cast<double>(x[i]) * x[i];
  if (s <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(s));
  for (std::size_t i = 0; i < d; ++i) x[i] *= inv;
}

/// x itself, or (for cosine) a unit-length copy in `buf`.
inline const float* prepare(const float* x, std::size_t d, simd::metric_kind m,
                            std::vector<float>& buf) {
  if (m != simd::metric_kind::cosine) return x;
  buf.assign(x, x + d);
  normalize(buf.data(), d);
  return buf.data();
}

/// SplitMix64: a small, fully specified generator, so training is identical on every
/// platform and standard library (std:: distributions are not).
struct splitmix64 {
  std::uint64_t state;
  std::uint64_t next() noexcept {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n).
  std::uint64_t below(std::uint64_t n) noexcept { return n == 0 ? 0 : next() % n; }
  /// Uniform in [0, 1).
  double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

/// The training rows: all of them, or `max_rows` chosen without replacement (seeded), copied
/// row-major and prepared for the metric (normalized for cosine).
inline std::vector<float> training_sample(const float* x, std::size_t n, std::size_t d,
                                          std::size_t max_rows, std::uint64_t seed,
                                          simd::metric_kind m) {
  std::vector<std::size_t> rows(n);
  for (std::size_t i = 0; i < n; ++i) rows[i] = i;
  if (max_rows != 0 && n > max_rows) {
    splitmix64 rng{seed};
    for (std::size_t i = 0; i < max_rows; ++i) std::swap(rows[i], rows[i + rng.below(n - i)]);
    rows.resize(max_rows);
  }
  std::vector<float> out(rows.size() * d);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::memcpy(out.data() + i * d, x + rows[i] * d, d * sizeof(float));
    if (m == simd::metric_kind::cosine) normalize(out.data() + i * d, d);
  }
  return out;
}

inline void check_dimension(std::size_t d, std::size_t max, const char* who) {
  if (d == 0 || d > max) {
    throw invalid_argument(std::string(who) + ": dimension must be in 1.." + std::to_string(max) +
                           ", got " + std::to_string(d));
  }
}

}  // namespace vector::detail
SOCHDB_END_NAMESPACE
