// The Vamana tier of collections: the collection index's three-step build (writes logged while
// the file is built are replayed at the switch), the background build of a collection that
// passes vamana_above, searches and filters on the tier, its checkpoint and reopen without a
// rebuild, and the rebuild once the delta outgrows the tier.
#include <sochdb/core/fault_injection_fs.hpp>
#include <sochdb/core/memory_fs.hpp>
#include <sochdb/db.hpp>
#include <sochdb/storage/wal_storage.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_collection_vamana_tier_test {

using namespace sochdb;

namespace {
using mem_db = basic_database<wal_storage<memory_fs>>;
constexpr std::size_t dim = 16;

std::vector<float> rand_vec(std::mt19937& rng) {
  std::normal_distribution<float> nd;
  std::vector<float> v(dim);
  for (auto& x : v) x = nd(rng);
  return v;
}

double l2(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return s;
}

// Exact top-k ids over `live` (id -> vector), l2.
std::vector<std::string> exact(const std::map<std::string, std::vector<float>>& live,
                               const std::vector<float>& q, std::size_t k) {
  std::vector<std::pair<double, std::string>> s;
  for (auto& [id, v] : live) s.emplace_back(l2(q, v), id);
  std::sort(s.begin(), s.end());
  std::vector<std::string> out;
  for (std::size_t i = 0; i < std::min(k, s.size()); ++i) out.push_back(s[i].second);
  return out;
}

double recall_at_10(auto& c, const std::map<std::string, std::vector<float>>& live,
                    std::mt19937& rng) {
  std::size_t hit = 0, total = 0;
  for (int qi = 0; qi < 20; ++qi) {
    auto q = rand_vec(rng);
    auto want = exact(live, q, 10);
    std::set<std::string> got;
    for (auto& h : c.vector_search(q, 10)) got.insert(h.id);
    for (auto& id : want) hit += got.count(id);
    total += want.size();
  }
  return double(hit) / double(total);
}

std::vector<std::string> files_of(memory_fs& fs, const std::string& prefix) {
  std::vector<std::string> out;
  for (auto& d : fs.list("/db")) {
    if (!d.starts_with("coll+")) continue;
    for (auto& f : fs.list("/db/" + d))
      if (f.starts_with(prefix)) out.push_back(f);
  }
  return out;
}
}  // namespace

TEST_CASE("collection index: writes during a Vamana build reach the new tier") {
  memory_fs fs;
  fs.create_directories("/idx");
  vector::collection_index idx(
      {.dimension = dim, .metric = simd::metric_kind::l2, .flat_limit = 256, .vamana_above = 400});
  std::mt19937 rng(3);
  std::map<vector::label_t, std::vector<float>> live;
  auto add = [&](vector::label_t l) {
    auto v = rand_vec(rng);
    idx.add(v.data(), &l, 1);
    live[l] = v;
  };
  for (vector::label_t l = 0; l < 500; ++l) add(l);
  REQUIRE(idx.kind() == vector::index_kind::hnsw);
  REQUIRE(idx.vamana_due());
  auto in = idx.begin_vamana();
  CHECK(in.labels.size() == 500);
  CHECK_FALSE(idx.vamana_due());  // one build at a time
  // Between the copy and the switch: adds, removes of copied and of new vectors.
  for (vector::label_t l = 500; l < 560; ++l) add(l);
  for (vector::label_t l = 0; l < 30; ++l) {
    CHECK(idx.remove(l));
    live.erase(l);
  }
  CHECK(idx.remove(555));
  live.erase(555);
  vector::collection_index::build_vamana_file(fs, "/idx/vamana.1.idx", idx.options(), in, 1);
  idx.finish_vamana(fs, "/idx", "vamana.1.idx");
  CHECK(idx.kind() == vector::index_kind::vamana);
  CHECK(idx.vamana_file() == "vamana.1.idx");
  CHECK(idx.size() == live.size());
  for (auto& [l, v] : live) {
    REQUIRE(idx.contains(l));
    auto h = idx.search(v, 1, {}, {});
    REQUIRE(h.size() == 1);
    CHECK(h[0].label == l);
  }
  for (vector::label_t l : {vector::label_t{0}, vector::label_t{29}, vector::label_t{555}})
    CHECK_FALSE(idx.contains(l));
  // Saved and loaded: the manifest names the same file; tombstones and delta come back.
  idx.save(fs, "/idx/vectors.1");
  auto back =
      vector::collection_index::load(fs, "/idx/vectors.1", idx.options(), idx.alternative());
  CHECK(back.kind() == vector::index_kind::vamana);
  CHECK(back.size() == live.size());
  CHECK_FALSE(back.contains(5));
  CHECK(back.contains(540));
  // A damaged tier manifest is corruption, not a crash.
  std::string m = read_file(fs, "/idx/vectors.1");
  m[m.size() / 2] ^= 0x20;
  write_file(fs, "/idx/vectors.1", m, true);
  CHECK_THROWS_AS(
      vector::collection_index::load(fs, "/idx/vectors.1", idx.options(), idx.alternative()),
      corruption);
}

TEST_CASE("collections: past vamana_above a Vamana tier is built in the background") {
  memory_fs fs;
  std::mt19937 rng(21);
  std::map<std::string, std::vector<float>> live;
  std::vector<document> docs;
  for (int i = 0; i < 1500; ++i) {
    docs.push_back({.id = "d" + std::to_string(i),
                    .vectors = {rand_vec(rng)},
                    .metadata = {{"i", i}, {"even", i % 2 == 0}}});
  }
  std::vector<std::string> before;
  auto q0 = rand_vec(rng);
  {
    auto db = mem_db::open("/db", {.sync = sync_mode::off}, fs);
    auto c = db.create_namespace("t").create_collection({.name = "v",
                                                         .dimension = dim,
                                                         .metric = simd::metric_kind::l2,
                                                         .flat_limit = 256,
                                                         .vamana_above = 1000,
                                                         .checkpoint_every = 0});
    c.insert_batch(std::span<const document>(docs.data(), 1000));
    for (int i = 0; i < 1000; ++i) live[docs[i].id] = docs[i].vectors[0];
    // Writes that may land while the build runs (they are replayed into the new tier).
    c.insert_batch(std::span<const document>(docs.data() + 1000, 200));
    for (int i = 1000; i < 1200; ++i) live[docs[i].id] = docs[i].vectors[0];
    for (int i = 0; i < 50; ++i) {
      c.remove(docs[i].id);
      live.erase(docs[i].id);
    }
    c.wait_for_index();
    auto info = c.info();
    CHECK(info.index == vector::index_kind::vamana);
    CHECK(info.vamana_builds == 1);
    CHECK(info.vamana_error == "");
    CHECK_FALSE(info.vamana_building);
    CHECK(info.vectors == live.size());
    CHECK(files_of(fs, "vamana.").size() == 1);
    // Writes after the switch: new vectors go to the delta, removals become tombstones.
    c.insert_batch(std::span<const document>(docs.data() + 1200, 300));
    for (int i = 1200; i < 1500; ++i) live[docs[i].id] = docs[i].vectors[0];
    for (int i = 60; i < 80; ++i) {
      c.remove(docs[i].id);
      live.erase(docs[i].id);
    }
    CHECK(c.count() == live.size());
    for (int i = 0; i < 1500; i += 37) {
      auto h = c.vector_search(docs[i].vectors[0], 1);
      REQUIRE(h.size() == 1);
      if (live.count(docs[i].id)) {
        CHECK(h[0].id == docs[i].id);
      } else {
        CHECK(h[0].id != docs[i].id);
      }
    }
    double r = recall_at_10(c, live, rng);
    MESSAGE("Vamana tier recall@10 over " << live.size() << " vectors: " << r);
    CHECK(r >= 0.9);
    auto f = c.search({.vector = q0,
                       .k = 10,
                       .filter = metadata_filter::compile(std::string_view(R"({"even": true})"))});
    CHECK(f.size() == 10);
    for (auto& h : f) CHECK(h.metadata["even"] == true);
    for (auto& h : c.vector_search(q0, 10)) before.push_back(h.id);
    db.close();  // checkpoints the tier: the file is named, not copied
  }
  {
    auto db = mem_db::open("/db", {.sync = sync_mode::off}, fs);
    auto c = db.ns("t").collection("v");
    CHECK_MESSAGE(c.open_stats().checkpoint_loaded, c.open_stats().checkpoint_error);
    CHECK(c.open_stats().reindexed == 0);
    CHECK(c.info().index == vector::index_kind::vamana);
    CHECK(c.info().vamana_builds == 0);  // nothing rebuilt on open
    std::vector<std::string> after;
    for (auto& h : c.vector_search(q0, 10)) after.push_back(h.id);
    CHECK(after == before);
    CHECK(c.count() == live.size());
    // Churn past a fifth of the tier rebuilds it (again in the background); the old file goes
    // with the next checkpoint.
    for (auto& d : docs) d.vectors[0] = rand_vec(rng);
    c.upsert_batch(std::span<const document>(docs.data() + 100, 1400));
    for (int i = 100; i < 1500; ++i) live[docs[i].id] = docs[i].vectors[0];
    c.wait_for_index();
    CHECK(c.info().vamana_builds == 1);
    CHECK(c.info().index == vector::index_kind::vamana);
    CHECK(files_of(fs, "vamana.").size() == 1);
    CHECK(c.count() == live.size());
    CHECK(recall_at_10(c, live, rng) >= 0.9);
    // Dropping the collection removes its files, the Vamana file included.
    db.ns("t").delete_collection("v");
    CHECK(files_of(fs, "vamana.").empty());
  }
}

TEST_CASE("collections: inner product and vamana_above 0 stay on HNSW") {
  memory_fs fs;
  auto db = mem_db::open("/db", {.sync = sync_mode::off}, fs);
  auto ns = db.create_namespace("t");
  std::mt19937 rng(5);
  std::vector<document> docs;
  for (int i = 0; i < 600; ++i)
    docs.push_back({.id = std::to_string(i), .vectors = {rand_vec(rng)}});
  auto ip = ns.create_collection({.name = "ip",
                                  .dimension = dim,
                                  .metric = simd::metric_kind::inner_product,
                                  .flat_limit = 256,
                                  .vamana_above = 300});
  auto off =
      ns.create_collection({.name = "off", .dimension = dim, .flat_limit = 256, .vamana_above = 0});
  ip.insert_batch(docs);
  off.insert_batch(docs);
  ip.wait_for_index();
  off.wait_for_index();
  CHECK(ip.info().index == vector::index_kind::hnsw);
  CHECK(off.info().index == vector::index_kind::hnsw);
  CHECK_THROWS_AS(ns.create_collection({.name = "bad", .dimension = dim, .vamana_above = 100}),
                  invalid_argument);
}

namespace {
using fi_fs = fault_injection_fs<memory_fs>;
using fi_db = basic_database<wal_storage<fi_fs>>;
constexpr int crash_docs = 320;

std::vector<float> crash_vec(int i) {
  std::mt19937 rng(static_cast<unsigned>(5000 + i));
  return rand_vec(rng);
}

// One document per commit (sync full) into a collection that passes vamana_above at 256: the
// background build, its checkpoint, later delta writes and removals, and the close all write.
int crash_workload(fi_fs& fs) {
  int acked = 0;
  try {
    auto db = fi_db::open("/db", {.sync = sync_mode::full, .auto_checkpoint = false}, fs);
    auto ns = db.get_or_create_namespace("t");
    if (!ns.collection_exists("v"))
      ns.create_collection({.name = "v",
                            .dimension = dim,
                            .metric = simd::metric_kind::l2,
                            .flat_limit = 64,
                            .vamana_above = 256,
                            .checkpoint_every = 0});
    auto c = ns.collection("v");
    for (int i = 0; i < crash_docs; ++i) {
      c.upsert({.id = "d" + std::to_string(i), .vectors = {crash_vec(i)}});
      acked = i + 1;
      if (i == 280) c.wait_for_index();
    }
  } catch (const error&) {
    // the file system went down
  }
  return acked;
}
}  // namespace

TEST_CASE("collections: power cuts around the Vamana build lose no document and no index") {
  fi_fs clean;
  REQUIRE(crash_workload(clean) == crash_docs);
  const std::uint64_t total = clean.stats().writes;
#ifdef NDEBUG
  const std::uint64_t stride = 1;  // every write
#else
  const std::uint64_t stride = std::max<std::uint64_t>(1, total / 40);  // sanitizer builds
#endif
  int crashed = 0, on_vamana = 0;
  for (std::uint64_t n = 1; n <= total; n += stride) {
    fi_fs fs;
    fs.crash_after(fault_op::write, n);
    int acked = crash_workload(fs);
    if (!fs.is_down()) continue;
    ++crashed;
    fs.simulate_power_loss();
    INFO("power cut after write " << n << " of " << total << ", " << acked << " acknowledged");
    std::optional<fi_db> db;
    REQUIRE_NOTHROW(db.emplace(fi_db::open("/db", {.sync = sync_mode::full}, fs)));
    if (!db->namespace_exists("t") || !db->ns("t").collection_exists("v")) {
      CHECK(acked == 0);
      continue;
    }
    auto c = db->ns("t").collection("v");
    c.wait_for_index();
    const auto count = static_cast<int>(c.count());
    CHECK(count >= acked);
    CHECK(count <= acked + 1);
    CHECK(c.info().vamana_error == "");
    on_vamana += c.info().index == vector::index_kind::vamana ? 1 : 0;
    for (int i = 0; i < count; i += 9) {
      auto h = c.vector_search(crash_vec(i), 1);
      REQUIRE(h.size() == 1);
      CHECK(h[0].id == "d" + std::to_string(i));
    }
  }
  MESSAGE("Vamana tier power cuts: " << crashed << " points verified of ~" << total << " writes; "
                                     << on_vamana << " reopened on the Vamana tier");
  CHECK(crashed > 0);
  CHECK(on_vamana > 0);
}

TEST_CASE("collections: writers and searchers run while the Vamana tier is built" *
          doctest::test_suite("concurrency")) {
  memory_fs fs;
  auto db = mem_db::open("/db", {.sync = sync_mode::off}, fs);
  auto c = db.create_namespace("t").create_collection({.name = "v",
                                                       .dimension = dim,
                                                       .metric = simd::metric_kind::l2,
                                                       .flat_limit = 256,
                                                       .vamana_above = 600});
  constexpr int per_thread = 700;
  std::vector<std::vector<float>> vecs[2];
  for (int t = 0; t < 2; ++t) {
    std::mt19937 rng(100 + t);
    for (int i = 0; i < per_thread; ++i) vecs[t].push_back(rand_vec(rng));
  }
  std::atomic<bool> stop{false};
  auto writer = [&](int t) {
    for (int i = 0; i < per_thread; ++i) {
      c.upsert({.id = std::to_string(t) + "/" + std::to_string(i), .vectors = {vecs[t][i]}});
      if (i % 7 == 0 && i > 0) c.remove(std::to_string(t) + "/" + std::to_string(i - 1));
    }
  };
  std::thread s1([&] {
    std::mt19937 rng(9);
    std::size_t n = 0;
    while (!stop.load()) {
      auto h = c.vector_search(rand_vec(rng), 5);
      CHECK(h.size() <= 5);
      (void)c.info();
      ++n;
    }
    CHECK(n > 0);
  });
  std::thread w0(writer, 0), w1(writer, 1);
  w0.join();
  w1.join();
  c.wait_for_index();
  stop = true;
  s1.join();
  CHECK(c.info().index == vector::index_kind::vamana);
  CHECK(c.info().vamana_error == "");
  std::size_t live = 0;
  for (int t = 0; t < 2; ++t) {
    for (int i = 0; i < per_thread; ++i) {
      bool removed = i % 7 == 6 && i + 1 < per_thread;
      if (removed) continue;
      ++live;
      if (i % 25 != 0) continue;
      auto h = c.vector_search(vecs[t][i], 1);
      REQUIRE(h.size() == 1);
      CHECK(h[0].id == std::to_string(t) + "/" + std::to_string(i));
    }
  }
  CHECK(c.count() == live);
}

}  // namespace test_collection_vamana_tier_test
