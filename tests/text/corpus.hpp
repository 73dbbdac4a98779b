// A deterministic synthetic corpus for ranking tests: Zipf-distributed words from a generated
// vocabulary, with capitals and punctuation sprinkled in so tokenization matters.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace sochdb_test {

struct corpus {
  std::vector<std::string> vocabulary;
  std::vector<std::string> documents;
  std::vector<std::vector<std::string>> queries;  // each 1-3 distinct vocabulary words
};

inline corpus make_corpus(std::size_t docs, std::size_t vocab, std::size_t queries,
                          std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  static const char* syllables[] = {"ka",  "lo",  "mi",  "re",  "tu", "san", "vor",
                                    "el",  "qui", "dra", "po",  "ne", "zu",  "bal",
                                    "cor", "fi",  "gha", "ist", "jo", "wen"};
  corpus c;
  std::vector<std::string> seen;
  while (c.vocabulary.size() < vocab) {
    std::string w;
    int n = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < n; ++i) w += syllables[rng() % 20];
    if (std::find(c.vocabulary.begin(), c.vocabulary.end(), w) == c.vocabulary.end()) {
      c.vocabulary.push_back(w);
    }
  }
  // Zipf(1.0) sampling by inverse CDF over ranks.
  std::vector<double> cdf(vocab);
  double sum = 0;
  for (std::size_t r = 0; r < vocab; ++r) cdf[r] = (sum += 1.0 / static_cast<double>(r + 1));
  for (auto& x : cdf) x /= sum;
  auto sample = [&] {
    double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return static_cast<std::size_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
  };
  static const char* punct[] = {" ", " ", " ", " ", ", ", ". ", "; ", " - ", "! ", " ("};
  for (std::size_t d = 0; d < docs; ++d) {
    std::size_t len = 5 + rng() % 120;
    std::string text;
    for (std::size_t i = 0; i < len; ++i) {
      std::string w = c.vocabulary[std::min(sample(), vocab - 1)];
      if (rng() % 10 == 0) w[0] = static_cast<char>(w[0] - 32);  // capitalized
      text += w;
      text += punct[rng() % 10];
    }
    c.documents.push_back(std::move(text));
  }
  for (std::size_t q = 0; q < queries; ++q) {
    std::vector<std::string> words;
    std::size_t n = 1 + rng() % 3;
    while (words.size() < n) {
      // Mix frequent and rare words.
      std::size_t r = rng() % 2 ? sample() : rng() % vocab;
      const std::string& w = c.vocabulary[std::min(r, vocab - 1)];
      if (std::find(words.begin(), words.end(), w) == words.end()) words.push_back(w);
    }
    c.queries.push_back(std::move(words));
  }
  return c;
}

}  // namespace sochdb_test
