// sochdb/db/filter.hpp — metadata filters: MongoDB-style JSON compiled once, evaluated per
// document inside the index searches of a collection (db/collection.hpp).
//
//     auto f = sochdb::metadata_filter::compile(R"({"$and": [{"year": {"$gte": 2020}},
//                                                {"author.name": {"$in": ["Ada", "Alan"]}}]})");
//     bool ok = f.matches(doc_metadata);
//
// Grammar (docs/collections.md "Filters"):
//   filter     := { clause, ... }                     (all clauses must hold)
//   clause     := "$and": [filter, ...] | "$or": [filter, ...] | "$not": filter
//               | field: value                        (equality)
//               | field: { op: value, ... }           (every operator must hold)
//   op         := $eq $ne $gt $gte $lt $lte $in $nin
// A field is a dotted path into nested objects ("author.name"). Semantics: $eq holds when the
// field exists and equals the value (numbers compare by value, 1 == 1.0; an array field holds
// when any element equals); $ne and $nin are the negations of $eq and $in (so they hold for a
// missing field); $gt/$gte/$lt/$lte hold only when both sides are numbers or both strings
// (byte order); $in needs an array of values. Anything else — unknown operators, $and with a
// non-array — is `invalid_argument` at compile time naming the offending part, never at search
// time.
//
// Thread safety: a compiled filter is immutable; `matches` may run on any number of threads.
#pragma once

#include <sochdb/core/error.hpp>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

class metadata_filter {
 public:
  /// The empty filter: every document matches.
  metadata_filter() = default;

  /// Compiles a filter from its JSON (an object; null or {} match everything).
  static metadata_filter compile(const nlohmann::json& spec) {
    metadata_filter f;
    if (spec.is_null()) return f;
    f.root_ = std::make_shared<node>(parse_object(spec, "filter"));
    f.source_ = std::make_shared<const std::string>(spec.dump());
    return f;
  }
  static metadata_filter compile(const char* json_text) {  // a literal: not a JSON string value
    return compile(std::string_view(json_text));
  }
  static metadata_filter compile(std::string_view json_text) {
    auto j = nlohmann::json::parse(json_text, nullptr, false);
    if (j.is_discarded()) {
      throw invalid_argument("filter: not valid JSON: " + printable_key(json_text, 80));
    }
    return compile(j);
  }

  /// True when the filter matches everything (no clauses).
  [[nodiscard]] bool empty() const noexcept { return root_ == nullptr || root_->kids.empty(); }

  /// The filter's canonical JSON text (identical filters have identical text; "" when empty).
  [[nodiscard]] const std::string& source() const noexcept {
    static const std::string none;
    return source_ ? *source_ : none;
  }

  [[nodiscard]] bool matches(const nlohmann::json& doc) const {
    return root_ == nullptr || eval(*root_, doc);
  }

 private:
  enum class op : std::uint8_t { all, any, negate, eq, ne, gt, gte, lt, lte, in, nin };
  struct node {
    op kind = op::all;
    std::vector<std::string> path;  // comparisons
    nlohmann::json value;           // comparisons
    std::vector<node> kids;         // all / any / negate
  };

  static node parse_object(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) throw invalid_argument(where + ": expected a JSON object, got " + j.dump());
    node all{.kind = op::all};
    for (auto& [k, v] : j.items()) {
      if (k == "$and" || k == "$or") {
        if (!v.is_array() || v.empty())
          throw invalid_argument(where + ": " + k + " needs a non-empty array of filters");
        node n{.kind = k == "$and" ? op::all : op::any};
        for (std::size_t i = 0; i < v.size(); ++i)
          n.kids.push_back(parse_object(v[i], where + "." + k + "[" + std::to_string(i) + "]"));
        all.kids.push_back(std::move(n));
      } else if (k == "$not") {
        node n{.kind = op::negate};
        n.kids.push_back(parse_object(v, where + ".$not"));
        all.kids.push_back(std::move(n));
      } else if (!k.empty() && k[0] == '$') {
        throw invalid_argument(where + ": unknown operator " + k);
      } else {
        parse_field(k, v, where, all);
      }
    }
    return all;
  }

  static std::vector<std::string> split_path(const std::string& field, const std::string& where) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
      auto dot = field.find('.', start);
      std::string part =
          field.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (part.empty())
        throw invalid_argument(where + ": field '" + field + "' has an empty component");
      out.push_back(std::move(part));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    return out;
  }

  static void parse_field(const std::string& field, const nlohmann::json& v,
                          const std::string& where, node& into) {
    auto path = split_path(field, where);
    bool operators = v.is_object() && !v.empty() && v.begin().key().starts_with("$");
    if (!operators) {
      into.kids.push_back(node{.kind = op::eq, .path = path, .value = v});
      return;
    }
    for (auto& [o, arg] : v.items()) {
      op kind;
      if (o == "$eq")
        kind = op::eq;
      else if (o == "$ne")
        kind = op::ne;
      else if (o == "$gt")
        kind = op::gt;
      else if (o == "$gte")
        kind = op::gte;
      else if (o == "$lt")
        kind = op::lt;
      else if (o == "$lte")
        kind = op::lte;
      else if (o == "$in")
        kind = op::in;
      else if (o == "$nin")
        kind = op::nin;
      else
        throw invalid_argument(where + ": unknown operator " + o + " on field '" + field + "'");
      if ((kind == op::in || kind == op::nin) && !arg.is_array())
        throw invalid_argument(where + ": " + o + " on field '" + field + "' needs an array");
      if ((kind == op::gt || kind == op::gte || kind == op::lt || kind == op::lte) &&
          !arg.is_number() && !arg.is_string())
        throw invalid_argument(where + ": " + o + " on field '" + field +
                               "' needs a number or a string");
      into.kids.push_back(node{.kind = kind, .path = path, .value = arg});
    }
  }

  static const nlohmann::json* resolve(const nlohmann::json& doc,
                                       const std::vector<std::string>& path) {
    const nlohmann::json* cur = &doc;
    for (const auto& p : path) {
      if (!cur->is_object()) return nullptr;
      auto it = cur->find(p);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    }
    return cur;
  }

  static bool equal(const nlohmann::json& a, const nlohmann::json& b) {
    if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
    return a == b;
  }
  // $eq: an array field matches when any element equals a scalar value.
  static bool field_eq(const nlohmann::json& f, const nlohmann::json& v) {
    if (equal(f, v)) return true;
    if (f.is_array() && !v.is_array()) {
      for (auto& e : f)
        if (equal(e, v)) return true;
    }
    return false;
  }
  static bool field_in(const nlohmann::json& f, const nlohmann::json& set) {
    for (auto& v : set)
      if (field_eq(f, v)) return true;
    return false;
  }
  // -1, 0, 1, or 2 when the two are not comparable.
  static int compare(const nlohmann::json& a, const nlohmann::json& b) {
    if (a.is_number() && b.is_number()) {
      double x = a.get<double>(), y = b.get<double>();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    if (a.is_string() && b.is_string()) {
      const auto& x = a.get_ref<const std::string&>();
      const auto& y = b.get_ref<const std::string&>();
      int c = x.compare(y);
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    return 2;
  }

  static bool eval(const node& n, const nlohmann::json& doc) {
    switch (n.kind) {
      case op::all:
        for (auto& k : n.kids)
          if (!eval(k, doc)) return false;
        return true;
      case op::any:
        for (auto& k : n.kids)
          if (eval(k, doc)) return true;
        return false;
      case op::negate:
        return !eval(n.kids[0], doc);
      default:
        break;
    }
    const nlohmann::json* f = resolve(doc, n.path);
    switch (n.kind) {
      case op::eq:
        return f != nullptr && field_eq(*f, n.value);
      case op::ne:
        return f == nullptr || !field_eq(*f, n.value);
      case op::in:
        return f != nullptr && field_in(*f, n.value);
      case op::nin:
        return f == nullptr || !field_in(*f, n.value);
      default:
        break;
    }
    if (f == nullptr) return false;
    int c = compare(*f, n.value);
    if (c == 2) return false;
    switch (n.kind) {
      case op::gt:
        return c > 0;
      case op::gte:
        return c >= 0;
      case op::lt:
        return c < 0;
      case op::lte:
        return c <= 0;
      default:
        return false;
    }
  }

  std::shared_ptr<const node> root_;
  std::shared_ptr<const std::string> source_;
};

SOCHDB_END_NAMESPACE
