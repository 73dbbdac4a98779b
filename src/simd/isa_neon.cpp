// The neon kernel table of the sochdb-dispatch library. Compiled with the -m flags of neon only
// (src/simd/meson.build); everything instantiated here lives in namespace simd::isa_neon, so
// it cannot be merged with code compiled for another ISA.
#define SOCHDB_SIMD_TARGET_NS isa_neon
#include <sochdb/simd/detail/kernels_impl.hpp>
#include <sochdb/simd/detail/library_tables.hpp>

SOCHDB_BEGIN_NAMESPACE
namespace simd::detail {

const kernel_table* table_neon() noexcept { return &isa_neon::make_table<target_neon>(); }

}  // namespace simd::detail
SOCHDB_END_NAMESPACE
