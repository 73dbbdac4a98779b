// sochdb/sochdb.hpp — the whole library.
//
// Each folder also has its own umbrella (sochdb/core.hpp, sochdb/toon.hpp, sochdb/vector.hpp,
// ...) for users who want only part of it.
#pragma once

#include <sochdb/version.hpp>
#include <sochdb/core.hpp>
#include <sochdb/db.hpp>  // storage/ and db/
#include <sochdb/text.hpp>
#include <sochdb/simd.hpp>
#include <sochdb/vector.hpp>
#include <sochdb/toon.hpp>
#include <sochdb/graph.hpp>
#include <sochdb/context.hpp>
#include <sochdb/context/agent_memory.hpp>  // agent memory: collections + graph + context
#include <sochdb/mcp.hpp>
