// hash_embedder.hpp — a deterministic text embedder by feature hashing, for the demo and the
// examples (no model to download, same vector for the same text on every machine).
//
//     sochdb_examples::hash_embedder emb(256);
//     std::vector<float> v = emb.embed("vector search with HNSW graphs");   // unit length
//
// Each text becomes a bag of features — its words (sochdb::tokenizer: lowercase, diacritics
// folded), adjacent word pairs, and the character trigrams of each word (so "index" and
// "indexes" share most features) — and each feature is hashed (64-bit FNV-1a) to one of `dim`
// buckets with a hashed sign, the "hashing trick" of Weinberger et al., "Feature Hashing for
// Large Scale Multitask Learning" (ICML 2009). Counts are damped (1 + ln tf) and the vector is
// L2-normalized, so cosine similarity and inner product agree. Texts sharing words land close;
// it is lexical similarity, not semantics — good enough to make vector search, filters and
// hybrid ranking visible without a model.
//
// Thread safety: embed() is const and may run concurrently.
#pragma once

#include <sochdb/text/tokenizer.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sochdb_examples {

class hash_embedder {
 public:
  explicit hash_embedder(std::size_t dim = 256) : dim_(dim) {}

  [[nodiscard]] std::size_t dimension() const noexcept { return dim_; }

  /// The unit-length embedding of `text` (all zeros for a text without words).
  [[nodiscard]] std::vector<float> embed(std::string_view text) const {
    std::unordered_map<std::uint64_t, float> counts;
    auto words = tok_.words(text);
    for (std::size_t i = 0; i < words.size(); ++i) {
      const std::string& w = words[i];
      counts[hash("w:", w)] += 1.0f;
      if (i + 1 < words.size()) counts[hash("b:", w + ' ' + words[i + 1])] += 0.5f;
      std::string padded = "<" + w + ">";
      for (std::size_t j = 0; j + 3 <= padded.size(); ++j)
        counts[hash("t:", padded.substr(j, 3))] += 0.1f;
    }
    std::vector<float> v(dim_, 0.0f);
    for (auto& [h, c] : counts) {
      float weight = 1.0f + std::log(1.0f + c);
      float sign = (h >> 63) != 0 ? -1.0f : 1.0f;
      v[(h & 0x7FFFFFFFFFFFFFFFull) % dim_] += sign * weight;
    }
    double norm = 0;
    for (float x : v) norm += static_cast<double>(x) * x;
    if (norm > 0) {
      auto inv = static_cast<float>(1.0 / std::sqrt(norm));
      for (float& x : v) x *= inv;
    }
    return v;
  }

 private:
  static std::uint64_t hash(std::string_view kind, std::string_view s) noexcept {
    std::uint64_t h = 14695981039346656037ull;  // FNV-1a 64
    for (char c : kind) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    // FNV's high bits mix poorly for short inputs: finish with a 64-bit mixer (splitmix64).
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
  }

  std::size_t dim_;
  sochdb::tokenizer tok_;
};

}  // namespace sochdb_examples
