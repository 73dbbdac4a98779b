// sochdb/mcp/server.hpp — an MCP server: lifecycle, tool registry, resources, stdio loop.
//
//     sochdb::mcp::server srv({.name = "sochdb"});
//     srv.add_tool({.name = "echo", .description = "...", .input_schema = {...},
//                   .handler = [](const json& args) { return json{{"echo", args["text"]}}; }});
//     srv.serve(std::cin, std::cout);          // newline-delimited JSON-RPC 2.0 on stdio
//     // or, without a process: std::optional<std::string> reply = srv.handle_line(line);
//
// Protocol (Model Context Protocol, revisions 2025-06-18 — the current one —, 2025-03-26 and
// 2024-11-05; https://modelcontextprotocol.io/specification):
//   - initialize negotiates the revision: the client's when we speak it, else our newest; it
//     must come first (other requests but ping get -32600 "not initialized") and only once.
//   - ping, tools/list, tools/call, resources/list, resources/read, resources/templates/list;
//     notifications (notifications/initialized, notifications/cancelled, ...) get no reply.
//   - tools/call checks the arguments against the tool's inputSchema (schema.hpp): unknown
//     tools and bad arguments are JSON-RPC -32602. A tool that fails (throws) returns a result
//     with isError: true and the message as text, so the model sees it.
//   - Results: one text content item — TOON by default, JSON when the call passes
//     "format": "json" — and, from revision 2025-06-18 on, the same object as structuredContent.
//   - JSON-RPC batches are accepted only under 2025-03-26, the one revision that has them
//     (2025-06-18 removed them); otherwise a batch gets one -32600 error.
//   - Protocol errors: -32700 unparseable line, -32600 invalid request, -32601 unknown method,
//     -32602 invalid params, -32603 internal error.
// Every tool has a "format" argument (added to its schema at registration unless it declares
// its own).
//
// Thread safety: one thread drives a server (handle_line / serve); tools run on that thread.
// Register tools before serving. Invariant: tool names are unique.
#pragma once

#include <sochdb/core/error.hpp>
#include <sochdb/mcp/json_rpc.hpp>
#include <sochdb/mcp/schema.hpp>
#include <sochdb/toon/encode.hpp>
#include <sochdb/version.hpp>

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace mcp {

/// The protocol revisions we speak, newest first.
inline constexpr std::array<std::string_view, 3> supported_protocol_versions = {
    "2025-06-18", "2025-03-26", "2024-11-05"};
inline constexpr std::string_view latest_protocol_version = supported_protocol_versions[0];

/// A failure a tool reports to the model (isError result), e.g. "not found: 'user:9'". Any
/// other exception a tool throws is reported the same way.
struct tool_error : error {
  explicit tool_error(const std::string& what) : error(errc::invalid_argument, what) {}
};

/// A tool: its listing (name, title, description, inputSchema, annotations) and its handler,
/// which takes the checked arguments and returns the result object (structuredContent).
struct tool {
  std::string name;         ///< unique; [A-Za-z0-9_-], 1..128 characters
  std::string title;        ///< human-readable name (listed from 2025-06-18 on); optional
  std::string description;  ///< what it does, for the model
  json input_schema;        ///< JSON Schema of the arguments; type "object"
  json annotations;         ///< optional hints (readOnlyHint, destructiveHint, ...); null if none
  std::function<json(const json& args)> handler;  ///< returns a JSON object
  /// Renders the text content; default: TOON of the result, JSON with "format":"json".
  std::function<std::string(const json& result, const json& args)> render;
};

/// A resource listing entry and its reader (resources/list, resources/read).
struct resource_source {
  std::function<std::vector<json>()> list;  ///< objects with uri, name, description, mimeType
  /// The contents of `uri` as {uri, mimeType, text}, or nullopt when it is not ours.
  std::function<std::optional<json>(const std::string& uri)> read;
};

struct server_options {
  std::string name = "sochdb";           ///< serverInfo.name
  std::string title = "SochDB";          ///< serverInfo.title (2025-06-18)
  std::string version = version_string;  ///< serverInfo.version
  std::string instructions;              ///< initialize result, when not empty
  framing_limits limits;                 ///< line size and nesting caps
  std::ostream* log = nullptr;           ///< diagnostics (stderr in the CLI); none if null
};

class server {
 public:
  explicit server(server_options opt = {}) : opt_(std::move(opt)) {}

  /// Registers a tool. Throws invalid_argument for a duplicate or malformed name, a schema that
  /// is not an object schema or uses keywords the argument checker lacks, or no handler.
  void add_tool(tool t) {
    if (t.name.empty() || t.name.size() > 128)
      throw invalid_argument("mcp: tool name must have 1..128 characters");
    for (char c : t.name) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-';
      if (!ok)
        throw invalid_argument("mcp: tool name '" + t.name +
                               "' has a character outside [A-Za-z0-9_-]");
    }
    if (index_.count(t.name))
      throw invalid_argument("mcp: tool '" + t.name + "' is already registered");
    if (!t.handler) throw invalid_argument("mcp: tool '" + t.name + "' has no handler");
    if (t.input_schema.is_null()) t.input_schema = json{{"type", "object"}};
    if (!t.input_schema.is_object() || t.input_schema.value("type", json()) != "object")
      throw invalid_argument("mcp: tool '" + t.name + "': inputSchema must have type \"object\"");
    if (!t.input_schema.contains("properties")) t.input_schema["properties"] = json::object();
    auto& props = t.input_schema["properties"];
    if (!props.contains("format")) {
      props["format"] = {{"type", "string"},
                         {"enum", {"toon", "json"}},
                         {"default", "toon"},
                         {"description", "text form of the result: TOON (default) or JSON"}};
    }
    check_schema_keywords(t.input_schema, "tool '" + t.name + "' inputSchema");
    index_[t.name] = tools_.size();
    tools_.push_back(std::move(t));
  }

  void add_resources(resource_source r) { resources_.push_back(std::move(r)); }

  [[nodiscard]] const std::vector<tool>& tools() const noexcept { return tools_; }
  /// The negotiated revision ("" before initialize).
  [[nodiscard]] const std::string& protocol_version() const noexcept { return version_; }
  [[nodiscard]] bool initialized() const noexcept { return !version_.empty(); }
  /// The client sent notifications/initialized.
  [[nodiscard]] bool ready() const noexcept { return ready_; }

  /// Handles one line; returns the reply line (without newline), or nullopt when none is due
  /// (notifications, responses, blank lines).
  std::optional<std::string> handle_line(std::string_view line) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return std::nullopt;
    message m = decode_message(line, opt_.limits);
    std::optional<json> reply = handle_message(m, /*in_batch=*/false);
    if (!reply) return std::nullopt;
    return serialize(*reply);
  }

  /// Reads lines from `in` until end of input, writing each reply as one line to `out`.
  void serve(std::istream& in, std::ostream& out) {
    for (;;) {
      bool too_long = false;
      auto line = read_line(in, opt_.limits.max_line_bytes, too_long);
      if (!line) break;
      std::optional<std::string> reply;
      if (too_long) {
        reply = serialize(make_error(nullptr, error_code::invalid_request,
                                     "message exceeds the limit of " +
                                         std::to_string(opt_.limits.max_line_bytes) + " bytes"));
      } else {
        reply = handle_line(*line);
      }
      if (reply) {
        out << *reply << '\n';
        out.flush();
      }
    }
  }

 private:
  void log(std::string_view what) {
    if (opt_.log) *opt_.log << "sochdb mcp: " << what << '\n' << std::flush;
  }

  std::optional<json> handle_message(message& m, bool in_batch) {
    if (auto* rej = std::get_if<rejected>(&m)) {
      log("rejected message: " + rej->message);
      return make_error(rej->id, rej->code, rej->message);
    }
    if (auto* resp = std::get_if<response>(&m)) {
      log("ignoring a response to id " + resp->id.dump() + " (this server sends no requests)");
      return std::nullopt;
    }
    if (auto* b = std::get_if<batch>(&m)) {
      if (in_batch) return make_error(nullptr, error_code::invalid_request, "nested batch");
      if (version_ != "2025-03-26") {
        std::string why = version_.empty()
                              ? "a batch cannot come before initialize"
                              : "JSON-RPC batches are not part of protocol revision " + version_;
        return make_error(nullptr, error_code::invalid_request, why);
      }
      json replies = json::array();
      for (auto& item : b->items) {
        if (auto* r = std::get_if<request>(&item); r && r->method == "initialize") {
          if (!r->is_notification())
            replies.push_back(make_error(r->id, error_code::invalid_request,
                                         "initialize must not be part of a batch"));
          continue;
        }
        if (auto reply = handle_message(item, true)) replies.push_back(std::move(*reply));
      }
      if (replies.empty()) return std::nullopt;
      return replies;
    }
    request& r = std::get<request>(m);
    if (r.is_notification()) {
      handle_notification(r);
      return std::nullopt;
    }
    try {
      return make_result(r.id, dispatch(r));
    } catch (const protocol_error& e) {
      log(r.method + ": " + e.what());
      return make_error(r.id, e.code, e.what());
    } catch (const std::exception& e) {
      log(r.method + ": internal error: " + e.what());
      return make_error(r.id, error_code::internal_error,
                        std::string("internal error: ") + e.what());
    }
  }

  struct protocol_error : std::runtime_error {
    protocol_error(int c, const std::string& what) : std::runtime_error(what), code(c) {}
    int code;
  };

  void handle_notification(const request& r) {
    if (r.method == "notifications/initialized") {
      ready_ = true;
    } else if (r.method == "notifications/cancelled") {
      // Requests run to completion before the next line is read: nothing is in flight.
    } else {
      log("ignoring notification " + r.method);
    }
  }

  static const json& params_object(const request& r) {
    static const json empty = json::object();
    if (r.params.is_null()) return empty;
    if (!r.params.is_object())
      throw protocol_error(error_code::invalid_params, r.method + ": params must be an object");
    return r.params;
  }

  json dispatch(const request& r) {
    if (r.method == "initialize") return initialize(params_object(r));
    if (r.method == "ping") {
      (void)params_object(r);
      return json::object();
    }
    if (!initialized()) {
      throw protocol_error(
          error_code::invalid_request,
          "server not initialized: send 'initialize' first (got '" + r.method + "')");
    }
    if (r.method == "tools/list") return list_tools(params_object(r));
    if (r.method == "tools/call") return call_tool(params_object(r));
    if (r.method == "resources/list") return list_resources(params_object(r));
    if (r.method == "resources/read") return read_resource(params_object(r));
    if (r.method == "resources/templates/list") {
      reject_cursor(params_object(r));
      return json{{"resourceTemplates", json::array()}};
    }
    throw protocol_error(error_code::method_not_found, "method not found: '" + r.method + "'");
  }

  json initialize(const json& p) {
    if (initialized())
      throw protocol_error(error_code::invalid_request, "initialize: already initialized");
    auto v = p.find("protocolVersion");
    if (v == p.end() || !v->is_string())
      throw protocol_error(error_code::invalid_params,
                           "initialize: params.protocolVersion must be a string");
    if (auto c = p.find("capabilities"); c != p.end() && !c->is_object())
      throw protocol_error(error_code::invalid_params,
                           "initialize: params.capabilities must be an object");
    if (auto c = p.find("clientInfo"); c != p.end()) {
      if (!c->is_object() || !c->contains("name") || !(*c)["name"].is_string())
        throw protocol_error(error_code::invalid_params,
                             "initialize: params.clientInfo must be an object with a string name");
      client_ = c->value("name", "");
    }
    const std::string& asked = v->get_ref<const std::string&>();
    version_ = std::string(latest_protocol_version);
    for (auto s : supported_protocol_versions) {
      if (asked == s) version_ = asked;
    }
    log("initialize: client '" + client_ + "' asked for " + asked + ", speaking " + version_);
    json caps = {{"tools", {{"listChanged", false}}}};
    if (!resources_.empty()) caps["resources"] = {{"subscribe", false}, {"listChanged", false}};
    json info = {{"name", opt_.name}, {"version", opt_.version}};
    if (modern()) info["title"] = opt_.title;
    json result = {{"protocolVersion", version_}, {"capabilities", caps}, {"serverInfo", info}};
    if (!opt_.instructions.empty()) result["instructions"] = opt_.instructions;
    return result;
  }

  /// 2025-06-18 or later: titles and structuredContent.
  [[nodiscard]] bool modern() const { return version_ >= "2025-06-18"; }

  static void reject_cursor(const json& p) {
    // Everything fits on one page, so no cursor we hand out exists.
    if (p.contains("cursor"))
      throw protocol_error(error_code::invalid_params, "unknown cursor (results have one page)");
  }

  json list_tools(const json& p) {
    reject_cursor(p);
    json list = json::array();
    for (const tool& t : tools_) {
      json j = {{"name", t.name}};
      if (modern() && !t.title.empty()) j["title"] = t.title;
      j["description"] = t.description;
      j["inputSchema"] = t.input_schema;
      if (!t.annotations.is_null()) j["annotations"] = t.annotations;
      list.push_back(std::move(j));
    }
    return json{{"tools", std::move(list)}};
  }

  json call_tool(const json& p) {
    auto n = p.find("name");
    if (n == p.end() || !n->is_string())
      throw protocol_error(error_code::invalid_params, "tools/call: params.name must be a string");
    const std::string& name = n->get_ref<const std::string&>();
    auto it = index_.find(name);
    if (it == index_.end())
      throw protocol_error(error_code::invalid_params, "tools/call: unknown tool '" + name + "'");
    const tool& t = tools_[it->second];
    json args = json::object();
    if (auto a = p.find("arguments"); a != p.end() && !a->is_null()) args = *a;
    if (auto bad = validate(t.input_schema, args, "arguments"))
      throw protocol_error(error_code::invalid_params, "tools/call " + name + ": " + *bad);
    json result;
    try {
      json out = t.handler(args);
      if (!out.is_object()) out = json{{"result", std::move(out)}};
      std::string text;
      if (t.render) {
        text = t.render(out, args);
      } else if (args.value("format", "toon") == "json") {
        text = out.dump(2, ' ', false, json::error_handler_t::replace);
      } else {
        text = toon::encode(out);
      }
      result = {{"content", json::array({json{{"type", "text"}, {"text", std::move(text)}}})}};
      if (modern()) result["structuredContent"] = std::move(out);
      result["isError"] = false;
    } catch (const std::exception& e) {
      log("tool " + name + " failed: " + e.what());
      result = {
          {"content",
           json::array({json{{"type", "text"}, {"text", std::string("error: ") + e.what()}}})},
          {"isError", true}};
    }
    return result;
  }

  json list_resources(const json& p) {
    reject_cursor(p);
    json list = json::array();
    for (auto& src : resources_) {
      for (auto& r : src.list()) list.push_back(std::move(r));
    }
    return json{{"resources", std::move(list)}};
  }

  json read_resource(const json& p) {
    auto u = p.find("uri");
    if (u == p.end() || !u->is_string())
      throw protocol_error(error_code::invalid_params,
                           "resources/read: params.uri must be a string");
    const std::string& uri = u->get_ref<const std::string&>();
    for (auto& src : resources_) {
      if (auto c = src.read(uri)) return json{{"contents", json::array({std::move(*c)})}};
    }
    // The spec's code for an unknown resource.
    throw protocol_error(-32002, "resource not found: '" + uri + "'");
  }

  server_options opt_;
  std::vector<tool> tools_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::vector<resource_source> resources_;
  std::string version_;  // negotiated; empty before initialize
  std::string client_;
  bool ready_ = false;  // notifications/initialized seen
};

}  // namespace mcp
SOCHDB_END_NAMESPACE
