// Quantizers: the contract over every model and metric (asymmetric and symmetric distances
// equal exact distances to the decoded vectors, bulk forms equal single calls, save/load
// round-trips, every damaged byte is rejected), SQ8's error bound, and SQ8 / PQ recall.
#include <doctest/doctest.h>

#include <sochdb/vector.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_vector_quantizer_test {

namespace vec = sochdb::vector;
namespace simd = sochdb::simd;
using simd::metric_kind;

namespace {

/// Vectors with the structure of real embeddings: a 24-dimensional latent Gaussian spread over
/// d dimensions by a fixed random projection, plus a little isotropic noise.
std::vector<float> embeddings(std::size_t n, std::size_t d, std::uint64_t seed) {
  std::mt19937_64 rng(1234);  // the projection is shared by every call
  std::normal_distribution<float> g(0.f, 1.f);
  const std::size_t latent = 24;
  std::vector<float> proj(latent * d);
  for (auto& x : proj) x = g(rng);
  rng.seed(seed);
  std::vector<float> out(n * d);
  std::vector<float> z(latent);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < latent; ++k) z[k] = g(rng) / std::sqrt(1.f + static_cast<float>(k));
    for (std::size_t j = 0; j < d; ++j) {
      float s = 0.1f * g(rng);
      for (std::size_t k = 0; k < latent; ++k) s += z[k] * proj[k * d + j];
      out[i * d + j] = s;
    }
  }
  return out;
}

double exact_distance(metric_kind m, const float* a, const float* b, std::size_t d) {
  double dot = 0, l2 = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < d; ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    l2 += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (m == metric_kind::l2) return l2;
  if (m == metric_kind::inner_product) return -dot;
  return 1.0 - dot / std::sqrt(na * nb);
}

template <class Q>
Q make(std::size_t d, metric_kind m);
template <>
vec::no_quantizer make<vec::no_quantizer>(std::size_t d, metric_kind m) {
  return vec::no_quantizer({.dimension = d, .metric = m});
}
template <>
vec::sq8 make<vec::sq8>(std::size_t d, metric_kind m) {
  return vec::sq8({.dimension = d, .metric = m});
}
template <>
vec::pq make<vec::pq>(std::size_t d, metric_kind m) {
  return vec::pq({.dimension = d, .m = d / 4, .metric = m, .iterations = 8});
}

/// Top-k row indices by ascending distance.
std::vector<std::size_t> top_k(const std::vector<float>& dist, std::size_t k) {
  std::vector<std::size_t> idx(dist.size());
  std::iota(idx.begin(), idx.end(), 0);
  k = std::min(k, idx.size());
  std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(),
                    [&](std::size_t a, std::size_t b) {
                      return dist[a] < dist[b] || (dist[a] == dist[b] && a < b);
                    });
  idx.resize(k);
  return idx;
}

struct recall_result {
  double plain = 0;     // recall@10 of the quantized distances alone
  double reranked = 0;  // recall@10 after re-ranking the quantized top `rerank` exactly
};

/// recall@10 of quantizer q over `base` for `queries` (L2 ground truth by brute force).
template <class Q>
recall_result recall_at_10(const Q& q, const std::vector<float>& base,
                           const std::vector<float>& queries, std::size_t d, std::size_t rerank) {
  const std::size_t n = base.size() / d, nq = queries.size() / d;
  std::vector<std::uint8_t> codes(n * q.code_size());
  q.encode(base.data(), n, codes.data());
  simd::l2<> exact;
  recall_result r;
  std::vector<float> approx(n), truth(n);
  for (std::size_t i = 0; i < nq; ++i) {
    const float* qv = queries.data() + i * d;
    exact.distance_many(qv, base.data(), n, d, d, truth.data());
    auto gt = top_k(truth, 10);
    auto c = q.query(qv);
    c.many(codes.data(), n, approx.data());
    auto cand = top_k(approx, rerank);
    auto plain = top_k(approx, 10);
    std::vector<float> re(cand.size());
    for (std::size_t j = 0; j < cand.size(); ++j) re[j] = truth[cand[j]];
    auto best = top_k(re, 10);
    for (std::size_t g : gt) {
      r.plain += std::count(plain.begin(), plain.end(), g) ? 1 : 0;
      for (std::size_t b : best) r.reranked += cand[b] == g ? 1 : 0;
    }
  }
  r.plain /= static_cast<double>(10 * nq);
  r.reranked /= static_cast<double>(10 * nq);
  return r;
}

}  // namespace

TEST_CASE_TEMPLATE("quantizer contract", Q, vec::no_quantizer, vec::sq8, vec::pq) {
  static_assert(vec::quantizer<Q>);
  const std::size_t d = 32, n = 600;
  const auto data = embeddings(n, d, 1);
  const auto queries = embeddings(5, d, 2);
  for (metric_kind m : {metric_kind::l2, metric_kind::inner_product, metric_kind::cosine}) {
    CAPTURE(simd::to_string(m));
    Q q = make<Q>(d, m);
    CHECK(q.dimension() == d);
    CHECK(q.metric() == m);
    q.train(data.data(), n);
    REQUIRE(q.is_trained());
    const std::size_t cs = q.code_size();
    std::vector<std::uint8_t> codes(n * cs), one(cs);
    q.encode(data.data(), n, codes.data());
    q.encode(data.data() + 7 * d, one.data());
    CHECK(std::equal(one.begin(), one.end(), codes.begin() + static_cast<std::ptrdiff_t>(7 * cs)));

    std::vector<float> decoded(n * d);
    for (std::size_t i = 0; i < n; ++i) q.decode(codes.data() + i * cs, decoded.data() + i * d);

    // Asymmetric distances are exact distances to the decoded vectors (for cosine both sides
    // are unit vectors, so 1 - dot).
    std::vector<float> out(n);
    std::vector<const std::uint8_t*> ptrs;
    for (std::size_t i = 0; i < n; ++i) ptrs.push_back(codes.data() + ((i * 13) % n) * cs);
    for (std::size_t k = 0; k < 5; ++k) {
      std::vector<float> qv(queries.begin() + static_cast<std::ptrdiff_t>(k * d),
                            queries.begin() + static_cast<std::ptrdiff_t>((k + 1) * d));
      if (m == metric_kind::cosine) vec::detail::normalize(qv.data(), d);
      auto c = q.query(queries.data() + k * d);
      c.many(codes.data(), n, out.data());
      std::size_t bad = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double want = m == metric_kind::cosine
                                ? 1.0 + exact_distance(metric_kind::inner_product, qv.data(),
                                                       decoded.data() + i * d, d)
                                : exact_distance(m, qv.data(), decoded.data() + i * d, d);
        const double tol = 1e-4 * (1.0 + std::fabs(want));
        if (std::fabs(c(codes.data() + i * cs) - want) > tol) ++bad;
        if (std::fabs(out[i] - c(codes.data() + i * cs)) > tol) ++bad;
      }
      CHECK(bad == 0);
      c.gather(ptrs.data(), n, out.data());
      for (std::size_t i = 0; i < n; ++i)
        CHECK(out[i] == doctest::Approx(c(ptrs[i])).epsilon(1e-6));
    }
    // Symmetric distances are exact distances between decoded vectors.
    for (std::size_t i = 0; i + 1 < 40; ++i) {
      const float* a = decoded.data() + i * d;
      const float* b = decoded.data() + (i + 1) * d;
      double want = m == metric_kind::cosine
                        ? 1.0 + exact_distance(metric_kind::inner_product, a, b, d)
                        : exact_distance(m, a, b, d);
      CHECK(q.symmetric_distance(codes.data() + i * cs, codes.data() + (i + 1) * cs) ==
            doctest::Approx(want).epsilon(1e-4).scale(1.0));
    }

    // Save / load: same bytes again, same codes, same distances.
    const std::string bytes = q.save();
    Q r = Q::load(bytes);
    CHECK(r.save() == bytes);
    CHECK(r.metric() == m);
    std::vector<std::uint8_t> codes2(n * cs);
    r.encode(data.data(), n, codes2.data());
    CHECK(codes2 == codes);
    CHECK(r.query(queries.data())(codes.data()) == q.query(queries.data())(codes.data()));

    // Damage: every truncation and (a sample of) single-bit flips are rejected as corruption.
    const std::size_t step = bytes.size() > 4096 ? 61 : 1;
    std::size_t rejected = 0, tried = 0;
    for (std::size_t len = 0; len < bytes.size(); len += (len < 64 ? 1 : step)) {
      ++tried;
      try {
        (void)Q::load(std::string_view(bytes).substr(0, len));
      } catch (const sochdb::corruption&) {
        ++rejected;
      }
    }
    for (std::size_t pos = 0; pos < bytes.size(); pos += (pos < 64 ? 1 : step)) {
      std::string bad = bytes;
      bad[pos] = static_cast<char>(bad[pos] ^ (1 << (pos % 8)));
      ++tried;
      try {
        (void)Q::load(bad);
      } catch (const sochdb::corruption&) {
        ++rejected;
      }
    }
    CHECK(rejected == tried);
  }
}

TEST_CASE("quantizer files name their problems") {
  vec::sq8 q({.dimension = 4});
  const float x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  q.train(x, 2);
  std::string bytes = q.save();
  // A newer format version (checksum fixed up) is `unsupported`, not corruption.
  std::string v2 = bytes;
  v2[4] = 2;
  v2.resize(v2.size() - 4);
  sochdb::put_fixed32(v2, sochdb::checksum32(v2));
  CHECK_THROWS_AS((void)vec::sq8::load(v2, "coll/vectors.sq8"), sochdb::unsupported);
  // The wrong quantizer kind is a usage error.
  CHECK_THROWS_AS((void)vec::pq::load(bytes), sochdb::invalid_argument);
  // Checksum failures name the source and the offset of the checksum.
  std::string bad = bytes;
  bad[20] ^= 1;
  try {
    (void)vec::sq8::load(bad, "coll/vectors.sq8");
    FAIL("no exception");
  } catch (const sochdb::corruption& e) {
    CHECK(std::string(e.what()) == "coll/vectors.sq8: quantizer checksum mismatch at offset " +
                                       std::to_string(bytes.size() - 4));
  }
  // Options are validated.
  CHECK_THROWS_AS(vec::sq8({.dimension = 0}), sochdb::invalid_argument);
  CHECK_THROWS_AS(vec::sq8({.dimension = 4, .metric = metric_kind::hamming}),
                  sochdb::invalid_argument);
  CHECK_THROWS_AS(vec::pq({.dimension = 10, .m = 3}), sochdb::invalid_argument);
  CHECK_THROWS_AS(vec::sq8({.dimension = 4, .clip = 0.5f}), sochdb::invalid_argument);
  vec::pq p({.dimension = 8, .m = 2});
  CHECK_THROWS_AS(p.train(x, 1), sochdb::invalid_argument);  // fewer than 256 rows
  vec::sq8 untrained({.dimension = 4});
  std::uint8_t code[4];
  CHECK_THROWS_AS(untrained.encode(x, code), sochdb::invalid_argument);
  CHECK_THROWS_AS((void)untrained.query(x), sochdb::invalid_argument);
}

TEST_CASE("sq8 decoding error is at most half a step per dimension") {
  const std::size_t d = 96, n = 2000;
  auto data = embeddings(n, d, 3);
  vec::sq8 q({.dimension = d});
  q.train(data.data(), n);
  std::vector<std::uint8_t> code(d);
  std::vector<float> dec(d);
  double max_rel = 0, sum_sq = 0, sum_ref = 0;
  for (std::size_t i = 0; i < n; ++i) {
    q.encode(data.data() + i * d, code.data());
    q.decode(code.data(), dec.data());
    for (std::size_t j = 0; j < d; ++j) {
      const double err = std::fabs(dec[j] - data[i * d + j]);
      REQUIRE(err <= q.scale()[j] * 0.5 * (1 + 1e-5) + 1e-6);
      max_rel = std::max(max_rel, err / q.scale()[j]);
      sum_sq += err * err;
      sum_ref += static_cast<double>(data[i * d + j]) * data[i * d + j];
    }
  }
  MESSAGE("sq8 d=96: max error " << max_rel << " steps; relative RMS error "
                                 << std::sqrt(sum_sq / sum_ref));
  // Out-of-range values clamp to the end codes.
  std::vector<float> big(d, 1e6f), small(d, -1e6f);
  q.encode(big.data(), code.data());
  CHECK(std::all_of(code.begin(), code.end(), [](std::uint8_t c) { return c == 255; }));
  q.encode(small.data(), code.data());
  CHECK(std::all_of(code.begin(), code.end(), [](std::uint8_t c) { return c == 0; }));
}

TEST_CASE("sq8 handles constant dimensions and clipping") {
  const std::size_t d = 8, n = 1000;
  auto data = embeddings(n, d, 4);
  for (std::size_t i = 0; i < n; ++i) data[i * d + 3] = 2.5f;  // constant dimension
  data[5 * d] = 1e4f;                                          // one outlier
  vec::sq8 q({.dimension = d, .clip = 0.01f});
  q.train(data.data(), n);
  CHECK(q.scale()[3] == 0.f);
  CHECK(q.lower()[3] == 2.5f);
  CHECK(q.lower()[0] + 255 * q.scale()[0] < 100.f);  // the outlier was clipped away
  std::vector<std::uint8_t> code(d);
  q.encode(data.data() + 7 * d, code.data());
  std::vector<float> qv(data.begin(), data.begin() + d);
  qv[3] = 4.5f;  // differs from the constant by 2: contributes 4 to the distance
  std::vector<float> dec(d);
  q.decode(code.data(), dec.data());
  CHECK(q.query(qv.data())(code.data()) ==
        doctest::Approx(exact_distance(metric_kind::l2, qv.data(), dec.data(), d)).epsilon(1e-4));
}

TEST_CASE("sq8 and pq recall on 128-d embeddings") {
  const std::size_t d = 128, n = 10000, nq = 50;
  const auto base = embeddings(n, d, 10);
  const auto queries = embeddings(nq, d, 11);

  vec::sq8 s({.dimension = d});
  s.train(base.data(), n);
  auto rs = recall_at_10(s, base, queries, d, 20);
  MESSAGE("sq8 (128 bytes): recall@10 " << rs.plain
                                        << ", after re-ranking the top 20: " << rs.reranked);
  CHECK(rs.plain >= 0.9);
  CHECK(rs.reranked >= 0.99);

  vec::pq p({.dimension = d, .m = 32, .iterations = 10, .max_train_rows = 5000});
  p.train(base.data(), n);
  auto rp = recall_at_10(p, base, queries, d, 100);
  MESSAGE("pq m=32 (32 bytes): recall@10 " << rp.plain
                                           << ", after re-ranking the top 100: " << rp.reranked);
  CHECK(rp.reranked >= 0.95);

  // PQ's reconstruction error, relative to the data's energy.
  std::vector<std::uint8_t> code(32);
  std::vector<float> dec(d);
  double err = 0, ref = 0;
  for (std::size_t i = 0; i < 1000; ++i) {
    p.encode(base.data() + i * d, code.data());
    p.decode(code.data(), dec.data());
    err += exact_distance(metric_kind::l2, base.data() + i * d, dec.data(), d);
    for (std::size_t j = 0; j < d; ++j)
      ref += static_cast<double>(base[i * d + j]) * base[i * d + j];
  }
  MESSAGE("pq m=32: relative squared reconstruction error " << err / ref);
  CHECK(err / ref < 0.1);
}

TEST_CASE("pq training is deterministic") {
  const std::size_t d = 16, n = 1000;
  auto data = embeddings(n, d, 5);
  vec::pq a({.dimension = d, .m = 4, .iterations = 5});
  vec::pq b({.dimension = d, .m = 4, .iterations = 5});
  a.train(data.data(), n);
  b.train(data.data(), n);
  CHECK(a.save() == b.save());
}

TEST_CASE("quantizers serve concurrent encoders and queries" * doctest::test_suite("concurrency")) {
  // Const members from many threads at once give the single-threaded results.
  const std::size_t d = 32, n = 600, threads = 4;
  const auto data = embeddings(n, d, 6);
  vec::sq8 s({.dimension = d});
  s.train(data.data(), n);
  vec::pq p({.dimension = d, .m = 8, .iterations = 4});
  p.train(data.data(), n);
  auto run = [&](const auto& q) {
    const std::size_t cs = q.code_size();
    std::vector<std::uint8_t> want(n * cs);
    q.encode(data.data(), n, want.data());
    std::vector<float> want_d(n);
    q.query(data.data()).many(want.data(), n, want_d.data());
    std::vector<int> ok(threads, 0);
    std::vector<std::thread> ts;
    for (std::size_t t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        std::vector<std::uint8_t> codes(n * cs);
        std::vector<float> dist(n);
        bool good = true;
        for (int rep = 0; rep < 5; ++rep) {
          q.encode(data.data(), n, codes.data());
          auto c = q.query(data.data());
          c.many(codes.data(), n, dist.data());
          good = good && codes == want && dist == want_d;
        }
        ok[t] = good ? 1 : 0;
      });
    }
    for (auto& t : ts) t.join();
    for (int v : ok) CHECK(v == 1);
  };
  run(s);
  run(p);
}

}  // namespace test_vector_quantizer_test
