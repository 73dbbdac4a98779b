// The `sochdb graph` and `sochdb context` commands.
//
//     sochdb --db ./db graph node put alice person '{"team":"ml"}'
//     sochdb --db ./db graph edge add alice works_on project_x '{"role":"lead"}'
//     sochdb --db ./db graph neighbors alice --direction both
//     sochdb --db ./db graph traverse alice --depth 2 --order dfs --types works_on
//     sochdb --db ./db graph path alice bob --weight cost
//     sochdb --db ./db context spec.json [--report]
//
// Results are TOON (default) or JSON (--format json) on stdout. A missing node, edge or path is
// "not found" on stderr with exit status 1; bad JSON or arguments are usage errors (exit 2).
#pragma once

#include "cli.hpp"
#include "cmd_kv.hpp"

#include <sochdb/context.hpp>
#include <sochdb/graph.hpp>
#include <sochdb/toon.hpp>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace sochdb_cli {
namespace graph_detail {

using json = nlohmann::ordered_json;

inline void print(context& ctx, const json& v) {
  if (ctx.format == output_format::json) {
    ctx.out << v.dump(2) << "\n";
  } else {
    ctx.out << sochdb::toon::encode(v) << "\n";
  }
}

inline json parse_props(const std::string& cmd, const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw usage_error(cmd + ": properties must be a JSON object, got '" + text + "'");
  }
  return j;
}

inline std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

inline sochdb::direction parse_direction(const arg_parser& p, const std::string& cmd) {
  std::string d = p.get_or("--direction", "out");
  if (d == "out" || d == "outgoing") return sochdb::direction::outgoing;
  if (d == "in" || d == "incoming") return sochdb::direction::incoming;
  if (d == "both") return sochdb::direction::both;
  throw usage_error(cmd + ": --direction expects out, in or both, got '" + d + "'");
}

inline json node_json(const sochdb::graph_node& n) {
  return json{{"id", n.id}, {"type", n.type}, {"properties", n.properties}};
}
inline json edge_json(const sochdb::graph_edge& e) {
  return json{{"from", e.from}, {"type", e.type}, {"to", e.to}, {"properties", e.properties}};
}

constexpr std::string_view graph_usage =
    "usage: sochdb --db DIR graph [--ns NAME] SUBCOMMAND ...\n"
    "\n"
    "  node put ID TYPE [PROPS_JSON]      add or replace a node\n"
    "  node get ID                        print a node (exit 1 if missing)\n"
    "  node del ID                        delete a node and every edge touching it\n"
    "  edge add FROM TYPE TO [PROPS_JSON] add or replace an edge (both nodes must exist)\n"
    "  edge del FROM TYPE TO              delete an edge (exit 1 if missing)\n"
    "  neighbors ID [--direction out|in|both] [--types T1,T2]\n"
    "  traverse ID [--depth N] [--order bfs|dfs] [--direction D] [--types T,..]\n"
    "              [--node-types T,..]      nodes and edges reached\n"
    "  path FROM TO [--depth N] [--direction D] [--types T,..] [--weight PROP]\n"
    "                                     shortest path (hops, or by a numeric edge property)\n"
    "\n"
    "options:\n"
    "  --ns NAME     graph namespace (default \"default\")\n"
    "\n"
    "examples:\n"
    "  sochdb --db ./db graph node put alice person '{\"team\":\"ml\"}'\n"
    "  sochdb --db ./db graph edge add alice works_on px\n"
    "  sochdb --db ./db --format json graph traverse alice --depth 2\n";

}  // namespace graph_detail

inline int cmd_graph(context& ctx, const std::vector<std::string>& args) {
  using namespace graph_detail;
  arg_parser p("graph", args);
  p.value("--ns")
      .value("--direction")
      .value("--types")
      .value("--node-types")
      .value("--depth")
      .value("--order")
      .value("--weight")
      .parse();
  const auto& pos = p.positionals();
  if (pos.empty())
    throw usage_error("graph: expected a subcommand (node, edge, neighbors, traverse, path)");
  std::string sub = pos[0];
  std::string ns = p.get_or("--ns", "default");
  if (ns.empty()) throw usage_error("graph: --ns must not be empty");
  auto need = [&](std::size_t lo, std::size_t hi, const char* what) {
    if (pos.size() < lo || pos.size() > hi)
      throw usage_error("graph " + sub + ": expected " + what);
  };
  auto types = split_list(p.get_or("--types", ""));
  std::size_t depth = static_cast<std::size_t>(p.get_int("--depth", -1, 0, 1000));
  bool writes = sub == "node" || sub == "edge";
  auto db = kv_detail::open_db(ctx, "graph", sochdb::sync_mode::full, writes);
  sochdb::graph_store g(db, {.ns = ns});

  if (sub == "node" || sub == "edge") {
    if (pos.size() < 2) throw usage_error("graph " + sub + ": expected put|get|del or add|del");
    std::string op = pos[1];
    std::string what = sub + " " + op;
    if (sub == "node" && op == "put") {
      need(4, 5, "node put ID TYPE [PROPS_JSON]");
      g.put_node(pos[2], pos[3],
                 pos.size() == 5 ? parse_props("graph node put", pos[4]) : json::object());
    } else if (sub == "node" && op == "get") {
      need(3, 3, "node get ID");
      auto n = g.get_node(pos[2]);
      if (!n) throw command_failed("not found: node " + sochdb::printable_key(pos[2]));
      print(ctx, node_json(*n));
    } else if (sub == "node" && op == "del") {
      need(3, 3, "node del ID");
      if (!g.delete_node(pos[2]))
        throw command_failed("not found: node " + sochdb::printable_key(pos[2]));
    } else if (sub == "edge" && op == "add") {
      need(5, 6, "edge add FROM TYPE TO [PROPS_JSON]");
      g.add_edge(pos[2], pos[3], pos[4],
                 pos.size() == 6 ? parse_props("graph edge add", pos[5]) : json::object());
    } else if (sub == "edge" && op == "del") {
      need(5, 5, "edge del FROM TYPE TO");
      if (!g.delete_edge(pos[2], pos[3], pos[4])) {
        throw command_failed("not found: edge " + sochdb::printable_key(pos[2]) + " -" +
                             sochdb::printable_key(pos[3]) + "-> " + sochdb::printable_key(pos[4]));
      }
    } else {
      throw usage_error("graph: unknown subcommand '" + what + "'");
    }
    db.close();
    return 0;
  }
  if (sub == "neighbors") {
    need(2, 2, "neighbors ID");
    if (!g.get_node(pos[1]))
      throw command_failed("not found: node " + sochdb::printable_key(pos[1]));
    json rows = json::array();
    for (auto& n : g.neighbors(pos[1], parse_direction(p, "graph neighbors"), types)) {
      rows.push_back(json{{"id", n.id},
                          {"edge_type", n.edge_type},
                          {"direction", n.dir == sochdb::direction::outgoing ? "out" : "in"}});
    }
    print(ctx, json{{"neighbors", rows}});
    return 0;
  }
  if (sub == "traverse") {
    need(2, 2, "traverse ID");
    std::string order = p.get_or("--order", "bfs");
    if (order != "bfs" && order != "dfs") {
      throw usage_error("graph traverse: --order expects bfs or dfs, got '" + order + "'");
    }
    sochdb::traverse_options o{
        .max_depth = depth == static_cast<std::size_t>(-1) ? 3 : depth,
        .order = order == "bfs" ? sochdb::traversal_order::bfs : sochdb::traversal_order::dfs,
        .dir = parse_direction(p, "graph traverse"),
        .edge_types = types,
        .node_types = split_list(p.get_or("--node-types", "")),
    };
    sochdb::traversal t;
    try {
      t = g.traverse(pos[1], o);
    } catch (const sochdb::not_found& e) {
      throw command_failed(std::string("not found: ") + e.what());
    }
    json nodes = json::array(), edges = json::array();
    for (std::size_t i = 0; i < t.nodes.size(); ++i) {
      json n = node_json(t.nodes[i]);
      n["depth"] = t.depths[i];
      nodes.push_back(std::move(n));
    }
    for (auto& e : t.edges) edges.push_back(edge_json(e));
    print(ctx, json{{"nodes", nodes}, {"edges", edges}});
    return 0;
  }
  if (sub == "path") {
    need(3, 3, "path FROM TO");
    sochdb::path_options o{.max_depth = depth == static_cast<std::size_t>(-1) ? 6 : depth,
                           .dir = parse_direction(p, "graph path"),
                           .edge_types = types,
                           .weight_property = p.get_or("--weight", "")};
    std::optional<sochdb::graph_path> path;
    try {
      path = g.find_path(pos[1], pos[2], o);
    } catch (const sochdb::not_found& e) {
      throw command_failed(std::string("not found: ") + e.what());
    }
    if (!path) {
      throw command_failed("not found: no path from " + sochdb::printable_key(pos[1]) + " to " +
                           sochdb::printable_key(pos[2]) + " within " +
                           std::to_string(o.max_depth) + " hops");
    }
    json edges = json::array();
    for (auto& e : path->edges) edges.push_back(edge_json(e));
    print(ctx, json{{"nodes", path->nodes}, {"edges", edges}, {"cost", path->cost}});
    return 0;
  }
  throw usage_error("graph: unknown subcommand '" + sub + "'");
}

constexpr std::string_view context_usage =
    "usage: sochdb --db DIR context SPEC.json|- [--budget N] [--report]\n"
    "\n"
    "Builds an LLM context from the database as the JSON spec describes and prints its text.\n"
    "The spec (docs/context.md):\n"
    "  {\"session\": \"s1\", \"budget\": 4096, \"format\": \"toon|json|markdown|text\",\n"
    "   \"truncation\": \"tail_drop|head_drop|proportional|strict\", \"vars\": {\"user\": "
    "\"alice\"},\n"
    "   \"sections\": [\n"
    "     {\"name\": \"SYSTEM\", \"priority\": 0, \"kind\": \"literal\", \"text\": \"...\"},\n"
    "     {\"name\": \"USER\", \"priority\": 1, \"kind\": \"get\", \"path\": "
    "\"users/$user.{name}\"},\n"
    "     {\"name\": \"HISTORY\", \"priority\": 2, \"kind\": \"last\", \"table\": \"messages\", "
    "\"n\": 10,\n"
    "      \"where\": {\"session\": \"$session\"}}]}\n"
    "\n"
    "options:\n"
    "  --budget N   override the spec's token budget\n"
    "  --report     print a JSON report instead: text, total_tokens, budget, sections, dropped\n"
    "\n"
    "A context over budget under truncation strict fails with exit status 1.\n";

inline int cmd_context(context& ctx, const std::vector<std::string>& args) {
  using graph_detail::json;
  arg_parser p("context", args);
  p.value("--budget").flag("--report").parse().expect_positionals(1, 1, "SPEC.json or -");
  std::string text;
  const std::string& file = p.positionals()[0];
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(ctx.in), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw command_failed("context: cannot read spec file '" + file + "'");
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto spec = json::parse(text, nullptr, false);
  if (spec.is_discarded()) throw usage_error("context: spec '" + file + "' is not valid JSON");
  auto db = kv_detail::open_db(ctx, "context", sochdb::sync_mode::full, false);
  sochdb::context_result r;
  try {
    auto b = sochdb::context_builder<sochdb::database>::from_spec(db, spec);
    long long budget = p.get_int("--budget", 0, 1, 1LL << 40);
    if (budget > 0) b.with_budget(static_cast<std::size_t>(budget));
    r = b.execute();
  } catch (const sochdb::invalid_argument& e) {
    throw usage_error(e.what());
  }
  if (!p.has("--report")) {
    ctx.out << r.text << "\n";
    return 0;
  }
  json secs = json::array(), dropped = json::array();
  for (auto& s : r.sections) {
    secs.push_back(json{{"name", s.name},
                        {"priority", s.priority},
                        {"kind", s.kind},
                        {"rows", s.rows},
                        {"rows_kept", s.rows_kept},
                        {"tokens", s.tokens},
                        {"truncated", s.truncated},
                        {"dropped", s.dropped}});
  }
  for (auto& d : r.dropped) {
    dropped.push_back(json{{"section", d.section},
                           {"first", d.first},
                           {"count", d.count},
                           {"whole_section", d.whole_section}});
  }
  ctx.out << json{{"text", r.text},
                  {"total_tokens", r.total_tokens},
                  {"budget", r.budget},
                  {"sections", secs},
                  {"dropped", dropped}}
                 .dump(2)
          << "\n";
  return 0;
}

inline std::vector<command> graph_commands() {
  return {
      {"graph", "knowledge graph: nodes, edges, neighbours, traversal, paths",
       graph_detail::graph_usage, cmd_graph},
      {"context", "build an LLM context under a token budget from a JSON spec", context_usage,
       cmd_context},
  };
}

}  // namespace sochdb_cli
