// sochdb/graph.hpp — the graph layer: nodes, edges, traversal, paths and temporal edges over a
// database keyspace (docs/graph.md).
#pragma once

#include <sochdb/version.hpp>
#include <sochdb/graph/graph_store.hpp>
#include <sochdb/graph/keys.hpp>
