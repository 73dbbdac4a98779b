// embed_only_toon — TOON on its own: this program includes only <sochdb/toon.hpp> (which needs
// sochdb/core and nlohmann_json, nothing of the database), as an application that only wants
// compact LLM payloads would.
//
// It turns a JSON tool result into TOON, counts the tokens both ways, decodes the TOON back
// (strictly: lengths and widths are checked), shows the tab-delimited and key-folded variants,
// round-trips binary TOON, and shows the error a malformed payload gets.
#include <sochdb/toon.hpp>

#include <cstdio>
#include <string>

int main() {
  namespace toon = sochdb::toon;
  toon::value result = toon::value::parse(R"({
    "query": "open incidents",
    "incidents": [
      {"id": 4812, "service": "checkout", "severity": "high", "owner": "ana", "minutes_open": 42},
      {"id": 4815, "service": "search", "severity": "low", "owner": "li", "minutes_open": 7},
      {"id": 4816, "service": "checkout", "severity": "medium", "owner": "sam", "minutes_open": 3},
      {"id": 4820, "service": "payments", "severity": "high", "owner": "ana", "minutes_open": 1}
    ],
    "meta": {"source": {"system": "pager", "region": "eu-west-1"}}
  })");

  std::string text = toon::encode(result);
  std::string json = result.dump();
  sochdb::approx_token_counter tokens;
  std::printf("%s\n\n", text.c_str());
  std::printf("TOON ~%zu tokens, compact JSON ~%zu tokens\n", tokens.count(text),
              tokens.count(json));

  // Decoding is strict by default: the declared [4] rows and 5 fields are checked.
  if (toon::decode(text) != result) {
    std::fprintf(stderr, "round trip failed\n");
    return 1;
  }

  // Tabs as the delimiter and folded single-key chains ("meta.source.system").
  std::string folded = toon::encode(
      result, {.delimiter = toon::delimiter::tab, .key_folding = toon::key_folding::safe});
  std::printf("\ntab-delimited, keys folded (~%zu tokens):\n%s\n", tokens.count(folded),
              folded.c_str());
  if (toon::decode(folded, {.expand_paths = toon::expand_paths::safe}) != result) {
    std::fprintf(stderr, "folded round trip failed\n");
    return 1;
  }

  // Binary TOON: compact and checksummed, for storing or shipping documents.
  std::string bin = toon::binary::encode(result);
  std::printf("\nbinary TOON: %zu bytes (JSON text %zu bytes)\n", bin.size(), json.size());
  if (toon::binary::decode(bin) != result) {
    std::fprintf(stderr, "binary round trip failed\n");
    return 1;
  }

  // A payload whose table is shorter than it declares: a parse error with line and column.
  try {
    (void)toon::decode("items[3]{id,name}:\n  1,a\n  2,b\n");
    std::fprintf(stderr, "a short table was accepted\n");
    return 1;
  } catch (const sochdb::parse_error& e) {
    std::printf("\nmalformed input: %s\n", e.what());
  }
  return 0;
}
