// The code of docs/toon.md, compiled and run in CI.
#include <sochdb/toon.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

// assert() vanishes in release builds; this does not.
static void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "toon_tour: failed: %s\n", what);
    std::exit(1);
  }
}

int main() {
  namespace toon = sochdb::toon;

  // --- encode and decode ---
  toon::value doc = toon::value::parse(R"({
    "users": [{"id": 1, "name": "Ada", "role": "admin"},
              {"id": 2, "name": "Bob", "role": "user"}],
    "total": 2
  })");
  std::string text = toon::encode(doc);
  expect(text == "users[2]{id,name,role}:\n  1,Ada,admin\n  2,Bob,user\ntotal: 2", "encode");
  expect(toon::decode(text) == doc, "decode");

  // Options are aggregates with designated initializers.
  std::string tabbed = toon::encode(doc, {.indent = 4, .delimiter = toon::delimiter::tab});
  expect(toon::decode(tabbed, {.indent = 4}) == doc, "tab delimiter");

  // Key folding and path expansion.
  toon::value cfg = toon::value::parse(R"({"server": {"http": {"port": 8080}}})");
  std::string folded = toon::encode(cfg, {.key_folding = toon::key_folding::safe});
  expect(folded == "server.http.port: 8080", "key folding");
  expect(toon::decode(folded, {.expand_paths = toon::expand_paths::safe}) == cfg, "expansion");

  // Any sink: a string (appended to), a stream, or anything with append(const char*, size_t).
  std::ostringstream os;
  toon::encode_to(os, doc);
  expect(os.str() == text, "stream sink");

  // --- errors name the line and column ---
  try {
    (void)toon::decode("users[3]{id,name}:\n  1,Ada\n  2,Bob");
    expect(false, "a short table is an error in strict mode");
  } catch (const sochdb::parse_error& e) {
    // "toon: line 1, column 1: array 'users' declares 3 rows, found 2"
    expect(e.line() == 1 && e.column() == 1, "position");
    expect(e.detail() == "array 'users' declares 3 rows, found 2", "message");
  }
  // Non-strict mode takes what is there.
  expect(toon::decode("t[3]: a,b", {.strict = false})["t"].size() == 2, "lenient");

  // --- binary TOON ---
  std::string bytes = toon::binary::encode(doc);
  expect(toon::binary::decode(bytes) == doc, "binary round trip");
  expect(bytes.size() < doc.dump().size(), "binary is compact");
  bytes[bytes.size() / 2] ^= 1;  // any damage is caught by the checksum
  try {
    (void)toon::binary::decode(bytes);
    expect(false, "corruption detected");
  } catch (const sochdb::corruption&) {
  }

  // --- token counting ---
  sochdb::approx_token_counter counter;
  std::size_t as_toon = counter.count(text);
  std::size_t as_json = counter.count(doc.dump());
  expect(as_toon < as_json, "TOON is cheaper for tables");
  std::cout << "TOON " << as_toon << " tokens, JSON " << as_json << " tokens\n";
  return 0;
}
