// kernel_bench — sochdb's distance kernels beside hnswlib's and FAISS's, in the same run.
//
// For every ISA table this CPU runs (the sochdb-dispatch library) and d in {96, 128, 384, 768,
// 784, 1536}: ns per distance and GB/s for one-to-one, one-to-many (a query against a
// contiguous block of rows) and batched (16 queries x the block) squared L2 and inner product;
// then uint8 L2, SQ8 and binary16 asymmetric distances, Hamming, and a PQ query. Anchors:
//  * hnswlib (header-only, compiled here with the same -O3 -march=native): L2Space,
//    InnerProductSpace, L2SpaceI (uint8) — the fair comparison;
//  * FAISS (libfaiss-dev): fvec_L2sqr, fvec_inner_product, fvec_L2sqr_ny,
//    fvec_inner_products_ny, ScalarQuantizer distance computers, HammingComputerDefault,
//    ProductQuantizer::search. Debian builds FAISS for baseline x86-64 (SSE2), so its figures
//    are a lower bound of what FAISS can do.
// Timing: each measurement interleaves sochdb and the anchors inside one repetition and is
// repeated; a ratio (anchor time / sochdb time, > 1 means sochdb is faster) is computed per
// repetition and the median is reported, which keeps the ratios stable on a shared CPU.
// Finally a streaming-read bandwidth measurement over a 512 MiB buffer (far beyond the last
// level cache) is compared with float32 L2 and SQ8 / PQ scans over the same amount of vectors.
//
// Usage: kernel_bench [--quick] [--isa=NAME] [--no-bandwidth] [--table-to-stderr]
#include "bench_util.hpp"

#include <sochdb/simd.hpp>
#include <sochdb/vector.hpp>

#if SOCHDB_BENCH_HNSWLIB
#include <hnswlib/hnswlib.h>
#endif
#if SOCHDB_BENCH_FAISS
#include <faiss/Index.h>
#include <faiss/impl/ProductQuantizer.h>
#include <faiss/impl/ScalarQuantizer.h>
#include <faiss/utils/distances.h>
#include <faiss/utils/hamming.h>
#endif

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace simd = sochdb::simd;
namespace vec = sochdb::vector;
using sochdb_bench::do_not_optimize;
using sochdb_bench::stopwatch;

namespace {

bool g_quick = false;

std::vector<float> random_floats(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

/// One contender: a name and a function running `calls` distances once.
struct contender {
  std::string name;
  std::function<void()> run;
};

/// Runs every contender `reps` times, interleaved; returns median seconds per run for each
/// and the median per-repetition ratio of each contender against the first.
struct timing {
  std::vector<double> seconds;
  std::vector<double> ratio;  // time(other) / time(first), per contender (1 for the first)
};
timing measure(const std::vector<contender>& cs) {
  const int reps = g_quick ? 5 : 9;
  for (auto& c : cs) c.run();  // warm caches and branch predictors
  std::vector<std::vector<double>> t(cs.size()), r(cs.size());
  for (int rep = 0; rep < reps; ++rep) {
    std::vector<double> now(cs.size());
    for (std::size_t i = 0; i < cs.size(); ++i) {
      stopwatch sw;
      cs[i].run();
      now[i] = sw.seconds();
      t[i].push_back(now[i]);
    }
    for (std::size_t i = 0; i < cs.size(); ++i) r[i].push_back(now[i] / now[0]);
  }
  timing out;
  for (std::size_t i = 0; i < cs.size(); ++i) {
    out.seconds.push_back(median(t[i]));
    out.ratio.push_back(median(r[i]));
  }
  return out;
}

sochdb_bench::reporter g_report({"kernel", "form", "isa", "d", "ns_sochdb", "GBps", "x_hnswlib",
                                 "x_faiss_sse2", "ns_hnswlib", "ns_faiss_sse2",
                                 "fraction_of_stream"});

/// Emits one row: `calls` distances per run, `bytes` read per run by sochdb.
void emit(const std::string& kernel, const std::string& form, simd::isa isa, std::size_t d,
          const timing& t, const std::vector<std::string>& names, double calls, double bytes) {
  nlohmann::ordered_json row;
  row["bench"] = "kernel";
  row["kernel"] = kernel;
  row["form"] = form;
  row["isa"] = std::string(simd::isa_name(isa));
  row["d"] = d;
  row["ns_sochdb"] = t.seconds[0] / calls * 1e9;
  row["GBps"] = bytes / t.seconds[0] / 1e9;
  for (std::size_t i = 1; i < names.size(); ++i) {
    row["ns_" + names[i]] = t.seconds[i] / calls * 1e9;
    row["x_" + names[i]] = t.ratio[i];  // > 1: sochdb faster
  }
  g_report.emit(row);
}

#if SOCHDB_BENCH_HNSWLIB
/// hnswlib's distance function for a space, called exactly as its index does.
template <class Space>
struct hnsw_fn {
  explicit hnsw_fn(std::size_t d)
      : space(d), f(space.get_dist_func()), p(space.get_dist_func_param()) {}
  Space space;
  hnswlib::DISTFUNC<
      typename std::conditional_t<std::is_same_v<Space, hnswlib::L2SpaceI>, int, float>>
      f;
  void* p;
};
#endif

// ------------------------------------------------------------------ float32 L2 / inner product

void bench_float(const simd::kernel_table& k, std::size_t d, bool l2) {
  const std::string kernel = l2 ? "l2sq_f32" : "dot_f32";
  // A 512 KiB block of rows: in L2 on this CPU, so the kernels, not DRAM, are measured.
  const std::size_t rows = std::max<std::size_t>(16, (512 * 1024) / (d * 4)) / 4 * 4;
  const auto data = random_floats(rows * d, d);
  const auto queries = random_floats(16 * d, d + 1);
  std::vector<float> out(16 * rows);
  const auto fn = l2 ? k.l2sq_f32 : k.dot_f32;
  const auto many = l2 ? k.l2sq_f32_many : k.dot_f32_many;
  const auto batch = l2 ? k.l2sq_f32_batch : k.dot_f32_batch;
#if SOCHDB_BENCH_HNSWLIB
  hnswlib::L2Space l2space(d);
  hnswlib::InnerProductSpace ipspace(d);
  auto hf = l2 ? l2space.get_dist_func() : ipspace.get_dist_func();
  void* hp = l2 ? l2space.get_dist_func_param() : ipspace.get_dist_func_param();
#endif
  const std::size_t pair_reps = g_quick ? 20 : 100;

  // One-to-one, cache-resident: a query against a few rows that stay in L1 — the kernels'
  // own speed (call overhead, latency, arithmetic).
  {
    const std::size_t nr =
        std::max<std::size_t>(1, std::min<std::size_t>(8, (20 * 1024) / (d * 4)));
    const std::size_t calls_per_run = g_quick ? 20000 : 100000;
    const float* q = queries.data();
    std::vector<contender> cs;
    std::vector<std::string> names = {"sochdb"};
    cs.push_back({"sochdb", [&] {
                    float s = 0;
                    for (std::size_t i = 0; i < calls_per_run; ++i)
                      s += fn(q, data.data() + (i % nr) * d, d);
                    do_not_optimize(s);
                  }});
#if SOCHDB_BENCH_HNSWLIB
    names.push_back("hnswlib");
    cs.push_back({"hnswlib", [&] {
                    float s = 0;
                    for (std::size_t i = 0; i < calls_per_run; ++i)
                      s += hf(q, data.data() + (i % nr) * d, hp);
                    do_not_optimize(s);
                  }});
#endif
#if SOCHDB_BENCH_FAISS
    names.push_back("faiss_sse2");
    cs.push_back({"faiss", [&] {
                    float s = 0;
                    for (std::size_t i = 0; i < calls_per_run; ++i) {
                      s += l2 ? faiss::fvec_L2sqr(q, data.data() + (i % nr) * d, d)
                              : faiss::fvec_inner_product(q, data.data() + (i % nr) * d, d);
                    }
                    do_not_optimize(s);
                  }});
#endif
    auto t = measure(cs);
    const double calls = static_cast<double>(calls_per_run);
    emit(kernel, "one_to_one", k.id, d, t, names, calls, calls * 2 * d * 4);
  }
  // One-to-one over the L2-resident block: row i against row i + 1 (both change every call;
  // both libraries are bound by the L2 -> L1 bandwidth here).
  {
    std::vector<contender> cs;
    std::vector<std::string> names = {"sochdb"};
    cs.push_back({"sochdb", [&] {
                    float s = 0;
                    for (std::size_t r = 0; r < pair_reps; ++r)
                      for (std::size_t i = 0; i + 1 < rows; ++i)
                        s += fn(data.data() + i * d, data.data() + (i + 1) * d, d);
                    do_not_optimize(s);
                  }});
#if SOCHDB_BENCH_HNSWLIB
    names.push_back("hnswlib");
    cs.push_back({"hnswlib", [&] {
                    float s = 0;
                    for (std::size_t r = 0; r < pair_reps; ++r)
                      for (std::size_t i = 0; i + 1 < rows; ++i)
                        s += hf(data.data() + i * d, data.data() + (i + 1) * d, hp);
                    do_not_optimize(s);
                  }});
#endif
#if SOCHDB_BENCH_FAISS
    names.push_back("faiss_sse2");
    cs.push_back({"faiss", [&] {
                    float s = 0;
                    for (std::size_t r = 0; r < pair_reps; ++r)
                      for (std::size_t i = 0; i + 1 < rows; ++i) {
                        s += l2 ? faiss::fvec_L2sqr(data.data() + i * d, data.data() + (i + 1) * d,
                                                    d)
                                : faiss::fvec_inner_product(data.data() + i * d,
                                                            data.data() + (i + 1) * d, d);
                      }
                    do_not_optimize(s);
                  }});
#endif
    auto t = measure(cs);
    const double calls = static_cast<double>(pair_reps * (rows - 1));
    emit(kernel, "one_to_one_l2", k.id, d, t, names, calls, calls * 2 * d * 4);
  }
  // Gather: a query against 32 random rows of a 64 MiB set, the neighbour list of a graph
  // hop with rows in DRAM. sochdb prefetches ahead (distance_gather); hnswlib is called as
  // its search loop calls it (prefetching the next row); FAISS through fvec_*_by_idx.
  {
    const std::size_t big_rows = (64u << 20) / (d * 4);
    static std::vector<float> big;
    if (big.size() != big_rows * d) big = random_floats(big_rows * d, 99);
    const std::size_t lists = g_quick ? 2000 : 10000, deg = 32;
    std::vector<std::int64_t> ids(lists * deg);
    std::mt19937_64 rng(d);
    for (auto& x : ids) x = static_cast<std::int64_t>(rng() % big_rows);
    std::vector<const float*> ptrs(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i)
      ptrs[i] = big.data() + static_cast<std::size_t>(ids[i]) * d;
    const auto gather = l2 ? k.l2sq_f32_gather : k.dot_f32_gather;
    const float* q = queries.data();
    std::vector<contender> cs;
    std::vector<std::string> names = {"sochdb"};
    cs.push_back({"sochdb", [&] {
                    for (std::size_t li = 0; li < lists; ++li)
                      gather(q, ptrs.data() + li * deg, deg, d, out.data());
                    do_not_optimize(out[0]);
                  }});
#if SOCHDB_BENCH_HNSWLIB
    names.push_back("hnswlib");
    cs.push_back({"hnswlib", [&] {
                    for (std::size_t li = 0; li < lists; ++li) {
                      const float* const* p = ptrs.data() + li * deg;
                      _mm_prefetch(reinterpret_cast<const char*>(p[0]), _MM_HINT_T0);
                      for (std::size_t j = 0; j < deg; ++j) {
                        if (j + 1 < deg)
                          _mm_prefetch(reinterpret_cast<const char*>(p[j + 1]), _MM_HINT_T0);
                        out[j] = hf(q, p[j], hp);
                      }
                    }
                    do_not_optimize(out[0]);
                  }});
#endif
#if SOCHDB_BENCH_FAISS
    names.push_back("faiss_sse2");
    cs.push_back({"faiss", [&] {
                    for (std::size_t li = 0; li < lists; ++li) {
                      if (l2) {
                        faiss::fvec_L2sqr_by_idx(out.data(), q, big.data(), ids.data() + li * deg,
                                                 d, 1, deg);
                      } else {
                        faiss::fvec_inner_products_by_idx(out.data(), q, big.data(),
                                                          ids.data() + li * deg, d, 1, deg);
                      }
                    }
                    do_not_optimize(out[0]);
                  }});
#endif
    auto t = measure(cs);
    const double calls = static_cast<double>(lists * deg);
    emit(kernel, "gather32_dram", k.id, d, t, names, calls, calls * d * 4);
  }
  // One-to-many: a query against the contiguous block.
  {
    const std::size_t many_reps = g_quick ? 20 : 100;
    std::vector<contender> cs;
    std::vector<std::string> names = {"sochdb"};
    cs.push_back({"sochdb", [&] {
                    for (std::size_t r = 0; r < many_reps; ++r)
                      many(queries.data() + (r % 16) * d, data.data(), rows, d, d, out.data());
                    do_not_optimize(out[0]);
                  }});
#if SOCHDB_BENCH_HNSWLIB
    names.push_back("hnswlib");
    cs.push_back({"hnswlib", [&] {
                    for (std::size_t r = 0; r < many_reps; ++r) {
                      const float* q = queries.data() + (r % 16) * d;
                      for (std::size_t i = 0; i < rows; ++i)
                        out[i] = hf(q, data.data() + i * d, hp);
                    }
                    do_not_optimize(out[0]);
                  }});
#endif
#if SOCHDB_BENCH_FAISS
    names.push_back("faiss_sse2");
    cs.push_back({"faiss", [&] {
                    for (std::size_t r = 0; r < many_reps; ++r) {
                      const float* q = queries.data() + (r % 16) * d;
                      if (l2) {
                        faiss::fvec_L2sqr_ny(out.data(), q, data.data(), d, rows);
                      } else {
                        faiss::fvec_inner_products_ny(out.data(), q, data.data(), d, rows);
                      }
                    }
                    do_not_optimize(out[0]);
                  }});
#endif
    auto t = measure(cs);
    const double calls = static_cast<double>(many_reps * rows);
    emit(kernel, "one_to_many", k.id, d, t, names, calls, calls * d * 4);
  }
  // Batched: 16 queries x the block (flat search).
  {
    const std::size_t batch_reps = g_quick ? 2 : 8;
    const std::size_t nq = 16;
    std::vector<contender> cs;
    std::vector<std::string> names = {"sochdb"};
    cs.push_back({"sochdb", [&] {
                    for (std::size_t r = 0; r < batch_reps; ++r)
                      batch(queries.data(), nq, d, data.data(), rows, d, d, out.data(), rows);
                    do_not_optimize(out[0]);
                  }});
#if SOCHDB_BENCH_HNSWLIB
    names.push_back("hnswlib");
    cs.push_back({"hnswlib", [&] {
                    for (std::size_t r = 0; r < batch_reps; ++r)
                      for (std::size_t qi = 0; qi < nq; ++qi)
                        for (std::size_t i = 0; i < rows; ++i)
                          out[qi * rows + i] = hf(queries.data() + qi * d, data.data() + i * d, hp);
                    do_not_optimize(out[0]);
                  }});
#endif
#if SOCHDB_BENCH_FAISS
    names.push_back("faiss_sse2");
    cs.push_back({"faiss", [&] {
                    for (std::size_t r = 0; r < batch_reps; ++r)
                      for (std::size_t qi = 0; qi < nq; ++qi) {
                        if (l2) {
                          faiss::fvec_L2sqr_ny(out.data() + qi * rows, queries.data() + qi * d,
                                               data.data(), d, rows);
                        } else {
                          faiss::fvec_inner_products_ny(out.data() + qi * rows,
                                                        queries.data() + qi * d, data.data(), d,
                                                        rows);
                        }
                      }
                    do_not_optimize(out[0]);
                  }});
#endif
    auto t = measure(cs);
    const double calls = static_cast<double>(batch_reps * nq * rows);
    // Bytes: each query's pass over the block counts once (what a scan would read).
    emit(kernel, "batch16", k.id, d, t, names, calls, calls * d * 4);
  }
}

// ------------------------------------------------------------------ quantized and other kernels

void bench_other(const simd::kernel_table& k, std::size_t d) {
  const std::size_t rows = std::max<std::size_t>(64, (256 * 1024) / d);
  const std::size_t reps = g_quick ? 20 : 100;
  const auto fdata = random_floats(rows * d, 77 + d);
  const auto query = random_floats(d, 78 + d);
  std::vector<float> out(rows);

  // uint8 L2, one-to-one (hnswlib's L2SpaceI is its 8-bit space).
  {
    std::vector<std::uint8_t> u(rows * d);
    std::mt19937_64 rng(d);
    for (auto& x : u) x = static_cast<std::uint8_t>(rng());
    std::vector<contender> cs;
    std::vector<std::string> names = {"sochdb"};
    cs.push_back({"sochdb", [&] {
                    std::int64_t s = 0;
                    for (std::size_t r = 0; r < reps; ++r)
                      for (std::size_t i = 0; i + 1 < rows; ++i)
                        s += k.l2sq_u8(u.data() + i * d, u.data() + (i + 1) * d, d);
                    do_not_optimize(s);
                  }});
#if SOCHDB_BENCH_HNSWLIB
    hnswlib::L2SpaceI space(d);
    auto hf = space.get_dist_func();
    void* hp = space.get_dist_func_param();
    names.push_back("hnswlib");
    cs.push_back({"hnswlib", [&] {
                    std::int64_t s = 0;
                    for (std::size_t r = 0; r < reps; ++r)
                      for (std::size_t i = 0; i + 1 < rows; ++i)
                        s += hf(u.data() + i * d, u.data() + (i + 1) * d, hp);
                    do_not_optimize(s);
                  }});
#endif
    auto t = measure(cs);
    const double calls = static_cast<double>(reps * (rows - 1));
    emit("l2sq_u8", "one_to_one", k.id, d, t, names, calls, calls * 2 * d);
  }

  // SQ8: float query against uint8 codes (one-to-many over the block).
  {
    vec::sq8 q({.dimension = d}, k);
    q.train(fdata.data(), rows);
    std::vector<std::uint8_t> codes(rows * d);
    q.encode(fdata.data(), rows, codes.data());
    auto c = q.query(query.data());
    std::vector<contender> cs;
    std::vector<std::string> names = {"sochdb"};
    cs.push_back({"sochdb", [&] {
                    for (std::size_t r = 0; r < reps; ++r) c.many(codes.data(), rows, out.data());
                    do_not_optimize(out[0]);
                  }});
#if SOCHDB_BENCH_FAISS
    faiss::ScalarQuantizer fsq(d, faiss::ScalarQuantizer::QT_8bit);
    fsq.train(rows, fdata.data());
    std::vector<std::uint8_t> fcodes(rows * fsq.code_size);
    fsq.compute_codes(fdata.data(), fcodes.data(), rows);
    std::unique_ptr<faiss::ScalarQuantizer::SQDistanceComputer> dc(
        fsq.get_distance_computer(faiss::METRIC_L2));
    dc->codes = fcodes.data();
    dc->code_size = fsq.code_size;
    dc->set_query(query.data());
    names.push_back("faiss_sse2");
    cs.push_back({"faiss", [&] {
                    for (std::size_t r = 0; r < reps; ++r)
                      for (std::size_t i = 0; i < rows; ++i)
                        out[i] = dc->query_to_code(fcodes.data() + i * d);
                    do_not_optimize(out[0]);
                  }});
#endif
    auto t = measure(cs);
    const double calls = static_cast<double>(reps * rows);
    emit("sq8_l2", "one_to_many", k.id, d, t, names, calls, calls * d);
  }

  // binary16 storage: float query against half rows.
  {
    std::vector<std::uint16_t> h(rows * d);
    simd::floats_to_halves(fdata.data(), h.size(), h.data());
    std::vector<contender> cs;
    std::vector<std::string> names = {"sochdb"};
    cs.push_back({"sochdb", [&] {
                    for (std::size_t r = 0; r < reps; ++r)
                      for (std::size_t i = 0; i < rows; ++i)
                        out[i] = k.l2sq_f32_f16(query.data(), h.data() + i * d, d);
                    do_not_optimize(out[0]);
                  }});
#if SOCHDB_BENCH_FAISS
    faiss::ScalarQuantizer fsq(d, faiss::ScalarQuantizer::QT_fp16);
    std::vector<std::uint8_t> fcodes(rows * fsq.code_size);
    fsq.compute_codes(fdata.data(), fcodes.data(), rows);
    std::unique_ptr<faiss::ScalarQuantizer::SQDistanceComputer> dc(
        fsq.get_distance_computer(faiss::METRIC_L2));
    dc->set_query(query.data());
    names.push_back("faiss_sse2");
    cs.push_back({"faiss", [&] {
                    for (std::size_t r = 0; r < reps; ++r)
                      for (std::size_t i = 0; i < rows; ++i)
                        out[i] = dc->query_to_code(fcodes.data() + i * fsq.code_size);
                    do_not_optimize(out[0]);
                  }});
#endif
    auto t = measure(cs);
    const double calls = static_cast<double>(reps * rows);
    emit("l2sq_f32_f16", "one_to_many", k.id, d, t, names, calls, calls * d * 2);
  }

  // Hamming over d bits.
  if (d % 64 == 0 || d == 96 || d == 784) {
    const std::size_t nbytes = d / 8;
    std::vector<std::uint8_t> bits(rows * nbytes);
    std::mt19937_64 rng(d + 5);
    for (auto& x : bits) x = static_cast<std::uint8_t>(rng());
    std::vector<contender> cs;
    std::vector<std::string> names = {"sochdb"};
    cs.push_back({"sochdb", [&] {
                    for (std::size_t r = 0; r < reps; ++r)
                      k.hamming_many(bits.data(), bits.data(), rows, nbytes, nbytes, out.data());
                    do_not_optimize(out[0]);
                  }});
#if SOCHDB_BENCH_FAISS
    names.push_back("faiss_sse2");
    cs.push_back({"faiss", [&] {
                    std::uint64_t s = 0;
                    faiss::HammingComputerDefault hc(bits.data(), static_cast<int>(nbytes));
                    for (std::size_t r = 0; r < reps; ++r)
                      for (std::size_t i = 0; i < rows; ++i)
                        s += static_cast<std::uint64_t>(hc.hamming(bits.data() + i * nbytes));
                    do_not_optimize(s);
                  }});
#endif
    auto t = measure(cs);
    const double calls = static_cast<double>(reps * rows);
    emit("hamming", "one_to_many", k.id, d, t, names, calls, calls * nbytes);
  }
}

/// A PQ query (tables, scan, top 10) against FAISS's ProductQuantizer::search.
void bench_pq(const simd::kernel_table& k) {
  const std::size_t d = 128, m = 32, n = 100000, train = 20000;
  const auto data = random_floats(n * d, 5);
  const auto queries = random_floats(8 * d, 6);
  vec::pq q({.dimension = d, .m = m, .iterations = 6, .max_train_rows = train}, k);
  q.train(data.data(), n);
  std::vector<std::uint8_t> codes(n * m);
  q.encode(data.data(), n, codes.data());
  std::vector<float> out(n);
  std::vector<contender> cs;
  std::vector<std::string> names = {"sochdb"};
  cs.push_back({"sochdb", [&] {
                  for (std::size_t qi = 0; qi < 8; ++qi) {
                    auto c = q.query(queries.data() + qi * d);
                    c.many(codes.data(), n, out.data());
                    std::priority_queue<std::pair<float, std::size_t>> heap;
                    for (std::size_t i = 0; i < n; ++i) {
                      if (heap.size() < 10) {
                        heap.emplace(out[i], i);
                      } else if (out[i] < heap.top().first) {
                        heap.pop();
                        heap.emplace(out[i], i);
                      }
                    }
                    do_not_optimize(heap.top().first);
                  }
                }});
#if SOCHDB_BENCH_FAISS
  faiss::ProductQuantizer fpq(d, m, 8);
  fpq.cp.niter = 6;
  fpq.train(static_cast<int>(train), data.data());
  std::vector<std::uint8_t> fcodes(n * fpq.code_size);
  fpq.compute_codes(data.data(), fcodes.data(), n);
  std::vector<float> dis(10);
  std::vector<faiss::Index::idx_t> ids(10);
  names.push_back("faiss_sse2");
  cs.push_back({"faiss", [&] {
                  for (std::size_t qi = 0; qi < 8; ++qi) {
                    faiss::float_maxheap_array_t res = {1, 10, ids.data(), dis.data()};
                    fpq.search(queries.data() + qi * d, 1, fcodes.data(), n, &res, true);
                    do_not_optimize(dis[0]);
                  }
                }});
#endif
  auto t = measure(cs);
  const double calls = 8.0 * n;
  emit("pq32_query_top10", "one_to_many", k.id, d, t, names, calls, calls * m);

  // Recall on this (uniform random, hardest-case) data: recall@10 of the PQ distances alone
  // and after re-ranking the PQ top 100 with exact distances.
  if (k.id == simd::best_kernels().id) {
    double plain = 0, reranked = 0;
    std::vector<float> exact(n);
    for (std::size_t qi = 0; qi < 8; ++qi) {
      const float* qv = queries.data() + qi * d;
      k.l2sq_f32_many(qv, data.data(), n, d, d, exact.data());
      auto c = q.query(qv);
      c.many(codes.data(), n, out.data());
      auto top = [&](const std::vector<float>& v, std::size_t kk) {
        std::vector<std::size_t> idx(n);
        for (std::size_t i = 0; i < n; ++i) idx[i] = i;
        std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(kk), idx.end(),
                          [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
        idx.resize(kk);
        return idx;
      };
      auto gt = top(exact, 10);
      auto cand = top(out, 100);
      std::sort(cand.begin(), cand.end(),
                [&](std::size_t a, std::size_t b) { return exact[a] < exact[b]; });
      auto approx10 = top(out, 10);
      for (std::size_t g : gt) {
        plain += std::count(approx10.begin(), approx10.end(), g);
        reranked += std::count(cand.begin(), cand.begin() + 10, g);
      }
    }
    nlohmann::ordered_json row;
    row["bench"] = "pq_recall";
    row["kernel"] = "pq32_recall_uniform";
    row["form"] = "recall@10";
    row["isa"] = std::string(simd::isa_name(k.id));
    row["d"] = d;
    row["recall_at_10"] = plain / 80.0;
    row["recall_at_10_rerank100"] = reranked / 80.0;
    g_report.emit(row);
  }
}

// ------------------------------------------------------------------ memory bandwidth

/// Sum of a large buffer with several independent vector accumulators: the streaming-read
/// limit of one core (no computation to speak of).
float stream_read(const float* p, std::size_t n) {
  using B = xsimd::batch<float>;
  constexpr std::size_t W = B::size;
  B a0(0.f), a1(0.f), a2(0.f), a3(0.f);
  for (std::size_t i = 0; i + 4 * W <= n; i += 4 * W) {
    a0 += B::load_unaligned(p + i);
    a1 += B::load_unaligned(p + i + W);
    a2 += B::load_unaligned(p + i + 2 * W);
    a3 += B::load_unaligned(p + i + 3 * W);
  }
  float out[W];
  ((a0 + a1) + (a2 + a3)).store_unaligned(out);
  float s = 0;
  for (float v : out) s += v;
  return s;
}

void bench_bandwidth(const simd::kernel_table& k) {
  const std::size_t bytes = (g_quick ? 256ull : 512ull) << 20;
  const std::size_t d = 128;
  const std::size_t n = bytes / (d * 4);
  std::vector<float> buf(bytes / 4);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<float>(i & 1023) * 1e-3f;
  const auto q = random_floats(d, 1);
  std::vector<float> out(n);
  // SQ8 codes and PQ codes for the same number of vectors (a quarter and 1/16 of the bytes).
  vec::sq8 sq({.dimension = d}, k);
  sq.train(buf.data(), 4096);
  std::vector<std::uint8_t> codes(n * d);
  sq.encode(buf.data(), n, codes.data());
  auto sc = sq.query(q.data());
  std::vector<std::uint8_t> pcodes(n * 32);
  for (std::size_t i = 0; i < pcodes.size(); ++i)
    pcodes[i] = static_cast<std::uint8_t>(i * 2654435761u >> 24);
  std::vector<float> tables = random_floats(32 * 256, 3);

  std::vector<contender> cs = {
      {"stream", [&] { do_not_optimize(stream_read(buf.data(), buf.size())); }},
      {"l2_scan",
       [&] {
         k.l2sq_f32_many(q.data(), buf.data(), n, d, d, out.data());
         do_not_optimize(out[0]);
       }},
      {"sq8_scan",
       [&] {
         sc.many(codes.data(), n, out.data());
         do_not_optimize(out[0]);
       }},
      {"pq32_scan",
       [&] {
         k.pq_adc_many(tables.data(), pcodes.data(), n, 32, out.data());
         do_not_optimize(out[0]);
       }},
  };
  auto t = measure(cs);
  const double stream_gbps = static_cast<double>(bytes) / t.seconds[0] / 1e9;
  const char* names[] = {"stream", "l2_scan", "sq8_scan", "pq32_scan"};
  const double per_vec_bytes[] = {0, d * 4.0, d * 1.0, 32.0};
  for (std::size_t i = 0; i < 4; ++i) {
    nlohmann::ordered_json row;
    row["bench"] = "bandwidth";
    row["kernel"] = names[i];
    row["form"] = "scan_512MiB";
    row["isa"] = std::string(simd::isa_name(k.id));
    row["d"] = d;
    if (i == 0) {
      row["GBps"] = stream_gbps;
    } else {
      const double gbps = static_cast<double>(n) * per_vec_bytes[i] / t.seconds[i] / 1e9;
      row["ns_sochdb"] = t.seconds[i] / static_cast<double>(n) * 1e9;
      row["GBps"] = gbps;
      row["fraction_of_stream"] = gbps / stream_gbps;
      row["speedup_vs_f32_scan"] = t.seconds[1] / t.seconds[i];
    }
    g_report.emit(row);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool to_stderr = false;
  bool bandwidth = true;
  std::optional<std::string> only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      g_quick = true;
    } else if (a == "--no-bandwidth") {
      bandwidth = false;
    } else if (a == "--table-to-stderr") {
      to_stderr = true;
    } else if (a.rfind("--isa=", 0) == 0) {
      only = a.substr(6);
    } else {
      std::cerr
          << "usage: kernel_bench [--quick] [--isa=NAME] [--no-bandwidth] [--table-to-stderr]\n";
      return 2;
    }
  }
  std::vector<const simd::kernel_table*> tables;
  for (simd::isa i : simd::available_isas()) {
    if (only && *only != simd::isa_name(i)) continue;
    if (i == simd::isa::scalar && !only) continue;  // scalar only on request
    tables.push_back(simd::kernels_for(i));
  }
  std::cerr << "kernel_bench: best ISA " << simd::isa_name(simd::best_kernels().id) << "; anchors:"
#if SOCHDB_BENCH_HNSWLIB
            << " hnswlib (-O3 -march=native)"
#endif
#if SOCHDB_BENCH_FAISS
            << " faiss (Debian SSE2 build: lower bound)"
#endif
            << "\n";
  const std::size_t dims[] = {96, 128, 384, 768, 784, 1536};
  for (auto* k : tables) {
    for (std::size_t d : dims) {
      bench_float(*k, d, true);
      bench_float(*k, d, false);
      bench_other(*k, d);
    }
    bench_pq(*k);
  }
  if (bandwidth) bench_bandwidth(simd::best_kernels());
  g_report.print_table(to_stderr ? std::cerr : std::cout);
  return 0;
}
