// The code of docs/mcp.md, compiled and run in CI.
#include <sochdb/sochdb.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

static void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "mcp_tour: failed: %s\n", what);
    std::exit(1);
  }
}

int main() {
  sochdb::memory_fs fs;
  using mem_db = sochdb::basic_database<sochdb::wal_storage<sochdb::memory_fs>>;
  auto db = mem_db::open("/db", {}, fs);

  // [server]
  namespace mcp = sochdb::mcp;
  mcp::server srv({.name = "my-app"});
  mcp::add_kv_tools(srv, db);   // sochdb_get, _put, _delete, _list_tables, _describe, _query
  mcp::add_log_tools(srv, db);  // logs_append, logs_tail, logs_timeline
  srv.add_resources(mcp::table_resources(db));
  // Your own tool: one call. The arguments are checked against the schema before it runs.
  srv.add_tool({
      .name = "count_prefix",
      .title = "Count keys",
      .description = "Count the keys that start with a prefix.",
      .input_schema = {{"type", "object"},
                       {"properties", {{"prefix", {{"type", "string"}, {"minLength", 1}}}}},
                       {"required", {"prefix"}}},
      .annotations = {{"readOnlyHint", true}},
      .handler =
          [&db](const mcp::json& args) {
            std::size_t n = 0;
            auto scan = db.scan_prefix_unchecked(args["prefix"].get<std::string>());
            for (; scan.valid(); scan.next()) ++n;
            if (n == 0) throw mcp::tool_error("no key starts with " + args["prefix"].dump());
            return mcp::json{{"prefix", args["prefix"]}, {"count", n}};
          },
  });
  // srv.serve(std::cin, std::cout);   // what `sochdb mcp` does: JSON-RPC lines on stdio
  // [server]

  // [lines]
  auto reply = srv.handle_line(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
      R"("capabilities":{},"clientInfo":{"name":"demo","version":"1"}}})");
  db.put("users:1", R"({"name":"Ada","role":"admin"})");
  db.put("users:2", R"({"name":"Bob","role":"user"})");
  reply = srv.handle_line(
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"sochdb_query",)"
      R"("arguments":{"query":"SELECT * FROM users"}}})");
  auto result = mcp::json::parse(*reply)["result"];
  std::printf("%s\n", result["content"][0]["text"].get<std::string>().c_str());
  // rows[2]{key,name,role}:
  //   "users:1",Ada,admin
  //   "users:2",Bob,user
  // count: 2
  // truncated: false
  // [lines]
  expect(result["structuredContent"]["count"] == 2, "query");
  expect(result["content"][0]["text"].get<std::string>().find("\"users:1\",Ada,admin") !=
             std::string::npos,
         "TOON rows");
  reply = srv.handle_line(
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"count_prefix",)"
      R"("arguments":{"prefix":"users:"}}})");
  expect(mcp::json::parse(*reply)["result"]["structuredContent"]["count"] == 2, "custom tool");
  reply = srv.handle_line(
      R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"count_prefix",)"
      R"("arguments":{"prefix":"nope"}}})");
  expect(mcp::json::parse(*reply)["result"]["isError"] == true, "tool failure is isError");
  reply = srv.handle_line(
      R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"count_prefix","arguments":{}}})");
  expect(mcp::json::parse(*reply)["error"]["code"] == -32602, "bad arguments are -32602");
  return 0;
}
