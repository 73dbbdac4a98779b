// Shared helpers of the vector index tests: an embedding-like data generator (clusters plus a
// low-dimensional latent spread, deterministic) and id-based recall against an oracle index.
#pragma once

#include <sochdb/vector.hpp>

#include <cmath>
#include <random>
#include <set>
#include <vector>

namespace vtest {

namespace vec = sochdb::vector;

inline std::vector<float> data(std::size_t n, std::size_t d, std::uint64_t seed) {
  std::mt19937_64 rng(99);
  std::normal_distribution<float> g(0.f, 1.f);
  const std::size_t clusters = 32, latent = 8;
  std::vector<float> centres(clusters * d), proj(latent * d);
  for (auto& x : centres) x = g(rng);
  for (auto& x : proj) x = g(rng) / std::sqrt(static_cast<float>(latent));
  rng.seed(seed);
  std::vector<float> out(n * d), z(latent);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = rng() % clusters;
    for (auto& x : z) x = g(rng);
    for (std::size_t j = 0; j < d; ++j) {
      float v = centres[c * d + j] + 0.05f * g(rng);
      for (std::size_t k = 0; k < latent; ++k) v += z[k] * proj[k * d + j];
      out[i * d + j] = v;
    }
  }
  return out;
}

inline std::vector<vec::label_t> labels(std::size_t n, vec::label_t first = 0) {
  std::vector<vec::label_t> l(n);
  for (std::size_t i = 0; i < n; ++i) l[i] = first + i;
  return l;
}

template <class Index, class Oracle, class Filter = vec::accept_all>
double recall(const Index& idx, const Oracle& oracle, const std::vector<float>& q, std::size_t nq,
              std::size_t d, std::size_t k, vec::search_params p = {}, Filter f = {}) {
  double r = 0;
  for (std::size_t i = 0; i < nq; ++i) {
    auto truth = oracle.search({q.data() + i * d, d}, k, {}, f);
    auto got = idx.search({q.data() + i * d, d}, k, p, f);
    std::set<vec::label_t> t;
    for (auto& x : truth) t.insert(x.label);
    std::size_t hit = 0;
    for (auto& x : got) hit += t.count(x.label);
    r += truth.empty() ? 1.0 : static_cast<double>(hit) / static_cast<double>(truth.size());
  }
  return r / static_cast<double>(nq);
}

}  // namespace vtest
