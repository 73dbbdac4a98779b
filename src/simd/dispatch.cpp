// The sochdb-dispatch library's table lookup. Compiled with baseline flags; each
// SOCHDB_HAVE_ISA_* macro says that src/simd/isa_*.cpp was built (src/simd/meson.build).
#include <sochdb/simd/detail/library_tables.hpp>

SOCHDB_BEGIN_NAMESPACE
namespace simd::detail {

const kernel_table* library_table(isa i) noexcept {
  switch (i) {
#ifdef SOCHDB_HAVE_ISA_SSE4_2
    case isa::sse4_2:
      return table_sse4_2();
#endif
#ifdef SOCHDB_HAVE_ISA_AVX2
    case isa::avx2:
      return table_avx2();
#endif
#ifdef SOCHDB_HAVE_ISA_AVX512
    case isa::avx512:
      return table_avx512();
#endif
#ifdef SOCHDB_HAVE_ISA_AVX512_VNNI
    case isa::avx512_vnni:
      return table_avx512_vnni();
#endif
#ifdef SOCHDB_HAVE_ISA_NEON
    case isa::neon:
      return table_neon();
#endif
    default:
      return nullptr;
  }
}

}  // namespace simd::detail
SOCHDB_END_NAMESPACE
