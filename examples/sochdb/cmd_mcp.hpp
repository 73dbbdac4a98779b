// The `sochdb mcp` command: an MCP server for agents on stdin/stdout.
//
// Opens the database in --db DIR (creating it) for the session, registers the tools of every
// engine (key-value, logs, collections, context, agent memory) and serves newline-delimited
// JSON-RPC 2.0 until stdin closes. stdout carries protocol messages only; diagnostics go to stderr.
// docs/mcp.md has the client setup.
#pragma once

#include "cli.hpp"
#include "cmd_kv.hpp"

#include "../common/hash_embedder.hpp"

#include <sochdb/mcp.hpp>
#include <sochdb/mcp/collection_tools.hpp>
#include <sochdb/mcp/context_tools.hpp>
#include <sochdb/mcp/memory_tools.hpp>

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
  sochdb::mcp::add_collection_tools(srv, db);  // sochdb_list_collections, sochdb_search (BM25 /
                                               // given vectors: collections have their own
                                               // embedders, which the CLI does not know)
  sochdb::mcp::add_context_tools(srv, db);     // sochdb_context_query (literal/get/last sections;
                                               // search sections need a source: see docs/mcp.md)
  // memory_*: the deterministic feature-hashing embedder (examples/common) fused with BM25, so
  // memory search works without a model; an application passes its real embedder here.
  static const sochdb_examples::hash_embedder embedder(256);
  sochdb::mcp::add_memory_tools(
      srv, db,
      {.embed = [](std::string_view text) { return embedder.embed(text); },
       .dimension = embedder.dimension()});
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
       "sochdb_query, logs_append, logs_tail, logs_timeline, sochdb_list_collections,\n"
       "sochdb_search, sochdb_context_query; agent memory: memory_search_episodes,\n"
       "memory_get_episode_timeline, memory_search_entities, memory_get_entity_facts,\n"
       "memory_build_context, memory_record_episode, memory_append_event,\n"
       "memory_upsert_entity, memory_add_fact; resources sochdb://tables/NAME.\n"
       "Results are TOON text (JSON with \"format\":\"json\") plus structuredContent.\n"
       "Diagnostics go to stderr (none with --quiet). See docs/mcp.md for a client's config.\n\n"
       "example: sochdb --db ./db mcp\n",
       mcp_detail::cmd_mcp},
  };
}

}  // namespace sochdb_cli
