// sochdb/simd/dispatch.hpp — choosing a kernel table for the running CPU.
//
// Two modes (docs/simd.md):
//  * Header-only (default): the tables available are `scalar_kernels()` and
//    `native_kernels()` (the compiler flags' best ISA). `best_kernels()` returns the native
//    table — the program runs where its flags allow, like any -march build.
//  * Runtime dispatch: link the sochdb-dispatch library (meson: `sochdb_dispatch_dep`, which
//    also defines SOCHDB_SIMD_DISPATCH=1 for every translation unit that uses it). It holds one
//    table per ISA (AVX-512 + VNNI, AVX-512, AVX2 + FMA, SSE4.2 on x86-64; NEON on AArch64),
//    each compiled with its own -m flags, and `best_kernels()` picks the best one the CPU
//    supports: avx512-vnni -> avx512 -> avx2 -> sse4.2 -> sse2 -> neon -> scalar.
//
// Selection is a pure function of the CPU: no mutable global is set. Metrics and quantizers
// call `best_kernels()` once, at construction, and keep the pointers they need. Every
// function here is thread-safe.
#pragma once

#include <sochdb/simd/detail/library_tables.hpp>
#include <sochdb/simd/kernels.hpp>

#include <vector>

#ifndef SOCHDB_SIMD_DISPATCH
#define SOCHDB_SIMD_DISPATCH 0
#endif

SOCHDB_BEGIN_NAMESPACE
namespace simd {

/// True when this program links the sochdb-dispatch library.
inline constexpr bool runtime_dispatch = SOCHDB_SIMD_DISPATCH != 0;

/// The table for `i` if this program has one and the running CPU supports it, else nullptr.
inline const kernel_table* kernels_for(isa i) noexcept {
  if (i == isa::scalar) return &scalar_kernels();
  if (!cpu_supports(i)) return nullptr;
#if SOCHDB_SIMD_DISPATCH
  if (const kernel_table* t = detail::library_table(i)) return t;
#endif
  if (native_kernels().id == i) return &native_kernels();
  return nullptr;
}

/// The best table this program has for the running CPU.
inline const kernel_table& best_kernels() noexcept {
  for (isa i : isa_preference) {
    if (const kernel_table* t = kernels_for(i)) return *t;
  }
  return scalar_kernels();
}

/// Every ISA with a usable table in this program, best first (always ends with scalar).
inline std::vector<isa> available_isas() {
  std::vector<isa> out;
  for (isa i : isa_preference) {
    if (kernels_for(i) != nullptr) out.push_back(i);
  }
  return out;
}

}  // namespace simd
SOCHDB_END_NAMESPACE
