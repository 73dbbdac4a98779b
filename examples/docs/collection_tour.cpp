// Every code block of docs/collections.md, as a program (run as a test: suite `docs`).
#include <sochdb/sochdb.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

static void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "collection_tour: failed: %s\n", what);
    std::exit(1);
  }
}
#define EXPECT(x) expect((x), #x)

int main() {
  std::string dir = (std::filesystem::temp_directory_path() / "sochdb-collection-tour").string();
  std::filesystem::remove_all(dir);
  {
    // [namespaces]
    auto db = sochdb::database::open(dir);
    auto ns = db.create_namespace("tenant_123", {{"tier", "premium"}});
    ns.put("users/alice", "data");                 // stored under the namespace's prefix
    for (auto [key, value] : ns.scan("users/")) {  // keys come back without the prefix
      std::printf("%.*s = %.*s\n", int(key.size()), key.data(), int(value.size()), value.data());
    }
    auto info = db.namespace_info("tenant_123");  // created_at_ms, labels, keys, size_bytes
    EXPECT(info.labels["tier"] == "premium");
    EXPECT(!db.get_or_create_namespace("tenant_456").get("users/alice"));  // isolated
    // [namespaces]

    // [collections]
    auto docs = ns.create_collection({.name = "articles",
                                      .dimension = 3,
                                      .metric = sochdb::simd::metric_kind::cosine,
                                      .hybrid = true,  // keep a BM25 index of the text
                                      .content_field = "body"});
    docs.insert("a1", {1, 0, 0}, {{"year", 2021}, {"author", {{"name", "Ada"}}}},
                "machine learning tutorial");
    docs.insert({.id = "a2",
                 .vectors = {{0.8f, 0.2f, 0}},
                 .metadata = {{"year", 2024}, {"body", "cooking with machine precision"}}});
    docs.insert_multi("a3", {{0, 1, 0}, {0, 0.9f, 0.1f}}, {{"year", 2024}}, "deep learning notes");
    EXPECT(docs.count() == 3);
    // [collections]

    // [search]
    auto hits = docs.search({.vector = {1, 0, 0},
                             .k = 2,
                             .filter = sochdb::metadata_filter::compile(
                                 std::string_view(R"({"year": {"$gte": 2022}})"))});
    for (auto& h : hits)  // score: cosine similarity; distance: 1 - score
      std::printf("%s score %.3f distance %.3f\n", h.id.c_str(), h.score, h.distance);
    EXPECT(hits.size() == 2 && hits[0].id == "a2");
    auto kw = docs.keyword_search("machine learning", 10);           // BM25
    auto both = docs.hybrid_search({0, 1, 0}, "learning", 3);        // RRF fusion
    auto blend = docs.hybrid_search({0, 1, 0}, "learning", 3, 0.7);  // 0.7 vector + 0.3 BM25
    EXPECT(kw[0].id == "a1" && both[0].id == "a3" && blend.size() == 3);
    // [search]

    // [transactions]
    db.transaction([&](sochdb::transaction& txn) {
      txn.put("audit/last", "a4");  // any other write of the same transaction
      docs.insert(txn, {.id = "a4", .vectors = {{0, 0, 1}}, .metadata = {{"year", 2025}}});
    });  // indexed when (and only if) the transaction commits
    EXPECT(docs.vector_search({0, 0, 1}, 1)[0].id == "a4");
    // [transactions]

    // [cache]
    std::vector<float> q1{0.1f, 0.9f, 0.2f};
    db.cache_put("llm", "What is Python?", "A programming language.", q1, std::chrono::hours(1));
    auto cached = db.cache_get("llm", std::vector<float>{0.12f, 0.88f, 0.21f}, 0.95);
    if (cached) std::printf("hit: %s (cosine %.4f)\n", cached->value.c_str(), cached->score);
    auto stats = db.cache_stats("llm");  // count, hits, misses, hit_rate, size_bytes
    EXPECT(cached && stats.hits == 1);
    // [cache]

    // [atomic]
    sochdb::atomic_memory_writer writer(db);
    auto r = writer.write_atomic(
        "memory_123",
        {sochdb::memory_op::put_blob("memories/memory_123/content", "Meeting notes ..."),
         sochdb::memory_op::put_embedding("tenant_123", "articles", "memory_123", {0.5f, 0.5f, 0},
                                          {{"type", "meeting"}}),
         sochdb::memory_op::custom("edge", [](auto&, sochdb::transaction& txn) {
           txn.put("edges/memory_123/relates_to/project_x", "");  // graph writes plug in here
         })});
    EXPECT(r.status == "committed" && r.ops_applied == 3);
    // [atomic]
  }
  {
    // [reopen]
    auto db = sochdb::database::open(dir);
    auto docs = db.ns("tenant_123").collection("articles");
    EXPECT(docs.open_stats().checkpoint_loaded);  // indexes loaded, not rebuilt
    EXPECT(docs.open_stats().reindexed == 0);
    EXPECT(docs.count() == 5);
    // [reopen]
  }
  std::filesystem::remove_all(dir);
  return 0;
}
