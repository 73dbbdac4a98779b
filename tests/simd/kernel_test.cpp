// Every kernel of every table this CPU can run (scalar, the header-only native table, and each
// ISA table of the sochdb-dispatch library) against a double-precision reference, for every
// dimension 1..1100, through unaligned pointers, with random, zero, huge and mixed values.
//
// Error bound (docs/simd.md): a float kernel summing d terms t_i may differ from the exact sum
// by at most (d + 8) * 2^-23 * sum |t_i| (twice the worst case of recursive summation, which
// also covers the rounding of a difference before it is squared). Integer kernels, Hamming and
// the binary16 conversion are exact.
#include <doctest/doctest.h>

#include <sochdb/simd.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_simd_kernel_test {

namespace simd = sochdb::simd;

namespace {

constexpr std::size_t max_d = 1100;

/// Every table usable here, each once.
std::vector<const simd::kernel_table*> tables() {
  std::vector<const simd::kernel_table*> out;
  auto add = [&](const simd::kernel_table* t) {
    if (t == nullptr) return;
    for (auto* o : out)
      if (o == t) return;
    out.push_back(t);
  };
  add(&simd::scalar_kernels());
  add(&simd::native_kernels());
  for (simd::isa i : simd::isa_preference) add(simd::kernels_for(i));
  return out;
}

double bound(std::size_t d, double abs_sum) {
  return static_cast<double>(d + 8) * std::ldexp(1.0, -23) * abs_sum + 1e-30;
}

/// Counts mismatches; reports only the first few through doctest (millions of passing checks
/// would dominate the run time).
struct checker {
  std::size_t checks = 0;
  std::size_t failures = 0;
  void close(double got, double want, double tol, const char* what, simd::isa i, std::size_t d,
             const char* dataset) {
    ++checks;
    const bool ok = (std::isinf(want) && got == want) || std::fabs(got - want) <= tol;
    if (!ok && ++failures <= 10) {
      FAIL_CHECK(std::string(what)
                 << " isa=" << simd::isa_name(i) << " d=" << d << " data=" << std::string(dataset)
                 << ": got " << got << ", want " << want << " (tolerance " << tol << ")");
    }
  }
  void exact(double got, double want, const char* what, simd::isa i, std::size_t d) {
    close(got, want, 0.0, what, i, d, "int");
  }
};

struct float_data {
  const char* name;
  std::vector<float> a, b;  // max_d + 1 elements; kernels read from index 1 (unaligned)
};

std::vector<float_data> float_datasets() {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float_data> sets;
  float_data r{"uniform", {}, {}};
  float_data z{"zeros", {}, {}};
  float_data h{"huge", {}, {}};
  float_data m{"mixed", {}, {}};
  for (std::size_t i = 0; i <= max_d; ++i) {
    r.a.push_back(u(rng));
    r.b.push_back(u(rng));
    z.a.push_back(0.f);
    z.b.push_back(0.f);
    h.a.push_back(u(rng) * 1e15f);
    h.b.push_back(u(rng) * 1e15f);
    // Magnitudes from 1e-20 to 1e10 side by side, so a kernel that loses small terms shows.
    float scale = std::pow(10.f, static_cast<float>(static_cast<int>(rng() % 31) - 20));
    m.a.push_back(u(rng) * scale);
    m.b.push_back(u(rng) * scale);
  }
  sets.push_back(std::move(r));
  sets.push_back(std::move(z));
  sets.push_back(std::move(h));
  sets.push_back(std::move(m));
  return sets;
}

double ref_l2(const float* a, const float* b, std::size_t d, double& abs_sum) {
  double s = 0;
  for (std::size_t i = 0; i < d; ++i) {
    double t = static_cast<double>(a[i]) - b[i];
    s += t * t;
  }
  abs_sum = s;
  return s;
}
double ref_dot(const float* a, const float* b, std::size_t d, double& abs_sum) {
  double s = 0, as = 0;
  for (std::size_t i = 0; i < d; ++i) {
    double t = static_cast<double>(a[i]) * b[i];
    s += t;
    as += std::fabs(t);
  }
  abs_sum = as;
  return s;
}

}  // namespace

TEST_CASE("the tables under test include every ISA this CPU supports") {
  auto ts = tables();
  std::string names;
  for (auto* t : ts) names += std::string(simd::isa_name(t->id)) + " ";
  MESSAGE("kernel tables under test: " << names);
  CHECK(ts.size() >= 2);
  for (simd::isa i : simd::isa_preference) {
    // With the dispatch library linked, every ISA the CPU supports on this architecture must
    // have a table (the library builds all of them for x86-64 / AArch64).
    if (simd::runtime_dispatch && simd::cpu_supports(i)) CHECK(simd::kernels_for(i) != nullptr);
  }
}

TEST_CASE("float32 one-to-one kernels match the double reference for d = 1..1100") {
  checker c;
  auto sets = float_datasets();
  for (auto* t : tables()) {
    for (auto& s : sets) {
      const float* a = s.a.data() + 1;
      const float* b = s.b.data() + 1;
      for (std::size_t d = 0; d <= max_d; ++d) {
        double as = 0;
        double want = ref_l2(a, b, d, as);
        c.close(t->l2sq_f32(a, b, d), want, bound(d, as), "l2sq_f32", t->id, d, s.name);
        want = ref_dot(a, b, d, as);
        c.close(t->dot_f32(a, b, d), want, bound(d, as), "dot_f32", t->id, d, s.name);
        double na = 0, nb = 0, tmp = 0;
        ref_dot(a, a, d, na);
        ref_dot(b, b, d, nb);
        double dot = ref_dot(a, b, d, tmp);
        double cos_want = (na == 0 || nb == 0) ? 1.0 : 1.0 - dot / std::sqrt(na * nb);
        double cos_tol = (na == 0 || nb == 0) ? 0.0 : 3 * bound(d, tmp) / std::sqrt(na * nb) + 1e-6;
        if (std::isfinite(na * nb))
          c.close(t->cosine_f32(a, b, d), cos_want, cos_tol, "cosine_f32", t->id, d, s.name);
      }
    }
  }
  MESSAGE(c.checks << " comparisons");
  CHECK(c.failures == 0);
}

TEST_CASE("float32 many, gather and batch forms match the reference") {
  checker c;
  auto sets = float_datasets();
  const auto& s = sets[0];
  // Rows are windows of one long random buffer; stride = d + 3 keeps rows unaligned.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> pool((max_d + 3) * 12 + 1);
  for (auto& x : pool) x = u(rng);
  std::vector<float> out(12 * 12, -1.f);
  for (auto* t : tables()) {
    for (std::size_t d = 1; d <= max_d; ++d) {
      const std::size_t stride = d + 3;
      const float* q = s.a.data() + 1;
      const float* rows = pool.data() + 1;
      const std::size_t n = 1 + d % 9;  // 1..9 rows: full groups of four and every tail
      auto check_rows = [&](const char* what, bool l2, const float* qq, const float* o) {
        for (std::size_t j = 0; j < n; ++j) {
          double as = 0;
          double want =
              l2 ? ref_l2(qq, rows + j * stride, d, as) : ref_dot(qq, rows + j * stride, d, as);
          c.close(o[j], want, bound(d, as), what, t->id, d, "uniform");
        }
      };
      t->l2sq_f32_many(q, rows, n, stride, d, out.data());
      check_rows("l2sq_f32_many", true, q, out.data());
      t->dot_f32_many(q, rows, n, stride, d, out.data());
      check_rows("dot_f32_many", false, q, out.data());

      std::vector<const float*> ptrs;
      for (std::size_t j = 0; j < n; ++j) ptrs.push_back(rows + ((j * 5) % n) * stride);
      t->l2sq_f32_gather(q, ptrs.data(), n, d, out.data());
      for (std::size_t j = 0; j < n; ++j) {
        double as = 0;
        double want = ref_l2(q, ptrs[j], d, as);
        c.close(out[j], want, bound(d, as), "l2sq_f32_gather", t->id, d, "uniform");
      }
      t->dot_f32_gather(q, ptrs.data(), n, d, out.data());
      for (std::size_t j = 0; j < n; ++j) {
        double as = 0;
        double want = ref_dot(q, ptrs[j], d, as);
        c.close(out[j], want, bound(d, as), "dot_f32_gather", t->id, d, "uniform");
      }

      t->cosine_f32_many(q, rows, n, stride, d, out.data());
      for (std::size_t j = 0; j < n; ++j) {
        double na = 0, nb = 0, as = 0;
        ref_dot(q, q, d, na);
        ref_dot(rows + j * stride, rows + j * stride, d, nb);
        double dot = ref_dot(q, rows + j * stride, d, as);
        c.close(out[j], 1.0 - dot / std::sqrt(na * nb),
                3 * bound(d, as) / std::sqrt(na * nb) + 1e-6, "cosine_f32_many", t->id, d,
                "uniform");
      }

      // Batch: nq queries (rows of the pool, offset by half a row) by n rows; out_stride > n.
      const std::size_t nq = 1 + d % 5;
      const float* qs = pool.data() + 2 + stride / 2;
      const std::size_t ostride = n + 1;
      for (int l2 = 0; l2 < 2; ++l2) {
        if (l2) {
          t->l2sq_f32_batch(qs, nq, stride, rows, n, stride, d, out.data(), ostride);
        } else {
          t->dot_f32_batch(qs, nq, stride, rows, n, stride, d, out.data(), ostride);
        }
        for (std::size_t i = 0; i < nq; ++i)
          check_rows(l2 ? "l2sq_f32_batch" : "dot_f32_batch", l2 != 0, qs + i * stride,
                     out.data() + i * ostride);
      }
    }
  }
  MESSAGE(c.checks << " comparisons");
  CHECK(c.failures == 0);
}

TEST_CASE("the batch form handles blocks larger than its row block") {
  // 600 rows of d = 64 span more than one 128 KiB row block; nq = 3 leaves an odd query.
  const std::size_t d = 64, n = 600, nq = 3;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> rows(n * d), qs(nq * d), out(nq * n);
  for (auto& x : rows) x = u(rng);
  for (auto& x : qs) x = u(rng);
  for (auto* t : tables()) {
    t->l2sq_f32_batch(qs.data(), nq, d, rows.data(), n, d, d, out.data(), n);
    std::size_t bad = 0;
    for (std::size_t i = 0; i < nq; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        double as = 0;
        double want = ref_l2(qs.data() + i * d, rows.data() + j * d, d, as);
        if (std::fabs(out[i * n + j] - want) > bound(d, as)) ++bad;
      }
    CHECK_MESSAGE(bad == 0, simd::isa_name(t->id));
  }
}

TEST_CASE("float16 storage kernels match the reference") {
  checker c;
  auto sets = float_datasets();
  for (auto* t : tables()) {
    for (std::size_t k = 0; k < 2; ++k) {
      // Uniform in [-1, 1], then magnitudes 1e-4..1e4 (binary16 range, subnormals included).
      const auto& s = sets[0];
      std::vector<float> src = s.b;
      if (k == 1) {
        for (std::size_t i = 0; i < src.size(); ++i)
          src[i] *= std::pow(10.f, static_cast<float>(static_cast<int>(i % 9) - 4));
      }
      std::vector<std::uint16_t> h(max_d + 1);
      simd::floats_to_halves(src.data(), h.size(), h.data());
      const float* q = s.a.data() + 1;
      const std::uint16_t* x = h.data() + 1;
      for (std::size_t d = 0; d <= max_d; ++d) {
        double l2 = 0, dot = 0, al2 = 0, adot = 0;
        for (std::size_t i = 0; i < d; ++i) {
          double v = simd::half_to_float(x[i]);
          double tt = q[i] - v;
          l2 += tt * tt;
          dot += q[i] * v;
          adot += std::fabs(q[i] * v);
        }
        al2 = l2;
        c.close(t->l2sq_f32_f16(q, x, d), l2, bound(d, al2), "l2sq_f32_f16", t->id, d, s.name);
        c.close(t->dot_f32_f16(q, x, d), dot, bound(d, adot), "dot_f32_f16", t->id, d, s.name);
      }
    }
  }
  MESSAGE(c.checks << " comparisons");
  CHECK(c.failures == 0);
}

TEST_CASE("8-bit integer kernels are exact for d = 1..1100, including the extremes") {
  checker c;
  std::mt19937_64 rng(11);
  std::vector<std::int8_t> ia(max_d + 1), ib(max_d + 1);
  std::vector<std::uint8_t> ua(max_d + 1), ub(max_d + 1);
  for (int pattern = 0; pattern < 3; ++pattern) {
    for (std::size_t i = 0; i <= max_d; ++i) {
      if (pattern == 0) {  // random
        ia[i] = static_cast<std::int8_t>(rng());
        ib[i] = static_cast<std::int8_t>(rng());
        ua[i] = static_cast<std::uint8_t>(rng());
        ub[i] = static_cast<std::uint8_t>(rng());
      } else if (pattern == 1) {  // extremes: largest products and differences
        ia[i] = i % 2 ? -128 : 127;
        ib[i] = i % 3 ? -128 : 127;
        ua[i] = i % 2 ? 255 : 0;
        ub[i] = i % 3 ? 255 : 0;
      } else {  // -128 * -128 everywhere (the VNNI bias trick's worst case) and 255 * 255
        ia[i] = -128;
        ib[i] = -128;
        ua[i] = 255;
        ub[i] = 255;
      }
    }
    for (auto* t : tables()) {
      for (std::size_t d = 0; d <= max_d; ++d) {
        const std::int8_t* a = ia.data() + 1;
        const std::int8_t* b = ib.data() + 1;
        const std::uint8_t* x = ua.data() + 1;
        const std::uint8_t* y = ub.data() + 1;
        std::int64_t dot = 0, l2 = 0, udot = 0, ul2 = 0;
        for (std::size_t i = 0; i < d; ++i) {
          dot += a[i] * b[i];
          l2 += (a[i] - b[i]) * (a[i] - b[i]);
          udot += x[i] * y[i];
          ul2 += (x[i] - y[i]) * (x[i] - y[i]);
        }
        c.exact(t->dot_i8(a, b, d), static_cast<double>(dot), "dot_i8", t->id, d);
        c.exact(t->l2sq_i8(a, b, d), static_cast<double>(l2), "l2sq_i8", t->id, d);
        c.exact(t->dot_u8(x, y, d), static_cast<double>(udot), "dot_u8", t->id, d);
        c.exact(t->l2sq_u8(x, y, d), static_cast<double>(ul2), "l2sq_u8", t->id, d);
      }
    }
  }
  MESSAGE(c.checks << " comparisons");
  CHECK(c.failures == 0);
}

TEST_CASE("integer kernels stay exact at max_integer_dimension") {
  const std::size_t d = simd::max_integer_dimension;
  std::vector<std::uint8_t> a(d, 255), b(d, 0);
  std::vector<std::int8_t> x(d, -128), y(d, 127);
  for (auto* t : tables()) {
    CHECK(t->l2sq_u8(a.data(), b.data(), d) == 255 * 255 * static_cast<std::int32_t>(d));
    CHECK(t->dot_u8(a.data(), a.data(), d) == 255 * 255 * static_cast<std::int32_t>(d));
    CHECK(t->l2sq_i8(x.data(), y.data(), d) == 255 * 255 * static_cast<std::int32_t>(d));
    CHECK(t->dot_i8(x.data(), x.data(), d) == 128 * 128 * static_cast<std::int32_t>(d));
  }
}

TEST_CASE("SQ8 kernels match the reference for d = 1..1100") {
  checker c;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> q(max_d + 1), w(max_d + 1);
  std::vector<std::uint8_t> ca(max_d + 1), cb(max_d + 1);
  for (std::size_t i = 0; i <= max_d; ++i) {
    q[i] = u(rng) * 300.f;  // query mapped to code space may fall outside 0..255
    w[i] = std::fabs(u(rng));
    ca[i] = static_cast<std::uint8_t>(rng());
    cb[i] = static_cast<std::uint8_t>(rng());
  }
  const std::size_t nmax = 9;
  std::vector<std::uint8_t> pool((max_d + 5) * nmax);
  for (auto& x : pool) x = static_cast<std::uint8_t>(rng());
  std::vector<float> out(nmax);
  for (auto* t : tables()) {
    for (std::size_t d = 0; d <= max_d; ++d) {
      const float* qq = q.data() + 1;
      const float* ww = w.data() + 1;
      const std::uint8_t* a = ca.data() + 1;
      const std::uint8_t* b = cb.data() + 1;
      auto ref = [&](const std::uint8_t* code, double& l2, double& dot, double& adot) {
        l2 = dot = adot = 0;
        for (std::size_t i = 0; i < d; ++i) {
          double tt = qq[i] - static_cast<double>(code[i]);
          l2 += ww[i] * tt * tt;
          dot += qq[i] * static_cast<double>(code[i]);
          adot += std::fabs(qq[i] * static_cast<double>(code[i]));
        }
      };
      double l2, dot, adot;
      ref(a, l2, dot, adot);
      c.close(t->sq8_l2sq(qq, ww, a, d), l2, bound(d, l2), "sq8_l2sq", t->id, d, "random");
      c.close(t->sq8_dot(qq, a, d), dot, bound(d, adot), "sq8_dot", t->id, d, "random");
      double sl2 = 0, sdot = 0;
      for (std::size_t i = 0; i < d; ++i) {
        double tt = static_cast<double>(a[i]) - b[i];
        sl2 += ww[i] * tt * tt;
        sdot += ww[i] * a[i] * static_cast<double>(b[i]);
      }
      c.close(t->sq8_l2sq_sym(ww, a, b, d), sl2, bound(d, sl2), "sq8_l2sq_sym", t->id, d, "random");
      c.close(t->sq8_dot_sym(ww, a, b, d), sdot, bound(d, sdot), "sq8_dot_sym", t->id, d, "random");

      const std::size_t n = 1 + d % nmax, stride = d + 5;
      const std::uint8_t* codes = pool.data() + 1;
      t->sq8_l2sq_many(qq, ww, codes, n, stride, d, out.data());
      for (std::size_t j = 0; j < n; ++j) {
        ref(codes + j * stride, l2, dot, adot);
        c.close(out[j], l2, bound(d, l2), "sq8_l2sq_many", t->id, d, "random");
      }
      t->sq8_dot_many(qq, codes, n, stride, d, out.data());
      for (std::size_t j = 0; j < n; ++j) {
        ref(codes + j * stride, l2, dot, adot);
        c.close(out[j], dot, bound(d, adot), "sq8_dot_many", t->id, d, "random");
      }
    }
  }
  MESSAGE(c.checks << " comparisons");
  CHECK(c.failures == 0);
}

TEST_CASE("hamming counts differing bits for 0..1100 bytes") {
  checker c;
  std::mt19937_64 rng(9);
  std::vector<std::uint8_t> a(max_d + 1), b(max_d + 1);
  for (std::size_t i = 0; i <= max_d; ++i) {
    a[i] = static_cast<std::uint8_t>(rng());
    b[i] = static_cast<std::uint8_t>(rng());
  }
  for (auto* t : tables()) {
    for (std::size_t d = 0; d <= max_d; ++d) {
      std::uint64_t want = 0;
      for (std::size_t i = 0; i < d; ++i) {
        for (int bit = 0; bit < 8; ++bit) want += ((a[i + 1] ^ b[i + 1]) >> bit) & 1;
      }
      c.exact(static_cast<double>(t->hamming(a.data() + 1, b.data() + 1, d)),
              static_cast<double>(want), "hamming", t->id, d);
    }
    // The many form over rows 3 bytes longer than the code.
    std::vector<float> out(5);
    for (std::size_t d = 0; d + 3 <= max_d / 5; ++d) {
      t->hamming_many(a.data(), b.data() + 1, 5, d + 3, d, out.data());
      for (std::size_t j = 0; j < 5; ++j) {
        c.exact(out[j],
                static_cast<double>(
                    simd::scalar_kernels().hamming(a.data(), b.data() + 1 + j * (d + 3), d)),
                "hamming_many", t->id, d);
      }
    }
    // All bits differ.
    std::vector<std::uint8_t> ones(max_d, 0xff), zeros(max_d, 0);
    c.exact(static_cast<double>(t->hamming(ones.data(), zeros.data(), max_d)), 8.0 * max_d,
            "hamming", t->id, max_d);
  }
  CHECK(c.failures == 0);
}

TEST_CASE("PQ table lookup matches the reference for m = 1..96 subspaces") {
  checker c;
  std::mt19937_64 rng(13);
  std::uniform_real_distribution<float> u(0.f, 10.f);
  const std::size_t max_m = 96, n = 11;
  std::vector<float> tables_(max_m * 256);
  for (auto& x : tables_) x = u(rng);
  std::vector<std::uint8_t> codes(max_m * n + 1);
  for (auto& x : codes) x = static_cast<std::uint8_t>(rng());
  std::vector<float> out(n);
  for (auto* t : tables()) {
    for (std::size_t m = 0; m <= max_m; ++m) {
      const std::uint8_t* cs = codes.data() + 1;
      t->pq_adc_many(tables_.data(), cs, n, m, out.data());
      for (std::size_t j = 0; j < n; ++j) {
        double want = 0;
        for (std::size_t s = 0; s < m; ++s) want += tables_[s * 256 + cs[j * m + s]];
        c.close(t->pq_adc(tables_.data(), cs + j * m, m), want, bound(m, want), "pq_adc", t->id, m,
                "random");
        c.close(out[j], want, bound(m, want), "pq_adc_many", t->id, m, "random");
      }
    }
  }
  CHECK(c.failures == 0);
}

TEST_CASE("float16 conversion is exact and rounds to nearest even") {
  // Every binary16 value survives half -> float -> half (NaNs stay NaNs).
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const auto bits = static_cast<std::uint16_t>(h);
    const float f = simd::half_to_float(bits);
    if (std::isnan(f)) {
      CHECK(std::isnan(simd::half_to_float(simd::float_to_half(f))));
    } else if (simd::float_to_half(f) != bits) {
      FAIL_CHECK("half " << h << " does not round-trip");
    }
  }
  CHECK(simd::half_to_float(0x3c00) == 1.0f);
  CHECK(simd::half_to_float(0x7bff) == 65504.0f);
  CHECK(simd::half_to_float(0x0001) == std::ldexp(1.0f, -24));
  CHECK(simd::float_to_half(65520.f) == 0x7c00);  // ties to even: overflow
  CHECK(simd::float_to_half(65519.f) == 0x7bff);
  CHECK(simd::float_to_half(1.0f + std::ldexp(1.f, -11)) == 0x3c00);  // tie, even stays
  CHECK(simd::float_to_half(std::ldexp(1.f, -25)) == 0);              // tie to zero
  CHECK(simd::float_to_half(std::ldexp(1.5f, -25)) == 1);
#if defined(__F16C__)
  // Against the hardware on many floats.
  std::mt19937 rng(1);
  for (int i = 0; i < 200000; ++i) {
    std::uint32_t bits = rng();
    float f;
    std::memcpy(&f, &bits, 4);
    if (std::isnan(f)) continue;
    auto hw = static_cast<std::uint16_t>(_cvtss_sh(f, 0));
    if (hw != simd::float_to_half(f)) FAIL_CHECK("float bits " << bits);
  }
#endif
}

}  // namespace test_simd_kernel_test
