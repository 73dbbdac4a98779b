// sochdb/context/context_builder.hpp — packs database content into an LLM prompt under a token
// budget.
//
//     auto ctx = sochdb::context_builder(db)
//                    .for_session("s42")
//                    .with_budget(4096)
//                    .format(sochdb::context_format::toon)
//                    .truncation(sochdb::truncation_mode::tail_drop)
//                    .literal("SYSTEM", 0, "You are a helpful assistant.")
//                    .section("USER", 1).get("users/$user.{name, plan}").done()
//                    .section("HISTORY", 2).last(10, "messages").where_eq("session",
//                    "$session").done() .section("KNOWLEDGE", 3).search("docs", "$question",
//                    5).done() .set_var("user", "alice").set_var("question", "refund policy")
//                    .with_search("docs", sochdb::text_index_search(index, loader))
//                    .execute();
//     ctx.text; ctx.total_tokens; ctx.sections; ctx.dropped;
//
// Semantics (docs/context.md is the reference): each section yields rows — a literal's lines, a
// get's one object, a last's records (oldest first), a search's hits (best first). Sections are
// output in priority order (0 = most important; ties keep the order they were added). If the
// whole context does not fit, the truncation mode decides which rows go:
//   tail_drop     drop whole sections from the least important end, then cut the next one
//                 (the last kept) to its longest fitting head of rows;
//   head_drop     the reverse: drop whole sections from the most important end, then keep the
//                 longest fitting tail of rows of the first kept one;
//   proportional  keep ceil(f * rows) head rows of every section for the largest fraction f
//                 that fits (sections that cannot keep one row go lowest priority first), then
//                 give leftover room one row at a time in priority order;
//   strict        throw budget_exceeded.
// Every candidate is rendered and measured with the counter, and only a measured candidate is
// returned, so `total_tokens = counter.count(text) <= budget` always holds (an empty context if
// nothing fits). Rows are never cut in the middle.
//
// The counter is a policy (`token_counter`, toon/concepts.hpp): approx_token_counter by default
// (its error against o200k_base is in docs/toon.md and docs/context.md); plug an exact one.
//
// Thread-safety: a builder is used by one thread; execute() reads the database at one snapshot
// (when the database type offers snapshots) and may run while other threads write.
#pragma once

#include <sochdb/context/search_source.hpp>
#include <sochdb/core/error.hpp>
#include <sochdb/storage/concepts.hpp>
#include <sochdb/toon/concepts.hpp>
#include <sochdb/toon/encode.hpp>
#include <sochdb/toon/token_counter.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

enum class context_format { toon, json, markdown, text };
enum class truncation_mode { tail_drop, head_drop, proportional, strict };

inline std::string_view to_string(context_format f) {
  switch (f) {
    case context_format::toon:
      return "toon";
    case context_format::json:
      return "json";
    case context_format::markdown:
      return "markdown";
    case context_format::text:
      return "text";
  }
  return "?";
}
inline std::string_view to_string(truncation_mode m) {
  switch (m) {
    case truncation_mode::tail_drop:
      return "tail_drop";
    case truncation_mode::head_drop:
      return "head_drop";
    case truncation_mode::proportional:
      return "proportional";
    case truncation_mode::strict:
      return "strict";
  }
  return "?";
}
inline context_format parse_context_format(std::string_view s) {
  if (s == "toon") return context_format::toon;
  if (s == "json") return context_format::json;
  if (s == "markdown") return context_format::markdown;
  if (s == "text") return context_format::text;
  throw invalid_argument("context: unknown format '" + std::string(s) +
                         "' (expected toon, json, markdown or text)");
}
inline truncation_mode parse_truncation_mode(std::string_view s) {
  if (s == "tail_drop") return truncation_mode::tail_drop;
  if (s == "head_drop") return truncation_mode::head_drop;
  if (s == "proportional") return truncation_mode::proportional;
  if (s == "strict") return truncation_mode::strict;
  throw invalid_argument("context: unknown truncation '" + std::string(s) +
                         "' (expected tail_drop, head_drop, proportional or strict)");
}

/// How one section fared.
struct section_report {
  std::string name;
  int priority = 0;
  std::string kind;           ///< literal, get, last, search
  std::size_t rows = 0;       ///< rows the section produced
  std::size_t rows_kept = 0;  ///< rows in the output
  std::size_t tokens = 0;     ///< counter's count of the section's own text (0 when omitted)
  bool truncated = false;     ///< some rows dropped, some kept
  bool dropped = false;       ///< had rows, none kept
};

/// Rows left out: [first, first + count) of a section's rows.
struct dropped_rows {
  std::string section;
  std::size_t first = 0;
  std::size_t count = 0;
  bool whole_section = false;
  friend bool operator==(const dropped_rows&, const dropped_rows&) = default;
};

struct context_result {
  std::string text;
  std::size_t total_tokens = 0;  ///< counter.count(text); never above budget
  std::size_t budget = 0;
  context_format format = context_format::toon;
  std::vector<section_report> sections;  ///< in output (priority) order
  std::vector<dropped_rows> dropped;     ///< in output order
};

namespace detail::ctx {

enum class kind { none, literal, get, last, search, rows };

struct section_spec {
  std::string name;
  int priority = 0;
  std::size_t order = 0;  // insertion order, for ties
  kind k = kind::none;
  std::string text;                                          // literal
  std::string path;                                          // get
  std::size_t n = 0;                                         // last, search: k
  std::string prefix;                                        // last
  std::vector<std::pair<std::string, context_value>> where;  // last
  std::string collection;                                    // search
  context_value query;                                       // search
  std::vector<context_value> rows;                           // rows
};

inline std::string_view kind_name(kind k) {
  switch (k) {
    case kind::literal:
      return "literal";
    case kind::get:
      return "get";
    case kind::last:
      return "last";
    case kind::search:
      return "search";
    case kind::rows:
      return "rows";
    default:
      return "none";
  }
}

inline bool is_primitive(const context_value& v) { return !v.is_object() && !v.is_array(); }

// Plain rendering of a primitive: strings raw, others as JSON.
inline std::string plain(const context_value& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, context_value::error_handler_t::replace);
}

// Rows that are objects with the same keys in the same order and primitive values.
inline bool uniform_rows(const std::vector<context_value>& rows, std::size_t b, std::size_t e) {
  if (b >= e || !rows[b].is_object() || rows[b].empty()) return false;
  const auto& first = rows[b];
  for (std::size_t i = b; i < e; ++i) {
    const auto& r = rows[i];
    if (!r.is_object() || r.size() != first.size()) return false;
    auto a = first.begin();
    for (auto it = r.begin(); it != r.end(); ++it, ++a) {
      if (it.key() != a.key() || !is_primitive(*it)) return false;
    }
  }
  return true;
}

inline std::string md_cell(const context_value& v) {
  std::string s = plain(v), out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// key: value, key: value (nested values as compact JSON).
inline std::string flat_line(const context_value& row) {
  if (!row.is_object()) return plain(row);
  std::string s;
  for (auto it = row.begin(); it != row.end(); ++it) {
    if (!s.empty()) s += ", ";
    s += it.key();
    s += ": ";
    s += plain(*it);
  }
  return s;
}

}  // namespace detail::ctx

template <class Db, token_counter Counter = approx_token_counter>
class context_builder;

/// The fluent builder of one section; done() returns to the context builder.
template <class Db, token_counter Counter>
class context_section_builder {
 public:
  /// The value at `path`: "KEY" or "KEY.{field, field.sub, ...}" (see docs/context.md).
  context_section_builder& get(std::string path) {
    set(detail::ctx::kind::get, "get").path = std::move(path);
    return *this;
  }
  /// The last `n` records under `table` (a key prefix; "/" is appended unless it ends in '/'
  /// or ':'), oldest first.
  context_section_builder& last(std::size_t n, std::string table) {
    auto& s = set(detail::ctx::kind::last, "last");
    s.n = n;
    s.prefix = std::move(table);
    return *this;
  }
  /// For last(): keep records whose top-level `field` equals `value` ("$var" strings are
  /// variables).
  context_section_builder& where_eq(std::string field, context_value value) {
    spec().where.emplace_back(std::move(field), std::move(value));
    return *this;
  }
  /// The top `k` hits of `query` (text, an embedding, or "$var") in `collection`.
  context_section_builder& search(std::string collection, context_value query, std::size_t k) {
    auto& s = set(detail::ctx::kind::search, "search");
    s.collection = std::move(collection);
    s.query = std::move(query);
    s.n = k;
    return *this;
  }
  /// Rows the caller computed (objects become table rows, anything else one line each), in
  /// this order; packed and truncated like any section's rows.
  context_section_builder& rows(std::vector<context_value> rows) {
    set(detail::ctx::kind::rows, "rows").rows = std::move(rows);
    return *this;
  }
  /// Static text (one row per line).
  context_section_builder& literal(std::string text) {
    set(detail::ctx::kind::literal, "literal").text = std::move(text);
    return *this;
  }
  context_builder<Db, Counter>& done() { return *b_; }

 private:
  friend class context_builder<Db, Counter>;
  context_section_builder(context_builder<Db, Counter>* b, std::size_t i) : b_(b), i_(i) {}
  detail::ctx::section_spec& spec() { return b_->sections_[i_]; }
  detail::ctx::section_spec& set(detail::ctx::kind k, const char* what) {
    auto& s = spec();
    if (s.k != detail::ctx::kind::none) {
      throw invalid_argument("context section '" + s.name + "': " + what + " after " +
                             std::string(detail::ctx::kind_name(s.k)) +
                             " (one source per section)");
    }
    s.k = k;
    return s;
  }
  context_builder<Db, Counter>* b_;
  std::size_t i_;
};

template <class Db, token_counter Counter>
class context_builder {
 public:
  using section_builder = context_section_builder<Db, Counter>;

  explicit context_builder(Db& db, Counter counter = Counter{})
      : db_(&db), counter_(std::move(counter)) {}

  /// The session id; also the variable $session.
  context_builder& for_session(std::string id) {
    vars_["session"] = id;
    session_ = std::move(id);
    return *this;
  }
  /// The token budget (> 0); default 4096.
  context_builder& with_budget(std::size_t tokens) {
    if (tokens == 0) throw invalid_argument("context: the budget must be positive");
    budget_ = tokens;
    return *this;
  }
  context_builder& format(context_format f) {
    format_ = f;
    return *this;
  }
  context_builder& truncation(truncation_mode m) {
    mode_ = m;
    return *this;
  }
  /// Variable `$name` (names: letters, digits, '_').
  context_builder& set_var(std::string name, context_value v) {
    check_var_name(name);
    vars_[std::move(name)] = std::move(v);
    return *this;
  }
  /// The search source of every collection without its own.
  context_builder& with_search(search_function f) {
    default_search_ = std::move(f);
    return *this;
  }
  /// The search source of `collection`.
  context_builder& with_search(std::string collection, search_function f) {
    searches_[std::move(collection)] = std::move(f);
    return *this;
  }
  /// A literal section (shorthand of section(name, priority).literal(text).done()).
  context_builder& literal(std::string name, int priority, std::string text) {
    return section(std::move(name), priority).literal(std::move(text)).done();
  }
  /// A new section; name it uniquely; priority 0 is the most important.
  section_builder section(std::string name, int priority) {
    if (name.empty()) throw invalid_argument("context: section name is empty");
    for (auto& s : sections_) {
      if (s.name == name) throw invalid_argument("context: duplicate section name '" + name + "'");
    }
    detail::ctx::section_spec s;
    s.name = std::move(name);
    s.priority = priority;
    s.order = sections_.size();
    sections_.push_back(std::move(s));
    return section_builder(this, sections_.size() - 1);
  }

  [[nodiscard]] std::size_t budget() const noexcept { return budget_; }
  [[nodiscard]] const std::string& session() const noexcept { return session_; }
  [[nodiscard]] const Counter& counter() const noexcept { return counter_; }

  /// Reads every section and packs the context (see the file comment).
  [[nodiscard]] context_result execute() const {
    if constexpr (requires(Db & d) { d.snapshot(); }) {
      auto snap = db_->snapshot();
      return run(snap);
    } else {
      return run(*db_);
    }
  }
  /// The same, reading through `reader` (a transaction or snapshot of the database).
  template <class Reader>
  [[nodiscard]] context_result execute(Reader& reader) const {
    return run(reader);
  }

  /// A builder from a JSON spec (docs/context.md: session, budget, format, truncation, vars,
  /// sections[{name, priority, kind, text|path|table,n,where|collection,query,k}]).
  static context_builder from_spec(Db& db, const context_value& spec, Counter counter = Counter{}) {
    context_builder b(db, std::move(counter));
    if (!spec.is_object()) throw invalid_argument("context spec: not a JSON object");
    auto str = [&](const context_value& o, const char* f, const std::string& where) {
      auto it = o.find(f);
      if (it == o.end() || !it->is_string()) {
        throw invalid_argument("context spec: " + where + " needs string field '" + f + "'");
      }
      return it->template get<std::string>();
    };
    auto uint = [&](const context_value& o, const char* f, std::size_t dflt,
                    const std::string& where) -> std::size_t {
      auto it = o.find(f);
      if (it == o.end()) return dflt;
      if (!it->is_number_unsigned() &&
          !(it->is_number_integer() && it->template get<long long>() >= 0)) {
        throw invalid_argument("context spec: " + where + " field '" + f +
                               "' must be a non-negative integer");
      }
      return it->template get<std::size_t>();
    };
    for (auto it = spec.begin(); it != spec.end(); ++it) {
      const std::string& k = it.key();
      if (k == "session") {
        b.for_session(str(spec, "session", "the spec"));
      } else if (k == "budget" || k == "token_budget") {
        b.with_budget(uint(spec, k.c_str(), 4096, "the spec"));
      } else if (k == "format") {
        b.format(parse_context_format(str(spec, "format", "the spec")));
      } else if (k == "truncation") {
        b.truncation(parse_truncation_mode(str(spec, "truncation", "the spec")));
      } else if (k == "vars") {
        if (!it->is_object()) throw invalid_argument("context spec: 'vars' must be an object");
        for (auto v = it->begin(); v != it->end(); ++v) b.set_var(v.key(), *v);
      } else if (k != "sections") {
        throw invalid_argument("context spec: unknown field '" + k + "'");
      }
    }
    auto secs = spec.find("sections");
    if (secs == spec.end() || !secs->is_array()) {
      throw invalid_argument("context spec: 'sections' must be an array");
    }
    std::size_t i = 0;
    for (auto& s : *secs) {
      std::string where = "section " + std::to_string(i++);
      if (!s.is_object()) throw invalid_argument("context spec: " + where + " is not an object");
      std::string name = str(s, "name", where);
      where = "section '" + name + "'";
      auto pr = s.find("priority");
      int priority = 0;
      if (pr != s.end()) {
        if (!pr->is_number_integer()) {
          throw invalid_argument("context spec: " + where + " priority must be an integer");
        }
        priority = pr->template get<int>();
      }
      std::string kind = str(s, "kind", where);
      auto sb = b.section(name, priority);
      if (kind == "literal") {
        sb.literal(str(s, "text", where));
      } else if (kind == "get") {
        sb.get(str(s, "path", where));
      } else if (kind == "last") {
        sb.last(uint(s, "n", uint(s, "top_k", 10, where), where), str(s, "table", where));
        if (auto w = s.find("where"); w != s.end()) {
          if (!w->is_object())
            throw invalid_argument("context spec: " + where + " 'where' must be an object");
          for (auto f = w->begin(); f != w->end(); ++f) sb.where_eq(f.key(), *f);
        }
      } else if (kind == "search") {
        auto q = s.find("query");
        if (q == s.end()) throw invalid_argument("context spec: " + where + " needs 'query'");
        sb.search(str(s, "collection", where), *q,
                  uint(s, "k", uint(s, "top_k", 10, where), where));
      } else {
        throw invalid_argument("context spec: " + where + " has unknown kind '" + kind +
                               "' (expected literal, get, last or search)");
      }
    }
    return b;
  }

 private:
  friend class context_section_builder<Db, Counter>;
  using spec_t = detail::ctx::section_spec;

  struct section_data {
    const spec_t* spec;
    std::vector<context_value> rows;  // literal: one string per line
  };
  struct range {
    std::size_t b = 0, e = 0;
    [[nodiscard]] std::size_t size() const { return e - b; }
  };

  static void check_var_name(const std::string& n) {
    if (n.empty()) throw invalid_argument("context: variable name is empty");
    for (char c : n) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
        throw invalid_argument("context: variable name '" + n +
                               "' may hold only letters, digits and '_'");
      }
    }
  }

  const context_value& var(const std::string& name, const std::string& where) const {
    auto it = vars_.find(name);
    if (it == vars_.end()) {
      throw invalid_argument("context section '" + where + "': undefined variable $" + name);
    }
    return it->second;
  }
  // "$name" as a whole string is the variable's value; anything else stays.
  context_value resolve(const context_value& v, const std::string& where) const {
    if (v.is_string()) {
      const auto& s = v.get_ref<const std::string&>();
      if (s.size() > 1 && s[0] == '$') return var(s.substr(1), where);
    }
    return v;
  }
  // Every $name inside `s` replaced by the variable's plain text ("$$" is a literal '$').
  std::string interpolate(const std::string& s, const std::string& where) const {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '$') {
        out += s[i];
        continue;
      }
      if (i + 1 < s.size() && s[i + 1] == '$') {
        out += '$';
        ++i;
        continue;
      }
      std::size_t j = i + 1;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      if (j == i + 1) {
        out += '$';
        continue;
      }
      out += detail::ctx::plain(var(s.substr(i + 1, j - i - 1), where));
      i = j - 1;
    }
    return out;
  }

  static context_value parse_value(std::string_view v) {
    auto j = context_value::parse(v, nullptr, false);
    if (j.is_discarded()) return context_value(std::string(v));
    return j;
  }

  // Follows a dotted field path into nested objects.
  static const context_value* field(const context_value& v, std::string_view path) {
    const context_value* cur = &v;
    while (!path.empty()) {
      std::size_t dot = path.find('.');
      std::string part(path.substr(0, dot));
      if (!cur->is_object()) return nullptr;
      auto it = cur->find(part);
      if (it == cur->end()) return nullptr;
      cur = &*it;
      path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
    }
    return cur;
  }

  template <class Reader>
  std::vector<context_value> read_get(Reader& r, const spec_t& s) const {
    std::string path = interpolate(s.path, s.name);
    std::vector<std::string> fields;
    if (std::size_t open = path.rfind(".{"); open != std::string::npos && path.back() == '}') {
      std::string list = path.substr(open + 2, path.size() - open - 3);
      path.resize(open);
      std::size_t p = 0;
      while (p <= list.size()) {
        std::size_t c = list.find(',', p);
        std::string f = list.substr(p, c == std::string::npos ? std::string::npos : c - p);
        auto b = f.find_first_not_of(" \t");
        auto e = f.find_last_not_of(" \t");
        if (b == std::string::npos) {
          throw invalid_argument("context section '" + s.name + "': empty field in get path '" +
                                 s.path + "'");
        }
        fields.push_back(f.substr(b, e - b + 1));
        if (c == std::string::npos) break;
        p = c + 1;
      }
    }
    if (path.empty()) throw invalid_argument("context section '" + s.name + "': get path is empty");
    std::string v;
    bool found = r.get(path, v);
    if (!found && path.find('.') != std::string::npos) {
      std::string slashed = path;
      std::replace(slashed.begin(), slashed.end(), '.', '/');
      found = r.get(slashed, v);
    }
    if (!found) return {};
    context_value doc = parse_value(v);
    if (fields.empty()) return {std::move(doc)};
    context_value sel = context_value::object();
    for (auto& f : fields) {
      if (const context_value* x = field(doc, f)) sel[f] = *x;
    }
    if (sel.empty()) return {};
    return {std::move(sel)};
  }

  template <class Reader>
  std::vector<context_value> read_last(Reader& r, const spec_t& s) const {
    std::string prefix = interpolate(s.prefix, s.name);
    if (prefix.empty()) throw invalid_argument("context section '" + s.name + "': table is empty");
    if (prefix.back() != '/' && prefix.back() != ':') prefix += '/';
    std::vector<std::pair<std::string, context_value>> where;
    for (auto& [f, v] : s.where) where.emplace_back(f, resolve(v, s.name));
    std::vector<context_value> rows;
    if (s.n == 0) return rows;
    auto sc = r.scan_prefix(prefix, scan_order::reverse);
    for (; sc.valid() && rows.size() < s.n; sc.next()) {
      context_value row = parse_value(sc.value());
      bool ok = true;
      for (auto& [f, v] : where) {
        const context_value* x = row.is_object() ? field(row, f) : nullptr;
        if (x == nullptr || *x != v) {
          ok = false;
          break;
        }
      }
      if (ok) rows.push_back(std::move(row));
    }
    std::reverse(rows.begin(), rows.end());  // oldest first
    return rows;
  }

  std::vector<context_value> read_search(const spec_t& s) const {
    context_search_request req{s.collection, resolve(s.query, s.name), s.n};
    if (!req.query.is_string() && !req.query.is_array()) {
      throw invalid_argument("context section '" + s.name +
                             "': search query must be text, an embedding or a $variable");
    }
    const search_function* fn = nullptr;
    if (auto it = searches_.find(s.collection); it != searches_.end()) {
      fn = &it->second;
    } else if (default_search_) {
      fn = &default_search_;
    }
    if (fn == nullptr) {
      throw invalid_argument("context section '" + s.name + "': no search source for collection '" +
                             s.collection + "' (with_search)");
    }
    std::vector<context_value> rows;
    if (s.n == 0) return rows;
    auto hits = (*fn)(req);
    if (hits.size() > s.n) hits.resize(s.n);
    for (auto& h : hits) {
      context_value row = context_value::object();
      row["id"] = h.id;
      row["score"] = std::round(h.score * 1000.0) / 1000.0;
      if (h.document.is_object()) {
        for (auto it = h.document.begin(); it != h.document.end(); ++it) {
          if (it.key() != "id" && it.key() != "score") row[it.key()] = it.value();
        }
      } else if (!h.document.is_null()) {
        row["document"] = h.document;
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  static std::vector<context_value> split_lines(const std::string& text) {
    std::vector<context_value> rows;
    if (text.empty()) return rows;
    std::size_t p = 0;
    for (;;) {
      std::size_t nl = text.find('\n', p);
      rows.emplace_back(text.substr(p, nl == std::string::npos ? std::string::npos : nl - p));
      if (nl == std::string::npos) break;
      p = nl + 1;
    }
    return rows;
  }

  // ---- rendering ----

  // The section's value for toon/json: a literal's kept lines joined; a get's object; a list.
  static context_value section_value(const section_data& d, range r) {
    using detail::ctx::kind;
    if (d.spec->k == kind::literal) {
      std::string s;
      for (std::size_t i = r.b; i < r.e; ++i) {
        if (i > r.b) s += '\n';
        s += d.rows[i].template get_ref<const std::string&>();
      }
      return s;
    }
    if (d.spec->k == kind::get) return d.rows[r.b];
    context_value a = context_value::array();
    for (std::size_t i = r.b; i < r.e; ++i) a.push_back(d.rows[i]);
    return a;
  }

  // The text of one section (non-empty range).
  std::string render_section(const section_data& d, range r) const {
    using detail::ctx::kind;
    const std::string& name = d.spec->name;
    switch (format_) {
      case context_format::toon: {
        context_value o = context_value::object();
        o[name] = section_value(d, r);
        return toon::encode(o);
      }
      case context_format::json: {
        return context_value(name).dump() + ":" +
               section_value(d, r).dump(-1, ' ', false, context_value::error_handler_t::replace);
      }
      case context_format::markdown: {
        std::string s = "## " + name + "\n\n";
        if (d.spec->k == kind::literal) {
          for (std::size_t i = r.b; i < r.e; ++i) s += d.rows[i].template get<std::string>() + "\n";
        } else if (d.spec->k == kind::get && d.rows[r.b].is_object()) {
          for (auto it = d.rows[r.b].begin(); it != d.rows[r.b].end(); ++it) {
            s += "- " + it.key() + ": " + detail::ctx::plain(*it) + "\n";
          }
        } else if (detail::ctx::uniform_rows(d.rows, r.b, r.e)) {
          std::string head = "|", rule = "|";
          for (auto it = d.rows[r.b].begin(); it != d.rows[r.b].end(); ++it) {
            head += " " + detail::ctx::md_cell(context_value(it.key())) + " |";
            rule += " --- |";
          }
          s += head + "\n" + rule + "\n";
          for (std::size_t i = r.b; i < r.e; ++i) {
            s += "|";
            for (auto it = d.rows[i].begin(); it != d.rows[i].end(); ++it) {
              s += " " + detail::ctx::md_cell(*it) + " |";
            }
            s += "\n";
          }
        } else {
          for (std::size_t i = r.b; i < r.e; ++i) {
            s += "- " + detail::ctx::plain(d.rows[i]) + "\n";
          }
        }
        s.pop_back();
        return s;
      }
      case context_format::text: {
        std::string s = name + ":\n";
        if (d.spec->k == kind::get && d.rows[r.b].is_object()) {
          for (auto it = d.rows[r.b].begin(); it != d.rows[r.b].end(); ++it) {
            s += it.key() + ": " + detail::ctx::plain(*it) + "\n";
          }
        } else {
          for (std::size_t i = r.b; i < r.e; ++i) s += detail::ctx::flat_line(d.rows[i]) + "\n";
        }
        s.pop_back();
        return s;
      }
    }
    return {};
  }

  struct packer {
    const context_builder* b;
    const std::vector<section_data>* data;
    std::vector<std::string> full;  // cached renderings of whole sections
    std::size_t measurements = 0;

    std::string piece(std::size_t i, range r) {
      if (r.b == 0 && r.e == (*data)[i].rows.size()) {
        if (full[i].empty()) full[i] = b->render_section((*data)[i], r);
        return full[i];
      }
      return b->render_section((*data)[i], r);
    }
    std::string assemble(const std::vector<range>& keep) {
      std::string text;
      bool first = true;
      bool json = b->format_ == context_format::json;
      const char* sep = b->format_ == context_format::toon ? "\n" : json ? ",\n" : "\n\n";
      if (json) text = "{";
      for (std::size_t i = 0; i < keep.size(); ++i) {
        if (keep[i].size() == 0) continue;
        if (!first) text += sep;
        first = false;
        text += piece(i, keep[i]);
      }
      if (json) text += "}";
      return text;
    }
    std::size_t measure(const std::vector<range>& keep) {
      ++measurements;
      return b->counter_.count(assemble(keep));
    }
    bool fits(const std::vector<range>& keep) { return measure(keep) <= b->budget_; }
  };

  // The largest r in [lo, hi] with ok(r), given ok(lo) (binary search; the candidate returned
  // is always one that was measured or given as fitting).
  template <class F>
  static std::size_t largest(std::size_t lo, std::size_t hi, F&& ok) {
    while (lo < hi) {
      std::size_t mid = lo + (hi - lo + 1) / 2;
      if (ok(mid)) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }

  std::vector<range> pack(packer& p, const std::vector<section_data>& data) const {
    const std::size_t n = data.size();
    std::vector<range> all(n);
    for (std::size_t i = 0; i < n; ++i) all[i] = {0, data[i].rows.size()};
    if (p.fits(all)) return all;
    switch (mode_) {
      case truncation_mode::strict: {
        std::size_t need = p.measure(all);
        throw budget_exceeded("context: " + std::to_string(need) + " tokens exceed the budget of " +
                              std::to_string(budget_) + " (truncation strict)");
      }
      case truncation_mode::tail_drop: {
        // Whole sections from the front while they fit, then the longest head of the next.
        std::vector<range> keep(n);
        std::size_t k = 0;
        for (; k < n; ++k) {
          keep[k] = all[k];
          if (!p.fits(keep)) {
            keep[k] = {0, 0};
            break;
          }
        }
        if (k < n) {
          std::size_t r = largest(0, all[k].e - 1, [&](std::size_t m) {
            keep[k] = {0, m};
            return p.fits(keep);
          });
          keep[k] = {0, r};
        }
        return keep;
      }
      case truncation_mode::head_drop: {
        std::vector<range> keep(n);
        std::size_t k = n;
        for (; k > 0; --k) {
          keep[k - 1] = all[k - 1];
          if (!p.fits(keep)) {
            keep[k - 1] = {0, 0};
            break;
          }
        }
        if (k > 0) {
          std::size_t i = k - 1, rows = all[i].e;
          std::size_t r = largest(0, rows - 1, [&](std::size_t m) {
            keep[i] = {rows - m, rows};
            return p.fits(keep);
          });
          keep[i] = {rows - r, rows};
        }
        return keep;
      }
      case truncation_mode::proportional: {
        // The sections that take part: all, less the least important ones while even one row
        // each does not fit.
        std::size_t m = n;
        auto at_fraction = [&](double f, std::size_t parts) {
          std::vector<range> keep(n);
          for (std::size_t i = 0; i < parts; ++i) {
            auto rows = all[i].e;
            auto k = static_cast<std::size_t>(std::ceil(f * static_cast<double>(rows)));
            keep[i] = {0, std::min(rows, k)};
          }
          return keep;
        };
        while (m > 0 && !p.fits(at_fraction(1e-12, m))) --m;
        if (m == 0) return std::vector<range>(n);
        // Largest fraction in steps of 1/4096 (fine enough for any section below 4096 rows;
        // the fill below takes up what rounding leaves).
        const std::size_t steps = 4096;
        std::size_t best = largest(0, steps - 1, [&](std::size_t s) {
          return p.fits(at_fraction(s == 0 ? 1e-12 : static_cast<double>(s) / steps, m));
        });
        std::vector<range> keep =
            at_fraction(best == 0 ? 1e-12 : static_cast<double>(best) / steps, m);
        // Leftover room: one more row at a time, in priority order, while anything fits.
        for (bool grew = true; grew;) {
          grew = false;
          for (std::size_t i = 0; i < m; ++i) {
            if (keep[i].e >= all[i].e) continue;
            ++keep[i].e;
            if (p.fits(keep)) {
              grew = true;
            } else {
              --keep[i].e;
            }
          }
        }
        return keep;
      }
    }
    return all;
  }

  template <class Reader>
  context_result run(Reader& r) const {
    using detail::ctx::kind;
    // Priority order, ties in insertion order.
    std::vector<const spec_t*> order;
    for (auto& s : sections_) {
      if (s.k == kind::none) {
        throw invalid_argument("context section '" + s.name +
                               "' has no source (literal, get, last or search)");
      }
      order.push_back(&s);
    }
    std::stable_sort(order.begin(), order.end(),
                     [](const spec_t* a, const spec_t* b) { return a->priority < b->priority; });
    std::vector<section_data> data;
    for (const spec_t* s : order) {
      section_data d{s, {}};
      switch (s->k) {
        case kind::literal:
          d.rows = split_lines(s->text);
          break;
        case kind::get:
          d.rows = read_get(r, *s);
          break;
        case kind::last:
          d.rows = read_last(r, *s);
          break;
        case kind::search:
          d.rows = read_search(*s);
          break;
        case kind::rows:
          d.rows = s->rows;
          break;
        default:
          break;
      }
      data.push_back(std::move(d));
    }
    packer p{this, &data, std::vector<std::string>(data.size())};
    std::vector<range> keep = pack(p, data);

    context_result res;
    res.budget = budget_;
    res.format = format_;
    res.text = p.assemble(keep);
    res.total_tokens = counter_.count(res.text);
    if (res.total_tokens > budget_) {
      // Unreachable: pack() returns measured candidates only. Kept as a hard guarantee.
      throw budget_exceeded("context: packing produced " + std::to_string(res.total_tokens) +
                            " tokens over a budget of " + std::to_string(budget_));
    }
    for (std::size_t i = 0; i < data.size(); ++i) {
      const auto& d = data[i];
      section_report rep;
      rep.name = d.spec->name;
      rep.priority = d.spec->priority;
      rep.kind = std::string(detail::ctx::kind_name(d.spec->k));
      rep.rows = d.rows.size();
      rep.rows_kept = keep[i].size();
      rep.tokens = rep.rows_kept ? counter_.count(p.piece(i, keep[i])) : 0;
      rep.dropped = rep.rows > 0 && rep.rows_kept == 0;
      rep.truncated = rep.rows_kept > 0 && rep.rows_kept < rep.rows;
      if (rep.dropped) {
        res.dropped.push_back({rep.name, 0, rep.rows, true});
      } else if (rep.truncated) {
        if (keep[i].b > 0) res.dropped.push_back({rep.name, 0, keep[i].b, false});
        if (keep[i].e < rep.rows) {
          res.dropped.push_back({rep.name, keep[i].e, rep.rows - keep[i].e, false});
        }
      }
      res.sections.push_back(std::move(rep));
    }
    return res;
  }

  Db* db_;
  Counter counter_;
  std::size_t budget_ = 4096;
  context_format format_ = context_format::toon;
  truncation_mode mode_ = truncation_mode::tail_drop;
  std::string session_;
  std::map<std::string, context_value> vars_;
  std::map<std::string, search_function> searches_;
  search_function default_search_;
  std::vector<spec_t> sections_;
};

template <class Db>
context_builder(Db&) -> context_builder<Db, approx_token_counter>;
template <class Db, class Counter>
context_builder(Db&, Counter) -> context_builder<Db, Counter>;

SOCHDB_END_NAMESPACE
