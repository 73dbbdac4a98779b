// sochdb/text/fusion.hpp — combining ranked lists (hybrid search).
//
// Reciprocal rank fusion (Cormack, Clarke & Buettcher, SIGIR 2009): each list contributes
// 1 / (rrf_k + rank) for every id it holds, rank counted from 1; ids are ordered by the sum.
// It needs no score calibration, which is why hybrid search uses it by default (rrf_k = 60, the
// paper's value).
//
// Weighted fusion: each list's scores are min-max normalized to [0, 1] (a list whose scores are
// all equal maps them to 1), then score = alpha * a + (1 - alpha) * b, an id missing from a list
// contributing 0 for it. Larger input scores must mean better (pass similarities, not distances).
//
// Both return at most k results ordered by fused score descending, then id ascending. Pure
// functions: safe from any thread.
#pragma once

#include <sochdb/core/error.hpp>
#include <sochdb/text/bm25.hpp>

#include <tsl/robin_map.h>

#include <algorithm>
#include <span>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

namespace detail {
inline std::vector<scored_id> top_k_of(const tsl::robin_map<std::uint64_t, double>& acc,
                                       std::size_t k) {
  std::vector<scored_id> out;
  out.reserve(acc.size());
  for (auto& [id, s] : acc) out.push_back({id, s});
  auto better = [](const scored_id& a, const scored_id& b) {
    return a.score > b.score || (a.score == b.score && a.id < b.id);
  };
  if (out.size() > k) {
    std::nth_element(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(), better);
    out.resize(k);
  }
  std::sort(out.begin(), out.end(), better);
  return out;
}
}  // namespace detail

/// Reciprocal rank fusion of ranked lists (each ordered best first).
inline std::vector<scored_id> rrf_fuse(std::span<const std::vector<scored_id>> lists, std::size_t k,
                                       double rrf_k = 60.0) {
  if (!(rrf_k >= 0)) throw invalid_argument("rrf_fuse: rrf_k must be >= 0");
  tsl::robin_map<std::uint64_t, double> acc;
  for (const auto& list : lists) {
    for (std::size_t r = 0; r < list.size(); ++r) {
      acc[list[r].id] += 1.0 / (rrf_k + static_cast<double>(r + 1));
    }
  }
  return detail::top_k_of(acc, k);
}

/// alpha * normalized(a) + (1 - alpha) * normalized(b).
inline std::vector<scored_id> weighted_fuse(const std::vector<scored_id>& a,
                                            const std::vector<scored_id>& b, double alpha,
                                            std::size_t k) {
  if (!(alpha >= 0 && alpha <= 1)) throw invalid_argument("weighted_fuse: alpha must be in [0, 1]");
  tsl::robin_map<std::uint64_t, double> acc;
  auto add = [&acc](const std::vector<scored_id>& list, double weight) {
    if (list.empty() || weight == 0) return;
    auto [lo, hi] = std::minmax_element(list.begin(), list.end(),
                                        [](auto& x, auto& y) { return x.score < y.score; });
    double min = lo->score, range = hi->score - lo->score;
    for (auto& e : list) {
      double norm = range > 0 ? (e.score - min) / range : 1.0;
      acc[e.id] += weight * norm;
    }
  };
  add(a, alpha);
  add(b, 1 - alpha);
  // Ids present only with weight 0 still appear (score 0) so callers see the union.
  for (auto& e : a) acc.try_emplace(e.id, 0.0);
  for (auto& e : b) acc.try_emplace(e.id, 0.0);
  return detail::top_k_of(acc, k);
}

SOCHDB_END_NAMESPACE
