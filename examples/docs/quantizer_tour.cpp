// The code of docs/quantizers.md, compiled and run in CI.
#include <sochdb/vector.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

static void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "quantizer_tour: failed: %s\n", what);
    std::exit(1);
  }
}

int main() {
  namespace vec = sochdb::vector;
  const std::size_t d = 64, n = 2000;
  std::mt19937 rng(7);
  std::normal_distribution<float> g;
  std::vector<float> data(n * d);
  for (auto& x : data) x = g(rng);

  // [sq8]
  vec::sq8 sq({.dimension = d, .metric = vec::metric_kind::l2});
  sq.train(data.data(), n);                             // per-dimension ranges from the data
  std::vector<std::uint8_t> codes(n * sq.code_size());  // d bytes per vector
  sq.encode(data.data(), n, codes.data());

  auto query = sq.query(data.data());  // per-query state; reuse it for every code
  float self = query(codes.data());    // squared L2 to vector 0's code: ~0
  std::vector<float> dist(n);
  query.many(codes.data(), n, dist.data());  // a SIMD scan over contiguous codes
  expect(self < 0.05f && std::fabs(dist[0] - self) < 1e-5f, "sq8 distances");
  // [sq8]

  // [pq]
  vec::pq pq({.dimension = d, .m = 16, .metric = vec::metric_kind::l2});  // 16 bytes per vector
  pq.train(data.data(), n);  // k-means, 256 centroids per subspace
  std::vector<std::uint8_t> pcodes(n * pq.code_size());
  pq.encode(data.data(), n, pcodes.data());
  auto pquery = pq.query(data.data() + d);     // builds the 16 x 256 distance table
  pquery.many(pcodes.data(), n, dist.data());  // table lookups
  // PQ distances are approximate: re-rank the best candidates with the full vectors.
  // [pq]

  // [save]
  std::string bytes = pq.save();  // versioned, checksummed
  vec::pq again = vec::pq::load(bytes, "collection/vectors.pq");
  expect(again.query(data.data() + d)(pcodes.data() + 5 * 16) == pquery(pcodes.data() + 5 * 16),
         "round trip");
  bytes[30] ^= 1;
  try {
    (void)vec::pq::load(bytes, "collection/vectors.pq");
    expect(false, "damage detected");
  } catch (const sochdb::corruption& e) {
    std::printf("%s\n",
                e.what());  // collection/vectors.pq: quantizer checksum mismatch at offset ...
  }
  // [save]
  std::printf("quantizer_tour: ok\n");
  return 0;
}
