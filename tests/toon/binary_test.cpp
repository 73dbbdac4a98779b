// Binary TOON: pinned bytes (docs/formats/toon-binary.md), exact round trips of every fixture and
// of random documents, and corruption of every kind reported as `corruption` with an offset.
#include <doctest/doctest.h>

#include <sochdb/toon.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "toon_test_util.hpp"

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_toon_binary_test {

using namespace sochdb;
using namespace toon_test;
namespace bin = sochdb::toon::binary;

namespace {

std::string hex(std::string_view s) { return to_hex(s); }

/// A message around `body` (valid header, flags and checksum), to test the body decoder alone.
std::string frame(std::string_view body, std::uint16_t flags = 0) {
  std::string m(bin::magic, 4);
  put_fixed16(m, bin::format_version);
  put_fixed16(m, flags);
  put_fixed32(m, static_cast<std::uint32_t>(body.size()));
  m.append(body);
  put_fixed32(m, checksum32(m));
  return m;
}

std::string corruption_of(std::string_view bytes) {
  try {
    (void)bin::decode(bytes);
  } catch (const corruption& e) {
    return e.what();
  }
  return "";
}

bool identical(const value& a, const value& b);

bool same_number(const value& a, const value& b) {
  // Bit-exact for doubles (NaN and -0.0 included); integers by value.
  if (a.is_number_float() != b.is_number_float()) return false;
  if (a.is_number_float()) {
    double x = a.get<double>(), y = b.get<double>();
    return std::memcmp(&x, &y, 8) == 0;
  }
  return a == b;
}

/// Equality that also tells NaN, -0.0 and binary subtypes apart.
bool identical(const value& a, const value& b) {
  if (a.is_number() || b.is_number()) return a.is_number() && b.is_number() && same_number(a, b);
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    auto ib = b.begin();
    for (auto ia = a.begin(); ia != a.end(); ++ia, ++ib)
      if (ia.key() != ib.key() || !identical(*ia, *ib)) return false;
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!identical(a[i], b[i])) return false;
    return true;
  }
  if (a.is_binary()) return a.get_binary() == b.get_binary();
  return a == b;
}

}  // namespace

TEST_CASE("binary: the bytes of small messages are pinned") {
  // header: "TOON", version 1, flags 0, body length; body; checksum32 of all before it.
  std::string m = bin::encode(value{{"a", 1}});
  CHECK(hex(m.substr(0, 12)) == "544f4f4e0100000005000000");
  CHECK(hex(m.substr(12, 5)) == "7101016111");  // object, 1 pair, key "a", fixint 1
  CHECK(m.size() == 12 + 5 + 4);
  CHECK(decode_fixed32(m.data() + 17) == checksum32(m.substr(0, 17)));

  auto body = [](const value& v) {
    std::string b = bin::encode(v);
    return hex(b.substr(12, b.size() - 16));
  };
  CHECK(body(nullptr) == "00");
  CHECK(body(false) == "01");
  CHECK(body(true) == "02");
  CHECK(body(15) == "1f");
  CHECK(body(-16) == "20");
  CHECK(body(-1) == "2f");
  CHECK(body(16) == "3010");
  CHECK(body(-17) == "30ef");
  CHECK(body(300) == "312c01");
  CHECK(body(70000) == "3270110100");
  CHECK(body(std::int64_t{1} << 40) == "330000000000010000");
  CHECK(body(std::numeric_limits<std::uint64_t>::max()) == "34ffffffffffffffff");
  CHECK(body(1.5) == "400000c03f");          // float32
  CHECK(body(0.1) == "419a9999999999b93f");  // float64
  CHECK(body("") == "50");
  CHECK(body("abc") == "53616263");
  CHECK(body(std::string(16, 'x')).substr(0, 4) == "6010");
  CHECK(body(std::string(300, 'x')).substr(0, 6) == "612c01");
  CHECK(body(value::array({1, 2})) == "70021112");
  CHECK(body(value::binary({1, 2}, 7)) ==
        "7302010700000000000000"
        "0102");
  CHECK(body(value::binary({9})) == "73010009");
  // Two rows with the same keys: a columnar table, keys once, cells column by column; the
  // header's flags say so.
  std::string t = bin::encode(value::parse(R"([{"a":1,"b":"x"},{"a":2,"b":"y"}])"));
  CHECK(hex(t.substr(6, 2)) == "0100");
  CHECK(hex(t.substr(12, t.size() - 16)) ==
        "72"
        "02"
        "02"
        "0161"
        "0162"
        "1112"
        "5178"
        "5179");
  CHECK(hex(bin::encode(value::parse(R"([{"a":1},{"a":2}])"), {.columnar = false}).substr(12, 8)) ==
        "7002710101611171");
}

TEST_CASE("binary: every fixture document round-trips exactly") {
  if (!fixtures_present()) return;
  int n = 0;
  for (const auto& c : load_fixtures("encode")) {
    const value& v = c.test["input"];
    for (bool columnar : {true, false}) {
      CHECK_MESSAGE(identical(bin::decode(bin::encode(v, {.columnar = columnar})), v), c.name);
    }
    ++n;
  }
  for (const auto& c : load_fixtures("decode")) {
    if (c.test.value("shouldError", false)) continue;
    const value& v = c.test["expected"];
    CHECK_MESSAGE(identical(bin::decode(bin::encode(v)), v), c.name);
    ++n;
  }
  MESSAGE(n << " fixture documents round-tripped through binary TOON");
  CHECK(n > 350);
}

TEST_CASE("binary: random documents round-trip exactly, NaN, -0.0 and binary values included") {
  doc_generator gen(20250521);
  for (int i = 0; i < 3000; ++i) {
    value v = gen.document(true);
    std::string bytes = bin::encode(v);
    value back = bin::decode(bytes);
    REQUIRE_MESSAGE(identical(back, v), v.dump(-1, ' ', false, value::error_handler_t::replace));
    CHECK(bin::message_size(bytes) == bytes.size());
  }
  // Special doubles keep their bits.
  for (double d :
       {std::numeric_limits<double>::quiet_NaN(), -0.0, 0.0,
        std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
        std::numeric_limits<double>::denorm_min(), 3.4028234663852886e38, 1e39}) {
    CHECK(identical(bin::decode(bin::encode(value(d))), value(d)));
  }
}

TEST_CASE("binary: encode_to appends to any sink") {
  value v = value::parse(R"({"rows":[{"a":1},{"a":2}],"s":"x"})");
  std::string s = "prefix";
  bin::encode_to(s, v);
  CHECK(s.substr(0, 6) == "prefix");
  CHECK(bin::decode(std::string_view(s).substr(6)) == v);
  struct counting_sink {
    std::string data;
    void append(const char* p, std::size_t n) { data.append(p, n); }
  } sink;
  bin::encode_to(sink, v);
  CHECK(sink.data == bin::encode(v));
}

TEST_CASE("binary: every flipped bit and every truncation is corruption") {
  value v =
      value::parse(R"({"id":7,"tags":["a","b"],"rows":[{"x":1.5,"y":null},{"x":2,"y":true}]})");
  const std::string good = bin::encode(v);
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      CHECK_MESSAGE(!corruption_of(bad).empty(), "byte " << i << " bit " << bit);
    }
  }
  for (std::size_t n = 0; n < good.size(); ++n)
    CHECK_MESSAGE(!corruption_of(good.substr(0, n)).empty(), "truncated to " << n);
  CHECK(corruption_of(good + "x").find("declares") != std::string::npos);
  CHECK(corruption_of("XOON" + good.substr(4)).find("bad magic") != std::string::npos);
}

TEST_CASE("binary: structurally bad bodies with valid checksums are corruption at an offset") {
  auto err = [](std::string_view body, std::uint16_t flags = 0) {
    return corruption_of(frame(body, flags));
  };
  CHECK(err("\x7f") == "binary toon: unknown type tag 0x7f at offset 12");
  CHECK(err("\x80").find("unknown type tag 0x80") != std::string::npos);
  CHECK(err("\x11\x11") == "binary toon: trailing bytes after the value at offset 13");
  CHECK(err("\x70\x05\x11").find("count 5 exceeds") != std::string::npos);
  CHECK(err("\x70\xff\xff\xff\xff\x0f").find("exceeds") != std::string::npos);  // 2^32 - 1
  CHECK(err("\x71\x02\x01\x61\x11\x01\x61\x12").find("duplicate key 'a' at offset 17") !=
        std::string::npos);
  CHECK(err("\x62\xff\xff\xff\x7f").find("truncated") != std::string::npos);  // 2 GiB string
  CHECK(err("\x33\x01\x02").find("truncated") != std::string::npos);
  std::string table("\x72\x02\x01\x01\x61\x11\x12", 7);
  CHECK(err(table).find("without the columnar flag") != std::string::npos);
  CHECK(bin::decode(frame(table, bin::flag_columnar)) == value::parse(R"([{"a":1},{"a":2}])"));
  CHECK(
      err(std::string("\x72\x01\x01\x01\x61\x11", 6), bin::flag_columnar).find("at least 2 rows") !=
      std::string::npos);
  CHECK(err(std::string("\x72\x02\x02\x01\x61\x01\x61\x11\x12\x13\x14", 11), bin::flag_columnar)
            .find("duplicate table column") != std::string::npos);
  CHECK(err(std::string("\x72\xff\xff\xff\x0f\xff\xff\xff\x0f", 9), bin::flag_columnar)
            .find("exceeds") != std::string::npos);
  CHECK(err(std::string("\x73\x01\x02\x05", 4)).find("subtype") != std::string::npos);
  // Unknown flags and versions.
  std::string m = bin::encode(value(1));
  m[6] = 2;
  CHECK(corruption_of(m).find("unknown flags") != std::string::npos);
  m = bin::encode(value(1));
  m[4] = 9;
  CHECK(corruption_of(m).find("unsupported format version 9") != std::string::npos);
}

TEST_CASE("binary: nesting is bounded on both sides") {
  // 100,000 nested arrays: rejected at max_depth, no stack overflow.
  std::string body;
  for (int i = 0; i < 100000; ++i) body += "\x70\x01";
  body += '\x00';
  std::string e = corruption_of(frame(body));
  CHECK(e.find("nesting deeper than max_depth (256)") != std::string::npos);

  value deep = nullptr;
  for (int i = 0; i < 300; ++i) deep = value::array({deep});
  CHECK_THROWS_AS(bin::encode(deep), invalid_argument);
  std::string ok = bin::encode(deep, {.max_depth = 300});
  CHECK(bin::decode(ok, {.max_depth = 300}) == deep);
  CHECK_THROWS_AS(bin::decode(ok, {.max_depth = 299}), corruption);
  // Exactly the limit: depth counts containers, empty ones included.
  value d2 = value::array();
  for (int i = 1; i < 256; ++i) d2 = value::array({d2});
  CHECK(bin::decode(bin::encode(d2)) == d2);
  CHECK(toon::decode(toon::encode(d2)) == d2);
  CHECK_THROWS_AS(bin::encode(value::array({d2})), invalid_argument);
  CHECK_THROWS_AS(toon::encode(value::array({d2})), invalid_argument);
}

TEST_CASE("binary: is smaller than compact JSON on tables") {
  value rows = value::array();
  for (int i = 0; i < 1000; ++i)
    rows.push_back(
        {{"id", i}, {"name", "user" + std::to_string(i)}, {"score", i * 0.5}, {"ok", i % 2 == 0}});
  std::size_t json = rows.dump().size();
  std::size_t binary = bin::encode(rows).size();
  std::size_t row_wise = bin::encode(rows, {.columnar = false}).size();
  MESSAGE("1000 rows: JSON " << json << " bytes, binary " << binary << " (row-wise " << row_wise
                             << ")");
  CHECK(binary < row_wise);
  CHECK(binary * 2 < json);
}

}  // namespace test_toon_binary_test
