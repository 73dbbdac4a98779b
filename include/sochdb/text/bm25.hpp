// sochdb/text/bm25.hpp — in-memory inverted index ranked by Okapi BM25.
//
// Documents are identified by a 64-bit id and indexed from their text with the `tokenizer`.
// A query is tokenized the same way; its distinct words are OR-ed, and each document that holds
// at least one of them scores
//
//     score(D, Q) = sum over words q of Q in D:  idf(q) * tf * (k1 + 1) / (tf + k1 * (1 - b + b *
//     |D| / avgdl))
//
// with tf the number of occurrences of q in D, |D| the number of indexed words of D (stop words
// excluded), avgdl the mean |D| over live documents, N the number of live documents and n(q) the
// number of live documents containing q. Two idf formulas (Robertson & Zaragoza 2009, "The
// Probabilistic Relevance Framework: BM25 and Beyond"):
//   * idf_formula::lucene (default):   ln(1 + (N - n + 0.5) / (n + 0.5))  — never negative;
//   * idf_formula::robertson:          ln((N - n + 0.5) / (n + 0.5)), floored at 1e-6 — the
//     formula of SQLite FTS5's bm25(), so rankings match FTS5 exactly (FTS5 reports the negated
//     score).
// Results are ordered by score descending, then id ascending.
//
// Updates: add() replaces a document with the same id; remove() drops one. Removed documents
// leave dead postings that are purged when they exceed a quarter of the index.
//
// Thread safety: const members may run concurrently with each other; add/remove/compaction need
// exclusive access (the collection layer holds a shared_mutex).
//
// Persistence: serialize()/deserialize() write the documents' forward lists and the dictionary
// (docs/formats/bm25.md); postings are rebuilt from them on load, without re-tokenizing.
#pragma once

#include <sochdb/core/checksum.hpp>
#include <sochdb/core/coding.hpp>
#include <sochdb/core/error.hpp>
#include <sochdb/text/tokenizer.hpp>

#include <tsl/robin_map.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

enum class idf_formula : std::uint8_t {
  lucene = 0,     ///< ln(1 + (N - n + 0.5) / (n + 0.5))
  robertson = 1,  ///< ln((N - n + 0.5) / (n + 0.5)), floored at 1e-6 (SQLite FTS5)
};

struct bm25_options {
  double k1 = 1.2;  ///< term-frequency saturation (default 1.2, >= 0)
  double b = 0.75;  ///< document-length normalization (default 0.75, in [0, 1])
  idf_formula idf = idf_formula::lucene;
  tokenizer_options tokenizer{};  ///< how documents and queries are split into words
};

/// A scored document id.
struct scored_id {
  std::uint64_t id;
  double score;
  friend bool operator==(const scored_id&, const scored_id&) = default;
};

class bm25_index {
 public:
  using doc_id = std::uint64_t;

  explicit bm25_index(bm25_options options = {}) : opt_(std::move(options)), tok_(opt_.tokenizer) {
    if (!(opt_.k1 >= 0) || !(opt_.b >= 0 && opt_.b <= 1)) {
      throw invalid_argument("bm25: k1 must be >= 0 and b in [0, 1]");
    }
  }

  [[nodiscard]] const bm25_options& options() const noexcept { return opt_; }

  /// Indexes `text` as document `id`, replacing any document with that id.
  void add(doc_id id, std::string_view text) {
    remove(id);
    tsl::robin_map<std::uint32_t, std::uint32_t> counts;
    std::uint32_t length = 0;
    tok_.tokenize(text, [&](std::string_view w, std::uint32_t) {
      ++counts[intern(w)];
      ++length;
    });
    std::vector<term_count> forward;
    forward.reserve(counts.size());
    for (auto& [t, c] : counts) forward.push_back({t, c});
    std::sort(forward.begin(), forward.end(),
              [](const term_count& a, const term_count& b) { return a.term < b.term; });
    insert_slot(id, length, std::move(forward));
  }

  /// Removes document `id`; false if it was not indexed.
  bool remove(doc_id id) {
    auto it = slot_of_.find(id);
    if (it == slot_of_.end()) return false;
    std::uint32_t s = it->second;
    slot_of_.erase(it);
    doc& d = docs_[s];
    for (auto& tc : d.terms) --df_[tc.term];
    total_length_ -= d.length;
    --live_;
    d.alive = false;
    dead_postings_ += d.terms.size();
    d.terms.clear();
    d.terms.shrink_to_fit();
    if (dead_postings_ > 1024 && dead_postings_ * 4 > total_postings_) compact();
    return true;
  }

  [[nodiscard]] bool contains(doc_id id) const { return slot_of_.count(id) != 0; }
  /// Live documents.
  [[nodiscard]] std::size_t size() const noexcept { return live_; }
  /// Distinct words ever indexed (including ones only removed documents held).
  [[nodiscard]] std::size_t vocabulary_size() const noexcept { return terms_.size(); }
  /// Mean indexed words per live document.
  [[nodiscard]] double average_length() const noexcept {
    return live_ == 0 ? 0.0 : static_cast<double>(total_length_) / static_cast<double>(live_);
  }
  /// Number of live documents containing the normalized word `w` (0 if unknown).
  [[nodiscard]] std::size_t document_frequency(std::string_view w) const {
    auto it = dict_.find(w);
    return it == dict_.end() ? 0 : df_[it->second];
  }

  /// The `k` best documents for `query`.
  [[nodiscard]] std::vector<scored_id> search(std::string_view query, std::size_t k) const {
    return search(query, k, [](doc_id) { return true; });
  }

  /// The `k` best documents for `query` among those for which `accept(id)` is true. The filter
  /// is applied before the cut to k (candidates are examined in score order until k pass), so a
  /// selective filter still returns the best k matching documents.
  template <class Accept>
  [[nodiscard]] std::vector<scored_id> search(std::string_view query, std::size_t k,
                                              Accept&& accept) const {
    std::vector<scored_id> out;
    if (k == 0 || live_ == 0) return out;
    std::vector<std::uint32_t> qterms = query_terms(query);
    if (qterms.empty()) return out;

    const double avgdl = average_length();
    std::size_t work = 0;
    for (auto t : qterms) work += postings_[t].size();

    std::vector<candidate> cands;
    auto score_into = [&](auto&& add) {
      for (auto t : qterms) {
        double w = idf(df_[t]);
        for (const posting& p : postings_[t]) {
          const doc& d = docs_[p.slot];
          if (!d.alive) continue;
          add(p.slot, w * term_weight(p.tf, d.length, avgdl));
        }
      }
    };
    if (work * 8 >= docs_.size()) {
      // Dense accumulators: cheaper than hashing when many documents are touched.
      std::vector<double> acc(docs_.size(), -1.0);
      std::vector<std::uint32_t> touched;
      score_into([&](std::uint32_t slot, double s) {
        if (acc[slot] < 0) {
          acc[slot] = 0;
          touched.push_back(slot);
        }
        acc[slot] += s;
      });
      cands.reserve(touched.size());
      for (auto slot : touched) cands.push_back({acc[slot], docs_[slot].id});
    } else {
      tsl::robin_map<std::uint32_t, double> acc;
      acc.reserve(work);
      score_into([&](std::uint32_t slot, double s) { acc[slot] += s; });
      cands.reserve(acc.size());
      for (auto& [slot, s] : acc) cands.push_back({s, docs_[slot].id});
    }
    return select_top(std::move(cands), k, accept);
  }

  /// The BM25 score of document `id` for `query` (0 when it matches no word or is absent).
  [[nodiscard]] double score(doc_id id, std::string_view query) const {
    auto it = slot_of_.find(id);
    if (it == slot_of_.end()) return 0;
    const doc& d = docs_[it->second];
    double s = 0;
    for (auto t : query_terms(query)) {
      auto pos = std::lower_bound(d.terms.begin(), d.terms.end(), t,
                                  [](const term_count& a, std::uint32_t b) { return a.term < b; });
      if (pos != d.terms.end() && pos->term == t) {
        s += idf(df_[t]) * term_weight(pos->tf, d.length, average_length());
      }
    }
    return s;
  }

  /// Memory held by the index, approximately (bytes).
  [[nodiscard]] std::size_t memory_usage() const noexcept {
    std::size_t n =
        docs_.size() * sizeof(doc) + total_postings_ * (sizeof(posting) + sizeof(term_count));
    for (auto& t : terms_) n += t.size() + sizeof(std::string);
    return n + terms_.size() * (sizeof(std::uint32_t) * 3 + sizeof(std::vector<posting>)) +
           slot_of_.size() * 16;
  }

  // ---- persistence (docs/formats/bm25.md) ----

  /// Part of the format: do not change.
  static constexpr std::string_view magic = "SOCHBM25";
  static constexpr std::uint32_t format_version = 1;

  [[nodiscard]] std::string serialize() const {
    std::string out(magic);
    put_fixed32(out, format_version);
    // Options: k1 and b as IEEE-754 bit patterns, little-endian.
    put_fixed64(out, std::bit_cast<std::uint64_t>(opt_.k1));
    put_fixed64(out, std::bit_cast<std::uint64_t>(opt_.b));
    out += static_cast<char>(opt_.idf);
    // Dictionary: only words some live document holds, renumbered densely.
    std::vector<std::uint32_t> remap(terms_.size(), UINT32_MAX);
    std::uint32_t next = 0;
    std::vector<std::uint32_t> order;
    for (std::uint32_t t = 0; t < terms_.size(); ++t) {
      if (df_[t] > 0) {
        remap[t] = next++;
        order.push_back(t);
      }
    }
    put_varint32(out, next);
    for (auto t : order) put_length_prefixed(out, terms_[t]);
    put_varint64(out, live_);
    for (const doc& d : docs_) {
      if (!d.alive) continue;
      put_varint64(out, d.id);
      put_varint32(out, d.length);
      put_varint32(out, static_cast<std::uint32_t>(d.terms.size()));
      std::uint32_t prev = 0;
      // Forward lists are sorted by old term id; re-sort by new id for delta coding.
      std::vector<term_count> tcs;
      tcs.reserve(d.terms.size());
      for (auto& tc : d.terms) tcs.push_back({remap[tc.term], tc.tf});
      std::sort(tcs.begin(), tcs.end(),
                [](const term_count& a, const term_count& b) { return a.term < b.term; });
      for (auto& tc : tcs) {
        put_varint32(out, tc.term - prev);
        prev = tc.term;
        put_varint32(out, tc.tf);
      }
    }
    put_fixed32(out, checksum32(out));
    return out;
  }

  /// Loads an index written by serialize(), with the given tokenizer settings (which must be
  /// those the index was built with: they are not stored). Throws `corruption` naming the
  /// offset for damaged or truncated input and `unsupported` for a newer format version.
  static bm25_index deserialize(std::string_view data, tokenizer_options tok = {}) {
    const std::string_view src = "bm25 index";
    if (data.size() < magic.size() + 4 + 4 || data.substr(0, magic.size()) != magic) {
      throw corruption("bm25 index: bad magic at offset 0");
    }
    std::string_view body = data.substr(0, data.size() - 4);
    if (decode_fixed32(data.data() + data.size() - 4) != checksum32(body)) {
      throw corruption("bm25 index: checksum mismatch at offset " +
                       std::to_string(data.size() - 4));
    }
    byte_reader r(body, src);
    r.skip(magic.size());
    if (std::uint32_t v = r.fixed32(); v != format_version) {
      throw unsupported("bm25 index: format version " + std::to_string(v) + " (this build reads " +
                        std::to_string(format_version) + ")");
    }
    bm25_options o;
    o.k1 = std::bit_cast<double>(r.fixed64());
    o.b = std::bit_cast<double>(r.fixed64());
    std::uint8_t f = r.u8();
    if (f > 1) r.fail("unknown idf formula " + std::to_string(f));
    o.idf = static_cast<idf_formula>(f);
    o.tokenizer = std::move(tok);
    if (!(o.k1 >= 0) || !(o.b >= 0 && o.b <= 1)) r.fail("invalid k1/b");
    bm25_index idx(std::move(o));
    std::uint32_t nterms = r.varint32();
    if (nterms > r.remaining()) r.fail("term count exceeds input");
    idx.terms_.reserve(nterms);
    for (std::uint32_t t = 0; t < nterms; ++t) {
      std::string_view w = r.length_prefixed();
      if (!idx.dict_.emplace(std::string(w), t).second) r.fail("duplicate term");
      idx.terms_.emplace_back(w);
    }
    idx.df_.assign(nterms, 0);
    idx.postings_.resize(nterms);
    std::uint64_t ndocs = r.varint64();
    if (ndocs > r.remaining()) r.fail("document count exceeds input");
    for (std::uint64_t i = 0; i < ndocs; ++i) {
      doc_id id = r.varint64();
      std::uint32_t length = r.varint32();
      std::uint32_t n = r.varint32();
      if (n > r.remaining()) r.fail("term list exceeds input");
      std::vector<term_count> forward;
      forward.reserve(n);
      std::uint64_t term = 0, sum = 0;
      for (std::uint32_t j = 0; j < n; ++j) {
        std::uint64_t delta = r.varint32();
        if (j > 0 && delta == 0) r.fail("unsorted term list");
        term += delta;
        std::uint32_t tf = r.varint32();
        if (term >= nterms || tf == 0) r.fail("bad term entry");
        sum += tf;
        forward.push_back({static_cast<std::uint32_t>(term), tf});
      }
      if (sum != length) r.fail("document length does not match its term counts");
      if (idx.slot_of_.count(id)) r.fail("duplicate document id");
      idx.insert_slot(id, length, std::move(forward));
    }
    if (!r.empty()) r.fail("trailing bytes");
    return idx;
  }

 private:
  struct term_count {
    std::uint32_t term;
    std::uint32_t tf;
  };
  struct posting {
    std::uint32_t slot;
    std::uint32_t tf;
  };
  struct doc {
    doc_id id;
    std::uint32_t length;
    bool alive;
    std::vector<term_count> terms;  // sorted by term id
  };
  struct candidate {
    double score;
    doc_id id;
  };
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return static_cast<std::size_t>(hash64(s));
    }
  };

  std::uint32_t intern(std::string_view w) {
    auto it = dict_.find(w);
    if (it != dict_.end()) return it->second;
    auto id = static_cast<std::uint32_t>(terms_.size());
    dict_.emplace(std::string(w), id);
    terms_.emplace_back(w);
    df_.push_back(0);
    postings_.emplace_back();
    return id;
  }

  void insert_slot(doc_id id, std::uint32_t length, std::vector<term_count> forward) {
    auto slot = static_cast<std::uint32_t>(docs_.size());
    for (auto& tc : forward) {
      ++df_[tc.term];
      postings_[tc.term].push_back({slot, tc.tf});
    }
    total_postings_ += forward.size();
    total_length_ += length;
    ++live_;
    docs_.push_back({id, length, true, std::move(forward)});
    slot_of_[id] = slot;
  }

  /// Distinct known query words (unknown words cannot match).
  std::vector<std::uint32_t> query_terms(std::string_view query) const {
    std::vector<std::uint32_t> out;
    tok_.tokenize(query, [&](std::string_view w, std::uint32_t) {
      auto it = dict_.find(w);
      if (it != dict_.end() && df_[it->second] > 0) out.push_back(it->second);
    });
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  double idf(std::uint32_t n) const noexcept {
    double N = static_cast<double>(live_), dn = static_cast<double>(n);
    double ratio = (N - dn + 0.5) / (dn + 0.5);
    if (opt_.idf == idf_formula::lucene) return std::log(1.0 + ratio);
    double v = std::log(ratio);
    return v <= 0 ? 1e-6 : v;
  }

  double term_weight(std::uint32_t tf, std::uint32_t length, double avgdl) const noexcept {
    double t = tf;
    double norm = avgdl > 0 ? static_cast<double>(length) / avgdl : 0.0;
    return t * (opt_.k1 + 1) / (t + opt_.k1 * (1 - opt_.b + opt_.b * norm));
  }

  template <class Accept>
  static std::vector<scored_id> select_top(std::vector<candidate> cands, std::size_t k,
                                           Accept& accept) {
    auto better = [](const candidate& a, const candidate& b) {
      return a.score > b.score || (a.score == b.score && a.id < b.id);
    };
    std::vector<scored_id> out;
    std::size_t examined = 0;  // prefix of `cands` already sorted and checked
    std::size_t m = std::min(cands.size(), std::max<std::size_t>(k * 2, 64));
    while (true) {
      // Bring the best m to the front, in order; [0, examined) is already final.
      if (m < cands.size()) {
        std::nth_element(cands.begin() + static_cast<std::ptrdiff_t>(examined),
                         cands.begin() + static_cast<std::ptrdiff_t>(m), cands.end(), better);
      }
      std::sort(cands.begin() + static_cast<std::ptrdiff_t>(examined),
                cands.begin() + static_cast<std::ptrdiff_t>(m), better);
      for (std::size_t i = examined; i < m && out.size() < k; ++i) {
        if (accept(cands[i].id)) out.push_back({cands[i].id, cands[i].score});
      }
      examined = m;
      if (out.size() >= k || m == cands.size()) return out;
      m = std::min(cands.size(), m * 4);
    }
  }

  /// Drops removed documents: renumbers slots and rebuilds postings.
  void compact() {
    std::vector<doc> live;
    live.reserve(live_);
    for (auto& d : docs_) {
      if (d.alive) live.push_back(std::move(d));
    }
    docs_.clear();
    for (auto& p : postings_) p.clear();
    std::fill(df_.begin(), df_.end(), 0);
    slot_of_.clear();
    total_postings_ = 0;
    total_length_ = 0;
    live_ = 0;
    dead_postings_ = 0;
    for (auto& d : live) insert_slot(d.id, d.length, std::move(d.terms));
  }

  bm25_options opt_;
  tokenizer tok_;
  tsl::robin_map<std::string, std::uint32_t, string_hash, std::equal_to<>> dict_;
  std::vector<std::string> terms_;                 // term id -> word
  std::vector<std::uint32_t> df_;                  // term id -> live documents holding it
  std::vector<std::vector<posting>> postings_;     // term id -> (slot, tf), slot ascending
  std::vector<doc> docs_;                          // slot -> document
  tsl::robin_map<doc_id, std::uint32_t> slot_of_;  // live id -> slot
  std::size_t live_ = 0;
  std::uint64_t total_length_ = 0;
  std::size_t total_postings_ = 0;
  std::size_t dead_postings_ = 0;
};

SOCHDB_END_NAMESPACE
