// vector_bench — sochdb's vector indexes beside hnswlib and FAISS on the same data, in the
// same run. The command line and the JSON lines are a contract used by outside checks:
//
//   vector_bench --base B.fvecs --queries Q.fvecs [--groundtruth G.ivecs]
//                --metric l2|ip|cosine --index flat|hnsw|hnsw-sq8|hnsw-pq|vamana-pq
//                [--M 16] [--ef-construction 200] [--ef-search 10,16,24,32,48,64,96,128,256]
//                [--k 10] [--build-threads 2] [--threads 1] [--compare hnswlib,faiss,usearch]
//
// plus `--fmnist [DIR]` (Fashion-MNIST from Debian's dataset-fashion-mnist instead of
// --base/--queries) and `--synthetic NxD` (the clustered generator of vector_data.hpp, fixed
// seed, 1,000 queries). `--index` takes a comma list so several sochdb configurations run in
// one process. Each measurement prints one JSON object per line:
//   {"library","index","params","build_s","bytes_per_vector","ef_search","recall_at_k","qps",
//    "p50_us","p99_us"}
// (qps: one query per call, on --threads threads), then a table, then for every library the
// QPS interpolated at recall 0.90 / 0.95 / 0.99 on its own curve and the ratio to hnswlib.
// Ground truth is computed with the flat index when --groundtruth is not given. Recall is
// id-based recall@k. Every ef point runs each library's queries --repeat times, libraries
// interleaved, and keeps each library's fastest repetition (the CPU is shared).
//
// bytes_per_vector is the growth of the heap (glibc mallinfo2: in-use bytes, including mmap'd
// chunks) across the build divided by n — the same measure for every library.
//
// Extra experiments (sochdb only, same JSON shape plus an "experiment" key):
//   --filter 0.1,0.01    filtered search at those selectivities (random attribute) against a
//                        filtered flat scan
//   --delete 0.2         delete that fraction, compact, re-insert; recall against a fresh build
//                        and heap bytes at each step
//   --save DIR           save -> load and save -> open_mapped, and check identical results
#include "bench_util.hpp"
#include "vector_data.hpp"

#include <sochdb/core/fs.hpp>
#include <sochdb/vector.hpp>

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#if SOCHDB_BENCH_HNSWLIB
#include <hnswlib/hnswlib.h>
#endif
#if SOCHDB_BENCH_FAISS
#include <faiss/IndexHNSW.h>
#include <omp.h>
#endif

namespace vec = sochdb::vector;
namespace simd = sochdb::simd;
using json = nlohmann::ordered_json;
using sochdb_bench::stopwatch;

namespace {

std::size_t heap_in_use() {
  malloc_trim(0);
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

std::vector<std::size_t> parse_list(const std::string& s) {
  std::vector<std::size_t> v;
  std::stringstream ss(s);
  std::string t;
  while (std::getline(ss, t, ',')) v.push_back(std::stoul(t));
  return v;
}
std::vector<std::string> parse_names(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  std::string t;
  while (std::getline(ss, t, ','))
    if (!t.empty()) v.push_back(t);
  return v;
}
std::vector<double> parse_doubles(const std::string& s) {
  std::vector<double> v;
  std::stringstream ss(s);
  std::string t;
  while (std::getline(ss, t, ',')) v.push_back(std::stod(t));
  return v;
}

struct config {
  std::string base, queries, groundtruth, metric = "l2", fmnist_dir;
  std::vector<std::string> indexes{"hnsw"}, compare;
  std::size_t M = 16, ef_construction = 200, k = 10, build_threads = 2, threads = 1, repeat = 3;
  std::size_t pq_m = 0, synth_n = 0, synth_d = 0, nq = 1000;
  std::vector<std::size_t> ef_search{10, 16, 24, 32, 48, 64, 96, 128, 256};
  std::vector<double> filter, targets{0.90, 0.95, 0.99};
  double delete_fraction = 0;
  std::string save_dir;
  bool fmnist = false;
  // Vamana: graph degree, build list, alpha; where its file goes; an existing file to open.
  std::size_t R = 64, L_build = 100;
  float alpha = 1.2f;
  std::string vamana_dir = "/tmp/sochdb-vamana-bench", open_vamana;
};

/// Resident set of this process from /proc/self/status (bytes): total, anonymous, file pages.
struct rss_info {
  std::size_t rss = 0, anon = 0, file = 0;
};
rss_info read_rss() {
  rss_info r;
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return r;
  char line[256];
  while (std::fgets(line, sizeof line, f)) {
    unsigned long kb = 0;
    if (std::sscanf(line, "VmRSS: %lu kB", &kb) == 1)
      r.rss = kb * 1024;
    else if (std::sscanf(line, "RssAnon: %lu kB", &kb) == 1)
      r.anon = kb * 1024;
    else if (std::sscanf(line, "RssFile: %lu kB", &kb) == 1)
      r.file = kb * 1024;
  }
  std::fclose(f);
  return r;
}

/// One library's index behind the same calls.
struct adapter {
  std::string library, index;
  json params = json::object();
  double build_s = 0;
  double bytes_per_vector = 0;
  virtual ~adapter() = default;
  virtual void build(const float* x, std::size_t n, std::size_t threads) = 0;
  virtual void prepare(std::size_t /*ef*/) {}
  virtual void search(const float* q, std::size_t k, std::size_t ef,
                      std::vector<std::int64_t>& out) = 0;
};

template <class Metric, class Quantizer>
struct sochdb_hnsw : adapter {
  std::size_t d;
  std::optional<vec::hnsw_index<Metric, Quantizer>> idx;
  std::vector<vec::neighbor> res;
  config c;
  sochdb_hnsw(const config& cc, std::size_t dim, const std::string& name) : d(dim), c(cc) {
    library = "sochdb";
    index = name;
    params = {{"M", c.M}, {"ef_construction", c.ef_construction}};
    if constexpr (std::is_same_v<Quantizer, vec::pq>) {
      std::size_t m = c.pq_m ? c.pq_m : d / 4;
      while (d % m) --m;
      params["pq_m"] = m;
    }
  }
  void build(const float* x, std::size_t n, std::size_t threads) override {
    // Sized like hnswlib's max_elements: the first segment holds all n records.
    vec::hnsw_options o{
        .dimension = d, .m = c.M, .ef_construction = c.ef_construction, .capacity = n};
    if constexpr (std::is_same_v<Quantizer, vec::no_quantizer>) {
      idx.emplace(o);
    } else if constexpr (std::is_same_v<Quantizer, vec::sq8>) {
      idx.emplace(o, vec::sq8({.dimension = d, .metric = Metric::kind}));
    } else {
      idx.emplace(o, vec::pq({.dimension = d,
                              .m = params["pq_m"].get<std::size_t>(),
                              .metric = Metric::kind,
                              .iterations = 10}));
    }
    std::vector<vec::label_t> labels(n);
    for (std::size_t i = 0; i < n; ++i) labels[i] = i;
    idx->add(x, labels.data(), n, threads);
  }
  void search(const float* q, std::size_t k, std::size_t ef,
              std::vector<std::int64_t>& out) override {
    idx->search({q, d}, k, res, {.ef = ef});
    out.resize(res.size());
    for (std::size_t i = 0; i < res.size(); ++i) out[i] = static_cast<std::int64_t>(res[i].label);
  }
};

/// Vamana + PQ: built into a file under --vamana-dir, then opened mapped (the codes in RAM,
/// blocks in the file). bytes_per_vector is the heap the opened index holds (codes, tombstone
/// bits, search scratch); the mapped file is reported apart.
template <class Metric>
struct sochdb_vamana : adapter {
  std::size_t d;
  std::optional<vec::vamana_index<Metric>> idx;
  std::vector<vec::neighbor> res;
  config c;
  std::string path;
  sochdb_vamana(const config& cc, std::size_t dim) : d(dim), c(cc) {
    library = "sochdb";
    index = "vamana-pq";
    const auto q = vec::default_vamana_pq(d, Metric::kind);
    params = {{"R", c.R}, {"L_build", c.L_build}, {"alpha", c.alpha}, {"pq_m", q.code_size()}};
    path = c.vamana_dir + "/bench.vamana";
  }
  void build(const float* x, std::size_t n, std::size_t threads) override {
    sochdb::posix_fs fs;
    fs.create_directories(c.vamana_dir);
    std::vector<vec::label_t> labels(n);
    for (std::size_t i = 0; i < n; ++i) labels[i] = i;
    vec::vamana_options o{
        .dimension = d, .r = c.R, .l_build = c.L_build, .alpha = c.alpha, .build_threads = threads};
    vec::vamana_index<Metric>::write_built(fs, path, o, x, labels.data(), n,
                                           vec::default_vamana_pq(d, Metric::kind));
    idx.emplace(vec::vamana_index<Metric>::open(fs, path));
    params["file_bytes"] = fs.file_size(path);
    params["file"] = path;
  }
  void search(const float* q, std::size_t k, std::size_t ef,
              std::vector<std::int64_t>& out) override {
    idx->search({q, d}, k, res, {.ef = ef});
    out.resize(res.size());
    for (std::size_t i = 0; i < res.size(); ++i) out[i] = static_cast<std::int64_t>(res[i].label);
  }
};

template <class Metric>
struct sochdb_flat : adapter {
  std::size_t d;
  std::optional<vec::flat_index<Metric>> idx;
  std::vector<vec::neighbor> res;
  sochdb_flat(std::size_t dim) : d(dim) {
    library = "sochdb";
    index = "flat";
    idx.emplace(vec::flat_options{.dimension = d});
  }
  void build(const float* x, std::size_t n, std::size_t) override {
    std::vector<vec::label_t> labels(n);
    for (std::size_t i = 0; i < n; ++i) labels[i] = i;
    idx->add(x, labels.data(), n);
  }
  void search(const float* q, std::size_t k, std::size_t, std::vector<std::int64_t>& out) override {
    idx->search({q, d}, k, res);
    out.resize(res.size());
    for (std::size_t i = 0; i < res.size(); ++i) out[i] = static_cast<std::int64_t>(res[i].label);
  }
};

#if SOCHDB_BENCH_HNSWLIB
struct hnswlib_adapter : adapter {
  std::size_t d;
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> idx;
  std::size_t M, efc;
  bool normalize;
  std::vector<float> qbuf;
  hnswlib_adapter(const config& c, std::size_t dim) : d(dim), M(c.M), efc(c.ef_construction) {
    library = "hnswlib";
    index = "hnsw";
    params = {{"M", c.M}, {"ef_construction", c.ef_construction}};
    normalize = c.metric == "cosine";
    if (c.metric == "l2") {
      space = std::make_unique<hnswlib::L2Space>(d);
    } else {
      space = std::make_unique<hnswlib::InnerProductSpace>(d);
    }
  }
  void build(const float* x, std::size_t n, std::size_t threads) override {
    idx = std::make_unique<hnswlib::HierarchicalNSW<float>>(space.get(), n, M, efc, 100);
    std::vector<float> norm;
    const float* data = x;
    if (normalize) {
      norm.assign(x, x + n * d);
      for (std::size_t i = 0; i < n; ++i) vec::detail::normalize(norm.data() + i * d, d);
      data = norm.data();
    }
    // As hnswlib's Python binding: the first point alone, then the rest on `threads` threads.
    idx->addPoint(data, 0);
    std::atomic<std::size_t> next{1};
    std::vector<std::thread> ts;
    for (std::size_t t = 0; t < std::max<std::size_t>(threads, 1); ++t) {
      ts.emplace_back([&] {
        for (std::size_t i; (i = next.fetch_add(1)) < n;) idx->addPoint(data + i * d, i);
      });
    }
    for (auto& t : ts) t.join();
  }
  void prepare(std::size_t ef) override { idx->setEf(ef); }
  void search(const float* q, std::size_t k, std::size_t, std::vector<std::int64_t>& out) override {
    if (normalize) {
      qbuf.assign(q, q + d);
      vec::detail::normalize(qbuf.data(), d);
      q = qbuf.data();
    }
    auto r = idx->searchKnn(q, k);
    out.resize(r.size());
    for (std::size_t i = r.size(); i-- > 0;) {
      out[i] = static_cast<std::int64_t>(r.top().second);
      r.pop();
    }
  }
};
#endif

#if SOCHDB_BENCH_FAISS
struct faiss_adapter : adapter {
  std::size_t d;
  std::unique_ptr<faiss::IndexHNSWFlat> idx;
  bool normalize;
  std::vector<float> qbuf, dist;
  std::vector<faiss::Index::idx_t> ids;
  faiss_adapter(const config& c, std::size_t dim) : d(dim) {
    library = "faiss_sse2";
    index = "IndexHNSWFlat";
    params = {{"M", c.M},
              {"ef_construction", c.ef_construction},
              {"note", "Debian build, baseline SSE2: a lower bound"}};
    normalize = c.metric == "cosine";
    idx = std::make_unique<faiss::IndexHNSWFlat>(
        static_cast<int>(d), static_cast<int>(c.M),
        c.metric == "l2" ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT);
    idx->hnsw.efConstruction = static_cast<int>(c.ef_construction);
  }
  void build(const float* x, std::size_t n, std::size_t threads) override {
    omp_set_num_threads(static_cast<int>(std::max<std::size_t>(threads, 1)));
    std::vector<float> norm;
    if (normalize) {
      norm.assign(x, x + n * d);
      for (std::size_t i = 0; i < n; ++i) vec::detail::normalize(norm.data() + i * d, d);
      x = norm.data();
    }
    idx->add(static_cast<faiss::Index::idx_t>(n), x);
    omp_set_num_threads(1);
  }
  void prepare(std::size_t ef) override { idx->hnsw.efSearch = static_cast<int>(ef); }
  void search(const float* q, std::size_t k, std::size_t, std::vector<std::int64_t>& out) override {
    if (normalize) {
      qbuf.assign(q, q + d);
      vec::detail::normalize(qbuf.data(), d);
      q = qbuf.data();
    }
    dist.resize(k);
    ids.resize(k);
    idx->search(1, q, static_cast<faiss::Index::idx_t>(k), dist.data(), ids.data());
    out.clear();
    for (auto i : ids)
      if (i >= 0) out.push_back(i);
  }
};
#endif

template <class Metric>
std::unique_ptr<adapter> make_sochdb(const config& c, const std::string& name, std::size_t d) {
  if (name == "flat") return std::make_unique<sochdb_flat<Metric>>(d);
  if (name == "hnsw") return std::make_unique<sochdb_hnsw<Metric, vec::no_quantizer>>(c, d, name);
  if (name == "hnsw-sq8") return std::make_unique<sochdb_hnsw<Metric, vec::sq8>>(c, d, name);
  if (name == "hnsw-pq") return std::make_unique<sochdb_hnsw<Metric, vec::pq>>(c, d, name);
  if (name == "vamana-pq") {
    if constexpr (Metric::kind == simd::metric_kind::inner_product) {
      throw std::runtime_error("vamana-pq supports --metric l2 and cosine");
    } else {
      return std::make_unique<sochdb_vamana<Metric>>(c, d);
    }
  }
  throw std::runtime_error("unknown or not yet built --index " + name);
}

std::unique_ptr<adapter> make_adapter(const config& c, const std::string& name, std::size_t d) {
  if (c.metric == "l2") return make_sochdb<simd::l2<>>(c, name, d);
  if (c.metric == "ip") return make_sochdb<simd::inner_product<>>(c, name, d);
  if (c.metric == "cosine") return make_sochdb<simd::cosine>(c, name, d);
  throw std::runtime_error("--metric must be l2, ip or cosine");
}

struct point {
  double recall, qps;
};

/// QPS at `target` recall by linear interpolation between the two points of the curve that
/// bracket it (sorted by recall); nullopt when the curve never reaches it.
std::optional<double> qps_at(std::vector<point> pts, double target) {
  std::sort(pts.begin(), pts.end(), [](auto& a, auto& b) { return a.recall < b.recall; });
  // Keep the upper envelope: for each recall the best QPS at that recall or higher.
  for (std::size_t i = pts.size(); i-- > 1;) pts[i - 1].qps = std::max(pts[i - 1].qps, pts[i].qps);
  for (std::size_t i = 0; i < pts.size(); ++i) {
    if (pts[i].recall >= target) {
      if (i == 0) return pts[0].qps;
      const auto& a = pts[i - 1];
      const auto& b = pts[i];
      const double t = (target - a.recall) / std::max(1e-12, b.recall - a.recall);
      return a.qps + t * (b.qps - a.qps);
    }
  }
  return std::nullopt;
}

struct run_result {
  double recall = 0, qps = 0, p50 = 0, p99 = 0;
};

/// Runs every query once per call on `threads` threads.
run_result run_queries(adapter& a, const vec::matrix<float>& q, const vec::matrix<std::int32_t>& gt,
                       std::size_t k, std::size_t ef, std::size_t threads) {
  a.prepare(ef);
  const std::size_t nq = q.rows;
  std::vector<double> lat(nq);
  std::vector<double> rec(nq);
  auto one = [&](std::size_t i, std::vector<std::int64_t>& ids) {
    stopwatch sw;
    a.search(q.row(i), k, ef, ids);
    lat[i] = sw.micros();
    std::size_t hit = 0;
    for (std::size_t j = 0; j < k; ++j)
      for (auto id : ids)
        if (id == gt.row(i)[j]) {
          ++hit;
          break;
        }
    rec[i] = static_cast<double>(hit) / static_cast<double>(k);
  };
  stopwatch total;
  if (threads <= 1) {
    std::vector<std::int64_t> ids;
    for (std::size_t i = 0; i < nq; ++i) one(i, ids);
  } else {
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> ts;
    for (std::size_t t = 0; t < threads; ++t)
      ts.emplace_back([&] {
        std::vector<std::int64_t> ids;
        for (std::size_t i; (i = next.fetch_add(1)) < nq;) one(i, ids);
      });
    for (auto& t : ts) t.join();
  }
  const double secs = total.seconds();
  sochdb_bench::latency_recorder lr;
  for (double l : lat) lr.add(l);
  run_result r;
  for (double x : rec) r.recall += x;
  r.recall /= static_cast<double>(nq);
  r.qps = static_cast<double>(nq) / secs;
  r.p50 = lr.percentile(50);
  r.p99 = lr.percentile(99);
  return r;
}

void usage() {
  std::fprintf(
      stderr,
      "usage: vector_bench (--base B.fvecs --queries Q.fvecs [--groundtruth G.ivecs] | --fmnist "
      "[DIR] |\n"
      "                     --synthetic NxD) [--metric l2|ip|cosine]\n"
      "                    [--index flat|hnsw|hnsw-sq8|hnsw-pq|vamana-pq[,...]] [--M 16]\n"
      "                    [--ef-construction 200] [--ef-search 10,16,...] [--k 10]\n"
      "                    [--build-threads 2] [--threads 1] [--compare hnswlib,faiss,usearch]\n"
      "                    [--repeat 3] [--nq 1000] [--pq-m M] [--filter 0.1,0.01]\n"
      "                    [--delete 0.2] [--save DIR] [--R 64] [--L-build 100] [--alpha 1.2]\n"
      "                    [--vamana-dir DIR]\n"
      "       vector_bench --open-vamana FILE --queries Q.fvecs --groundtruth G.ivecs\n"
      "                    [--metric l2|cosine] [--ef-search ...]  (resident memory of a\n"
      "                    mapped Vamana index in a fresh process)\n");
  std::exit(2);
}

config parse(int argc, char** argv) {
  config c;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--base")
      c.base = next();
    else if (a == "--queries")
      c.queries = next();
    else if (a == "--groundtruth")
      c.groundtruth = next();
    else if (a == "--metric")
      c.metric = next();
    else if (a == "--index")
      c.indexes = parse_names(next());
    else if (a == "--M")
      c.M = std::stoul(next());
    else if (a == "--ef-construction")
      c.ef_construction = std::stoul(next());
    else if (a == "--ef-search")
      c.ef_search = parse_list(next());
    else if (a == "--k")
      c.k = std::stoul(next());
    else if (a == "--build-threads")
      c.build_threads = std::stoul(next());
    else if (a == "--threads")
      c.threads = std::stoul(next());
    else if (a == "--compare")
      c.compare = parse_names(next());
    else if (a == "--repeat")
      c.repeat = std::stoul(next());
    else if (a == "--nq")
      c.nq = std::stoul(next());
    else if (a == "--pq-m")
      c.pq_m = std::stoul(next());
    else if (a == "--filter")
      c.filter = parse_doubles(next());
    else if (a == "--delete")
      c.delete_fraction = std::stod(next());
    else if (a == "--save")
      c.save_dir = next();
    else if (a == "--R")
      c.R = std::stoul(next());
    else if (a == "--L-build")
      c.L_build = std::stoul(next());
    else if (a == "--alpha")
      c.alpha = std::stof(next());
    else if (a == "--vamana-dir")
      c.vamana_dir = next();
    else if (a == "--open-vamana")
      c.open_vamana = next();
    else if (a == "--fmnist") {
      c.fmnist = true;
      c.fmnist_dir = "/usr/share/datasets/fashion-mnist";
      if (i + 1 < argc && argv[i + 1][0] != '-') c.fmnist_dir = argv[++i];
    } else if (a == "--synthetic") {
      std::string s = next();
      auto x = s.find('x');
      if (x == std::string::npos) usage();
      c.synth_n = std::stoul(s.substr(0, x));
      c.synth_d = std::stoul(s.substr(x + 1));
    } else {
      usage();
    }
  }
  if (!c.open_vamana.empty() && (c.queries.empty() || c.groundtruth.empty())) usage();
  if (c.open_vamana.empty() && !c.fmnist && c.synth_n == 0 && (c.base.empty() || c.queries.empty()))
    usage();
  return c;
}

sochdb_bench::reporter g_report({"library", "index", "experiment", "ef_search", "recall_at_k",
                                 "qps", "p50_us", "p99_us", "build_s", "bytes_per_vector"});

json row(const adapter& a, std::size_t ef, const run_result& r) {
  json j;
  j["library"] = a.library;
  j["index"] = a.index;
  j["params"] = a.params;
  j["build_s"] = a.build_s;
  j["bytes_per_vector"] = a.bytes_per_vector;
  j["ef_search"] = ef;
  j["recall_at_k"] = r.recall;
  j["qps"] = r.qps;
  j["p50_us"] = r.p50;
  j["p99_us"] = r.p99;
  return j;
}

/// Filtered search at each selectivity: a random attribute in 0..9999 per vector, the filter
/// passes attribute < selectivity * 10000. Ground truth and the baseline are the flat index's
/// filtered scan.
template <class Metric>
void run_filtered(const config& c, const vec::matrix<float>& base, const vec::matrix<float>& q) {
  const std::size_t n = base.rows, d = base.dim;
  std::vector<std::uint16_t> attr(n);
  std::mt19937_64 rng(42);
  for (auto& a : attr) a = static_cast<std::uint16_t>(rng() % 10000);
  std::vector<vec::label_t> labels(n);
  for (std::size_t i = 0; i < n; ++i) labels[i] = i;
  vec::flat_index<Metric> flat({.dimension = d});
  flat.add(base.data.data(), labels.data(), n);
  vec::hnsw_index<Metric> h({.dimension = d, .m = c.M, .ef_construction = c.ef_construction});
  stopwatch sw;
  h.add(base.data.data(), labels.data(), n, c.build_threads);
  const double build = sw.seconds();
  for (double sel : c.filter) {
    const auto limit = static_cast<std::uint16_t>(sel * 10000);
    auto pass = [&](vec::label_t l) { return attr[l] < limit; };
    std::size_t passing = 0;
    for (auto a : attr) passing += a < limit;
    vec::matrix<std::int32_t> gt;
    gt.rows = q.rows;
    gt.dim = c.k;
    gt.data.assign(q.rows * c.k, -1);
    std::vector<vec::neighbor> res;
    for (std::size_t i = 0; i < q.rows; ++i) {
      flat.search({q.row(i), d}, c.k, res, {}, pass);
      for (std::size_t j = 0; j < res.size(); ++j)
        gt.data[i * c.k + j] = static_cast<std::int32_t>(res[j].label);
    }
    struct flat_a : adapter {
      vec::flat_index<Metric>* f;
      std::function<bool(vec::label_t)> p;
      std::size_t d;
      std::vector<vec::neighbor> r;
      void build(const float*, std::size_t, std::size_t) override {}
      void search(const float* qq, std::size_t k, std::size_t,
                  std::vector<std::int64_t>& out) override {
        f->search({qq, d}, k, r, {}, [this](vec::label_t l) { return p(l); });
        out.resize(r.size());
        for (std::size_t i = 0; i < r.size(); ++i) out[i] = static_cast<std::int64_t>(r[i].label);
      }
    } fa;
    fa.library = "sochdb";
    fa.index = "flat (filtered scan)";
    fa.f = &flat;
    fa.p = pass;
    fa.d = d;
    struct hnsw_a : adapter {
      vec::hnsw_index<Metric>* h;
      std::function<bool(vec::label_t)> p;
      std::size_t d;
      std::vector<vec::neighbor> r;
      void build(const float*, std::size_t, std::size_t) override {}
      void search(const float* qq, std::size_t k, std::size_t ef,
                  std::vector<std::int64_t>& out) override {
        h->search({qq, d}, k, r, {.ef = ef}, [this](vec::label_t l) { return p(l); });
        out.resize(r.size());
        for (std::size_t i = 0; i < r.size(); ++i) out[i] = static_cast<std::int64_t>(r[i].label);
      }
    } ha;
    ha.library = "sochdb";
    ha.index = "hnsw (filtered)";
    ha.h = &h;
    ha.p = pass;
    ha.d = d;
    ha.build_s = build;
    run_result best_flat;
    for (std::size_t rep = 0; rep < c.repeat; ++rep) {
      auto r = run_queries(fa, q, gt, c.k, 0, c.threads);
      if (r.qps > best_flat.qps) best_flat = r;
    }
    json jf = row(fa, 0, best_flat);
    jf["experiment"] = "filter";
    jf["selectivity"] = static_cast<double>(passing) / static_cast<double>(n);
    g_report.emit(jf);
    for (std::size_t ef : c.ef_search) {
      run_result best;
      for (std::size_t rep = 0; rep < c.repeat; ++rep) {
        auto r = run_queries(ha, q, gt, c.k, ef, c.threads);
        if (r.qps > best.qps) best = r;
      }
      json j = row(ha, ef, best);
      j["experiment"] = "filter";
      j["selectivity"] = static_cast<double>(passing) / static_cast<double>(n);
      j["x_flat_scan"] = best.qps / best_flat.qps;
      g_report.emit(j);
    }
  }
}

/// Delete a fraction, compact, re-insert: recall and heap bytes against a fresh build.
template <class Metric>
void run_delete(const config& c, const vec::matrix<float>& base, const vec::matrix<float>& q,
                const vec::matrix<std::int32_t>& gt) {
  const std::size_t n = base.rows, d = base.dim;
  std::vector<vec::label_t> labels(n);
  for (std::size_t i = 0; i < n; ++i) labels[i] = i;
  struct hnsw_a : adapter {
    vec::hnsw_index<Metric>* h;
    std::size_t d;
    std::vector<vec::neighbor> r;
    void build(const float*, std::size_t, std::size_t) override {}
    void search(const float* qq, std::size_t k, std::size_t ef,
                std::vector<std::int64_t>& out) override {
      h->search({qq, d}, k, r, {.ef = ef});
      out.resize(r.size());
      for (std::size_t i = 0; i < r.size(); ++i) out[i] = static_cast<std::int64_t>(r[i].label);
    }
  };
  const std::size_t h0 = heap_in_use();
  vec::hnsw_index<Metric> h(
      {.dimension = d, .m = c.M, .ef_construction = c.ef_construction, .capacity = n});
  h.add(base.data.data(), labels.data(), n, c.build_threads);
  const std::size_t fresh_bytes = heap_in_use() - h0;
  hnsw_a a;
  a.library = "sochdb";
  a.index = "hnsw";
  a.h = &h;
  a.d = d;
  auto sweep = [&](const char* phase, std::size_t bytes) {
    for (std::size_t ef : c.ef_search) {
      run_result best;
      for (std::size_t rep = 0; rep < c.repeat; ++rep) {
        auto r = run_queries(a, q, gt, c.k, ef, c.threads);
        if (r.qps > best.qps) best = r;
      }
      a.bytes_per_vector = static_cast<double>(bytes) / static_cast<double>(n);
      json j = row(a, ef, best);
      j["experiment"] = std::string("delete:") + phase;
      g_report.emit(j);
    }
  };
  sweep("fresh", fresh_bytes);
  std::vector<vec::label_t> victims;
  std::mt19937_64 rng(7);
  for (std::size_t i = 0; i < n; ++i)
    if (static_cast<double>(rng() % 1000000) < c.delete_fraction * 1e6) victims.push_back(i);
  for (auto l : victims) h.remove(l);
  stopwatch sw;
  h.compact(c.build_threads);
  const double compact_s = sw.seconds();
  const std::size_t after_compact = heap_in_use() - h0;
  json jc;
  jc["library"] = "sochdb";
  jc["index"] = "hnsw";
  jc["experiment"] = "delete:compacted";
  jc["deleted"] = victims.size();
  jc["compact_s"] = compact_s;
  jc["bytes_per_vector"] = static_cast<double>(after_compact) / static_cast<double>(n);
  jc["heap_bytes_fresh"] = fresh_bytes;
  jc["heap_bytes_compacted"] = after_compact;
  g_report.emit(jc);
  std::vector<float> again(victims.size() * d);
  for (std::size_t i = 0; i < victims.size(); ++i)
    std::memcpy(again.data() + i * d, base.row(victims[i]), d * sizeof(float));
  sw.reset();
  h.add(again.data(), victims.data(), victims.size(), c.build_threads);
  json jr;
  jr["library"] = "sochdb";
  jr["index"] = "hnsw";
  jr["experiment"] = "delete:reinserted";
  jr["reinsert_s"] = sw.seconds();
  g_report.emit(jr);
  sweep("reinserted", heap_in_use() - h0);
}

template <class Metric>
void run_save(const config& c, const vec::matrix<float>& base, const vec::matrix<float>& q) {
  const std::size_t n = base.rows, d = base.dim;
  std::vector<vec::label_t> labels(n);
  for (std::size_t i = 0; i < n; ++i) labels[i] = i;
  vec::hnsw_index<Metric> h({.dimension = d, .m = c.M, .ef_construction = c.ef_construction});
  h.add(base.data.data(), labels.data(), n, c.build_threads);
  sochdb::posix_fs fs;
  fs.create_directories(c.save_dir);
  const std::string path = c.save_dir + "/bench.hnsw";
  stopwatch sw;
  h.save(fs, path);
  const double save_s = sw.seconds();
  sw.reset();
  auto loaded = vec::hnsw_index<Metric>::load(fs, path);
  const double load_s = sw.seconds();
  sw.reset();
  auto mapped = vec::hnsw_index<Metric>::open_mapped(fs, path);
  const double map_s = sw.seconds();
  std::size_t same = 0;
  for (std::size_t i = 0; i < q.rows; ++i) {
    auto a = h.search({q.row(i), d}, c.k, {.ef = 64});
    same += (a == loaded.search({q.row(i), d}, c.k, {.ef = 64})) &&
            (a == mapped.search({q.row(i), d}, c.k, {.ef = 64}));
  }
  json j;
  j["library"] = "sochdb";
  j["index"] = "hnsw";
  j["experiment"] = "save-load";
  j["file_bytes"] = fs.file_size(path);
  j["save_s"] = save_s;
  j["load_s"] = load_s;
  j["open_mapped_s"] = map_s;
  j["identical_results"] = same;
  j["queries"] = q.rows;
  g_report.emit(j);
}

template <class Metric>
void experiments(const config& c, const vec::matrix<float>& base, const vec::matrix<float>& q,
                 const vec::matrix<std::int32_t>& gt) {
  if (!c.filter.empty()) run_filtered<Metric>(c, base, q);
  if (c.delete_fraction > 0) run_delete<Metric>(c, base, q, gt);
  if (!c.save_dir.empty()) run_save<Metric>(c, base, q);
}

}  // namespace

/// A fresh process opens a built Vamana file and searches it: the resident memory it needs on
/// the search path (RSS before opening, after opening, after the sweep; anonymous and file
/// pages apart), with recall against the ground truth written by the building run.
template <class Metric>
int open_vamana(const config& c) {
  sochdb::posix_fs fs;
  const auto q = vec::read_fvecs(fs, c.queries, c.nq);
  const auto gt = vec::read_ivecs(fs, c.groundtruth, q.rows);
  const rss_info r0 = read_rss();
  stopwatch sw;
  auto idx = vec::vamana_index<Metric>::open(fs, c.open_vamana);
  const double open_s = sw.seconds();
  const rss_info r1 = read_rss();
  const std::size_t n = idx.size();
  struct va : adapter {
    vec::vamana_index<Metric>* v;
    std::size_t d;
    std::vector<vec::neighbor> r;
    void build(const float*, std::size_t, std::size_t) override {}
    void search(const float* qq, std::size_t k, std::size_t ef,
                std::vector<std::int64_t>& out) override {
      v->search({qq, d}, k, r, {.ef = ef});
      out.resize(r.size());
      for (std::size_t i = 0; i < r.size(); ++i) out[i] = static_cast<std::int64_t>(r[i].label);
    }
  } a;
  a.library = "sochdb";
  a.index = "vamana-pq (opened)";
  a.v = &idx;
  a.d = q.dim;
  a.params = {{"file", c.open_vamana}, {"open_s", open_s}};
  for (std::size_t ef : c.ef_search) {
    run_result best;
    for (std::size_t rep = 0; rep < c.repeat; ++rep) {
      auto r = run_queries(a, q, gt, std::min(c.k, gt.dim), ef, c.threads);
      if (r.qps > best.qps) best = r;
    }
    const rss_info r2 = read_rss();
    const auto st = idx.stats();
    a.bytes_per_vector = static_cast<double>(st.memory_bytes) / static_cast<double>(n);
    json j = row(a, ef, best);
    j["experiment"] = "vamana-open";
    j["n"] = n;
    j["index_heap_bytes_per_vector"] = a.bytes_per_vector;
    j["rss_anon_growth_per_vector"] =
        (static_cast<double>(r2.anon) - static_cast<double>(r0.anon)) / static_cast<double>(n);
    j["rss_file_per_vector"] =
        (static_cast<double>(r2.file) - static_cast<double>(r0.file)) / static_cast<double>(n);
    j["rss_after_open"] = r1.rss;
    j["rss_after_sweep"] = r2.rss;
    j["rss_before_open"] = r0.rss;
    g_report.emit(j);
  }
  g_report.print_table();
  return 0;
}

int main(int argc, char** argv) {
  const config c = parse(argc, argv);
  if (!c.open_vamana.empty()) {
    if (c.metric == "cosine") return open_vamana<simd::cosine>(c);
    return open_vamana<simd::l2<>>(c);
  }
  sochdb::posix_fs fs;
  vec::matrix<float> base, queries;
  std::string dataset;
  if (c.fmnist) {
#if SOCHDB_BENCH_ZLIB
    sochdb_bench::load_fmnist(c.fmnist_dir, base, queries, c.nq);
    dataset = "fashion-mnist-784";
#else
    std::fprintf(stderr, "vector_bench: built without zlib, --fmnist is unavailable\n");
    return 2;
#endif
  } else if (c.synth_n != 0) {
    base.rows = c.synth_n;
    base.dim = c.synth_d;
    base.data = sochdb_bench::clustered(c.synth_n, c.synth_d, 1);
    queries.rows = c.nq;
    queries.dim = c.synth_d;
    queries.data = sochdb_bench::clustered(c.nq, c.synth_d, 2);
    dataset = "clustered-" + std::to_string(c.synth_n) + "x" + std::to_string(c.synth_d);
  } else {
    base = c.base.ends_with(".bvecs") ? vec::read_bvecs(fs, c.base) : vec::read_fvecs(fs, c.base);
    queries = c.queries.ends_with(".bvecs") ? vec::read_bvecs(fs, c.queries, c.nq)
                                            : vec::read_fvecs(fs, c.queries, c.nq);
    dataset = c.base;
  }
  if (base.dim != queries.dim) {
    std::fprintf(stderr, "vector_bench: base dimension %zu, queries %zu\n", base.dim, queries.dim);
    return 1;
  }
  const std::size_t n = base.rows, d = base.dim;
  std::fprintf(stderr, "dataset %s: %zu x %zu, %zu queries, metric %s\n", dataset.c_str(), n, d,
               queries.rows, c.metric.c_str());

  vec::matrix<std::int32_t> gt;
  if (!c.groundtruth.empty()) {
    gt = vec::read_ivecs(fs, c.groundtruth, queries.rows);
  } else {
    stopwatch sw;
    if (c.metric == "l2")
      gt = vec::ground_truth<simd::l2<>>(base.data.data(), n, queries.data.data(), queries.rows, d,
                                         c.k);
    else if (c.metric == "ip")
      gt = vec::ground_truth<simd::inner_product<>>(base.data.data(), n, queries.data.data(),
                                                    queries.rows, d, c.k);
    else
      gt = vec::ground_truth<simd::cosine>(base.data.data(), n, queries.data.data(), queries.rows,
                                           d, c.k);
    std::fprintf(stderr, "ground truth (flat index, exact): %.2f s\n", sw.seconds());
  }
  if (gt.dim < c.k) {
    std::fprintf(stderr, "vector_bench: ground truth has %zu neighbours per query, k = %zu\n",
                 gt.dim, c.k);
    return 1;
  }
  if (gt.dim > c.k) {  // keep the first k columns
    vec::matrix<std::int32_t> g2;
    g2.rows = gt.rows;
    g2.dim = c.k;
    for (std::size_t i = 0; i < gt.rows; ++i)
      g2.data.insert(g2.data.end(), gt.row(i), gt.row(i) + c.k);
    gt = std::move(g2);
  }

  std::vector<std::unique_ptr<adapter>> libs;
  for (const auto& name : c.indexes) libs.push_back(make_adapter(c, name, d));
  if (std::find(c.indexes.begin(), c.indexes.end(), "vamana-pq") != c.indexes.end()) {
    // The queries and ground truth beside the index, for --open-vamana in a fresh process.
    fs.create_directories(c.vamana_dir);
    vec::write_fvecs(fs, c.vamana_dir + "/queries.fvecs", queries.data.data(), queries.rows, d);
    vec::write_ivecs(fs, c.vamana_dir + "/groundtruth.ivecs", gt.data.data(), gt.rows, gt.dim);
  }
  for (const auto& name : c.compare) {
    if (name == "hnswlib") {
#if SOCHDB_BENCH_HNSWLIB
      libs.push_back(std::make_unique<hnswlib_adapter>(c, d));
#else
      std::fprintf(stderr, "vector_bench: built without hnswlib, skipping\n");
#endif
    } else if (name == "faiss") {
#if SOCHDB_BENCH_FAISS
      libs.push_back(std::make_unique<faiss_adapter>(c, d));
#else
      std::fprintf(stderr, "vector_bench: built without FAISS, skipping\n");
#endif
    } else if (name == "usearch") {
      std::fprintf(stderr, "vector_bench: USearch is not packaged for Debian 12, skipping\n");
    } else {
      std::fprintf(stderr, "vector_bench: unknown --compare %s\n", name.c_str());
      return 2;
    }
  }

  // Builds one after the other (each measured alone), then ef sweeps interleaved.
  for (auto& a : libs) {
    const std::size_t before = heap_in_use();
    stopwatch sw;
    a->build(base.data.data(), n, c.build_threads);
    a->build_s = sw.seconds();
    a->bytes_per_vector = static_cast<double>(heap_in_use() - before) / static_cast<double>(n);
    a->params["dataset"] = dataset;
    a->params["build_threads"] = c.build_threads;
    a->params["search_threads"] = c.threads;
    std::fprintf(stderr, "built %s %s in %.2f s, %.1f bytes/vector\n", a->library.c_str(),
                 a->index.c_str(), a->build_s, a->bytes_per_vector);
  }
  std::map<std::string, std::vector<point>> curves;
  for (std::size_t ef : c.ef_search) {
    std::vector<run_result> best(libs.size());
    for (std::size_t rep = 0; rep < c.repeat; ++rep) {
      for (std::size_t li = 0; li < libs.size(); ++li) {
        auto r = run_queries(*libs[li], queries, gt, c.k, ef, c.threads);
        if (r.qps > best[li].qps) best[li] = r;
      }
    }
    for (std::size_t li = 0; li < libs.size(); ++li) {
      g_report.emit(row(*libs[li], ef, best[li]));
      curves[libs[li]->library + " " + libs[li]->index].push_back({best[li].recall, best[li].qps});
    }
  }
  // Interpolated QPS at the target recalls, and ratios to hnswlib.
  for (double target : c.targets) {
    std::optional<double> anchor;
    if (curves.count("hnswlib hnsw")) anchor = qps_at(curves["hnswlib hnsw"], target);
    for (auto& a : libs) {
      const std::string key = a->library + " " + a->index;
      auto v = qps_at(curves[key], target);
      json j;
      j["summary"] = "qps_at_recall";
      j["library"] = a->library;
      j["index"] = a->index;
      j["target_recall"] = target;
      j["qps"] = v ? json(*v) : json();
      j["x_hnswlib"] = (v && anchor) ? json(*v / *anchor) : json();
      j["build_s"] = a->build_s;
      j["bytes_per_vector"] = a->bytes_per_vector;
      std::cout << j.dump() << "\n";
    }
  }
  for (auto& a : libs) {
    if (a->library == "hnswlib") continue;
    for (auto& b : libs) {
      if (b->library != "hnswlib") continue;
      json j;
      j["summary"] = "build";
      j["library"] = a->library;
      j["index"] = a->index;
      j["build_s"] = a->build_s;
      j["x_hnswlib_build_time"] = a->build_s / b->build_s;
      j["x_hnswlib_bytes"] = a->bytes_per_vector / b->bytes_per_vector;
      std::cout << j.dump() << "\n";
    }
  }
  libs.clear();
  if (c.metric == "l2")
    experiments<simd::l2<>>(c, base, queries, gt);
  else if (c.metric == "ip")
    experiments<simd::inner_product<>>(c, base, queries, gt);
  else
    experiments<simd::cosine>(c, base, queries, gt);
  g_report.print_table();
  return 0;
}
