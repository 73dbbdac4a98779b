// Helpers shared by the TOON suites: the official fixtures and a random document generator.
#pragma once

#include <doctest/doctest.h>

#include <sochdb/toon.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace toon_test {

using sochdb::toon::value;
namespace toon = sochdb::toon;

struct fixture_case {
  std::string file;
  std::string name;
  value test;
};

/// True when the official fixtures are beside the repository; otherwise says so once per call.
inline bool fixtures_present() {
  std::error_code ec;
  if (std::filesystem::is_directory(SOCHDB_TOON_FIXTURES, ec)) return true;
  MESSAGE("TOON fixtures not found at " << SOCHDB_TOON_FIXTURES
                                        << " (they sit in ../shared/toon-spec beside the "
                                           "repository); fixture cases skipped");
  return false;
}

/// Every case of one category ("encode" or "decode"), files in name order.
inline std::vector<fixture_case> load_fixtures(const std::string& category) {
  std::vector<fixture_case> out;
  std::filesystem::path dir = std::filesystem::path(SOCHDB_TOON_FIXTURES) / category;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f);
    value doc = value::parse(in);
    for (auto& t : doc["tests"])
      out.push_back({f.filename().string(), t["name"].get<std::string>(), t});
  }
  return out;
}

inline toon::encode_options encode_opts(const value& o) {
  toon::encode_options e;
  if (o.contains("indent")) e.indent = o["indent"].get<int>();
  if (o.contains("delimiter"))
    e.delimiter = static_cast<toon::delimiter>(o["delimiter"].get<std::string>().at(0));
  if (o.contains("keyFolding"))
    e.key_folding = o["keyFolding"] == "safe" ? toon::key_folding::safe : toon::key_folding::off;
  if (o.contains("flattenDepth")) e.flatten_depth = o["flattenDepth"].get<std::size_t>();
  return e;
}

inline toon::decode_options decode_opts(const value& o) {
  toon::decode_options d;
  if (o.contains("indent")) d.indent = o["indent"].get<int>();
  if (o.contains("strict")) d.strict = o["strict"].get<bool>();
  if (o.contains("expandPaths"))
    d.expand_paths =
        o["expandPaths"] == "safe" ? toon::expand_paths::safe : toon::expand_paths::off;
  return d;
}

/// Equality without key order (TOON tables list every row's fields in the first row's order).
inline bool same_ignoring_key_order(const value& a, const value& b) {
  if (a.is_object() && b.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto o = b.find(it.key());
      if (o == b.end() || !same_ignoring_key_order(*it, *o)) return false;
    }
    return true;
  }
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same_ignoring_key_order(a[i], b[i])) return false;
    return true;
  }
  return a == b;
}

/// Random documents full of the hazards TOON has to get right: strings that need quoting
/// (delimiters, colons, brackets, leading hyphens, look-alike numbers and literals, controls,
/// Unicode spaces), every array shape, nesting, and numbers across the double range.
class doc_generator {
 public:
  explicit doc_generator(std::uint64_t seed) : rng_(seed) {}

  /// `full_model`: also NaN, infinities, -0.0, binary values and unsigned integers, which only
  /// binary TOON carries. Otherwise the document is in TOON's text data model.
  value document(bool full_model = false) {
    full_ = full_model;
    auto r = below(10);
    if (r == 0) return primitive();
    if (r < 3) return array(0);
    return object(0);
  }

  std::string string() {
    static const char* const pieces[] = {"a",
                                         "Ada",
                                         "hello world",
                                         " ",
                                         "-",
                                         "-x",
                                         ":",
                                         "a:b",
                                         ",",
                                         "a,b",
                                         "|",
                                         "\t",
                                         "\"",
                                         "q\"q",
                                         "\\",
                                         "[",
                                         "]",
                                         "{",
                                         "}",
                                         "[2]: x",
                                         "true",
                                         "false",
                                         "null",
                                         "True",
                                         "1",
                                         "-1",
                                         "05",
                                         "1.5",
                                         "1e5",
                                         "0.0",
                                         "\n",
                                         "\r",
                                         "\x01",
                                         "\x1f",
                                         "\xc2\xa0",
                                         "\xe3\x80\x80",
                                         "\xef\xbb\xbf",
                                         "caf\xc3\xa9",
                                         "\xe4\xb8\x96",
                                         "\xf0\x9f\x9a\x80",
                                         "#",
                                         ".",
                                         "a.b",
                                         "_",
                                         "- item",
                                         "\x7f"};
    std::string s;
    auto n = below(4);
    for (std::uint64_t i = 0; i < n; ++i) s += pieces[below(std::size(pieces))];
    if (below(20) == 0) s += std::string(below(400), 'x');  // long strings: str8/str16 tags
    return s;
  }

  std::string key() {
    static const char* const idents[] = {"id", "name", "a", "b", "c", "x_1", "user", "data"};
    auto r = below(10);
    if (r < 6) return idents[below(std::size(idents))];
    if (r < 7) return std::string(idents[below(std::size(idents))]) + "." + idents[below(8)];
    return string();
  }

  value number() {
    switch (below(9)) {
      case 0:
        return static_cast<std::int64_t>(below(100));
      case 1:
        return -static_cast<std::int64_t>(below(1000000));
      case 2:
        return static_cast<double>(below(100000)) / 100.0;
      case 3:
        return std::ldexp(static_cast<double>(rng_() >> 11), static_cast<int>(below(200)) - 150);
      case 4: {
        static const double specials[] = {
            1e21, 1e-7, 1e-6, 0.1 + 0.2, 5e-324, 1.7976931348623157e308, 123456789012.5, 1e20};
        return specials[below(std::size(specials))];
      }
      case 5:
        return static_cast<std::int64_t>(rng_());  // the whole int64 range
      case 6:
        if (full_) {
          static const double odd[] = {std::numeric_limits<double>::quiet_NaN(),
                                       std::numeric_limits<double>::infinity(),
                                       -std::numeric_limits<double>::infinity(), -0.0};
          return odd[below(4)];
        }
        return static_cast<std::uint64_t>(rng_() | (1ULL << 63));  // above INT64_MAX
      case 7: {
        double d;
        std::uint64_t bits = rng_();
        std::memcpy(&d, &bits, 8);
        if (!std::isfinite(d)) d = 0.5;
        if (d == 0) d = 0;  // no -0.0 in the text model
        return d;
      }
      default:
        return static_cast<std::int64_t>(below(1u << 30));
    }
  }

  value primitive() {
    auto r = below(12);
    if (r < 6) return string();
    if (r < 10) return number();
    if (r < 11) return below(2) == 0;
    if (full_ && below(2) == 0)
      return value::binary({static_cast<std::uint8_t>(below(256)), 0, 255}, below(3));
    return nullptr;
  }

  value object(int depth) {
    value o = value::object();
    auto n = below(5);
    for (std::uint64_t i = 0; i < n; ++i) o[key()] = any(depth + 1);
    return o;
  }

  value array(int depth) {
    value a = value::array();
    auto n = below(5);
    switch (below(4)) {
      case 0:
        for (std::uint64_t i = 0; i < n; ++i) a.push_back(primitive());
        break;
      case 1: {  // uniform rows: a TOON table, a binary columnar table
        std::vector<std::string> keys;
        auto nk = 1 + below(3);
        for (std::uint64_t k = 0; k < nk; ++k) keys.push_back(key());
        for (std::uint64_t i = 0; i < n + 1; ++i) {
          value row = value::object();
          for (auto& k : keys) row[k] = below(20) == 0 ? any(depth + 1) : primitive();
          a.push_back(row);
        }
        break;
      }
      case 2:
        for (std::uint64_t i = 0; i < n; ++i) {
          value inner = value::array();
          auto m = below(3);
          for (std::uint64_t j = 0; j < m; ++j) inner.push_back(primitive());
          a.push_back(inner);
        }
        break;
      default:
        for (std::uint64_t i = 0; i < n; ++i) a.push_back(any(depth + 1));
    }
    return a;
  }

  value any(int depth) {
    if (depth > 5) return primitive();
    auto r = below(10);
    if (r < 5) return primitive();
    if (r < 7) return object(depth);
    if (r < 9) return array(depth);
    value v = any(depth + 2);  // a single-key chain, for key folding
    for (std::uint64_t i = 0, n = 1 + below(3); i < n; ++i) v = value{{key(), v}};
    return v;
  }

  std::uint64_t below(std::uint64_t n) { return rng_() % n; }

 private:
  std::mt19937_64 rng_;
  bool full_ = false;
};

}  // namespace toon_test
