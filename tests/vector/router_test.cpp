// index_router: the tier follows the size (flat -> HNSW -> Vamana + delta), results stay right
// across every switch, writes during a migration are neither lost nor resurrected, searches
// answer throughout a background migration (suite "concurrency", run under TSan), and
// save -> load reopens the same tier with identical results.
#include "vector_test_util.hpp"

#include <doctest/doctest.h>

#include <sochdb/core/memory_fs.hpp>
#include <sochdb/vector.hpp>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_vector_router_test {

namespace vec = sochdb::vector;
namespace simd = sochdb::simd;

namespace {
constexpr std::size_t d = 16;
using router_l2 = vec::index_router<simd::l2<>, sochdb::memory_fs>;
using router_cos = vec::index_router<simd::cosine, sochdb::memory_fs>;

vec::router_options small_opts(bool background) {
  vec::router_options o;
  o.dimension = d;
  o.hnsw_above = 400;
  o.vamana_above = 1200;
  o.migrate_batch = 128;
  o.background = background;
  o.hnsw = {.m = 8, .ef_construction = 64};
  o.vamana = {.r = 16, .l_build = 32, .search_list = 48};
  return o;
}

float l2(const float* a, const float* b) {
  float s = 0;
  for (std::size_t j = 0; j < d; ++j) s += (a[j] - b[j]) * (a[j] - b[j]);
  return s;
}
}  // namespace

TEST_CASE("index_router tiers: flat -> hnsw -> vamana + delta, inline migration") {
  const std::size_t n = 2000;
  const auto x = vtest::data(n, d, 21), q = vtest::data(30, d, 22);
  sochdb::memory_fs fs;
  fs.create_directories("/r");
  router_l2 r(small_opts(false), &fs, "/r");
  vec::flat_index<> oracle({.dimension = d});
  auto add_range = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) {
      r.add(i, {x.data() + i * d, d});
      oracle.add(i, {x.data() + i * d, d});
    }
  };
  add_range(0, 400);
  CHECK(r.tier() == vec::index_kind::flat);
  CHECK(vtest::recall(r, oracle, q, 30, d, 10) == 1.0);
  add_range(400, 401);
  CHECK(r.tier() == vec::index_kind::hnsw);
  CHECK(r.size() == 401);
  CHECK(vtest::recall(r, oracle, q, 30, d, 10, {.ef = 64}) >= 0.95);
  add_range(401, 1201);
  CHECK(r.tier() == vec::index_kind::vamana);
  CHECK(r.size() == 1201);
  CHECK(vtest::recall(r, oracle, q, 30, d, 10, {.ef = 64}) >= 0.95);
  // The delta takes new vectors; removals hit both parts.
  add_range(1201, 1300);
  CHECK(r.size() == 1300);
  CHECK_THROWS_AS(r.add(5, {x.data(), d}), sochdb::already_exists);
  CHECK_THROWS_AS(r.add(1250, {x.data(), d}), sochdb::already_exists);
  for (vec::label_t l : {vec::label_t{5}, vec::label_t{700}, vec::label_t{1250}}) {
    CHECK(r.remove(l));
    oracle.remove(l);
    CHECK_FALSE(r.contains(l));
  }
  CHECK_FALSE(r.remove(5));
  CHECK(r.size() == 1297);
  CHECK(r.get(1299) == oracle.get(1299));
  CHECK(vtest::recall(r, oracle, q, 30, d, 10, {.ef = 64}) >= 0.95);
  auto even = [](vec::label_t l) { return l % 2 == 0; };
  CHECK(vtest::recall(r, oracle, q, 30, d, 10, {.ef = 64}, even) >= 0.95);
  // Save -> load: the same tier, the same answers.
  r.save(fs, "/saved");
  auto back = router_l2::load(fs, "/saved", small_opts(false), "/r2");
  CHECK(back->tier() == vec::index_kind::vamana);
  CHECK(back->size() == r.size());
  for (std::size_t i = 0; i < 30; ++i) {
    std::span<const float> qq(q.data() + i * d, d);
    CHECK(back->search(qq, 10, {.ef = 64}) == r.search(qq, 10, {.ef = 64}));
  }
  // A damaged manifest is an error naming the file.
  std::string m = sochdb::read_file(fs, "/saved/router");
  m[6] ^= 1;
  sochdb::write_file(fs, "/saved/router", m);
  CHECK_THROWS_WITH_AS(router_l2::load(fs, "/saved", small_opts(false)),
                       doctest::Contains("/saved/router"), sochdb::corruption);
  // Bad options and arguments.
  auto bad = small_opts(false);
  bad.vamana_above = 100;
  CHECK_THROWS_AS(router_l2(bad, &fs, "/r"), sochdb::invalid_argument);
  CHECK_THROWS_AS(router_l2(small_opts(false)), sochdb::invalid_argument);
  std::vector<float> wrong(d + 1, 0.f);
  CHECK_THROWS_AS(r.add(9999, wrong), sochdb::dimension_mismatch);
  CHECK_THROWS_AS((void)r.search(wrong, 3), sochdb::dimension_mismatch);
}

TEST_CASE("index_router without vamana stays on hnsw; flat and hnsw save/load") {
  const std::size_t n = 700;
  const auto x = vtest::data(n, d, 23), q = vtest::data(10, d, 24);
  sochdb::memory_fs fs;
  auto o = small_opts(false);
  o.vamana_above = 0;
  router_cos r(o);
  for (std::size_t i = 0; i < 300; ++i) r.add(i, {x.data() + i * d, d});
  r.save(fs, "/f");
  auto f = router_cos::load(fs, "/f", o);
  CHECK(f->tier() == vec::index_kind::flat);
  for (std::size_t i = 300; i < n; ++i) r.add(i, {x.data() + i * d, d});
  CHECK(r.tier() == vec::index_kind::hnsw);
  r.save(fs, "/h");
  auto h = router_cos::load(fs, "/h", o);
  CHECK(h->tier() == vec::index_kind::hnsw);
  for (std::size_t i = 0; i < 10; ++i) {
    std::span<const float> qq(q.data() + i * d, d);
    CHECK(h->search(qq, 5, {.ef = 32}) == r.search(qq, 5, {.ef = 32}));
  }
}

TEST_CASE("index_router answers searches throughout background migrations" *
          doctest::test_suite("concurrency")) {
  const std::size_t n = 2400;
  const auto x = vtest::data(n, d, 25), q = vtest::data(64, d, 26);
  sochdb::memory_fs fs;
  fs.create_directories("/r");
  auto o = small_opts(true);
  router_l2 r(o, &fs, "/r");
  // Labels removed (in this order) by the writer; the searcher never may see one removed
  // before its search started.
  std::vector<vec::label_t> victims;
  for (vec::label_t l = 3; l < n; l += 17) victims.push_back(l);
  // `started`: labels below it may be in the index (stored before each add); `added`: labels
  // below it surely are (stored after); `removed`: victims before it are surely gone.
  std::atomic<std::size_t> started{0}, added{0}, removed{0};
  std::atomic<bool> done{false};
  std::atomic<std::size_t> searches{0}, during_migration{0}, bad{0};
  double recall_sum = 0;
  std::string first_bad;
  std::size_t recall_n = 0;
  std::thread searcher([&] {
    std::size_t qi = 0;
    while (!done.load()) {
      const std::size_t a0 = added.load(), r0 = removed.load();
      if (a0 < 20) continue;
      const bool mig = r.migrating();
      const float* qq = q.data() + (qi++ % 64) * d;
      auto res = r.search({qq, d}, 10, {.ef = 64});
      const std::size_t a1 = started.load();
      searches.fetch_add(1);
      if (mig) during_migration.fetch_add(1);
      std::set<vec::label_t> dead(victims.begin(),
                                  victims.begin() + static_cast<std::ptrdiff_t>(r0));
      // Truth over the vectors surely present: added before the search, not removed at all.
      std::set<vec::label_t> ever_dead(victims.begin(), victims.end());
      std::vector<std::pair<float, vec::label_t>> truth;
      for (vec::label_t l = 0; l < a0; ++l)
        if (!ever_dead.count(l)) truth.push_back({l2(qq, x.data() + l * d), l});
      std::sort(truth.begin(), truth.end());
      const float kth = truth.size() >= 10 ? truth[9].first : INFINITY;
      std::size_t hit = 0;
      auto fail = [&](const char* what, vec::label_t l) {
        if (bad.fetch_add(1) == 0) {
          first_bad = std::string(what) + " label " + std::to_string(l) + " tier " +
                      std::to_string(static_cast<int>(r.tier())) + " migrating " +
                      std::to_string(mig) + " a0 " + std::to_string(a0) + " a1 " +
                      std::to_string(a1) + " r0 " + std::to_string(r0) + " results " +
                      std::to_string(res.size());
        }
      };
      for (std::size_t i = 0; i < res.size(); ++i) {
        const auto& h = res[i];
        if (h.label >= a1)
          fail("never added", h.label);
        else if (dead.count(h.label))
          fail("removed", h.label);
        else if (std::abs(h.distance - l2(qq, x.data() + h.label * d)) > 1e-3f * (1 + h.distance))
          fail("distance", h.label);
        if (i > 0 && res[i - 1].distance > h.distance) fail("order", h.label);
        if (h.distance <= kth * (1 + 1e-5f)) ++hit;
      }
      if (res.size() < std::min<std::size_t>(10, truth.size())) fail("too few", 0);
      recall_sum +=
          static_cast<double>(hit) / static_cast<double>(std::min<std::size_t>(10, truth.size()));
      ++recall_n;
    }
  });
  std::size_t next_victim = 0;
  for (std::size_t i = 0; i < n; ++i) {
    started.store(i + 1);
    r.add(i, {x.data() + i * d, d});
    added.store(i + 1);
    // Remove victims already added, one every 16 inserts.
    if (i % 16 == 15 && next_victim < victims.size() && victims[next_victim] <= i) {
      CHECK(r.remove(victims[next_victim]));
      removed.store(++next_victim);
    }
  }
  while (next_victim < victims.size()) {
    CHECK(r.remove(victims[next_victim]));
    removed.store(++next_victim);
  }
  r.wait_for_migration();
  // A write racing the end of a migration may leave the next one to a later call.
  r.rebalance();
  r.wait_for_migration();
  done.store(true);
  searcher.join();
  INFO("first bad answer: " << first_bad);
  CHECK(bad.load() == 0);
  CHECK(searches.load() > 0);
  MESSAGE("searches " << searches.load() << ", during a migration " << during_migration.load()
                      << ", mean recall@10 "
                      << recall_sum / static_cast<double>(std::max<std::size_t>(recall_n, 1)));
  CHECK(recall_sum / static_cast<double>(std::max<std::size_t>(recall_n, 1)) >= 0.9);
  CHECK(r.tier() == vec::index_kind::vamana);
  CHECK(r.size() == n - victims.size());
  for (auto l : victims) CHECK_FALSE(r.contains(l));
  for (vec::label_t l = 0; l < n; l += 97)
    if (!std::count(victims.begin(), victims.end(), l)) CHECK(r.contains(l));
  // Final answers against the exact oracle.
  vec::flat_index<> oracle({.dimension = d});
  for (vec::label_t l = 0; l < n; ++l)
    if (!std::count(victims.begin(), victims.end(), l)) oracle.add(l, {x.data() + l * d, d});
  CHECK(vtest::recall(r, oracle, q, 64, d, 10, {.ef = 64}) >= 0.95);
}

}  // namespace test_vector_router_test
