// sochdb/mcp/schema.hpp — checks tool arguments against the tool's JSON Schema.
//
// MCP tools declare their arguments as JSON Schema (`inputSchema`). The server checks every
// tools/call against it before the tool runs, so a tool's handler can rely on the types it
// declared, and a client that sends wrong arguments gets a JSON-RPC -32602 naming the offending
// member ("arguments.limit: expected integer, got string"). The checker covers the keywords our
// tools use — type (one name or a list), properties, required, additionalProperties (boolean),
// items, enum, minimum, maximum, minLength, maxLength, minItems, maxItems — and ignores the
// annotations (description, default, title, examples). `check_schema_keywords` rejects a schema
// using any other keyword, so a tool cannot declare a constraint that would silently go
// unchecked.
//
// Thread safety: free functions without shared state. Recursion is bounded by the depth of the
// schema (ours are at most four levels); values are checked only as deep as the schema goes.
#pragma once

#include <sochdb/core/error.hpp>
#include <sochdb/mcp/json_rpc.hpp>

#include <optional>
#include <string>

SOCHDB_BEGIN_NAMESPACE
namespace mcp {

namespace detail {

inline std::string json_type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    default:
      return "binary";
  }
}

inline bool type_matches(const std::string& t, const json& v) {
  if (t == "integer") {
    if (v.is_number_integer() || v.is_number_unsigned()) return true;
    // JSON Schema: an integer is a number with a zero fractional part (1.0 included).
    if (v.is_number_float()) {
      double d = v.get<double>();
      return d == static_cast<double>(static_cast<long long>(d)) && d > -9.2e18 && d < 9.2e18;
    }
    return false;
  }
  if (t == "number") return v.is_number();
  return json_type_name(v) == t;
}

}  // namespace detail

/// Throws invalid_argument when `schema` uses a keyword the checker does not implement.
inline void check_schema_keywords(const json& schema, const std::string& where) {
  static const char* const known[] = {
      "type",        "properties", "required", "additionalProperties",
      "items",       "enum",       "minimum",  "maximum",
      "minLength",   "maxLength",  "minItems", "maxItems",
      "description", "default",    "title",    "examples",
      "$schema"};
  if (!schema.is_object()) throw invalid_argument(where + ": a schema must be an object");
  for (auto& [k, v] : schema.items()) {
    bool ok = false;
    for (const char* kn : known) ok = ok || k == kn;
    if (!ok) throw invalid_argument(where + ": unsupported schema keyword '" + k + "'");
    if (k == "properties") {
      if (!v.is_object()) throw invalid_argument(where + ": 'properties' must be an object");
      for (auto& [pk, pv] : v.items()) check_schema_keywords(pv, where + "." + pk);
    } else if (k == "items") {
      check_schema_keywords(v, where + "[]");
    } else if (k == "additionalProperties" && !v.is_boolean()) {
      throw invalid_argument(where + ": 'additionalProperties' must be a boolean here");
    }
  }
}

/// The first violation of `schema` by `value` ("arguments.k: expected integer, got string"),
/// or nullopt when it conforms.
inline std::optional<std::string> validate(const json& schema, const json& value,
                                           const std::string& path) {
  if (!schema.is_object()) return std::nullopt;
  if (auto t = schema.find("type"); t != schema.end()) {
    bool ok = false;
    std::string expected;
    if (t->is_string()) {
      expected = t->get<std::string>();
      ok = detail::type_matches(expected, value);
    } else if (t->is_array()) {
      for (auto& one : *t) {
        if (!one.is_string()) continue;
        if (!expected.empty()) expected += " or ";
        expected += one.get<std::string>();
        ok = ok || detail::type_matches(one.get<std::string>(), value);
      }
    }
    if (!ok) return path + ": expected " + expected + ", got " + detail::json_type_name(value);
  }
  if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
    bool ok = false;
    for (auto& one : *e) ok = ok || one == value;
    if (!ok) return path + ": must be one of " + e->dump() + ", got " + value.dump();
  }
  if (value.is_number()) {
    double d = value.get<double>();
    if (auto m = schema.find("minimum");
        m != schema.end() && m->is_number() && d < m->get<double>())
      return path + ": must be at least " + m->dump() + ", got " + value.dump();
    if (auto m = schema.find("maximum");
        m != schema.end() && m->is_number() && d > m->get<double>())
      return path + ": must be at most " + m->dump() + ", got " + value.dump();
  }
  if (value.is_string()) {
    // Lengths in code points, as JSON Schema counts them.
    std::size_t n = 0;
    for (unsigned char c : value.get_ref<const std::string&>()) n += (c & 0xC0) != 0x80;
    if (auto m = schema.find("minLength");
        m != schema.end() && m->is_number_integer() && n < m->get<std::size_t>())
      return path + ": must be at least " + m->dump() + " characters long";
    if (auto m = schema.find("maxLength");
        m != schema.end() && m->is_number_integer() && n > m->get<std::size_t>())
      return path + ": must be at most " + m->dump() + " characters long";
  }
  if (value.is_array()) {
    if (auto m = schema.find("minItems");
        m != schema.end() && m->is_number_integer() && value.size() < m->get<std::size_t>())
      return path + ": needs at least " + m->dump() + " items";
    if (auto m = schema.find("maxItems");
        m != schema.end() && m->is_number_integer() && value.size() > m->get<std::size_t>())
      return path + ": allows at most " + m->dump() + " items";
    if (auto it = schema.find("items"); it != schema.end()) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        if (auto bad = validate(*it, value[i], path + "[" + std::to_string(i) + "]")) return bad;
      }
    }
  }
  if (value.is_object()) {
    const json* props = nullptr;
    if (auto p = schema.find("properties"); p != schema.end() && p->is_object()) props = &*p;
    if (auto r = schema.find("required"); r != schema.end() && r->is_array()) {
      for (auto& name : *r) {
        if (name.is_string() && !value.contains(name.get<std::string>()))
          return path + ": missing required member '" + name.get<std::string>() + "'";
      }
    }
    bool closed = false;
    if (auto a = schema.find("additionalProperties"); a != schema.end() && a->is_boolean())
      closed = !a->get<bool>();
    for (auto& [k, v] : value.items()) {
      const json* sub = nullptr;
      if (props) {
        if (auto s = props->find(k); s != props->end()) sub = &*s;
      }
      if (!sub) {
        if (closed) return path + ": unknown member '" + k + "'";
        continue;
      }
      if (auto bad = validate(*sub, v, path + "." + k)) return bad;
    }
  }
  return std::nullopt;
}

}  // namespace mcp
SOCHDB_END_NAMESPACE
