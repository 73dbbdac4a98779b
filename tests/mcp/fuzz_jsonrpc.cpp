// libFuzzer target for the MCP JSON-RPC decoder and the server's dispatch. The first byte picks
// the protocol revision the session is initialized with (so batches are fuzzed under the one
// revision that has them); the rest is split into lines, each handled as a message from the
// client. Every line must get no reply or exactly one line of valid JSON-RPC 2.0: a response
// whose id is the request's or null, with either a result or an error with a standard code.
// Tools run over a memory_fs database shared by all inputs, so fuzzed calls exercise the real
// tools.
#include <sochdb/db.hpp>
#include <sochdb/mcp.hpp>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

namespace {

using sochdb::mcp::json;

void check_response(const json& r) {
  if (!r.is_object() || r.value("jsonrpc", "") != "2.0" || !r.contains("id")) std::abort();
  bool has_result = r.contains("result"), has_error = r.contains("error");
  if (has_result == has_error) std::abort();
  if (has_error) {
    const json& e = r["error"];
    if (!e.contains("code") || !e["code"].is_number_integer() || !e["message"].is_string())
      std::abort();
    int c = e["code"].get<int>();
    if (c != -32700 && c != -32600 && c != -32601 && c != -32602 && c != -32603 && c != -32002)
      std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr const char* versions[] = {"2025-06-18", "2025-03-26", "2024-11-05",
                                             "1999-01-01"};
  // A database shared by 256 inputs at a time (opening one per input would dominate the run
  // time; a fresh one every 256 keeps memory bounded on long runs).
  using mem_db = sochdb::basic_database<sochdb::wal_storage<sochdb::memory_fs>>;
  struct state {
    sochdb::memory_fs fs;
    mem_db db = mem_db::open("/db", {.auto_checkpoint = false}, fs);
  };
  static std::unique_ptr<state> st;
  static unsigned inputs = 0;
  if (!st || ++inputs % 256 == 0) {
    st.reset();
    st = std::make_unique<state>();
  }
  mem_db& db = st->db;
  sochdb::mcp::server srv({.limits = {.max_line_bytes = 1 << 16, .max_depth = 32}});
  sochdb::mcp::add_kv_tools(srv, db);
  sochdb::mcp::add_log_tools(srv, db);
  srv.add_resources(sochdb::mcp::table_resources(db));
  if ((data[0] & 0x80) == 0) {
    std::string init =
        std::string(
            R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":")") +
        versions[data[0] & 3] + R"("}})";
    (void)srv.handle_line(init);
  }
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    auto reply = srv.handle_line(line);
    if (!reply) continue;
    if (reply->find('\n') != std::string::npos) std::abort();
    json r = json::parse(*reply);  // must be valid JSON: throws (and crashes the run) if not
    if (r.is_array()) {
      if (r.empty()) std::abort();
      for (auto& one : r) check_response(one);
    } else {
      check_response(r);
    }
  }
  return 0;
}
