// sochdb/vector.hpp — quantizers, the vector indexes (flat, HNSW), TEXMEX / IDX I/O and
// ground truth.
#pragma once

#include <sochdb/version.hpp>
#include <sochdb/simd.hpp>
#include <sochdb/vector/concepts.hpp>
#include <sochdb/vector/flat_index.hpp>
#include <sochdb/vector/hnsw_index.hpp>
#include <sochdb/vector/index_router.hpp>
#include <sochdb/vector/io.hpp>
#include <sochdb/vector/multi_vector.hpp>
#include <sochdb/vector/no_quantizer.hpp>
#include <sochdb/vector/pq.hpp>
#include <sochdb/vector/search.hpp>
#include <sochdb/vector/sq8.hpp>
#include <sochdb/vector/vamana_index.hpp>
