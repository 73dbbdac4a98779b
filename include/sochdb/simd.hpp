// sochdb/simd.hpp — distance kernels, runtime ISA dispatch and metric policies.
#pragma once

#include <sochdb/version.hpp>
#include <sochdb/simd/concepts.hpp>
#include <sochdb/simd/dispatch.hpp>
#include <sochdb/simd/float16.hpp>
#include <sochdb/simd/isa.hpp>
#include <sochdb/simd/kernel_table.hpp>
#include <sochdb/simd/kernels.hpp>
#include <sochdb/simd/metrics.hpp>
#include <sochdb/simd/scalar.hpp>
