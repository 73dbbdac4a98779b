// quickstart — the demo the README runs: the durable key-value store and a transaction, then
// vector, filtered and hybrid search over a bundled corpus, a graph query, a semantic-cache hit,
// and a token-budgeted TOON context.
//
// Works in ./sochdb-demo (or the directory given as the first argument) and can be run again:
// each run reopens the database, sees what the previous run left, and updates it. The corpus
// (examples/common/demo_corpus.hpp, 320 short notes on eight topics) is generated
// deterministically and embedded by a feature-hashing embedder (examples/common/
// hash_embedder.hpp), so the demo needs no model and prints the same results everywhere.
#include <sochdb/sochdb.hpp>

#include "../common/demo_corpus.hpp"
#include "../common/hash_embedder.hpp"

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using sochdb::toon::value;

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sochdb;
  namespace vec = sochdb::vector;
  std::string dir = argc > 1 ? argv[1] : "sochdb-demo";
  try {
    std::printf("sochdb %s quickstart in %s\n", version_string, dir.c_str());

    // 1. Open (or create) the database. Defaults: files on disk, every commit fsynced before
    //    put() returns, recovery from the write-ahead log on open.
    auto db = database::open(dir);
    auto runs = db.get("demo:runs");
    int run = runs ? std::stoi(*runs) + 1 : 1;
    db.put("demo:runs", std::to_string(run));
    if (run == 1) {
      std::printf("\n[kv] run #1: a new database\n");
    } else {
      std::printf("\n[kv] run #%d: the run counter survived the %d earlier run(s)\n", run, run - 1);
    }

    // 2. An atomic batch: the whole corpus becomes visible at once, or not at all.
    auto t0 = std::chrono::steady_clock::now();
    const auto corpus = sochdb_examples::demo_corpus();
    std::vector<std::string> values;
    for (const auto& d : corpus) {
      values.push_back(value{
          {"topic", d.topic},
          {"year", d.year},
          {"source", d.source},
          {"text", d.text}}.dump());
    }
    std::vector<std::pair<std::string_view, std::string_view>> batch;
    for (std::size_t i = 0; i < corpus.size(); ++i) batch.emplace_back(corpus[i].id, values[i]);
    db.put_batch(batch);
    db.put("session:scratch", "expires soon", std::chrono::seconds(30));  // TTL
    std::printf("[kv] %zu documents committed in one atomic batch (%.1f ms)\n", batch.size(),
                ms_since(t0));
    std::size_t stored = 0;
    for (auto [key, v] : db.scan_prefix("doc:")) stored += key.size() > 0;
    std::printf("[kv] scan_prefix(\"doc:\") streams %zu documents in key order\n", stored);

    // 3. A serializable transaction: move credits between two accounts atomically.
    db.transaction([&](auto& txn) {
      long long a = std::stoll(txn.get("acct:alice").value_or("100"));
      long long b = std::stoll(txn.get("acct:bob").value_or("100"));
      txn.put("acct:alice", std::to_string(a - 10));
      txn.put("acct:bob", std::to_string(b + 10));
    });
    std::printf("[txn] alice %s, bob %s (10 credits moved per run, sum always 200)\n",
                db.get("acct:alice")->c_str(), db.get("acct:bob")->c_str());

    // 4. Index the documents: embeddings in an HNSW graph (cosine), words in BM25.
    t0 = std::chrono::steady_clock::now();
    sochdb_examples::hash_embedder embed(512);
    vec::hnsw_index<simd::cosine> index({.dimension = embed.dimension(), .m = 16});
    bm25_index keywords;
    std::vector<float> vectors;
    std::vector<vec::label_t> labels;
    for (std::size_t i = 0; i < corpus.size(); ++i) {
      auto v = embed.embed(corpus[i].text);
      vectors.insert(vectors.end(), v.begin(), v.end());
      labels.push_back(i);
      keywords.add(i, corpus[i].text);
    }
    index.add(vectors.data(), labels.data(), labels.size());
    std::printf("\n[index] %zu embeddings (512-d feature hashing) in HNSW + BM25 in %.1f ms\n",
                labels.size(), ms_since(t0));

    auto show = [&](const char* what, std::uint64_t label, double score) {
      const auto& d = corpus[label];
      std::printf("  %s %s %.3f  [%s, %s %d] %s\n", d.id.c_str(), what, score, d.topic.c_str(),
                  d.source.c_str(), d.year, d.title.c_str());
    };
    const std::string question = "how do acknowledged writes survive a power cut";

    // 5. Vector search: nearest documents to the question's embedding.
    auto q = embed.embed(question);
    auto hits = index.search(q, 3, {.ef = 64});
    std::printf("\n[vector] \"%s\"\n", question.c_str());
    for (auto& h : hits) show("cos", h.label, 1.0 - h.score);

    // 6. Filtered search: the same query, only storage documents from 2020 on that are not
    //    talks (the filter runs inside the graph search, so it still returns k results).
    auto recent_papers = [&](vec::label_t l) {
      return corpus[l].topic == "storage" && corpus[l].source != "talk" && corpus[l].year >= 2020;
    };
    auto filtered = index.search(q, 3, {.ef = 64}, recent_papers);
    std::printf(
        "\n[filtered] the same query, topic = storage AND source != talk AND year >= 2020\n");
    for (auto& h : filtered)
      if (!recent_papers(h.label)) throw corruption("filter not applied");
    for (auto& h : filtered) show("cos", h.label, 1.0 - h.score);

    // 7. Hybrid search: BM25 keywords fused with vectors by reciprocal rank fusion.
    const std::string hybrid_q = "merge ranked lists keyword vector";
    auto qv = embed.embed(hybrid_q);
    std::vector<scored_id> by_vector;
    for (auto& h : index.search(qv, 20, {.ef = 64})) by_vector.push_back({h.label, 1.0 - h.score});
    std::vector<std::vector<scored_id>> lists = {by_vector, keywords.search(hybrid_q, 20)};
    auto fused = rrf_fuse(lists, 3);
    std::printf("\n[hybrid] \"%s\" (BM25 + vector, RRF)\n", hybrid_q.c_str());
    for (auto& h : fused) show("rrf", h.id, h.score);

    // 8. A graph query: how the storage concepts of the corpus connect (put_node / add_edge
    //    replace on a second run), then a breadth-first traversal from "group commit".
    auto ns = db.get_or_create_namespace("demo");
    graph_store g(db, {.ns = "demo"});
    const char* concepts[][2] = {{"group_commit", "technique"}, {"write_ahead_log", "component"},
                                 {"fsync", "syscall"},          {"memtable", "component"},
                                 {"lsm_tree", "structure"},     {"sstable", "file"}};
    for (auto& c : concepts) g.put_node(c[0], c[1]);
    g.add_edge("group_commit", "batches", "fsync");
    g.add_edge("write_ahead_log", "calls", "fsync");
    g.add_edge("group_commit", "speeds_up", "write_ahead_log");
    g.add_edge("memtable", "flushes_to", "sstable");
    g.add_edge("lsm_tree", "contains", "memtable");
    g.add_edge("lsm_tree", "contains", "sstable");
    auto t = g.traverse("group_commit", {.max_depth = 2});
    std::printf("\n[graph] traverse(\"group_commit\", depth 2):");
    for (std::size_t i = 0; i < t.nodes.size(); ++i)
      std::printf(" %s(d%zu)", t.nodes[i].id.c_str(), t.depths[i]);
    auto into_fsync = g.neighbors("fsync", direction::incoming);
    std::printf("\n[graph] who calls or batches fsync:");
    for (auto& n : into_fsync) std::printf(" %s", n.id.c_str());
    std::printf("\n");

    // 9. A semantic cache: an answer stored for one question is found for a paraphrase
    //    (cosine similarity of the embeddings >= 0.8), not for an unrelated question.
    ns.cache_put("answers", question, "The WAL is fsynced before the commit returns.",
                 embed.embed(question), std::chrono::hours(1));
    const std::string paraphrase = "do acknowledged writes survive a power cut";
    auto hit = ns.cache_get("answers", embed.embed(paraphrase), 0.8);
    auto miss = ns.cache_get("answers", embed.embed("which index finds nearest neighbors"), 0.8);
    if (!hit || miss) throw corruption("semantic cache: expected one hit and one miss");
    std::printf("\n[cache] \"%s\" -> hit (similarity %.2f): %s\n", paraphrase.c_str(), hit->score,
                hit->value.c_str());
    std::printf("[cache] \"which index finds nearest neighbors\" -> miss\n");

    // 10. Hand the results to a model: rows packed into a token budget, as TOON and as JSON.
    const std::size_t budget = 300;
    approx_token_counter tokens;
    value rows = value::array();
    for (auto& h : index.search(q, 12, {.ef = 64})) {
      const auto& d = corpus[h.label];
      value row = {{"id", d.id}, {"topic", d.topic}, {"year", d.year}, {"title", d.title}};
      value trial = rows;
      trial.push_back(row);
      if (tokens.count(toon::encode(value{{"documents", trial}})) > budget) break;
      rows = std::move(trial);
    }
    value context = {{"question", question}, {"documents", rows}};
    std::string as_toon = toon::encode(context);
    std::string as_json = context.dump();
    std::size_t t_toon = tokens.count(as_toon), t_json = tokens.count(as_json);
    std::printf("\n[context] %zu documents fit a %zu-token budget as TOON:\n%s\n", rows.size(),
                budget, as_toon.c_str());
    std::printf("\n[context] ~%zu tokens as TOON vs ~%zu as compact JSON (%.0f%% fewer)\n", t_toon,
                t_json, 100.0 * (1.0 - static_cast<double>(t_toon) / static_cast<double>(t_json)));
    if (toon::decode(as_toon) != context) throw corruption("TOON round trip failed");

    auto s = db.stats();
    std::printf("\n[stats] %llu commits this session in %llu group commits, %llu fsyncs\n",
                static_cast<unsigned long long>(s.commits),
                static_cast<unsigned long long>(s.commit_groups),
                static_cast<unsigned long long>(s.storage.wal_syncs));
    db.close();
    std::printf(
        "\ndone. Run it again: the data is still there. Explore it with\n"
        "  build/examples/sochdb --db %s --format table scan doc:00 --limit 5\n",
        dir.c_str());
    return 0;
  } catch (const error& e) {
    std::fprintf(stderr, "quickstart: %s\n", e.what());
    return 1;
  }
}
