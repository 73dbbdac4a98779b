// The MCP server without a process: JSON-RPC framing and its error codes, the lifecycle and
// version negotiation, batches per revision, the argument checker, and every key-value and log
// tool over a memory_fs database.
#include <sochdb/db.hpp>
#include <sochdb/mcp.hpp>
#include <sochdb/mcp/collection_tools.hpp>
#include <sochdb/mcp/context_tools.hpp>

#include <doctest/doctest.h>

#include <sstream>
#include <string>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_mcp_mcp_test {

using namespace sochdb;
using mcp::json;
using mem_db = basic_database<wal_storage<memory_fs>>;

namespace {

json reply(mcp::server& s, const std::string& line) {
  auto r = s.handle_line(line);
  REQUIRE(r.has_value());
  CHECK(r->find('\n') == std::string::npos);
  return json::parse(*r);
}

int error_code_of(mcp::server& s, const std::string& line) {
  json r = reply(s, line);
  REQUIRE(r.contains("error"));
  CHECK(r["jsonrpc"] == "2.0");
  CHECK(r["error"]["message"].is_string());
  return r["error"]["code"].get<int>();
}

void initialize(mcp::server& s, const std::string& version = "2025-06-18") {
  json r =
      reply(s, R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":")" +
                   version + R"(","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
  REQUIRE(r.contains("result"));
  CHECK_FALSE(s.handle_line(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"));
  CHECK(s.ready());
}

json call(mcp::server& s, const std::string& tool, const json& args, int id = 7) {
  json req = {{"jsonrpc", "2.0"},
              {"id", id},
              {"method", "tools/call"},
              {"params", {{"name", tool}, {"arguments", args}}}};
  json r = reply(s, req.dump());
  REQUIRE_MESSAGE(r.contains("result"), r.dump());
  CHECK(r["id"] == id);
  return r["result"];
}

struct fixture {
  memory_fs fs;
  mem_db db = mem_db::open("/db", {}, fs);
  mcp::server srv;
  fixture() {
    mcp::add_kv_tools(srv, db);
    mcp::add_log_tools(srv, db);
    srv.add_resources(mcp::table_resources(db));
  }
};

}  // namespace

TEST_CASE("json-rpc: malformed lines get the right error codes") {
  mcp::server s;
  initialize(s);
  CHECK(error_code_of(s, "{not json") == -32700);
  CHECK(error_code_of(s, "\xff\xfe") == -32700);
  CHECK(error_code_of(s, R"({"jsonrpc":"2.0","id":1,"method":"ping")") == -32700);
  CHECK(error_code_of(s, R"("just a string")") == -32600);
  CHECK(error_code_of(s, "42") == -32600);
  CHECK(error_code_of(s, "[]") == -32600);
  CHECK(error_code_of(s, R"({"id":1,"method":"ping"})") == -32600);  // no jsonrpc
  CHECK(error_code_of(s, R"({"jsonrpc":"1.0","id":1,"method":"ping"})") == -32600);
  CHECK(error_code_of(s, R"({"jsonrpc":"2.0","id":1,"method":5})") == -32600);
  CHECK(error_code_of(s, R"({"jsonrpc":"2.0","id":null,"method":"ping"})") == -32600);
  CHECK(error_code_of(s, R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})") == -32600);
  CHECK(error_code_of(s, R"({"jsonrpc":"2.0","id":{},"method":"ping"})") == -32600);
  CHECK(error_code_of(s, R"({"jsonrpc":"2.0","id":1,"method":"ping","params":3})") == -32600);
  CHECK(error_code_of(s, R"({"jsonrpc":"2.0","id":1,"method":"ping","result":{}})") == -32600);
  CHECK(error_code_of(s, R"({"jsonrpc":"2.0","id":1})") == -32600);
  CHECK(error_code_of(s, R"({"jsonrpc":"2.0","id":1,"method":"no/such"})") == -32601);
  CHECK(error_code_of(s, R"({"jsonrpc":"2.0","id":1,"method":"ping","params":[1]})") == -32602);
  // The error answers the request's id when it was readable.
  json r = reply(s, R"({"jsonrpc":"2.0","id":"abc","method":"no/such"})");
  CHECK(r["id"] == "abc");
  r = reply(s, "{oops");
  CHECK(r["id"].is_null());
  // Deep nesting is refused before parsing.
  std::string deep = R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":)" +
                     std::string(500, '[') + std::string(500, ']') + "}}";
  CHECK(error_code_of(s, deep) == -32600);
  // Blank lines, notifications and responses get no reply.
  CHECK_FALSE(s.handle_line("   "));
  CHECK_FALSE(s.handle_line(R"({"jsonrpc":"2.0","method":"notifications/whatever"})"));
  CHECK_FALSE(s.handle_line(R"({"jsonrpc":"2.0","id":3,"result":{}})"));
  // A valid ping still works after all that.
  r = reply(s, R"({"jsonrpc":"2.0","id":9,"method":"ping"})");
  CHECK(r["result"] == json::object());
}

TEST_CASE("lifecycle: initialize first, once; versions negotiated") {
  mcp::server s;
  // Before initialize: ping works, everything else is refused.
  CHECK(reply(s, R"({"jsonrpc":"2.0","id":1,"method":"ping"})").contains("result"));
  CHECK(error_code_of(s, R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})") == -32600);
  CHECK(error_code_of(s, R"({"jsonrpc":"2.0","id":3,"method":"initialize","params":{}})") ==
        -32602);
  CHECK(error_code_of(s, R"({"jsonrpc":"2.0","id":3,"method":"initialize"})") == -32602);
  CHECK_FALSE(s.initialized());

  SUBCASE("a version we speak is echoed") {
    for (auto v : {"2025-06-18", "2025-03-26", "2024-11-05"}) {
      mcp::server t;
      json r = reply(
          t, std::string(
                 R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":")") +
                 v + R"(","capabilities":{},"clientInfo":{"name":"c","version":"1"}}})");
      CHECK(r["result"]["protocolVersion"] == v);
      CHECK(r["result"]["serverInfo"]["name"] == "sochdb");
      CHECK(r["result"]["capabilities"].contains("tools"));
      CHECK(t.protocol_version() == v);
    }
  }
  SUBCASE("an unknown version gets our newest") {
    json r = reply(
        s,
        R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2099-01-01","capabilities":{},"clientInfo":{"name":"c","version":"1"}}})");
    CHECK(r["result"]["protocolVersion"] == "2025-06-18");
    CHECK(
        error_code_of(
            s,
            R"({"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2025-06-18"}})") ==
        -32600);
  }
}

TEST_CASE("batches: only under 2025-03-26") {
  const std::string batch =
      R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"},)"
      R"({"jsonrpc":"2.0","id":2,"method":"nope"},{"jsonrpc":"2.0","id":3}])";
  {
    mcp::server s;
    CHECK(error_code_of(s, batch) == -32600);  // before initialize
    initialize(s, "2025-06-18");
    CHECK(error_code_of(s, batch) == -32600);
  }
  {
    mcp::server s;
    initialize(s, "2024-11-05");
    CHECK(error_code_of(s, batch) == -32600);
  }
  mcp::server s;
  initialize(s, "2025-03-26");
  json r = reply(s, batch);
  REQUIRE(r.is_array());
  REQUIRE(r.size() == 3);  // the notification gets nothing
  CHECK(r[0]["id"] == 1);
  CHECK(r[0]["result"] == json::object());
  CHECK(r[1]["error"]["code"] == -32601);
  CHECK(r[2]["error"]["code"] == -32600);
  CHECK_FALSE(s.handle_line(R"([{"jsonrpc":"2.0","method":"notifications/x"}])"));
  r = reply(
      s,
      R"([{"jsonrpc":"2.0","id":5,"method":"initialize","params":{"protocolVersion":"2025-03-26"}}])");
  CHECK(r[0]["error"]["code"] == -32600);
}

TEST_CASE("registry: tools are checked at registration and listed with their schemas") {
  mcp::server s;
  auto h = [](const json&) { return json::object(); };
  CHECK_THROWS_AS(s.add_tool({.name = "", .handler = h}), invalid_argument);
  CHECK_THROWS_AS(s.add_tool({.name = "bad name", .handler = h}), invalid_argument);
  CHECK_THROWS_AS(s.add_tool({.name = "x"}), invalid_argument);
  CHECK_THROWS_AS(s.add_tool({.name = "x", .input_schema = {{"type", "array"}}, .handler = h}),
                  invalid_argument);
  CHECK_THROWS_AS(s.add_tool({.name = "x",
                              .input_schema = {{"type", "object"},
                                               {"properties", {{"a", {{"pattern", "^a"}}}}}},
                              .handler = h}),
                  invalid_argument);  // a keyword the checker would ignore
  s.add_tool({.name = "echo",
              .title = "Echo",
              .description = "echoes",
              .input_schema = {{"type", "object"},
                               {"properties",
                                {{"text", {{"type", "string"}, {"maxLength", 5}}},
                                 {"n", {{"type", "integer"}, {"minimum", 1}}},
                                 {"tags", {{"type", "array"}, {"items", {{"type", "string"}}}}}}},
                               {"required", {"text"}},
                               {"additionalProperties", false}},
              .handler = [](const json& a) {
                return json{{"echo", a["text"]}, {"n", a.value("n", 1)}};
              }});
  CHECK_THROWS_AS(s.add_tool({.name = "echo", .handler = h}), invalid_argument);
  initialize(s);
  json list = reply(s, R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})")["result"]["tools"];
  REQUIRE(list.size() == 1);
  CHECK(list[0]["name"] == "echo");
  CHECK(list[0]["title"] == "Echo");
  CHECK(list[0]["inputSchema"]["type"] == "object");
  CHECK(list[0]["inputSchema"]["properties"].contains("format"));  // added at registration

  // Argument checking: -32602 naming the member.
  auto bad = [&](const json& args) {
    json req = {{"jsonrpc", "2.0"},
                {"id", 2},
                {"method", "tools/call"},
                {"params", {{"name", "echo"}, {"arguments", args}}}};
    json r = reply(s, req.dump());
    REQUIRE(r.contains("error"));
    CHECK(r["error"]["code"] == -32602);
    return r["error"]["message"].get<std::string>();
  };
  CHECK(bad(json::object()).find("missing required member 'text'") != std::string::npos);
  CHECK(bad({{"text", 5}}).find("arguments.text: expected string, got integer") !=
        std::string::npos);
  CHECK(bad({{"text", "toolong"}}).find("at most 5") != std::string::npos);
  CHECK(bad({{"text", "a"}, {"n", 0}}).find("at least 1") != std::string::npos);
  CHECK(bad({{"text", "a"}, {"n", 1.5}}).find("expected integer") != std::string::npos);
  CHECK(bad({{"text", "a"}, {"tags", {"x", 1}}}).find("arguments.tags[1]") != std::string::npos);
  CHECK(bad({{"text", "a"}, {"extra", 1}}).find("unknown member 'extra'") != std::string::npos);
  CHECK(bad({{"text", "a"}, {"format", "xml"}}).find("must be one of") != std::string::npos);
  CHECK(error_code_of(
            s, R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"nope"}})") ==
        -32602);
  CHECK(error_code_of(s, R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{}})") ==
        -32602);
  CHECK(
      error_code_of(
          s,
          R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":[1]}})") ==
      -32602);

  // A good call: TOON text by default, JSON on request, structuredContent either way.
  json r = call(s, "echo", {{"text", "hi"}, {"n", 2.0}});
  CHECK(r["isError"] == false);
  CHECK(r["content"][0]["type"] == "text");
  CHECK(r["content"][0]["text"] == "echo: hi\nn: 2");
  CHECK(r["structuredContent"]["echo"] == "hi");
  r = call(s, "echo", {{"text", "hi"}, {"format", "json"}});
  CHECK(json::parse(r["content"][0]["text"].get<std::string>()) == r["structuredContent"]);
}

TEST_CASE("tools: a failing tool is an isError result; older revisions get no structuredContent") {
  mcp::server s;
  s.add_tool(
      {.name = "boom", .handler = [](const json&) -> json { throw mcp::tool_error("it broke"); }});
  s.add_tool({.name = "ok", .handler = [](const json&) { return json{{"a", 1}}; }});
  initialize(s, "2025-03-26");
  json r = call(s, "boom", json::object());
  CHECK(r["isError"] == true);
  CHECK(r["content"][0]["text"] == "error: it broke");
  CHECK_FALSE(r.contains("structuredContent"));
  r = call(s, "ok", json::object());
  CHECK(r["isError"] == false);
  CHECK_FALSE(r.contains("structuredContent"));
  json list =
      reply(s, R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}})")["result"]["tools"];
  CHECK_FALSE(list[0].contains("title"));
  CHECK(error_code_of(
            s, R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"x"}})") ==
        -32602);
}

TEST_CASE("kv tools: put, get, delete, list_tables, describe, query") {
  fixture f;
  initialize(f.srv);
  CHECK(call(f.srv, "sochdb_put",
             {{"path", "users:1"}, {"value", {{"name", "Alice"}, {"age", 31}}}})["isError"] ==
        false);
  call(f.srv, "sochdb_put", {{"path", "users:2"}, {"value", {{"name", "Bob"}, {"age", 27}}}});
  call(f.srv, "sochdb_put", {{"path", "users:3"}, {"value", {{"name", "Carol"}, {"age", 45}}}});
  call(f.srv, "sochdb_put", {{"path", "notes/a"}, {"value", "plain text"}});
  call(f.srv, "sochdb_put", {{"path", "loose"}, {"value", "x"}});
  CHECK(f.db.get("users:1") == R"({"name":"Alice","age":31})");
  CHECK(f.db.get("notes/a") == "plain text");

  json r = call(f.srv, "sochdb_get", {{"path", "users:2"}});
  CHECK(r["structuredContent"]["value"]["name"] == "Bob");
  r = call(f.srv, "sochdb_get", {{"path", "users:9"}});
  CHECK(r["isError"] == true);
  CHECK(r["content"][0]["text"].get<std::string>().find("not found: 'users:9'") !=
        std::string::npos);

  r = call(f.srv, "sochdb_list_tables", json::object());
  json tables = r["structuredContent"]["tables"];
  REQUIRE(tables.size() == 2);
  CHECK(tables[0]["table"] == "notes");
  CHECK(tables[1]["table"] == "users");
  CHECK(tables[1]["rows"] == 3);
  CHECK(r["structuredContent"]["ungrouped_keys"] == 1);

  r = call(f.srv, "sochdb_describe", {{"table", "users"}});
  CHECK(r["structuredContent"]["rows"] == 3);
  CHECK(r["structuredContent"]["first_key"] == "users:1");
  CHECK(r["structuredContent"]["fields"].size() == 2);
  CHECK(call(f.srv, "sochdb_describe", {{"table", "nope"}})["isError"] == true);

  // SELECT over a table: rows as one TOON table.
  r = call(f.srv, "sochdb_query", {{"query", "SELECT * FROM users LIMIT 2"}});
  CHECK(r["structuredContent"]["count"] == 2);
  CHECK(r["structuredContent"]["truncated"] == true);
  std::string text = r["content"][0]["text"];
  CHECK(text.find("rows[2]{key,name,age}:\n  \"users:1\",Alice,31\n  \"users:2\",Bob,27") !=
        std::string::npos);
  r = call(f.srv, "sochdb_query", {{"query", "select name from users"}, {"reverse", true}});
  CHECK(r["structuredContent"]["rows"][0] == json{{"key", "users:3"}, {"name", "Carol"}});
  // A prefix, a range, the limit argument.
  r = call(f.srv, "sochdb_query", {{"query", "notes/"}});
  CHECK(r["structuredContent"]["rows"][0]["value"] == "plain text");
  r = call(f.srv, "sochdb_query", {{"start", "users:2"}, {"end", "users:3"}});
  CHECK(r["structuredContent"]["count"] == 1);
  r = call(f.srv, "sochdb_query", {{"start", "a"}, {"limit", 1}});
  CHECK(r["structuredContent"]["rows"][0]["key"] == "loose");
  CHECK(call(f.srv, "sochdb_query", {{"query", "SELECT FROM users"}})["isError"] == true);
  CHECK(call(f.srv, "sochdb_query", {{"query", "SELECT * FROM users LIMIT x"}})["isError"] == true);
  CHECK(call(f.srv, "sochdb_query", {{"query", "SELECT * users"}})["isError"] == true);
  CHECK(call(f.srv, "sochdb_query", {{"query", "x"}, {"start", "a"}})["isError"] == true);

  r = call(f.srv, "sochdb_delete", {{"path", "users:3"}});
  CHECK(r["structuredContent"]["existed"] == true);
  CHECK_FALSE(f.db.get("users:3"));
  r = call(f.srv, "sochdb_delete", {{"path", "users:3"}});
  CHECK(r["structuredContent"]["existed"] == false);

  // Binary keys and values come back as base64, never as broken UTF-8.
  f.db.put(std::string("bin:\xff", 5), std::string("\x00\xfe", 2));
  r = call(f.srv, "sochdb_query", {{"query", "bin:"}});
  CHECK(r["structuredContent"]["rows"][0]["key_base64"] == "YmluOv8=");
  CHECK(r["structuredContent"]["rows"][0]["value_base64"] == "AP4=");

  // Engine records (keys starting with 0x01: namespaces, collections) stay out of the tables
  // and of unprefixed queries, and show when asked for by prefix.
  f.db.put(std::string("\x01n/t/k/x", 9), "internal");
  r = call(f.srv, "sochdb_list_tables", json::object());
  CHECK(r["structuredContent"]["internal_keys"] == 1);
  CHECK(r["structuredContent"]["tables"].size() == 3);  // bin, notes, users
  r = call(f.srv, "sochdb_query", {{"start", ""}, {"limit", 1}});
  CHECK(r["structuredContent"]["rows"][0]["key"] != std::string("\x01n/t/k/x", 9));
  r = call(f.srv, "sochdb_query", {{"query", "\x01n/"}});
  CHECK(r["structuredContent"]["count"] == 1);

  // TTL: expires.
  r = call(f.srv, "sochdb_put", {{"path", "tmp:1"}, {"value", "v"}, {"ttl_seconds", 3600}});
  CHECK(r["isError"] == false);
  CHECK(f.db.get("tmp:1") == "v");
}

TEST_CASE("log tools: append, tail, timeline") {
  fixture f;
  initialize(f.srv);
  for (int i = 0; i < 5; ++i) {
    json r =
        call(f.srv, "logs_append",
             {{"table", "agent_log"},
              {"entry", {{"level", i % 2 ? "warn" : "info"}, {"msg", "step " + std::to_string(i)}}},
              {"ts", "2026-11-21T20:0" + std::to_string(i) + ":00Z"}});
    REQUIRE(r["isError"] == false);
  }
  json r = call(f.srv, "logs_tail", {{"table", "agent_log"}, {"n", 2}});
  json e = r["structuredContent"]["entries"];
  REQUIRE(e.size() == 2);
  CHECK(e[0]["msg"] == "step 3");
  CHECK(e[1]["msg"] == "step 4");
  CHECK(e[1]["ts"] == "2026-11-21T20:04:00.000000Z");
  r = call(f.srv, "logs_timeline",
           {{"table", "agent_log"},
            {"start", "2026-11-21T20:01:00Z"},
            {"end", "2026-11-21T21:03:00+01:00"}});
  e = r["structuredContent"]["entries"];
  REQUIRE(e.size() == 2);
  CHECK(e[0]["msg"] == "step 1");
  CHECK(e[1]["msg"] == "step 2");
  CHECK(call(f.srv, "logs_timeline",
             {{"table", "agent_log"}, {"start", "yesterday"}, {"end", "now"}})["isError"] == true);
  CHECK(call(f.srv, "logs_timeline",
             {{"table", "agent_log"}, {"start", "2026-11-22"}, {"end", "2026-11-21"}})["isError"] ==
        true);
  CHECK(call(f.srv, "logs_tail", {{"table", "a:b"}})["isError"] == true);
  CHECK(
      call(f.srv, "logs_append",
           {{"table", "agent_log"}, {"entry", json::object()}, {"ts", "2026-02-30"}})["isError"] ==
      true);
  CHECK(call(f.srv, "logs_tail", {{"table", "empty"}})["structuredContent"]["count"] == 0);
}

TEST_CASE("time parsing") {
  using mcp::detail::format_time;
  using mcp::detail::parse_time;
  CHECK(parse_time("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_time("1970-01-02") == 86400000000LL);
  CHECK(parse_time("2000-03-01T12:30:15.25Z") == 951913815250000LL);
  CHECK(format_time(951913815250000LL) == "2000-03-01T12:30:15.250000Z");
  CHECK(parse_time("1969-12-31T23:59:59Z") == -1000000LL);
  CHECK(format_time(-1000000LL) == "1969-12-31T23:59:59.000000Z");
  CHECK(parse_time("123") == 123);
  for (auto bad : {"", "20x6", "2026-13-01", "2026-01-01T25:00", "2026-01-01T10:00:00.",
                   "2026-01-01X", "2026-01-01T10:00+01", "9999999999999999999"})
    CHECK_MESSAGE(!parse_time(bad), std::string(bad));
}

TEST_CASE("resources: one per table") {
  fixture f;
  f.db.put("users:1", R"({"name":"Alice"})");
  f.db.put("a b:1", "x");
  initialize(f.srv);
  json r =
      reply(f.srv, R"({"jsonrpc":"2.0","id":1,"method":"resources/list"})")["result"]["resources"];
  REQUIRE(r.size() == 2);
  CHECK(r[0]["uri"] == "sochdb://tables/a%20b");
  CHECK(r[1]["uri"] == "sochdb://tables/users");
  json c = reply(
      f.srv,
      R"({"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"sochdb://tables/a%20b"}})");
  CHECK(c["result"]["contents"][0]["text"] == "rows[1]{key,value}:\n  \"a b:1\",x");
  CHECK(
      error_code_of(
          f.srv,
          R"({"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"sochdb://tables/none"}})") ==
      -32002);
  CHECK(
      error_code_of(
          f.srv,
          R"({"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"sochdb://tables/%zz"}})") ==
      -32002);
  CHECK(error_code_of(f.srv, R"({"jsonrpc":"2.0","id":3,"method":"resources/read"})") == -32602);
}

TEST_CASE("serve: a whole session over streams, overlong lines refused") {
  fixture f;
  std::istringstream in(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})"
      "\n"
      R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
      "\r\n"
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"sochdb_put","arguments":{"path":"k:1","value":"v"}}})"
      "\n" +
      std::string(300, 'x') + "\n" +
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"sochdb_get","arguments":{"path":"k:1"}}})");
  std::ostringstream out;
  mcp::server s({.limits = {.max_line_bytes = 200}});
  mcp::add_kv_tools(s, f.db);
  s.serve(in, out);
  std::istringstream lines(out.str());
  std::string line;
  std::vector<json> replies;
  while (std::getline(lines, line)) replies.push_back(json::parse(line));
  REQUIRE(replies.size() == 4);
  CHECK(replies[0]["id"] == 1);
  CHECK(replies[1]["result"]["isError"] == false);
  CHECK(replies[2]["error"]["code"] == -32600);
  CHECK(replies[3]["result"]["structuredContent"]["value"] == "v");
}

// Collections (db/namespace.hpp): their MCP tools run the real searches.

TEST_CASE("collection tools: list and search (vector, keyword, hybrid, filter)") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  auto ns = db.get_or_create_namespace("default");
  auto docs = ns.create_collection({.name = "docs", .dimension = 3, .hybrid = true});
  docs.insert({.id = "a",
               .vectors = {{1, 0, 0}},
               .metadata = {{"year", 2019}},
               .text = "write-ahead log durability"});
  docs.insert({.id = "b",
               .vectors = {{0, 1, 0}},
               .metadata = {{"year", 2021}},
               .text = "vector search with graphs"});
  docs.insert({.id = "c",
               .vectors = {{0.9f, 0.1f, 0}},
               .metadata = {{"year", 2023}},
               .text = "group commit and the log"});
  mcp::server srv;
  // A toy embedder: the word "log" points along x, anything else along y.
  mcp::add_collection_tools(srv, db, {.embed = [](std::string_view t) {
                              return t.find("log") != std::string_view::npos
                                         ? std::vector<float>{1, 0, 0}
                                         : std::vector<float>{0, 1, 0};
                            }});
  initialize(srv);
  json r = call(srv, "sochdb_list_collections", json::object());
  REQUIRE(r["structuredContent"]["count"] == 1);
  CHECK(r["structuredContent"]["collections"][0]["documents"] == 3);
  r = call(srv, "sochdb_search", {{"collection", "docs"}, {"vector", {1, 0, 0}}, {"k", 2}});
  CHECK(r["structuredContent"]["mode"] == "vector");
  CHECK(r["structuredContent"]["hits"][0]["id"] == "a");
  CHECK(r["structuredContent"]["hits"][1]["id"] == "c");
  r = call(
      srv, "sochdb_search",
      {{"collection", "docs"}, {"vector", {1, 0, 0}}, {"filter", {{"year", {{"$gte", 2020}}}}}});
  CHECK(r["structuredContent"]["hits"][0]["id"] == "c");
  r = call(srv, "sochdb_search", {{"collection", "docs"}, {"query", "log"}, {"k", 2}});
  CHECK(r["structuredContent"]["mode"] == "hybrid");
  CHECK(r["structuredContent"]["count"] == 2);
  CHECK(call(srv, "sochdb_search", {{"collection", "nope"}, {"query", "x"}})["isError"] == true);
  CHECK(call(srv, "sochdb_search", {{"collection", "docs"}})["isError"] == true);
  CHECK(call(srv, "sochdb_search", {{"collection", "docs"}, {"vector", {1, 0}}})["isError"] ==
        true);
  // Keyword only: a server without an embedder.
  mcp::server kw;
  mcp::add_collection_tools(kw, db);
  initialize(kw);
  r = call(kw, "sochdb_search", {{"collection", "docs"}, {"query", "graphs"}});
  CHECK(r["structuredContent"]["mode"] == "keyword");
  CHECK(r["structuredContent"]["hits"][0]["id"] == "b");
}

// The context builder: sochdb_context_query builds real contexts.

TEST_CASE("context tool: sections under a token budget") {
  memory_fs fs;
  auto db = mem_db::open("/db", {}, fs);
  db.put("users/alice", R"({"name":"Alice","plan":"pro"})");
  mcp::server srv;
  mcp::add_context_tools(srv, db);
  initialize(srv);
  json r = call(srv, "sochdb_context_query",
                {{"sections",
                  {{{"name", "SYSTEM"}, {"kind", "literal"}, {"text", "You are helpful."}},
                   {{"name", "USER"}, {"kind", "get"}, {"path", "users/alice"}}}},
                 {"token_budget", 200}});
  REQUIRE(r["isError"] == false);
  std::string text = r["content"][0]["text"];
  CHECK(text.find("You are helpful.") != std::string::npos);
  CHECK(text.find("Alice") != std::string::npos);
  CHECK(r["structuredContent"]["total_tokens"].get<int>() <= 200);
  CHECK(r["structuredContent"]["sections"].size() == 2);
  // A budget too small for everything drops the lower-priority section.
  r = call(
      srv, "sochdb_context_query",
      {{"sections",
        {{{"name", "A"}, {"kind", "literal"}, {"text", "first section text"}, {"priority", 0}},
         {{"name", "B"}, {"kind", "literal"}, {"text", std::string(400, 'x')}, {"priority", 1}}}},
       {"token_budget", 20}});
  CHECK(r["structuredContent"]["total_tokens"].get<int>() <= 20);
  CHECK(r["content"][0]["text"].get<std::string>().find("first section") != std::string::npos);
  CHECK(call(srv, "sochdb_context_query",
             {{"sections", {{{"name", "X"}, {"kind", "get"}}}}})["isError"] == true);
  json bad = {{"jsonrpc", "2.0"},
              {"id", 1},
              {"method", "tools/call"},
              {"params",
               {{"name", "sochdb_context_query"},
                {"arguments", {{"sections", {{{"name", "X"}, {"kind", "sql"}}}}}}}}};
  CHECK(reply(srv, bad.dump())["error"]["code"] == -32602);
}

}  // namespace test_mcp_mcp_test
