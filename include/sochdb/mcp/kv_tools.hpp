// sochdb/mcp/kv_tools.hpp — the key-value and log tools of the MCP server, and table resources.
//
//     auto db = sochdb::database::open("./db");
//     sochdb::mcp::server srv;
//     sochdb::mcp::add_kv_tools(srv, db);    // sochdb_get/put/delete/list_tables/describe/query
//     sochdb::mcp::add_log_tools(srv, db);   // logs_append, logs_tail, logs_timeline
//     srv.add_resources(sochdb::mcp::table_resources(db));
//
// Tables. The key-value store has no schema; a "table" is the part of a key before its first
// ':' or '/' ("users:42" and "users/42" are rows of table "users"). Values that are JSON
// objects are shown as rows with their fields as columns (so TOON prints them as one tabular
// block); other values appear as a `value` column: parsed when they are JSON, text when they
// are UTF-8, and `value_base64` otherwise. docs/mcp.md documents every tool and its schema.
//
// Logs. A log table stores one entry per key `<table>:<20-digit microseconds since the Unix
// epoch>:<4-digit sequence>`, so key order is time order; the entry is a JSON object (its
// timestamp is the key's). logs_tail reads the newest n entries with one reverse scan;
// logs_timeline reads a time range with one range scan.
//
// Thread safety: the tools call the database, which is thread-safe; the server runs them on its
// one thread. The database must outlive the server.
#pragma once

#include <sochdb/core/clock.hpp>
#include <sochdb/core/error.hpp>
#include <sochdb/mcp/server.hpp>
#include <sochdb/storage/snapshot_cursor.hpp>
#include <sochdb/toon/encode.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

SOCHDB_BEGIN_NAMESPACE
namespace mcp {

struct kv_tool_options {
  std::size_t max_limit = 10000;       ///< most rows one query returns; default 10000
  std::size_t default_limit = 100;     ///< rows when the call gives no limit; default 100
  std::size_t describe_sample = 1000;  ///< rows describe inspects for fields; default 1000
};

namespace detail {

inline bool valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0, n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80         ? 1
                      : (c >> 5) == 6  ? 2
                      : (c >> 4) == 14 ? 3
                      : (c >> 3) == 30 ? 4
                                       : 0;
    if (len == 0 || i + len > n) return false;
    std::uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (std::size_t k = 1; k < len; ++k) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += len;
  }
  return true;
}

inline std::string base64(std::string_view s) {
  static constexpr char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((s.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= s.size(); i += 3) {
    std::uint32_t v = (std::uint32_t(std::uint8_t(s[i])) << 16) |
                      (std::uint32_t(std::uint8_t(s[i + 1])) << 8) | std::uint8_t(s[i + 2]);
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
  }
  if (std::size_t rest = s.size() - i; rest > 0) {
    std::uint32_t v = std::uint32_t(std::uint8_t(s[i])) << 16;
    if (rest == 2) v |= std::uint32_t(std::uint8_t(s[i + 1])) << 8;
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += rest == 2 ? tbl[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

/// Puts `bytes` into `obj[name]` as text, or into `obj[name + "_base64"]` when not UTF-8.
inline void put_bytes(json& obj, const std::string& name, std::string_view bytes) {
  if (valid_utf8(bytes))
    obj[name] = std::string(bytes);
  else
    obj[name + "_base64"] = base64(bytes);
}

/// A stored value as JSON: parsed when it is JSON text, else a string (nullopt if not UTF-8).
inline std::optional<json> value_as_json(std::string_view v) {
  if (!valid_utf8(v)) return std::nullopt;
  json j = json::parse(v, nullptr, false);
  if (!j.is_discarded() && json_depth(v, 64) <= 64) return j;
  return json(std::string(v));
}

/// One result row for key `k` and value `v` (fields of a JSON object become columns).
inline json make_row(std::string_view k, std::string_view v) {
  json row = json::object();
  put_bytes(row, "key", k);
  auto j = value_as_json(v);
  if (!j) {
    put_bytes(row, "value", v);
  } else if (j->is_object() && !j->empty() && !j->contains("key") && !j->contains("key_base64")) {
    for (auto& [f, fv] : j->items()) row[f] = fv;
  } else {
    row["value"] = std::move(*j);
  }
  return row;
}

/// Keys of the engines' own records (namespaces, collections, caches) start with byte 0x01;
/// the tools show user tables and leave those out unless asked for by an explicit prefix.
inline bool is_internal(std::string_view key) { return !key.empty() && key[0] == '\x01'; }

/// The table of a key: the part before its first ':' or '/', or "" when it has neither (or is
/// internal).
inline std::string_view table_of(std::string_view key) {
  if (is_internal(key)) return {};
  auto p = key.find_first_of(":/");
  return p == std::string_view::npos || p == 0 ? std::string_view() : key.substr(0, p);
}

inline bool in_table(std::string_view key, std::string_view table) {
  return key.size() > table.size() && key.substr(0, table.size()) == table &&
         (key[table.size()] == ':' || key[table.size()] == '/');
}

inline std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// What a sochdb_query asks for.
struct query_plan {
  std::string table;                  ///< rows of this table ...
  std::optional<std::string> prefix;  ///< ... or keys with this prefix
  std::vector<std::string> fields;    ///< projection; empty: every column
  std::optional<std::size_t> limit;
};

/// Parses the small query language of sochdb_query (docs/mcp.md):
///   SELECT * | f1, f2, ... FROM table [LIMIT n]
/// Anything not starting with SELECT is a key prefix.
inline query_plan parse_query(std::string_view q) {
  query_plan plan;
  auto skip = [&](std::size_t i) {
    while (i < q.size() && std::isspace(static_cast<unsigned char>(q[i]))) ++i;
    return i;
  };
  auto word = [&](std::size_t& i) {
    i = skip(i);
    std::size_t s = i;
    while (i < q.size() && !std::isspace(static_cast<unsigned char>(q[i])) && q[i] != ',') ++i;
    return std::string(q.substr(s, i - s));
  };
  std::size_t i = 0;
  std::string first = word(i);
  if (lower(first) != "select") {
    plan.prefix = std::string(q);
    return plan;
  }
  auto fail = [&](const std::string& why) -> query_plan {
    throw tool_error("query: " + why + " (expected: SELECT * | field, ... FROM table [LIMIT n])");
  };
  for (;;) {
    std::string f = word(i);
    if (f.empty()) return fail("missing field list");
    if (lower(f) == "from") return fail("missing field list");
    if (f != "*") plan.fields.push_back(f);
    i = skip(i);
    if (i < q.size() && q[i] == ',') {
      ++i;
      continue;
    }
    break;
  }
  if (lower(word(i)) != "from") return fail("missing FROM");
  plan.table = word(i);
  if (plan.table.empty()) return fail("missing table name");
  std::string kw = word(i);
  if (!kw.empty()) {
    if (lower(kw) != "limit") return fail("unexpected '" + kw + "'");
    std::string n = word(i);
    std::size_t used = 0;
    unsigned long long v = 0;
    try {
      v = std::stoull(n, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (n.empty() || used != n.size()) return fail("LIMIT needs a number, got '" + n + "'");
    plan.limit = static_cast<std::size_t>(v);
    if (!word(i).empty()) return fail("text after LIMIT");
  }
  return plan;
}

inline json schema_string(std::string desc) {
  return json{{"type", "string"}, {"description", std::move(desc)}};
}

}  // namespace detail

/// Registers sochdb_get, sochdb_put, sochdb_delete, sochdb_list_tables, sochdb_describe and
/// sochdb_query over `db` (any basic_database).
template <class Database>
void add_kv_tools(server& srv, Database& db, kv_tool_options o = {}) {
  using detail::schema_string;
  const json limit_schema = {{"type", "integer"},
                             {"minimum", 1},
                             {"maximum", o.max_limit},
                             {"default", o.default_limit},
                             {"description", "most rows to return"}};

  srv.add_tool({
      .name = "sochdb_get",
      .title = "Get a value",
      .description = "Read the value stored at a key (path). JSON values come back parsed.",
      .input_schema = {{"type", "object"},
                       {"properties", {{"path", schema_string("the key, e.g. \"users:42\"")}}},
                       {"required", {"path"}}},
      .annotations = {{"readOnlyHint", true}},
      .handler =
          [&db](const json& a) {
            const std::string& path = a["path"].get_ref<const std::string&>();
            auto v = db.get(path);
            if (!v) throw tool_error("not found: " + printable_key(path));
            json out = json::object();
            out["path"] = path;
            if (auto j = detail::value_as_json(*v))
              out["value"] = std::move(*j);
            else
              detail::put_bytes(out, "value", *v);
            return out;
          },
  });

  srv.add_tool({
      .name = "sochdb_put",
      .title = "Put a value",
      .description = "Store a value at a key (path) in one durable commit. Strings are stored "
                     "as they are; any other JSON value is stored as compact JSON text.",
      .input_schema = {{"type", "object"},
                       {"properties",
                        {{"path", schema_string("the key, e.g. \"users:42\"")},
                         {"value", {{"description", "string, or any JSON value"}}},
                         {"ttl_seconds",
                          {{"type", "integer"},
                           {"minimum", 0},
                           {"description", "expire after this many seconds; 0 = never"}}}}},
                       {"required", {"path", "value"}}},
      .annotations = {{"readOnlyHint", false}, {"destructiveHint", false}},
      .handler =
          [&db](const json& a) {
            const std::string& path = a["path"].get_ref<const std::string&>();
            std::string value =
                a["value"].is_string() ? a["value"].get<std::string>() : a["value"].dump();
            long long ttl = a.value("ttl_seconds", 0LL);
            std::uint64_t ts =
                ttl > 0 ? db.put(path, value, std::chrono::seconds(ttl)) : db.put(path, value);
            return json{{"path", path}, {"bytes", value.size()}, {"commit_ts", ts}};
          },
  });

  srv.add_tool({
      .name = "sochdb_delete",
      .title = "Delete a key",
      .description = "Delete the value at a key (path). Deleting a missing key succeeds with "
                     "existed = false.",
      .input_schema = {{"type", "object"},
                       {"properties", {{"path", schema_string("the key to delete")}}},
                       {"required", {"path"}}},
      .annotations = {{"readOnlyHint", false}, {"destructiveHint", true}},
      .handler =
          [&db](const json& a) {
            const std::string& path = a["path"].get_ref<const std::string&>();
            bool existed = db.exists(path);
            std::uint64_t ts = db.del(path);
            return json{{"path", path}, {"existed", existed}, {"commit_ts", ts}};
          },
  });

  srv.add_tool({
      .name = "sochdb_list_tables",
      .title = "List tables",
      .description = "List the tables (key prefixes before the first ':' or '/') with their row "
                     "and byte counts.",
      .input_schema = {{"type", "object"}, {"properties", json::object()}},
      .annotations = {{"readOnlyHint", true}},
      .handler =
          [&db](const json&) {
            std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> tables;
            std::uint64_t ungrouped = 0, internal = 0;
            for (auto [k, v] : db.scan_prefix_unchecked("")) {
              if (detail::is_internal(k)) {
                ++internal;
                continue;
              }
              auto t = detail::table_of(k);
              if (t.empty()) {
                ++ungrouped;
                continue;
              }
              auto& e = tables[std::string(t)];
              ++e.first;
              e.second += k.size() + v.size();
            }
            json rows = json::array();
            for (auto& [name, e] : tables) {
              json r = json::object();
              detail::put_bytes(r, "table", name);
              r["rows"] = e.first;
              r["bytes"] = e.second;
              rows.push_back(std::move(r));
            }
            return json{{"tables", std::move(rows)},
                        {"ungrouped_keys", ungrouped},
                        {"internal_keys", internal}};
          },
  });

  srv.add_tool({
      .name = "sochdb_describe",
      .title = "Describe a table",
      .description = "Describe a table: row count, bytes, first and last key, the fields of its "
                     "JSON-object rows with their types, and a few sample rows.",
      .input_schema = {{"type", "object"},
                       {"properties", {{"table", schema_string("table name, e.g. \"users\"")}}},
                       {"required", {"table"}}},
      .annotations = {{"readOnlyHint", true}},
      .handler =
          [&db, o](const json& a) {
            const std::string& table = a["table"].get_ref<const std::string&>();
            std::uint64_t rows = 0, bytes = 0, objects = 0, other = 0;
            std::map<std::string, std::map<std::string, std::uint64_t>> fields;
            json samples = json::array();
            std::string first, last;
            for (auto [k, v] : db.scan_prefix_unchecked(table)) {
              if (!detail::in_table(k, table)) continue;
              if (rows == 0) first = k;
              last = k;
              ++rows;
              bytes += k.size() + v.size();
              if (rows > o.describe_sample) continue;
              if (samples.size() < 3) samples.push_back(detail::make_row(k, v));
              auto j = detail::value_as_json(v);
              if (j && j->is_object()) {
                ++objects;
                for (auto& [f, fv] : j->items()) ++fields[f][detail::json_type_name(fv)];
              } else {
                ++other;
              }
            }
            if (rows == 0)
              throw tool_error("no table " + printable_key(table) + " (no key starts with '" +
                               table + ":' or '" + table + "/')");
            json fl = json::array();
            for (auto& [f, types] : fields) {
              std::string ts;
              std::uint64_t seen = 0;
              for (auto& [t, n] : types) {
                ts += (ts.empty() ? "" : "|") + t;
                seen += n;
              }
              fl.push_back({{"field", f}, {"types", ts}, {"rows", seen}});
            }
            json out = json::object();
            detail::put_bytes(out, "table", table);
            out["rows"] = rows;
            out["bytes"] = bytes;
            detail::put_bytes(out, "first_key", first);
            detail::put_bytes(out, "last_key", last);
            out["sampled_rows"] = std::min<std::uint64_t>(rows, o.describe_sample);
            out["object_rows"] = objects;
            out["other_rows"] = other;
            out["fields"] = std::move(fl);
            out["sample"] = std::move(samples);
            return out;
          },
  });

  srv.add_tool({
      .name = "sochdb_query",
      .title = "Query rows",
      .description =
          "Read rows in key order. `query` is either `SELECT * | field, ... FROM table [LIMIT n]` "
          "or a key prefix (\"users:\"); without a query, `start`/`end` give a key range "
          "[start, end). Rows whose values are JSON objects have their fields as columns; TOON "
          "prints uniform rows as one table.",
      .input_schema = {{"type", "object"},
                       {"properties",
                        {{"query",
                          schema_string("SELECT ... FROM table [LIMIT n], or a key prefix")},
                         {"start", schema_string("first key of a range (inclusive)")},
                         {"end", schema_string("end of the range (exclusive); empty = to the end")},
                         {"limit", limit_schema},
                         {"reverse",
                          {{"type", "boolean"},
                           {"default", false},
                           {"description", "descending key order"}}}}}},
      .annotations = {{"readOnlyHint", true}},
      .handler =
          [&db, o](const json& a) {
            detail::query_plan plan;
            if (a.contains("query")) {
              if (a.contains("start") || a.contains("end"))
                throw tool_error("give either query or start/end, not both");
              plan = detail::parse_query(a["query"].get_ref<const std::string&>());
            }
            std::size_t limit = a.value("limit", o.default_limit);
            if (plan.limit) limit = std::min(*plan.limit, o.max_limit);
            auto order = a.value("reverse", false) ? scan_order::reverse : scan_order::forward;
            auto scan = !plan.table.empty() ? db.scan_prefix_unchecked(plan.table, order)
                        : plan.prefix       ? db.scan_prefix_unchecked(*plan.prefix, order)
                                            : db.scan_range(a.value("start", std::string()),
                                                            a.value("end", std::string()), order);
            json rows = json::array();
            bool more = false;
            // Engine records show only when the caller's prefix or start asks for them.
            std::string asked = plan.prefix ? *plan.prefix : a.value("start", std::string());
            bool show_internal = detail::is_internal(asked);
            for (auto [k, v] : scan) {
              if (!plan.table.empty() && !detail::in_table(k, plan.table)) continue;
              if (!show_internal && detail::is_internal(k)) continue;
              if (rows.size() == limit) {
                more = true;
                break;
              }
              json row = detail::make_row(k, v);
              if (!plan.fields.empty()) {
                json p = json::object();
                p["key"] = row.contains("key") ? row["key"] : row["key_base64"];
                for (auto& f : plan.fields) p[f] = row.contains(f) ? row[f] : json();
                row = std::move(p);
              }
              rows.push_back(std::move(row));
            }
            std::size_t n = rows.size();
            return json{{"rows", std::move(rows)}, {"count", n}, {"truncated", more}};
          },
  });
}

// ---- logs ----

namespace detail {

inline std::optional<std::int64_t> parse_time(std::string_view s) { return parse_iso8601_us(s); }
inline std::string format_time(std::int64_t us) { return format_iso8601_us(us); }

inline std::string log_prefix(std::string_view table) { return std::string(table) + ":"; }

inline std::string pad20(std::int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(std::max<std::int64_t>(v, 0)));
  return buf;
}

/// A log row: ts from the key, then the entry's fields.
inline json log_row(std::string_view table, std::string_view k, std::string_view v) {
  json row = json::object();
  std::string_view rest = k.substr(table.size() + 1);
  std::int64_t us = 0;
  for (std::size_t i = 0; i < 20 && i < rest.size(); ++i) us = us * 10 + (rest[i] - '0');
  row["ts"] = format_time(us);
  json r = make_row(k, v);
  for (auto& [f, fv] : r.items()) {
    if (f != "ts") row[f] = fv;
  }
  return row;
}

inline bool is_log_key(std::string_view table, std::string_view k) {
  if (k.size() < table.size() + 1 + 20) return false;
  for (std::size_t i = 0; i < 20; ++i) {
    char c = k[table.size() + 1 + i];
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace detail

/// The key of a log entry of `table` at `micros` since the epoch with sequence `seq`.
inline std::string log_key(std::string_view table, std::int64_t micros, unsigned seq = 0) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04u", seq % 10000);
  return detail::log_prefix(table) + detail::pad20(micros) + ":" + buf;
}

/// Registers logs_append, logs_tail and logs_timeline over `db`.
template <class Database>
void add_log_tools(server& srv, Database& db) {
  using detail::schema_string;
  const json table_schema = schema_string("log table, e.g. \"agent_log\"");
  auto check_table = [](const std::string& t) {
    if (t.empty() || t.find_first_of(":/") != std::string::npos)
      throw tool_error("log table name must be non-empty without ':' or '/', got " +
                       printable_key(t));
  };
  auto seq = std::make_shared<std::atomic<unsigned>>(0);

  srv.add_tool({
      .name = "logs_append",
      .title = "Append a log entry",
      .description = "Append an entry (a JSON object) to a log table, timestamped now or at `ts`.",
      .input_schema =
          {{"type", "object"},
           {"properties",
            {{"table", table_schema},
             {"entry", {{"type", "object"}, {"description", "the entry's fields"}}},
             {"ts", schema_string("ISO-8601 time (UTC unless an offset is given); default now")}}},
           {"required", {"table", "entry"}}},
      .annotations = {{"readOnlyHint", false}, {"destructiveHint", false}},
      .handler =
          [&db, check_table, seq](const json& a) {
            const std::string& table = a["table"].get_ref<const std::string&>();
            check_table(table);
            std::int64_t us;
            if (a.contains("ts")) {
              auto t = detail::parse_time(a["ts"].get_ref<const std::string&>());
              if (!t) throw tool_error("ts: not an ISO-8601 time: " + a["ts"].dump());
              us = *t;
            } else {
              us = system_now_us();
            }
            std::string key = log_key(table, us, seq->fetch_add(1));
            db.put(key, a["entry"].dump());
            return json{{"table", table}, {"key", key}, {"ts", detail::format_time(us)}};
          },
  });

  srv.add_tool({
      .name = "logs_tail",
      .title = "Newest log entries",
      .description = "The last n entries of a log table, oldest first.",
      .input_schema = {{"type", "object"},
                       {"properties",
                        {{"table", table_schema},
                         {"n",
                          {{"type", "integer"},
                           {"minimum", 1},
                           {"maximum", 10000},
                           {"default", 20},
                           {"description", "entries to return"}}}}},
                       {"required", {"table"}}},
      .annotations = {{"readOnlyHint", true}},
      .handler =
          [&db, check_table](const json& a) {
            const std::string& table = a["table"].get_ref<const std::string&>();
            check_table(table);
            std::size_t n = a.value("n", 20);
            json rows = json::array();
            for (auto [k, v] :
                 db.scan_prefix_unchecked(detail::log_prefix(table), scan_order::reverse)) {
              if (!detail::is_log_key(table, k)) continue;
              if (rows.size() == n) break;
              rows.push_back(detail::log_row(table, k, v));
            }
            std::reverse(rows.begin(), rows.end());
            std::size_t count = rows.size();
            return json{{"table", table}, {"entries", std::move(rows)}, {"count", count}};
          },
  });

  srv.add_tool({
      .name = "logs_timeline",
      .title = "Log entries in a time range",
      .description = "Entries of a log table with start <= ts < end, oldest first. Times are "
                     "ISO-8601 (\"2026-11-21T20:00:00Z\") or microseconds since the epoch.",
      .input_schema = {{"type", "object"},
                       {"properties",
                        {{"table", table_schema},
                         {"start", schema_string("inclusive start time")},
                         {"end", schema_string("exclusive end time")},
                         {"limit",
                          {{"type", "integer"},
                           {"minimum", 1},
                           {"maximum", 10000},
                           {"default", 100},
                           {"description", "most entries"}}}}},
                       {"required", {"table", "start", "end"}}},
      .annotations = {{"readOnlyHint", true}},
      .handler =
          [&db, check_table](const json& a) {
            const std::string& table = a["table"].get_ref<const std::string&>();
            check_table(table);
            auto start = detail::parse_time(a["start"].get_ref<const std::string&>());
            auto end = detail::parse_time(a["end"].get_ref<const std::string&>());
            if (!start) throw tool_error("start: not an ISO-8601 time: " + a["start"].dump());
            if (!end) throw tool_error("end: not an ISO-8601 time: " + a["end"].dump());
            if (*end < *start) throw tool_error("end is before start");
            std::size_t limit = a.value("limit", 100);
            json rows = json::array();
            bool more = false;
            for (auto [k, v] : db.scan_range(detail::log_prefix(table) + detail::pad20(*start),
                                             detail::log_prefix(table) + detail::pad20(*end))) {
              if (!detail::is_log_key(table, k)) continue;
              if (rows.size() == limit) {
                more = true;
                break;
              }
              rows.push_back(detail::log_row(table, k, v));
            }
            std::size_t count = rows.size();
            return json{{"table", table},
                        {"start", detail::format_time(*start)},
                        {"end", detail::format_time(*end)},
                        {"entries", std::move(rows)},
                        {"count", count},
                        {"truncated", more}};
          },
  });
}

// ---- resources: one per table ----

namespace detail {
inline std::string percent_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}
inline std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    auto hex = [](char c) {
      return c >= '0' && c <= '9'   ? c - '0'
             : c >= 'A' && c <= 'F' ? c - 'A' + 10
             : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                    : -1;
    };
    int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}
}  // namespace detail

/// Resources "sochdb://tables/<table>": each table's first `rows` rows as TOON.
template <class Database>
resource_source table_resources(Database& db, std::size_t rows = 100) {
  static constexpr std::string_view scheme = "sochdb://tables/";
  resource_source src;
  src.list = [&db]() {
    std::vector<json> out;
    std::string last;
    bool any = false;
    for (auto [k, v] : db.scan_prefix_unchecked("")) {
      auto t = detail::table_of(k);
      if (t.empty() || (any && t == last)) continue;
      last = std::string(t);
      any = true;
      if (!detail::valid_utf8(last)) continue;
      out.push_back({{"uri", std::string(scheme) + detail::percent_encode(last)},
                     {"name", last},
                     {"description", "rows of table " + last + " (TOON)"},
                     {"mimeType", "text/plain"}});
    }
    return out;
  };
  src.read = [&db, rows](const std::string& uri) -> std::optional<json> {
    if (uri.rfind(scheme, 0) != 0) return std::nullopt;
    auto table = detail::percent_decode(std::string_view(uri).substr(scheme.size()));
    if (!table || table->empty()) return std::nullopt;
    json list = json::array();
    for (auto [k, v] : db.scan_prefix_unchecked(*table)) {
      if (!detail::in_table(k, *table)) continue;
      if (list.size() == rows) break;
      list.push_back(detail::make_row(k, v));
    }
    if (list.empty()) return std::nullopt;
    return json{{"uri", uri},
                {"mimeType", "text/plain"},
                {"text", toon::encode(json{{"rows", std::move(list)}})}};
  };
  return src;
}

}  // namespace mcp
SOCHDB_END_NAMESPACE
