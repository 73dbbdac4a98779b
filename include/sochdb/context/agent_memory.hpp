// sochdb/context/agent_memory.hpp — an agent's long-term memory: episodes with their event
// timelines, entities with their facts, searched by meaning and packed into an LLM context.
//
//     sochdb::agent_memory mem(db, {.embed = my_embedder, .dimension = 384});   // or BM25 only
//     mem.upsert_entity({.id = "alice", .kind = "person", .name = "Alice",
//                        .description = "staff engineer on the storage team"});
//     mem.add_fact({.subject = "alice", .predicate = "works_on", .object = "wal-rewrite"});
//     auto ep = mem.record_episode({.type = "debug", .session_id = "s1",
//                                   .summary = "fsync latency spike traced to the WAL",
//                                   .entity_ids = {"alice"}});
//     mem.append_event({.episode_id = ep.id, .role = "user", .content = "why is commit slow?"});
//     auto hits = mem.search_episodes({.query = "slow commits", .k = 5});
//     auto ctx = mem.build_context({.goal = "fix commit latency", .token_budget = 1024});
//
// Schema (docs/mcp.md "Memory schema"). Everything lives in one namespace (default "memory"):
//   episode  a document of the hybrid collection `episodes`: text = its summary (BM25), one
//            vector = the summary's embedding (when there is an embedder), metadata
//            {type, session_id, summary, started_at, ended_at, entity_ids} (times in ms since
//            the Unix epoch; ended_at 0 = still open).
//   event    a KV entry of the namespace at `events/<episode id>/<20-digit µs>-<4-digit seq>`
//            (so one prefix scan reads an episode's timeline in time order), value the JSON
//            {role, content, ...data}. An episode with a session also has an empty index key
//            `sessions/<hex of the session id>/<20-digit started_at ms>/<episode id>`.
//   entity   a graph node of the namespace's graph (type = kind, properties {name, description,
//            ...}) and a document of the hybrid collection `entities` (text = "name: description",
//            metadata {kind, name, description}).
//   fact     a temporal edge subject -predicate-> object of that graph valid over
//            [valid_from, valid_until) ms (graph/graph_store.hpp); the object is an entity id or
//            a literal value. add_fact(..., supersede) closes the subject's open facts of the same
//            predicate first, so "where does Alice work" has one answer at any instant and the
//            history stays queryable.
// Ids (episodes, entities) are 1..128 bytes of [A-Za-z0-9_.:@-].
//
// Search. search_episodes / search_entities rank by the collection's hybrid search: BM25 over
// the text fused (reciprocal rank fusion) with the embedding's cosine similarity when an
// embedder is configured; without one they are BM25 searches. Filters (episode type, session,
// entity, entity kind) are pre-filters inside the index searches.
//
// build_context reads each part separately (each a consistent read), then packs them.
//
// Writes are transactions: record_episode writes the episode and its initial events in one;
// upsert_entity the node and its document; add_fact the edge and the superseded intervals.
//
// Thread safety: a handle over the database (which must outlive it); any number of threads may
// use it as they may use the database.
#pragma once

#include <sochdb/context/context_builder.hpp>
#include <sochdb/core/clock.hpp>
#include <sochdb/core/error.hpp>
#include <sochdb/db/namespace.hpp>
#include <sochdb/graph/graph_store.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

/// The episode types of the seed's schema.
inline constexpr std::array<std::string_view, 5> episode_types = {
    "conversation", "task", "workflow", "debug", "agent_interaction"};

struct memory_episode {
  std::string id;                       ///< empty on record_episode: one is generated
  std::string type = "conversation";    ///< one of episode_types
  std::string session_id;               ///< optional
  std::string summary;                  ///< what it was about: embedded and keyword-indexed
  std::uint64_t started_at_ms = 0;      ///< 0 on record_episode: now
  std::uint64_t ended_at_ms = 0;        ///< 0: still open
  std::vector<std::string> entity_ids;  ///< the entities it involved (need not exist)
};

struct memory_event {
  std::string episode_id;
  std::uint64_t ts_us = 0;  ///< microseconds since the epoch; 0 on append: now
  std::string role;         ///< "user", "assistant", "tool", ... (optional)
  std::string content;
  nlohmann::json data = nlohmann::json::object();  ///< further fields of the event
};

struct memory_entity {
  std::string id;
  std::string kind;  ///< person, project, service, ...
  std::string name;
  std::string description;
  nlohmann::json properties = nlohmann::json::object();  ///< more fields of the node
};

struct memory_fact {
  std::string subject;               ///< an entity id (must exist)
  std::string predicate;             ///< the edge type: works_on, located_in, ...
  std::string object;                ///< an entity id or a literal value
  std::uint64_t valid_from_ms = 0;   ///< 0 on add_fact: now
  std::uint64_t valid_until_ms = 0;  ///< 0: still valid
  nlohmann::json properties = nlohmann::json::object();
};

struct episode_query {
  std::string query;  ///< natural-language text (required)
  std::size_t k = 5;
  std::string type;        ///< only this episode type (empty: any)
  std::string entity_id;   ///< only episodes involving this entity
  std::string session_id;  ///< only this session's episodes
};

struct entity_query {
  std::string query;
  std::size_t k = 5;
  std::string kind;  ///< only this kind (empty: any)
};

/// Which facts facts() returns.
struct fact_query {
  std::optional<std::uint64_t> at_ms;  ///< valid at this instant (default: now)
  bool history = false;                ///< every interval, current and past (overrides at_ms)
  std::string predicate;               ///< only this predicate (empty: any)
};

struct episode_hit {
  memory_episode episode;
  double score = 0;
};
struct entity_hit {
  memory_entity entity;
  double score = 0;
};

/// What build_context packs (the seed's memory_build_context arguments).
struct memory_context_request {
  std::string goal;  ///< what the context is for; also the search query
  std::size_t token_budget = 4096;
  std::string session_id;               ///< adds that session's latest episodes
  std::string episode_id;               ///< adds that episode's timeline
  std::vector<std::string> entity_ids;  ///< adds these entities' current facts
  bool include_schema = false;          ///< adds a short description of the fields
  context_format format = context_format::toon;
  std::size_t k = 5;            ///< episodes and entities found by searching the goal
  std::size_t max_events = 50;  ///< newest events of the episode timeline
};

struct agent_memory_options {
  std::string ns = "memory";  ///< the namespace holding it all
  /// Text -> embedding (unit length for cosine); without one search is keyword (BM25) only.
  std::function<std::vector<float>(std::string_view)> embed;
  std::size_t dimension = 0;  ///< the embedder's dimension (required with `embed`)
};

namespace detail::mem {

inline void check_id(std::string_view id, const char* what) {
  auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '@' || c == '-';
  };
  if (id.empty() || id.size() > 128 || !std::all_of(id.begin(), id.end(), ok))
    throw invalid_argument(std::string("memory: ") + what + " " + printable_key(id) +
                           " must be 1..128 bytes of [A-Za-z0-9_.:@-]");
}

inline std::uint64_t now_us() { return static_cast<std::uint64_t>(system_now_us()); }

inline std::atomic<unsigned> sequence{0};  // disambiguates ids and event keys of one µs

inline std::string iso_ms(std::uint64_t ms) {
  return ms == 0 ? std::string() : format_iso8601_us(static_cast<std::int64_t>(ms) * 1000);
}

inline std::string digits(std::uint64_t v, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*llu", width, static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace detail::mem

template <class Db>
class agent_memory {
 public:
  using namespace_type = basic_namespace<Db>;
  using collection_type = typename namespace_type::collection_type;
  using transaction_type = typename Db::transaction_type;

  explicit agent_memory(Db& db, agent_memory_options o = {})
      : db_(&db),
        o_(checked(std::move(o))),
        ns_(db.get_or_create_namespace(o_.ns)),
        episodes_(open_collection("episodes")),
        entities_(open_collection("entities")) {}

  [[nodiscard]] const std::string& namespace_name() const noexcept { return o_.ns; }
  [[nodiscard]] bool has_embedder() const noexcept { return static_cast<bool>(o_.embed); }
  [[nodiscard]] collection_type& episodes() noexcept { return episodes_; }
  [[nodiscard]] collection_type& entities() noexcept { return entities_; }
  [[nodiscard]] graph_store<Db> graph() const { return ns_.graph(); }

  // ---- episodes and events ----

  /// Writes (or replaces) an episode and appends `events` to its timeline, in one transaction.
  /// Returns the episode as stored (id and start time filled in).
  memory_episode record_episode(memory_episode e, const std::vector<memory_event>& events = {}) {
    if (e.id.empty())
      e.id = "ep-" + detail::mem::digits(detail::mem::now_us(), 16) + "-" +
             detail::mem::digits(detail::mem::sequence.fetch_add(1) % 10000, 4);
    detail::mem::check_id(e.id, "episode id");
    check_type(e.type);
    for (auto& id : e.entity_ids) detail::mem::check_id(id, "entity id");
    if (e.started_at_ms == 0) e.started_at_ms = system_ms_source{}();
    if (e.ended_at_ms != 0 && e.ended_at_ms < e.started_at_ms)
      throw invalid_argument("memory: episode " + e.id + " ends before it starts");
    document d{.id = e.id, .metadata = episode_metadata(e), .text = e.summary};
    if (auto v = embed(e.summary)) d.vectors.push_back(std::move(*v));
    db_->transaction([&](transaction_type& t) {
      if (auto old = episodes_.get(t, e.id)) {  // a replaced episode leaves its session index
        auto prev = episode_from(old->id, old->metadata);
        if (!prev.session_id.empty()) ns_.del(t, session_key(prev));
      }
      episodes_.upsert(t, d);
      if (!e.session_id.empty()) ns_.put(t, session_key(e), "");
      for (auto ev : events) {
        ev.episode_id = e.id;
        put_event(t, ev);
      }
    });
    return e;
  }

  /// Appends an event to an existing episode's timeline (not_found otherwise); returns it with
  /// its timestamp.
  memory_event append_event(memory_event ev) {
    detail::mem::check_id(ev.episode_id, "episode id");
    db_->transaction([&](transaction_type& t) {
      if (!episodes_.get(t, ev.episode_id))
        throw not_found("memory: episode " + ev.episode_id + " does not exist");
      put_event(t, ev);
    });
    return ev;
  }

  [[nodiscard]] std::optional<memory_episode> get_episode(std::string_view id) const {
    detail::mem::check_id(id, "episode id");
    auto d = episodes_.get(id);
    if (!d) return std::nullopt;
    return episode_from(d->id, d->metadata);
  }

  /// The episode's events, oldest first; with `limit`, its newest `limit` events.
  [[nodiscard]] std::vector<memory_event> timeline(std::string_view episode_id,
                                                   std::size_t limit = 0) const {
    detail::mem::check_id(episode_id, "episode id");
    std::vector<memory_event> out;
    for (auto [k, v] : ns_.scan(events_prefix(episode_id))) out.push_back(event_from(k, v));
    if (limit != 0 && out.size() > limit) out.erase(out.begin(), out.end() - limit);
    return out;
  }

  /// Episodes ranked by their summaries' similarity to the query (hybrid BM25 + vector with an
  /// embedder, BM25 without), best first.
  [[nodiscard]] std::vector<episode_hit> search_episodes(const episode_query& q) const {
    nlohmann::json filter = nlohmann::json::object();
    if (!q.type.empty()) {
      check_type(q.type);
      filter["type"] = q.type;
    }
    if (!q.entity_id.empty()) filter["entity_ids"] = q.entity_id;  // any element equals
    if (!q.session_id.empty()) filter["session_id"] = q.session_id;
    std::vector<episode_hit> out;
    for (auto& h : search(episodes_, q.query, q.k, filter))
      out.push_back({episode_from(h.id, h.metadata), h.score});
    return out;
  }

  // ---- entities and facts ----

  /// Adds or replaces an entity (node and document, one transaction); its facts stay.
  void upsert_entity(const memory_entity& e) {
    detail::mem::check_id(e.id, "entity id");
    if (e.kind.empty()) throw invalid_argument("memory: entity " + e.id + " needs a kind");
    if (!e.properties.is_object())
      throw invalid_argument("memory: entity " + e.id + ": properties must be an object");
    graph_properties props = e.properties;
    props["name"] = e.name;
    props["description"] = e.description;
    document d{.id = e.id,
               .metadata = {{"kind", e.kind}, {"name", e.name}, {"description", e.description}},
               .text = e.name + ": " + e.description};
    if (auto v = embed(d.text)) d.vectors.push_back(std::move(*v));
    auto g = ns_.graph();
    db_->transaction([&](transaction_type& t) {
      g.put_node(t, e.id, e.kind, props);
      entities_.upsert(t, d);
    });
  }

  [[nodiscard]] std::optional<memory_entity> get_entity(std::string_view id) const {
    detail::mem::check_id(id, "entity id");
    auto n = ns_.graph().get_node(id);
    if (!n) return std::nullopt;
    return entity_from(*n);
  }

  [[nodiscard]] std::vector<entity_hit> search_entities(const entity_query& q) const {
    nlohmann::json filter = nlohmann::json::object();
    if (!q.kind.empty()) filter["kind"] = q.kind;
    std::vector<entity_hit> out;
    for (auto& h : search(entities_, q.query, q.k, filter)) {
      memory_entity e{.id = h.id,
                      .kind = h.metadata.value("kind", ""),
                      .name = h.metadata.value("name", ""),
                      .description = h.metadata.value("description", "")};
      out.push_back({std::move(e), h.score});
    }
    return out;
  }

  /// Records a fact about an existing entity. With `supersede`, the subject's facts of the
  /// same predicate that are open at valid_from (other objects) end there, in the same
  /// transaction. Returns the fact as stored.
  memory_fact add_fact(memory_fact f, bool supersede = false) {
    detail::mem::check_id(f.subject, "entity id");
    if (f.predicate.empty() || f.object.empty())
      throw invalid_argument("memory: a fact needs a predicate and an object");
    if (f.valid_from_ms == 0) f.valid_from_ms = system_ms_source{}();
    auto g = ns_.graph();
    db_->transaction([&](transaction_type& t) {
      if (!g.get_node(t, f.subject))
        throw not_found("memory: entity " + f.subject + " does not exist");
      if (supersede) {
        auto open = g.query_temporal_graph(
            t, f.subject, temporal_query::point_in_time(f.valid_from_ms, f.predicate));
        for (auto& e : open)
          if (e.to != f.object && e.valid_until == 0 && e.valid_from < f.valid_from_ms)
            g.end_temporal_edge(t, f.subject, f.predicate, e.to, f.valid_from_ms);
      }
      g.add_temporal_edge(t, f.subject, f.predicate, f.object, f.valid_from_ms, f.valid_until_ms,
                          f.properties);
    });
    return f;
  }

  /// The entity's facts (outgoing temporal edges): valid now, at an instant, or all of them;
  /// ordered by valid_from. not_found when the entity does not exist.
  [[nodiscard]] std::vector<memory_fact> facts(std::string_view entity_id,
                                               const fact_query& q = {}) const {
    detail::mem::check_id(entity_id, "entity id");
    auto g = ns_.graph();
    if (!g.get_node(entity_id))
      throw not_found("memory: entity " + std::string(entity_id) + " does not exist");
    temporal_query tq = q.history ? temporal_query::range(0, 0, q.predicate)
                        : q.at_ms ? temporal_query::point_in_time(*q.at_ms, q.predicate)
                                  : temporal_query::current(q.predicate);
    std::vector<memory_fact> out;
    for (auto& e : g.query_temporal_graph(entity_id, tq))
      out.push_back({e.from, e.type, e.to, e.valid_from, e.valid_until, e.properties});
    return out;
  }

  // ---- context ----

  /// Packs the memory relevant to `r.goal` into a context of at most r.token_budget tokens
  /// (context/context_builder.hpp, tail_drop truncation), in this priority order: the goal,
  /// the schema (include_schema), the episode's timeline (episode_id, newest max_events), the
  /// given entities' current facts, the session's latest episodes, the episodes and the
  /// entities (with their current facts) that best match the goal.
  [[nodiscard]] context_result build_context(const memory_context_request& r) const {
    if (r.goal.empty()) throw invalid_argument("memory_build_context: the goal is empty");
    if (r.token_budget == 0) throw invalid_argument("memory_build_context: the budget is 0");
    context_builder<Db> b(*db_);
    b.with_budget(r.token_budget).format(r.format).truncation(truncation_mode::tail_drop);
    b.literal("goal", 0, r.goal);
    if (r.include_schema) b.literal("schema", 1, schema_text());
    auto rows_section = [&b](const char* name, int priority, std::vector<context_value> rows) {
      if (!rows.empty()) b.section(name, priority).rows(std::move(rows)).done();
    };
    std::vector<context_value> rows;
    if (!r.episode_id.empty()) {
      for (auto& ev : timeline(r.episode_id, r.max_events)) rows.push_back(event_row(ev));
      rows_section("episode_timeline", 2, std::move(rows));
    }
    rows.clear();
    for (auto& id : r.entity_ids)
      for (auto& f : facts(id)) rows.push_back(fact_row(f));
    rows_section("entity_facts", 3, std::move(rows));
    rows.clear();
    if (!r.session_id.empty()) {
      for (auto& e : session_episodes(r.session_id, r.k)) rows.push_back(episode_row(e));
      rows_section("session_episodes", 4, std::move(rows));
    }
    rows.clear();
    for (auto& h : search_episodes({.query = r.goal, .k = r.k})) {
      if (h.episode.id == r.episode_id) continue;
      auto row = episode_row(h.episode);
      row["score"] = std::round(h.score * 1000) / 1000;
      rows.push_back(std::move(row));
    }
    rows_section("related_episodes", 5, std::move(rows));
    rows.clear();
    for (auto& h : search_entities({.query = r.goal, .k = r.k})) {
      std::string fs;
      for (auto& f : facts(h.entity.id))
        fs += (fs.empty() ? "" : "; ") + f.predicate + " " + f.object;
      rows.push_back({{"id", h.entity.id},
                      {"kind", h.entity.kind},
                      {"name", h.entity.name},
                      {"description", h.entity.description},
                      {"facts", fs}});
    }
    rows_section("related_entities", 6, std::move(rows));
    return b.execute();
  }

  /// The fields of the schema section.
  static std::string schema_text() {
    return "episode: id, type (conversation|task|workflow|debug|agent_interaction), session_id, "
           "summary, started_at, ended_at, entity_ids\n"
           "event: ts, role, content\n"
           "entity: id, kind, name, description, facts\n"
           "fact: subject, predicate, object, valid_from, valid_until (empty: still valid)";
  }

  // ---- rows (the MCP tools and the context share them) ----

  static context_value episode_row(const memory_episode& e) {
    return {{"id", e.id},
            {"type", e.type},
            {"session_id", e.session_id},
            {"summary", e.summary},
            {"started_at", detail::mem::iso_ms(e.started_at_ms)},
            {"ended_at", detail::mem::iso_ms(e.ended_at_ms)},
            {"entity_ids", join(e.entity_ids)}};
  }
  static context_value event_row(const memory_event& ev) {
    context_value row = {{"ts", format_iso8601_us(static_cast<std::int64_t>(ev.ts_us))},
                         {"role", ev.role},
                         {"content", ev.content}};
    for (auto& [k, v] : ev.data.items())
      if (!row.contains(k)) row[k] = context_value(v);
    return row;
  }
  static context_value fact_row(const memory_fact& f) {
    context_value row = {{"subject", f.subject},
                         {"predicate", f.predicate},
                         {"object", f.object},
                         {"valid_from", detail::mem::iso_ms(f.valid_from_ms)},
                         {"valid_until", detail::mem::iso_ms(f.valid_until_ms)}};
    for (auto& [k, v] : f.properties.items())
      if (!row.contains(k)) row[k] = context_value(v);
    return row;
  }

 private:
  static agent_memory_options checked(agent_memory_options o) {
    if (o.embed && o.dimension == 0)
      throw invalid_argument("agent_memory: an embedder needs its dimension");
    return o;
  }

  collection_type open_collection(const std::string& name) {
    const std::size_t dim = o_.embed ? o_.dimension : 1;  // keyword-only: no vectors stored
    if (!ns_.collection_exists(name)) {
      try {
        return ns_.create_collection({.name = name, .dimension = dim, .hybrid = true});
      } catch (const already_exists&) {  // another handle created it meanwhile
      }
    }
    auto c = ns_.collection(name);
    if (o_.embed && c.config().dimension != dim)
      throw invalid_argument("agent_memory: collection " + o_.ns + "/" + name +
                             " holds vectors of dimension " + std::to_string(c.config().dimension) +
                             ", the embedder gives " + std::to_string(dim));
    if (!c.config().hybrid)
      throw invalid_argument("agent_memory: collection " + o_.ns + "/" + name +
                             " exists without a keyword index (not made by agent_memory)");
    return c;
  }

  std::optional<std::vector<float>> embed(std::string_view text) const {
    if (!o_.embed) return std::nullopt;
    auto v = o_.embed(text);
    if (v.size() != o_.dimension)
      throw dimension_mismatch("agent_memory embedder", o_.dimension, v.size());
    return v;
  }

  std::vector<search_hit> search(const collection_type& c, const std::string& query, std::size_t k,
                                 const nlohmann::json& filter) const {
    if (query.empty()) throw invalid_argument("memory: the search query is empty");
    if (k == 0) return {};
    search_request sr;
    sr.text = query;
    sr.k = k;
    if (auto v = embed(query)) sr.vector = std::move(*v);
    if (!filter.empty()) sr.filter = metadata_filter::compile(filter);
    return c.search(sr);
  }

  /// The session's newest k episodes, newest first: one scan of its index keys.
  std::vector<memory_episode> session_episodes(const std::string& session, std::size_t k) const {
    std::vector<std::string> ids;
    for (auto [key, v] : ns_.scan(session_prefix(session)))
      ids.emplace_back(key.substr(key.rfind('/') + 1));
    std::vector<memory_episode> out;
    for (auto it = ids.rbegin(); it != ids.rend() && out.size() < k; ++it)
      if (auto e = get_episode(*it)) out.push_back(std::move(*e));
    return out;
  }

  // sessions/<hex of the session id>/<20-digit started_at ms>/<episode id>, empty value: a
  // session's episodes in start order (hex keeps any session id from reaching into another's
  // prefix). Written and removed in the episode's own transaction.
  static std::string session_prefix(std::string_view session) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string p = "sessions/";
    for (unsigned char c : session) {
      p += hex[c >> 4];
      p += hex[c & 15];
    }
    return p + "/";
  }
  static std::string session_key(const memory_episode& e) {
    return session_prefix(e.session_id) + detail::mem::digits(e.started_at_ms, 20) + "/" + e.id;
  }

  void check_type(std::string_view type) const {
    if (std::find(episode_types.begin(), episode_types.end(), type) == episode_types.end())
      throw invalid_argument("memory: episode type " + printable_key(type) +
                             " is not one of conversation, task, workflow, debug, "
                             "agent_interaction");
  }

  static nlohmann::json episode_metadata(const memory_episode& e) {
    return {{"type", e.type},
            {"session_id", e.session_id},
            {"summary", e.summary},
            {"started_at", e.started_at_ms},
            {"ended_at", e.ended_at_ms},
            {"entity_ids", e.entity_ids}};
  }
  static memory_episode episode_from(std::string id, const nlohmann::json& m) {
    memory_episode e;
    e.id = std::move(id);
    if (!m.is_object()) return e;
    e.type = m.value("type", "conversation");
    e.session_id = m.value("session_id", "");
    e.summary = m.value("summary", "");
    e.started_at_ms = m.value("started_at", std::uint64_t{0});
    e.ended_at_ms = m.value("ended_at", std::uint64_t{0});
    if (auto it = m.find("entity_ids"); it != m.end() && it->is_array())
      for (auto& x : *it)
        if (x.is_string()) e.entity_ids.push_back(x.get<std::string>());
    return e;
  }
  static memory_entity entity_from(const graph_node& n) {
    memory_entity e{.id = n.id, .kind = n.type};
    e.properties =
        n.properties.is_object() ? nlohmann::json(n.properties) : nlohmann::json::object();
    if (auto it = e.properties.find("name"); it != e.properties.end() && it->is_string())
      e.name = it->template get<std::string>();
    if (auto it = e.properties.find("description"); it != e.properties.end() && it->is_string())
      e.description = it->template get<std::string>();
    e.properties.erase("name");
    e.properties.erase("description");
    return e;
  }

  static std::string events_prefix(std::string_view episode_id) {
    return "events/" + std::string(episode_id) + "/";
  }

  void put_event(transaction_type& t, memory_event& ev) {
    if (ev.ts_us == 0) ev.ts_us = detail::mem::now_us();
    if (!ev.data.is_object())
      throw invalid_argument("memory: event data of episode " + ev.episode_id +
                             " must be a JSON object");
    nlohmann::json v = ev.data;
    v["role"] = ev.role;
    v["content"] = ev.content;
    std::string key = events_prefix(ev.episode_id) + detail::mem::digits(ev.ts_us, 20) + "-" +
                      detail::mem::digits(detail::mem::sequence.fetch_add(1) % 10000, 4);
    ns_.put(t, key, v.dump());
  }

  memory_event event_from(std::string_view key, std::string_view value) const {
    memory_event ev;
    // key: events/<episode>/<20 digits>-<4 digits>
    auto slash = key.rfind('/');
    auto rest = key.substr(slash + 1);
    ev.episode_id = std::string(key.substr(7, slash - 7));
    for (std::size_t i = 0; i < 20 && i < rest.size(); ++i)
      if (rest[i] >= '0' && rest[i] <= '9') ev.ts_us = ev.ts_us * 10 + (rest[i] - '0');
    auto j = nlohmann::json::parse(value, nullptr, false);
    if (!j.is_object())
      throw corruption("memory: event " + printable_key(key) + " is not a JSON object");
    ev.role = j.value("role", "");
    ev.content = j.value("content", "");
    j.erase("role");
    j.erase("content");
    ev.data = std::move(j);
    return ev;
  }

  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (auto& x : v) s += (s.empty() ? "" : ",") + x;
    return s;
  }

  Db* db_;
  agent_memory_options o_;
  namespace_type ns_;
  collection_type episodes_;
  collection_type entities_;
};

SOCHDB_END_NAMESPACE
