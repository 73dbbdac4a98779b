// sochdb/simd/detail/targets.hpp — compile-time descriptions of the kernel targets.
//
// A target tag names an xsimd architecture (for the float kernels, written once on
// xsimd::batch) plus the extra features the hand-written integer paths use (VNNI, VPOPCNTDQ,
// F16C). Kernels are templates on a tag; see simd/detail/kernels_impl.hpp. Tags are empty
// types: naming one instantiates nothing, so every tag can be named in every translation unit.
#pragma once

#include <sochdb/simd/isa.hpp>

#include <xsimd/xsimd.hpp>

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#define SOCHDB_SIMD_X86 1
#include <immintrin.h>
#else
#define SOCHDB_SIMD_X86 0
#endif

SOCHDB_BEGIN_NAMESPACE
namespace simd::detail {

/// Which hand-written intrinsic family a target uses besides xsimd.
enum class family { sse, avx2, avx512, neon };

struct target_sse2 {
  using arch = xsimd::sse2;
  static constexpr isa id = isa::sse2;
  static constexpr family fam = family::sse;
  static constexpr bool vnni = false, vpopcnt = false, f16c = false;
};
struct target_sse4_2 {
  using arch = xsimd::sse4_2;
  static constexpr isa id = isa::sse4_2;
  static constexpr family fam = family::sse;
  static constexpr bool vnni = false, vpopcnt = false, f16c = false;
};
struct target_avx2 {
  using arch = xsimd::fma3<xsimd::avx2>;
  static constexpr isa id = isa::avx2;
  static constexpr family fam = family::avx2;
  static constexpr bool vnni = false, vpopcnt = false, f16c = true;
};
struct target_avx512 {
  using arch = xsimd::avx512bw;
  static constexpr isa id = isa::avx512;
  static constexpr family fam = family::avx512;
  static constexpr bool vnni = false, vpopcnt = false, f16c = true;
};
struct target_avx512_vnni {
  using arch = xsimd::avx512bw;
  static constexpr isa id = isa::avx512_vnni;
  static constexpr family fam = family::avx512;
  static constexpr bool vnni = true, vpopcnt = true, f16c = true;
};
struct target_neon {
  using arch = xsimd::neon64;
  static constexpr isa id = isa::neon;
  static constexpr family fam = family::neon;
  static constexpr bool vnni = false, vpopcnt = false, f16c = false;
};

}  // namespace simd::detail
SOCHDB_END_NAMESPACE
