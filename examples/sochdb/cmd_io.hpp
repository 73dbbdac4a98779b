// The bulk commands of the `sochdb` tool: batch (KEY<TAB>VALUE lines from stdin), import and
// export (JSON, JSONL, TOON), and .fvecs vectors into a collection.
//
//     sochdb --db ./db scan user: | sochdb --db ./copy batch      # scan's output is batch's input
//     sochdb --db ./db export --to users.jsonl user:
//     sochdb --db ./copy import users.jsonl
//
// Records are {"key": K, "value": V}: V is a string (stored as is) or any other JSON value
// (stored as compact JSON text); bytes that are not UTF-8 travel as "key_base64" /
// "value_base64". JSON files hold an array of records, JSONL one record per line, TOON a `rows`
// table (`rows[N]{key,value}:`). Input is read and checked completely before anything is
// written, so a malformed file (exit 1, naming the file and line) writes nothing; the records
// then commit in one atomic batch, or in batches of --chunk records. A progress bar goes to
// stderr while reading and writing, only when stderr is a terminal.
#pragma once

#include "cli.hpp"
#include "cmd_kv.hpp"

#include <sochdb/db/namespace.hpp>
#include <sochdb/mcp/kv_tools.hpp>  // valid_utf8, base64
#include <sochdb/toon.hpp>
#include <sochdb/vector/io.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace sochdb_cli {
namespace io_detail {

using ojson = nlohmann::ordered_json;

/// A progress bar on stderr, drawn only when stderr is a terminal, at most ten times a second.
class progress {
 public:
  progress(std::string label, std::uint64_t total)
      : label_(std::move(label)), total_(total), enabled_(::isatty(2) == 1) {}
  progress(const progress&) = delete;
  ~progress() {
    if (enabled_ && drawn_) std::fprintf(stderr, "\r\033[K");
  }
  void update(std::uint64_t done) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (drawn_ && now - last_ < std::chrono::milliseconds(100) && done < total_) return;
    last_ = now;
    drawn_ = true;
    constexpr int width = 30;
    double f = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
    if (f > 1) f = 1;
    int filled = static_cast<int>(f * width);
    std::fprintf(stderr, "\r%s [%.*s%*s] %3.0f%% %llu/%llu", label_.c_str(), filled,
                 "##############################", width - filled, "", f * 100,
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_));
    std::fflush(stderr);
  }

 private:
  std::string label_;
  std::uint64_t total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

struct record {
  std::string key, value;
};

/// Decodes base64 (standard alphabet, padding optional); nullopt when malformed.
inline std::optional<std::string> unbase64(std::string_view s) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!s.empty() && s.back() == '=') s.remove_suffix(1);
  if (s.size() % 4 == 1) return std::nullopt;
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v = val(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

/// A record from its JSON form; throws command_failed naming `where` when malformed.
inline record to_record(const ojson& j, const std::string& where) {
  auto bad = [&](const std::string& why) { throw command_failed(where + ": " + why); };
  if (!j.is_object()) bad("expected an object {\"key\": ..., \"value\": ...}");
  record r;
  auto bytes = [&](const char* name) -> std::string {
    std::string b64 = std::string(name) + "_base64";
    if (j.contains(name) && j.contains(b64))
      bad(std::string("both '") + name + "' and '" + b64 + "'");
    if (j.contains(b64)) {
      if (!j[b64].is_string()) bad("'" + b64 + "' must be a string");
      auto d = unbase64(j[b64].get<std::string>());
      if (!d) bad("'" + b64 + "' is not valid base64");
      return *d;
    }
    if (!j.contains(name)) bad(std::string("missing '") + name + "'");
    const ojson& v = j[name];
    if (std::string_view(name) == "key" && !v.is_string()) bad("'key' must be a string");
    return v.is_string() ? v.get<std::string>() : v.dump();
  };
  r.key = bytes("key");
  r.value = bytes("value");
  if (r.key.empty()) bad("empty key");
  for (auto& [k, v] : j.items()) {
    if (k != "key" && k != "value" && k != "key_base64" && k != "value_base64")
      bad("unknown member '" + k + "'");
  }
  return r;
}

inline ojson to_json(std::string_view k, std::string_view v) {
  ojson j = ojson::object();
  if (sochdb::mcp::detail::valid_utf8(k))
    j["key"] = std::string(k);
  else
    j["key_base64"] = sochdb::mcp::detail::base64(k);
  if (sochdb::mcp::detail::valid_utf8(v))
    j["value"] = std::string(v);
  else
    j["value_base64"] = sochdb::mcp::detail::base64(v);
  return j;
}

enum class file_format { json, jsonl, toon, fvecs };

inline file_format parse_format(const std::string& s, std::string_view cmd) {
  if (s == "json") return file_format::json;
  if (s == "jsonl" || s == "ndjson") return file_format::jsonl;
  if (s == "toon") return file_format::toon;
  if (s == "fvecs" && cmd == "import") return file_format::fvecs;
  throw usage_error(std::string(cmd) + ": --as expects json, jsonl or toon" +
                    (cmd == "import" ? " (or fvecs)" : "") + ", got '" + s + "'");
}

inline file_format format_of(const arg_parser& p, const std::string& path, std::string_view cmd) {
  if (auto f = p.get("--as")) return parse_format(*f, cmd);
  auto dot = path.rfind('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
  if (ext == "json" || ext == "jsonl" || ext == "ndjson" || ext == "toon" || ext == "fvecs")
    return parse_format(ext, cmd);
  throw usage_error(std::string(cmd) + ": cannot tell the format of '" + path +
                    "' from its name; pass --as json|jsonl|toon");
}

inline std::string read_all(context& ctx, const std::string& path) {
  if (path == "-") {
    std::ostringstream ss;
    ss << ctx.in.rdbuf();
    return ss.str();
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) throw command_failed("import: cannot open '" + path + "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) throw command_failed("import: error reading '" + path + "'");
  return ss.str();
}

inline std::vector<record> parse_records(const std::string& text, file_format fmt,
                                         const std::string& name) {
  std::vector<record> out;
  progress bar("reading", text.size());
  if (fmt == file_format::jsonl) {
    std::size_t pos = 0;
    for (int line = 1; pos < text.size(); ++line) {
      std::size_t nl = text.find('\n', pos);
      std::string_view l(text.data() + pos, (nl == std::string::npos ? text.size() : nl) - pos);
      pos = nl == std::string::npos ? text.size() : nl + 1;
      bar.update(pos);
      if (l.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      std::string where = name + ":" + std::to_string(line);
      ojson j;
      try {
        j = ojson::parse(l);
      } catch (const ojson::exception& e) {
        throw command_failed(where + ": not JSON: " + e.what());
      }
      out.push_back(to_record(j, where));
    }
    return out;
  }
  ojson doc;
  if (fmt == file_format::json) {
    try {
      doc = ojson::parse(text);
    } catch (const ojson::exception& e) {
      throw command_failed(name + ": not JSON: " + e.what());
    }
    if (!doc.is_array()) throw command_failed(name + ": expected a JSON array of records");
  } else {
    try {
      doc = sochdb::toon::decode(text);
    } catch (const sochdb::parse_error& e) {
      throw command_failed(name + ": " + e.what());
    }
    if (doc.is_object() && doc.contains("rows") && doc.size() == 1) doc = doc["rows"];
    if (!doc.is_array())
      throw command_failed(name + ": expected a TOON table rows[N]{key,value}: or a root array");
  }
  for (std::size_t i = 0; i < doc.size(); ++i) {
    out.push_back(to_record(doc[i], name + ": record " + std::to_string(i + 1)));
    bar.update(text.size() * (i + 1) / doc.size());
  }
  return out;
}

/// Commits `recs` in one batch (chunk 0) or batches of `chunk`; returns the commit count.
template <class Db>
std::size_t commit_records(Db& db, const std::vector<record>& recs, std::size_t chunk,
                           bool del = false) {
  progress bar("writing", recs.size());
  std::size_t commits = 0;
  std::size_t step = chunk == 0 ? recs.size() : chunk;
  for (std::size_t i = 0; i < recs.size(); i += step) {
    sochdb::write_batch b;
    for (std::size_t j = i; j < std::min(recs.size(), i + step); ++j) {
      if (del)
        b.del(recs[j].key);
      else
        b.put(recs[j].key, recs[j].value);
    }
    db.write(b);
    ++commits;
    bar.update(std::min(recs.size(), i + step));
  }
  return commits;
}

inline int cmd_batch(context& ctx, const std::vector<std::string>& args) {
  arg_parser p("batch", args);
  p.flag("--delete")
      .value("--chunk")
      .value("--sync")
      .parse()
      .expect_positionals(0, 0, "no arguments (records come from stdin)");
  auto chunk = static_cast<std::size_t>(p.get_int("--chunk", 0, 0, 1LL << 40));
  bool del = p.has("--delete");
  auto sync = kv_detail::parse_sync(p, "batch");
  std::vector<record> recs;
  std::string line;
  for (int n = 1; std::getline(ctx.in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (del) {
      recs.push_back({line, {}});
      continue;
    }
    auto tab = line.find('\t');
    if (tab == std::string::npos || tab == 0)
      throw command_failed("batch: stdin:" + std::to_string(n) + ": expected KEY<TAB>VALUE, got " +
                           sochdb::printable_key(line));
    recs.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  auto db = kv_detail::open_db(ctx, "batch", sync);
  std::size_t commits = recs.empty() ? 0 : commit_records(db, recs, chunk, del);
  db.close();
  ctx.err << (del ? "deleted " : "stored ") << recs.size() << " keys in " << commits
          << (commits == 1 ? " commit\n" : " commits\n");
  return 0;
}

/// Loads .fvecs vectors into an existing collection as documents "<prefix><row>" (row from 0),
/// in one transaction or in transactions of `chunk` vectors.
inline int import_fvecs(context& ctx, const arg_parser& p, const std::string& bytes,
                        const std::string& path, std::size_t chunk, sochdb::sync_mode sync) {
  std::string name = path == "-" ? "stdin" : path;
  sochdb::vector::matrix<float> m;
  try {
    m = sochdb::vector::parse_fvecs(bytes, name);
  } catch (const sochdb::error& e) {
    throw command_failed(std::string("import: ") + e.what());
  }
  std::string prefix = p.get_or("--prefix", "v");
  auto db = kv_detail::open_db(ctx, "import", sync);
  auto coll = db.ns(p.get_or("--ns", "default")).collection(*p.get("--collection"));
  if (coll.info().config.dimension != m.dim && m.rows > 0)
    throw command_failed("import: " + name + " holds " + std::to_string(m.dim) +
                         "-dimensional vectors, collection " + *p.get("--collection") +
                         " has dimension " + std::to_string(coll.info().config.dimension));
  progress bar("writing", m.rows);
  std::size_t step = chunk == 0 ? std::max<std::size_t>(m.rows, 1) : chunk, commits = 0;
  for (std::size_t i = 0; i < m.rows; i += step) {
    std::vector<sochdb::document> docs;
    for (std::size_t r = i; r < std::min(m.rows, i + step); ++r) {
      docs.push_back({.id = prefix + std::to_string(r),
                      .vectors = {std::vector<float>(m.row(r), m.row(r) + m.dim)}});
    }
    coll.upsert_batch(docs);
    ++commits;
    bar.update(std::min(m.rows, i + step));
  }
  db.close();
  ctx.err << "imported " << m.rows << " vectors of dimension " << m.dim << " from " << name
          << " into collection " << *p.get("--collection") << " in " << commits
          << (commits == 1 ? " commit\n" : " commits\n");
  return 0;
}

inline int cmd_import(context& ctx, const std::vector<std::string>& args) {
  arg_parser p("import", args);
  p.value("--as")
      .value("--chunk")
      .value("--sync")
      .value("--prefix")
      .value("--collection")
      .value("--ns")
      .parse()
      .expect_positionals(1, 1, "FILE (or - for stdin)");
  const std::string& path = p.positionals()[0];
  file_format fmt = path == "-" && !p.has("--as")
                        ? throw usage_error("import: reading stdin needs --as json|jsonl|toon")
                        : format_of(p, path, "import");
  auto chunk = static_cast<std::size_t>(p.get_int("--chunk", 0, 0, 1LL << 40));
  auto sync = kv_detail::parse_sync(p, "import");
  std::string prefix = p.get_or("--prefix", "");
  if ((fmt == file_format::fvecs) != p.has("--collection"))
    throw usage_error(fmt == file_format::fvecs
                          ? "import: .fvecs vectors go into a collection: pass --collection NAME"
                          : "import: --collection is for .fvecs files");
  std::string text = read_all(ctx, path);
  if (fmt == file_format::fvecs) return import_fvecs(ctx, p, text, path, chunk, sync);
  auto recs = parse_records(text, fmt, path == "-" ? "stdin" : path);
  if (!prefix.empty())
    for (auto& r : recs) r.key = prefix + r.key;
  auto db = kv_detail::open_db(ctx, "import", sync);
  std::size_t commits = recs.empty() ? 0 : commit_records(db, recs, chunk);
  db.close();
  ctx.err << "imported " << recs.size() << " records from " << (path == "-" ? "stdin" : path)
          << " in " << commits << (commits == 1 ? " commit\n" : " commits\n");
  return 0;
}

inline int cmd_export(context& ctx, const std::vector<std::string>& args) {
  arg_parser p("export", args);
  p.value("--as")
      .value("--to", "-o")
      .value("--limit", "-n")
      .parse()
      .expect_positionals(0, 1, "[PREFIX]");
  std::string to = p.get_or("--to", "-");
  file_format fmt =
      to == "-" ? parse_format(p.get_or("--as", "jsonl"), "export") : format_of(p, to, "export");
  long long limit = p.get_int("--limit", -1, 0, 1LL << 62);
  std::string prefix = p.positionals().empty() ? "" : p.positionals()[0];
  auto db = kv_detail::open_db(ctx, "export", sochdb::sync_mode::full, false);
  std::ofstream file;
  if (to != "-") {
    file.open(to, std::ios::binary | std::ios::trunc);
    if (!file) throw command_failed("export: cannot create '" + to + "'");
  }
  std::ostream& os = to == "-" ? ctx.out : file;
  long long n = 0;
  ojson rows = ojson::array();
  for (auto [k, v] : db.scan_prefix_unchecked(prefix)) {
    if (limit >= 0 && n >= limit) break;
    ++n;
    if (fmt == file_format::jsonl) {
      os << to_json(k, v).dump(-1, ' ', false, ojson::error_handler_t::replace) << '\n';
    } else {
      rows.push_back(to_json(k, v));
    }
  }
  if (fmt == file_format::json) {
    os << rows.dump(1, ' ', false, ojson::error_handler_t::replace) << '\n';
  } else if (fmt == file_format::toon) {
    os << sochdb::toon::encode(ojson{{"rows", std::move(rows)}}) << '\n';
  }
  os.flush();
  if (!os) throw command_failed("export: error writing '" + to + "'");
  ctx.err << "exported " << n << " records\n";
  return 0;
}

}  // namespace io_detail

inline std::vector<command> io_commands() {
  using namespace io_detail;
  return {
      {"batch", "store KEY<TAB>VALUE lines from stdin in one atomic commit",
       "usage: sochdb --db DIR batch [--delete] [--chunk N] [--sync full|normal|off] < LINES\n\n"
       "Reads KEY<TAB>VALUE lines (what `scan` prints) from stdin and stores them in one\n"
       "atomic commit, or in commits of N records with --chunk N. With --delete each line is a\n"
       "KEY to delete. Every line is checked before anything is written: a line without a tab\n"
       "exits 1 naming it. The count goes to stderr.\n\n"
       "example: sochdb --db ./db scan user: | sochdb --db ./copy batch\n",
       cmd_batch},
      {"import", "load records from a JSON, JSONL or TOON file",
       "usage: sochdb --db DIR import FILE|- [--as json|jsonl|toon|fvecs] [--prefix P] [--chunk "
       "N]\n"
       "                                    [--sync full|normal|off] [--collection NAME [--ns "
       "NS]]\n\n"
       "Loads {\"key\": K, \"value\": V} records: a JSON array (.json), one per line (.jsonl,\n"
       ".ndjson) or a TOON table rows[N]{key,value}: (.toon); --as overrides the extension and\n"
       "is required for stdin (-). V may be any JSON (non-strings are stored as compact JSON);\n"
       "key_base64 / value_base64 carry bytes that are not UTF-8. --prefix prepends P to every\n"
       "key. The whole file is checked first: a malformed record exits 1 naming FILE:LINE (or\n"
       "the record number) and nothing is written. Then one atomic commit, or commits of N\n"
       "records with --chunk N. A progress bar shows on stderr when it is a terminal.\n\n"
       "\n"
       ".fvecs files (TEXMEX vectors) go into an existing collection: --collection NAME [--ns NS]\n"
       "stores row i as document \"v<i>\" (--prefix changes \"v\"); the vector dimension must be\n"
       "the collection's.\n\n"
       "examples: sochdb --db ./db import users.jsonl --prefix user:\n"
       "          sochdb --db ./db import base.fvecs --collection vecs\n",
       cmd_import},
      {"export", "write records as JSON, JSONL or TOON",
       "usage: sochdb --db DIR export [PREFIX] [--to FILE] [--as json|jsonl|toon] [--limit N]\n\n"
       "Writes the keys starting with PREFIX (all without one), in key order, as records\n"
       "{\"key\": K, \"value\": V} that `import` reads back: to FILE (format from its extension\n"
       "unless --as) or to stdout (JSONL unless --as). The count goes to stderr.\n\n"
       "example: sochdb --db ./db export user: --to users.toon\n",
       cmd_export},
  };
}

}  // namespace sochdb_cli
