// `sochdb toon encode|decode`: JSON <-> TOON on stdin/stdout with the spec's options.
//
// Invalid input exits 1 with `line:col: message` on stderr and nothing on stdout (the output is
// produced in memory and written only once it is complete); bad options exit 2.
#pragma once

#include "cli.hpp"

#include <sochdb/toon.hpp>

#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace sochdb_cli {
namespace toon_cmd {

namespace toon = sochdb::toon;

constexpr std::string_view usage =
    "usage: sochdb toon encode [--delimiter comma|tab|pipe] [--indent N]\n"
    "                          [--key-folding off|safe] [--flatten-depth N]\n"
    "       sochdb toon decode [--indent N] [--no-strict] [--expand-paths off|safe] [--pretty]\n"
    "\n"
    "encode reads JSON on stdin and writes TOON (spec 3.3) on stdout, with no trailing\n"
    "newline. decode reads TOON on stdin and writes JSON on stdout (compact, or indented with\n"
    "--pretty), followed by a newline.\n"
    "\n"
    "encode options:\n"
    "  --delimiter D       delimiter of inline arrays and table rows: comma (default), tab, pipe\n"
    "  --indent N          spaces per level, 1..32 (default 2)\n"
    "  --key-folding M     off (default) or safe: fold chains of single-key objects (a.b.c: 1)\n"
    "  --flatten-depth N   with key folding, fold at most N segments (default unlimited)\n"
    "decode options:\n"
    "  --indent N          spaces per level, 1..32 (default 2)\n"
    "  --no-strict         accept mismatched counts, odd indentation, blank lines in arrays;\n"
    "                      duplicate keys take the last value\n"
    "  --expand-paths M    off (default) or safe: split dotted keys into nested objects\n"
    "  --pretty            indent the JSON output\n"
    "\n"
    "Invalid input exits with status 1 and prints `line:col: message` on stderr.\n"
    "\n"
    "examples:\n"
    "  echo '{\"users\":[{\"id\":1,\"name\":\"Ada\"},{\"id\":2,\"name\":\"Bob\"}]}' | sochdb toon "
    "encode\n"
    "  sochdb toon decode --pretty < data.toon\n";

inline std::string read_all(std::istream& in) {
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::move(ss).str();
}

/// 1-based line and column (in code points) of byte `offset` of `text`.
inline std::pair<std::size_t, std::size_t> position(std::string_view text, std::size_t offset) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++col;
    }
  }
  return {line, col};
}

/// Reports invalid input the way both subcommands do.
struct bad_input {
  std::size_t line, col;
  std::string message;
};

/// Offset of the first byte that breaks UTF-8, or npos.
inline std::size_t invalid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      min = 0x10000;
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    unsigned cp = c & (0x7F >> len);
    for (std::size_t k = 1; k < len; ++k) {
      auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

/// Where JSON text nests deeper than `max_depth` arrays and objects, or npos. The encoder
/// rejects such documents; finding the spot here lets the error name a line and column.
inline std::size_t too_deep(std::string_view s, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

inline int fail(context& ctx, const bad_input& b) {
  ctx.err << b.line << ":" << b.col << ": " << b.message << "\n";
  return 1;
}

inline int run(context& ctx, const std::vector<std::string>& args) {
  if (args.empty()) throw usage_error("toon: expected a subcommand: encode or decode");
  const std::string& sub = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (sub == "encode") {
    arg_parser p("toon encode", rest);
    p.value("--delimiter").value("--indent").value("--key-folding").value("--flatten-depth");
    p.parse().expect_positionals(0, 0, "no arguments besides options");
    toon::encode_options o;
    std::string d = p.get_or("--delimiter", "comma");
    if (d == "comma")
      o.delimiter = toon::delimiter::comma;
    else if (d == "tab")
      o.delimiter = toon::delimiter::tab;
    else if (d == "pipe")
      o.delimiter = toon::delimiter::pipe;
    else
      throw usage_error("toon encode: --delimiter expects comma, tab or pipe, got '" + d + "'");
    o.indent = static_cast<int>(p.get_int("--indent", 2, 1, 32));
    std::string kf = p.get_or("--key-folding", "off");
    if (kf == "safe")
      o.key_folding = toon::key_folding::safe;
    else if (kf != "off")
      throw usage_error("toon encode: --key-folding expects off or safe, got '" + kf + "'");
    if (p.has("--flatten-depth"))
      o.flatten_depth = static_cast<std::size_t>(p.get_int("--flatten-depth", 0, 0, 1000000000));

    std::string input = read_all(ctx.in);
    if (std::size_t at = too_deep(input, o.max_depth); at != std::string_view::npos) {
      auto [line, col] = position(input, at);
      return fail(
          ctx, {line, col, "JSON nested deeper than " + std::to_string(o.max_depth) + " levels"});
    }
    toon::value doc;
    try {
      doc = toon::value::parse(input);
    } catch (const toon::value::parse_error& e) {
      auto [line, col] = position(input, e.byte == 0 ? 0 : e.byte - 1);
      std::string what = e.what();
      // nlohmann prefixes "[json.exception.parse_error.101] parse error at line L, column C: ".
      if (auto k = what.find(": "); k != std::string::npos) what = what.substr(k + 2);
      return fail(ctx, {line, col, "invalid JSON: " + what});
    }
    std::string text = toon::encode(doc, o);
    ctx.out << text;
    return 0;
  }
  if (sub == "decode") {
    arg_parser p("toon decode", rest);
    p.value("--indent").flag("--no-strict").value("--expand-paths").flag("--pretty");
    p.parse().expect_positionals(0, 0, "no arguments besides options");
    toon::decode_options o;
    o.indent = static_cast<int>(p.get_int("--indent", 2, 1, 32));
    o.strict = !p.has("--no-strict");
    std::string ep = p.get_or("--expand-paths", "off");
    if (ep == "safe")
      o.expand_paths = toon::expand_paths::safe;
    else if (ep != "off")
      throw usage_error("toon decode: --expand-paths expects off or safe, got '" + ep + "'");

    std::string input = read_all(ctx.in);
    if (std::size_t at = invalid_utf8(input); at != std::string_view::npos) {
      auto [line, col] = position(input, at);
      return fail(ctx, {line, col, "invalid UTF-8"});
    }
    toon::value doc;
    try {
      doc = toon::decode(input, o);
    } catch (const sochdb::parse_error& e) {
      return fail(ctx, {e.line(), e.column(), e.detail()});
    }
    std::string json = p.has("--pretty") ? doc.dump(2) : doc.dump();
    ctx.out << json << "\n";
    return 0;
  }
  throw usage_error("toon: unknown subcommand '" + sub + "' (expected encode or decode)");
}

}  // namespace toon_cmd

inline std::vector<command> toon_commands() {
  return {
      {"toon", "convert JSON to TOON and back (stdin to stdout)", toon_cmd::usage, toon_cmd::run}};
}

}  // namespace sochdb_cli
