// The `sochdb mcp` command: an MCP server for agents on stdin/stdout.
//
// Opens the database in --db DIR (creating it) for the session, registers the tools of every
// engine (key-value and logs today; each engine adds its registration call to
// `register_mcp_tools`) and serves newline-delimited JSON-RPC 2.0 until stdin closes. stdout
// carries protocol messages only; diagnostics go to stderr. docs/mcp.md has the client setup.
#pragma once

#include "cli.hpp"
#include "cmd_kv.hpp"

#include <sochdb/mcp.hpp>
#if __has_include(<sochdb/db/namespace.hpp>)  // the collections engine is on this branch
#include <sochdb/mcp/collection_tools.hpp>
#endif
#if __has_include(<sochdb/context/context_builder.hpp>)  // the context builder is on this branch
#include <sochdb/mcp/context_tools.hpp>
#endif

#include <iostream>
#include <string>
#include <vector>

namespace sochdb_cli {
namespace mcp_detail {

/// Every tool the `sochdb mcp` server offers over `db`: one line per engine.
template <class Database>
void register_mcp_tools(sochdb::mcp::server& srv, Database& db) {
  sochdb::mcp::add_kv_tools(srv, db);
  sochdb::mcp::add_log_tools(srv, db);
#if __has_include(<sochdb/db/namespace.hpp>)
  sochdb::mcp::add_collection_tools(srv, db);  // sochdb_list_collections, sochdb_search (BM25 /
                                               // given vectors: the CLI has no embedder)
#endif
#if __has_include(<sochdb/context/context_builder.hpp>)
  sochdb::mcp::add_context_tools(srv, db);  // sochdb_context_query (literal/get/last sections;
                                            // search sections need a source: see docs/mcp.md)
#endif
  srv.add_resources(sochdb::mcp::table_resources(db));
}

inline int cmd_mcp(context& ctx, const std::vector<std::string>& args) {
  arg_parser p("mcp", args);
  p.value("--sync").flag("--quiet", "-q").parse().expect_positionals(0, 0, "no arguments");
  auto db = kv_detail::open_db(ctx, "mcp", kv_detail::parse_sync(p, "mcp"));
  sochdb::mcp::server srv({
      .instructions =
          "sochdb is an embedded database. Keys group into tables by the part before the first "
          "':' or '/'. Start with sochdb_list_tables, then sochdb_describe and sochdb_query. "
          "Results are TOON unless a call passes \"format\": \"json\".",
      .log = p.has("--quiet") ? nullptr : &ctx.err,
  });
  register_mcp_tools(srv, db);
  srv.serve(ctx.in, ctx.out);
  db.close();
  return 0;
}

}  // namespace mcp_detail

inline std::vector<command> mcp_commands() {
  return {
      {"mcp", "serve the database to agents over MCP (JSON-RPC on stdio)",
       "usage: sochdb --db DIR mcp [--sync full|normal|off] [--quiet]\n\n"
       "Runs a Model Context Protocol server on stdin/stdout (one JSON-RPC 2.0 message per\n"
       "line; protocol revisions 2025-06-18, 2025-03-26 and 2024-11-05) until stdin closes.\n"
       "Tools: sochdb_get, sochdb_put, sochdb_delete, sochdb_list_tables, sochdb_describe,\n"
       "sochdb_query, logs_append, logs_tail, logs_timeline, and with the collections and\n"
       "context engines sochdb_list_collections, sochdb_search, sochdb_context_query;\n"
       "resources sochdb://tables/NAME.\n"
       "Results are TOON text (JSON with \"format\":\"json\") plus structuredContent.\n"
       "Diagnostics go to stderr (none with --quiet). See docs/mcp.md for a client's config.\n\n"
       "example: sochdb --db ./db mcp\n",
       mcp_detail::cmd_mcp},
  };
}

}  // namespace sochdb_cli
