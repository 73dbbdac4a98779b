// sochdb/simd/kernels.hpp — the header-only kernel table: the best target the compiler flags
// of this translation unit enable.
//
// `native_kernels()` is compiled for the ISA the flags of the including translation unit allow
// (-march=native on this machine: avx512-vnni; no flags on x86-64: sse2), chosen from the
// compiler's predefined macros (__AVX512F__, __AVX2__, ...) like `xsimd::default_arch`. Every
// translation unit of a program must use the same flags for this (the usual rule for
// header-only SIMD code); programs that want one binary for many CPUs link the
// sochdb-dispatch library instead (simd/dispatch.hpp, docs/simd.md).
//
// Thread-safety: the table is an immutable static object.
#pragma once

#include <sochdb/simd/kernel_table.hpp>
#include <sochdb/simd/scalar.hpp>

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && \
    defined(__AVX512VL__) && defined(__FMA__) && defined(__F16C__)
#if defined(__AVX512VNNI__) && defined(__AVX512VPOPCNTDQ__)
#define SOCHDB_SIMD_NATIVE_TARGET target_avx512_vnni
#else
#define SOCHDB_SIMD_NATIVE_TARGET target_avx512
#endif
#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define SOCHDB_SIMD_NATIVE_TARGET target_avx2
#elif defined(__SSE4_2__) && defined(__POPCNT__)
#define SOCHDB_SIMD_NATIVE_TARGET target_sse4_2
#elif defined(__SSE2__) || defined(__x86_64__)
#define SOCHDB_SIMD_NATIVE_TARGET target_sse2
#elif defined(__aarch64__) && defined(__ARM_NEON)
#define SOCHDB_SIMD_NATIVE_TARGET target_neon
#endif

#ifdef SOCHDB_SIMD_NATIVE_TARGET
#define SOCHDB_SIMD_TARGET_NS native
#include <sochdb/simd/detail/kernels_impl.hpp>
#undef SOCHDB_SIMD_TARGET_NS
#endif

SOCHDB_BEGIN_NAMESPACE
namespace simd {

/// The kernels for the best ISA this translation unit was compiled for.
inline const kernel_table& native_kernels() noexcept {
#ifdef SOCHDB_SIMD_NATIVE_TARGET
  return native::make_table<detail::SOCHDB_SIMD_NATIVE_TARGET>();
#else
  return scalar_kernels();
#endif
}

}  // namespace simd
SOCHDB_END_NAMESPACE
