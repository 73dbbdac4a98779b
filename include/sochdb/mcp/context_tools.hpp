// sochdb/mcp/context_tools.hpp — the sochdb_context_query tool over the context builder
// (context/context_builder.hpp, docs/context.md).
//
//     sochdb::mcp::add_context_tools(srv, db);
//     sochdb::mcp::add_context_tools(srv, db, [&](auto& builder) {   // search sources
//       builder.with_search(sochdb::text_index_search(index, loader));
//     });
//
// The arguments are the seed's schema — sections [{name, kind: literal|get|last|search, text,
// path, table, query, top_k, ...}], token_budget, format (toon|json|markdown), truncation — and
// go to context_builder::from_spec (a search section's `table` names its collection). The text
// content is the built context itself; structuredContent adds the token count and a report of
// every section and of the rows that did not fit.
//
// Thread safety: a builder per call; the database must outlive the server.
#pragma once

#include <sochdb/context/context_builder.hpp>
#include <sochdb/mcp/server.hpp>

#include <functional>
#include <string>

SOCHDB_BEGIN_NAMESPACE
namespace mcp {

namespace detail {
/// The structuredContent of a built context: the text, its tokens and every section's report.
inline json context_result_json(const context_result& r) {
  json sections = json::array();
  for (auto& s : r.sections) {
    sections.push_back({{"name", s.name},
                        {"kind", s.kind},
                        {"rows", s.rows},
                        {"rows_kept", s.rows_kept},
                        {"tokens", s.tokens},
                        {"truncated", s.truncated},
                        {"dropped", s.dropped}});
  }
  return json{{"context", r.text},
              {"total_tokens", r.total_tokens},
              {"budget", r.budget},
              {"format", std::string(to_string(r.format))},
              {"sections", std::move(sections)}};
}
/// The text an agent gets is the context itself.
inline std::string render_context(const json& result, const json&) {
  return result["context"].get<std::string>();
}
}  // namespace detail

/// Registers sochdb_context_query. `configure` runs on each builder before it executes (to
/// attach search sources for `search` sections).
template <class Database>
void add_context_tools(server& srv, Database& db,
                       std::function<void(context_builder<Database>&)> configure = {}) {
  const json str = {{"type", "string"}};
  srv.add_tool({
      .name = "sochdb_context_query",
      .title = "Build an LLM context",
      .description =
          "Fetch AI-optimized context from SochDB with token budgeting: sections of literal "
          "text, values (get), latest records of a table (last) and search hits (search), "
          "packed in priority order into token_budget tokens as TOON, JSON or markdown.",
      .input_schema =
          {{"type", "object"},
           {"properties",
            {{"sections",
              {{"type", "array"},
               {"items",
                {{"type", "object"},
                 {"properties",
                  {{"name", str},
                   {"kind", {{"type", "string"}, {"enum", {"literal", "get", "last", "search"}}}},
                   {"text", {{"type", "string"}, {"description", "for kind=literal"}}},
                   {"path", {{"type", "string"}, {"description", "for kind=get"}}},
                   {"table", {{"type", "string"}, {"description", "for kind=last/search"}}},
                   {"collection", {{"type", "string"}, {"description", "for kind=search"}}},
                   {"query", {{"type", "string"}, {"description", "for kind=search"}}},
                   {"where", {{"type", "object"}, {"description", "kind=last: field equalities"}}},
                   {"priority", {{"type", "integer"}, {"description", "0 = most important"}}},
                   {"top_k",
                    {{"type", "integer"},
                     {"minimum", 0},
                     {"default", 10},
                     {"description", "rows of a last/search section"}}},
                   {"n", {{"type", "integer"}, {"minimum", 0}, {"description", "= top_k (last)"}}},
                   {"k",
                    {{"type", "integer"}, {"minimum", 0}, {"description", "= top_k (search)"}}}}},
                 {"required", {"name", "kind"}}}}}},
             {"token_budget", {{"type", "integer"}, {"minimum", 0}, {"default", 4096}}},
             {"format",
              {{"type", "string"}, {"enum", {"toon", "json", "markdown"}}, {"default", "toon"}}},
             {"truncation",
              {{"type", "string"},
               {"enum", {"tail_drop", "head_drop", "proportional"}},
               {"default", "tail_drop"}}},
             {"session", {{"type", "string"}, {"description", "value of $session"}}},
             {"vars", {{"type", "object"}, {"description", "values of $name variables"}}}}},
           {"required", {"sections"}}},
      .annotations = {{"readOnlyHint", true}},
      .handler =
          [&db, configure](const json& a) {
            json spec = a;
            for (auto& s : spec["sections"]) {
              // The seed names a search section's collection `table`.
              if (s.value("kind", "") == "search" && !s.contains("collection") &&
                  s.contains("table"))
                s["collection"] = s["table"];
              if (s.value("kind", "") == "search") s.erase("table");
            }
            auto b = context_builder<Database>::from_spec(db, spec);
            if (configure) configure(b);
            return detail::context_result_json(b.execute());
          },
      .render = detail::render_context,
  });
}

}  // namespace mcp
SOCHDB_END_NAMESPACE
