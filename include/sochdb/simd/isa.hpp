// sochdb/simd/isa.hpp — the instruction-set levels the distance kernels are built for, and
// what the running CPU supports.
//
// An `isa` names one complete kernel table (simd/kernel_table.hpp): every kernel of the table
// is compiled for that level. The levels, best first: `avx512_vnni` (AVX-512 F/BW/DQ/VL plus
// VNNI and VPOPCNTDQ: Ice Lake, Sapphire Rapids, Zen 4), `avx512` (F/BW/DQ/VL: Skylake-SP),
// `avx2` (AVX2 + FMA + F16C: Haswell, Zen 1), `sse4_2`, `sse2` (the x86-64 baseline), `neon`
// (AArch64 Advanced SIMD) and `scalar` (plain C++, every CPU).
//
// `cpu_supports()` asks the running CPU (CPUID and the OS's XSAVE state, through the
// compiler's `__builtin_cpu_supports`); it is thread-safe and cheap enough to call at metric
// construction. Nothing here keeps mutable global state.
#pragma once

#include <sochdb/version.hpp>

#include <array>
#include <cstdint>
#include <string_view>

SOCHDB_BEGIN_NAMESPACE
namespace simd {

/// Instruction-set level of a kernel table. The numeric values are not stored anywhere.
enum class isa : std::uint8_t {
  scalar = 0,       ///< plain C++ loops
  sse2 = 1,         ///< x86-64 baseline
  sse4_2 = 2,       ///< SSE4.2 + POPCNT
  avx2 = 3,         ///< AVX2 + FMA + F16C + POPCNT
  avx512 = 4,       ///< AVX-512 F, BW, DQ, VL (+ AVX2, FMA, F16C)
  avx512_vnni = 5,  ///< avx512 + AVX512-VNNI + AVX512-VPOPCNTDQ
  neon = 6,         ///< AArch64 Advanced SIMD
};

/// Every level, best first: the order runtime dispatch tries them in.
inline constexpr std::array<isa, 7> isa_preference = {
    isa::avx512_vnni, isa::avx512, isa::avx2, isa::sse4_2, isa::sse2, isa::neon, isa::scalar};

/// Short name: "avx512-vnni", "avx512", "avx2", "sse4.2", "sse2", "neon", "scalar".
constexpr std::string_view isa_name(isa i) noexcept {
  switch (i) {
    case isa::scalar:
      return "scalar";
    case isa::sse2:
      return "sse2";
    case isa::sse4_2:
      return "sse4.2";
    case isa::avx2:
      return "avx2";
    case isa::avx512:
      return "avx512";
    case isa::avx512_vnni:
      return "avx512-vnni";
    case isa::neon:
      return "neon";
  }
  return "unknown";
}

/// True when the running CPU (and OS) can execute kernels built for `i`.
inline bool cpu_supports(isa i) noexcept {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  // __builtin_cpu_supports reads CPUID once (libgcc / compiler-rt run __cpu_indicator_init
  // at load time) and masks the AVX and AVX-512 bits with the OS-enabled XSAVE state.
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                    __builtin_cpu_supports("popcnt");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512vl");
  switch (i) {
    case isa::scalar:
    case isa::sse2:
      return true;
    case isa::sse4_2:
      return __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("popcnt");
    case isa::avx2:
      // F16C has no __builtin_cpu_supports name in every compiler we support; every CPU with
      // AVX2 and FMA (Haswell, Piledriver and later) has it.
      return avx2;
    case isa::avx512:
      return avx512;
    case isa::avx512_vnni:
      return avx512 && __builtin_cpu_supports("avx512vnni") &&
             __builtin_cpu_supports("avx512vpopcntdq");
    case isa::neon:
      return false;
  }
  return false;
#elif defined(__aarch64__)
  return i == isa::scalar || i == isa::neon;  // Advanced SIMD is mandatory on AArch64
#else
  return i == isa::scalar;
#endif
}

}  // namespace simd
SOCHDB_END_NAMESPACE
