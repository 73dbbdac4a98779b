// toon_diff: the C++ side of the differential check against the reference TOON implementation
// (bench/toon_ref/differential.mjs drives it). Reads JSON lines
//   {"op":"encode","input":<json>,"options":{...}}   or   {"op":"decode","input":"<toon>",...}
// from stdin and writes one JSON line per case: {"ok":true,"output":...} or
// {"ok":false,"error":"..."}. Options use the spec's names (indent, delimiter, keyFolding,
// flattenDepth, strict, expandPaths).
#include <sochdb/toon.hpp>

#include <iostream>
#include <string>

using sochdb::toon::value;
namespace toon = sochdb::toon;

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  while (std::getline(std::cin, line)) {
    value out = value::object();
    try {
      value c = value::parse(line);
      const value o = c.value("options", value::object());
      if (c["op"] == "encode") {
        toon::encode_options e;
        if (o.contains("indent")) e.indent = o["indent"].get<int>();
        if (o.contains("delimiter"))
          e.delimiter = static_cast<toon::delimiter>(o["delimiter"].get<std::string>().at(0));
        if (o.contains("keyFolding") && o["keyFolding"] == "safe")
          e.key_folding = toon::key_folding::safe;
        if (o.contains("flattenDepth")) e.flatten_depth = o["flattenDepth"].get<std::size_t>();
        out["output"] = toon::encode(c["input"], e);
      } else {
        toon::decode_options d;
        if (o.contains("indent")) d.indent = o["indent"].get<int>();
        if (o.contains("strict")) d.strict = o["strict"].get<bool>();
        if (o.contains("expandPaths") && o["expandPaths"] == "safe")
          d.expand_paths = toon::expand_paths::safe;
        out["output"] = toon::decode(c["input"].get<std::string>(), d);
      }
      out["ok"] = true;
    } catch (const std::exception& ex) {
      out = value::object();
      out["ok"] = false;
      out["error"] = ex.what();
    }
    std::cout << out.dump(-1, ' ', false, value::error_handler_t::replace) << '\n';
  }
  return 0;
}
