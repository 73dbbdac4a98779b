// Vector indexes: flat_index is exact; hnsw_index (float, SQ8, PQ) reaches its recall on
// structured data for every metric, keeps recall under selective filters, after deletes +
// compaction + re-insertion and updates; save -> load -> open_mapped give identical results;
// every damaged or truncated index file is rejected with an error; concurrent insert + search
// stay correct (suite "concurrency", run under TSan). TEXMEX / IDX I/O round trips.
#include <doctest/doctest.h>

#include <sochdb/core/memory_fs.hpp>
#include <sochdb/vector.hpp>

#include "vector_test_util.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_vector_index_test {

namespace vec = sochdb::vector;
namespace simd = sochdb::simd;

namespace {

using vtest::data;
using vtest::recall;

std::vector<vec::label_t> iota_labels(std::size_t n, vec::label_t first = 0) {
  return vtest::labels(n, first);
}

double exact(simd::metric_kind m, const float* a, const float* b, std::size_t d) {
  double dot = 0, l2 = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < d; ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    l2 += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (m == simd::metric_kind::l2) return l2;
  if (m == simd::metric_kind::inner_product) return -dot;
  return 1.0 - dot / std::sqrt(na * nb);
}

constexpr std::size_t d = 24, n = 3000, nq = 50;

}  // namespace

TEST_CASE_TEMPLATE("flat_index is exact", Metric, simd::l2<>, simd::inner_product<>, simd::cosine) {
  const auto x = data(n, d, 1), q = data(nq, d, 2);
  vec::flat_index<Metric> flat({.dimension = d});
  const auto labels = iota_labels(n, 1000);
  flat.add(x.data(), labels.data(), n);
  CHECK(flat.size() == n);
  for (std::size_t i = 0; i < nq; ++i) {
    const float* qi = q.data() + i * d;
    auto res = flat.search({qi, d}, 10);
    REQUIRE(res.size() == 10);
    std::vector<std::pair<double, vec::label_t>> all;
    for (std::size_t j = 0; j < n; ++j)
      all.push_back({exact(Metric::kind, qi, x.data() + j * d, d), 1000 + j});
    std::sort(all.begin(), all.end());
    for (std::size_t j = 0; j < 10; ++j) {
      CHECK(std::abs(res[j].distance - all[j].first) <= 1e-3 * (1 + std::abs(all[j].first)));
      CHECK(res[j].score == doctest::Approx(Metric::to_score(res[j].distance)));
    }
    // Labels agree except where distances tie to float precision.
    CHECK(res[0].label == all[0].second);
  }
  // Batch search equals one-by-one search.
  auto batch = flat.search_batch(q.data(), nq, 10, 2);
  for (std::size_t i = 0; i < nq; ++i) {
    auto one = flat.search({q.data() + i * d, d}, 10);
    for (std::size_t j = 0; j < 10; ++j) CHECK(batch[i][j].label == one[j].label);
  }
}

TEST_CASE("flat_index: add, update, remove, filter, save and load") {
  const auto x = data(500, d, 3);
  vec::flat_index<> flat({.dimension = d});
  const auto labels = iota_labels(500);
  flat.add(x.data(), labels.data(), 500);
  CHECK_THROWS_AS(flat.add(7, {x.data(), d}), sochdb::already_exists);
  CHECK_THROWS_AS(flat.add(9999, {x.data(), d - 1}), sochdb::dimension_mismatch);
  CHECK(flat.search({x.data() + 7 * d, d}, 1)[0].label == 7);
  flat.update(7, {x.data() + 8 * d, d});
  CHECK(flat.get(7) == flat.get(8));
  CHECK(flat.remove(8));
  CHECK_FALSE(flat.remove(8));
  CHECK_FALSE(flat.contains(8));
  CHECK_THROWS_AS((void)flat.get(8), sochdb::not_found);
  CHECK(flat.size() == 499);
  auto odd = [](vec::label_t l) { return l % 2 == 1; };
  for (auto& r : flat.search({x.data(), d}, 20, {}, odd)) CHECK(r.label % 2 == 1);
  sochdb::memory_fs fs;
  fs.create_directories("/db");
  flat.save(fs, "/db/flat.idx");
  auto back = vec::flat_index<>::load(fs, "/db/flat.idx");
  CHECK(back.size() == 499);
  for (std::size_t i = 0; i < 20; ++i)
    CHECK(back.search({x.data() + i * d, d}, 5) == flat.search({x.data() + i * d, d}, 5));
  CHECK_THROWS_AS(vec::flat_index<simd::inner_product<>>::load(fs, "/db/flat.idx"),
                  sochdb::invalid_argument);
  CHECK_THROWS_AS(vec::hnsw_index<>::load(fs, "/db/flat.idx"), sochdb::invalid_argument);
}

TEST_CASE_TEMPLATE("hnsw_index recall on every metric", Metric, simd::l2<>, simd::inner_product<>,
                   simd::cosine) {
  const auto x = data(n, d, 1), q = data(nq, d, 2);
  const auto labels = iota_labels(n);
  vec::flat_index<Metric> flat({.dimension = d});
  flat.add(x.data(), labels.data(), n);
  vec::hnsw_index<Metric> h({.dimension = d, .m = 12, .ef_construction = 100});
  h.add(x.data(), labels.data(), n, 2);
  CHECK(h.size() == n);
  const double r = recall(h, flat, q, nq, d, 10, {.ef = 64});
  MESSAGE("recall@10 ef 64: " << r);
  CHECK(r >= 0.95);
  // Larger ef never hurts much, and per-query ef needs no shared state.
  CHECK(recall(h, flat, q, nq, d, 10, {.ef = 200}) >= r - 0.01);
  // Distances are exact for the float index.
  auto res = h.search({q.data(), d}, 5);
  for (auto& e : res) {
    auto v = h.get(e.label);
    CHECK(e.distance == doctest::Approx(flat.search({q.data(), d}, n, {},
                                                    [&](vec::label_t l) { return l == e.label; })[0]
                                            .distance)
                            .epsilon(1e-4));
    (void)v;
  }
}

TEST_CASE_TEMPLATE("quantized hnsw_index re-ranks to high recall", Q, vec::sq8, vec::pq) {
  const auto x = data(n, d, 1), q = data(nq, d, 2);
  const auto labels = iota_labels(n);
  vec::flat_index<> flat({.dimension = d});
  flat.add(x.data(), labels.data(), n);
  Q quant = [] {
    if constexpr (std::is_same_v<Q, vec::pq>) {
      return vec::pq({.dimension = d, .m = 12, .iterations = 8});
    } else {
      return vec::sq8({.dimension = d});
    }
  }();
  vec::hnsw_index<simd::l2<>, Q> h({.dimension = d, .m = 12, .ef_construction = 100}, quant);
  CHECK_THROWS_AS(h.add(1, {x.data(), d}), sochdb::invalid_argument);  // untrained
  h.add(x.data(), labels.data(), n, 2);                                // trains on the batch
  CHECK(h.is_trained());
  const double r = recall(h, flat, q, nq, d, 10, {.ef = 96, .rerank = 96});
  MESSAGE("recall@10 ef 96 with re-ranking: " << r);
  CHECK(r >= (std::is_same_v<Q, vec::pq> ? 0.85 : 0.95));
  // Re-ranked distances are exact.
  auto res = h.search({q.data(), d}, 3, {.ef = 64});
  for (auto& e : res) {
    auto v = h.get(e.label);
    CHECK(e.distance ==
          doctest::Approx(exact(simd::metric_kind::l2, q.data(), v.data(), d)).epsilon(1e-3));
  }
  sochdb::memory_fs fs;
  fs.create_directories("/db");
  h.save(fs, "/db/q.idx");
  auto back = vec::hnsw_index<simd::l2<>, Q>::load(fs, "/db/q.idx");
  for (std::size_t i = 0; i < 10; ++i)
    CHECK(back.search({q.data() + i * d, d}, 10) == h.search({q.data() + i * d, d}, 10));
}

TEST_CASE("hnsw_index filtered search keeps recall at 10% and 1% selectivity") {
  const std::size_t nn = 6000;
  const auto x = data(nn, d, 5), q = data(nq, d, 6);
  const auto labels = iota_labels(nn);
  vec::flat_index<> flat({.dimension = d});
  flat.add(x.data(), labels.data(), nn);
  vec::hnsw_index<> h({.dimension = d, .m = 12, .ef_construction = 100});
  h.add(x.data(), labels.data(), nn, 2);
  std::vector<std::uint16_t> attr(nn);
  std::mt19937 rng(3);
  for (auto& a : attr) a = static_cast<std::uint16_t>(rng() % 1000);
  for (unsigned per_mille : {100u, 10u}) {
    auto f = [&](vec::label_t l) { return attr[l] < per_mille; };
    const double r = recall(h, flat, q, nq, d, 10, {.ef = 64}, f);
    MESSAGE("selectivity " << per_mille / 1000.0 << ": recall@10 " << r);
    CHECK(r >= 0.95);
    for (auto& e : h.search({q.data(), d}, 10, {.ef = 64}, f)) CHECK(f(e.label));
    // Forcing the graph walk (no exact-scan fallback) still respects the filter.
    for (auto& e : h.search({q.data(), d}, 10, {.ef = 64, .brute_force_below = 1}, f))
      CHECK(f(e.label));
  }
  // A filter nothing passes.
  CHECK(h.search({q.data(), d}, 10, {}, [](vec::label_t) { return false; }).empty());
}

TEST_CASE("hnsw_index delete 20%, compact, re-insert: recall and memory") {
  const std::size_t nn = 5000;
  const auto x = data(nn, d, 7), q = data(nq, d, 8);
  const auto labels = iota_labels(nn);
  vec::flat_index<> flat({.dimension = d});
  flat.add(x.data(), labels.data(), nn);
  vec::hnsw_index<> fresh({.dimension = d, .m = 12, .ef_construction = 100});
  fresh.add(x.data(), labels.data(), nn, 2);
  const double r_fresh = recall(fresh, flat, q, nq, d, 10, {.ef = 48});
  const std::size_t mem_fresh = fresh.stats().memory_bytes;

  vec::hnsw_index<> h({.dimension = d, .m = 12, .ef_construction = 100});
  h.add(x.data(), labels.data(), nn, 2);
  std::vector<vec::label_t> victims;
  for (std::size_t i = 0; i < nn; i += 5) victims.push_back(i);
  for (auto l : victims) CHECK(h.remove(l));
  CHECK(h.size() == nn - victims.size());
  CHECK(h.stats().deleted == victims.size());
  // Tombstones are never returned, before and after compaction.
  auto not_victim = [](vec::label_t l) { return l % 5 != 0; };
  for (std::size_t i = 0; i < nq; ++i)
    for (auto& e : h.search({q.data() + i * d, d}, 10)) CHECK(not_victim(e.label));
  CHECK(recall(h, flat, q, nq, d, 10, {.ef = 48}, not_victim) >= 0.9);
  const std::size_t mem_before = h.stats().memory_bytes;
  h.compact(2);
  CHECK(h.stats().deleted == 0);
  const std::size_t mem_after = h.stats().memory_bytes;
  MESSAGE("memory fresh " << mem_fresh << ", with tombstones " << mem_before << ", compacted "
                          << mem_after);
  CHECK(mem_after < mem_before * 0.85);
  CHECK(recall(h, flat, q, nq, d, 10, {.ef = 48}, not_victim) >= 0.9);
  std::vector<float> again;
  for (auto l : victims) again.insert(again.end(), x.begin() + l * d, x.begin() + (l + 1) * d);
  h.add(again.data(), victims.data(), victims.size(), 2);
  CHECK(h.size() == nn);
  const double r_again = recall(h, flat, q, nq, d, 10, {.ef = 48});
  MESSAGE("recall fresh " << r_fresh << ", after delete + compact + re-insert " << r_again);
  CHECK(r_again >= r_fresh - 0.01);
  CHECK(h.stats().memory_bytes <= mem_fresh * 1.3);
}

TEST_CASE("hnsw_index update, duplicates and errors") {
  const auto x = data(300, d, 9);
  vec::hnsw_index<> h({.dimension = d});
  const auto labels = iota_labels(300);
  h.add(x.data(), labels.data(), 300, 1);
  CHECK_THROWS_AS(h.add(5, {x.data(), d}), sochdb::already_exists);
  CHECK_THROWS_AS(h.add(5000, {x.data(), d + 1}), sochdb::dimension_mismatch);
  std::vector<float> bad(x.begin(), x.begin() + d);
  bad[3] = std::nanf("");
  CHECK_THROWS_AS(h.add(5000, bad), sochdb::invalid_argument);
  CHECK_THROWS_AS(h.search(bad, 3), sochdb::invalid_argument);
  h.update(5, {x.data() + 100 * d, d});
  CHECK(h.get(5) == h.get(100));
  CHECK(h.size() == 300);
  auto top = h.search({x.data() + 100 * d, d}, 2);
  std::set<vec::label_t> got{top[0].label, top[1].label};
  CHECK(got == std::set<vec::label_t>{5, 100});
  h.update(7000, {x.data(), d});  // update of a missing label inserts
  CHECK(h.contains(7000));
  CHECK_THROWS_AS(vec::hnsw_index<>({.dimension = 0}), sochdb::invalid_argument);
  CHECK_THROWS_AS(vec::hnsw_index<>({.dimension = 8, .m = 1}), sochdb::invalid_argument);
  vec::hnsw_index<> empty({.dimension = d});
  CHECK(empty.search({x.data(), d}, 5).empty());
}

TEST_CASE("hnsw_index save, load and open_mapped give identical results") {
  const auto x = data(2000, d, 11), q = data(nq, d, 12);
  vec::hnsw_index<> h({.dimension = d, .m = 8, .ef_construction = 64});
  const auto labels = iota_labels(2000, 1u << 20);
  h.add(x.data(), labels.data(), 2000, 2);
  h.remove(labels[3]);
  sochdb::memory_fs fs;
  fs.create_directories("/db");
  h.save(fs, "/db/h.idx");
  auto loaded = vec::hnsw_index<>::load(fs, "/db/h.idx");
  auto mapped = vec::hnsw_index<>::open_mapped(fs, "/db/h.idx");
  CHECK(mapped.read_only());
  CHECK(loaded.size() == h.size());
  for (std::size_t i = 0; i < nq; ++i) {
    auto a = h.search({q.data() + i * d, d}, 10, {.ef = 40});
    CHECK(a == loaded.search({q.data() + i * d, d}, 10, {.ef = 40}));
    CHECK(a == mapped.search({q.data() + i * d, d}, 10, {.ef = 40}));
  }
  CHECK_THROWS_AS(mapped.add(1, {x.data(), d}), sochdb::unsupported);
  CHECK_THROWS_AS(mapped.remove(labels[5]), sochdb::unsupported);
  CHECK(mapped.get(labels[5]) == h.get(labels[5]));
  // The loaded copy is writable.
  loaded.add(42, {x.data(), d});
  CHECK(loaded.contains(42));
  // A posix file too (the mmap path).
  sochdb::posix_fs pfs;
  const std::string dir = "/tmp/sochdb_index_test_" + std::to_string(::getpid());
  pfs.create_directories(dir);
  h.save(pfs, dir + "/h.idx");
  auto pm = vec::hnsw_index<>::open_mapped(pfs, dir + "/h.idx");
  CHECK(pm.search({q.data(), d}, 10) == h.search({q.data(), d}, 10));
  pfs.remove(dir + "/h.idx");
  pfs.remove_directory(dir);
}

TEST_CASE("damaged and truncated index files are rejected") {
  const auto x = data(120, 8, 13);
  sochdb::memory_fs fs;
  fs.create_directories("/db");
  vec::hnsw_index<> h({.dimension = 8, .m = 4, .ef_construction = 16});
  vec::flat_index<> f({.dimension = 8});
  const auto labels = iota_labels(120);
  h.add(x.data(), labels.data(), 120, 1);
  f.add(x.data(), labels.data(), 120);
  h.save(fs, "/db/h.idx");
  f.save(fs, "/db/f.idx");
  for (const std::string path : {"/db/h.idx", "/db/f.idx"}) {
    const std::string good = sochdb::read_file(fs, path);
    std::size_t rejected = 0, tried = 0;
    for (std::size_t off = 0; off < good.size(); off += (off < 600 ? 1 : 7)) {
      std::string bad = good;
      bad[off] = static_cast<char>(bad[off] ^ 0x10);
      sochdb::write_file(fs, "/db/bad.idx", bad);
      ++tried;
      try {
        if (path == "/db/h.idx") {
          (void)vec::hnsw_index<>::load(fs, "/db/bad.idx");
          (void)vec::hnsw_index<>::open_mapped(fs, "/db/bad.idx");
        } else {
          (void)vec::flat_index<>::load(fs, "/db/bad.idx");
        }
      } catch (const sochdb::error& e) {
        ++rejected;
        CHECK(std::string(e.what()).find("/db/bad.idx") != std::string::npos);
      }
    }
    // Every flipped bit is caught: checksums cover every byte, and padding must be zero.
    MESSAGE(path << ": " << rejected << " of " << tried << " damaged copies rejected");
    CHECK(rejected == tried);
    for (std::size_t len :
         {std::size_t{0}, std::size_t{10}, std::size_t{100}, good.size() / 2, good.size() - 1}) {
      sochdb::write_file(fs, "/db/short.idx", good.substr(0, len));
      CHECK_THROWS_AS((void)vec::hnsw_index<>::load(fs, "/db/short.idx"), sochdb::error);
      CHECK_THROWS_AS((void)vec::flat_index<>::load(fs, "/db/short.idx"), sochdb::error);
    }
  }
  try {
    std::string bad = sochdb::read_file(fs, "/db/h.idx");
    bad[bad.size() - 5] ^= 1;
    sochdb::write_file(fs, "/db/bad.idx", bad);
    (void)vec::hnsw_index<>::load(fs, "/db/bad.idx");
    FAIL("accepted");
  } catch (const sochdb::corruption& e) {
    CHECK(std::string(e.what()).find("checksum mismatch") != std::string::npos);
  }
}

TEST_CASE("hnsw_index concurrent insert and search" * doctest::test_suite("concurrency")) {
  const std::size_t nn = 1500;
  const auto x = data(nn, d, 15), q = data(20, d, 16);
  vec::hnsw_index<> h({.dimension = d, .m = 8, .ef_construction = 48});
  const auto labels = iota_labels(nn);
  h.add(x.data(), labels.data(), 200, 1);
  std::atomic<std::size_t> next{200};
  std::atomic<bool> done{false};
  std::atomic<std::size_t> bad{0}, searches{0};
  auto writer = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < nn;) h.add(labels[i], {x.data() + i * d, d});
  };
  auto reader = [&] {
    std::vector<vec::neighbor> out;
    std::size_t qi = 0;
    while (!done.load()) {
      const float* qq = q.data() + (qi++ % 20) * d;
      h.search({qq, d}, 5, out, {.ef = 32});
      for (std::size_t j = 0; j < out.size(); ++j) {
        const auto l = out[j].label;
        if (l >= nn)
          ++bad;
        else if (std::abs(out[j].distance - static_cast<float>(exact(simd::metric_kind::l2, qq,
                                                                     x.data() + l * d, d))) >
                 1e-3f * (1 + out[j].distance))
          ++bad;
        if (j > 0 && out[j].distance < out[j - 1].distance) ++bad;
      }
      if (qi % 7 == 0) (void)h.contains(labels[qi % nn]);
      ++searches;
    }
  };
  std::thread w1(writer), w2(writer), r1(reader);
  w1.join();
  w2.join();
  done = true;
  r1.join();
  CHECK(bad.load() == 0);
  CHECK(searches.load() > 0);
  CHECK(h.size() == nn);
  vec::flat_index<> flat({.dimension = d});
  flat.add(x.data(), labels.data(), nn);
  CHECK(recall(h, flat, q, 20, d, 10, {.ef = 64}) >= 0.9);
}

TEST_CASE("fvecs, ivecs, bvecs and idx") {
  const std::vector<float> f{1.5f, -2.f, 3.f, 4.f, 5.f, 6.f};
  auto m = vec::parse_fvecs(vec::encode_fvecs(f.data(), 2, 3));
  CHECK(m.rows == 2);
  CHECK(m.dim == 3);
  CHECK(m.data == f);
  CHECK(vec::parse_fvecs(vec::encode_fvecs(f.data(), 2, 3), "x", 1).rows == 1);
  const std::vector<std::int32_t> ids{1, 2, 3, -4};
  CHECK(vec::parse_ivecs(vec::encode_ivecs(ids.data(), 2, 2)).data == ids);
  const std::vector<std::uint8_t> b{0, 7, 255, 9};
  auto bm = vec::parse_bvecs(vec::encode_bvecs(b.data(), 1, 4));
  CHECK(bm.data == std::vector<float>{0, 7, 255, 9});
  std::string bytes = vec::encode_fvecs(f.data(), 2, 3);
  CHECK_THROWS_AS(vec::parse_fvecs(bytes.substr(0, bytes.size() - 1), "t.fvecs"),
                  sochdb::corruption);
  std::string mixed = vec::encode_fvecs(f.data(), 1, 3) + vec::encode_fvecs(f.data(), 1, 2);
  CHECK_THROWS_WITH_AS(vec::parse_fvecs(mixed, "t.fvecs"), doctest::Contains("t.fvecs"),
                       sochdb::corruption);
  // IDX: magic 0x00000803, 2 images of 2 x 2.
  std::string idx;
  sochdb::put_fixed32_be(idx, 0x803);
  sochdb::put_fixed32_be(idx, 2);
  sochdb::put_fixed32_be(idx, 2);
  sochdb::put_fixed32_be(idx, 2);
  for (int i = 0; i < 8; ++i) idx.push_back(static_cast<char>(i * 30));
  auto im = vec::parse_idx(idx);
  CHECK(im.rows == 2);
  CHECK(im.dim == 4);
  CHECK(im.data[7] == 210.f);
  CHECK_THROWS_AS(vec::parse_idx(idx.substr(0, idx.size() - 1)), sochdb::corruption);
  sochdb::memory_fs fs;
  fs.create_directories("/d");
  vec::write_fvecs(fs, "/d/a.fvecs", f.data(), 2, 3);
  CHECK(vec::read_fvecs(fs, "/d/a.fvecs").data == f);
  // Ground truth equals the flat index's exact answer.
  const auto x = data(400, 8, 17), q = data(5, 8, 18);
  auto gt = vec::ground_truth(x.data(), 400, q.data(), 5, 8, 3);
  vec::flat_index<> flat({.dimension = 8});
  const auto labels = iota_labels(400);
  flat.add(x.data(), labels.data(), 400);
  for (std::size_t i = 0; i < 5; ++i) {
    auto r = flat.search({q.data() + i * 8, 8}, 3);
    for (std::size_t j = 0; j < 3; ++j)
      CHECK(gt.row(i)[j] == static_cast<std::int32_t>(r[j].label));
    CHECK(vec::recall_at_k(r, gt.row(i), 3) == 1.0);
  }
}

TEST_CASE("multi_vector_index aggregates max and mean per document") {
  const std::size_t docs = 400, per = 3;
  const auto x = data(docs * per, d, 21), q = data(20, d, 22);
  vec::multi_vector_index<vec::hnsw_index<>> mv(
      vec::hnsw_index<>({.dimension = d, .m = 12, .ef_construction = 100}));
  for (std::size_t i = 0; i < docs; ++i) mv.add(500 + i, x.data() + i * per * d, per);
  CHECK(mv.size() == docs);
  CHECK_THROWS_AS(mv.add(500, x.data(), 1), sochdb::already_exists);
  // The query is one vector of document 517: max aggregation puts it first at distance 0.
  auto top = mv.search({x.data() + (17 * per + 1) * d, d}, 5, {.inner = {.ef = 64}});
  REQUIRE(!top.empty());
  CHECK(top[0].label == 517);
  CHECK(top[0].distance == doctest::Approx(0.0).epsilon(1e-4));
  // Exact aggregates by brute force.
  for (std::size_t qi = 0; qi < 20; ++qi) {
    const float* qq = q.data() + qi * d;
    std::vector<std::pair<double, vec::label_t>> mx, mean;
    for (std::size_t i = 0; i < docs; ++i) {
      double best = 1e300, sum = 0;
      for (std::size_t j = 0; j < per; ++j) {
        const double e = exact(simd::metric_kind::l2, qq, x.data() + (i * per + j) * d, d);
        best = std::min(best, e);
        sum += e;
      }
      mx.push_back({best, 500 + i});
      mean.push_back({sum / per, 500 + i});
    }
    std::sort(mx.begin(), mx.end());
    std::sort(mean.begin(), mean.end());
    auto got_max = mv.search({qq, d}, 1, {.inner = {.ef = 64}});
    CHECK(got_max[0].label == mx[0].second);
    auto got_mean =
        mv.search({qq, d}, 1, {.inner = {.ef = 64}, .how = vec::aggregate::mean, .oversample = 20});
    CHECK(got_mean[0].label == mean[0].second);
    CHECK(got_mean[0].distance == doctest::Approx(mean[0].first).epsilon(1e-3));
  }
  // Filters apply to documents; removal drops every vector of a document.
  auto odd = [](vec::label_t l) { return l % 2 == 1; };
  for (auto& h : mv.search({q.data(), d}, 10, {.inner = {.ef = 64}}, odd)) CHECK(h.label % 2 == 1);
  CHECK(mv.remove(517));
  CHECK_FALSE(mv.contains(517));
  CHECK(mv.inner().size() == (docs - 1) * per);
  auto again = mv.search({x.data() + (17 * per + 1) * d, d}, 5, {.inner = {.ef = 64}});
  for (auto& h : again) CHECK(h.label != 517);
}

}  // namespace test_vector_index_test
