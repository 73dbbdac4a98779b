// The code of docs/vectors.md, compiled and run in CI.
#include <sochdb/core/memory_fs.hpp>
#include <sochdb/vector.hpp>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <span>
#include <vector>

static void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "vector_tour: failed: %s\n", what);
    std::exit(1);
  }
}

int main() {
  namespace vec = sochdb::vector;
  namespace simd = sochdb::simd;
  const std::size_t d = 32, n = 2000;  // small: this also runs under ASan in CI
  std::mt19937 rng(7);
  std::normal_distribution<float> g;
  std::vector<float> data(n * d);
  for (auto& x : data) x = g(rng);
  std::vector<vec::label_t> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = 1000 + i;  // the caller's 64-bit labels
  std::span<const float> query(data.data() + 42 * d, d);

  // [hnsw]
  vec::hnsw_index<> index({.dimension = d, .m = 16, .ef_construction = 200});
  index.add(data.data(), ids.data(), n);            // batch insert on every core
  auto hits = index.search(query, 10, {.ef = 64});  // per-query parameters
  std::printf("nearest: %llu, L2 distance %.3f\n", static_cast<unsigned long long>(hits[0].label),
              hits[0].score);  // .distance is internal (squared), .score what users see
  // [hnsw]
  expect(hits.size() == 10 && hits[0].label == 1042, "hnsw finds the query itself");

  // [filter]
  auto even = [](vec::label_t label) { return label % 2 == 0; };
  auto filtered = index.search(query, 10, {.ef = 64}, even);  // only even labels, k results
  // [filter]
  expect(filtered.size() == 10, "filtered search returns k");
  for (auto& h : filtered) expect(h.label % 2 == 0, "filter respected");

  // [writes]
  std::span<const float> other(data.data() + 7 * d, d);
  index.update(1042, other);  // a new vector for label 1042 (the old node becomes a tombstone)
  index.remove(1043);         // a tombstone: never returned, still navigated
  index.compact();            // repairs the lists, drops tombstones, returns their memory
  // [writes]
  expect(!index.contains(1043) && index.get(1042) == index.get(1007), "update / remove");
  expect(index.stats().deleted == 0, "compacted");

  // [quantized]
  vec::hnsw_index<simd::l2<>, vec::sq8> small({.dimension = d}, vec::sq8({.dimension = d}));
  small.add(data.data(), ids.data(), n);  // trains SQ8 on the batch; layer 0 holds 1-byte codes
  auto exact = small.search(query, 10, {.ef = 64, .rerank = 30});  // best 30 re-ranked exactly
  // [quantized]
  expect(exact[0].label == 1042, "sq8 finds the query");

  // [save]
  sochdb::memory_fs fs;  // sochdb::posix_fs for real files
  fs.create_directories("/db");
  index.save(fs, "/db/docs.hnsw");                                    // atomic replace
  auto loaded = vec::hnsw_index<>::load(fs, "/db/docs.hnsw");         // no rebuild
  auto mapped = vec::hnsw_index<>::open_mapped(fs, "/db/docs.hnsw");  // read-only, in place
  // [save]
  expect(loaded.search(query, 10) == index.search(query, 10), "load is identical");
  expect(mapped.search(query, 10) == index.search(query, 10), "mapped is identical");

  // [flat]
  vec::flat_index<simd::cosine> flat({.dimension = d});
  flat.add(data.data(), ids.data(), n);
  auto truth = flat.search(query, 10);  // exact: the recall oracle
  // [flat]
  expect(truth[0].label == 1042, "flat exact");

  // [io]
  std::string bytes = vec::encode_fvecs(data.data(), 3, d);  // TEXMEX .fvecs
  auto m = vec::parse_fvecs(bytes, "three.fvecs");
  auto gt = vec::ground_truth(data.data(), n, m.data.data(), m.rows, d, 10);  // exact ids
  // [io]
  expect(gt.row(0)[0] == 0 && m.rows == 3, "ground truth");
  return 0;
}
