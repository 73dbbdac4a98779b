// The sse4_2 kernel table of the sochdb-dispatch library. Compiled with the -m flags of sse4_2 only
// (src/simd/meson.build); everything instantiated here lives in namespace simd::isa_sse4_2, so
// it cannot be merged with code compiled for another ISA.
#define SOCHDB_SIMD_TARGET_NS isa_sse4_2
#include <sochdb/simd/detail/kernels_impl.hpp>
#include <sochdb/simd/detail/library_tables.hpp>

SOCHDB_BEGIN_NAMESPACE
namespace simd::detail {

const kernel_table* table_sse4_2() noexcept { return &isa_sse4_2::make_table<target_sse4_2>(); }

}  // namespace simd::detail
SOCHDB_END_NAMESPACE
