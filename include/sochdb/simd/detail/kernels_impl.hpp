// sochdb/simd/detail/kernels_impl.hpp — the SIMD kernels, written once as templates on a target
// tag (simd/detail/targets.hpp), and `make_table<Tag>()` which fills a kernel_table with them.
//
// This file is included once per translation unit, inside a namespace named by the macro
// SOCHDB_SIMD_TARGET_NS: `native` for the header-only default (simd/kernels.hpp), `isa_avx2`,
// `isa_avx512`, ... in the per-ISA translation units of the sochdb-dispatch library, each
// compiled with its own -m flags. The distinct namespaces keep the instantiations of
// differently-compiled translation units apart: two inline functions with one mangled name but
// code for different CPUs would otherwise be merged by the linker, and a baseline program
// could end up running AVX-512 code. For the same reason nothing here calls an inline function
// outside this namespace except xsimd's own batch operations.
//
// Float kernels use xsimd::batch plus the helpers below where xsimd 8.1 lacks (or later
// versions renamed) something: fused multiply-add on AVX-512, the horizontal sum, masked tail
// loads, uint8 / binary16 to float conversion. Integer kernels (int8 / uint8 with exact int32
// accumulation, popcount, PQ table lookup) use intrinsics directly: xsimd has no wrapper for
// VNNI dpbusd / dpwssd, maddubs or widening 8-bit loads. Targets without a hand-written path
// run a plain loop, compiled with the target's flags (the compiler may vectorize it).
//
// Thread-safety: pure functions.
#ifndef SOCHDB_SIMD_TARGET_NS
#error "define SOCHDB_SIMD_TARGET_NS before including sochdb/simd/detail/kernels_impl.hpp"
#endif

#include <sochdb/simd/detail/targets.hpp>
#include <sochdb/simd/kernel_table.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

// g++ 12 warns inside its own AVX-512 intrinsics (`__m512 __Y = __Y;` in _mm512_undefined_*)
// wherever they are inlined; the warnings are about the compiler's headers, not this code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

SOCHDB_BEGIN_NAMESPACE
namespace simd::SOCHDB_SIMD_TARGET_NS {

using detail::family;

template <class T>
using fbatch = xsimd::batch<float, typename T::arch>;

// ---------------------------------------------------------------------------------------------
// Helpers hiding xsimd version differences and filling its gaps.

/// a * b + c, fused where the target has FMA. xsimd 8.1 has no fused AVX-512 fma (it falls
/// back to mul + add, and g++ -std=c++20 does not contract that), so call the intrinsic.
template <class T>
inline fbatch<T> fmadd(fbatch<T> a, fbatch<T> b, fbatch<T> c) noexcept {
#if SOCHDB_SIMD_X86
  if constexpr (T::fam == family::avx512) {
    return _mm512_fmadd_ps(a, b, c);
  } else if constexpr (T::fam == family::avx2) {
    return _mm256_fmadd_ps(a, b, c);
  } else if constexpr (T::fam == family::sse) {
    return a * b + c;  // SSE has no FMA; keep the two roundings explicit
  } else
#endif
  {
    return xsimd::fma(a, b, c);
  }
}

/// Horizontal sum. xsimd 8.1 spells it hadd, 9+ reduce_add (hadd later removed).
template <class T>
inline float reduce_sum(fbatch<T> v) noexcept {
#if SOCHDB_SIMD_X86
  if constexpr (T::fam == family::avx512) {
    return _mm512_reduce_add_ps(v);
  } else if constexpr (T::fam == family::avx2 || T::fam == family::sse) {
    __m128 x;
    if constexpr (T::fam == family::avx2) {
      __m256 r = v;
      x = _mm_add_ps(_mm256_castps256_ps128(r), _mm256_extractf128_ps(r, 1));
    } else {
      x = v;
    }
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 0x55));
    return _mm_cvtss_f32(x);
  } else
#endif
  {
#if XSIMD_VERSION_MAJOR >= 9
    return xsimd::reduce_add(v);
#else
    return xsimd::hadd(v);
#endif
  }
}

/// The first n < W floats at p, the other lanes zero. Never reads past p + n.
template <class T>
inline fbatch<T> load_partial(const float* p, std::size_t n) noexcept {
#if SOCHDB_SIMD_X86
  if constexpr (T::fam == family::avx512) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), p);
  } else if constexpr (T::fam == family::avx2) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lanes);
    return _mm256_maskload_ps(p, mask);  // masked-off lanes are not read (no fault)
  } else
#endif
  {
    alignas(64) float buf[fbatch<T>::size] = {};
    std::memcpy(buf, p, n * sizeof(float));
    return fbatch<T>::load_aligned(buf);
  }
}

/// W uint8 values at p as floats.
template <class T>
inline fbatch<T> load_u8(const std::uint8_t* p) noexcept {
#if SOCHDB_SIMD_X86
  if constexpr (T::fam == family::avx512) {
    return _mm512_cvtepi32_ps(
        _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  } else if constexpr (T::fam == family::avx2) {
    return _mm256_cvtepi32_ps(
        _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  } else if constexpr (T::fam == family::sse) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    const __m128i z = _mm_setzero_si128();
    __m128i x = _mm_unpacklo_epi8(_mm_cvtsi32_si128(v), z);
    return _mm_cvtepi32_ps(_mm_unpacklo_epi16(x, z));
  } else
#endif
  {
    alignas(64) float buf[fbatch<T>::size];
    for (std::size_t i = 0; i < fbatch<T>::size; ++i) buf[i] = static_cast<float>(p[i]);
    return fbatch<T>::load_aligned(buf);
  }
}

/// The first n < W uint8 values at p as floats, the other lanes zero.
template <class T>
inline fbatch<T> load_u8_partial(const std::uint8_t* p, std::size_t n) noexcept {
#if SOCHDB_SIMD_X86
  if constexpr (T::fam == family::avx512) {
    __m128i x = _mm_maskz_loadu_epi8(static_cast<__mmask16>((1u << n) - 1), p);
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(x));
  } else
#endif
  {
    alignas(64) float buf[fbatch<T>::size] = {};
    for (std::size_t i = 0; i < n; ++i) buf[i] = static_cast<float>(p[i]);
    return fbatch<T>::load_aligned(buf);
  }
}

/// Local copy of simd::half_to_float (see the namespace note at the top of the file).
inline float half_bits_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  std::uint32_t bits = sign;
  if (exp == 0x1f) {
    bits |= 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    bits |= ((exp + 112) << 23) | (mant << 13);
  } else if (mant != 0) {
    std::uint32_t e = 113;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --e;
    }
    bits |= (e << 23) | ((mant & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// W binary16 values at p as floats.
template <class T>
inline fbatch<T> load_f16(const std::uint16_t* p) noexcept {
#if SOCHDB_SIMD_X86
  if constexpr (T::fam == family::avx512) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  } else if constexpr (T::fam == family::avx2) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  } else
#endif
  {
    alignas(64) float buf[fbatch<T>::size];
    for (std::size_t i = 0; i < fbatch<T>::size; ++i) buf[i] = half_bits_to_float(p[i]);
    return fbatch<T>::load_aligned(buf);
  }
}

template <class T>
inline fbatch<T> load_f16_partial(const std::uint16_t* p, std::size_t n) noexcept {
#if SOCHDB_SIMD_X86
  if constexpr (T::fam == family::avx512) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(static_cast<__mmask16>((1u << n) - 1), p));
  } else
#endif
  {
    alignas(64) float buf[fbatch<T>::size] = {};
    for (std::size_t i = 0; i < n; ++i) buf[i] = half_bits_to_float(p[i]);
    return fbatch<T>::load_aligned(buf);
  }
}

/// Prefetches the first lines of a row about to be read (the hardware prefetcher follows).
inline void prefetch_row(const void* p, std::size_t bytes) noexcept {
  const char* c = static_cast<const char*>(p);
  const std::size_t lines = std::min<std::size_t>((bytes + 63) / 64, 8);
  for (std::size_t l = 0; l < lines; ++l) __builtin_prefetch(c + l * 64, 0, 3);
}

// ---------------------------------------------------------------------------------------------
// float32

struct op_l2 {
  template <class T>
  static fbatch<T> step(fbatch<T> x, fbatch<T> y, fbatch<T> acc) noexcept {
    fbatch<T> t = x - y;
    return fmadd<T>(t, t, acc);
  }
};
struct op_dot {
  template <class T>
  static fbatch<T> step(fbatch<T> x, fbatch<T> y, fbatch<T> acc) noexcept {
    return fmadd<T>(x, y, acc);
  }
};

template <class T, class Op>
inline float pair_f32(const float* a, const float* b, std::size_t d) noexcept {
  using B = fbatch<T>;
  constexpr std::size_t W = B::size;
  // Four independent accumulators hide the FMA latency (4 cycles, 2 per cycle issued).
  B s0(0.f), s1(0.f), s2(0.f), s3(0.f);
  std::size_t i = 0;
  if constexpr (T::fam == family::avx512 || T::fam == family::avx2) {
    // Long vectors (16 steps or more): a partial first step brings b to a full-vector boundary, so
    // in the main loop only a's loads may straddle cache lines (measured on rows 16-byte aligned:
    // about 1.5x fewer cycles when the rows stream from L2; no cost when already aligned).
    const std::size_t head =
        ((sizeof(B) - (reinterpret_cast<std::uintptr_t>(b) % sizeof(B))) % sizeof(B)) /
        sizeof(float);
    if (head != 0 && d >= 16 * W) {
      s3 = Op::template step<T>(load_partial<T>(a, head), load_partial<T>(b, head), s3);
      i = head;
    }
  }
  for (; i + 4 * W <= d; i += 4 * W) {
    s0 = Op::template step<T>(B::load_unaligned(a + i), B::load_unaligned(b + i), s0);
    s1 = Op::template step<T>(B::load_unaligned(a + i + W), B::load_unaligned(b + i + W), s1);
    s2 = Op::template step<T>(B::load_unaligned(a + i + 2 * W), B::load_unaligned(b + i + 2 * W),
                              s2);
    s3 = Op::template step<T>(B::load_unaligned(a + i + 3 * W), B::load_unaligned(b + i + 3 * W),
                              s3);
  }
  for (; i + 2 * W <= d; i += 2 * W) {
    s0 = Op::template step<T>(B::load_unaligned(a + i), B::load_unaligned(b + i), s0);
    s1 = Op::template step<T>(B::load_unaligned(a + i + W), B::load_unaligned(b + i + W), s1);
  }
  if (i + W <= d) {
    s2 = Op::template step<T>(B::load_unaligned(a + i), B::load_unaligned(b + i), s2);
    i += W;
  }
  if (i < d)
    s3 = Op::template step<T>(load_partial<T>(a + i, d - i), load_partial<T>(b + i, d - i), s3);
  return reduce_sum<T>((s0 + s1) + (s2 + s3));
}

inline float cosine_from_parts(float dot, float na, float nb) noexcept {
  if (na <= 0.f || nb <= 0.f) return 1.f;
  return static_cast<float>(1.0 - static_cast<double>(dot) /
                                      std::sqrt(static_cast<double>(na) * static_cast<double>(nb)));
}

template <class T>
inline float cosine_f32(const float* a, const float* b, std::size_t d) noexcept {
  using B = fbatch<T>;
  constexpr std::size_t W = B::size;
  B ab0(0.f), aa0(0.f), bb0(0.f), ab1(0.f), aa1(0.f), bb1(0.f);
  std::size_t i = 0;
  for (; i + 2 * W <= d; i += 2 * W) {
    B x0 = B::load_unaligned(a + i), y0 = B::load_unaligned(b + i);
    B x1 = B::load_unaligned(a + i + W), y1 = B::load_unaligned(b + i + W);
    ab0 = fmadd<T>(x0, y0, ab0);
    aa0 = fmadd<T>(x0, x0, aa0);
    bb0 = fmadd<T>(y0, y0, bb0);
    ab1 = fmadd<T>(x1, y1, ab1);
    aa1 = fmadd<T>(x1, x1, aa1);
    bb1 = fmadd<T>(y1, y1, bb1);
  }
  for (; i < d; i += W) {
    const std::size_t k = std::min(W, d - i);
    B x = k == W ? B::load_unaligned(a + i) : load_partial<T>(a + i, k);
    B y = k == W ? B::load_unaligned(b + i) : load_partial<T>(b + i, k);
    ab0 = fmadd<T>(x, y, ab0);
    aa0 = fmadd<T>(x, x, aa0);
    bb0 = fmadd<T>(y, y, bb0);
  }
  return cosine_from_parts(reduce_sum<T>(ab0 + ab1), reduce_sum<T>(aa0 + aa1),
                           reduce_sum<T>(bb0 + bb1));
}

/// Four rows per pass: the query chunk is loaded once for four rows, and the four
/// accumulator chains are independent.
/// `next` (nnext rows, may be empty) are the rows of the following call: while these rows are
/// computed, the rest of `next` beyond its first 512 bytes (already requested by
/// prefetch_row) is prefetched into L2, one line per row per step.
template <class T, class Op, class RowAt>
inline void many_f32_impl(const float* q, std::size_t n, std::size_t d, float* out, RowAt row_at,
                          const float* const* next = nullptr, std::size_t nnext = 0) noexcept {
  using B = fbatch<T>;
  constexpr std::size_t W = B::size;
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const float* r0 = row_at(j);
    const float* r1 = row_at(j + 1);
    const float* r2 = row_at(j + 2);
    const float* r3 = row_at(j + 3);
    B a0(0.f), a1(0.f), a2(0.f), a3(0.f);
    std::size_t i = 0;
    for (; i + W <= d; i += W) {
      if (i >= 128)
        for (std::size_t k = 0; k < nnext; ++k) __builtin_prefetch(next[k] + i, 0, 2);
      B x = B::load_unaligned(q + i);
      a0 = Op::template step<T>(x, B::load_unaligned(r0 + i), a0);
      a1 = Op::template step<T>(x, B::load_unaligned(r1 + i), a1);
      a2 = Op::template step<T>(x, B::load_unaligned(r2 + i), a2);
      a3 = Op::template step<T>(x, B::load_unaligned(r3 + i), a3);
    }
    if (i < d) {
      const std::size_t k = d - i;
      B x = load_partial<T>(q + i, k);
      a0 = Op::template step<T>(x, load_partial<T>(r0 + i, k), a0);
      a1 = Op::template step<T>(x, load_partial<T>(r1 + i, k), a1);
      a2 = Op::template step<T>(x, load_partial<T>(r2 + i, k), a2);
      a3 = Op::template step<T>(x, load_partial<T>(r3 + i, k), a3);
    }
    out[j] = reduce_sum<T>(a0);
    out[j + 1] = reduce_sum<T>(a1);
    out[j + 2] = reduce_sum<T>(a2);
    out[j + 3] = reduce_sum<T>(a3);
  }
  for (; j < n; ++j) out[j] = pair_f32<T, Op>(q, row_at(j), d);
}

/// Cache-resident blocks take four rows per pass (the query chunk is loaded once for four
/// rows). Blocks larger than an L2 cache are read strictly in address order, one row after
/// the other: measured on DRAM-resident blocks of 512-byte rows, four interleaved short row
/// streams defeat the hardware stream prefetcher and halve the bandwidth.
template <class T, class Op>
inline void many_f32(const float* q, const float* rows, std::size_t n, std::size_t stride,
                     std::size_t d, float* out) noexcept {
  if (n * stride * sizeof(float) > (std::size_t{1} << 20)) {
    for (std::size_t j = 0; j < n; ++j) out[j] = pair_f32<T, Op>(q, rows + j * stride, d);
  } else {
    many_f32_impl<T, Op>(q, n, d, out, [&](std::size_t j) { return rows + j * stride; });
  }
}

template <class T, class Op>
inline void gather_f32(const float* q, const float* const* rows, std::size_t n, std::size_t d,
                       float* out) noexcept {
  // Prefetch the next group while this one is computed: neighbour rows are scattered, so
  // the hardware prefetcher cannot guess them.
  for (std::size_t j = 0; j < std::min<std::size_t>(n, 4); ++j) prefetch_row(rows[j], d * 4);
  for (std::size_t j0 = 0; j0 < n; j0 += 4) {
    const std::size_t cnt = std::min<std::size_t>(4, n - j0);
    const std::size_t next_end = std::min(n, j0 + 8);
    for (std::size_t j = j0 + 4; j < next_end; ++j) prefetch_row(rows[j], d * 4);
    // Rows over 2 KiB: also stream the rest of the next group into L2 progressively
    // (measured on DRAM-resident rows, d = 768: 1.57x -> 1.75x hnswlib's loop; d = 1536:
    // 1.57x -> 2.2x; for short rows the extra prefetches cost more than they save).
    const std::size_t nnext = d * sizeof(float) > 2048 && next_end > j0 + 4 ? next_end - j0 - 4 : 0;
    many_f32_impl<T, Op>(
        q, cnt, d, out + j0, [&](std::size_t j) { return rows[j0 + j]; }, rows + j0 + 4, nnext);
  }
}

template <class T>
inline void cosine_f32_many(const float* q, const float* rows, std::size_t n, std::size_t stride,
                            std::size_t d, float* out) noexcept {
  using B = fbatch<T>;
  constexpr std::size_t W = B::size;
  const float nq = pair_f32<T, op_dot>(q, q, d);
  std::size_t j = 0;
  for (; j + 2 <= n; j += 2) {
    const float* r0 = rows + j * stride;
    const float* r1 = r0 + stride;
    B d0(0.f), n0(0.f), d1(0.f), n1(0.f);
    for (std::size_t i = 0; i < d; i += W) {
      const std::size_t k = std::min(W, d - i);
      B x = k == W ? B::load_unaligned(q + i) : load_partial<T>(q + i, k);
      B y0 = k == W ? B::load_unaligned(r0 + i) : load_partial<T>(r0 + i, k);
      B y1 = k == W ? B::load_unaligned(r1 + i) : load_partial<T>(r1 + i, k);
      d0 = fmadd<T>(x, y0, d0);
      n0 = fmadd<T>(y0, y0, n0);
      d1 = fmadd<T>(x, y1, d1);
      n1 = fmadd<T>(y1, y1, n1);
    }
    out[j] = cosine_from_parts(reduce_sum<T>(d0), nq, reduce_sum<T>(n0));
    out[j + 1] = cosine_from_parts(reduce_sum<T>(d1), nq, reduce_sum<T>(n1));
  }
  if (j < n) out[j] = cosine_f32<T>(q, rows + j * stride, d);
}

/// Two queries by four rows: six loads feed eight multiply-adds.
template <class T, class Op>
inline void micro_2x4(const float* q0, const float* q1, const float* r, std::size_t rs,
                      std::size_t d, float* o0, float* o1) noexcept {
  using B = fbatch<T>;
  constexpr std::size_t W = B::size;
  const float* r0 = r;
  const float* r1 = r + rs;
  const float* r2 = r + 2 * rs;
  const float* r3 = r + 3 * rs;
  B a00(0.f), a01(0.f), a02(0.f), a03(0.f), a10(0.f), a11(0.f), a12(0.f), a13(0.f);
  auto body = [&](B x0, B x1, B y0, B y1, B y2, B y3) {
    a00 = Op::template step<T>(x0, y0, a00);
    a01 = Op::template step<T>(x0, y1, a01);
    a02 = Op::template step<T>(x0, y2, a02);
    a03 = Op::template step<T>(x0, y3, a03);
    a10 = Op::template step<T>(x1, y0, a10);
    a11 = Op::template step<T>(x1, y1, a11);
    a12 = Op::template step<T>(x1, y2, a12);
    a13 = Op::template step<T>(x1, y3, a13);
  };
  std::size_t i = 0;
  for (; i + W <= d; i += W) {
    body(B::load_unaligned(q0 + i), B::load_unaligned(q1 + i), B::load_unaligned(r0 + i),
         B::load_unaligned(r1 + i), B::load_unaligned(r2 + i), B::load_unaligned(r3 + i));
  }
  if (i < d) {
    const std::size_t k = d - i;
    body(load_partial<T>(q0 + i, k), load_partial<T>(q1 + i, k), load_partial<T>(r0 + i, k),
         load_partial<T>(r1 + i, k), load_partial<T>(r2 + i, k), load_partial<T>(r3 + i, k));
  }
  o0[0] = reduce_sum<T>(a00);
  o0[1] = reduce_sum<T>(a01);
  o0[2] = reduce_sum<T>(a02);
  o0[3] = reduce_sum<T>(a03);
  o1[0] = reduce_sum<T>(a10);
  o1[1] = reduce_sum<T>(a11);
  o1[2] = reduce_sum<T>(a12);
  o1[3] = reduce_sum<T>(a13);
}

template <class T, class Op>
inline void batch_f32(const float* qs, std::size_t nq, std::size_t qstride, const float* rows,
                      std::size_t n, std::size_t rstride, std::size_t d, float* out,
                      std::size_t ostride) noexcept {
  // Rows are visited in blocks of about 128 KiB, so a block stays in L2 while every query
  // passes over it; queries stream from wherever they are (they are re-read once per block).
  std::size_t rb = (128 * 1024 / sizeof(float)) / std::max<std::size_t>(rstride, 1);
  rb = std::max<std::size_t>(4, rb - rb % 4);
  for (std::size_t j0 = 0; j0 < n; j0 += rb) {
    const std::size_t jn = std::min(n, j0 + rb);
    std::size_t i = 0;
    for (; i + 2 <= nq; i += 2) {
      const float* q0 = qs + i * qstride;
      const float* q1 = q0 + qstride;
      float* o0 = out + i * ostride;
      float* o1 = o0 + ostride;
      std::size_t j = j0;
      for (; j + 4 <= jn; j += 4)
        micro_2x4<T, Op>(q0, q1, rows + j * rstride, rstride, d, o0 + j, o1 + j);
      for (; j < jn; ++j) {
        o0[j] = pair_f32<T, Op>(q0, rows + j * rstride, d);
        o1[j] = pair_f32<T, Op>(q1, rows + j * rstride, d);
      }
    }
    if (i < nq)
      many_f32<T, Op>(qs + i * qstride, rows + j0 * rstride, jn - j0, rstride, d,
                      out + i * ostride + j0);
  }
}

// ---------------------------------------------------------------------------------------------
// float16 storage

template <class T, bool L2>
inline float pair_f32_f16(const float* q, const std::uint16_t* x, std::size_t d) noexcept {
  using B = fbatch<T>;
  constexpr std::size_t W = B::size;
  B s0(0.f), s1(0.f);
  auto step = [](B a, B b, B acc) {
    if constexpr (L2) {
      B t = a - b;
      return fmadd<T>(t, t, acc);
    } else {
      return fmadd<T>(a, b, acc);
    }
  };
  std::size_t i = 0;
  for (; i + 2 * W <= d; i += 2 * W) {
    s0 = step(B::load_unaligned(q + i), load_f16<T>(x + i), s0);
    s1 = step(B::load_unaligned(q + i + W), load_f16<T>(x + i + W), s1);
  }
  if (i + W <= d) {
    s0 = step(B::load_unaligned(q + i), load_f16<T>(x + i), s0);
    i += W;
  }
  if (i < d) s1 = step(load_partial<T>(q + i, d - i), load_f16_partial<T>(x + i, d - i), s1);
  return reduce_sum<T>(s0 + s1);
}

// ---------------------------------------------------------------------------------------------
// 8-bit integers

template <class U>
inline std::int32_t dot_int_loop(const U* a, const U* b, std::size_t d) noexcept {
  std::int32_t s = 0;
  for (std::size_t i = 0; i < d; ++i) s += std::int32_t{a[i]} * std::int32_t{b[i]};
  return s;
}
template <class U>
inline std::int32_t l2sq_int_loop(const U* a, const U* b, std::size_t d) noexcept {
  std::int32_t s = 0;
  for (std::size_t i = 0; i < d; ++i) {
    std::int32_t t = std::int32_t{a[i]} - std::int32_t{b[i]};
    s += t * t;
  }
  return s;
}

#if SOCHDB_SIMD_X86
inline std::int32_t hsum_epi32_256(__m256i v) noexcept {
  __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4e));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xb1));
  return _mm_cvtsi128_si32(x);
}
inline __mmask64 mask64(std::size_t n) noexcept {
  return n >= 64 ? ~__mmask64{0} : ((__mmask64{1} << n) - 1);
}
inline __mmask32 mask32(std::size_t n) noexcept {
  return n >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((std::uint64_t{1} << n) - 1);
}

/// AVX-512 products of 16-bit lanes summed into int32: VNNI dpwssd or madd + add.
template <class T>
inline __m512i madd16(__m512i acc, __m512i x, __m512i y) noexcept {
  if constexpr (T::vnni) {
    return _mm512_dpwssd_epi32(acc, x, y);
  } else {
    return _mm512_add_epi32(acc, _mm512_madd_epi16(x, y));
  }
}
#endif

#if SOCHDB_SIMD_X86
/// The AVX-512 8-bit kernels share one loop shape: 128 bytes per iteration into four
/// independent accumulators (dpwssd / dpbusd / madd have 4-5 cycles of latency, so one chain
/// would stall every iteration), then 64-byte masked steps for the tail. `Step(acc_lo,
/// acc_hi, x, y)` consumes 64 bytes of each input into two accumulators.
template <class T, class U, class Step>
inline __m512i loop8_avx512(const U* a, const U* b, std::size_t d, Step step) noexcept {
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  std::size_t i = 0;
  for (; i + 128 <= d; i += 128) {
    step(a0, a1, _mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i));
    step(a2, a3, _mm512_loadu_si512(a + i + 64), _mm512_loadu_si512(b + i + 64));
  }
  for (; i < d; i += 64) {
    const __mmask64 m = mask64(d - i);
    step(a0, a1, _mm512_maskz_loadu_epi8(m, a + i), _mm512_maskz_loadu_epi8(m, b + i));
  }
  return _mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3));
}
inline std::int32_t hsum_epi32_512(__m512i v) noexcept {
  __m256i x = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  return hsum_epi32_256(x);
}
#endif

template <class T>
inline std::int32_t dot_i8(const std::int8_t* a, const std::int8_t* b, std::size_t d) noexcept {
#if SOCHDB_SIMD_X86
  if constexpr (T::fam == family::avx512 && T::vnni) {
    // dpbusd multiplies unsigned by signed bytes: sum (a + 128) * b, minus 128 * sum(b) (the
    // s accumulators: dpbusd of ones and b). Masked-off lanes load 0: x = 128, y = 0, no
    // contribution. Two chunks per iteration keep four dpbusd chains in flight.
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i p0 = _mm512_setzero_si512(), p1 = p0, s0 = p0, s1 = p0;
    std::size_t i = 0;
    for (; i + 128 <= d; i += 128) {
      __m512i y0 = _mm512_loadu_si512(b + i), y1 = _mm512_loadu_si512(b + i + 64);
      p0 = _mm512_dpbusd_epi32(p0, _mm512_xor_si512(_mm512_loadu_si512(a + i), flip), y0);
      p1 = _mm512_dpbusd_epi32(p1, _mm512_xor_si512(_mm512_loadu_si512(a + i + 64), flip), y1);
      s0 = _mm512_dpbusd_epi32(s0, ones, y0);
      s1 = _mm512_dpbusd_epi32(s1, ones, y1);
    }
    for (; i < d; i += 64) {
      const __mmask64 m = mask64(d - i);
      __m512i y = _mm512_maskz_loadu_epi8(m, b + i);
      p0 = _mm512_dpbusd_epi32(p0, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, a + i), flip), y);
      s0 = _mm512_dpbusd_epi32(s0, ones, y);
    }
    return hsum_epi32_512(_mm512_add_epi32(p0, p1)) -
           128 * hsum_epi32_512(_mm512_add_epi32(s0, s1));
  } else if constexpr (T::fam == family::avx512) {
    __m512i acc = loop8_avx512<T>(a, b, d, [](__m512i& lo, __m512i& hi, __m512i x, __m512i y) {
      lo = madd16<T>(lo, _mm512_cvtepi8_epi16(_mm512_castsi512_si256(x)),
                     _mm512_cvtepi8_epi16(_mm512_castsi512_si256(y)));
      hi = madd16<T>(hi, _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(x, 1)),
                     _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(y, 1)));
    });
    return hsum_epi32_512(acc);
  } else if constexpr (T::fam == family::avx2) {
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    std::size_t i = 0;
    for (; i + 32 <= d; i += 32) {
      auto ld = [](const std::int8_t* p) {
        return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
      };
      acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(ld(a + i), ld(b + i)));
      acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(ld(a + i + 16), ld(b + i + 16)));
    }
    return hsum_epi32_256(_mm256_add_epi32(acc0, acc1)) + dot_int_loop(a + i, b + i, d - i);
  } else
#endif
  {
    return dot_int_loop(a, b, d);
  }
}

template <class T>
inline std::int32_t l2sq_i8(const std::int8_t* a, const std::int8_t* b, std::size_t d) noexcept {
#if SOCHDB_SIMD_X86
  if constexpr (T::fam == family::avx512) {
    // Differences span [-255, 255]: widen to 16 bits first; squares sum exactly in pairs.
    __m512i acc = loop8_avx512<T>(a, b, d, [](__m512i& lo, __m512i& hi, __m512i x, __m512i y) {
      __m512i t0 = _mm512_sub_epi16(_mm512_cvtepi8_epi16(_mm512_castsi512_si256(x)),
                                    _mm512_cvtepi8_epi16(_mm512_castsi512_si256(y)));
      __m512i t1 = _mm512_sub_epi16(_mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(x, 1)),
                                    _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(y, 1)));
      lo = madd16<T>(lo, t0, t0);
      hi = madd16<T>(hi, t1, t1);
    });
    return hsum_epi32_512(acc);
  } else if constexpr (T::fam == family::avx2) {
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    std::size_t i = 0;
    for (; i + 32 <= d; i += 32) {
      auto diff = [](const std::int8_t* p, const std::int8_t* q) {
        return _mm256_sub_epi16(
            _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))),
            _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q))));
      };
      __m256i t0 = diff(a + i, b + i), t1 = diff(a + i + 16, b + i + 16);
      acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(t0, t0));
      acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(t1, t1));
    }
    return hsum_epi32_256(_mm256_add_epi32(acc0, acc1)) + l2sq_int_loop(a + i, b + i, d - i);
  } else
#endif
  {
    return l2sq_int_loop(a, b, d);
  }
}

template <class T>
inline std::int32_t dot_u8(const std::uint8_t* a, const std::uint8_t* b, std::size_t d) noexcept {
#if SOCHDB_SIMD_X86
  if constexpr (T::fam == family::avx512) {
    // Interleaving with zero widens to 16 bits (0..255, valid as signed); pair sums of
    // products stay below 2^17.
    const __m512i z = _mm512_setzero_si512();
    __m512i acc = loop8_avx512<T>(a, b, d, [&](__m512i& lo, __m512i& hi, __m512i x, __m512i y) {
      lo = madd16<T>(lo, _mm512_unpacklo_epi8(x, z), _mm512_unpacklo_epi8(y, z));
      hi = madd16<T>(hi, _mm512_unpackhi_epi8(x, z), _mm512_unpackhi_epi8(y, z));
    });
    return hsum_epi32_512(acc);
  } else if constexpr (T::fam == family::avx2) {
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    const __m256i z = _mm256_setzero_si256();
    std::size_t i = 0;
    for (; i + 32 <= d; i += 32) {
      __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i));
      __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i));
      acc0 = _mm256_add_epi32(
          acc0, _mm256_madd_epi16(_mm256_unpacklo_epi8(x, z), _mm256_unpacklo_epi8(y, z)));
      acc1 = _mm256_add_epi32(
          acc1, _mm256_madd_epi16(_mm256_unpackhi_epi8(x, z), _mm256_unpackhi_epi8(y, z)));
    }
    return hsum_epi32_256(_mm256_add_epi32(acc0, acc1)) + dot_int_loop(a + i, b + i, d - i);
  } else
#endif
  {
    return dot_int_loop(a, b, d);
  }
}

template <class T>
inline std::int32_t l2sq_u8(const std::uint8_t* a, const std::uint8_t* b, std::size_t d) noexcept {
#if SOCHDB_SIMD_X86
  if constexpr (T::fam == family::avx512) {
    // |a - b| = max - min stays in 0..255; widen by interleaving with zero, square in pairs.
    const __m512i z = _mm512_setzero_si512();
    __m512i acc = loop8_avx512<T>(a, b, d, [&](__m512i& lo, __m512i& hi, __m512i x, __m512i y) {
      __m512i t = _mm512_sub_epi8(_mm512_max_epu8(x, y), _mm512_min_epu8(x, y));
      __m512i tl = _mm512_unpacklo_epi8(t, z), th = _mm512_unpackhi_epi8(t, z);
      lo = madd16<T>(lo, tl, tl);
      hi = madd16<T>(hi, th, th);
    });
    return hsum_epi32_512(acc);
  } else if constexpr (T::fam == family::avx2) {
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    __m256i acc2 = acc0, acc3 = acc0;
    const __m256i z = _mm256_setzero_si256();
    std::size_t i = 0;
    auto absdiff = [](const std::uint8_t* p, const std::uint8_t* q) {
      __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
      __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
      return _mm256_sub_epi8(_mm256_max_epu8(x, y), _mm256_min_epu8(x, y));
    };
    for (; i + 64 <= d; i += 64) {
      __m256i t0 = absdiff(a + i, b + i), t1 = absdiff(a + i + 32, b + i + 32);
      __m256i l0 = _mm256_unpacklo_epi8(t0, z), h0 = _mm256_unpackhi_epi8(t0, z);
      __m256i l1 = _mm256_unpacklo_epi8(t1, z), h1 = _mm256_unpackhi_epi8(t1, z);
      acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(l0, l0));
      acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(h0, h0));
      acc2 = _mm256_add_epi32(acc2, _mm256_madd_epi16(l1, l1));
      acc3 = _mm256_add_epi32(acc3, _mm256_madd_epi16(h1, h1));
    }
    for (; i + 32 <= d; i += 32) {
      __m256i t = absdiff(a + i, b + i);
      __m256i l = _mm256_unpacklo_epi8(t, z), h = _mm256_unpackhi_epi8(t, z);
      acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(l, l));
      acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(h, h));
    }
    __m256i acc = _mm256_add_epi32(_mm256_add_epi32(acc0, acc1), _mm256_add_epi32(acc2, acc3));
    return hsum_epi32_256(acc) + l2sq_int_loop(a + i, b + i, d - i);
  } else
#endif
  {
    return l2sq_int_loop(a, b, d);
  }
}

// ---------------------------------------------------------------------------------------------
// SQ8: float query against uint8 codes, decoded in registers

template <class T>
inline float sq8_l2sq(const float* q, const float* w, const std::uint8_t* c,
                      std::size_t d) noexcept {
  using B = fbatch<T>;
  constexpr std::size_t W = B::size;
  B s0(0.f), s1(0.f);
  std::size_t i = 0;
  for (; i + 2 * W <= d; i += 2 * W) {
    B t0 = B::load_unaligned(q + i) - load_u8<T>(c + i);
    B t1 = B::load_unaligned(q + i + W) - load_u8<T>(c + i + W);
    s0 = fmadd<T>(B::load_unaligned(w + i) * t0, t0, s0);
    s1 = fmadd<T>(B::load_unaligned(w + i + W) * t1, t1, s1);
  }
  for (; i < d; i += W) {
    const std::size_t k = std::min(W, d - i);
    B t = (k == W ? B::load_unaligned(q + i) : load_partial<T>(q + i, k)) -
          (k == W ? load_u8<T>(c + i) : load_u8_partial<T>(c + i, k));
    B wv = k == W ? B::load_unaligned(w + i) : load_partial<T>(w + i, k);
    s0 = fmadd<T>(wv * t, t, s0);
  }
  return reduce_sum<T>(s0 + s1);
}

template <class T>
inline float sq8_dot(const float* q, const std::uint8_t* c, std::size_t d) noexcept {
  using B = fbatch<T>;
  constexpr std::size_t W = B::size;
  B s0(0.f), s1(0.f);
  std::size_t i = 0;
  for (; i + 2 * W <= d; i += 2 * W) {
    s0 = fmadd<T>(B::load_unaligned(q + i), load_u8<T>(c + i), s0);
    s1 = fmadd<T>(B::load_unaligned(q + i + W), load_u8<T>(c + i + W), s1);
  }
  for (; i < d; i += W) {
    const std::size_t k = std::min(W, d - i);
    s0 = fmadd<T>(k == W ? B::load_unaligned(q + i) : load_partial<T>(q + i, k),
                  k == W ? load_u8<T>(c + i) : load_u8_partial<T>(c + i, k), s0);
  }
  return reduce_sum<T>(s0 + s1);
}

template <class T>
inline void sq8_l2sq_many(const float* q, const float* w, const std::uint8_t* codes, std::size_t n,
                          std::size_t stride, std::size_t d, float* out) noexcept {
  using B = fbatch<T>;
  constexpr std::size_t W = B::size;
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const std::uint8_t* c0 = codes + j * stride;
    const std::uint8_t* c1 = c0 + stride;
    const std::uint8_t* c2 = c1 + stride;
    const std::uint8_t* c3 = c2 + stride;
    B a0(0.f), a1(0.f), a2(0.f), a3(0.f);
    std::size_t i = 0;
    auto step = [&](B x, B wv, B c, B acc) {
      B t = x - c;
      return fmadd<T>(wv * t, t, acc);
    };
    for (; i + W <= d; i += W) {
      B x = B::load_unaligned(q + i), wv = B::load_unaligned(w + i);
      a0 = step(x, wv, load_u8<T>(c0 + i), a0);
      a1 = step(x, wv, load_u8<T>(c1 + i), a1);
      a2 = step(x, wv, load_u8<T>(c2 + i), a2);
      a3 = step(x, wv, load_u8<T>(c3 + i), a3);
    }
    if (i < d) {
      const std::size_t k = d - i;
      B x = load_partial<T>(q + i, k), wv = load_partial<T>(w + i, k);
      a0 = step(x, wv, load_u8_partial<T>(c0 + i, k), a0);
      a1 = step(x, wv, load_u8_partial<T>(c1 + i, k), a1);
      a2 = step(x, wv, load_u8_partial<T>(c2 + i, k), a2);
      a3 = step(x, wv, load_u8_partial<T>(c3 + i, k), a3);
    }
    out[j] = reduce_sum<T>(a0);
    out[j + 1] = reduce_sum<T>(a1);
    out[j + 2] = reduce_sum<T>(a2);
    out[j + 3] = reduce_sum<T>(a3);
  }
  for (; j < n; ++j) out[j] = sq8_l2sq<T>(q, w, codes + j * stride, d);
}

template <class T>
inline void sq8_dot_many(const float* q, const std::uint8_t* codes, std::size_t n,
                         std::size_t stride, std::size_t d, float* out) noexcept {
  using B = fbatch<T>;
  constexpr std::size_t W = B::size;
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const std::uint8_t* c0 = codes + j * stride;
    const std::uint8_t* c1 = c0 + stride;
    const std::uint8_t* c2 = c1 + stride;
    const std::uint8_t* c3 = c2 + stride;
    B a0(0.f), a1(0.f), a2(0.f), a3(0.f);
    std::size_t i = 0;
    for (; i + W <= d; i += W) {
      B x = B::load_unaligned(q + i);
      a0 = fmadd<T>(x, load_u8<T>(c0 + i), a0);
      a1 = fmadd<T>(x, load_u8<T>(c1 + i), a1);
      a2 = fmadd<T>(x, load_u8<T>(c2 + i), a2);
      a3 = fmadd<T>(x, load_u8<T>(c3 + i), a3);
    }
    if (i < d) {
      const std::size_t k = d - i;
      B x = load_partial<T>(q + i, k);
      a0 = fmadd<T>(x, load_u8_partial<T>(c0 + i, k), a0);
      a1 = fmadd<T>(x, load_u8_partial<T>(c1 + i, k), a1);
      a2 = fmadd<T>(x, load_u8_partial<T>(c2 + i, k), a2);
      a3 = fmadd<T>(x, load_u8_partial<T>(c3 + i, k), a3);
    }
    out[j] = reduce_sum<T>(a0);
    out[j + 1] = reduce_sum<T>(a1);
    out[j + 2] = reduce_sum<T>(a2);
    out[j + 3] = reduce_sum<T>(a3);
  }
  for (; j < n; ++j) out[j] = sq8_dot<T>(q, codes + j * stride, d);
}

template <class T, bool L2>
inline float sq8_sym(const float* w, const std::uint8_t* a, const std::uint8_t* b,
                     std::size_t d) noexcept {
  using B = fbatch<T>;
  constexpr std::size_t W = B::size;
  B s0(0.f);
  for (std::size_t i = 0; i < d; i += W) {
    const std::size_t k = std::min(W, d - i);
    B x = k == W ? load_u8<T>(a + i) : load_u8_partial<T>(a + i, k);
    B y = k == W ? load_u8<T>(b + i) : load_u8_partial<T>(b + i, k);
    B wv = k == W ? B::load_unaligned(w + i) : load_partial<T>(w + i, k);
    if constexpr (L2) {
      B t = x - y;
      s0 = fmadd<T>(wv * t, t, s0);
    } else {
      s0 = fmadd<T>(wv * x, y, s0);
    }
  }
  return reduce_sum<T>(s0);
}

// ---------------------------------------------------------------------------------------------
// Hamming

template <class T>
inline std::uint64_t hamming(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) noexcept {
  std::uint64_t s = 0;
  std::size_t i = 0;
#if SOCHDB_SIMD_X86
  if constexpr (T::fam == family::avx512 && T::vpopcnt) {
    if (n >= 32) {  // shorter codes: the 8-byte scalar path has less latency
      __m512i acc = _mm512_setzero_si512();
      for (; i + 64 <= n; i += 64) {
        __m512i x = _mm512_xor_si512(_mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i));
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
      }
      if (i < n) {
        const __mmask64 m = mask64(n - i);
        __m512i x =
            _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, a + i), _mm512_maskz_loadu_epi8(m, b + i));
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
        i = n;
      }
      __m256i h = _mm256_add_epi64(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
      __m128i l = _mm_add_epi64(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
      s = static_cast<std::uint64_t>(_mm_cvtsi128_si64(l)) +
          static_cast<std::uint64_t>(_mm_extract_epi64(l, 1));
    }
  }
#endif
  std::uint64_t s1 = 0;
  for (; i + 16 <= n; i += 16) {
    std::uint64_t x0, y0, x1, y1;
    std::memcpy(&x0, a + i, 8);
    std::memcpy(&y0, b + i, 8);
    std::memcpy(&x1, a + i + 8, 8);
    std::memcpy(&y1, b + i + 8, 8);
    s += static_cast<std::uint64_t>(__builtin_popcountll(x0 ^ y0));
    s1 += static_cast<std::uint64_t>(__builtin_popcountll(x1 ^ y1));
  }
  for (; i + 8 <= n; i += 8) {
    std::uint64_t x, y;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    s += static_cast<std::uint64_t>(__builtin_popcountll(x ^ y));
  }
  for (; i < n; ++i)
    s += static_cast<std::uint64_t>(__builtin_popcount(static_cast<unsigned>(a[i] ^ b[i])));
  return s + s1;
}

template <class T>
inline void hamming_many(const std::uint8_t* q, const std::uint8_t* rows, std::size_t n,
                         std::size_t stride, std::size_t nbytes, float* out) noexcept {
  // The one-to-one body inlined per row: short codes (8-64 bytes) cost no more than the call.
  for (std::size_t j = 0; j < n; ++j)
    out[j] = static_cast<float>(hamming<T>(q, rows + j * stride, nbytes));
}

// ---------------------------------------------------------------------------------------------
// PQ asymmetric distance by table lookup

/// Scalar lookups on every target: eight code bytes come in one 64-bit load and each table
/// entry is one load, so a 32-byte code costs ~36 loads. Measured on Zen 4, this beats the
/// AVX-512 gather form (16 subspaces per vpgatherdd): 7 ns against 13 ns per 32-byte code.
template <class T>
inline float pq_adc(const float* tables, const std::uint8_t* code, std::size_t m) noexcept {
  float r0 = 0.f, r1 = 0.f, r2 = 0.f, r3 = 0.f;
  std::size_t s = 0;
  for (; s + 8 <= m; s += 8) {
    std::uint64_t c;
    std::memcpy(&c, code + s, 8);
    const float* t = tables + s * 256;
    r0 += t[c & 0xff];
    r1 += t[256 + ((c >> 8) & 0xff)];
    r2 += t[512 + ((c >> 16) & 0xff)];
    r3 += t[768 + ((c >> 24) & 0xff)];
    r0 += t[1024 + ((c >> 32) & 0xff)];
    r1 += t[1280 + ((c >> 40) & 0xff)];
    r2 += t[1536 + ((c >> 48) & 0xff)];
    r3 += t[1792 + (c >> 56)];
  }
  for (; s < m; ++s) r0 += tables[s * 256 + code[s]];
  return (r0 + r1) + (r2 + r3);
}

template <class T>
inline void pq_adc_many(const float* tables, const std::uint8_t* codes, std::size_t n,
                        std::size_t m, float* out) noexcept {
  for (std::size_t j = 0; j < n; ++j) {
    if (j + 8 < n) __builtin_prefetch(codes + (j + 8) * m, 0, 3);
    out[j] = pq_adc<T>(tables, codes + j * m, m);
  }
}

// ---------------------------------------------------------------------------------------------
// The table

template <class T>
inline const kernel_table& make_table() noexcept {
  static constexpr kernel_table table{
      .id = T::id,
      .l2sq_f32 = pair_f32<T, op_l2>,
      .dot_f32 = pair_f32<T, op_dot>,
      .cosine_f32 = cosine_f32<T>,
      .l2sq_f32_many = many_f32<T, op_l2>,
      .dot_f32_many = many_f32<T, op_dot>,
      .cosine_f32_many = cosine_f32_many<T>,
      .l2sq_f32_gather = gather_f32<T, op_l2>,
      .dot_f32_gather = gather_f32<T, op_dot>,
      .l2sq_f32_batch = batch_f32<T, op_l2>,
      .dot_f32_batch = batch_f32<T, op_dot>,
      .l2sq_f32_f16 = pair_f32_f16<T, true>,
      .dot_f32_f16 = pair_f32_f16<T, false>,
      .dot_i8 = dot_i8<T>,
      .l2sq_i8 = l2sq_i8<T>,
      .dot_u8 = dot_u8<T>,
      .l2sq_u8 = l2sq_u8<T>,
      .sq8_l2sq = sq8_l2sq<T>,
      .sq8_dot = sq8_dot<T>,
      .sq8_l2sq_many = sq8_l2sq_many<T>,
      .sq8_dot_many = sq8_dot_many<T>,
      .sq8_l2sq_sym = sq8_sym<T, true>,
      .sq8_dot_sym = sq8_sym<T, false>,
      .hamming = hamming<T>,
      .hamming_many = hamming_many<T>,
      .pq_adc = pq_adc<T>,
      .pq_adc_many = pq_adc_many<T>,
  };
  return table;
}

}  // namespace simd::SOCHDB_SIMD_TARGET_NS
SOCHDB_END_NAMESPACE

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
