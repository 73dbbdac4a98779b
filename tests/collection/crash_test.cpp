// Power cuts during a collection workload on fault_injection_fs (sync full): each step writes
// one memory with the atomic writer (a blob + a document with an embedding and text), the
// indexes are checkpointed halfway. After every simulated crash the database must show exactly
// the acknowledged memories (plus possibly the one in flight), blob and document together, and
// the collection's indexes must be searchable at once with the results an exact search over
// the recovered documents gives — caught up from the checkpoint, not rebuilt, when the
// checkpoint survived.
#include <sochdb/core/fault_injection_fs.hpp>
#include <sochdb/core/memory_fs.hpp>
#include <sochdb/db.hpp>
#include <sochdb/storage/wal_storage.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <thread>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_collection_crash_test {

using namespace sochdb;

namespace {
using fi_fs = fault_injection_fs<memory_fs>;
using fi_db = basic_database<wal_storage<fi_fs>>;
using op = basic_memory_op<fi_db>;

constexpr int memories = 40;
constexpr std::size_t dim = 4;

database_options options() {
  return database_options{
      .sync = sync_mode::full, .wal_segment_size = 16 * 1024, .auto_checkpoint = false};
}

std::vector<float> vec_of(int i) {
  std::mt19937 rng(static_cast<unsigned>(1000 + i));
  std::normal_distribution<float> nd;
  std::vector<float> v(dim);
  for (auto& x : v) x = nd(rng);
  return v;
}

struct run_result {
  int acked = 0;
  bool opened = false;
};

run_result run_workload(fi_fs& fs) {
  run_result r;
  std::unique_ptr<fi_db> db;
  try {
    db = std::make_unique<fi_db>(fi_db::open("/db", options(), fs));
    auto ns = db->get_or_create_namespace("default");
    if (!ns.collection_exists("mem"))
      ns.create_collection({.name = "mem",
                            .dimension = dim,
                            .hybrid = true,
                            .flat_limit = 20,
                            .checkpoint_every = 0});
    r.opened = true;
    atomic_memory_writer w(*db);
    auto c = ns.collection("mem");
    for (int i = 0; i < memories; ++i) {
      std::string id = "m" + std::to_string(i);
      std::vector<op> ops{op::put_blob("blob/" + id, "content of " + id),
                          op::put_embedding("default", "mem", id, vec_of(i), {{"i", i}},
                                            "memory number " + std::to_string(i % 5)),
                          op::create_node("default", id, "memory")};
      if (i > 0)
        ops.push_back(op::create_edge("default", id, "follows", "m" + std::to_string(i - 1)));
      w.write_atomic(id, ops);
      r.acked = i + 1;
      if (i == memories / 2) c.checkpoint();
    }
  } catch (const error&) {
    // the file system went down
  }
  db.reset();  // closes quietly (its checkpoint may fail: that only costs a catch-up)
  return r;
}

// Exact top-k over the recovered documents (ids), cosine.
std::vector<std::string> exact_top(
    const std::vector<std::pair<std::string, std::vector<float>>>& docs,
    const std::vector<float>& q, std::size_t k) {
  auto cos = [](const std::vector<float>& a, const std::vector<float>& b) {
    double d = 0, na = 0, nb = 0;
    for (std::size_t j = 0; j < a.size(); ++j) {
      d += double(a[j]) * b[j];
      na += double(a[j]) * a[j];
      nb += double(b[j]) * b[j];
    }
    return d / std::sqrt(na * nb);
  };
  std::vector<std::pair<double, std::string>> s;
  for (auto& [id, v] : docs) s.push_back({-cos(q, v), id});
  std::sort(s.begin(), s.end());
  std::vector<std::string> out;
  for (std::size_t i = 0; i < std::min(k, s.size()); ++i) out.push_back(s[i].second);
  return out;
}

void verify(fi_fs& fs, const run_result& r, const std::string& where) {
  INFO(where);
  std::unique_ptr<fi_db> db;
  REQUIRE_NOTHROW(db = std::make_unique<fi_db>(fi_db::open("/db", options(), fs)));
  if (!db->namespace_exists("default") || !db->ns("default").collection_exists("mem")) {
    CHECK(r.acked == 0);
    return;
  }
  auto c = db->ns("default").collection("mem");
  std::set<std::string> blobs;
  for (auto [k, v] : db->scan_prefix("blob/")) blobs.insert(std::string(k.substr(5)));
  std::vector<std::pair<std::string, std::vector<float>>> docs;
  std::set<std::string> doc_ids;
  for (int i = 0; i < memories; ++i) {
    std::string id = "m" + std::to_string(i);
    if (auto d = c.get(id)) {
      docs.push_back({id, d->vectors.at(0)});
      doc_ids.insert(id);
    }
  }
  CHECK(blobs == doc_ids);  // all-or-nothing per memory: blob, document, graph node and edge
  auto g = db->ns("default").graph();
  auto nodes = g.nodes_of_type("memory");
  CHECK(std::set<std::string>(nodes.begin(), nodes.end()) == doc_ids);
  for (auto& id : doc_ids)
    if (id != "m0") CHECK(g.neighbors(id).size() == 1);
  CHECK(static_cast<int>(docs.size()) >= r.acked);
  CHECK(static_cast<int>(docs.size()) <= r.acked + 1);
  for (int i = 0; i < static_cast<int>(docs.size()); ++i)
    CHECK(doc_ids.count("m" + std::to_string(i)) == 1);
  // The indexes hold exactly the recovered documents, searchable at once.
  CHECK(c.count() == docs.size());
  const auto& st = c.open_stats();
  if (st.checkpoint_loaded) {
    CHECK(st.verified + st.reindexed == docs.size());
    CHECK(st.reindexed <= docs.size() - std::min<std::size_t>(docs.size(), memories / 2 + 1) + 1);
  } else {
    CHECK(st.reindexed == docs.size());
  }
  for (int qi = 0; qi < 3; ++qi) {
    auto q = vec_of(500 + qi);
    auto hits = c.vector_search(q, 5);
    std::vector<std::string> got;
    for (auto& h : hits) got.push_back(h.id);
    CHECK(got == exact_top(docs, q, 5));
  }
  std::size_t kw = c.keyword_search("memory", 100).size();
  CHECK(kw == docs.size());
  // It takes writes again, and they are indexed.
  c.upsert({.id = "after", .vectors = {vec_of(999)}});
  CHECK(c.vector_search(vec_of(999), 1).at(0).id == "after");
}

#ifdef NDEBUG
constexpr std::uint64_t sample_points = 60;
#else
constexpr std::uint64_t sample_points = 25;
#endif

std::vector<std::uint64_t> crash_points(std::uint64_t total) {
  const char* e = std::getenv("SOCHDB_CRASH_FULL");
  bool full = e != nullptr && *e == '1';
  std::vector<std::uint64_t> pts;
  std::uint64_t stride = full || total <= sample_points ? 1 : total / sample_points;
  for (std::uint64_t n = 1; n <= total + 1; ++n)
    if (stride == 1 || n <= 4 || n + 4 > total || n % stride == 0) pts.push_back(n);
  return pts;
}

void sweep(fault_op kind, const char* label) {
  fi_fs clean;
  auto full = run_workload(clean);
  REQUIRE(full.acked == memories);
  auto s = clean.stats();
  std::uint64_t total = kind == fault_op::write ? s.writes : s.file_syncs + s.dir_syncs;
  std::uint64_t crashed = 0, with_checkpoint = 0;
  for (std::uint64_t n : crash_points(total)) {
    fi_fs fs;
    fs.crash_after(kind, n);
    auto r = run_workload(fs);
    if (!fs.is_down()) continue;
    ++crashed;
    fs.simulate_power_loss();
    verify(fs, r, std::string(label) + " after op " + std::to_string(n));
    with_checkpoint += r.acked > memories / 2 + 1 ? 1 : 0;
  }
  MESSAGE(std::string(label) << ": " << crashed << " crash points verified (of ~" << total
                             << " ops), " << with_checkpoint << " after the checkpoint");
  CHECK(crashed > 0);
  CHECK(with_checkpoint > 0);
}
}  // namespace

TEST_CASE("collection crash: power cut after every write") { sweep(fault_op::write, "writes"); }
TEST_CASE("collection crash: power cut after every sync") { sweep(fault_op::sync, "syncs"); }

TEST_CASE("collection crash: clean reopen after the checkpoint re-indexes nothing") {
  fi_fs fs;
  auto r = run_workload(fs);
  REQUIRE(r.acked == memories);
  fi_db db = fi_db::open("/db", options(), fs);
  auto c = db.ns("default").collection("mem");
  CHECK(c.open_stats().checkpoint_loaded);
  CHECK(c.open_stats().reindexed == 0);
  CHECK(c.open_stats().verified == memories);
  CHECK(c.count() == memories);
}

TEST_CASE("collections: concurrent writers and searchers" * doctest::test_suite("concurrency")) {
  memory_fs fs;
  auto db = basic_database<wal_storage<memory_fs>>::open("/db", {.sync = sync_mode::off}, fs);
  auto ns = db.create_namespace("t");
  auto c = ns.create_collection({.name = "c", .dimension = dim, .hybrid = true, .flat_limit = 64});
  constexpr int per_thread = 150;
  std::atomic<bool> stop{false};
  auto writer = [&](int t) {
    for (int i = 0; i < per_thread; ++i) {
      std::string id = std::to_string(t) + "/" + std::to_string(i);
      c.upsert({.id = id,
                .vectors = {vec_of(t * 1000 + i)},
                .metadata = {{"t", t}},
                .text = "doc " + id});
      if (i % 10 == 0) c.remove(std::to_string(t) + "/" + std::to_string(i / 2));
    }
  };
  auto searcher = [&] {
    std::size_t n = 0;
    while (!stop.load()) {
      auto h = c.search({.vector = vec_of(7),
                         .k = 5,
                         .filter = metadata_filter::compile(std::string_view(R"({"t": 1})"))});
      for (auto& x : h) CHECK(x.metadata["t"] == 1);
      auto k = c.keyword_search("doc", 5);
      CHECK(k.size() <= 5);
      ++n;
    }
    CHECK(n > 0);
  };
  std::thread s1(searcher);
  std::thread w0(writer, 0), w1(writer, 1);
  w0.join();
  w1.join();
  stop = true;
  s1.join();
  std::size_t kv = 0;
  for (auto sc = db.scan_prefix(c.state()->doc_prefix()); sc.valid(); sc.next()) ++kv;
  CHECK(c.count() == kv);
  CHECK(c.keyword_search("doc", 1000).size() == kv);
}

}  // namespace test_collection_crash_test
