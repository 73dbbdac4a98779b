// sochdb/vector.hpp — quantizers (and, as they land, the vector indexes).
#pragma once

#include <sochdb/version.hpp>
#include <sochdb/simd.hpp>
#include <sochdb/vector/concepts.hpp>
#include <sochdb/vector/no_quantizer.hpp>
#include <sochdb/vector/pq.hpp>
#include <sochdb/vector/sq8.hpp>
