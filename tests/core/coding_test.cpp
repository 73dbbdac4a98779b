#include <doctest/doctest.h>

#include <sochdb/core/coding.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

// Everything below in a namespace of its own: the target also builds as one unity TU.
namespace test_core_coding_test {

using namespace sochdb;

TEST_CASE("fixed-width coding round-trips in both byte orders") {
  std::string s;
  put_fixed16(s, 0xbeef);
  put_fixed32(s, 0xdeadbeefu);
  put_fixed64(s, 0x0123456789abcdefULL);
  put_fixed32_be(s, 0x01020304u);
  put_fixed64_be(s, 0x0102030405060708ULL);
  REQUIRE(s.size() == 2 + 4 + 8 + 4 + 8);
  CHECK(decode_fixed16(s.data()) == 0xbeef);
  CHECK(decode_fixed32(s.data() + 2) == 0xdeadbeefu);
  CHECK(decode_fixed64(s.data() + 6) == 0x0123456789abcdefULL);
  CHECK(decode_fixed32_be(s.data() + 14) == 0x01020304u);
  CHECK(decode_fixed64_be(s.data() + 18) == 0x0102030405060708ULL);
  // Little-endian puts the low byte first; big-endian the high byte.
  CHECK(static_cast<unsigned char>(s[2]) == 0xef);
  CHECK(s[14] == 1);
  CHECK(s[17] == 4);
}

TEST_CASE("big-endian encoding preserves numeric order under byte comparison") {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) {
    std::uint64_t a = rng(), b = rng() >> (rng() % 64);
    std::string ea, eb;
    put_fixed64_be(ea, a);
    put_fixed64_be(eb, b);
    CHECK((a < b) == (ea < eb));
  }
}

TEST_CASE("varints round-trip at every length boundary") {
  std::vector<std::uint64_t> values = {0, 1, 127, 128, 255, 300, 16383, 16384};
  for (int bits = 14; bits < 64; bits += 7) {
    values.push_back((std::uint64_t{1} << bits) - 1);
    values.push_back(std::uint64_t{1} << bits);
  }
  values.push_back(std::numeric_limits<std::uint64_t>::max());
  std::string buf;
  for (auto v : values) put_varint64(buf, v);
  std::string_view in = buf;
  for (auto v : values) {
    std::uint64_t got = 0;
    REQUIRE(get_varint64(in, got));
    CHECK(got == v);
  }
  CHECK(in.empty());
  for (auto v : values) {
    std::string one;
    put_varint64(one, v);
    CHECK(one.size() == varint_length(v));
  }
  CHECK(varint_length(std::numeric_limits<std::uint64_t>::max()) == max_varint64_bytes);
}

TEST_CASE("malformed varints are rejected without consuming input") {
  std::string truncated = "\x80\x80";
  std::string_view in = truncated;
  std::uint64_t v = 0;
  CHECK_FALSE(get_varint64(in, v));
  CHECK(in.size() == 2);

  std::string overflow(10, '\xff');
  overflow += '\x01';
  in = overflow;
  CHECK_FALSE(get_varint64(in, v));

  std::string big;  // 2^32 does not fit a varint32
  put_varint64(big, std::uint64_t{1} << 32);
  in = big;
  std::uint32_t v32 = 0;
  CHECK_FALSE(get_varint32(in, v32));
  CHECK(in.size() == big.size());
}

TEST_CASE("byte_reader checks bounds and names source and offset") {
  std::string s;
  put_fixed32(s, 42);
  put_length_prefixed(s, "hello");
  put_varint64(s, 1000);
  byte_reader r(s, "segment 000001.log", 4096);
  CHECK(r.fixed32() == 42);
  CHECK(r.length_prefixed() == "hello");
  CHECK(r.varint64() == 1000);
  CHECK(r.empty());
  try {
    r.fixed64();
    FAIL("expected corruption");
  } catch (const corruption& e) {
    CHECK(std::string(e.what()) ==
          "segment 000001.log: truncated fixed64 at offset " + std::to_string(4096 + s.size()));
  }

  std::string lying;
  put_varint64(lying, 1000);  // claims 1000 bytes, has 3
  lying += "abc";
  byte_reader r2(lying, "block");
  CHECK_THROWS_AS(r2.length_prefixed(), corruption);
}

TEST_CASE("prefix_successor bounds prefix scans") {
  CHECK(prefix_successor("abc") == "abd");
  CHECK(prefix_successor(std::string("a\xff", 2)) == "b");
  CHECK(prefix_successor(std::string("\xff\xff", 2)).empty());
  CHECK(prefix_successor("").empty());
  CHECK(to_hex(std::string("\x00\xab", 2)) == "00ab");
}

}  // namespace test_core_coding_test
