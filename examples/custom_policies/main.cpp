// custom_policies — plugging your own policies into sochdb's templates.
//
//  1. A distance metric: Manhattan (L1) distance, written here from scratch, satisfies
//     sochdb::simd::distance_metric and drives both the exact flat index and HNSW; HNSW's
//     answers are checked against the flat index's exact ones (recall@10).
//  2. A versioning policy: `audit_snapshots`, snapshot isolation under its own name with
//     snapshots on, plugged into basic_database; a write-write conflict shows it at work.
//  3. A token counter: a whitespace-word counter satisfying sochdb::token_counter, used by a
//     generic budget function exactly as the built-in approx_token_counter is.
#include <sochdb/sochdb.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

// ---- 1. a metric ----
struct manhattan {
  using value_type = float;
  static constexpr sochdb::simd::metric_kind kind = sochdb::simd::metric_kind::custom;

  float distance(const float* a, const float* b, std::size_t d) const noexcept {
    float s = 0;
    for (std::size_t i = 0; i < d; ++i) s += std::fabs(a[i] - b[i]);
    return s;
  }
  void distance_many(const float* q, const float* rows, std::size_t n, std::size_t stride,
                     std::size_t d, float* out) const noexcept {
    for (std::size_t j = 0; j < n; ++j) out[j] = distance(q, rows + j * stride, d);
  }
  void distance_gather(const float* q, const float* const* rows, std::size_t n, std::size_t d,
                       float* out) const noexcept {
    for (std::size_t j = 0; j < n; ++j) out[j] = distance(q, rows[j], d);
  }
  void distance_batch(const float* qs, std::size_t nq, std::size_t q_stride, const float* rows,
                      std::size_t n, std::size_t r_stride, std::size_t d, float* out,
                      std::size_t out_stride) const noexcept {
    for (std::size_t i = 0; i < nq; ++i)
      distance_many(qs + i * q_stride, rows, n, r_stride, d, out + i * out_stride);
  }
  static float to_score(float internal) noexcept { return internal; }  // L1 is what users see
  std::string_view isa_name() const noexcept { return "scalar (user code)"; }
};
static_assert(sochdb::simd::distance_metric<manhattan>);

// ---- 2. a versioning policy ----
struct audit_snapshots {
  static constexpr sochdb::isolation_level level = sochdb::isolation_level::snapshot;
  static constexpr bool snapshots = true;  // db.snapshot() for point-in-time audit reads
  static constexpr std::string_view name = "audit_snapshots";
};
static_assert(sochdb::versioning_policy<audit_snapshots>);

// ---- 3. a token counter ----
struct word_counter {
  std::size_t count(std::string_view text) const noexcept {
    std::size_t n = 0;
    bool in_word = false;
    for (char c : text) {
      bool space = c == ' ' || c == '\n' || c == '\t';
      if (!space && !in_word) ++n;
      in_word = !space;
    }
    return n + n / 3;  // about 4 tokens per 3 English words
  }
};
static_assert(sochdb::token_counter<word_counter>);

/// Keeps the longest prefix of `lines` that fits `budget` tokens by any counter.
template <sochdb::token_counter Counter>
std::vector<std::string> fit(const std::vector<std::string>& lines, std::size_t budget,
                             const Counter& counter) {
  std::vector<std::string> out;
  std::size_t used = 0;
  for (auto& l : lines) {
    std::size_t t = counter.count(l);
    if (used + t > budget) break;
    used += t;
    out.push_back(l);
  }
  return out;
}

static int fail(const char* what) {
  std::fprintf(stderr, "custom_policies: %s\n", what);
  return 1;
}

int main() {
  namespace vec = sochdb::vector;
  // 1. Manhattan distance in the flat index and in HNSW.
  const std::size_t d = 16, n = 2000, queries = 20, k = 10;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> data(n * d);
  for (auto& x : data) x = u(rng);
  std::vector<vec::label_t> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = i;
  vec::flat_index<manhattan> exact({.dimension = d});
  vec::hnsw_index<manhattan> graph({.dimension = d, .m = 16, .ef_construction = 100});
  exact.add(data.data(), ids.data(), n);
  graph.add(data.data(), ids.data(), n);
  std::size_t found = 0;
  for (std::size_t q = 0; q < queries; ++q) {
    std::vector<float> query(d);
    for (auto& x : query) x = u(rng);
    auto truth = exact.search(query, k);
    auto approx = graph.search(query, k, {.ef = 100});
    std::set<vec::label_t> t;
    for (auto& h : truth) t.insert(h.label);
    for (auto& h : approx) found += t.count(h.label);
    if (q == 0) {
      float check = manhattan{}.distance(query.data(), data.data() + truth[0].label * d, d);
      if (std::fabs(check - truth[0].score) > 1e-4f)
        return fail("flat score is not the L1 distance");
      std::printf("[metric] nearest by L1: label %llu at distance %.3f (%s)\n",
                  static_cast<unsigned long long>(truth[0].label), truth[0].score,
                  std::string(exact.metric().isa_name()).c_str());
    }
  }
  double recall = static_cast<double>(found) / static_cast<double>(queries * k);
  std::printf("[metric] HNSW with the user metric: recall@%zu %.3f against the exact flat index\n",
              k, recall);
  if (recall < 0.9) return fail("HNSW recall with the custom metric below 0.9");

  // 2. The versioning policy: snapshot isolation, first committer wins.
  sochdb::memory_fs fs;
  using audit_db = sochdb::basic_database<sochdb::wal_storage<sochdb::memory_fs>, audit_snapshots>;
  auto db = audit_db::open("/audit", {}, fs);
  db.put("balance", "100");
  auto t1 = db.begin();
  auto t2 = db.begin();
  t1.put("balance", "90");
  t2.put("balance", "80");
  t1.commit();
  bool conflicted = false;
  try {
    t2.commit();
  } catch (const sochdb::transaction_conflict& e) {
    conflicted = true;
    std::printf("[policy] %s: second writer aborted: %s\n",
                std::string(audit_db::versioning_type::name).c_str(), e.what());
  }
  if (!conflicted || db.get("balance") != "90") return fail("snapshot isolation not enforced");
  auto snap = db.snapshot();
  db.put("balance", "70");
  if (snap.get("balance") != "90") return fail("snapshot read moved");
  std::printf("[policy] audit snapshot still reads balance = %s after a newer write\n",
              snap.get("balance")->c_str());

  // 3. The token counter.
  std::vector<std::string> lines = {"The first fact about the user.",
                                    "A second, longer fact about what they asked yesterday.",
                                    "A third fact.", "A fourth fact that will not fit."};
  auto by_words = fit(lines, 20, word_counter{});
  auto by_approx = fit(lines, 20, sochdb::approx_token_counter{});
  std::printf(
      "[tokens] a 20-token budget keeps %zu lines by word count, %zu by the built-in counter\n",
      by_words.size(), by_approx.size());
  if (by_words.empty() || by_words.size() == lines.size()) return fail("budget not applied");
  return 0;
}
