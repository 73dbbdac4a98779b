// rag_pipeline — retrieval-augmented generation end to end with a collection and the context
// builder: chunk documents, embed the chunks, store them with metadata in a hybrid collection
// (vectors + BM25), retrieve for a question with hybrid search and a metadata filter, and pack
// the prompt for the model under a token budget (one chunk per source document). A semantic cache
// in front answers a paraphrased question without retrieving again.
//
// Works in ./rag-demo (or the directory given as the first argument) and can be run again: the
// chunks are upserted, so a second run finds the same collection and the same answers. The
// corpus is examples/common/demo_corpus.hpp; embeddings come from the feature-hashing embedder
// (examples/common/hash_embedder.hpp): swap in a real model's embeddings by changing `embed`.
#include <sochdb/sochdb.hpp>

#include "../common/demo_corpus.hpp"
#include "../common/hash_embedder.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace {

/// Splits a text into chunks of whole sentences of at most about `max_chars` characters (a
/// sentence longer than that is a chunk of its own).
std::vector<std::string> chunk_sentences(std::string_view text, std::size_t max_chars) {
  std::vector<std::string> chunks;
  std::string cur;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find_first_of(".!?", start);
    end = end == std::string_view::npos ? text.size() : end + 1;
    std::string_view sentence = text.substr(start, end - start);
    while (!sentence.empty() && sentence.front() == ' ') sentence.remove_prefix(1);
    if (!cur.empty() && cur.size() + 1 + sentence.size() > max_chars) {
      chunks.push_back(std::move(cur));
      cur.clear();
    }
    if (!sentence.empty()) cur += (cur.empty() ? "" : " ") + std::string(sentence);
    start = end;
  }
  if (!cur.empty()) chunks.push_back(std::move(cur));
  return chunks;
}

/// Hybrid search (vector + BM25, reciprocal rank fusion) keeping the best chunk of each
/// document: neighbouring chunks of one document would otherwise crowd out other sources.
template <class Collection>
std::vector<sochdb::search_hit> best_chunk_per_document(const Collection& chunks,
                                                        std::vector<float> vector,
                                                        const std::string& text, std::size_t k,
                                                        const sochdb::metadata_filter& filter) {
  sochdb::search_request req{
      .vector = std::move(vector), .text = text, .k = 4 * k, .filter = filter};
  std::vector<sochdb::search_hit> out;
  std::vector<std::string> seen;
  for (auto& h : chunks.search(req)) {
    auto doc = h.metadata["doc"].template get<std::string>();
    if (std::find(seen.begin(), seen.end(), doc) != seen.end()) continue;
    seen.push_back(doc);
    out.push_back(std::move(h));
    if (out.size() == k) break;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sochdb;
  std::string dir = argc > 1 ? argv[1] : "rag-demo";
  try {
    auto db = database::open(dir);
    auto ns = db.get_or_create_namespace("rag");
    const sochdb_examples::hash_embedder embedder(384);
    auto embed = [&](std::string_view text) { return embedder.embed(text); };

    // 1. The collection: cosine vectors of the embedder's dimension plus a BM25 index.
    auto chunks = ns.collection_exists("chunks")
                      ? ns.collection("chunks")
                      : ns.create_collection({.name = "chunks",
                                              .dimension = embedder.dimension(),
                                              .metric = simd::metric_kind::cosine,
                                              .hybrid = true});

    // 2. Ingest: chunk, embed, upsert with metadata; one transaction for the whole corpus, so a
    //    crash leaves all of it or none (the indexes catch up from the KV store on reopen).
    std::vector<document> docs;
    for (const auto& d : sochdb_examples::demo_corpus()) {
      auto parts = chunk_sentences(d.text, 160);
      for (std::size_t i = 0; i < parts.size(); ++i) {
        // A contextual header: each chunk carries its document's title, so a chunk that only
        // says "Related: ..." is still found (and ranked) as part of what its document is about.
        std::string text = d.title + ". " + parts[i];
        docs.push_back({.id = d.id + "#" + std::to_string(i),
                        .vectors = {embed(text)},
                        .metadata = {{"doc", d.id},
                                     {"title", d.title},
                                     {"topic", d.topic},
                                     {"source", d.source},
                                     {"year", d.year}},
                        .text = std::move(text)});
      }
    }
    chunks.upsert_batch(docs);
    std::printf("[ingest] %zu documents -> %zu chunks in %s/rag/chunks (%zu stored)\n",
                sochdb_examples::demo_corpus().size(), docs.size(), dir.c_str(), chunks.count());

    // 3. Retrieve: hybrid search (vector + BM25 fused by reciprocal rank fusion), only recent
    //    storage material. The filter runs inside the searches: k hits that all match.
    const std::string question = "how does group commit make the write-ahead log faster?";
    auto filter = metadata_filter::compile(R"({"topic": "storage", "year": {"$gte": 2016}})");
    auto hits = best_chunk_per_document(chunks, embed(question), question, 5, filter);
    std::printf("\n[retrieve] \"%s\" (hybrid, topic = storage, year >= 2016)\n", question.c_str());
    for (auto& h : hits)
      std::printf("  %-10s rrf %.4f  vector %.3f  bm25 %5.2f  [%d] %s\n", h.id.c_str(), h.score,
                  h.vector_score, h.keyword_score, h.metadata["year"].get<int>(),
                  h.metadata["title"].get<std::string>().c_str());
    if (hits.empty()) throw corruption("retrieval found nothing");
    for (auto& h : hits)
      if (h.metadata["topic"] != "storage" || h.metadata["year"].get<int>() < 2016)
        throw corruption("filter not applied");

    // 4. The prompt: instructions, the question and the retrieved chunks as one TOON table,
    //    most important first, within the model's budget. The search section calls the same
    //    hybrid search through a search source.
    auto hybrid_source = [&](const context_search_request& r) {
      const std::string q = r.query.get<std::string>();
      std::vector<context_search_hit> out;
      for (auto& h : best_chunk_per_document(chunks, embed(q), q, r.k, filter)) {
        context_value doc = {{"doc", h.metadata["doc"].get<std::string>()},
                             {"year", h.metadata["year"].get<int>()},
                             {"text", chunks.get(h.id)->text}};
        out.push_back({h.id, h.score, std::move(doc)});
      }
      return out;
    };
    for (auto format : {context_format::toon, context_format::json}) {
      auto ctx = context_builder(db)
                     .with_budget(400)
                     .format(format)
                     .literal("instructions", 0,
                              "Answer from the sources only and cite their ids. Say so if they "
                              "do not contain the answer.")
                     .literal("question", 1, question)
                     .section("sources", 2)
                     .search("chunks", "$question", 8)
                     .done()
                     .set_var("question", question)
                     .with_search("chunks", hybrid_source)
                     .execute();
      std::size_t kept = 0;
      for (auto& s : ctx.sections)
        if (s.name == "sources") kept = s.rows_kept;
      if (format == context_format::toon)
        std::printf("\n[prompt] %zu tokens (budget 400), %zu sources kept:\n%s\n", ctx.total_tokens,
                    kept, ctx.text.c_str());
      else
        std::printf("\n[prompt] the same prompt as JSON: %zu tokens, %zu sources kept\n",
                    ctx.total_tokens, kept);
    }

    // 5. A semantic cache in front of the model: the answer to the question is stored with its
    //    embedding; a paraphrase finds it (cosine >= 0.75) and skips retrieval and the model.
    ns.cache_put("answers", question,
                 "Group commit batches many transactions into one fsync of the log (doc ids in "
                 "the prompt).",
                 embed(question), std::chrono::hours(24));
    const std::string paraphrase = "why does group commit make the write-ahead log faster";
    if (auto hit = ns.cache_get("answers", embed(paraphrase), 0.75))
      std::printf("\n[cache] \"%s\" -> cached answer (similarity %.2f)\n", paraphrase.c_str(),
                  hit->score);
    else
      throw corruption("semantic cache: the paraphrase missed");
    if (ns.cache_get("answers", embed("which index finds nearest neighbors"), 0.75))
      throw corruption("semantic cache: an unrelated question hit");
    std::printf("[cache] \"which index finds nearest neighbors\" -> miss: retrieve and ask\n");

    db.close();
    return 0;
  } catch (const error& e) {
    std::fprintf(stderr, "rag_pipeline: %s\n", e.what());
    return 1;
  }
}
