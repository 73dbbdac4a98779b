// vamana_index: recall of the PQ beam search with exact re-ranking from the blocks (l2 and
// cosine), reported distances are exact, tombstones, filters (graph walk and the selective
// scan), save -> load -> open give identical results, every damaged or truncated file is
// rejected, bad arguments are errors, and the resident memory is the codes (not the vectors).
#include "vector_test_util.hpp"

#include <doctest/doctest.h>

#include <sochdb/core/memory_fs.hpp>
#include <sochdb/vector.hpp>

#include <string>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_vector_vamana_test {

namespace vec = sochdb::vector;
namespace simd = sochdb::simd;

namespace {
constexpr std::size_t d = 32;

vec::vamana_options opts() {
  return {.dimension = d, .r = 24, .l_build = 48, .search_list = 64, .build_threads = 2};
}
}  // namespace

TEST_CASE("vamana_index l2: recall, exact distances, memory") {
  const std::size_t n = 4000;
  const auto x = vtest::data(n, d, 1), q = vtest::data(50, d, 2);
  const auto labels = vtest::labels(n, 1000);
  sochdb::memory_fs fs;
  fs.create_directories("/db");
  auto v = vec::vamana_index<>::build(fs, "/db/v.idx", opts(), x.data(), labels.data(), n);
  vec::flat_index<> flat({.dimension = d});
  flat.add(x.data(), labels.data(), n);
  CHECK(v.size() == n);
  CHECK(v.mapped());
  CHECK(v.quantizer().code_size() == 32);
  const double r = vtest::recall(v, flat, q, 50, d, 10, {.ef = 64});
  MESSAGE("vamana recall@10 " << r);
  CHECK(r >= 0.95);
  CHECK(vtest::recall(v, flat, q, 50, d, 10, {.ef = 200}) >= r - 1e-9);
  // Distances are exact (from the full vectors in the blocks), sorted.
  auto hits = v.search({q.data(), d}, 10, {.ef = 64});
  REQUIRE(hits.size() == 10);
  for (std::size_t i = 0; i < hits.size(); ++i) {
    auto g = v.get(hits[i].label);
    auto ex = flat.get(hits[i].label);
    CHECK(g == ex);
    float dd = 0;
    for (std::size_t j = 0; j < d; ++j) dd += (q[j] - ex[j]) * (q[j] - ex[j]);
    CHECK(hits[i].distance == doctest::Approx(dd).epsilon(1e-4));
    if (i) CHECK(hits[i - 1].distance <= hits[i].distance);
  }
  // Resident: the codes (and tombstone bits), not the blocks.
  const auto st = v.stats();
  CHECK(st.memory_bytes < n * 48 + 64 * 1024);
  CHECK(st.mapped_bytes >= n * d * 4);
  CHECK(v.search({q.data(), d}, 0).empty());
  CHECK(v.search({q.data(), d}, n + 10, {.ef = 10}).size() <= n);
}

TEST_CASE("vamana_index cosine") {
  const std::size_t n = 2000;
  const auto x = vtest::data(n, d, 3), q = vtest::data(30, d, 4);
  const auto labels = vtest::labels(n);
  sochdb::memory_fs fs;
  fs.create_directories("/db");
  auto v =
      vec::vamana_index<simd::cosine>::build(fs, "/db/c.idx", opts(), x.data(), labels.data(), n);
  vec::flat_index<simd::cosine> flat({.dimension = d});
  flat.add(x.data(), labels.data(), n);
  CHECK(vtest::recall(v, flat, q, 30, d, 10, {.ef = 64}) >= 0.95);
  auto g = v.get(5);
  double norm = 0;
  for (float f : g) norm += f * f;
  CHECK(norm == doctest::Approx(1.0).epsilon(1e-4));
}

TEST_CASE("vamana_index tombstones and filters") {
  const std::size_t n = 3000;
  const auto x = vtest::data(n, d, 5), q = vtest::data(30, d, 6);
  const auto labels = vtest::labels(n);
  sochdb::memory_fs fs;
  fs.create_directories("/db");
  auto v = vec::vamana_index<>::build(fs, "/db/v.idx", opts(), x.data(), labels.data(), n);
  vec::flat_index<> flat({.dimension = d});
  flat.add(x.data(), labels.data(), n);
  // Remove every label ending in 3: never returned, recall against the reduced oracle holds.
  for (vec::label_t l = 3; l < n; l += 10) {
    CHECK(v.remove(l));
    flat.remove(l);
  }
  CHECK_FALSE(v.remove(3));
  CHECK_FALSE(v.remove(n + 5));
  CHECK_FALSE(v.contains(13));
  CHECK(v.contains(14));
  CHECK_THROWS_AS((void)v.get(13), sochdb::not_found);
  CHECK(v.size() == n - n / 10);
  for (std::size_t i = 0; i < 30; ++i)
    for (auto& h : v.search({q.data() + i * d, d}, 10)) CHECK(h.label % 10 != 3);
  CHECK(vtest::recall(v, flat, q, 30, d, 10, {.ef = 64}) >= 0.95);
  // Filters: half the labels (graph walk), 1% (exact scan of the passing codes).
  auto even = [](vec::label_t l) { return l % 2 == 0; };
  auto rare = [](vec::label_t l) { return l % 100 == 7; };
  CHECK(vtest::recall(v, flat, q, 30, d, 10, {.ef = 64}, even) >= 0.95);
  CHECK(vtest::recall(v, flat, q, 30, d, 10, {.ef = 64}, rare) >= 0.95);
  for (auto& h : v.search({q.data(), d}, 10, {.ef = 64}, even)) CHECK(h.label % 2 == 0);
  auto r = v.search({q.data(), d}, 10, {}, rare);
  CHECK(r.size() == 10);
  for (auto& h : r) CHECK(h.label % 100 == 7);
}

TEST_CASE("vamana_index save, load, open: identical results") {
  const std::size_t n = 1500;
  const auto x = vtest::data(n, d, 7), q = vtest::data(20, d, 8);
  const auto labels = vtest::labels(n, 77);
  sochdb::memory_fs fs;
  fs.create_directories("/db");
  auto v = vec::vamana_index<>::build(fs, "/db/v.idx", opts(), x.data(), labels.data(), n);
  v.remove(80);
  v.save(fs, "/db/w.idx");
  auto loaded = vec::vamana_index<>::load(fs, "/db/w.idx");
  auto opened = vec::vamana_index<>::open(fs, "/db/w.idx");
  CHECK_FALSE(loaded.mapped());
  CHECK(loaded.size() == n - 1);
  CHECK_FALSE(opened.contains(80));
  for (std::size_t i = 0; i < 20; ++i) {
    std::span<const float> qq(q.data() + i * d, d);
    auto a = v.search(qq, 10, {.ef = 40});
    CHECK(a == loaded.search(qq, 10, {.ef = 40}));
    CHECK(a == opened.search(qq, 10, {.ef = 40}));
  }
  // A second build with the same seed and one thread is the same file.
  auto o1 = opts();
  o1.build_threads = 1;
  vec::vamana_index<>::write_built(fs, "/db/a.idx", o1, x.data(), labels.data(), n,
                                   vec::default_vamana_pq(d, simd::metric_kind::l2));
  vec::vamana_index<>::write_built(fs, "/db/b.idx", o1, x.data(), labels.data(), n,
                                   vec::default_vamana_pq(d, simd::metric_kind::l2));
  CHECK(sochdb::read_file(fs, "/db/a.idx") == sochdb::read_file(fs, "/db/b.idx"));
}

TEST_CASE("vamana_index rejects damaged files and bad arguments") {
  const std::size_t dd = 8, n = 300;
  const auto x = vtest::data(n, dd, 9);
  const auto labels = vtest::labels(n);
  sochdb::memory_fs fs;
  fs.create_directories("/db");
  vec::vamana_options o{
      .dimension = dd, .r = 8, .l_build = 16, .search_list = 16, .build_threads = 1};
  auto v = vec::vamana_index<>::build(fs, "/db/v.idx", o, x.data(), labels.data(), n);
  v.remove(4);
  v.save(fs, "/db/s.idx");  // with a DELE section
  for (const std::string path : {"/db/v.idx", "/db/s.idx"}) {
    const std::string good = sochdb::read_file(fs, path);
    std::size_t rejected = 0, tried = 0;
    for (std::size_t off = 0; off < good.size(); off += (off < 600 ? 1 : 5)) {
      std::string bad = good;
      bad[off] = static_cast<char>(bad[off] ^ 0x04);
      sochdb::write_file(fs, "/db/bad.idx", bad);
      ++tried;
      try {
        (void)vec::vamana_index<>::open(fs, "/db/bad.idx");
      } catch (const sochdb::error& e) {
        ++rejected;
        CHECK(std::string(e.what()).find("/db/bad.idx") != std::string::npos);
      }
    }
    MESSAGE(path << ": " << rejected << " of " << tried << " damaged copies rejected");
    CHECK(rejected == tried);
    for (std::size_t len :
         {std::size_t{0}, std::size_t{10}, std::size_t{600}, good.size() / 2, good.size() - 1}) {
      sochdb::write_file(fs, "/db/short.idx", good.substr(0, len));
      CHECK_THROWS_AS((void)vec::vamana_index<>::open(fs, "/db/short.idx"), sochdb::error);
      CHECK_THROWS_AS((void)vec::vamana_index<>::load(fs, "/db/short.idx"), sochdb::error);
    }
  }
  // The wrong kind or metric.
  vec::hnsw_index<> h({.dimension = dd});
  h.add(x.data(), labels.data(), 50, 1);
  h.save(fs, "/db/h.idx");
  CHECK_THROWS_AS((void)vec::vamana_index<>::open(fs, "/db/h.idx"), sochdb::invalid_argument);
  CHECK_THROWS_AS((void)vec::vamana_index<simd::cosine>::open(fs, "/db/v.idx"),
                  sochdb::invalid_argument);
  // Bad build arguments.
  auto dup = labels;
  dup[7] = dup[8];
  CHECK_THROWS_AS(vec::vamana_index<>::build(fs, "/db/x.idx", o, x.data(), dup.data(), n),
                  sochdb::invalid_argument);
  CHECK_THROWS_AS(vec::vamana_index<>::build(fs, "/db/x.idx", o, x.data(), labels.data(), 0),
                  sochdb::invalid_argument);
  auto bad_o = o;
  bad_o.alpha = 0.5f;
  CHECK_THROWS_AS(vec::vamana_index<>::build(fs, "/db/x.idx", bad_o, x.data(), labels.data(), n),
                  sochdb::invalid_argument);
  auto nan = x;
  nan[17] = std::nanf("");
  CHECK_THROWS_AS(vec::vamana_index<>::build(fs, "/db/x.idx", o, nan.data(), labels.data(), n),
                  sochdb::invalid_argument);
  std::vector<float> q(dd + 1, 0.f);
  CHECK_THROWS_AS((void)v.search(q, 5), sochdb::dimension_mismatch);
  q.resize(dd);
  q[0] = INFINITY;
  CHECK_THROWS_AS((void)v.search(q, 5), sochdb::invalid_argument);
}

}  // namespace test_vector_vamana_test
