// sochdb/vector/multi_vector.hpp — documents made of several vectors (chunks of a text, frames
// of a video) over any vector index.
//
// `multi_vector_index<Index>` stores each vector of a document in the inner index under its own
// vector label and keeps the document <-> vector maps. A search asks the inner index for
// `oversample * k` vectors (at least `ef`), groups them by document and ranks documents by an
// aggregate of their vectors' distances: `aggregate::max` takes the document's best vector
// (max similarity = min distance, the late-interaction default), `aggregate::mean` the mean
// distance over all of the document's vectors (computed exactly for every candidate
// document). Filters apply to document labels.
//
// Thread-safety: as the inner index for searches; the maps are guarded by a reader/writer
// lock, so add / remove / search may run concurrently.
#pragma once

#include <sochdb/core/error.hpp>
#include <sochdb/vector/detail/common.hpp>
#include <sochdb/vector/search.hpp>

#include <tsl/robin_map.h>

#include <algorithm>
#include <limits>
#include <shared_mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace vector {

/// How a document's vector distances become one distance.
enum class aggregate : std::uint8_t {
  max = 0,   ///< the closest vector (max similarity)
  mean = 1,  ///< the mean distance over all the document's vectors
};

/// Per-query parameters of a multi-vector search.
struct multi_search_params {
  search_params inner{};           ///< passed to the inner index
  aggregate how = aggregate::max;  ///< document score
  std::size_t oversample = 4;      ///< inner candidates per requested document
};

template <class Index>
class multi_vector_index {
 public:
  explicit multi_vector_index(Index inner) : inner_(std::move(inner)) {}

  std::size_t dimension() const noexcept { return inner_.dimension(); }
  /// Documents stored.
  std::size_t size() const {
    std::shared_lock lk(mu_);
    return docs_.size();
  }
  const Index& inner() const noexcept { return inner_; }

  /// Adds a document of `count` row-major vectors; `already_exists` if present.
  void add(label_t doc, const float* vectors, std::size_t count) {
    if (count == 0)
      throw invalid_argument("multi_vector_index: a document needs at least one vector");
    std::vector<label_t> ids(count);
    {
      std::unique_lock lk(mu_);
      if (docs_.count(doc))
        throw already_exists("multi_vector_index: document " + std::to_string(doc) +
                             " is already present");
      for (auto& id : ids) id = next_++;
      docs_.emplace(doc, ids);
      for (auto id : ids) owner_.emplace(id, doc);
    }
    const std::size_t d = dimension();
    try {
      for (std::size_t i = 0; i < count; ++i) inner_.add(ids[i], {vectors + i * d, d});
    } catch (...) {
      remove(doc);
      throw;
    }
  }
  /// Removes a document and all its vectors; false when absent.
  bool remove(label_t doc) {
    std::vector<label_t> ids;
    {
      std::unique_lock lk(mu_);
      auto it = docs_.find(doc);
      if (it == docs_.end()) return false;
      ids = it->second;
      docs_.erase(it);
      for (auto id : ids) owner_.erase(id);
    }
    for (auto id : ids) inner_.remove(id);
    return true;
  }
  /// Replaces a document's vectors.
  void update(label_t doc, const float* vectors, std::size_t count) {
    remove(doc);
    add(doc, vectors, count);
  }
  bool contains(label_t doc) const {
    std::shared_lock lk(mu_);
    return docs_.count(doc) != 0;
  }

  /// The k best documents passing `filter` (on document labels), best first; `label` is the
  /// document, `distance` / `score` the aggregate.
  template <label_filter Filter = accept_all>
  std::vector<neighbor> search(std::span<const float> query, std::size_t k,
                               const multi_search_params& p = {}, const Filter& filter = {}) const {
    detail::check_query_dimension(query.size(), dimension(), "multi_vector_index::search");
    std::vector<neighbor> out;
    if (k == 0) return out;
    search_params ip = p.inner;
    const std::size_t want = std::max(k * std::max<std::size_t>(p.oversample, 1), ip.ef);
    ip.ef = std::max(ip.ef, want);
    std::shared_lock lk(mu_);
    auto vf = [&](label_t v) {
      auto it = owner_.find(v);
      return it != owner_.end() && filter(it->second);
    };
    const auto hits = inner_.search(query, want, ip, vf);
    tsl::robin_map<label_t, float> best;
    for (const auto& h : hits) {
      const label_t doc = owner_.find(h.label)->second;
      auto [it, fresh] = best.emplace(doc, h.distance);
      if (!fresh && h.distance < it->second) it.value() = h.distance;
    }
    std::vector<std::pair<float, label_t>> ranked;
    if (p.how == aggregate::max) {
      for (const auto& [doc, dist] : best) ranked.push_back({dist, doc});
    } else {
      std::vector<float> q(query.begin(), query.end());
      using M = typename Index::metric_type;
      if constexpr (M::kind == simd::metric_kind::cosine) detail::normalize(q.data(), q.size());
      for (const auto& [doc, dist] : best) {
        (void)dist;
        const auto& ids = docs_.find(doc)->second;
        double sum = 0;
        for (auto id : ids) {
          const auto v = inner_.get(id);
          sum += inner_.metric().distance(q.data(), v.data(), v.size());
        }
        ranked.push_back({static_cast<float>(sum / static_cast<double>(ids.size())), doc});
      }
    }
    std::sort(ranked.begin(), ranked.end());
    for (std::size_t i = 0; i < ranked.size() && i < k; ++i) {
      using M = typename Index::metric_type;
      out.push_back(neighbor{ranked[i].second, ranked[i].first, M::to_score(ranked[i].first)});
    }
    return out;
  }

 private:
  Index inner_;
  mutable std::shared_mutex mu_;
  tsl::robin_map<label_t, std::vector<label_t>> docs_;  // document -> vector labels
  tsl::robin_map<label_t, label_t> owner_;              // vector label -> document
  label_t next_ = 0;
};

}  // namespace vector
SOCHDB_END_NAMESPACE
