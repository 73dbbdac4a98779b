// collection_bench — collections end to end, each beside its comparison in the same run.
//
//   collection_bench [--only filter,cache,fts5,hybrid] [--n 100000] [--dim 128] [--queries 200]
//
// filter  Filtered vector search on n clustered vectors (bench/vector_data.hpp, cosine) with
//         metadata {"bucket": i % 100, "group": i % 10}: recall@10 against the exact filtered
//         top 10 at 1% ({"bucket": 7}) and 10% ({"group": 3}) selectivity, for the collection's
//         pre-filtered search and for the over-fetch-and-drop baseline (unfiltered top 10k,
//         then filtered) that pre-filtering replaces.
// cache   Semantic cache lookups at 10k and n entries (cache_put_batch of the same vectors as
//         cache entries; queries are stored entries plus noise, threshold 0.9) against a
//         linear scan over the same normalized embeddings (what SochDB's cache does): latency
//         and whether both return the same entry.
// fts5    A hybrid collection with bm25_idf = robertson over 4,000 synthetic documents (Zipf
//         vocabulary) against SQLite FTS5's bm25() (k1 = 1.2, b = 0.75): identical top-10
//         rankings over 300 OR-queries, largest score difference, query time.
// hybrid  The labelled set documented in docs/collections.md: recall@10, nDCG@10 and MRR of
//         vector-only, BM25-only, hybrid RRF and hybrid alpha = 0.5.
//
// Output: one JSON object per line plus a table per section (bench/bench_util.hpp).
#include "bench_util.hpp"
#include "vector_data.hpp"

#include <sochdb/core/memory_fs.hpp>
#include <sochdb/db.hpp>
#include <sochdb/storage/wal_storage.hpp>

#if SOCHDB_BENCH_SQLITE
#include <sqlite3.h>
#endif

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace sochdb;
using sochdb_bench::reporter;
using sochdb_bench::stopwatch;
using mem_db = basic_database<wal_storage<memory_fs>>;

namespace {

struct args_t {
  std::set<std::string> only{"filter", "cache", "fts5", "hybrid"};
  std::size_t n = 100000, dim = 128, queries = 200;
};

args_t parse(int argc, char** argv) {
  args_t a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(s + " needs a value");
      return argv[++i];
    };
    if (s == "--only") {
      a.only.clear();
      std::string v = next();
      std::size_t p = 0;
      while (p <= v.size()) {
        auto c = v.find(',', p);
        a.only.insert(v.substr(p, c == std::string::npos ? std::string::npos : c - p));
        if (c == std::string::npos) break;
        p = c + 1;
      }
    } else if (s == "--n") {
      a.n = std::stoul(next());
    } else if (s == "--dim") {
      a.dim = std::stoul(next());
    } else if (s == "--queries") {
      a.queries = std::stoul(next());
    } else {
      throw std::runtime_error("unknown option " + s);
    }
  }
  return a;
}

void normalize(float* v, std::size_t d) {
  double s = 0;
  for (std::size_t j = 0; j < d; ++j) s += double(v[j]) * v[j];
  float inv = s > 0 ? static_cast<float>(1.0 / std::sqrt(s)) : 0.f;
  for (std::size_t j = 0; j < d; ++j) v[j] *= inv;
}
float dot(const float* a, const float* b, std::size_t d) {
  float s = 0;
  for (std::size_t j = 0; j < d; ++j) s += a[j] * b[j];
  return s;
}

mem_db open_mem(memory_fs& fs) {
  return mem_db::open("/db", {.sync = sync_mode::off, .auto_checkpoint = false}, fs);
}

// ---- filter ----
void bench_filter(const args_t& a) {
  const std::size_t n = a.n, d = a.dim, nq = a.queries;
  auto base = sochdb_bench::clustered(n, d, 1);
  auto qs = sochdb_bench::clustered(nq, d, 2);
  for (std::size_t i = 0; i < n; ++i) normalize(base.data() + i * d, d);
  for (std::size_t i = 0; i < nq; ++i) normalize(qs.data() + i * d, d);
  memory_fs fs;
  auto db = open_mem(fs);
  auto c = db.create_namespace("b").create_collection(
      {.name = "v", .dimension = d, .ef_construction = 100});
  stopwatch build;
  const std::size_t chunk = 10000;
  for (std::size_t s = 0; s < n; s += chunk) {
    std::vector<document> docs;
    for (std::size_t i = s; i < std::min(n, s + chunk); ++i) {
      docs.push_back(
          {.id = std::to_string(i),
           .vectors = {std::vector<float>(base.begin() + i * d, base.begin() + (i + 1) * d)},
           .metadata = {{"bucket", i % 100}, {"group", i % 10}}});
    }
    c.insert_batch(docs);
  }
  double build_s = build.seconds();
  reporter rep({"section", "selectivity", "method", "ef", "recall@10", "qps"});
  rep.emit({{"section", "filter"},
            {"event", "build"},
            {"n", n},
            {"dim", d},
            {"seconds", build_s},
            {"index", vector::to_string(c.info().index)}});
  struct sel {
    const char* name;
    const char* filter;
    std::size_t mod, want;
    bool bucket;
  };
  for (auto s :
       {sel{"1%", R"({"bucket": 7})", 100, 7, true}, sel{"10%", R"({"group": 3})", 10, 3, false}}) {
    auto f = metadata_filter::compile(std::string_view(s.filter));
    // exact filtered top 10
    std::vector<std::set<std::string>> truth(nq);
    for (std::size_t q = 0; q < nq; ++q) {
      std::vector<std::pair<float, std::size_t>> sc;
      for (std::size_t i = s.want; i < n; i += s.mod)
        sc.push_back({-dot(qs.data() + q * d, base.data() + i * d, d), i});
      std::partial_sort(sc.begin(), sc.begin() + 10, sc.end());
      for (int r = 0; r < 10; ++r) truth[q].insert(std::to_string(sc[r].second));
    }
    for (std::size_t ef : {64, 128}) {
      double hit = 0;
      stopwatch t;
      for (std::size_t q = 0; q < nq; ++q) {
        auto h =
            c.search({.vector = std::vector<float>(qs.begin() + q * d, qs.begin() + (q + 1) * d),
                      .k = 10,
                      .ef_search = ef,
                      .filter = f,
                      .include_metadata = false});
        for (auto& x : h) hit += truth[q].count(x.id);
      }
      double secs = t.seconds();
      rep.emit({{"section", "filter"},
                {"selectivity", s.name},
                {"method", "pre-filter (collection)"},
                {"ef", ef},
                {"recall@10", hit / (10.0 * nq)},
                {"qps", nq / secs}});
    }
    // over-fetch baseline: unfiltered top 10x100 then drop non-matching
    {
      double hit = 0;
      stopwatch t;
      for (std::size_t q = 0; q < nq; ++q) {
        auto h =
            c.search({.vector = std::vector<float>(qs.begin() + q * d, qs.begin() + (q + 1) * d),
                      .k = 1000,
                      .ef_search = 1000});
        int kept = 0;
        for (auto& x : h) {
          if (!f.matches(x.metadata)) continue;
          hit += truth[q].count(x.id);
          if (++kept == 10) break;
        }
      }
      double secs = t.seconds();
      rep.emit({{"section", "filter"},
                {"selectivity", s.name},
                {"method", "over-fetch 1000 + drop"},
                {"ef", 1000},
                {"recall@10", hit / (10.0 * nq)},
                {"qps", nq / secs}});
    }
  }
  rep.print_table();
}

// ---- cache ----
void bench_cache(const args_t& a) {
  const std::size_t n = a.n, d = a.dim, nq = 1000;
  auto base = sochdb_bench::clustered(n, d, 3);
  for (std::size_t i = 0; i < n; ++i) normalize(base.data() + i * d, d);
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.f, 0.02f);
  std::uniform_int_distribution<std::size_t> pick(0, n - 1);
  memory_fs fs;
  auto db = open_mem(fs);
  auto ns = db.create_namespace("b");
  reporter rep({"section", "entries", "method", "p50_us", "p99_us", "speedup", "same_entry"});
  std::size_t loaded = 0;
  for (std::size_t target : {std::size_t{10000}, n}) {
    if (target > n) continue;
    while (loaded < target) {
      std::vector<cache_item> items;
      for (std::size_t i = loaded; i < std::min(target, loaded + 10000); ++i)
        items.push_back({"q" + std::to_string(i), "answer " + std::to_string(i),
                         std::vector<float>(base.begin() + i * d, base.begin() + (i + 1) * d)});
      ns.cache_put_batch("llm", items);
      loaded += items.size();
    }
    // queries near entries in [0, target)
    std::uniform_int_distribution<std::size_t> pk(0, target - 1);
    std::vector<float> qv(nq * d);
    for (std::size_t q = 0; q < nq; ++q) {
      std::size_t e = pk(rng);
      for (std::size_t j = 0; j < d; ++j) qv[q * d + j] = base[e * d + j] + g(rng);
    }
    sochdb_bench::latency_recorder idx_lat, scan_lat;
    std::vector<std::string> idx_keys(nq), scan_keys(nq);
    for (std::size_t q = 0; q < nq; ++q) {
      stopwatch t;
      auto h = ns.cache_get("llm", std::span<const float>(qv.data() + q * d, d), 0.9);
      idx_lat.add(t.micros());
      idx_keys[q] = h ? h->key : "";
    }
    for (std::size_t q = 0; q < nq; ++q) {
      stopwatch t;
      std::vector<float> qn(qv.begin() + q * d, qv.begin() + (q + 1) * d);
      normalize(qn.data(), d);
      float best = -2;
      std::size_t bi = 0;
      for (std::size_t i = 0; i < target; ++i) {
        float s = dot(qn.data(), base.data() + i * d, d);
        if (s > best) {
          best = s;
          bi = i;
        }
      }
      scan_lat.add(t.micros());
      scan_keys[q] = best >= 0.9f ? "q" + std::to_string(bi) : "";
    }
    std::size_t same = 0;
    for (std::size_t q = 0; q < nq; ++q) same += idx_keys[q] == scan_keys[q];
    double im = idx_lat.percentile(50), sm = scan_lat.percentile(50);
    rep.emit({{"section", "cache"},
              {"entries", target},
              {"method", "cache_get (HNSW)"},
              {"p50_us", im},
              {"p99_us", idx_lat.percentile(99)},
              {"speedup", sm / im},
              {"same_entry", double(same) / nq}});
    rep.emit({{"section", "cache"},
              {"entries", target},
              {"method", "linear scan"},
              {"p50_us", sm},
              {"p99_us", scan_lat.percentile(99)},
              {"speedup", 1.0}});
  }
  auto st = ns.cache_stats_of("llm");
  rep.emit({{"section", "cache"},
            {"event", "stats"},
            {"count", st.count},
            {"hit_rate", st.hit_rate},
            {"bytes", st.size_bytes}});
  rep.print_table();
}

// ---- fts5 ----
struct corpus {
  std::vector<std::string> docs, queries;
};
corpus make_corpus(std::size_t ndocs, std::size_t nq) {
  std::mt19937 rng(42);
  const std::size_t vocab = 1500;
  std::vector<std::string> words;
  const char* syl[] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "qu", "an", "el"};
  for (std::size_t w = 0; w < vocab; ++w) {
    std::string s;
    std::size_t x = w + 7;
    do {
      s += syl[x % 12];
      x /= 12;
    } while (x);
    words.push_back(s);
  }
  std::vector<double> weights(vocab);
  for (std::size_t w = 0; w < vocab; ++w) weights[w] = 1.0 / std::pow(double(w + 1), 1.07);
  std::discrete_distribution<std::size_t> zipf(weights.begin(), weights.end());
  std::uniform_int_distribution<int> len(5, 120);
  corpus c;
  for (std::size_t i = 0; i < ndocs; ++i) {
    std::string t;
    int l = len(rng);
    for (int j = 0; j < l; ++j) {
      std::string w = words[zipf(rng)];
      if (rng() % 10 == 0) w[0] = static_cast<char>(std::toupper(w[0]));
      t += w;
      t += (rng() % 8 == 0) ? ", " : " ";
    }
    c.docs.push_back(t);
  }
  std::uniform_int_distribution<std::size_t> qw(0, 600);
  for (std::size_t q = 0; q < nq; ++q) {
    std::size_t k = 1 + q % 3;
    std::string s;
    for (std::size_t j = 0; j < k; ++j) s += (j ? " " : "") + words[qw(rng)];
    c.queries.push_back(s);
  }
  return c;
}

void bench_fts5(const args_t&) {
#if SOCHDB_BENCH_SQLITE
  auto cp = make_corpus(4000, 300);
  memory_fs fs;
  auto db = open_mem(fs);
  auto c = db.create_namespace("b").create_collection(
      {.name = "t", .dimension = 1, .hybrid = true, .bm25_idf = idf_formula::robertson});
  std::vector<document> docs;
  for (std::size_t i = 0; i < cp.docs.size(); ++i)
    docs.push_back({.id = std::to_string(i + 1), .text = cp.docs[i]});
  c.insert_batch(docs);
  sqlite3* s = nullptr;
  sqlite3_open(":memory:", &s);
  sqlite3_exec(s,
               "CREATE VIRTUAL TABLE t USING fts5(body, tokenize='unicode61 remove_diacritics 2')",
               nullptr, nullptr, nullptr);
  sqlite3_exec(s, "BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(s, "INSERT INTO t(rowid, body) VALUES (?, ?)", -1, &ins, nullptr);
  for (std::size_t i = 0; i < cp.docs.size(); ++i) {
    sqlite3_bind_int64(ins, 1, static_cast<sqlite3_int64>(i + 1));
    sqlite3_bind_text(ins, 2, cp.docs[i].c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_step(ins);
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  sqlite3_exec(s, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_stmt* qst = nullptr;
  sqlite3_prepare_v2(
      s, "SELECT rowid, -bm25(t) FROM t WHERE t MATCH ? ORDER BY bm25(t), rowid LIMIT 10", -1, &qst,
      nullptr);
  std::size_t identical = 0, ties_only = 0;
  double max_diff = 0, ours_s = 0, fts_s = 0;
  for (auto& q : cp.queries) {
    std::string m;
    std::size_t p = 0;
    while (p < q.size()) {
      auto sp = q.find(' ', p);
      std::string w = q.substr(p, sp == std::string::npos ? std::string::npos : sp - p);
      m += (m.empty() ? "" : " OR ") + ("\"" + w + "\"");
      if (sp == std::string::npos) break;
      p = sp + 1;
    }
    stopwatch t1;
    auto ours = c.keyword_search(q, 10);
    ours_s += t1.seconds();
    stopwatch t2;
    sqlite3_bind_text(qst, 1, m.c_str(), -1, SQLITE_TRANSIENT);
    std::vector<std::pair<std::string, double>> theirs;
    while (sqlite3_step(qst) == SQLITE_ROW)
      theirs.push_back(
          {std::to_string(sqlite3_column_int64(qst, 0)), sqlite3_column_double(qst, 1)});
    sqlite3_reset(qst);
    fts_s += t2.seconds();
    bool same = ours.size() == theirs.size();
    bool same_scores = same;
    for (std::size_t i = 0; same && i < ours.size(); ++i) {
      if (ours[i].id != theirs[i].first) same = false;
      double diff =
          std::abs(ours[i].score - theirs[i].second) / std::max(1e-9, std::abs(theirs[i].second));
      max_diff = std::max(max_diff, diff);
      if (diff > 1e-6) same_scores = false;
    }
    if (same)
      ++identical;
    else if (same_scores)
      ++ties_only;
  }
  sqlite3_finalize(qst);
  sqlite3_close(s);
  reporter rep({"section", "docs", "queries", "identical_top10", "differ_only_in_ties",
                "max_rel_score_diff", "sochdb_us_per_query", "fts5_us_per_query", "speedup"});
  rep.emit({{"section", "fts5"},
            {"docs", cp.docs.size()},
            {"queries", cp.queries.size()},
            {"identical_top10", identical},
            {"differ_only_in_ties", ties_only},
            {"max_rel_score_diff", max_diff},
            {"sochdb_us_per_query", ours_s * 1e6 / cp.queries.size()},
            {"fts5_us_per_query", fts_s * 1e6 / cp.queries.size()},
            {"speedup", fts_s / ours_s}});
  rep.print_table();
#else
  std::cout << "{\"section\":\"fts5\",\"skipped\":\"built without sqlite3\"}\n";
#endif
}

// ---- hybrid (labelled set; docs/collections.md "Hybrid search: the labelled set") ----
void bench_hybrid(const args_t&) {
  const std::size_t topics = 20, per_topic = 100, entities = 20, d = 64, nq = 200;
  std::mt19937 rng(77);
  std::normal_distribution<float> g(0.f, 1.f);
  std::vector<std::vector<float>> centre(topics, std::vector<float>(d));
  for (auto& c : centre)
    for (auto& x : c) x = g(rng);
  std::vector<std::string> filler;
  for (int i = 0; i < 300; ++i) filler.push_back("w" + std::to_string(i));
  auto entity_name = [](std::size_t e) { return "ent" + std::to_string(e) + "x"; };
  memory_fs fs;
  auto db = open_mem(fs);
  auto c =
      db.create_namespace("b").create_collection({.name = "h", .dimension = d, .hybrid = true});
  std::vector<document> docs;
  std::vector<std::pair<std::size_t, std::size_t>> label;  // (topic, entity) per doc
  std::uniform_int_distribution<std::size_t> pe(0, entities - 1), pf(0, filler.size() - 1),
      pt(0, topics - 1);
  std::uniform_real_distribution<float> u(0, 1);
  for (std::size_t t = 0; t < topics; ++t) {
    for (std::size_t i = 0; i < per_topic; ++i) {
      std::size_t e = pe(rng);
      // 15% of documents have an off-topic embedding (the vector signal misses them)
      std::size_t vt = u(rng) < 0.15f ? pt(rng) : t;
      std::vector<float> v(d);
      for (std::size_t j = 0; j < d; ++j) v[j] = centre[vt][j] + 0.9f * g(rng);
      std::string text;
      for (int w = 0; w < 12; ++w) text += filler[pf(rng)] + " ";
      text += entity_name(e);
      // 20% also mention a second, unrelated entity (the keyword signal is ambiguous)
      if (u(rng) < 0.2f) text += " " + entity_name(pe(rng));
      docs.push_back({.id = std::to_string(docs.size()), .vectors = {v}, .text = text});
      label.push_back({t, e});
    }
  }
  c.insert_batch(docs);
  struct query {
    std::vector<float> v;
    std::string text;
    std::set<std::string> relevant;
  };
  std::vector<query> qs;
  for (std::size_t q = 0; q < nq; ++q) {
    std::size_t t = pt(rng), e = pe(rng);
    query x;
    x.v.resize(d);
    for (std::size_t j = 0; j < d; ++j) x.v[j] = centre[t][j] + 0.5f * g(rng);
    x.text = entity_name(e);
    for (std::size_t i = 0; i < docs.size(); ++i)
      if (label[i] == std::make_pair(t, e)) x.relevant.insert(docs[i].id);
    if (!x.relevant.empty()) qs.push_back(std::move(x));
  }
  reporter rep({"section", "method", "recall@10", "ndcg@10", "mrr"});
  auto eval = [&](const char* name, auto&& run) {
    double rec = 0, ndcg = 0, mrr = 0;
    for (auto& q : qs) {
      auto hits = run(q);
      double dcg = 0, idcg = 0, found = 0, rr = 0;
      for (std::size_t r = 0; r < hits.size() && r < 10; ++r) {
        if (q.relevant.count(hits[r].id)) {
          dcg += 1.0 / std::log2(double(r) + 2);
          ++found;
          if (rr == 0) rr = 1.0 / double(r + 1);
        }
      }
      for (std::size_t r = 0; r < std::min<std::size_t>(10, q.relevant.size()); ++r)
        idcg += 1.0 / std::log2(double(r) + 2);
      rec += found / double(std::min<std::size_t>(10, q.relevant.size()));
      ndcg += dcg / idcg;
      mrr += rr;
    }
    double n = double(qs.size());
    rep.emit({{"section", "hybrid"},
              {"method", name},
              {"recall@10", rec / n},
              {"ndcg@10", ndcg / n},
              {"mrr", mrr / n},
              {"queries", qs.size()},
              {"docs", docs.size()}});
  };
  eval("vector only", [&](const query& q) { return c.vector_search(q.v, 10); });
  eval("bm25 only", [&](const query& q) { return c.keyword_search(q.text, 10); });
  eval("hybrid rrf (depth 200)", [&](const query& q) {
    return c.search({.vector = q.v, .text = q.text, .k = 10, .candidates = 200});
  });
  eval("hybrid alpha=0.5 (depth 200)", [&](const query& q) {
    return c.search({.vector = q.v, .text = q.text, .k = 10, .alpha = 0.5, .candidates = 200});
  });
  eval("hybrid rrf (default depth 50)",
       [&](const query& q) { return c.search({.vector = q.v, .text = q.text, .k = 10}); });
  rep.print_table();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    auto a = parse(argc, argv);
    if (a.only.count("hybrid")) bench_hybrid(a);
    if (a.only.count("fts5")) bench_fts5(a);
    if (a.only.count("cache")) bench_cache(a);
    if (a.only.count("filter")) bench_filter(a);
  } catch (const std::exception& e) {
    std::cerr << "collection_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
