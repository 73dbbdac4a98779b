// Collections, namespaces, filters, search, semantic cache, atomic writer, checkpoints.
#include <sochdb/core/memory_fs.hpp>
#include <sochdb/db.hpp>
#include <sochdb/storage/wal_storage.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <set>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_collection_collection_test {

using namespace sochdb;

namespace {
using mem_db = basic_database<wal_storage<memory_fs>>;

mem_db open_db(memory_fs& fs) { return mem_db::open("/db", {.sync = sync_mode::off}, fs); }

std::vector<float> rand_vec(std::mt19937& rng, std::size_t d) {
  std::normal_distribution<float> nd;
  std::vector<float> v(d);
  for (auto& x : v) x = nd(rng);
  return v;
}

std::vector<std::string> ids(const std::vector<search_hit>& hits) {
  std::vector<std::string> out;
  for (auto& h : hits) out.push_back(h.id);
  return out;
}
}  // namespace

TEST_CASE("filter: operators, nested fields, errors") {
  nlohmann::json doc = {{"author", {{"name", "Ada"}, {"age", 36}}},
                        {"year", 2021},
                        {"tags", {"ml", "db"}},
                        {"score", 0.5}};
  auto m = [&](const char* f) {
    return metadata_filter::compile(std::string_view(f)).matches(doc);
  };
  CHECK(m(R"({})"));
  CHECK(m(R"({"year": 2021})"));
  CHECK(m(R"({"year": 2021.0})"));
  CHECK_FALSE(m(R"({"year": "2021"})"));
  CHECK(m(R"({"author.name": "Ada"})"));
  CHECK(m(R"({"author.age": {"$gt": 30, "$lte": 36}})"));
  CHECK_FALSE(m(R"({"author.age": {"$gt": 36}})"));
  CHECK(m(R"({"author.age": {"$gte": 36}})"));
  CHECK(m(R"({"score": {"$lt": 1}})"));
  CHECK_FALSE(m(R"({"score": {"$lt": "z"}})"));  // not comparable: false
  CHECK(m(R"({"author.name": {"$ne": "Bob"}})"));
  CHECK(m(R"({"missing": {"$ne": 1}})"));
  CHECK_FALSE(m(R"({"missing": {"$eq": 1}})"));
  CHECK(m(R"({"author.name": {"$in": ["Bob", "Ada"]}})"));
  CHECK(m(R"({"author.name": {"$nin": ["Bob"]}})"));
  CHECK_FALSE(m(R"({"author.name": {"$nin": ["Ada"]}})"));
  CHECK(m(R"({"tags": "ml"})"));  // array field: any element
  CHECK(m(R"({"tags": {"$in": ["x", "db"]}})"));
  CHECK(m(R"({"$or": [{"year": 1999}, {"author.name": "Ada"}]})"));
  CHECK_FALSE(m(R"({"$and": [{"year": 2021}, {"author.name": "Bob"}]})"));
  CHECK(m(R"({"$not": {"author.name": "Bob"}})"));
  CHECK(m(R"({"$and": [{"$or": [{"tags": "ml"}, {"tags": "x"}]}, {"year": {"$gte": 2020}}]})"));
  CHECK(m(R"({"author": {"name": "Ada", "age": 36}})"));  // whole-object equality
  CHECK_THROWS_AS(metadata_filter::compile(std::string_view(R"({"a": {"$regex": "x"}})")),
                  invalid_argument);
  CHECK_THROWS_AS(metadata_filter::compile(std::string_view(R"({"$and": {}})")), invalid_argument);
  CHECK_THROWS_AS(metadata_filter::compile(std::string_view(R"({"$xor": []})")), invalid_argument);
  CHECK_THROWS_AS(metadata_filter::compile(std::string_view(R"({"a": {"$in": 3}})")),
                  invalid_argument);
  CHECK_THROWS_AS(metadata_filter::compile(std::string_view(R"({"a..b": 1})")), invalid_argument);
  CHECK_THROWS_AS(metadata_filter::compile(std::string_view(R"([1])")), invalid_argument);
  CHECK_THROWS_AS(metadata_filter::compile(std::string_view("{nope")), invalid_argument);
}

TEST_CASE("document: encode/decode round trip and corruption") {
  document d{.id = "x",
             .vectors = {{1, 2, 3}, {4, 5, 6}},
             .metadata = {{"a", 1}},
             .text = "hello",
             .expires_at_ms = 99};
  auto bytes = encode_document(d, 3);
  auto back = decode_document(bytes, "x", "k");
  CHECK(back.vectors == d.vectors);
  CHECK(back.metadata == d.metadata);
  CHECK(back.text == "hello");
  CHECK(back.expires_at_ms == 99);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    CHECK_THROWS_AS(decode_document(std::string_view(bytes).substr(0, cut), "x", "k"), corruption);
  }
  std::string bad = bytes;
  bad[0] = 7;
  CHECK_THROWS_AS(decode_document(bad, "x", "k"), corruption);
  CHECK_THROWS_AS(encode_document(d, 4), dimension_mismatch);
}

TEST_CASE("names are validated") {
  for (const char* bad : {"", ".", "..", "a/b", "a\\b", "-x", ".hidden", "a b", "x\x01"}) {
    CHECK_THROWS_AS(validate_name(bad, "namespace"), invalid_argument);
  }
  CHECK_NOTHROW(validate_name("tenant_123", "namespace"));
  CHECK_NOTHROW(validate_name("a.b-c", "namespace"));
  memory_fs fs;
  auto db = open_db(fs);
  CHECK_THROWS_AS(db.create_namespace("../x"), invalid_argument);
  auto ns = db.create_namespace("t1");
  CHECK_THROWS_AS(ns.create_collection({.name = "a/b", .dimension = 2}), invalid_argument);
  CHECK_THROWS_AS(ns.create_collection({.name = "..", .dimension = 2}), invalid_argument);
  CHECK_THROWS_AS(ns.collection("../t2"), invalid_argument);
  CHECK_THROWS_AS(ns.create_collection({.name = "ok", .dimension = 0}), invalid_argument);
}

TEST_CASE("namespaces: create, list, info, labels, scoped KV, delete") {
  memory_fs fs;
  auto db = open_db(fs);
  auto a = db.create_namespace("tenant_a", {{"tier", "premium"}});
  CHECK_THROWS_AS(db.create_namespace("tenant_a"), already_exists);
  auto b = db.get_or_create_namespace("tenant_b");
  auto b2 = db.get_or_create_namespace("tenant_b");
  CHECK(db.namespace_exists("tenant_a"));
  CHECK_FALSE(db.namespace_exists("tenant_c"));
  CHECK_THROWS_AS(db.ns("tenant_c"), not_found);
  CHECK(db.list_namespaces() == std::vector<std::string>{"tenant_a", "tenant_b"});
  a.put("users/alice", "A");
  a.put("users/bob", "B");
  a.put("config", "x");
  CHECK(a.get("users/alice") == "A");
  CHECK_FALSE(b.get("users/alice"));
  std::vector<std::string> keys;
  for (auto [k, v] : a.scan("users/")) keys.emplace_back(k);
  CHECK(keys == std::vector<std::string>{"users/alice", "users/bob"});
  auto info = db.namespace_info("tenant_a");
  CHECK(info.labels.at("tier") == "premium");
  CHECK(info.keys == 3);
  CHECK(info.size_bytes > 0);
  CHECK(info.created_at_ms > 0);
  db.update_namespace("tenant_a", {{"tier", "enterprise"}});
  CHECK(db.namespace_info("tenant_a").labels.at("tier") == "enterprise");
  CHECK(db.copy_between_namespaces("tenant_a", "tenant_b", "users/") == 2);
  CHECK(b.get("users/bob") == "B");
  CHECK_FALSE(b.get("config"));
  a.del("config");
  CHECK_FALSE(a.exists("config"));
  CHECK_THROWS_AS(db.delete_namespace("tenant_a"), invalid_argument);  // not empty
  db.delete_namespace("tenant_a", true);
  CHECK_FALSE(db.namespace_exists("tenant_a"));
  CHECK_FALSE(db.scan_prefix_unchecked("\x01n/tenant_a/").valid());
  CHECK(b.get("users/alice") == "A");
  int seen = db.use_namespace("scoped", [](auto& ns) {
    ns.put("k", "v");
    return 7;
  });
  CHECK(seen == 7);
  CHECK(db.ns("scoped").get("k") == "v");
}

TEST_CASE("collections: CRUD, info, search by vector with metrics and filters") {
  memory_fs fs;
  auto db = open_db(fs);
  auto ns = db.create_namespace("t");
  auto c =
      ns.create_collection({.name = "docs", .dimension = 3, .metric = simd::metric_kind::cosine});
  CHECK_THROWS_AS(ns.create_collection({.name = "docs", .dimension = 3}), already_exists);
  c.insert("a", {1, 0, 0}, {{"year", 2020}, {"cat", "tech"}});
  c.insert("b", {0.9f, 0.1f, 0}, {{"year", 2022}, {"cat", "science"}});
  c.insert("c", {0, 1, 0}, {{"year", 2024}, {"cat", "tech"}});
  CHECK_THROWS_AS(c.insert("a", {1, 1, 1}), already_exists);
  CHECK_THROWS_AS(c.insert("z", {1, 1}), dimension_mismatch);
  CHECK_THROWS_AS(c.insert("z", {1, NAN, 1}), invalid_argument);
  CHECK(c.count() == 3);
  CHECK(ns.list_collections() == std::vector<std::string>{"docs"});
  auto hits = c.vector_search({1, 0, 0}, 3);
  REQUIRE(hits.size() == 3);
  CHECK(ids(hits) == std::vector<std::string>{"a", "b", "c"});
  CHECK(hits[0].score == doctest::Approx(1.0));
  CHECK(hits[0].distance == doctest::Approx(0.0).epsilon(1e-6));
  CHECK(hits[2].score == doctest::Approx(0.0).epsilon(1e-6));
  CHECK(hits[0].metric == simd::metric_kind::cosine);
  CHECK(hits[0].metadata["year"] == 2020);
  auto f = c.vector_search({1, 0, 0}, 3,
                           metadata_filter::compile(std::string_view(R"({"cat": "tech"})")));
  CHECK(ids(f) == std::vector<std::string>{"a", "c"});
  auto r = c.search({.vector = {1, 0, 0},
                     .k = 3,
                     .min_score = 0.5,
                     .include_vectors = true,
                     .include_metadata = false});
  CHECK(ids(r) == std::vector<std::string>{"a", "b"});
  CHECK(r[0].metadata.is_null());
  REQUIRE(r[0].vectors.size() == 1);
  c.update("c", nlohmann::json{{"year", 2025}, {"cat", "science"}});
  CHECK(c.get("c")->metadata["cat"] == "science");
  f = c.vector_search({1, 0, 0}, 3,
                      metadata_filter::compile(std::string_view(R"({"cat": "tech"})")));
  CHECK(ids(f) == std::vector<std::string>{"a"});
  c.update("a", std::nullopt, std::vector<std::vector<float>>{{0, 0, 1}});
  CHECK(c.vector_search({0, 0, 1}, 1)[0].id == "a");
  CHECK(c.remove("b"));
  CHECK_FALSE(c.remove("b"));
  CHECK_FALSE(c.get("b"));
  CHECK(c.count() == 2);
  CHECK(ids(c.vector_search({1, 0, 0}, 5)).size() == 2);
  auto info = c.info();
  CHECK(info.count == 2);
  CHECK(info.config.dimension == 3);
  CHECK(info.to_json()["metric"] == "cosine");
  CHECK_THROWS_AS((void)c.keyword_search("x"), invalid_argument);  // hybrid off
  CHECK_THROWS_AS((void)c.vector_search({1, 0}, 1), dimension_mismatch);

  auto l2 = ns.create_collection({.name = "l2", .dimension = 2, .metric = simd::metric_kind::l2});
  l2.insert("o", {0, 0});
  l2.insert("p", {3, 4});
  auto lh = l2.vector_search({0, 0}, 2);
  CHECK(lh[1].distance == doctest::Approx(5.0));
  CHECK(lh[1].score == doctest::Approx(1.0 / 6.0));
  auto ip = ns.create_collection(
      {.name = "ip", .dimension = 2, .metric = simd::metric_kind::inner_product});
  ip.insert("o", {1, 2});
  CHECK(ip.vector_search({3, 4}, 1)[0].score == doctest::Approx(11.0));

  CHECK(ns.delete_collection("docs"));
  CHECK_FALSE(ns.collection_exists("docs"));
  CHECK_THROWS_AS(ns.collection("docs"), not_found);
  CHECK_THROWS_AS(c.insert("new", {1, 0, 0}), not_found);  // an old handle
  CHECK_FALSE(db.scan_prefix_unchecked("\x01n/t/c/docs/").valid());
}

TEST_CASE("collections: writes in the caller's transaction are indexed only when it commits") {
  memory_fs fs;
  auto db = open_db(fs);
  auto ns = db.create_namespace("t");
  auto c = ns.create_collection({.name = "docs", .dimension = 2});
  {
    auto txn = db.begin();
    c.insert(txn, {.id = "a", .vectors = {{1, 0}}});
    txn.put("other", "x");
    CHECK(c.count() == 0);
    CHECK(c.vector_search({1, 0}, 5).empty());
    txn.abort();
  }
  CHECK(c.count() == 0);
  CHECK_FALSE(db.get("other"));
  {
    auto txn = db.begin();
    c.insert(txn, {.id = "a", .vectors = {{1, 0}}});
    txn.put("other", "x");
    CHECK(c.get(txn, "a").has_value());
    txn.commit();
  }
  CHECK(c.count() == 1);
  CHECK(c.vector_search({1, 0}, 5).size() == 1);
  // A conflicting transaction that fails leaves no trace in the index.
  auto t1 = db.begin();
  auto t2 = db.begin();
  c.upsert(t1, {.id = "a", .vectors = {{0, 1}}});
  c.upsert(t2, {.id = "a", .vectors = {{-1, 0}}, .metadata = {{"v", 2}}});
  t1.commit();
  CHECK_THROWS_AS(t2.commit(), transaction_conflict);
  auto h = c.vector_search({0, 1}, 1);
  REQUIRE(h.size() == 1);
  CHECK(h[0].score == doctest::Approx(1.0));
  CHECK(c.get("a")->metadata.empty());
}

TEST_CASE("collections: batch insert grows flat -> HNSW, multi-vector aggregation") {
  memory_fs fs;
  auto db = open_db(fs);
  auto ns = db.create_namespace("t");
  auto c = ns.create_collection({.name = "v", .dimension = 8, .flat_limit = 300});
  std::mt19937 rng(7);
  std::vector<document> docs;
  for (int i = 0; i < 600; ++i)
    docs.push_back(
        {.id = "d" + std::to_string(i), .vectors = {rand_vec(rng, 8)}, .metadata = {{"i", i}}});
  c.insert_batch(std::span<const document>(docs.data(), 250));
  CHECK(c.info().index == vector::index_kind::flat);
  c.insert_batch(std::span<const document>(docs.data() + 250, 350));
  CHECK(c.info().index == vector::index_kind::hnsw);
  CHECK(c.count() == 600);
  auto h = c.vector_search(docs[123].vectors[0], 1);
  CHECK(h[0].id == "d123");
  auto f =
      c.search({.vector = docs[5].vectors[0],
                .k = 10,
                .filter = metadata_filter::compile(std::string_view(R"({"i": {"$lt": 20}})"))});
  CHECK(f.size() == 10);
  for (auto& x : f) CHECK(x.metadata["i"].get<int>() < 20);
  CHECK(f[0].id == "d5");

  auto m = ns.create_collection({.name = "multi", .dimension = 2, .metric = simd::metric_kind::l2});
  m.insert_multi("near_far", {{0, 0}, {100, 100}});
  m.insert_multi("mid", {{0.1f, 0.1f}, {0.2f, 0.2f}});
  auto mx = m.search({.vector = {0, 0}, .k = 2});
  CHECK(ids(mx) == std::vector<std::string>{"near_far", "mid"});
  auto mean = m.search({.vector = {0, 0}, .k = 2, .aggregate = multi_vector_aggregate::mean});
  CHECK(ids(mean) == std::vector<std::string>{"mid", "near_far"});
  auto first = m.search({.vector = {100, 100}, .k = 2, .aggregate = multi_vector_aggregate::first});
  CHECK(first[0].id == "mid");
}

TEST_CASE("collections: updates and deletes do not grow the graph without bound") {
  memory_fs fs;
  auto db = open_db(fs);
  auto ns = db.create_namespace("t");
  auto c = ns.create_collection({.name = "v", .dimension = 8, .flat_limit = 300});
  std::mt19937 rng(11);
  std::vector<document> docs;
  for (int i = 0; i < 500; ++i)
    docs.push_back({.id = "d" + std::to_string(i), .vectors = {rand_vec(rng, 8)}});
  c.insert_batch(docs);
  REQUIRE(c.info().index == vector::index_kind::hnsw);
  // Ten rounds of re-embedding every document: 5000 replaced vectors. Without compaction the
  // graph would hold 5500 nodes; with it the tombstones stay under a fifth of the graph.
  for (int round = 0; round < 10; ++round) {
    for (auto& d : docs) d.vectors[0] = rand_vec(rng, 8);
    c.upsert_batch(docs);
    auto info = c.info();
    CHECK(info.vectors == 500);
    CHECK(info.tombstones <= std::max<std::size_t>(64, (500 + info.tombstones) / 5));
  }
  CHECK(c.info().compactions >= 5);
  for (int i = 0; i < 500; i += 50) {
    auto h = c.vector_search(docs[i].vectors[0], 1);
    REQUIRE(h.size() == 1);
    CHECK(h[0].id == docs[i].id);  // the current vector, not a stale one
  }
  for (int i = 0; i < 400; ++i) c.remove(docs[i].id);
  CHECK(c.count() == 100);
  CHECK(c.info().tombstones <= 64);
  auto all = c.vector_search(docs[450].vectors[0], 100);
  CHECK(all.size() == 100);
  for (auto& h : all) CHECK(std::stoi(h.id.substr(1)) >= 400);
}

TEST_CASE("collections: keyword and hybrid search") {
  memory_fs fs;
  auto db = open_db(fs);
  auto ns = db.create_namespace("t");
  auto c =
      ns.create_collection({.name = "a", .dimension = 2, .hybrid = true, .content_field = "body"});
  c.insert({.id = "1",
            .vectors = {{1, 0}},
            .metadata = {{"cat", "x"}},
            .text = "machine learning tutorial"});
  c.insert({.id = "2",
            .vectors = {{0, 1}},
            .metadata = {{"cat", "y"}, {"body", "cooking with machine precision"}}});
  c.insert(
      {.id = "3", .vectors = {{0.7f, 0.7f}}, .metadata = {{"cat", "x"}}, .text = "deep learning"});
  auto k = c.keyword_search("machine learning", 10);
  REQUIRE(k.size() == 3);
  CHECK(k[0].id == "1");
  CHECK(std::isnan(k[0].distance));
  CHECK(k[0].keyword_score == k[0].score);
  auto kf = c.keyword_search("machine", 10,
                             metadata_filter::compile(std::string_view(R"({"cat": "y"})")));
  CHECK(ids(kf) == std::vector<std::string>{"2"});
  auto h = c.hybrid_search({0, 1}, "learning", 3);
  REQUIRE(h.size() == 3);
  auto hid = ids(h);
  std::set<std::string> all(hid.begin(), hid.end());
  CHECK(all == std::set<std::string>{"1", "2", "3"});
  CHECK(h[0].id == "3");                                 // second in both lists beats first-in-one
  auto w = c.hybrid_search({0, 1}, "learning", 3, 1.0);  // pure vector weight
  CHECK(w[0].id == "2");
  auto w0 = c.hybrid_search({0, 1}, "tutorial", 3, 0.0);  // pure keyword weight
  CHECK(w0[0].id == "1");
  c.remove("1");
  CHECK(ids(c.keyword_search("tutorial", 5)).empty());
  CHECK_THROWS_AS((void)c.search({}), invalid_argument);
}

TEST_CASE("reopen: checkpoint loaded without rebuild, same results; caught up after raw changes") {
  memory_fs fs;
  std::mt19937 rng(11);
  std::vector<document> docs;
  for (int i = 0; i < 400; ++i)
    docs.push_back({.id = "d" + std::to_string(i),
                    .vectors = {rand_vec(rng, 6)},
                    .metadata = {{"i", i}},
                    .text = "word" + std::to_string(i % 7) + " common"});
  auto q = rand_vec(rng, 6);
  std::vector<std::string> before, before_kw;
  {
    auto db = open_db(fs);
    auto c = db.create_namespace("t").create_collection(
        {.name = "c", .dimension = 6, .hybrid = true, .flat_limit = 256});
    c.insert_batch(docs);
    CHECK(c.open_stats().reindexed == 0);
    before = ids(c.vector_search(q, 10));
    before_kw = ids(c.keyword_search("word3", 10));
    db.close();  // checkpoints
  }
  {
    auto db = open_db(fs);
    auto c = db.ns("t").collection("c");
    CHECK(c.open_stats().checkpoint_loaded);
    CHECK(c.open_stats().checkpoint_error == "");
    CHECK(c.open_stats().reindexed == 0);
    CHECK(c.open_stats().verified == 400);
    CHECK(ids(c.vector_search(q, 10)) == before);
    CHECK(ids(c.keyword_search("word3", 10)) == before_kw);
    CHECK(c.info().index == vector::index_kind::hnsw);
    // Changes after the checkpoint, some through the raw KV API (bypassing the indexes).
    c.remove("d1");
    c.upsert({.id = "new", .vectors = {q}, .text = "fresh"});
    db.del(c.state()->doc_key("d2"));
    c.checkpoint();
    db.del(c.state()->doc_key("d3"));  // after the checkpoint: only the catch-up sees it
  }
  {
    auto db = open_db(fs);
    auto c = db.ns("t").collection("c");
    CHECK(c.open_stats().checkpoint_loaded);
    CHECK(c.open_stats().reindexed == 0);
    CHECK(c.open_stats().removed == 2);  // d2 and d3, deleted behind the index's back
    CHECK(c.count() == 398);             // 400 - d1, d2, d3 + new
    CHECK(c.vector_search(q, 1)[0].id == "new");
    CHECK(ids(c.keyword_search("fresh", 5)) == std::vector<std::string>{"new"});
    for (auto& id : ids(c.vector_search(q, 50))) CHECK((id != "d1" && id != "d2" && id != "d3"));
  }
}

TEST_CASE("reopen: damaged or mismatched checkpoints are rebuilt from the KV store") {
  memory_fs fs;
  std::vector<std::string> before;
  {
    auto db = open_db(fs);
    auto c = db.create_namespace("t").create_collection({.name = "c", .dimension = 2});
    c.insert("a", {1, 0});
    c.insert("b", {0, 1});
    before = ids(c.vector_search({1, 0}, 2));
  }
  std::string path = "/db/coll+t+c+c/CHECKPOINT";
  REQUIRE(fs.exists(path));
  auto bytes = read_file(fs, path);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    write_file(fs, path, bad);
    auto db = open_db(fs);
    auto c = db.ns("t").collection("c");
    CHECK_FALSE(c.open_stats().checkpoint_loaded);
    CHECK(c.open_stats().checkpoint_error != "");
    CHECK(c.open_stats().reindexed == 2);
    CHECK(ids(c.vector_search({1, 0}, 2)) == before);
    db.close();
    write_file(fs, path, bytes);
  }
  fs.remove(path);
  auto db = open_db(fs);
  auto c = db.ns("t").collection("c");
  CHECK(c.open_stats().reindexed == 2);
  CHECK(ids(c.vector_search({1, 0}, 2)) == before);
}

TEST_CASE("semantic cache: threshold, TTL, delete, clear, stats") {
  memory_fs fs;
  auto db = open_db(fs);
  std::vector<float> e1{1, 0, 0}, e2{0, 1, 0};
  db.cache_put("llm", "What is Python?", "A language.", e1, std::chrono::seconds(0),
               nlohmann::json{{"model", "m"}});
  db.cache_put("llm", "Weather?", "Sunny.", e2, std::chrono::milliseconds(30));
  auto hit = db.cache_get("llm", std::vector<float>{0.95f, 0.05f, 0}, 0.9);
  REQUIRE(hit.has_value());
  CHECK(hit->key == "What is Python?");
  CHECK(hit->value == "A language.");
  CHECK(hit->metadata["model"] == "m");
  double expect = 0.95 / std::sqrt(0.95 * 0.95 + 0.05 * 0.05);
  CHECK(hit->score == doctest::Approx(expect).epsilon(1e-5));
  CHECK_FALSE(db.cache_get("llm", std::vector<float>{0.5f, 0.5f, 0.7f}, 0.9));
  CHECK(db.cache_get("llm", std::vector<float>{0, 1, 0}, 0.9).has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  CHECK_FALSE(db.cache_get("llm", std::vector<float>{0, 1, 0}, 0.9));  // expired
  auto s = db.cache_stats("llm");
  CHECK(s.hits == 2);
  CHECK(s.misses == 2);
  CHECK(s.hit_rate == doctest::Approx(0.5));
  CHECK(s.size_bytes > 0);
  CHECK_THROWS_AS(db.cache_get("llm", std::vector<float>{1, 0}, 0.9), dimension_mismatch);
  CHECK(db.cache_delete("llm", "What is Python?"));
  CHECK_FALSE(db.cache_get("llm", e1, 0.9));
  db.cache_put("llm", "k2", "v2", e1);
  CHECK(db.cache_clear("llm") >= 1);
  CHECK_FALSE(db.cache_get("llm", e1, 0.1));
  CHECK(db.cache_stats("llm").count == 0);
  CHECK_FALSE(db.cache_get("never", e1, 0.1));
}

TEST_CASE("isolation: no read API of one namespace sees another's data") {
  memory_fs fs;
  auto db = open_db(fs);
  auto a = db.create_namespace("a");
  auto b = db.create_namespace("b");
  std::vector<float> v{1, 0};
  a.put("secret", "A");
  auto ca = a.create_collection({.name = "docs", .dimension = 2, .hybrid = true});
  ca.insert(
      {.id = "s1", .vectors = {v}, .metadata = {{"owner", "a"}}, .text = "classified payload"});
  a.cache_put("c", "q", "answer-a", v);
  // b has same-named collection and cache, empty.
  auto cb = b.create_collection({.name = "docs", .dimension = 2, .hybrid = true});
  CHECK_FALSE(b.get("secret"));
  CHECK_FALSE(b.exists("secret"));
  CHECK_FALSE(b.scan().valid());
  CHECK_FALSE(b.scan("sec").valid());
  CHECK_FALSE(cb.get("s1"));
  CHECK(cb.vector_search(v, 10).empty());
  CHECK(cb.keyword_search("classified", 10).empty());
  CHECK(cb.hybrid_search(v, "classified payload", 10).empty());
  CHECK(cb.search({.vector = v,
                   .k = 10,
                   .filter = metadata_filter::compile(std::string_view(R"({"owner": "a"})"))})
            .empty());
  CHECK(cb.count() == 0);
  CHECK_FALSE(b.cache_get("c", v, -1.0));
  CHECK(b.cache_stats_of("c").count == 0);
  CHECK_FALSE(b.cache_delete("c", "q"));
  CHECK_THROWS_AS(b.collection("missing"), not_found);
  CHECK(b.list_collections() == std::vector<std::string>{"docs"});
  CHECK(b.info().keys < a.info().keys);
  auto ga = a.graph();
  ga.add_node("alice", "person", {{"secret", true}});
  ga.add_node("proj", "project");
  ga.add_edge("alice", "works_on", "proj");
  auto gb = b.graph();
  CHECK_FALSE(gb.get_node("alice"));
  CHECK_FALSE(gb.get_edge("alice", "works_on", "proj"));
  CHECK(gb.neighbors("alice").empty());
  CHECK(gb.neighbors("proj", direction::incoming).empty());
  CHECK(gb.nodes_of_type("person").empty());
  bool path_found = false;
  try {
    path_found = gb.find_path("alice", "proj").has_value();
  } catch (const not_found&) {
  }
  CHECK_FALSE(path_found);
  CHECK_THROWS_AS((void)gb.traverse("alice"), not_found);
  CHECK(ga.get_node("alice").has_value());
  CHECK(ga.neighbors("alice").size() == 1);
  // Key-shaped attempts at escaping the prefix stay inside it.
  CHECK_FALSE(b.get("../a/k/secret"));
  CHECK_FALSE(b.get("\x01n/a/k/secret"));
  CHECK_FALSE(cb.get("../../a/c/docs/d/s1"));
  // And a still sees its own.
  CHECK(a.get("secret") == "A");
  CHECK(ca.vector_search(v, 1).size() == 1);
  CHECK(a.cache_get("c", v, 0.5)->value == "answer-a");
}

TEST_CASE("atomic writer: blob + embedding + custom op commit together or not at all") {
  memory_fs fs;
  auto db = open_db(fs);
  auto ns = db.create_namespace("default");
  auto c = ns.create_collection({.name = "memories", .dimension = 2});
  atomic_memory_writer w(db);
  using op = basic_memory_op<mem_db>;
  ns.graph().add_node("project_x", "project");
  auto r = w.write_atomic(
      "m1", {op::put_blob("memories/m1/content", "notes"),
             op::put_embedding("default", "memories", "m1", {1, 0}, {{"type", "meeting"}}),
             op::create_node("default", "m1", "memory", {{"importance", "high"}}),
             op::create_edge("default", "m1", "relates_to", "project_x"),
             op::custom("edge", [](auto&, auto& t) { t.put("graph/m1->p", "relates_to"); })});
  CHECK(r.status == "committed");
  CHECK(r.ops_applied == 5);
  CHECK(r.intent_id > 0);
  CHECK(ns.graph().get_node("m1")->properties["importance"] == "high");
  CHECK(ns.graph().neighbors("m1").size() == 1);
  CHECK(db.get("memories/m1/content") == "notes");
  CHECK(db.get("graph/m1->p") == "relates_to");
  CHECK(c.vector_search({1, 0}, 1)[0].id == "m1");
  // A failing op: nothing of the memory is visible anywhere.
  CHECK_THROWS_AS(
      w.write_atomic("m2",
                     {op::put_blob("memories/m2/content", "x"),
                      op::put_embedding("default", "memories", "m2", {0, 1}),
                      op::create_node("default", "m2", "memory"),
                      op::custom("boom", [](auto&, auto&) { throw invalid_argument("boom"); })}),
      invalid_argument);
  CHECK_FALSE(db.get("memories/m2/content"));
  CHECK_FALSE(c.get("m2"));
  CHECK_FALSE(ns.graph().get_node("m2"));
  // A graph op that fails (edge to a missing node) also undoes the blob and the document.
  CHECK_THROWS_AS(w.write_atomic("m4", {op::put_blob("memories/m4/content", "x"),
                                        op::put_embedding("default", "memories", "m4", {0, 1}),
                                        op::create_node("default", "m4", "memory"),
                                        op::create_edge("default", "m4", "relates_to", "nowhere")}),
                  not_found);
  CHECK_FALSE(db.get("memories/m4/content"));
  CHECK_FALSE(c.get("m4"));
  CHECK_FALSE(ns.graph().get_node("m4"));
  CHECK(c.count() == 1);
  CHECK(c.vector_search({0, 1}, 5).size() == 1);
  CHECK_THROWS_AS(w.write_atomic("m3", {op::put_embedding("default", "nope", "m3", {0, 1})}),
                  not_found);
}

TEST_CASE("filters: repeated filters use the cached result map, invalidated by commits") {
  memory_fs fs;
  auto db = open_db(fs);
  auto c =
      db.create_namespace("t").create_collection({.name = "c", .dimension = 2, .hybrid = true});
  std::vector<document> docs;
  for (int i = 0; i < 2100; ++i)
    docs.push_back({.id = std::to_string(i),
                    .vectors = {{1.f, float(i) / 2100.f}},
                    .metadata = {{"g", i % 50}},
                    .text = "common"});
  c.insert_batch(docs);
  auto f = metadata_filter::compile(std::string_view(R"({"g": 7})"));
  for (int round = 0; round < 3; ++round) {  // first: direct; second and third: cached map
    auto h = c.search({.vector = {1, 0}, .k = 100, .filter = f});
    CHECK(h.size() == 42);
    for (auto& x : h) CHECK(x.metadata["g"] == 7);
    CHECK(c.search({.text = "common", .k = 100, .filter = f}).size() == 42);
  }
  c.update("8", nlohmann::json{{"g", 7}});
  c.update("7", nlohmann::json{{"g", 1}});
  c.remove("57");
  auto h = c.search({.vector = {1, 0}, .k = 100, .filter = f});
  std::set<std::string> got;
  for (auto& x : h) got.insert(x.id);
  CHECK(got.size() == 41);
  CHECK(got.count("8") == 1);
  CHECK(got.count("7") == 0);
  CHECK(got.count("57") == 0);
}

}  // namespace test_collection_collection_test
