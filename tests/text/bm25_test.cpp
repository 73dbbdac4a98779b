#include <doctest/doctest.h>

#include <sochdb/text/bm25.hpp>

#include "corpus.hpp"

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_text_bm25_test {

using namespace sochdb;

namespace {
std::string join(const std::vector<std::string>& words, const char* sep) {
  std::string s;
  for (auto& w : words) s += (s.empty() ? "" : sep) + w;
  return s;
}

/// BM25 straight from the formula, over pre-tokenized documents: the oracle.
std::vector<scored_id> brute_force(const std::map<std::uint64_t, std::vector<std::string>>& docs,
                                   const std::vector<std::string>& query, const bm25_options& o,
                                   std::size_t k) {
  double N = static_cast<double>(docs.size()), total = 0;
  for (auto& [id, d] : docs) total += static_cast<double>(d.size());
  double avgdl = total / N;
  std::vector<scored_id> all;
  for (auto& [id, d] : docs) {
    double s = 0;
    bool any = false;
    for (auto& q : std::set<std::string>(query.begin(), query.end())) {
      double tf = static_cast<double>(std::count(d.begin(), d.end(), q));
      if (tf == 0) continue;
      any = true;
      double n = 0;
      for (auto& [id2, d2] : docs) n += std::count(d2.begin(), d2.end(), q) > 0;
      double ratio = (N - n + 0.5) / (n + 0.5);
      double idf =
          o.idf == idf_formula::lucene ? std::log(1 + ratio) : std::max(std::log(ratio), 0.0);
      if (o.idf == idf_formula::robertson && idf <= 0) idf = 1e-6;
      s += idf * tf * (o.k1 + 1) /
           (tf + o.k1 * (1 - o.b + o.b * static_cast<double>(d.size()) / avgdl));
    }
    if (any) all.push_back({id, s});
  }
  std::sort(all.begin(), all.end(), [](auto& a, auto& b) {
    return a.score > b.score || (a.score == b.score && a.id < b.id);
  });
  if (all.size() > k) all.resize(k);
  return all;
}

void check_same(const std::vector<scored_id>& got, const std::vector<scored_id>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].score == doctest::Approx(want[i].score).epsilon(1e-9));
    bool tie = (i > 0 && std::abs(want[i].score - want[i - 1].score) < 1e-9) ||
               (i + 1 < want.size() && std::abs(want[i].score - want[i + 1].score) < 1e-9);
    if (!tie) CHECK(got[i].id == want[i].id);
  }
}
}  // namespace

TEST_CASE("BM25 scores match the formula on a hand-sized corpus") {
  for (auto f : {idf_formula::lucene, idf_formula::robertson}) {
    bm25_options o{.idf = f};
    bm25_index idx(o);
    std::map<std::uint64_t, std::vector<std::string>> docs = {
        {1, {"the", "quick", "brown", "fox"}},
        {2, {"the", "lazy", "dog"}},
        {3, {"quick", "quick", "dog", "runs", "fast", "today"}},
        {4, {"brown", "bears", "and", "brown", "dogs"}},
    };
    for (auto& [id, words] : docs) idx.add(id, join(words, " "));
    CHECK(idx.size() == 4);
    CHECK(idx.average_length() == doctest::Approx(4.5));
    CHECK(idx.document_frequency("brown") == 2);
    for (auto q : {std::vector<std::string>{"quick"},
                   {"brown", "dog"},
                   {"the", "fox", "dogs"},
                   {"dog", "dog"}}) {
      check_same(idx.search(join(q, " "), 10), brute_force(docs, q, o, 10));
    }
    CHECK(idx.search("unicorn", 10).empty());
    CHECK(idx.search("", 10).empty());
    CHECK(idx.search("quick", 0).empty());
    CHECK(idx.score(3, "quick") == doctest::Approx(brute_force(docs, {"quick"}, o, 10)[0].score));
  }
}

TEST_CASE("add replaces, remove forgets, compaction keeps results identical") {
  auto c = sochdb_test::make_corpus(3000, 400, 50, 5);
  bm25_index idx;
  for (std::uint64_t i = 0; i < c.documents.size(); ++i) idx.add(i, c.documents[i]);
  // Replace a third, remove a third (enough dead postings to force compactions).
  std::mt19937_64 rng(9);
  for (std::uint64_t i = 0; i < c.documents.size(); ++i) {
    if (i % 3 == 0) idx.add(i, c.documents[(i * 7) % c.documents.size()]);
    if (i % 3 == 1) CHECK(idx.remove(i));
  }
  CHECK_FALSE(idx.remove(1));
  CHECK_FALSE(idx.contains(1));
  CHECK(idx.contains(0));
  bm25_index fresh;
  for (std::uint64_t i = 0; i < c.documents.size(); ++i) {
    if (i % 3 == 0) fresh.add(i, c.documents[(i * 7) % c.documents.size()]);
    if (i % 3 == 2) fresh.add(i, c.documents[i]);
  }
  CHECK(idx.size() == fresh.size());
  for (auto& q : c.queries) {
    auto a = idx.search(join(q, " "), 10);
    auto b = fresh.search(join(q, " "), 10);
    check_same(a, b);
  }
}

TEST_CASE("a filter is applied before the cut to k") {
  auto c = sochdb_test::make_corpus(2000, 300, 30, 6);
  bm25_index idx;
  for (std::uint64_t i = 0; i < c.documents.size(); ++i) idx.add(i, c.documents[i]);
  auto accept = [](std::uint64_t id) { return id % 97 == 3; };  // ~1% selectivity
  for (auto& q : c.queries) {
    auto got = idx.search(join(q, " "), 5, accept);
    auto all = idx.search(join(q, " "), 100000);
    std::vector<scored_id> want;
    for (auto& h : all) {
      if (accept(h.id) && want.size() < 5) want.push_back(h);
    }
    CHECK(got == want);
  }
}

TEST_CASE("serialize / deserialize round-trips; damage is rejected") {
  auto c = sochdb_test::make_corpus(500, 200, 20, 7);
  bm25_index idx({.k1 = 1.5, .b = 0.6, .idf = idf_formula::robertson});
  for (std::uint64_t i = 0; i < c.documents.size(); ++i) idx.add(i * 1000003, c.documents[i]);
  for (std::uint64_t i = 0; i < 100; ++i) idx.remove(i * 1000003);
  std::string blob = idx.serialize();
  bm25_index back = bm25_index::deserialize(blob);
  CHECK(back.options().k1 == 1.5);
  CHECK(back.options().idf == idf_formula::robertson);
  CHECK(back.size() == idx.size());
  for (auto& q : c.queries) CHECK(back.search(join(q, " "), 10) == idx.search(join(q, " "), 10));
  CHECK(back.serialize() == blob);

  for (std::size_t n = 0; n < blob.size(); n += 7) {
    CHECK_THROWS_AS(bm25_index::deserialize(blob.substr(0, n)), corruption);
  }
  std::mt19937_64 rng(3);
  for (int i = 0; i < 300; ++i) {
    std::string bad = blob;
    bad[rng() % bad.size()] ^= static_cast<char>(1 << (rng() % 8));
    CHECK_THROWS_AS(bm25_index::deserialize(bad), error);
  }
}

}  // namespace test_text_bm25_test
