// sochdb/mcp.hpp — the Model Context Protocol server: JSON-RPC framing, the server with its tool
// registry, and the database's tools (key-value, logs) and table resources. See docs/mcp.md.
#pragma once

#include <sochdb/version.hpp>
#include <sochdb/mcp/json_rpc.hpp>
#include <sochdb/mcp/kv_tools.hpp>
#include <sochdb/mcp/schema.hpp>
#include <sochdb/mcp/server.hpp>
