// sochdb/mcp/memory_tools.hpp — the memory_* MCP tools: an agent's episodes, events, entities
// and facts (context/agent_memory.hpp) for agents over MCP.
//
//     sochdb::mcp::add_memory_tools(srv, db);                                    // BM25 search
//     sochdb::mcp::add_memory_tools(srv, db, {.embed = embedder, .dimension = 256});  // hybrid
//
// Reads (the seed's tools): memory_search_episodes {query, k, episode_type, entity_id,
// session_id}, memory_get_episode_timeline {episode_id, limit}, memory_search_entities {query,
// k, kind}, memory_get_entity_facts {entity_id, at, history, predicate}, memory_build_context
// {goal, token_budget, session_id, episode_id, entity_ids, include_schema, format}.
// Writes (so an agent can remember): memory_record_episode, memory_append_event,
// memory_upsert_entity, memory_add_fact. Times are ISO-8601 strings. The schema is
// docs/mcp.md "Memory schema".
//
// The memory namespace and its collections are created on the first call, not at
// registration, so serving a database does not write to it until an agent uses memory.
//
// Thread safety: the server runs tools on one thread; the database must outlive the server.
#pragma once

#include <sochdb/context/agent_memory.hpp>
#include <sochdb/core/clock.hpp>
#include <sochdb/mcp/context_tools.hpp>
#include <sochdb/mcp/server.hpp>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace mcp {

namespace detail::memtools {

inline json str(std::string desc) { return {{"type", "string"}, {"description", std::move(desc)}}; }

inline json episode_type_schema() {
  json e = json::array();
  for (auto t : episode_types) e.push_back(std::string(t));
  return {{"type", "string"}, {"enum", e}};
}

/// ms since the epoch of an ISO-8601 argument (or its digits: microseconds), or 0 when absent.
inline std::uint64_t time_ms(const json& a, const char* field) {
  if (!a.contains(field)) return 0;
  auto us = parse_iso8601_us(a[field].get_ref<const std::string&>());
  if (!us || *us < 0)
    throw tool_error(std::string(field) + ": not an ISO-8601 time after 1970: " + a[field].dump());
  return static_cast<std::uint64_t>(*us / 1000);
}

}  // namespace detail::memtools

/// Registers the memory_* tools over `db` (memory in namespace `o.ns`, default "memory").
template <class Database>
void add_memory_tools(server& srv, Database& db, agent_memory_options o = {}) {
  using memory = agent_memory<Database>;
  using detail::memtools::str;
  using detail::memtools::time_ms;
  // Created on the first call (see the file comment); the server calls tools on one thread.
  auto holder = std::make_shared<std::unique_ptr<memory>>();
  auto mem = [&db, holder, o]() -> memory& {
    if (!*holder) *holder = std::make_unique<memory>(db, o);
    return **holder;
  };
  const json k_schema = {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}, {"default", 5}};
  const json id_schema = {{"type", "string"},
                          {"minLength", 1},
                          {"maxLength", 128},
                          {"description", "1..128 bytes of [A-Za-z0-9_.:@-]"}};
  const std::string how = o.embed ? "vector similarity of its embedding fused with BM25 keyword "
                                    "ranking (reciprocal rank fusion)"
                                  : "BM25 keyword ranking";

  srv.add_tool({
      .name = "memory_search_episodes",
      .title = "Search past episodes",
      .description = "Search for similar past episodes (conversations, tasks, debugging "
                     "sessions...) by the meaning of their summaries: " +
                     how + ". Optional filters: episode_type, entity_id, session_id.",
      .input_schema = {{"type", "object"},
                       {"properties",
                        {{"query", str("natural-language query")},
                         {"k", k_schema},
                         {"episode_type", detail::memtools::episode_type_schema()},
                         {"entity_id", str("only episodes involving this entity")},
                         {"session_id", str("only episodes of this session")}}},
                       {"required", {"query"}}},
      .annotations = {{"readOnlyHint", true}},
      .handler =
          [mem](const json& a) {
            episode_query q{.query = a["query"].get<std::string>(),
                            .k = a.value("k", std::size_t{5}),
                            .type = a.value("episode_type", ""),
                            .entity_id = a.value("entity_id", ""),
                            .session_id = a.value("session_id", "")};
            json rows = json::array();
            for (auto& h : mem().search_episodes(q)) {
              json row = memory::episode_row(h.episode);
              row["score"] = std::round(h.score * 10000) / 10000;
              rows.push_back(std::move(row));
            }
            std::size_t n = rows.size();
            return json{{"query", a["query"]}, {"episodes", std::move(rows)}, {"count", n}};
          },
  });

  srv.add_tool({
      .name = "memory_get_episode_timeline",
      .title = "Episode timeline",
      .description = "An episode and its events in time order (the newest `limit` of them).",
      .input_schema =
          {{"type", "object"},
           {"properties",
            {{"episode_id", id_schema},
             {"limit",
              {{"type", "integer"}, {"minimum", 1}, {"maximum", 10000}, {"default", 100}}}}},
           {"required", {"episode_id"}}},
      .annotations = {{"readOnlyHint", true}},
      .handler =
          [mem](const json& a) {
            const std::string& id = a["episode_id"].get_ref<const std::string&>();
            auto ep = mem().get_episode(id);
            if (!ep) throw tool_error("episode " + a["episode_id"].dump() + " does not exist");
            json events = json::array();
            for (auto& ev : mem().timeline(id, a.value("limit", std::size_t{100})))
              events.push_back(memory::event_row(ev));
            std::size_t n = events.size();
            return json{
                {"episode", memory::episode_row(*ep)}, {"events", std::move(events)}, {"count", n}};
          },
  });

  srv.add_tool({
      .name = "memory_search_entities",
      .title = "Search entities",
      .description = "Search the known entities (people, projects, services...) by the meaning "
                     "of their names and descriptions: " +
                     how + ". Optional filter: kind.",
      .input_schema = {{"type", "object"},
                       {"properties",
                        {{"query", str("natural-language query")},
                         {"k", k_schema},
                         {"kind", str("only entities of this kind")}}},
                       {"required", {"query"}}},
      .annotations = {{"readOnlyHint", true}},
      .handler =
          [mem](const json& a) {
            entity_query q{.query = a["query"].get<std::string>(),
                           .k = a.value("k", std::size_t{5}),
                           .kind = a.value("kind", "")};
            json rows = json::array();
            for (auto& h : mem().search_entities(q))
              rows.push_back({{"id", h.entity.id},
                              {"kind", h.entity.kind},
                              {"name", h.entity.name},
                              {"description", h.entity.description},
                              {"score", std::round(h.score * 10000) / 10000}});
            std::size_t n = rows.size();
            return json{{"query", a["query"]}, {"entities", std::move(rows)}, {"count", n}};
          },
  });

  srv.add_tool({
      .name = "memory_get_entity_facts",
      .title = "Entity details and facts",
      .description = "An entity and its facts (subject -predicate-> object with validity "
                     "intervals): the facts valid now, at `at`, or every interval with "
                     "`history`.",
      .input_schema = {{"type", "object"},
                       {"properties",
                        {{"entity_id", id_schema},
                         {"at", str("ISO-8601 instant (default now)")},
                         {"history",
                          {{"type", "boolean"},
                           {"default", false},
                           {"description", "every interval, past ones too"}}},
                         {"predicate", str("only this predicate")}}},
                       {"required", {"entity_id"}}},
      .annotations = {{"readOnlyHint", true}},
      .handler =
          [mem](const json& a) {
            const std::string& id = a["entity_id"].get_ref<const std::string&>();
            auto e = mem().get_entity(id);
            if (!e) throw tool_error("entity " + a["entity_id"].dump() + " does not exist");
            fact_query q{.history = a.value("history", false),
                         .predicate = a.value("predicate", "")};
            if (a.contains("at")) q.at_ms = time_ms(a, "at");
            json facts = json::array();
            for (auto& f : mem().facts(id, q)) facts.push_back(memory::fact_row(f));
            json entity = {{"id", e->id},
                           {"kind", e->kind},
                           {"name", e->name},
                           {"description", e->description}};
            json props = detail::to_ordered(e->properties);  // named: items() refers
            for (auto& [k, v] : props.items())               // into it
              if (!entity.contains(k)) entity[k] = v;
            std::size_t n = facts.size();
            return json{{"entity", std::move(entity)}, {"facts", std::move(facts)}, {"count", n}};
          },
  });

  srv.add_tool({
      .name = "memory_build_context",
      .title = "Build context from memory",
      .description =
          "Build an LLM context from memory for a goal, within token_budget tokens: the goal, "
          "the episode's timeline (episode_id), the entities' current facts (entity_ids), the "
          "session's latest episodes (session_id), then the episodes and entities that best "
          "match the goal; lower-priority parts are dropped first when the budget is tight.",
      .input_schema =
          {{"type", "object"},
           {"properties",
            {{"goal", str("what the context will be used for")},
             {"token_budget", {{"type", "integer"}, {"minimum", 1}, {"default", 4096}}},
             {"session_id", str("the current session")},
             {"episode_id", str("the current episode")},
             {"entity_ids", {{"type", "array"}, {"items", {{"type", "string"}}}}},
             {"include_schema", {{"type", "boolean"}, {"default", false}}},
             {"format",
              {{"type", "string"}, {"enum", {"toon", "json", "markdown"}}, {"default", "toon"}}},
             {"k", k_schema}}},
           {"required", {"goal", "token_budget"}}},
      .annotations = {{"readOnlyHint", true}},
      .handler =
          [mem](const json& a) {
            memory_context_request r{
                .goal = a["goal"].get<std::string>(),
                .token_budget = a.value("token_budget", std::size_t{4096}),
                .session_id = a.value("session_id", ""),
                .episode_id = a.value("episode_id", ""),
                .entity_ids = a.value("entity_ids", std::vector<std::string>{}),
                .include_schema = a.value("include_schema", false),
                .format = parse_context_format(a.value("format", "toon")),
                .k = a.value("k", std::size_t{5})};
            return detail::context_result_json(mem().build_context(r));
          },
      .render = detail::render_context,
  });

  // ---- writes ----

  const json event_schema = {{"type", "object"},
                             {"properties",
                              {{"role", str("user, assistant, tool, ...")},
                               {"content", str("what happened or was said")},
                               {"ts", str("ISO-8601 time (default now)")}}},
                             {"required", {"content"}}};

  srv.add_tool({
      .name = "memory_record_episode",
      .title = "Record an episode",
      .description = "Remember an episode (a conversation, task, workflow, debugging session or "
                     "agent interaction) by its summary, optionally with its first events. "
                     "Recording an existing id replaces the episode (its events stay).",
      .input_schema = {{"type", "object"},
                       {"properties",
                        {{"id", id_schema},
                         {"type", detail::memtools::episode_type_schema()},
                         {"session_id", str("the session it belongs to")},
                         {"summary", {{"type", "string"}, {"minLength", 1}}},
                         {"started_at", str("ISO-8601 (default now)")},
                         {"ended_at", str("ISO-8601 (default: still open)")},
                         {"entity_ids", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                         {"events", {{"type", "array"}, {"items", event_schema}}}}},
                       {"required", {"type", "summary"}}},
      .annotations = {{"readOnlyHint", false}, {"destructiveHint", false}},
      .handler =
          [mem](const json& a) {
            memory_episode e{.id = a.value("id", ""),
                             .type = a["type"].get<std::string>(),
                             .session_id = a.value("session_id", ""),
                             .summary = a["summary"].get<std::string>(),
                             .started_at_ms = time_ms(a, "started_at"),
                             .ended_at_ms = time_ms(a, "ended_at"),
                             .entity_ids = a.value("entity_ids", std::vector<std::string>{})};
            std::vector<memory_event> events;
            if (a.contains("events")) {
              for (auto& x : a["events"]) {
                memory_event ev{.ts_us = time_ms(x, "ts") * 1000,
                                .role = x.value("role", ""),
                                .content = x["content"].get<std::string>()};
                events.push_back(std::move(ev));
              }
            }
            auto stored = mem().record_episode(std::move(e), events);
            return json{{"episode", memory::episode_row(stored)}, {"events_added", events.size()}};
          },
  });

  srv.add_tool({
      .name = "memory_append_event",
      .title = "Append an event to an episode",
      .description = "Add an event (a message, tool call or observation) to an episode's "
                     "timeline.",
      .input_schema = {{"type", "object"},
                       {"properties",
                        {{"episode_id", id_schema},
                         {"role", str("user, assistant, tool, ...")},
                         {"content", str("what happened or was said")},
                         {"ts", str("ISO-8601 time (default now)")},
                         {"data", {{"type", "object"}, {"description", "further fields"}}}}},
                       {"required", {"episode_id", "content"}}},
      .annotations = {{"readOnlyHint", false}, {"destructiveHint", false}},
      .handler =
          [mem](const json& a) {
            memory_event ev{.episode_id = a["episode_id"].get<std::string>(),
                            .ts_us = time_ms(a, "ts") * 1000,
                            .role = a.value("role", ""),
                            .content = a["content"].get<std::string>()};
            if (a.contains("data")) ev.data = nlohmann::json(a["data"]);
            ev = mem().append_event(std::move(ev));  // not_found: an isError result
            return memory::event_row(ev);
          },
  });

  srv.add_tool({
      .name = "memory_upsert_entity",
      .title = "Remember an entity",
      .description = "Add or replace an entity (a person, project, service...) with its kind, "
                     "name and description; its facts stay.",
      .input_schema = {{"type", "object"},
                       {"properties",
                        {{"id", id_schema},
                         {"kind", {{"type", "string"}, {"minLength", 1}}},
                         {"name", {{"type", "string"}}},
                         {"description", {{"type", "string"}}},
                         {"properties", {{"type", "object"}}}}},
                       {"required", {"id", "kind", "name"}}},
      .annotations = {{"readOnlyHint", false}, {"destructiveHint", false}},
      .handler =
          [mem](const json& a) {
            memory_entity e{.id = a["id"].get<std::string>(),
                            .kind = a["kind"].get<std::string>(),
                            .name = a["name"].get<std::string>(),
                            .description = a.value("description", "")};
            if (a.contains("properties")) e.properties = nlohmann::json(a["properties"]);
            mem().upsert_entity(e);
            return json{{"id", e.id}, {"kind", e.kind}, {"name", e.name}};
          },
  });

  srv.add_tool({
      .name = "memory_add_fact",
      .title = "Remember a fact",
      .description = "Record a fact subject -predicate-> object about an existing entity, valid "
                     "from valid_from (default now) until valid_until (default: open). With "
                     "supersede, the subject's open facts with the same predicate end at "
                     "valid_from (a change, with history kept).",
      .input_schema = {{"type", "object"},
                       {"properties",
                        {{"subject", id_schema},
                         {"predicate", {{"type", "string"}, {"minLength", 1}}},
                         {"object", {{"type", "string"}, {"minLength", 1}}},
                         {"valid_from", str("ISO-8601 (default now)")},
                         {"valid_until", str("ISO-8601 (default: still valid)")},
                         {"supersede", {{"type", "boolean"}, {"default", false}}},
                         {"properties", {{"type", "object"}}}}},
                       {"required", {"subject", "predicate", "object"}}},
      .annotations = {{"readOnlyHint", false}, {"destructiveHint", false}},
      .handler =
          [mem](const json& a) {
            memory_fact f{.subject = a["subject"].get<std::string>(),
                          .predicate = a["predicate"].get<std::string>(),
                          .object = a["object"].get<std::string>(),
                          .valid_from_ms = time_ms(a, "valid_from"),
                          .valid_until_ms = time_ms(a, "valid_until")};
            if (a.contains("properties")) f.properties = nlohmann::json(a["properties"]);
            f = mem().add_fact(std::move(f), a.value("supersede", false));
            return memory::fact_row(f);
          },
  });
}

}  // namespace mcp
SOCHDB_END_NAMESPACE
