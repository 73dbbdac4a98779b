// TOON text codec: numbers, quoting, options, sinks, errors with positions, hostile input,
// the documented differences from the reference implementation, and randomized round trips.
#include <doctest/doctest.h>

#include <sochdb/toon.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

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
  value doc = j(R"({"users":[{"id":1,"name":"Ada","tags":["x","y"]},{"id":2,"name":"Bob","tags":[]}],
                    "meta":{"count":2,"ok":true,"none":null,"ratio":0.25,"note":"a: b, c"}})");
  for (auto d : {toon::delimiter::comma, toon::delimiter::tab, toon::delimiter::pipe}) {
    for (int indent : {1, 2, 4}) {
      std::string text = toon::encode(doc, {.indent = indent, .delimiter = d});
      CHECK(toon::decode(text, {.indent = indent}) == doc);
    }
  }
}
