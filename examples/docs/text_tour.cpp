// The code of docs/text.md, compiled and run in CI.
#include <sochdb/text.hpp>

#include <cstdio>
#include <cstdlib>

static void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "text_tour: failed: %s\n", what);
    std::exit(1);
  }
}

int main() {
  // Words: lowercase, diacritics folded, UAX #29 boundaries ("don't", "3.14" stay whole).
  sochdb::tokenizer tok;
  auto words = tok.words("Café owners don't close at 3.14pm");
  expect(words.size() == 6 && words[0] == "cafe" && words[2] == "don't", "tokenizer");

  // BM25 over documents with 64-bit ids.
  sochdb::bm25_index idx;  // k1 1.2, b 0.75, Lucene idf
  idx.add(1, "The quick brown fox jumps over the lazy dog");
  idx.add(2, "A quick brown dog outpaces a quick red fox");
  idx.add(3, "Lazy afternoons are for reading");
  auto hits = idx.search("quick fox", 10);
  for (auto& h : hits)
    std::printf("doc %llu  score %.4f\n", static_cast<unsigned long long>(h.id), h.score);
  expect(hits.size() == 2 && hits[0].id == 2, "doc 2 ranks first (quick twice)");

  // A filter runs before the cut to k: the best matching documents that pass it.
  auto odd = idx.search("quick fox lazy", 10, [](std::uint64_t id) { return id % 2 == 1; });
  expect(odd.size() == 2 && odd[0].id % 2 == 1, "filtered search");

  // Hybrid search: fuse a vector-search list with the keyword list.
  std::vector<sochdb::scored_id> by_vector = {{1, 0.91}, {3, 0.85}, {2, 0.40}};
  std::vector<std::vector<sochdb::scored_id>> lists = {by_vector, hits};
  auto fused = sochdb::rrf_fuse(lists, 3);  // rrf_k = 60
  expect(fused.size() == 3 && fused[0].id == 1, "doc 1 is high in both lists");

  // Checkpoint and reload without re-tokenizing.
  auto back = sochdb::bm25_index::deserialize(idx.serialize());
  expect(back.search("quick fox", 10) == hits, "round trip");
  return 0;
}
