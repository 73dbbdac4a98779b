// TOON text codec: numbers, quoting, options, sinks, errors with positions, hostile input,
// the documented differences from the reference implementation, and randomized round trips.
#include <doctest/doctest.h>

#include <sochdb/toon.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "toon_test_util.hpp"

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_toon_text_test {

using namespace sochdb;
using toon::value;

namespace {

value j(const char* json) { return value::parse(json); }

}  // namespace

TEST_CASE("numbers are canonical (TOON §2)") {
  auto enc = [](double d) { return toon::encode(value(d)); };
  CHECK(enc(1.0) == "1");
  CHECK(enc(-0.0) == "0");
  CHECK(enc(1.5) == "1.5");
  CHECK(enc(1e6) == "1000000");
  CHECK(enc(1e-6) == "0.000001");
  CHECK(enc(1e-7) == "1e-7");
  CHECK(enc(1.5e-7) == "1.5e-7");
  CHECK(enc(1e20) == "100000000000000000000");
  CHECK(enc(1e21) == "1e+21");
  CHECK(enc(1.2345e21) == "1.2345e+21");
  CHECK(enc(123456789.125) == "123456789.125");
  CHECK(enc(0.1 + 0.2) == "0.30000000000000004");
  CHECK(enc(-2.5e-5) == "-0.000025");
  CHECK(enc(5e-324) == "5e-324");
  CHECK(enc(1.7976931348623157e308) == "1.7976931348623157e+308");
  CHECK(enc(std::numeric_limits<double>::quiet_NaN()) == "null");
  CHECK(enc(std::numeric_limits<double>::infinity()) == "null");
  CHECK(enc(-std::numeric_limits<double>::infinity()) == "null");
  // Integers are exact over the whole int64 / uint64 range.
  CHECK(toon::encode(value(std::numeric_limits<std::int64_t>::min())) == "-9223372036854775808");
  CHECK(toon::encode(value(std::numeric_limits<std::uint64_t>::max())) == "18446744073709551615");
}

TEST_CASE("numbers decode per §4") {
  CHECK(toon::decode("9223372036854775807") == value(std::numeric_limits<std::int64_t>::max()));
  CHECK(toon::decode("-9223372036854775808") == value(std::numeric_limits<std::int64_t>::min()));
  CHECK(toon::decode("18446744073709551615").is_number_unsigned());
  CHECK(toon::decode("18446744073709551616").is_number_float());  // beyond 64 bits: a double
  CHECK(toon::decode("1e3").is_number_integer());                 // integral: an integer
  CHECK(toon::decode("1e3") == value(1000));
  CHECK(toon::decode("1.5e300").is_number_float());
  CHECK(toon::decode("1e999") == value("1e999"));  // overflows a double: a string
  CHECK(toon::decode("1e-999") == value(0));       // underflows: zero
  CHECK(toon::decode("-0.0e5") == value(0));
  CHECK(toon::decode("0.0000001e-400") == value(0));
  CHECK(toon::decode("05") == value("05"));
  CHECK(toon::decode("1.") == value("1."));
  CHECK(toon::decode(".5") == value(".5"));
  CHECK(toon::decode("1e") == value("1e"));
  CHECK(toon::decode("+1") == value("+1"));
  CHECK(toon::decode("0x10") == value("0x10"));
}

TEST_CASE("strings are quoted exactly when §7.2 requires") {
  auto enc = [](const char* s) { return toon::encode(value(s)); };
  CHECK(enc("plain text") == "plain text");
  CHECK(enc("") == "\"\"");
  CHECK(enc(" lead") == "\" lead\"");
  CHECK(enc("trail ") == "\"trail \"");
  // ECMAScript whitespace at the edges, as the reference decides it.
  CHECK(enc("\xC2\xA0nbsp") == "\"\xC2\xA0nbsp\"");
  CHECK(enc("x\xE3\x80\x80") == "\"x\xE3\x80\x80\"");
  CHECK(enc("\xEF\xBB\xBFx") == "\"\xEF\xBB\xBFx\"");
  CHECK(enc("x\xE2\x80\xA8") == "\"x\xE2\x80\xA8\"");
  CHECK(enc("mid\xC2\xA0space") == "mid\xC2\xA0space");  // inside: no quotes
  CHECK(enc("-") == "\"-\"");
  CHECK(enc("a-b") == "a-b");
  CHECK(enc("true") == "\"true\"");
  CHECK(enc("True") == "True");
  CHECK(enc("1e5") == "\"1e5\"");
  CHECK(enc("1e5x") == "1e5x");
  CHECK(enc("007") == "\"007\"");
  CHECK(enc("a\x01z") == "\"a\\u0001z\"");
  CHECK(enc("tab\there") == "\"tab\\there\"");
  CHECK(enc("caf\xC3\xA9") == "caf\xC3\xA9");
  CHECK(enc("a|b") == "a|b");
  CHECK(toon::encode(value("a|b"), {.delimiter = toon::delimiter::pipe}) == "\"a|b\"");
}

TEST_CASE("documents round-trip through text") {
  value doc =
      j(R"({"users":[{"id":1,"name":"Ada","tags":["x","y"]},{"id":2,"name":"Bob","tags":[]}],
                    "meta":{"count":2,"ok":true,"none":null,"ratio":0.25,"note":"a: b, c"}})");
  for (auto d : {toon::delimiter::comma, toon::delimiter::tab, toon::delimiter::pipe}) {
    for (int indent : {1, 2, 4}) {
      std::string text = toon::encode(doc, {.indent = indent, .delimiter = d});
      CHECK(toon::decode(text, {.indent = indent}) == doc);
    }
  }
}

namespace {

/// The parse error a decode raises (fails the test when none).
parse_error decode_error(std::string_view text, const toon::decode_options& o = {}) {
  try {
    (void)toon::decode(text, o);
  } catch (const parse_error& e) {
    return e;
  }
  FAIL("expected a parse_error for: " << text);
  return parse_error("", 0, 0, "");
}

}  // namespace

TEST_CASE("double formatting matches the shortest round-trip representation") {
  // The fast path for short decimals and the general path must agree with the shortest
  // digits std::to_chars finds, on every kind of double.
  std::mt19937_64 rng(7);
  auto check_one = [](double d) {
    std::string s = toon::encode(value(d));
    double back = std::strtod(s.c_str(), nullptr);
    REQUIRE_MESSAGE(back == d, s);
    char sci[64];
    auto r = std::to_chars(sci, sci + sizeof sci, d, std::chars_format::scientific);
    std::string mantissa(sci, static_cast<std::size_t>(std::find(sci, r.ptr, 'e') - sci));
    std::size_t shortest = 0;
    for (char c : mantissa) shortest += (c >= '0' && c <= '9') ? 1 : 0;
    std::size_t digits = 0;
    bool leading = true;
    std::string sig = s.substr(0, s.find('e'));
    for (char c : sig) {
      if (c < '0' || c > '9') continue;
      if (leading && c == '0') continue;
      leading = false;
      ++digits;
    }
    // Trailing zeros of an integer written out in full are not significant digits.
    if (s.find('.') == std::string::npos && s.find('e') == std::string::npos) {
      std::size_t z = sig.size();
      while (z > 1 && sig[z - 1] == '0') --z, --digits;
    }
    REQUIRE_MESSAGE(digits == shortest, s << " vs " << sci);
  };
  for (int i = 0; i < 200000; ++i) {
    std::uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, 8);
    if (std::isfinite(d) && d != 0) check_one(d);
    // Short decimals at every scale: prices, measurements, scores.
    double dec =
        static_cast<double>(rng() % 10000000) / std::pow(10.0, static_cast<int>(rng() % 12));
    if (dec != 0) check_one(rng() % 2 ? dec : -dec);
  }
}

TEST_CASE("errors carry the line and column of the offending token") {
  auto e = decode_error("a: 1\nitems[3]: x,y");
  CHECK(e.line() == 2);
  CHECK(e.column() == 1);
  CHECK(std::string(e.what()) ==
        "toon: line 2, column 1: array 'items' declares 3 values, found 2");

  e = decode_error("a:\n   b: 1");
  CHECK(e.line() == 2);
  CHECK(e.column() == 4);
  CHECK(e.detail().find("not a multiple of 2") != std::string::npos);

  e = decode_error("k: \"ab\\qc\"");
  CHECK(e.line() == 1);
  CHECK(e.column() == 7);  // the backslash
  CHECK(e.detail() == "invalid escape sequence");

  e = decode_error("caf\xC3\xA9: \"\xC3\xA9\\x\"");  // columns count code points, not bytes
  CHECK(e.column() == 9);

  e = decode_error("t[2]{a,b}:\n  1,2\n  3");
  CHECK(e.line() == 3);
  CHECK(e.detail().find("row has 1 values") != std::string::npos);

  e = decode_error("a: 1\na: 2");
  CHECK(e.line() == 2);
  CHECK(e.detail() == "duplicate key 'a' (strict mode)");

  e = decode_error("items[2]:\n  - a\n\n  - b");
  CHECK(e.line() == 3);
  CHECK(e.detail() == "blank line inside an array (strict mode)");

  CHECK(decode_error("x[03]: 1").detail().find("invalid array length '03'") != std::string::npos);
  CHECK(decode_error("x[2|]{a,b}:").detail().find("delimiter mismatch") != std::string::npos);
  CHECK(decode_error("\"abc").detail() == "unterminated string");
  CHECK(decode_error("s: \"\\ud800\"").detail().find("surrogate") != std::string::npos);
  CHECK(decode_error("s: \"\\u12\"").detail().find("truncated") != std::string::npos);
}

TEST_CASE("hostile input fails cleanly with bounded work") {
  // A huge declared length allocates nothing up front.
  CHECK(decode_error("a[4294967295]:").detail().find("declares 4294967295 items, found 0") !=
        std::string::npos);
  CHECK(decode_error("a[18446744073709551615]: 1").line() == 1);
  CHECK(decode_error("a[99999999999999999999999999]: 1").line() == 1);  // saturates, no overflow
  CHECK(toon::decode("a[4294967295]: 1", {.strict = false}) == j(R"({"a":[1]})"));

  // Deep nesting is rejected at max_depth, without recursing past it. (In TOON text, depth costs
  // indentation, so n levels take n^2/2 bytes: 3,000 levels is 4.5 MB; the 100,000-level cases
  // are the JSON and binary inputs, tested with the encoder and in binary_test.cpp.)
  std::string deep;
  for (int i = 0; i < 3000; ++i) deep += std::string(static_cast<std::size_t>(i), ' ') + "k:\n";
  auto e = decode_error(deep, {.indent = 1});
  CHECK(e.detail() == "nesting deeper than max_depth (256)");
  CHECK(e.line() == 256);
  std::string list = "[1]:\n";
  for (int i = 1; i < 2000; ++i) list += std::string(static_cast<std::size_t>(i), ' ') + "- [1]:\n";
  CHECK(decode_error(list, {.indent = 1}).detail() == "nesting deeper than max_depth (256)");

  // A long run of \u escapes decodes in linear time.
  std::string s = "s: \"";
  for (int i = 0; i < 200000; ++i) s += "\\u00e9";
  s += '"';
  CHECK(toon::decode(s)["s"].get<std::string>().size() == 400000);

  // Many keys in one object (duplicate checks are hashed, not quadratic), and path expansion
  // into one wide object.
  std::string wide, dotted;
  for (int i = 0; i < 50000; ++i) {
    wide += "k" + std::to_string(i) + ": " + std::to_string(i) + "\n";
    dotted += "a.k" + std::to_string(i) + ": " + std::to_string(i) + "\n";
  }
  CHECK(toon::decode(wide).size() == 50000);
  CHECK(toon::decode(dotted, {.expand_paths = toon::expand_paths::safe})["a"].size() == 50000);
  CHECK(decode_error(wide + "k7: 1").detail() == "duplicate key 'k7' (strict mode)");

  // A dotted key with thousands of segments cannot build a document deeper than max_depth.
  std::string chain = "a";
  for (int i = 0; i < 5000; ++i) chain += ".a";
  CHECK(decode_error(chain + ": 1", {.expand_paths = toon::expand_paths::safe})
            .detail()
            .find("nesting deeper than max_depth (256) after path expansion") != std::string::npos);
}

TEST_CASE("non-strict mode is lenient the way the reference is") {
  toon::decode_options lenient{.strict = false};
  CHECK(toon::decode("t[3]: a,b", lenient) == j(R"({"t":["a","b"]})"));
  CHECK(toon::decode("t[2]{a,b}:\n  1\n  2,3,4", lenient) == j(R"({"t":[{"a":1},{"a":2,"b":3}]})"));
  CHECK(toon::decode("a:\n   b: 1\nc: 2", lenient) == j(R"({"a":{"b":1},"c":2})"));
  // Tab policy (§12): depth counts leading spaces only; a tab is trimmed like other whitespace.
  CHECK(toon::decode("a:\n\tb: 1", lenient) == j(R"({"a":{},"b":1})"));
  CHECK(toon::decode("a:\n  \tb: 1", lenient) == j(R"({"a":{"b":1}})"));
  CHECK(toon::decode("items[2]:\n  - a\n\n  - b", lenient) == j(R"({"items":["a","b"]})"));
  CHECK(toon::decode("k: 1\nk: 2\nj: 3", lenient) == j(R"({"k":2,"j":3})"));  // in place
  CHECK(toon::decode("foo[2]extra: a,b", lenient) == j(R"({"foo[2]extra":"a,b"})"));
}

TEST_CASE("documented differences from the reference implementation") {
  // Header-shaped text after a key's colon is that key's value (the spec's fixtures).
  CHECK(toon::decode("key: foo [2]: bar") == j(R"({"key":"foo [2]: bar"})"));
  // Lines that belong to no structure are an error (2.3.1 drops them silently).
  CHECK(decode_error("a: 1\n    b: 2\nc: 3").detail() ==
        "unexpected indentation: this line belongs to no structure");
  CHECK(decode_error("[2]: 1,2\nextra: 1").detail() == "unexpected content after the root array");
  CHECK(decode_error("[]\nx: 1").line() == 2);
  CHECK(decode_error("t[1]{a}:\n  1\n  2", {.strict = false}).line() == 3);
  // Quoted tabular field names stay literal under path expansion; unquoted ones expand.
  CHECK(toon::decode("t[1]{\"a.b\",c.d}:\n  1,2", {.expand_paths = toon::expand_paths::safe}) ==
        j(R"({"t":[{"a.b":1,"c":{"d":2}}]})"));
  // Integers are exact beyond 2^53.
  CHECK(toon::decode("n: 9007199254740993")["n"].get<std::int64_t>() == 9007199254740993);
}

TEST_CASE("root forms (§5)") {
  CHECK(toon::decode("") == value::object());
  CHECK(toon::decode("\n\n  \n") == value::object());
  CHECK(toon::decode("[]") == value::array());
  CHECK(toon::decode("  hello  ") == value("hello"));
  CHECK(toon::decode("\"x: y\"") == value("x: y"));
  CHECK(toon::decode("[2]: 1,2\n") == j("[1,2]"));
  CHECK(toon::encode(value::object()) == "");
  CHECK(toon::encode(value::array()) == "[]");
  CHECK(toon::encode(value("")) == "\"\"");
  CHECK(toon::encode(value(nullptr)) == "null");
}

TEST_CASE("key folding and path expansion round-trip (§13.4)") {
  value doc = j(R"({"a":{"b":{"c":1}},"x":{"y":[1,2]},"p":{"q":{}},"s":{"t":{"u":{"v":"w"}}},
                    "keep":{"full-name":{"z":1}},"m":{"n":1,"o":2}})");
  std::string folded = toon::encode(doc, {.key_folding = toon::key_folding::safe});
  CHECK(folded ==
        "a.b.c: 1\nx.y[2]: 1,2\np.q:\ns.t.u.v: w\nkeep:\n  \"full-name\":\n    z: 1\nm:\n  n: 1\n  "
        "o: 2");
  CHECK(toon::decode(folded, {.expand_paths = toon::expand_paths::safe}) == doc);
  std::string two = toon::encode(doc, {.key_folding = toon::key_folding::safe, .flatten_depth = 2});
  CHECK(two.find("s.t:\n  u:\n    v: w") != std::string::npos);
  CHECK(toon::decode(two, {.expand_paths = toon::expand_paths::safe}) == doc);
  // Collisions with literal dotted keys are never folded.
  value collide = j(R"({"a":{"b":1},"a.b":2})");
  CHECK(toon::encode(collide, {.key_folding = toon::key_folding::safe}) == "a:\n  b: 1\na.b: 2");
  // Expansion conflicts: strict errors, non-strict last write wins.
  CHECK(decode_error("a.b: 1\na: 2", {.expand_paths = toon::expand_paths::safe})
            .detail()
            .find("path expansion conflict at key 'a'") != std::string::npos);
  CHECK(toon::decode("a: 1\na.b: 2", {.strict = false, .expand_paths = toon::expand_paths::safe}) ==
        j(R"({"a":{"b":2}})"));
  CHECK(toon::decode("a.b: 1\na:\n  c: 2", {.expand_paths = toon::expand_paths::safe}) ==
        j(R"({"a":{"b":1,"c":2}})"));
}

TEST_CASE("the encoder writes to strings, streams and any sink") {
  value doc = j(R"({"rows":[{"a":1,"b":"x"},{"a":2,"b":"y"}],"note":"hi"})");
  const std::string expected = "rows[2]{a,b}:\n  1,x\n  2,y\nnote: hi";
  CHECK(toon::encode(doc) == expected);
  std::string appended = "> ";
  toon::encode_to(appended, doc);
  CHECK(appended == "> " + expected);
  std::ostringstream os;
  toon::encode_to(os, doc);
  CHECK(os.str() == expected);
  struct chunk_sink {
    std::vector<std::string> chunks;
    void append(const char* p, std::size_t n) { chunks.emplace_back(p, n); }
  } sink;
  value big = value::array();
  for (int i = 0; i < 100000; ++i)
    big.push_back({{"id", i}, {"name", "user " + std::to_string(i)}});
  toon::encode_to(sink, big);
  std::string joined;
  for (auto& c : sink.chunks) joined += c;
  CHECK(sink.chunks.size() > 1);  // written in blocks, not held whole
  CHECK(joined == toon::encode(big));
  CHECK(joined.rfind("[100000]{id,name}:\n  0,user 0\n", 0) == 0);
  // A table is written while it is checked; a row that breaks it late (past the blocks already
  // handed to a string, past the rows held back for a stream) takes the output back.
  for (std::size_t late : {std::size_t{5}, std::size_t{99999}}) {
    value broken = big;
    broken[late]["extra"] = true;
    std::string as_string = toon::encode(broken);
    chunk_sink chunks;
    toon::encode_to(chunks, broken);
    std::string joined2;
    for (auto& c : chunks.chunks) joined2 += c;
    std::ostringstream os2;
    toon::encode_to(os2, broken);
    CHECK(as_string.rfind("[100000]:\n  - id: 0\n    name: user 0\n", 0) == 0);
    CHECK(joined2 == as_string);
    CHECK(os2.str() == as_string);
    CHECK(toon::decode(as_string) == broken);
    std::string prefixed = "keep: ";
    toon::encode_to(prefixed, broken);
    CHECK(prefixed == "keep: " + as_string);
  }
  // Long strings — plain, or escaping to six times their size — go out in blocks too.
  value longs = value::array({std::string(200000, 'x') + ",", std::string(300000, '\x01'), "y"});
  chunk_sink pieces;
  toon::encode_to(pieces, longs);
  std::size_t largest = 0;
  std::string all;
  for (auto& c : pieces.chunks) {
    largest = std::max(largest, c.size());
    all += c;
  }
  CHECK(largest <= 64 * 1024);
  CHECK(all == toon::encode(longs));
  CHECK(toon::decode(all) == longs);
}

TEST_CASE("options are validated") {
  CHECK_THROWS_AS(toon::encode(value(1), {.indent = 0}), invalid_argument);
  CHECK_THROWS_AS(toon::encode(value(1), {.indent = 33}), invalid_argument);
  CHECK_THROWS_AS(toon::encode(value(1), {.delimiter = static_cast<toon::delimiter>(';')}),
                  invalid_argument);
  CHECK_THROWS_AS(toon::decode("a: 1", {.indent = 0}), invalid_argument);
  CHECK_THROWS_AS(toon::decode("a: 1", {.max_depth = 0}), invalid_argument);
  CHECK_THROWS_AS(toon::encode(value::binary({1, 2})), invalid_argument);
  value deep = nullptr;
  for (int i = 0; i < 100000; ++i) deep = value::array({std::move(deep)});
  CHECK_THROWS_WITH_AS(toon::encode(deep),
                       "toon encode: document nested deeper than max_depth (256)",
                       invalid_argument);
}

TEST_CASE("random documents round-trip through text with every option") {
  toon_test::doc_generator gen(42);
  for (int i = 0; i < 4000; ++i) {
    value doc = gen.document(false);
    const auto d = static_cast<toon::delimiter>(",\t|"[i % 3]);
    const int indent = 1 + i % 4;
    std::string text = toon::encode(doc, {.indent = indent, .delimiter = d});
    value back = toon::decode(text, {.indent = indent});
    // Tables list every row's fields in the first row's order; compare without key order.
    REQUIRE_MESSAGE(toon_test::same_ignoring_key_order(back, doc), text);
    CHECK(toon::encode(back, {.indent = indent, .delimiter = d}) == text);
    // Folding then expanding gives the document back unless folding was skipped for a literal
    // dotted key, which expansion would then merge.
    std::string folded = toon::encode(doc, {.key_folding = toon::key_folding::safe});
    value expanded =
        toon::decode(folded, {.strict = false, .expand_paths = toon::expand_paths::safe});
    CHECK(toon::decode(toon::encode(expanded)) == expanded);
  }
}

TEST_CASE("encode and decode are safe from several threads" * doctest::test_suite("concurrency")) {
  toon_test::doc_generator gen(9);
  std::vector<value> docs;
  for (int i = 0; i < 200; ++i) docs.push_back(gen.document(false));
  std::vector<std::string> expected;
  for (auto& d : docs) expected.push_back(toon::encode(d));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (std::size_t i = 0; i < docs.size(); ++i) {
        std::string s = toon::encode(docs[i]);
        if (s != expected[i] || toon::encode(toon::decode(s)) != s)
          ++mismatches[static_cast<std::size_t>(t)];
      }
    });
  for (auto& th : threads) th.join();
  for (int m : mismatches) CHECK(m == 0);
}

}  // namespace test_toon_text_test
