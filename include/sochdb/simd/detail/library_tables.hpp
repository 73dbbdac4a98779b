// sochdb/simd/detail/library_tables.hpp — the per-ISA tables of the sochdb-dispatch library.
//
// Declared here, defined in src/simd/isa_<name>.cpp (each compiled with its ISA's -m flags) and
// src/simd/dispatch.cpp. Only declarations: including this costs nothing and emits nothing.
#pragma once

#include <sochdb/simd/kernel_table.hpp>

SOCHDB_BEGIN_NAMESPACE
namespace simd::detail {

/// The library's table for `i`, or nullptr when the library was built without it (another CPU
/// family, or a compiler lacking the flags). Does not check the running CPU.
const kernel_table* library_table(isa i) noexcept;

const kernel_table* table_sse4_2() noexcept;
const kernel_table* table_avx2() noexcept;
const kernel_table* table_avx512() noexcept;
const kernel_table* table_avx512_vnni() noexcept;
const kernel_table* table_neon() noexcept;

}  // namespace simd::detail
SOCHDB_END_NAMESPACE
