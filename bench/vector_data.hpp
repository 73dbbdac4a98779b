// Data sets of vector_bench: the clustered synthetic generator (fixed seed) and the
// Fashion-MNIST loader (Debian's dataset-fashion-mnist, gzip-compressed IDX files, read the
// ann-benchmarks way: the 60,000 training images as the base, the first 1,000 test images as
// queries, pixels as float32).
#pragma once

#include <sochdb/vector/io.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#if SOCHDB_BENCH_ZLIB
#include <zlib.h>
#endif

namespace sochdb_bench {

/// Clustered vectors with the structure of embeddings: `clusters` centres drawn N(0, 1) per
/// dimension; a point is its centre plus a 32-dimensional latent Gaussian spread over the d
/// dimensions by one fixed random projection (scaled per cluster), plus isotropic noise.
/// The same seed gives the same base; queries use another seed from the same distribution.
inline std::vector<float> clustered(std::size_t n, std::size_t d, std::uint64_t seed,
                                    std::size_t clusters = 1000) {
  std::mt19937_64 rng(0x5eed1234);  // centres and projection: shared by base and queries
  std::normal_distribution<float> g(0.f, 1.f);
  std::uniform_real_distribution<float> u(0.5f, 1.5f);
  const std::size_t latent = 32;
  std::vector<float> centres(clusters * d), proj(latent * d), scale(clusters);
  for (auto& x : centres) x = g(rng);
  for (auto& x : proj) x = g(rng) / std::sqrt(static_cast<float>(latent));
  for (auto& s : scale) s = u(rng);
  rng.seed(seed);
  std::uniform_int_distribution<std::size_t> pick(0, clusters - 1);
  std::vector<float> out(n * d), z(latent);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = pick(rng);
    for (auto& x : z) x = g(rng) * scale[c];
    float* o = out.data() + i * d;
    for (std::size_t j = 0; j < d; ++j) o[j] = centres[c * d + j] + 0.1f * g(rng);
    for (std::size_t k = 0; k < latent; ++k)
      for (std::size_t j = 0; j < d; ++j) o[j] += z[k] * proj[k * d + j];
  }
  return out;
}

#if SOCHDB_BENCH_ZLIB
inline std::string gunzip_file(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path);
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  gzclose(f);
  if (n < 0) throw std::runtime_error("gzip error in " + path);
  return out;
}

/// Fashion-MNIST the ann-benchmarks way.
inline void load_fmnist(const std::string& dir, sochdb::vector::matrix<float>& base,
                        sochdb::vector::matrix<float>& queries, std::size_t nq = 1000) {
  base =
      sochdb::vector::parse_idx(gunzip_file(dir + "/train-images-idx3-ubyte.gz"), "train-images");
  queries =
      sochdb::vector::parse_idx(gunzip_file(dir + "/t10k-images-idx3-ubyte.gz"), "t10k-images", nq);
}
#endif

}  // namespace sochdb_bench
