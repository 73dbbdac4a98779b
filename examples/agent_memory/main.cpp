// agent_memory — an agent's long-term memory through the MCP tool layer: the same memory_* tools
// `sochdb mcp` serves, called here as an agent would call them (JSON-RPC tools/call messages),
// without a process in between.
//
// Session 1 remembers: people and services (entities), what is true about them (facts, which
// change over time), and what happened (an episode with its events). Session 2, later, recalls:
// it searches past episodes by meaning, reads a timeline, asks what is true now and what was
// true then, and builds a context for its next step under a token budget.
//
// Works in ./agent-memory-demo (or the directory given as the first argument) and can be run
// again: every write is an upsert with fixed ids and times, so a second run finds the same
// memory. Embeddings come from the feature-hashing embedder (examples/common/hash_embedder.hpp)
// fused with BM25; an application passes its model's embedder in the same place.
#include <sochdb/db.hpp>
#include <sochdb/mcp.hpp>
#include <sochdb/mcp/memory_tools.hpp>

#include "../common/hash_embedder.hpp"

#include <cstdio>
#include <string>

namespace {

using sochdb::mcp::json;

/// One tools/call through the server, as an MCP client sends it; returns the result.
json call(sochdb::mcp::server& srv, const std::string& tool, json args) {
  static int id = 1;
  json req = {{"jsonrpc", "2.0"},
              {"id", ++id},
              {"method", "tools/call"},
              {"params", {{"name", tool}, {"arguments", std::move(args)}}}};
  json reply = json::parse(*srv.handle_line(req.dump()));
  if (reply.contains("error"))
    throw sochdb::invalid_argument(tool + ": " + reply["error"]["message"].get<std::string>());
  if (reply["result"]["isError"] == true)
    throw sochdb::invalid_argument(tool + ": " +
                                   reply["result"]["content"][0]["text"].get<std::string>());
  return reply["result"];
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sochdb;
  std::string dir = argc > 1 ? argv[1] : "agent-memory-demo";
  try {
    auto db = database::open(dir);
    const sochdb_examples::hash_embedder embedder(256);
    mcp::server srv({.name = "agent-memory-example"});
    mcp::add_memory_tools(srv, db,
                          {.embed = [&](std::string_view t) { return embedder.embed(t); },
                           .dimension = embedder.dimension()});
    srv.handle_line(
        R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":)"
        R"("2025-06-18","capabilities":{},"clientInfo":{"name":"example","version":"1"}}})");
    srv.handle_line(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");

    // ---- session 1: remember ----
    call(srv, "memory_upsert_entity",
         {{"id", "maya"},
          {"kind", "person"},
          {"name", "Maya"},
          {"description", "on-call engineer for the payments API"}});
    call(srv, "memory_upsert_entity",
         {{"id", "payments-api"},
          {"kind", "service"},
          {"name", "payments API"},
          {"description", "charges cards and issues refunds; Postgres behind a connection pool"}});
    call(srv, "memory_upsert_entity",
         {{"id", "search-svc"},
          {"kind", "service"},
          {"name", "search service"},
          {"description", "product search over a vector index and BM25"}});
    call(srv, "memory_add_fact",
         {{"subject", "payments-api"},
          {"predicate", "pool_size"},
          {"object", "20"},
          {"valid_from", "2026-09-01T00:00:00Z"}});
    // The incident raised the pool size: the old value ends where the new one starts.
    call(srv, "memory_add_fact",
         {{"subject", "payments-api"},
          {"predicate", "pool_size"},
          {"object", "50"},
          {"valid_from", "2026-10-14T09:40:00Z"},
          {"supersede", true}});
    call(srv, "memory_add_fact",
         {{"subject", "maya"},
          {"predicate", "owns"},
          {"object", "payments-api"},
          {"valid_from", "2026-06-01T00:00:00Z"}});
    call(srv, "memory_record_episode",
         {{"id", "inc-1014"},
          {"type", "debug"},
          {"session_id", "oncall-2026-10-14"},
          {"summary",
           "refund requests timed out: the payments API exhausted its database "
           "connection pool; raised the pool from 20 to 50"},
          {"started_at", "2026-10-14T09:05:00Z"},
          {"ended_at", "2026-10-14T09:45:00Z"},
          {"entity_ids", {"maya", "payments-api"}},
          {"events",
           {{{"role", "user"},
             {"content", "refunds are timing out for some customers"},
             {"ts", "2026-10-14T09:05:00Z"}},
            {{"role", "tool"},
             {"content", "pg_stat_activity: 20 of 20 pool connections busy"},
             {"ts", "2026-10-14T09:21:00Z"}},
            {{"role", "assistant"},
             {"content", "raise the pool to 50 and add a 2 s acquire timeout"},
             {"ts", "2026-10-14T09:38:00Z"}}}}});
    call(srv, "memory_record_episode",
         {{"id", "chat-1020"},
          {"type", "conversation"},
          {"session_id", "planning-2026-10-20"},
          {"summary", "discussed tuning the search service ranking with hybrid BM25 and vectors"},
          {"started_at", "2026-10-20T14:00:00Z"},
          {"entity_ids", {"search-svc"}}});
    std::printf("[session 1] remembered 3 entities, 3 facts, 2 episodes with their events\n");

    // ---- session 2: recall ----
    const std::string problem = "customers see timeouts when asking for a refund";
    json r = call(srv, "memory_search_episodes", {{"query", problem}, {"k", 2}});
    std::printf("\n[recall] memory_search_episodes \"%s\" ->\n%s\n", problem.c_str(),
                r["content"][0]["text"].get<std::string>().c_str());
    const std::string best = r["structuredContent"]["episodes"][0]["id"];
    if (best != "inc-1014") throw corruption("the incident should be the best match");

    r = call(srv, "memory_get_episode_timeline", {{"episode_id", best}});
    std::printf("\n[recall] memory_get_episode_timeline %s ->\n%s\n", best.c_str(),
                r["content"][0]["text"].get<std::string>().c_str());

    r = call(srv, "memory_get_entity_facts", {{"entity_id", "payments-api"}});
    std::printf("\n[recall] what is true now of payments-api ->\n%s\n",
                r["content"][0]["text"].get<std::string>().c_str());
    r = call(srv, "memory_get_entity_facts",
             {{"entity_id", "payments-api"}, {"at", "2026-10-01T00:00:00Z"}});
    std::printf("\n[recall] ... and on 2026-10-01 (before the incident) ->\n%s\n",
                r["content"][0]["text"].get<std::string>().c_str());
    if (r["structuredContent"]["facts"][0]["object"] != "20")
      throw corruption("time travel: the pool was 20 before the incident");

    r = call(srv, "memory_search_entities", {{"query", "who is on call for payments"}, {"k", 2}});
    std::printf("\n[recall] memory_search_entities \"who is on call for payments\" ->\n%s\n",
                r["content"][0]["text"].get<std::string>().c_str());

    r = call(srv, "memory_build_context",
             {{"goal", "refund requests time out again: find the cause"},
              {"token_budget", 350},
              {"entity_ids", {"payments-api"}},
              {"include_schema", false}});
    std::printf("\n[context] memory_build_context, %d of 350 tokens:\n%s\n",
                r["structuredContent"]["total_tokens"].get<int>(),
                r["content"][0]["text"].get<std::string>().c_str());
    db.close();
    return 0;
  } catch (const error& e) {
    std::fprintf(stderr, "agent_memory: %s\n", e.what());
    return 1;
  }
}
