// The distance_metric contract, run over every model in the library plus a user-written one:
// the convention (internal distance: smaller is closer; to_score gives what users see), and
// the many / gather / batch forms agreeing with one-to-one calls.
#include <doctest/doctest.h>

#include <sochdb/simd.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_simd_metric_contract_test {

namespace simd = sochdb::simd;

namespace {

/// A user-written metric: Manhattan distance with plain loops. Anything satisfying
/// simd::distance_metric plugs into the indexes.
struct manhattan {
  using value_type = float;
  static constexpr simd::metric_kind kind = simd::metric_kind::custom;
  float distance(const float* a, const float* b, std::size_t d) const noexcept {
    float s = 0;
    for (std::size_t i = 0; i < d; ++i) s += std::fabs(a[i] - b[i]);
    return s;
  }
  void distance_many(const float* q, const float* rows, std::size_t n, std::size_t stride,
                     std::size_t d, float* out) const noexcept {
    for (std::size_t j = 0; j < n; ++j) out[j] = distance(q, rows + j * stride, d);
  }
  void distance_gather(const float* q, const float* const* rows, std::size_t n, std::size_t d,
                       float* out) const noexcept {
    for (std::size_t j = 0; j < n; ++j) out[j] = distance(q, rows[j], d);
  }
  void distance_batch(const float* qs, std::size_t nq, std::size_t qs_stride, const float* rows,
                      std::size_t n, std::size_t stride, std::size_t d, float* out,
                      std::size_t out_stride) const noexcept {
    for (std::size_t i = 0; i < nq; ++i)
      distance_many(qs + i * qs_stride, rows, n, stride, d, out + i * out_stride);
  }
  static float to_score(float x) noexcept { return x; }
  std::string_view isa_name() const noexcept { return "scalar"; }
};
static_assert(simd::distance_metric<manhattan>);

template <class T>
std::vector<T> random_values(std::mt19937_64& rng, std::size_t n) {
  std::vector<T> v(n);
  for (auto& x : v) {
    if constexpr (std::is_same_v<T, float>) {
      x = static_cast<float>(static_cast<double>(rng() % 20001) / 10000.0 - 1.0);
    } else {
      x = static_cast<T>(rng());
    }
  }
  return v;
}

}  // namespace

TEST_CASE_TEMPLATE("distance_metric contract", M, simd::l2<float>, simd::l2<std::int8_t>,
                   simd::l2<std::uint8_t>, simd::inner_product<float>,
                   simd::inner_product<std::int8_t>, simd::inner_product<std::uint8_t>,
                   simd::cosine, simd::hamming, manhattan) {
  using T = typename M::value_type;
  static_assert(simd::distance_metric<M>);
  const M m{};
  std::mt19937_64 rng(21);
  const std::size_t d = 77, n = 13, nq = 5;
  auto rows = random_values<T>(rng, n * d);
  auto qs = random_values<T>(rng, nq * d);

  SUBCASE("many, gather and batch equal one-to-one calls") {
    std::vector<float> out(n), outb(nq * n);
    std::vector<const T*> ptrs;
    for (std::size_t j = 0; j < n; ++j) ptrs.push_back(rows.data() + ((j * 7) % n) * d);
    m.distance_many(qs.data(), rows.data(), n, d, d, out.data());
    for (std::size_t j = 0; j < n; ++j) {
      float one = m.distance(qs.data(), rows.data() + j * d, d);
      CHECK(out[j] == doctest::Approx(one).epsilon(1e-5));
    }
    m.distance_gather(qs.data(), ptrs.data(), n, d, out.data());
    for (std::size_t j = 0; j < n; ++j)
      CHECK(out[j] == doctest::Approx(m.distance(qs.data(), ptrs[j], d)).epsilon(1e-5));
    m.distance_batch(qs.data(), nq, d, rows.data(), n, d, d, outb.data(), n);
    for (std::size_t i = 0; i < nq; ++i)
      for (std::size_t j = 0; j < n; ++j)
        CHECK(outb[i * n + j] ==
              doctest::Approx(m.distance(qs.data() + i * d, rows.data() + j * d, d)).epsilon(1e-5));
  }

  SUBCASE("the internal distance orders like the user-facing score") {
    // For l2, cosine, hamming and custom metrics the score grows with the internal distance;
    // for inner_product the score (the dot) shrinks as the internal distance (-dot) grows.
    const float a = m.distance(qs.data(), rows.data(), d);
    const float b = m.distance(qs.data(), rows.data() + d, d);
    if (a < b) {
      if (M::kind == simd::metric_kind::inner_product) {
        CHECK(M::to_score(a) > M::to_score(b));
      } else {
        CHECK(M::to_score(a) <= M::to_score(b));
      }
    }
  }

  SUBCASE("a vector is closest to itself (except under inner product)") {
    if constexpr (M::kind != simd::metric_kind::inner_product) {
      const float self = m.distance(qs.data(), qs.data(), d);
      for (std::size_t j = 0; j < n; ++j)
        CHECK(self <= m.distance(qs.data(), rows.data() + j * d, d) + 1e-6f);
    }
  }
}

TEST_CASE("the documented conventions hold on known vectors") {
  const float a[3] = {1, 2, 2}, b[3] = {4, 6, 2};
  simd::l2<> l2;
  CHECK(l2.distance(a, b, 3) == 25.f);  // squared internally
  CHECK(simd::l2<>::to_score(25.f) == 5.f);
  simd::inner_product<> ip;
  CHECK(ip.distance(a, b, 3) == -20.f);  // -dot internally
  CHECK(simd::inner_product<>::to_score(-20.f) == 20.f);
  simd::cosine cs;
  CHECK(cs.distance(a, a, 3) == doctest::Approx(0.0));
  const float na[3] = {1, 0, 0}, nb[3] = {0, 1, 0}, nc[3] = {-1, 0, 0}, zero[3] = {0, 0, 0};
  simd::cosine cn(simd::cosine_options{.normalized = true});
  CHECK(cn.distance(na, nb, 3) == 1.f);
  CHECK(cn.distance(na, nc, 3) == 2.f);
  CHECK(cs.distance(na, zero, 3) == 1.f);  // zero vector: similarity 0
  const std::uint8_t h1[2] = {0xff, 0x0f}, h2[2] = {0x00, 0x0e};
  simd::hamming hm;
  CHECK(hm.distance(h1, h2, 2) == 9.f);
  const std::int8_t i1[2] = {-128, 127}, i2[2] = {127, -128};
  simd::l2<std::int8_t> li;
  CHECK(li.distance(i1, i2, 2) == 2 * 255.f * 255.f);
}

}  // namespace test_simd_metric_contract_test
