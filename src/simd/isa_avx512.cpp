// The avx512 kernel table of the sochdb-dispatch library. Compiled with the -m flags of avx512 only
// (src/simd/meson.build); everything instantiated here lives in namespace simd::isa_avx512, so
// it cannot be merged with code compiled for another ISA.
#define SOCHDB_SIMD_TARGET_NS isa_avx512
#include <sochdb/simd/detail/kernels_impl.hpp>
#include <sochdb/simd/detail/library_tables.hpp>

SOCHDB_BEGIN_NAMESPACE
namespace simd::detail {

const kernel_table* table_avx512() noexcept { return &isa_avx512::make_table<target_avx512>(); }

}  // namespace simd::detail
SOCHDB_END_NAMESPACE
