// sochdb/mcp/json_rpc.hpp — JSON-RPC 2.0 framing for the MCP stdio transport.
//
// The MCP stdio transport carries one JSON-RPC message per line (UTF-8, no embedded newlines).
// `decode_message` turns one line into a checked message or a ready-to-send JSON-RPC error
// (https://www.jsonrpc.org/specification §4–§6, MCP 2025-06-18 basic/index "Messages"):
//   - text that is not JSON (or not UTF-8)                       -> -32700 parse error, id null
//   - JSON that is not a request, notification, response or batch -> -32600 invalid request
//     (jsonrpc must be exactly "2.0"; method a string; id a string or an integer — MCP forbids
//     null ids; params, when present, an object or array; a response has exactly one of
//     result / error)
//   - a batch (array) is returned as such; whether it is allowed depends on the negotiated
//     protocol revision, which the server decides (an empty array is always invalid).
// `make_result` / `make_error` build responses; `serialize` writes one line that can never
// contain a raw newline and never throws on bytes that are not UTF-8 (they become U+FFFD).
// `read_line` reads a line with a size cap so a hostile peer cannot make us allocate without
// bound.
//
// Hostile input: lines longer than `max_line_bytes` are rejected without being stored, nesting
// deeper than `max_depth` is rejected before parsing (the parser and the destructor of the
// parsed document stay bounded), and every check is linear in the line.
//
// Thread safety: free functions without shared state.
#pragma once

#include <sochdb/version.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

SOCHDB_BEGIN_NAMESPACE
namespace mcp {

/// Insertion-ordered, so rows keep their column order ("key" first) and TOON output reads
/// as it was built; the same type as toon::value.
using json = nlohmann::ordered_json;

namespace detail {
/// nlohmann::json (collections, agent memory) -> our ordered json; invalid UTF-8 is replaced.
inline json to_ordered(const nlohmann::json& j) {
  return json::parse(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}
}  // namespace detail

/// The JSON-RPC 2.0 error codes MCP uses.
namespace error_code {
inline constexpr int parse_error = -32700;
inline constexpr int invalid_request = -32600;
inline constexpr int method_not_found = -32601;
inline constexpr int invalid_params = -32602;
inline constexpr int internal_error = -32603;
}  // namespace error_code

/// Limits of the decoder.
struct framing_limits {
  std::size_t max_line_bytes = 16u << 20;  ///< longest accepted message; default 16 MiB
  std::size_t max_depth = 64;              ///< deepest array/object nesting; default 64
};

/// A request (`id` set) or a notification (`id` null).
struct request {
  json id;  ///< string or integer; null for a notification
  std::string method;
  json params;  ///< object, array or null when absent
  [[nodiscard]] bool is_notification() const noexcept { return id.is_null(); }
};

/// A response the peer sent (we never send requests, so these are only logged).
struct response {
  json id;
  json result_or_error;
  bool is_error = false;
};

/// A message that failed validation: the error response to send (id null when unknown).
struct rejected {
  json id;
  int code = error_code::invalid_request;
  std::string message;
};

/// A batch: each element decoded on its own (an invalid element does not spoil the others).
struct batch;

using message = std::variant<request, response, rejected, batch>;

struct batch {
  std::vector<message> items;
};

/// {"jsonrpc":"2.0","id":id,"result":result}
inline json make_result(const json& id, json result) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

/// {"jsonrpc":"2.0","id":id,"error":{"code":code,"message":message[,"data":data]}}
inline json make_error(const json& id, int code, std::string_view message,
                       const json& data = json()) {
  json err = {{"code", code}, {"message", std::string(message)}};
  if (!data.is_null()) err["data"] = data;
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(err)}};
}

/// One line of compact JSON (no raw newlines; bytes that are not UTF-8 become U+FFFD).
inline std::string serialize(const json& msg) {
  return msg.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace detail {

/// The deepest array/object nesting of `text`, stopping early past `limit` (strings skipped).
inline std::size_t json_depth(std::string_view text, std::size_t limit) noexcept {
  std::size_t depth = 0, max = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return max;
}

/// A JSON-RPC id MCP accepts: a string or an integer.
inline bool valid_id(const json& id) {
  return id.is_string() || id.is_number_integer() || id.is_number_unsigned();
}

inline message decode_one(json& j) {
  if (!j.is_object())
    return rejected{nullptr, error_code::invalid_request, "message is not an object"};
  // The id to answer with, when the peer gave a usable one.
  json id = nullptr;
  if (auto it = j.find("id"); it != j.end() && valid_id(*it)) id = *it;
  auto ver = j.find("jsonrpc");
  if (ver == j.end() || !ver->is_string() || ver->get_ref<const std::string&>() != "2.0") {
    return rejected{id, error_code::invalid_request, "'jsonrpc' must be the string \"2.0\""};
  }
  auto m = j.find("method");
  auto idit = j.find("id");
  if (m == j.end()) {
    // A response: id, and exactly one of result / error.
    bool has_result = j.contains("result"), has_error = j.contains("error");
    if (idit == j.end() || has_result == has_error) {
      return rejected{id, error_code::invalid_request,
                      "message has no 'method' and is not a response (needs 'id' and one of "
                      "'result' or 'error')"};
    }
    if (!valid_id(*idit) && !idit->is_null()) {
      return rejected{nullptr, error_code::invalid_request,
                      "response 'id' must be a string or integer"};
    }
    if (has_error) {
      const json& e = j["error"];
      if (!e.is_object() || !e.contains("code") || !e["code"].is_number_integer() ||
          !e.contains("message") || !e["message"].is_string()) {
        return rejected{id, error_code::invalid_request,
                        "response 'error' must be an object with an integer 'code' and a string "
                        "'message'"};
      }
    }
    return response{*idit, has_error ? j["error"] : j["result"], has_error};
  }
  if (!m->is_string())
    return rejected{id, error_code::invalid_request, "'method' must be a string"};
  if (j.contains("result") || j.contains("error")) {
    return rejected{id, error_code::invalid_request,
                    "a request must not carry 'result' or 'error'"};
  }
  request r;
  r.method = m->get<std::string>();
  if (idit != j.end()) {
    if (!valid_id(*idit)) {
      return rejected{
          nullptr, error_code::invalid_request,
          idit->is_null() ? "'id' must not be null (MCP)" : "'id' must be a string or an integer"};
    }
    r.id = *idit;
  }
  if (auto p = j.find("params"); p != j.end()) {
    if (!p->is_object() && !p->is_array()) {
      return rejected{r.id, error_code::invalid_request, "'params' must be an object or an array"};
    }
    r.params = std::move(*p);
  }
  return r;
}

}  // namespace detail

/// Decodes one line (without its newline) into a message or a rejection.
inline message decode_message(std::string_view line, const framing_limits& limits = {}) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
    line.remove_suffix(1);
  if (line.size() > limits.max_line_bytes) {
    return rejected{nullptr, error_code::invalid_request,
                    "message of " + std::to_string(line.size()) + " bytes exceeds the limit of " +
                        std::to_string(limits.max_line_bytes)};
  }
  if (detail::json_depth(line, limits.max_depth) > limits.max_depth) {
    return rejected{nullptr, error_code::invalid_request,
                    "message nests deeper than " + std::to_string(limits.max_depth) + " levels"};
  }
  json j;
  try {
    j = json::parse(line);
  } catch (const json::exception& e) {
    // nlohmann's message names the byte offset of the first bad character.
    return rejected{nullptr, error_code::parse_error, std::string("parse error: ") + e.what()};
  }
  if (j.is_array()) {
    if (j.empty()) return rejected{nullptr, error_code::invalid_request, "empty batch"};
    batch b;
    b.items.reserve(j.size());
    for (auto& item : j) {
      if (item.is_array()) {
        b.items.push_back(rejected{nullptr, error_code::invalid_request, "nested batch"});
      } else {
        b.items.push_back(detail::decode_one(item));
      }
    }
    return b;
  }
  return detail::decode_one(j);
}

/// Reads one line of at most `max` bytes (the newline not included). Returns nullopt at end of
/// input; sets `too_long` and skips the rest of an overlong line (returning what fit).
inline std::optional<std::string> read_line(std::istream& in, std::size_t max, bool& too_long) {
  too_long = false;
  std::string line;
  int c;
  bool any = false;
  std::streambuf* sb = in.rdbuf();
  while ((c = sb->sbumpc()) != std::char_traits<char>::eof()) {
    any = true;
    if (c == '\n') return line;
    if (line.size() < max) {
      line.push_back(static_cast<char>(c));
    } else {
      too_long = true;
    }
  }
  in.setstate(std::ios::eofbit);
  if (!any) return std::nullopt;
  return line;
}

}  // namespace mcp
SOCHDB_END_NAMESPACE
