// Agent memory (context/agent_memory.hpp) and its memory_* MCP tools (mcp/memory_tools.hpp):
// episodes found by meaning (BM25 alone and fused with an embedder), filters, timelines in time
// order, entities with facts that change over time (supersede, history, point in time), contexts
// within the budget, persistence across reopen, and the errors of every tool.
#include "../../examples/common/hash_embedder.hpp"

#include <sochdb/context/agent_memory.hpp>
#include <sochdb/db.hpp>
#include <sochdb/mcp.hpp>
#include <sochdb/mcp/memory_tools.hpp>
#include <sochdb/toon/token_counter.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_mcp_memory_test {

using namespace sochdb;
using mcp::json;

namespace {

using mem_db = basic_database<wal_storage<memory_fs>>;

const sochdb_examples::hash_embedder embedder(128);

agent_memory_options with_embedder() {
  return {.embed = [](std::string_view t) { return embedder.embed(t); },
          .dimension = embedder.dimension()};
}

constexpr std::uint64_t day_ms = 86400000;
constexpr std::uint64_t t0 = 1'700'000'000'000;  // 2023-11-14, ms

template <class Db>
void load(agent_memory<Db>& m) {
  m.upsert_entity({.id = "alice",
                   .kind = "person",
                   .name = "Alice",
                   .description = "staff engineer who owns the write-ahead log"});
  m.upsert_entity({.id = "bob",
                   .kind = "person",
                   .name = "Bob",
                   .description = "designer of the billing dashboard"});
  m.upsert_entity({.id = "wal",
                   .kind = "service",
                   .name = "WAL",
                   .description = "write-ahead log with group commit and fsync"});
  m.record_episode({.id = "ep1",
                    .type = "debug",
                    .session_id = "s1",
                    .summary = "commit latency spike traced to fsync stalls in the write-ahead log",
                    .started_at_ms = t0,
                    .entity_ids = {"alice", "wal"}},
                   {{.ts_us = (t0 + 2000) * 1000, .role = "user", .content = "why is commit slow"},
                    {.ts_us = (t0 + 1000) * 1000, .role = "tool", .content = "perf shows fsync"}});
  m.record_episode({.id = "ep2",
                    .type = "conversation",
                    .session_id = "s2",
                    .summary = "picked colors and fonts for the billing dashboard",
                    .started_at_ms = t0 + day_ms,
                    .entity_ids = {"bob"}});
  m.record_episode({.id = "ep3",
                    .type = "task",
                    .session_id = "s1",
                    .summary = "rotated the log segments and tuned group commit batch size",
                    .started_at_ms = t0 + 2 * day_ms,
                    .entity_ids = {"alice"}});
}

}  // namespace

TEST_CASE("agent memory: episodes by meaning, filters and timelines") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  for (bool embed : {false, true}) {
    CAPTURE(embed);
    agent_memory m(
        db, embed ? with_embedder() : agent_memory_options{.ns = "kw"});  // BM25 only in its own ns
    load(m);
    auto hits = m.search_episodes({.query = "why are commits slow? fsync", .k = 3});
    REQUIRE(!hits.empty());
    CHECK(hits[0].episode.id == "ep1");
    CHECK(hits[0].episode.entity_ids == std::vector<std::string>{"alice", "wal"});
    hits = m.search_episodes({.query = "dashboard colors", .k = 3});
    REQUIRE(!hits.empty());
    CHECK(hits[0].episode.id == "ep2");
    // Filters are pre-filters: only matching episodes, however well others rank.
    hits = m.search_episodes({.query = "log commit fsync", .k = 3, .type = "task"});
    REQUIRE(hits.size() == 1);
    CHECK(hits[0].episode.id == "ep3");
    for (auto& h : m.search_episodes({.query = "log", .k = 5, .entity_id = "alice"}))
      CHECK(h.episode.id != "ep2");
    for (auto& h : m.search_episodes({.query = "log dashboard", .k = 5, .session_id = "s2"}))
      CHECK(h.episode.session_id == "s2");
    // The timeline is in time order whatever the insertion order.
    auto tl = m.timeline("ep1");
    REQUIRE(tl.size() == 2);
    CHECK(tl[0].content == "perf shows fsync");
    CHECK(tl[1].role == "user");
    m.append_event({.episode_id = "ep1", .role = "assistant", .content = "batch the fsyncs"});
    tl = m.timeline("ep1");
    REQUIRE(tl.size() == 3);
    CHECK(tl[2].content == "batch the fsyncs");
    CHECK(m.timeline("ep1", 1).size() == 1);
    CHECK(m.timeline("ep1", 1)[0].content == "batch the fsyncs");
    CHECK(m.timeline("ep2").empty());
    auto e = m.get_episode("ep3");
    REQUIRE(e);
    CHECK(e->started_at_ms == t0 + 2 * day_ms);
    CHECK(!m.get_episode("nope"));
    auto ents = m.search_entities({.query = "who owns the write-ahead log", .k = 2});
    REQUIRE(!ents.empty());
    CHECK((ents[0].entity.id == "alice" || ents[0].entity.id == "wal"));
    ents = m.search_entities({.query = "write-ahead log", .k = 5, .kind = "service"});
    REQUIRE(ents.size() == 1);
    CHECK(ents[0].entity.id == "wal");
  }
}

TEST_CASE("agent memory: facts change over time and keep their history") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  agent_memory m(db);
  load(m);
  m.add_fact({.subject = "alice", .predicate = "works_on", .object = "wal", .valid_from_ms = t0});
  m.add_fact(
      {.subject = "alice", .predicate = "located_in", .object = "Berlin", .valid_from_ms = t0});
  // A later change supersedes the open fact of the same predicate.
  m.add_fact({.subject = "alice",
              .predicate = "works_on",
              .object = "billing",
              .valid_from_ms = t0 + 10 * day_ms},
             /*supersede=*/true);
  auto now = m.facts("alice");
  REQUIRE(now.size() == 2);
  bool billing = false, wal_now = false;
  for (auto& f : now) {
    billing |= f.object == "billing";
    wal_now |= f.object == "wal";
  }
  CHECK(billing);
  CHECK(!wal_now);
  auto then = m.facts("alice", {.at_ms = t0 + day_ms, .predicate = "works_on"});
  REQUIRE(then.size() == 1);
  CHECK(then[0].object == "wal");
  auto all = m.facts("alice", {.history = true, .predicate = "works_on"});
  REQUIRE(all.size() == 2);
  CHECK(all[0].object == "wal");
  CHECK(all[0].valid_until_ms == t0 + 10 * day_ms);
  CHECK(all[1].valid_until_ms == 0);
  // Without supersede both stay open (a person can work on two things).
  m.add_fact({.subject = "alice",
              .predicate = "works_on",
              .object = "docs",
              .valid_from_ms = t0 + 11 * day_ms});
  CHECK(m.facts("alice", {.predicate = "works_on"}).size() == 2);
  CHECK_THROWS_AS(m.add_fact({.subject = "carol", .predicate = "p", .object = "o"}), not_found);
  CHECK_THROWS_AS((void)m.facts("carol"), not_found);
  CHECK_THROWS_AS(m.add_fact({.subject = "alice", .predicate = "", .object = "o"}),
                  invalid_argument);
  // Replacing an entity keeps its facts.
  m.upsert_entity({.id = "alice", .kind = "person", .name = "Alice A.", .description = "manager"});
  CHECK(m.get_entity("alice")->name == "Alice A.");
  CHECK(m.facts("alice").size() == 3);
}

TEST_CASE("agent memory: bad input is a clear error") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  agent_memory m(db);
  CHECK_THROWS_AS(m.record_episode({.type = "chat", .summary = "x"}), invalid_argument);
  CHECK_THROWS_AS(m.record_episode({.id = "a/b", .summary = "x"}), invalid_argument);
  CHECK_THROWS_AS(m.record_episode({.id = std::string(129, 'a'), .summary = "x"}),
                  invalid_argument);
  CHECK_THROWS_AS(
      m.record_episode({.id = "e", .summary = "x", .started_at_ms = 10, .ended_at_ms = 5}),
      invalid_argument);
  CHECK_THROWS_AS(m.append_event({.episode_id = "missing", .content = "x"}), not_found);
  CHECK_THROWS_AS(m.upsert_entity({.id = "x", .kind = ""}), invalid_argument);
  CHECK_THROWS_AS((void)m.search_episodes({.query = ""}), invalid_argument);
  CHECK_THROWS_AS((void)m.build_context({.goal = ""}), invalid_argument);
  // An embedder of the wrong size, or a collection made for another dimension.
  agent_memory_options bad{.embed = [](std::string_view) { return std::vector<float>(3); },
                           .dimension = 4};
  CHECK_THROWS_AS(agent_memory(db, {.ns = "x", .embed = bad.embed}), invalid_argument);
  agent_memory wrong(db, {.ns = "y", .embed = bad.embed, .dimension = 4});
  CHECK_THROWS_AS(wrong.record_episode({.summary = "x"}), dimension_mismatch);
  CHECK_THROWS_AS(agent_memory(db, {.ns = "y", .embed = bad.embed, .dimension = 8}),
                  invalid_argument);
  // Generated ids are unique and valid.
  auto a = m.record_episode({.summary = "first"});
  auto b = m.record_episode({.summary = "second"});
  CHECK(a.id != b.id);
  CHECK(m.get_episode(a.id));
}

TEST_CASE("agent memory: contexts fit the budget, most important parts first") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  agent_memory m(db, with_embedder());
  load(m);
  m.add_fact({.subject = "alice", .predicate = "works_on", .object = "wal", .valid_from_ms = t0});
  auto r = m.build_context({.goal = "fix slow commits caused by fsync",
                            .token_budget = 2000,
                            .session_id = "s1",
                            .episode_id = "ep1",
                            .entity_ids = {"alice"},
                            .include_schema = true});
  CHECK(r.total_tokens <= 2000);
  CHECK(r.total_tokens == approx_token_counter{}.count(r.text));
  for (auto part : {"goal", "schema", "episode_timeline", "entity_facts", "session_episodes",
                    "related_episodes", "related_entities", "perf shows fsync", "works_on",
                    "rotated the log segments"})
    CHECK_MESSAGE(r.text.find(part) != std::string::npos, part);
  // related_episodes leaves out the episode whose timeline is already there.
  auto rel = r.text.substr(r.text.find("related_episodes"));
  CHECK(rel.find("ep1,") == std::string::npos);
  // A tight budget keeps the goal and drops the least important sections first.
  auto small =
      m.build_context({.goal = "fix slow commits", .token_budget = 40, .episode_id = "ep1"});
  CHECK(small.total_tokens <= 40);
  CHECK(small.text.find("fix slow commits") != std::string::npos);
  CHECK(small.text.find("related_entities") == std::string::npos);
}

TEST_CASE("agent memory: a session's episodes follow replacements") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  agent_memory m(db);
  load(m);  // s1: ep1, ep3; s2: ep2
  auto in_session = [&](const char* s) {
    std::string ids;
    auto r = m.build_context({.goal = "x", .session_id = s, .k = 10});
    for (const char* id : {"ep1", "ep2", "ep3"})
      if (r.text.find(std::string(id) + ",") != std::string::npos) ids += id;
    return ids;
  };
  CHECK(in_session("s1") == "ep1ep3");
  CHECK(in_session("s2") == "ep2");
  // Moving ep3 to s2 (and a new start time) leaves no stale entry in s1.
  m.record_episode({.id = "ep3",
                    .type = "task",
                    .session_id = "s2",
                    .summary = "rotated the log segments",
                    .started_at_ms = t0 + 3 * day_ms});
  CHECK(in_session("s1") == "ep1");
  CHECK(in_session("s2") == "ep2ep3");
  // A session id with a '/' cannot reach into another session's keys.
  m.record_episode({.id = "ep4", .type = "task", .session_id = "s1/x", .summary = "other"});
  CHECK(in_session("s1") == "ep1");
}

TEST_CASE("agent memory: survives reopen (documents, events, graph, indexes)") {
  memory_fs fs;
  {
    auto db = mem_db::open("/db", {}, fs);
    agent_memory m(db, with_embedder());
    load(m);
    m.add_fact(
        {.subject = "bob", .predicate = "works_on", .object = "billing", .valid_from_ms = t0});
    db.close();
  }
  auto db = mem_db::open("/db", {}, fs);
  agent_memory m(db, with_embedder());
  auto hits = m.search_episodes({.query = "fsync commit latency", .k = 1});
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].episode.id == "ep1");
  CHECK(m.timeline("ep1").size() == 2);
  REQUIRE(m.facts("bob").size() == 1);
  CHECK(m.facts("bob")[0].object == "billing");
}

namespace {

json reply(mcp::server& s, const json& req) {
  auto r = s.handle_line(req.dump());
  REQUIRE(r.has_value());
  return json::parse(*r);
}

json call(mcp::server& s, const std::string& tool, const json& args) {
  json r = reply(s, {{"jsonrpc", "2.0"},
                     {"id", 3},
                     {"method", "tools/call"},
                     {"params", {{"name", tool}, {"arguments", args}}}});
  REQUIRE_MESSAGE(r.contains("result"), r.dump());
  return r["result"];
}

}  // namespace

TEST_CASE("memory tools: an agent remembers and recalls over MCP") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  mcp::server srv;
  mcp::add_memory_tools(srv, db, with_embedder());
  reply(srv, {{"jsonrpc", "2.0"},
              {"id", 0},
              {"method", "initialize"},
              {"params",
               {{"protocolVersion", "2025-06-18"},
                {"capabilities", json::object()},
                {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}});
  srv.handle_line(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  // Registration writes nothing: the namespace appears on first use.
  CHECK(db.list_namespaces().empty());

  json list = reply(srv, {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/list"}});
  std::vector<std::string> names;
  for (auto& t : list["result"]["tools"]) names.push_back(t["name"]);
  for (auto want :
       {"memory_search_episodes", "memory_get_episode_timeline", "memory_search_entities",
        "memory_get_entity_facts", "memory_build_context", "memory_record_episode",
        "memory_append_event", "memory_upsert_entity", "memory_add_fact"})
    CHECK_MESSAGE(std::find(names.begin(), names.end(), want) != names.end(), want);

  json r = call(srv, "memory_upsert_entity",
                {{"id", "alice"},
                 {"kind", "person"},
                 {"name", "Alice"},
                 {"description", "owns the write-ahead log"},
                 {"properties", {{"team", "storage"}}}});
  REQUIRE(r["isError"] == false);
  r = call(srv, "memory_add_fact",
           {{"subject", "alice"},
            {"predicate", "works_on"},
            {"object", "wal"},
            {"valid_from", "2026-01-01T00:00:00Z"}});
  REQUIRE(r["isError"] == false);
  CHECK(r["structuredContent"]["valid_from"] == "2026-01-01T00:00:00.000000Z");
  r = call(srv, "memory_add_fact",
           {{"subject", "alice"},
            {"predicate", "works_on"},
            {"object", "billing"},
            {"valid_from", "2026-06-01T00:00:00Z"},
            {"supersede", true}});
  REQUIRE(r["isError"] == false);
  r = call(
      srv, "memory_record_episode",
      {{"id", "ep1"},
       {"type", "debug"},
       {"session_id", "s1"},
       {"summary", "commit latency spike traced to fsync stalls"},
       {"entity_ids", {"alice"}},
       {"events",
        {{{"role", "user"}, {"content", "why is commit slow"}, {"ts", "2026-03-01T10:00:00Z"}},
         {{"role", "tool"}, {"content", "perf: fsync 80%"}, {"ts", "2026-03-01T10:01:00Z"}}}}});
  REQUIRE(r["isError"] == false);
  CHECK(r["structuredContent"]["events_added"] == 2);
  call(srv, "memory_record_episode",
       {{"id", "ep2"}, {"type", "conversation"}, {"summary", "chose fonts for the dashboard"}});
  r = call(srv, "memory_append_event",
           {{"episode_id", "ep1"},
            {"role", "assistant"},
            {"content", "batch fsyncs with group commit"},
            {"ts", "2026-03-01T10:02:00Z"},
            {"data", {{"confidence", 0.8}}}});
  REQUIRE(r["isError"] == false);

  r = call(srv, "memory_search_episodes", {{"query", "slow commits and fsync"}, {"k", 2}});
  REQUIRE(r["isError"] == false);
  CHECK(r["structuredContent"]["episodes"][0]["id"] == "ep1");
  r = call(srv, "memory_search_episodes",
           {{"query", "slow commits and fsync"}, {"episode_type", "conversation"}});
  CHECK(r["structuredContent"]["episodes"][0]["id"] == "ep2");
  CHECK(r["structuredContent"]["count"] == 1);
  r = call(srv, "memory_get_episode_timeline", {{"episode_id", "ep1"}});
  REQUIRE(r["structuredContent"]["count"] == 3);
  CHECK(r["structuredContent"]["events"][2]["confidence"] == 0.8);
  CHECK(r["structuredContent"]["events"][0]["ts"] == "2026-03-01T10:00:00.000000Z");
  CHECK(r["content"][0]["text"].get<std::string>().find("events[3]") != std::string::npos);
  r = call(srv, "memory_search_entities", {{"query", "write-ahead log owner"}});
  CHECK(r["structuredContent"]["entities"][0]["id"] == "alice");
  r = call(srv, "memory_get_entity_facts", {{"entity_id", "alice"}});
  REQUIRE(r["structuredContent"]["count"] == 1);
  CHECK(r["structuredContent"]["facts"][0]["object"] == "billing");
  CHECK(r["structuredContent"]["entity"]["team"] == "storage");
  r = call(srv, "memory_get_entity_facts", {{"entity_id", "alice"}, {"at", "2026-03-01"}});
  CHECK(r["structuredContent"]["facts"][0]["object"] == "wal");
  r = call(srv, "memory_get_entity_facts", {{"entity_id", "alice"}, {"history", true}});
  CHECK(r["structuredContent"]["count"] == 2);
  r = call(srv, "memory_build_context",
           {{"goal", "speed up commits"},
            {"token_budget", 500},
            {"episode_id", "ep1"},
            {"entity_ids", {"alice"}}});
  REQUIRE(r["isError"] == false);
  std::string text = r["content"][0]["text"];
  CHECK(text.find("batch fsyncs") != std::string::npos);
  CHECK(text.find("billing") != std::string::npos);
  CHECK(r["structuredContent"]["total_tokens"].get<int>() <= 500);

  // Failures are isError results naming the problem; schema violations are -32602.
  r = call(srv, "memory_get_episode_timeline", {{"episode_id", "nope"}});
  CHECK(r["isError"] == true);
  CHECK(r["content"][0]["text"].get<std::string>().find("nope") != std::string::npos);
  CHECK(call(srv, "memory_get_entity_facts", {{"entity_id", "carol"}})["isError"] == true);
  CHECK(call(srv, "memory_append_event", {{"episode_id", "nope"}, {"content", "x"}})["isError"] ==
        true);
  CHECK(call(srv, "memory_add_fact",
             {{"subject", "carol"}, {"predicate", "p"}, {"object", "o"}})["isError"] == true);
  CHECK(call(srv, "memory_add_fact",
             {{"subject", "alice"},
              {"predicate", "p"},
              {"object", "o"},
              {"valid_from", "soon"}})["isError"] == true);
  CHECK(call(srv, "memory_record_episode",
             {{"id", "a b"}, {"type", "task"}, {"summary", "x"}})["isError"] == true);
  json bad = reply(srv, {{"jsonrpc", "2.0"},
                         {"id", 9},
                         {"method", "tools/call"},
                         {"params",
                          {{"name", "memory_search_episodes"},
                           {"arguments", {{"query", "x"}, {"episode_type", "chat"}}}}}});
  CHECK(bad["error"]["code"] == -32602);
  bad =
      reply(srv, {{"jsonrpc", "2.0"},
                  {"id", 10},
                  {"method", "tools/call"},
                  {"params", {{"name", "memory_build_context"}, {"arguments", {{"goal", "x"}}}}}});
  CHECK(bad["error"]["code"] == -32602);  // token_budget is required (the seed's schema)
}

}  // namespace test_mcp_memory_test
